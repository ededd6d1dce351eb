#!/usr/bin/env bash
# Seeds corpus/TARGET/ from the DVC-made fixture repositories and from hostile cases.
#
# Every metafile, config file and `.dir` manifest of every commit in the fixtures goes to
# the target that parses it, together with the ref names, object ids and manifest paths
# found in them. Files are named by the SHA-1 of their content, as libFuzzer names them,
# so running this again adds nothing twice. Run it from anywhere; then fuzz and minimise
# as RELIABILITY.md describes.
set -euo pipefail

fuzz_dir=$(cd "$(dirname "$0")" && pwd)
fixtures=$(cd "$fuzz_dir/../../tests/fixtures" && pwd)
corpus="$fuzz_dir/corpus"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Adds standard input as one corpus file of target $1.
add() {
    local target=$1 file="$scratch/input"
    cat > "$file"
    mkdir -p "$corpus/$target"
    cp "$file" "$corpus/$target/$(sha1sum "$file" | cut -c1-40)"
}

# Adds each argument as one corpus file of target $1, without a trailing newline.
add_each() {
    local target=$1
    shift
    for value in "$@"; do
        printf '%s' "$value" | add "$target"
    done
}

for archive in "$fixtures"/*.tar.gz; do
    tar -xzf "$archive" -C "$scratch"
done

for project in "$scratch"/*/project; do
    git -C "$project" for-each-ref --format='%(refname)' | while read -r ref; do
        printf '%s' "$ref" | add exp_ref
    done

    for config in "$project"/.dvc/config*; do
        add config < "$config"
    done

    find "$project/.dvc/cache" -name '*.dir' | while read -r object; do
        add manifest < "$object"
        python3 -c 'import json, sys
for entry in json.load(open(sys.argv[1])):
    print(entry["relpath"]); print(entry["md5"])' "$object" > "$scratch/members"
        while read -r relpath && read -r md5; do
            printf '%s' "$relpath" | add relpath
            printf '%s' "$md5" | add object_id
        done < "$scratch/members"
    done

    git -C "$project" rev-list --all | while read -r commit; do
        git -C "$project" ls-tree -r --name-only "$commit" > "$scratch/tree"
        while read -r path; do
            case "$path" in
                *.dvc)
                    git -C "$project" show "$commit:$path" | add dvc_file ;;
                dvc.yaml)
                    git -C "$project" show "$commit:$path" | add pipeline ;;
                dvc.lock)
                    git -C "$project" show "$commit:$path" | add lock
                    git -C "$project" show "$commit:$path" > "$scratch/lock"
                    if git -C "$project" cat-file -e "$commit:dvc.yaml" 2>/dev/null; then
                        { git -C "$project" show "$commit:dvc.yaml"; printf '\0'; cat "$scratch/lock"; } | add lock
                    fi
                    grep -o '[0-9a-f]\{32\}\(\.dir\)\?' "$scratch/lock" | while read -r id; do
                        printf '%s' "$id" | add object_id
                    done ;;
            esac
        done < "$scratch/tree"
    done
done

# Hostile cases: the forms tests/tests/hostile.rs and the unit tests reject, and their
# near misses.
hash=b1946ac92492d2347c6235b4d2611184
add_each relpath '' / /etc/passwd ../x a/../../x a/./b a//b './a' 'a\b' $'a\x00b' .git .GIT \
    .git/hooks/pre-commit a/.git/config .git. '.git ' git~1 $'.g\u200cit' 'C:/x' 'ü/😀.txt'
add_each object_id "$hash" "$hash.dir" "${hash^^}" abc123 zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz \
    "${hash}ff" "$hash.DIR" "$hash.dir.dir" " $hash" ''
add_each manifest '[]' '{}' '[{"md5": "'$hash'"}]' \
    '[{"md5": "'$hash'", "relpath": "../escape"}]' \
    '[{"md5": "'$hash'", "relpath": "/abs"}]' \
    '[{"md5": "'$hash'", "relpath": "a\u0000b"}]' \
    '[{"md5": "'$hash'", "relpath": "a\\b"}]' \
    '[{"md5": "'$hash'", "relpath": ".git/config"}]' \
    '[{"md5": "'$hash'.dir", "relpath": "a"}]' \
    '[{"md5": "abc", "relpath": "a"}]' \
    '[{"md5": "'$hash'", "relpath": "a"}, {"md5": "'$hash'", "relpath": "a"}]' \
    '[{"md5": "'$hash'", "relpath": "a"}, {"md5": "'$hash'", "relpath": "a/b"}]' \
    '[{"md5": "'$hash'", "relpath": "\u00fc/\ud83d\ude00.txt", "extra": 1}]'
