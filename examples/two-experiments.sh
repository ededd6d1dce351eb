#!/usr/bin/env bash
# The main job, end to end, without DVC installed.
#
# Builds a small project in DVC 3's layout in a temporary directory (a tracked file, a
# tracked directory, a pipeline lock file, two experiments under refs/exps/), pushes the
# experiments through an exp:: remote to a local storage folder, clones the remote,
# fetches the experiments, checks one out, and prints what moved and where.
#
# Needs git-remote-exp and git-exp on PATH (./install.sh puts them in ~/.local/bin).
set -euo pipefail

PATH="${PREFIX:-$HOME/.local}/bin:$PATH"
for tool in git git-remote-exp git-exp md5sum; do
  command -v "$tool" >/dev/null || { echo "two-experiments.sh: $tool not found on PATH; run ./install.sh first" >&2; exit 1; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/exp-example.XXXXXX")"
echo "== working in $work"
cd "$work"

# Keep the example away from the user's git and DVC settings.
export HOME="$work/home" GIT_CONFIG_NOSYSTEM=1 DVC_GLOBAL_CONFIG_DIR="$work/home/dvc" DVC_SYSTEM_CONFIG_DIR="$work/home/dvc"
mkdir -p "$HOME"
git config --global user.name "Example User"
git config --global user.email "user@example.com"
git config --global init.defaultBranch main
git config --global advice.detachedHead false

md5() { md5sum "$1" | cut -d' ' -f1; }

# Stores the file $1 in the project's cache under its MD5, read-only, as DVC does.
cache_file() {
  local sum; sum="$(md5 "$1")"
  mkdir -p ".dvc/cache/files/md5/${sum:0:2}"
  local object=".dvc/cache/files/md5/${sum:0:2}/${sum:2}"
  [ -e "$object" ] || { cp "$1" "$object"; chmod 0444 "$object"; }
  echo "$sum"
}

# Writes the .dir manifest of directory $1 into the cache, byte-identical to DVC's JSON,
# and prints its id. File names here are plain ASCII, so no escaping is needed.
cache_dir() {
  local dir="$1" manifest="" first=1
  while IFS= read -r rel; do
    local sum; sum="$(cache_file "$dir/$rel")"
    [ $first -eq 1 ] || manifest+=", "
    manifest+="{\"md5\": \"$sum\", \"relpath\": \"$rel\"}"
    first=0
  done < <(cd "$dir" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
  printf '[%s]' "$manifest" > "$work/manifest.tmp"
  local sum; sum="$(md5 "$work/manifest.tmp")"
  mkdir -p ".dvc/cache/files/md5/${sum:0:2}"
  local object=".dvc/cache/files/md5/${sum:0:2}/${sum:2}.dir"
  [ -e "$object" ] || { cp "$work/manifest.tmp" "$object"; chmod 0444 "$object"; }
  echo "$sum.dir"
}

# Trains a "model" for learning rate $1: writes model/ and metrics, then dvc.lock.
train() {
  local lr="$1"
  mkdir -p model/layers
  printf 'weights for lr=%s\n' "$lr" > model/weights.bin
  for i in 0 1; do printf 'layer %s at lr=%s\n' "$i" "$lr" > "model/layers/l$i.txt"; done
  printf 'train:\n  lr: %s\n' "$lr" > params.yaml
  local model_id; model_id="$(cache_dir model)"
  local size; size="$(cat model/weights.bin model/layers/* | wc -c)"
  cat > dvc.lock <<LOCK
schema: '2.0'
stages:
  train:
    cmd: python train.py
    deps:
    - path: data/raw.csv
      hash: md5
      md5: $(md5 data/raw.csv)
      size: $(wc -c < data/raw.csv)
    params:
      params.yaml:
        train.lr: $lr
    outs:
    - path: model
      hash: md5
      md5: $model_id
      size: $size
      nfiles: 3
LOCK
}

echo "== building a DVC-layout project with a tracked file, a tracked directory and a pipeline"
git init -q --bare origin.git
git init -q project
cd project
mkdir -p .dvc data
printf '/config.local\n/tmp\n/cache\n' > .dvc/.gitignore
printf '[core]\n    remote = storage\n['"'"'remote "storage"'"'"']\n    url = ../../storage\n' > .dvc/config
seq 1 500 | sed 's/$/,0.5/' > data/raw.csv
raw_id="$(cache_file data/raw.csv)"
printf 'outs:\n- md5: %s\n  size: %s\n  hash: md5\n  path: raw.csv\n' "$raw_id" "$(wc -c < data/raw.csv)" > data/raw.csv.dvc
printf '/raw.csv\n' > data/.gitignore
printf 'stages:\n  train:\n    cmd: python train.py\n    deps:\n    - data/raw.csv\n    params:\n    - train\n    outs:\n    - model\n' > dvc.yaml
printf '/model\n' > .gitignore
train 0.01
git add -A && git commit -qm "Baseline"
baseline="$(git rev-parse HEAD)"
git push -q "$work/origin.git" main

for spec in "exp-fast:0.1" "exp-slow:0.001"; do
  name="${spec%%:*}" lr="${spec##*:}"
  git checkout -q --detach "$baseline"
  train "$lr"
  git commit -qam "dvc: commit experiment $name"
  git update-ref "refs/exps/${baseline:0:2}/${baseline:2}/$name" HEAD
  git checkout -q main
done
git checkout -q -f main && train 0.01
git for-each-ref --format='   %(objectname:short) %(refname)' refs/exps/

echo
echo "== git push share 'refs/exps/*:refs/exps/*'   (share = exp::$work/origin.git)"
git remote add share "exp::$work/origin.git"
git push share 'refs/exps/*:refs/exps/*'
echo "storage now holds $(find "$work/storage" -type f | wc -l) objects:"
(cd "$work/storage" && find . -type f | sort | sed 's/^/   /')

echo
echo "== git clone exp::$work/origin.git clone && git fetch origin '+refs/exps/*:refs/exps/*'"
cd "$work"
git clone -q "exp::$work/origin.git" clone
cd clone
git fetch origin '+refs/exps/*:refs/exps/*'
echo "the clone's cache holds $(find .dvc/cache -type f | wc -l) objects"

echo
echo "== git checkout exp-fast && git exp checkout"
git checkout -q "refs/exps/${baseline:0:2}/${baseline:2}/exp-fast"
git exp checkout
echo "workspace of exp-fast in $work/clone:"
md5sum data/raw.csv model/weights.bin model/layers/*.txt | sed 's/^/   /'
cat model/weights.bin | sed 's/^/   model\/weights.bin: /'
echo
echo "done: pushed 2 experiments with their data, cloned, fetched and checked out exp-fast."
echo "everything is in $work (remove it when you are done)"
