#!/usr/bin/env bash
# Runs every test: installs what the tests need when it is missing (reusing what an
# earlier run on the same machine left), then runs cargo test over the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=never
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

command -v git >/dev/null || apt_install git
command -v md5sum >/dev/null || apt_install coreutils
python3 -c 'import venv' 2>/dev/null || apt_install python3-venv
# `git exp --help` opens the generated man page through man, which needs groff to render it.
{ command -v man >/dev/null && command -v groff >/dev/null; } || apt_install man-db groff-base

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

git --version
cargo --version
echo "dvc $("$EXP_DVC" --version), dvc $("$EXP_DVC2" --version)"

# Unit tests, then end-to-end tests with real git, DVC and servers on 127.0.0.1.
cargo test --workspace --locked
