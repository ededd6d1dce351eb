use std::fs;
use std::path::Path;

use super::*;
use crate::storage::LocalStorage;
use crate::test_support::{key, unpack_fixture};

const MODEL: &str = "ae58c7a8c1d28b8eb8afd1ef2fdec350.dir";
const WEIGHTS: &str = "451ca974eb4862f1521e227a47794616";
const PREDICTIONS: &str = "57b49df475d0aab720d8806bffe9811c";
const LABELS: &str = "452a1b235b527e7e0dac89b624c95d5e";

fn replace_bytes(root: &Path, id: &str, bytes: &[u8]) {
    let path = key(id).path_under(root);
    fs::remove_file(&path).expect("remove");
    fs::write(&path, bytes).expect("write");
}

#[test]
fn cache_objects_finds_corrupt_files_and_members() {
    let fixture = unpack_fixture("pushed-by-dvc");
    let cache = Cache::new(fixture.path().join("pushed-by-dvc/project/.dvc/cache"));
    let roots = [key(MODEL), key(PREDICTIONS), key(LABELS), key(MODEL)];
    assert!(cache_objects(&cache, &roots, 4).is_empty());

    replace_bytes(cache.root(), WEIGHTS, b"not the weights");
    let path = key(PREDICTIONS).path_under(cache.root());
    fs::remove_file(&path).expect("remove");
    fs::create_dir(&path).expect("directory");
    fs::remove_file(key(LABELS).path_under(cache.root())).expect("absent is no finding");

    let findings = cache_objects(&cache, &roots, 4);

    assert_eq!(
        findings.keys().copied().collect::<Vec<_>>(),
        vec![key(PREDICTIONS), key(MODEL)]
    );
    let model = &findings[&key(MODEL)];
    assert_eq!(model.len(), 1);
    assert_eq!(model[0].object, key(WEIGHTS));
    assert!(model[0].corrupt);
    assert!(
        model[0]
            .message
            .contains("is corrupt: its content hashes to"),
        "{}",
        model[0].message
    );
    assert_eq!(
        findings[&key(PREDICTIONS)][0].message,
        format!(
            "object {PREDICTIONS} at {} in the cache is a directory, not a file",
            path.display()
        )
    );
}

#[test]
fn stored_objects_finds_corrupt_and_missing_members() {
    let fixture = unpack_fixture("pushed-by-dvc");
    let root = fixture.path().join("pushed-by-dvc/storage");
    let storage = LocalStorage::new(root.clone());
    let roots = [
        key(MODEL),
        key(PREDICTIONS),
        key("00000000000000000000000000000000"),
    ];
    assert!(stored_objects(&storage, &roots, 4).is_empty());

    replace_bytes(&root, PREDICTIONS, b"short");
    fs::remove_file(key(WEIGHTS).path_under(&root)).expect("remove a member");

    let findings = stored_objects(&storage, &roots, 4);

    assert_eq!(
        findings.keys().copied().collect::<Vec<_>>(),
        vec![key(PREDICTIONS), key(MODEL)]
    );
    assert_eq!(
        findings[&key(PREDICTIONS)][0].message,
        format!(
            "object {PREDICTIONS} at files/md5/57/b49df475d0aab720d8806bffe9811c in storage {} is corrupt: its 5 bytes hash to {}",
            root.display(),
            crate::test_support::md5_key(b"short").id.hex()
        )
    );
    let model = &findings[&key(MODEL)];
    assert_eq!(model[0].object, key(WEIGHTS));
    assert!(model[0].corrupt);
    assert_eq!(
        model[0].message,
        format!("object {WEIGHTS} is not in storage {}", root.display())
    );
}
