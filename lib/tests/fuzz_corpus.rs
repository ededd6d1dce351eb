//! Replays every committed fuzz corpus file through the checks of its fuzz target, so the
//! stable toolchain exercises the corpus without cargo-fuzz or nightly.

use std::path::{Path, PathBuf};

#[path = "../fuzz/src/lib.rs"]
mod checks;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus")
}

/// Returns the files of `dir`, sorted by name.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_folders_match_targets() {
    let folders: Vec<String> = files_in(&corpus_dir())
        .iter()
        .map(|path| {
            path.file_name()
                .expect("folder name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut targets: Vec<String> = checks::TARGETS
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    targets.sort();
    assert_eq!(folders, targets);
}

#[test]
fn corpus_replays_without_violations() {
    let mut violations = Vec::new();
    for (name, check) in checks::TARGETS {
        let files = files_in(&corpus_dir().join(name));
        assert!(
            files.len() >= 5,
            "corpus/{name} has only {} files",
            files.len()
        );
        for file in files {
            let data = std::fs::read(&file).expect("corpus file");
            if std::panic::catch_unwind(|| check(&data)).is_err() {
                violations.push(format!("{name}: {}", file.display()));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "corpus files that violate their target's checks (the panic messages are above):\n{}",
        violations.join("\n")
    );
}

#[test]
fn relpath_check_rejects_unsafe_paths() {
    for path in [
        "",
        "/etc/passwd",
        "a/../b",
        "a//b",
        "./a",
        "a\\b",
        "x/.git/config",
        "git~1/config",
        ".git./hooks",
        ".GIT/config",
    ] {
        let outcome = std::panic::catch_unwind(|| checks::assert_safe_relpath(path));
        assert!(outcome.is_err(), "{path:?} passed the check");
    }
    checks::assert_safe_relpath("data/ü/😀.txt");
}