for path in ../escape.txt a/../../escape.txt /tmp/escape.txt .git/hooks/pre-commit 'a\\b.txt' \
    ../sibling.txt 'no' '2024' 's3://bucket/key' 'remote://store/x'; do
    printf 'outs:\n- md5: %s\n  size: 6\n  hash: md5\n  path: "%s"\n' "$hash" "$path" | add dvc_file
done
for md5 in abc123 zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz "${hash}ff" "[not, a, string]" 1234; do
    printf 'outs:\n- md5: %s\n  path: foo.txt\n' "$md5" | add dvc_file
done
printf 'wdir: ..\nouts:\n- md5: %s\n  hash: md5-dos2unix\n  path: x\n  cache: false\n  remote: Store\n' "$hash" | add dvc_file
printf 'outs:\n- md5: %s\n  hash: sha256\n  path: x\n' "$hash" | add dvc_file
printf "schema: '1.0'\nstages: {}\n" | add lock
printf 'stages: {}\n' | add lock
printf "schema: '2.0'\nstages:\n  train:\n    outs:\n    - path: model\n      md5: [not, a, string]\n" | add lock
{
    printf 'stages:\n  train:\n    wdir: ${dir}\n    outs:\n    - model\n'
    printf '\0'
    printf "schema: '2.0'\nstages:\n  train:\n    outs:\n    - path: model\n      md5: %s\n" "$hash"
} | add lock
{
    printf 'stages:\n  train:\n    wdir: sub\n    outs:\n    - ../model:\n        push: false\n        remote: Other\n'
    printf '\0'
    printf "schema: '2.0'\nstages:\n  train:\n    outs:\n    - path: ../model\n      md5: %s\n" "$hash"
} | add lock
printf 'stages:\n  build:\n    foreach: [a, b]\n    do:\n      outs:\n      - out-${item}\n' | add pipeline
printf 'stages:\n  build:\n    matrix:\n      x: [1, 2]\n    outs:\n    - out-${item.x}:\n        cache: false\n' | add pipeline
printf 'stages:\n  s:\n    outs:\n    - 2024\n' | add pipeline
printf 'stages:\n  s:\n    wdir: /abs\n    metrics:\n    - m.json:\n        cache: false\n' | add pipeline
add_each config $'[core\n    remote = store\n' $'key = outside\n' $'[[nested]]\n' $'[core]\nbad line\n' \
    $'\ufeff[core]\r\n    remote = store\r\n' \
    $'[core]\n    remote = storage # default\n    [\'remote "storage"\']\n    url = s3://bucket/path\n' \
    $'[\'remote "s"\']\n    url = webdavs://user:pass@host/dav\n    password = "a, b"\n    token = \'x "y"\'\n' \
    $'[cache]\n    type = reflink, copy\n    dir = ~/cache\n' \
    $'[core]\n    a = \'\'\'one\ntwo\'\'\' # tail\n    b = """x \'\'\' y"""\n    c = ,\n    d = ""\n'
add_each exp_ref refs/exps/stash refs/exps/celery/x refs/exps/temp/x refs/heads/main \
    refs/exps/zz/not-a-baseline/exp refs/exps/b5/3A31B91A80A1ABC86D6FE6173D561A53B2DD76/Exp \
    'refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/ünïcode+#%,@exp' \
    refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/a/b \
    refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/x.lock \
    'refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/a..b' \
    'refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/@' \
    refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/.hidden \
    refs/exps/ab/cdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab/sha256 \
    exp-lr01 'a b' 'a~1' 'a@{1}' $'a\x7f'
add_each helper_line capabilities list 'list for-push' '' $'\r' 'option verbosity 1' \
    'option progress true' 'option push-option "caf\303\251"' 'option dry-run' \
    "fetch b53a31b91a80a1abc86d6fe6173d561a53b2dd76 refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-lr01" \
    'push refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-lr01:refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-lr01' \
    'push +HEAD:refs/heads/main' 'push :refs/exps/x' 'push :/fix: a bug:refs/heads/x' \
    'connect git-upload-pack' 'fetch onlyoid' $'push \xff\xfe:refs/x' 'error "a\nb\\c"'

for target in "$corpus"/*; do
    echo "$(basename "$target"): $(find "$target" -type f | wc -l) files"
done
