#!/usr/bin/env bash
# Builds git-remote-exp and git-exp in release mode and installs them into $PREFIX/bin
# (default ~/.local/bin), where git finds them as `git remote-exp` and `git exp`. Installs
# the man pages into $PREFIX/share/man/man1, where `git help exp` and `git exp --help` find
# them, and completions for bash, zsh and fish under $PREFIX/share.
#
#   ./install.sh                      install the binaries
#   ./install.sh --hooks REPO         also run `git exp install` in REPO
set -euo pipefail

prefix="${PREFIX:-$HOME/.local}"
here="$(cd "$(dirname "$0")" && pwd)"

hooks_repo=
case "${1:-}" in
  "") ;;
  --hooks)
    [ -n "${2:-}" ] || { echo "install.sh: --hooks needs a repository path" >&2; exit 2; }
    hooks_repo="$2" ;;
  *) echo "usage: ./install.sh [--hooks REPO]" >&2; exit 2 ;;
esac

command -v cargo >/dev/null || { echo "install.sh: cargo not found; install Rust from your distribution or rustup" >&2; exit 1; }
command -v git >/dev/null || { echo "install.sh: git not found; install git 2.31 or newer" >&2; exit 1; }

cargo install --quiet --locked --force --path "$here/git-remote-exp" --root "$prefix"
echo "installed git-remote-exp and git-exp into $prefix/bin"

git_exp="$prefix/bin/git-exp"
"$git_exp" generate man "$prefix/share/man/man1"
echo "installed the man pages into $prefix/share/man/man1"

mkdir -p "$prefix/share/bash-completion/completions" "$prefix/share/zsh/site-functions" \
  "$prefix/share/fish/vendor_completions.d"
"$git_exp" generate completions bash >"$prefix/share/bash-completion/completions/git-exp"
"$git_exp" generate completions zsh >"$prefix/share/zsh/site-functions/_git-exp"
"$git_exp" generate completions fish >"$prefix/share/fish/vendor_completions.d/git-exp.fish"
echo "installed completions for bash, zsh and fish under $prefix/share"

case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "hint: add $prefix/bin to PATH, for example: export PATH=\"$prefix/bin:\$PATH\"" ;;
esac

if [ -n "$hooks_repo" ]; then
  (cd "$hooks_repo" && PATH="$prefix/bin:$PATH" "$prefix/bin/git-exp" install)
fi
