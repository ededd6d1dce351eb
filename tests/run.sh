#!/usr/bin/env bash
# Runs every test: installs what the tests need when it is missing (reusing what an
# earlier run on the same machine left), then runs cargo test over the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=never

# Tools and servers the tests run. apt-get update runs once, and only when a Debian
# package is missing.
apt_packages=()
command -v git >/dev/null || apt_packages+=(git)
command -v md5sum >/dev/null || apt_packages+=(coreutils)
# setsid and unshare: the SSH password server runs in a mount namespace of its own.
{ command -v setsid >/dev/null && command -v unshare >/dev/null; } || apt_packages+=(util-linux)
command -v openssl >/dev/null || apt_packages+=(openssl)
command -v rclone >/dev/null || apt_packages+=(rclone)
command -v ssh >/dev/null || apt_packages+=(openssh-client)
[ -x /usr/sbin/sshd ] || apt_packages+=(openssh-server)
command -v python3 >/dev/null || apt_packages+=(python3 python3-pip)
python3 -c 'import venv' 2>/dev/null || apt_packages+=(python3-venv)
command -v npm >/dev/null || apt_packages+=(nodejs npm)
# `git exp --help` opens the generated man page through man, which needs groff to render it.
{ command -v man >/dev/null && command -v groff >/dev/null; } || apt_packages+=(man-db groff-base)
if [ "${#apt_packages[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_packages[@]}"
fi

python3 -c 'import moto, boto3, wsgidav, cheroot' 2>/dev/null \
    || python3 -m pip install --quiet 'moto[server]' wsgidav cheroot

# Tools from crates.io and npm go to a folder that survives between runs on the same
# machine; the storage tests look for them there.
export EXP_TEST_TOOLS="${EXP_TEST_TOOLS:-$HOME/.cache/git-remote-exp/tools}"
mkdir -p "$EXP_TEST_TOOLS"
# s3s-fs 0.17 needs a newer rustc than this project's, and cargo does not fall back.
[ -x "$EXP_TEST_TOOLS/bin/s3s-fs" ] \
    || cargo install --quiet --locked s3s-fs@0.14.1 --features binary --root "$EXP_TEST_TOOLS"
[ -x "$EXP_TEST_TOOLS/node_modules/.bin/azurite-blob" ] \
    || npm install --silent --no-audit --no-fund --prefix "$EXP_TEST_TOOLS" azurite@3.37.0

# Real DVC 3 for the interoperability tests, in its own virtual environment, installed
# once per machine and reused.
dvc_venv="$HOME/.cache/git-remote-exp/dvc-venv"
if ! "$dvc_venv/bin/dvc" --version >/dev/null 2>&1; then
    rm -rf "$dvc_venv"
    python3 -m venv "$dvc_venv"
    "$dvc_venv/bin/pip" install -q 'dvc>=3.60,<4' dvc-s3 dvc-webdav
fi
export EXP_DVC="$dvc_venv/bin/dvc"

# DVC 2, only to make projects in the legacy layout for the compatibility tests.
dvc2_venv="$HOME/.cache/git-remote-exp/dvc2-venv"
if ! "$dvc2_venv/bin/dvc" --version >/dev/null 2>&1; then
    rm -rf "$dvc2_venv"
    python3 -m venv "$dvc2_venv"
    # DVC 2.58 imports a private name that pathspec 0.12 removed.
    "$dvc2_venv/bin/pip" install -q 'dvc==2.58.2' 'pathspec<0.12'
fi
export EXP_DVC2="$dvc2_venv/bin/dvc"

# Without keys, S3 clients would ask the cloud metadata address; tests never go there.
export AWS_EC2_METADATA_DISABLED=true

git --version
cargo --version
echo "dvc $("$EXP_DVC" --version), dvc $("$EXP_DVC2" --version)"

# Unit tests, then end-to-end tests with real git, DVC and servers on 127.0.0.1.
cargo test --workspace --locked
