use std::os::unix::fs::symlink;

use super::*;
use crate::manifest::Entry;
use crate::test_support::{key, list_files, md5_key, mode, unpack_fixture};

struct Setup {
    _dir: tempfile::TempDir,
    workspace: PathBuf,
    outside: PathBuf,
    cache: Cache,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temporary directory");
    let workspace = dir.path().join("ws");
    let outside = dir.path().join("outside");
    fs::create_dir(&workspace).expect("create workspace");
    fs::create_dir(&outside).expect("create outside");
    let cache = Cache::new(dir.path().join("cache"));
    Setup {
        _dir: dir,
        workspace,
        outside,
        cache,
    }
}

impl Setup {
    fn insert(&self, bytes: &[u8]) -> ObjectKey {
        let object = md5_key(bytes);
        self.cache
            .insert_reader(&object, &mut &bytes[..], "test")
            .expect("insert");
        object
    }

    /// Inserts the files and a manifest listing them; returns the manifest's key.
    fn insert_dir(&self, files: &[(&str, &[u8])]) -> ObjectKey {
        let entries = files
            .iter()
            .map(|(relpath, bytes)| Entry {
                relpath: (*relpath).to_owned(),
                id: self.insert(bytes).id,
            })
            .collect();
        let bytes = Manifest::new(entries).to_bytes();
        let dir_key = ObjectKey::new(HashKind::Md5, md5_key(&bytes).id.as_dir());
        self.cache
            .insert_reader(&dir_key, &mut bytes.as_slice(), "test")
            .expect("insert manifest");
        dir_key
    }

    fn run(&self, items: &[Item], link_types: &[LinkType], force: bool) -> Result<Report, Error> {
        let options = Options {
            link_types: link_types.to_vec(),
            force,
            ..Options::default()
        };
        checkout(&self.workspace, &self.cache, items, &options)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.workspace.join(rel)
    }
}

fn item(path: &str, key: ObjectKey, isexec: bool) -> Item {
    Item {
        path: path.to_owned(),
        key,
        isexec,
        size: None,
    }
}

fn kept(path: &str, reason: &str) -> Kept {
    Kept {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

#[test]
fn copy_gets_mode_0644() {
    let s = setup();
    let hello = s.insert(b"hello\n");

    let report = s
        .run(&[item("foo.txt", hello, false)], &[LinkType::Copy], false)
        .expect("checkout");

    assert_eq!(report.updated, vec!["foo.txt".to_owned()]);
    assert_eq!(report.unchanged, 0);
    assert_eq!(fs::read(s.path("foo.txt")).expect("read"), b"hello\n");
    assert_eq!(mode(&s.path("foo.txt")), 0o644);
    assert_eq!(fs::metadata(s.path("foo.txt")).expect("stat").nlink(), 1);
    assert_eq!(mode(&s.cache.object_path(&hello)), 0o444);
    assert_eq!(list_files(&s.workspace), vec!["foo.txt".to_owned()]);
}

#[test]
fn executable_copy_gets_mode_0744() {
    let s = setup();
    let script = s.insert(b"#!/bin/sh\necho hi\n");

    s.run(&[item("run.sh", script, true)], &[LinkType::Copy], false)
        .expect("checkout");

    assert_eq!(mode(&s.path("run.sh")), 0o744);
    assert_eq!(mode(&s.cache.object_path(&script)), 0o444);
}

#[test]
fn default_link_types_give_independent_file() {
    let s = setup();
    let hello = s.insert(b"hello\n");

    s.run(&[item("foo.txt", hello, false)], &DEFAULT_LINK_TYPES, false)
        .expect("checkout");

    // A reflink where the filesystem supports it, else a copy; both are independent files.
    let metadata = fs::symlink_metadata(s.path("foo.txt")).expect("stat");
    assert!(metadata.is_file());
    assert_eq!(metadata.nlink(), 1);
    assert_eq!(mode(&s.path("foo.txt")), 0o644);
    assert_eq!(fs::read(s.path("foo.txt")).expect("read"), b"hello\n");
}

#[test]
fn hardlink_shares_cache_inode() {
    let s = setup();
    let hello = s.insert(b"hello\n");

    s.run(
        &[item("foo.txt", hello, false)],
        &[LinkType::Hardlink, LinkType::Copy],
        false,
    )
    .expect("checkout");

    let file = fs::metadata(s.path("foo.txt")).expect("stat");
    let object = fs::metadata(s.cache.object_path(&hello)).expect("stat");
    assert_eq!(file.ino(), object.ino());
    assert_eq!(file.nlink(), 2);
    assert_eq!(mode(&s.path("foo.txt")), 0o444);

    let again = s
        .run(
            &[item("foo.txt", hello, false)],
            &[LinkType::Hardlink],
            false,
        )
        .expect("again");
    assert_eq!(again.unchanged, 1);
    assert_eq!(again.updated, Vec::<String>::new());
}

#[test]
fn symlink_points_at_absolute_cache_path() {
    let s = setup();
    let hello = s.insert(b"hello\n");

    s.run(
        &[item("foo.txt", hello, false)],
        &[LinkType::Symlink],
        false,
    )
    .expect("checkout");

    let target = fs::read_link(s.path("foo.txt")).expect("read link");
    assert_eq!(
        target,
        std::path::absolute(s.cache.object_path(&hello)).expect("absolute")
    );
    assert!(target.is_absolute());

    let again = s
        .run(
            &[item("foo.txt", hello, false)],
            &[LinkType::Symlink],
            false,
        )
        .expect("again");
    assert_eq!(again.unchanged, 1);
}

#[test]
fn executable_is_copied_instead_of_linked() {
    let s = setup();
    let script = s.insert(b"#!/bin/sh\n");

    s.run(
        &[item("run.sh", script, true)],
        &[LinkType::Hardlink, LinkType::Symlink],
        false,
    )
    .expect("checkout");

    let metadata = fs::symlink_metadata(s.path("run.sh")).expect("stat");
    assert!(metadata.is_file());
    assert_eq!(metadata.nlink(), 1);
    assert_eq!(mode(&s.path("run.sh")), 0o744);
    assert_eq!(mode(&s.cache.object_path(&script)), 0o444);
}

#[test]
fn unchanged_file_gains_exec_bit_in_place() {
    let s = setup();
    let script = s.insert(b"#!/bin/sh\n");
    fs::write(s.path("run.sh"), b"#!/bin/sh\n").expect("write");
    fs::set_permissions(s.path("run.sh"), fs::Permissions::from_mode(0o640)).expect("chmod");
    let inode = fs::metadata(s.path("run.sh")).expect("stat").ino();

    let report = s
        .run(&[item("run.sh", script, true)], &[LinkType::Copy], false)
        .expect("checkout");

    assert_eq!(report.unchanged, 1);
    assert_eq!(report.updated, Vec::<String>::new());
    assert_eq!(mode(&s.path("run.sh")), 0o740);
    assert_eq!(fs::metadata(s.path("run.sh")).expect("stat").ino(), inode);
}

#[test]
fn hardlinked_file_made_executable_by_copy() {
    let s = setup();
    let script = s.insert(b"#!/bin/sh\n");
    s.run(
        &[item("run.sh", script, false)],
        &[LinkType::Hardlink],
        false,
    )
    .expect("link");

    let report = s
        .run(
            &[item("run.sh", script, true)],
            &[LinkType::Hardlink],
            false,
        )
        .expect("checkout");

    assert_eq!(report.updated, vec!["run.sh".to_owned()]);
    assert_eq!(mode(&s.path("run.sh")), 0o744);
    assert_eq!(fs::metadata(s.path("run.sh")).expect("stat").nlink(), 1);
    assert_eq!(mode(&s.cache.object_path(&script)), 0o444);
    assert_eq!(
        fs::metadata(s.cache.object_path(&script))
            .expect("stat")
            .nlink(),
        1
    );
}

#[test]
fn edited_file_is_kept() {
    let s = setup();
    let hello = s.insert(b"hello\n");
    fs::write(s.path("foo.txt"), b"my edit\n").expect("write");

    let report = s
        .run(&[item("foo.txt", hello, false)], &[LinkType::Copy], false)
        .expect("checkout");

    assert_eq!(report.kept, vec![kept("foo.txt", EDITED_REASON)]);
    assert_eq!(report.updated, Vec::<String>::new());
    assert_eq!(fs::read(s.path("foo.txt")).expect("read"), b"my edit\n");
}

#[test]
fn force_overwrites_edited_file() {
    let s = setup();
    let hello = s.insert(b"hello\n");
    fs::write(s.path("foo.txt"), b"my edit\n").expect("write");

    let report = s
        .run(&[item("foo.txt", hello, false)], &[LinkType::Copy], true)
        .expect("checkout");

    assert_eq!(report.kept, Vec::<Kept>::new());
    assert_eq!(report.updated, vec!["foo.txt".to_owned()]);
    assert_eq!(fs::read(s.path("foo.txt")).expect("read"), b"hello\n");
}

#[test]
fn cached_old_version_is_replaced() {
    let s = setup();
    s.insert(b"version 1\n");
    let second = s.insert(b"version 2\n");
    fs::write(s.path("foo.txt"), b"version 1\n").expect("write");

    let report = s
        .run(&[item("foo.txt", second, false)], &[LinkType::Copy], false)
        .expect("checkout");

    assert_eq!(report.updated, vec!["foo.txt".to_owned()]);
    assert_eq!(fs::read(s.path("foo.txt")).expect("read"), b"version 2\n");
}

#[test]
fn missing_object_touches_nothing() {
    let s = setup();
    let absent = md5_key(b"not cached\n");
    fs::write(s.path("edited.txt"), b"mine\n").expect("write");

    let report = s
        .run(
            &[
                item("sub/new.txt", absent, false),
                item("edited.txt", absent, false),
            ],
            &[LinkType::Copy],
            false,
        )
        .expect("checkout");

    assert_eq!(
        report.missing,
        vec![
            ("sub/new.txt".to_owned(), absent),
            ("edited.txt".to_owned(), absent)
        ]
    );
    assert_eq!(report.updated, Vec::<String>::new());
    assert!(!s.path("sub").exists());
    assert_eq!(fs::read(s.path("edited.txt")).expect("read"), b"mine\n");
    assert_eq!(list_files(&s.workspace), vec!["edited.txt".to_owned()]);
}

#[test]
fn missing_object_with_equal_file_is_unchanged() {
    let s = setup();
    let absent = md5_key(b"already here\n");
    fs::write(s.path("here.txt"), b"already here\n").expect("write");

    let report = s
        .run(&[item("here.txt", absent, false)], &[LinkType::Copy], false)
        .expect("checkout");

    assert_eq!(report.unchanged, 1);
    assert_eq!(report.missing, Vec::new());
}

#[test]
fn directory_at_file_path_is_kept_unless_forced() {
    let s = setup();
    let hello = s.insert(b"hello\n");
    fs::create_dir_all(s.path("foo.txt/inner")).expect("mkdir");
    fs::write(s.path("foo.txt/inner/mine"), b"mine").expect("write");

    let report = s
        .run(&[item("foo.txt", hello, false)], &[LinkType::Copy], false)
        .expect("checkout");
    assert_eq!(
        report.kept,
        vec![kept(
            "foo.txt",
            "is a directory where the output is a file; move it away, or use --force to replace it"
        )]
    );
    assert!(s.path("foo.txt/inner/mine").is_file());

    let forced = s
        .run(&[item("foo.txt", hello, false)], &[LinkType::Copy], true)
        .expect("forced");
    assert_eq!(forced.updated, vec!["foo.txt".to_owned()]);
    assert_eq!(fs::read(s.path("foo.txt")).expect("read"), b"hello\n");
}

#[test]
fn file_blocking_parent_is_kept() {
    let s = setup();
    let hello = s.insert(b"hello\n");
    fs::write(s.path("a"), b"mine").expect("write");

    let report = s
        .run(&[item("a/b.txt", hello, false)], &[LinkType::Copy], false)
        .expect("checkout");

    assert_eq!(
        report.kept,
        vec![kept(
            "a",
            "is a file where \"a/b.txt\" needs a directory, and its content is not in the cache; commit it, or use --force to replace it"
        )]
    );
    assert_eq!(fs::read(s.path("a")).expect("read"), b"mine");
}

#[test]
fn user_symlink_target_is_never_written() {
    let s = setup();
    let hello = s.insert(b"hello\n");
    let precious = s.outside.join("precious.txt");
    fs::write(&precious, b"precious\n").expect("write");
    symlink(&precious, s.path("foo.txt")).expect("symlink");

    let report = s
        .run(&[item("foo.txt", hello, false)], &[LinkType::Copy], false)
        .expect("checkout");
    assert_eq!(report.kept, vec![kept("foo.txt", EDITED_REASON)]);
    assert!(fs::symlink_metadata(s.path("foo.txt"))
        .expect("stat")
        .file_type()
        .is_symlink());

    let forced = s
        .run(&[item("foo.txt", hello, false)], &[LinkType::Copy], true)
        .expect("forced");
    assert_eq!(forced.updated, vec!["foo.txt".to_owned()]);
    assert!(fs::symlink_metadata(s.path("foo.txt"))
        .expect("stat")
        .is_file());
    assert_eq!(fs::read(&precious).expect("read"), b"precious\n");
}

#[test]
fn symlinked_parent_is_rejected() {
    let s = setup();
    let hello = s.insert(b"hello\n");
    symlink(&s.outside, s.path("sub")).expect("symlink");

    let error = s
        .run(
            &[item("sub/foo.txt", hello, false)],
            &[LinkType::Copy],
            true,
        )
        .expect_err("symlink");

    match &error {
        Error::SymlinkInPath { path, target } => {
            assert_eq!(path, &s.path("sub"));
            assert_eq!(target, "sub/foo.txt");
        }
        other => panic!("expected SymlinkInPath, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        format!(
            "cannot write \"sub/foo.txt\" because {} is a symbolic link; replace it with a real directory",
            s.path("sub").display()
        )
    );
    assert_eq!(list_files(&s.outside), Vec::<String>::new());
}

#[test]
fn symlinked_output_directory_is_rejected() {
    let s = setup();
    let dir_key = s.insert_dir(&[("a.txt", b"a\n"), ("sub/b.txt", b"b\n")]);
    symlink(&s.outside, s.path("data")).expect("symlink");

    let error = s
        .run(&[item("data", dir_key, false)], &[LinkType::Copy], true)
        .expect_err("symlink");

    assert!(
        matches!(&error, Error::SymlinkInPath { path, .. } if *path == s.path("data")),
        "{error:?}"
    );
    assert_eq!(list_files(&s.outside), Vec::<String>::new());
}

#[test]
fn workspace_root_may_be_a_symlink() {
    let s = setup();
    let hello = s.insert(b"hello\n");
    let link = s.outside.join("ws-link");
    symlink(&s.workspace, &link).expect("symlink");
    let options = Options {
        link_types: vec![LinkType::Copy],
        ..Options::default()
    };

    let report = checkout(
        &link,
        &s.cache,
        &[item("sub/foo.txt", hello, false)],
        &options,
    )
    .expect("checkout");

    assert_eq!(report.updated, vec!["sub/foo.txt".to_owned()]);
    assert_eq!(fs::read(s.path("sub/foo.txt")).expect("read"), b"hello\n");
}

#[test]
fn invalid_path_is_rejected() {
    let s = setup();
    let hello = s.insert(b"hello\n");

    let error = s
        .run(&[item("../escape", hello, false)], &[LinkType::Copy], true)
        .expect_err("invalid");

    assert!(matches!(&error, Error::InvalidPath { path, .. } if path == "../escape"));
    assert!(!s
        .workspace
        .parent()
        .expect("parent")
        .join("escape")
        .exists());
}

#[test]
fn directory_output_matches_dvc_checkout() {
    let fixture = unpack_fixture("seed-project");
    let cache = Cache::new(fixture.path().join("seed-project/project/.dvc/cache"));
    let workspace = fixture.path().join("ws");
    fs::create_dir(&workspace).expect("create workspace");
    // Outputs of the experiment exp-lr01, from its dvc.lock and data/*.dvc.
    let items = [
        item(
            "data/raw",
            key("fa261d862f0fc7f5850b6c409f4feba5.dir"),
            false,
        ),
        item(
            "data/labels.txt",
            key("452a1b235b527e7e0dac89b624c95d5e"),
            false,
        ),
        item("model", key("f2734b9dd609ab883408396b30c565b7.dir"), false),
        item(
            "predictions.csv",
            key("027eb2f74359ddea3f7ee4ec2f185514"),
            false,
        ),
    ];

    let report = checkout(&workspace, &cache, &items, &Options::default()).expect("checkout");

    assert_eq!(report.updated.len(), 18);
    assert_eq!(report.kept, Vec::<Kept>::new());
    assert_eq!(report.missing, Vec::new());
    let expected = fs::read_to_string(
        fixture
            .path()
            .join("seed-project/expected/b53a31b-exp-lr01.md5"),
    )
    .expect("read expected md5 list");
    let mut compared = 0;
    for line in expected.lines() {
        let (md5, path) = line.split_once("  ").expect("md5sum line");
        let tracked_by_git =
            path.ends_with(".dvc") || path.ends_with(".gitignore") || path == "metrics.json";
        if tracked_by_git {
            continue;
        }
        let (digest, _) =
            crate::object::hash_file(HashKind::Md5, &workspace.join(path)).expect("hash");
        assert_eq!(hex::encode(digest), md5, "{path}");
        assert_eq!(mode(&workspace.join(path)), 0o644, "{path}");
        compared += 1;
    }
    assert_eq!(compared, 18);
    assert_eq!(list_files(&workspace).len(), 18);

    let again = checkout(&workspace, &cache, &items, &Options::default()).expect("again");
    assert_eq!(again.unchanged, 18);
    assert_eq!(again.updated, Vec::<String>::new());
}

#[test]
fn directory_extras_kept_or_removed() {
    let s = setup();
    let dir_key = s.insert_dir(&[("a.txt", b"a\n"), ("sub/b.txt", b"b\n")]);
    s.insert(b"old file\n");
    fs::create_dir_all(s.path("data/old/deeper")).expect("mkdir");
    fs::write(s.path("data/old/deeper/cached.txt"), b"old file\n").expect("write");
    fs::write(s.path("data/mine.txt"), b"user data\n").expect("write");

    let report = s
        .run(&[item("data", dir_key, false)], &[LinkType::Copy], false)
        .expect("checkout");

    assert_eq!(
        report.kept,
        vec![kept(
            "data/mine.txt",
            "is not part of the output and its content is not in the cache; commit it, or use --force to remove it"
        )]
    );
    let mut updated = report.updated.clone();
    updated.sort();
    assert_eq!(
        updated,
        vec![
            "data/a.txt".to_owned(),
            "data/old/deeper/cached.txt".to_owned(),
            "data/sub/b.txt".to_owned()
        ]
    );
    assert!(!s.path("data/old").exists());
    assert_eq!(
        list_files(&s.workspace),
        vec![
            "data/a.txt".to_owned(),
            "data/mine.txt".to_owned(),
            "data/sub/b.txt".to_owned()
        ]
    );

    let forced = s
        .run(&[item("data", dir_key, false)], &[LinkType::Copy], true)
        .expect("forced");
    assert_eq!(forced.updated, vec!["data/mine.txt".to_owned()]);
    assert_eq!(forced.unchanged, 2);
    assert_eq!(
        list_files(&s.workspace),
        vec!["data/a.txt".to_owned(), "data/sub/b.txt".to_owned()]
    );
}

#[test]
fn directory_member_edit_is_kept() {
    let s = setup();
    let dir_key = s.insert_dir(&[("a.txt", b"a\n"), ("b.txt", b"b\n")]);
    fs::create_dir(s.path("data")).expect("mkdir");
    fs::write(s.path("data/a.txt"), b"edited\n").expect("write");

    let report = s
        .run(&[item("data", dir_key, false)], &[LinkType::Copy], false)
        .expect("checkout");

    assert_eq!(report.kept, vec![kept("data/a.txt", EDITED_REASON)]);
    assert_eq!(report.updated, vec!["data/b.txt".to_owned()]);
    assert_eq!(fs::read(s.path("data/a.txt")).expect("read"), b"edited\n");
}

#[test]
fn missing_manifest_touches_nothing() {
    let s = setup();
    let absent = key("d751713988987e9331980363e24189ce.dir");

    let report = s
        .run(&[item("data", absent, false)], &[LinkType::Copy], false)
        .expect("checkout");

    assert_eq!(report.missing, vec![("data".to_owned(), absent)]);
    assert!(!s.path("data").exists());
}

#[test]
fn missing_member_is_reported() {
    let s = setup();
    let dir_key = s.insert_dir(&[("a.txt", b"a\n"), ("sub/b.txt", b"b\n")]);
    let member = md5_key(b"b\n");
    fs::remove_file(s.cache.object_path(&member)).expect("remove member");

    let report = s
        .run(&[item("data", dir_key, false)], &[LinkType::Copy], false)
        .expect("checkout");

    assert_eq!(report.missing, vec![("data/sub/b.txt".to_owned(), member)]);
    assert_eq!(report.updated, vec!["data/a.txt".to_owned()]);
    assert_eq!(list_files(&s.workspace), vec!["data/a.txt".to_owned()]);
}

#[test]
fn empty_directory_output_is_created() {
    let s = setup();
    let empty = s.insert_dir(&[]);
    assert_eq!(empty.id.to_string(), "d751713988987e9331980363e24189ce.dir");

    let report = s
        .run(&[item("empty", empty, false)], &[LinkType::Copy], false)
        .expect("checkout");

    assert!(s.path("empty").is_dir());
    assert_eq!(report.updated, Vec::<String>::new());
}

#[test]
fn file_at_directory_output_path() {
    let s = setup();
    let dir_key = s.insert_dir(&[("a.txt", b"a\n")]);
    fs::write(s.path("data"), b"user data\n").expect("write");

    let report = s
        .run(&[item("data", dir_key, false)], &[LinkType::Copy], false)
        .expect("checkout");
    assert_eq!(
        report.kept,
        vec![kept(
            "data",
            "is a file where the output is a directory, and its content is not in the cache; commit it, or use --force to replace it"
        )]
    );
    assert_eq!(fs::read(s.path("data")).expect("read"), b"user data\n");

    s.insert(b"user data\n");
    let replaced = s
        .run(&[item("data", dir_key, false)], &[LinkType::Copy], false)
        .expect("checkout");
    assert_eq!(
        replaced.updated,
        vec!["data".to_owned(), "data/a.txt".to_owned()]
    );
    assert_eq!(fs::read(s.path("data/a.txt")).expect("read"), b"a\n");
}

#[test]
fn corrupt_manifest_is_an_error() {
    let s = setup();
    let dir_key = s.insert_dir(&[("a.txt", b"a\n")]);
    let path = s.cache.object_path(&dir_key);
    let mut bytes = fs::read(&path).expect("read");
    bytes[0] = b' ';
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
    fs::write(&path, bytes).expect("write");

    let error = s
        .run(&[item("data", dir_key, false)], &[LinkType::Copy], false)
        .expect_err("corrupt");

    assert!(
        matches!(&error, Error::Manifest { path, key: k, .. } if path == "data" && *k == dir_key),
        "{error:?}"
    );
    assert!(!s.path("data").exists());
}

/// Replaces the cache file of `object` with `bytes`, keeping its name.
fn overwrite_object(s: &Setup, object: &ObjectKey, bytes: &[u8]) {
    let path = s.cache.object_path(object);
    fs::remove_file(&path).expect("remove object");
    fs::write(&path, bytes).expect("write object");
}

/// Returns the hidden `.corrupt` entries in the fan-out folder of `object`.
fn set_aside(s: &Setup, object: &ObjectKey) -> Vec<PathBuf> {
    let dir = s
        .cache
        .object_path(object)
        .parent()
        .expect("fan-out")
        .to_path_buf();
    fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".corrupt"))
        .collect()
}

/// Asserts that `error` reports the cache object `object`, which holds `bytes`, as
/// corrupt and moved aside, so that `target` was not written.
fn assert_corrupt(s: &Setup, error: &Error, object: ObjectKey, target: &Path, bytes: &[u8]) {
    let Error::DamagedObject {
        key,
        object: path,
        target: reported,
        problem,
    } = error
    else {
        panic!("{error:?}");
    };
    assert_eq!(*key, object);
    assert_eq!(*path, s.cache.object_path(&object));
    assert_eq!(reported, target);
    let actual = md5_key(bytes).id.hex();
    assert!(
        problem.starts_with(&format!(
            "is corrupt: its content hashes to {actual} (moved to "
        )),
        "{problem}"
    );
}

#[test]
fn corrupt_copy_is_never_renamed_into_place() {
    let s = setup();
    let old = s.insert(b"old version\n");
    let new = s.insert(b"new version\n");
    s.run(&[item("out.txt", old, false)], &[LinkType::Copy], false)
        .expect("first checkout");
    overwrite_object(&s, &new, b"new versioN\n");

    let error = s
        .run(&[item("out.txt", new, false)], &[LinkType::Copy], false)
        .expect_err("corrupt");

    assert_corrupt(&s, &error, new, &s.path("out.txt"), b"new versioN\n");
    assert_eq!(fs::read(s.path("out.txt")).expect("read"), b"old version\n");
    assert_eq!(list_files(&s.workspace), vec!["out.txt".to_owned()]);
    let aside = set_aside(&s, &new);
    assert_eq!(aside.len(), 1);
    assert_eq!(fs::read(&aside[0]).expect("read aside"), b"new versioN\n");
    assert!(!s.cache.object_path(&new).exists());
}

#[test]
fn object_of_another_size_is_refused_even_for_links() {
    for link_type in [
        LinkType::Hardlink,
        LinkType::Symlink,
        LinkType::Reflink,
        LinkType::Copy,
    ] {
        let s = setup();
        let object = s.insert(b"twelve bytes");
        overwrite_object(&s, &object, b"twelve");
        let mut output = item("out.txt", object, false);
        output.size = Some(12);

        let error = s
            .run(&[output], &[link_type], false)
            .expect_err("wrong size");

        let Error::DamagedObject { problem, .. } = &error else {
            panic!("{link_type}: {error:?}");
        };
        assert!(
            problem.starts_with("has 6 bytes where 12 are expected (moved to "),
            "{problem}"
        );
        assert!(!s.path("out.txt").exists(), "{link_type}");
    }
}

#[test]
fn fifo_in_the_cache_is_refused_without_reading_it() {
    let s = setup();
    let object = s.insert(b"data\n");
    let path = s.cache.object_path(&object);
    fs::remove_file(&path).expect("remove object");
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo");
    assert!(status.success());

    let error = s
        .run(&[item("out.txt", object, false)], &[LinkType::Copy], false)
        .expect_err("fifo");

    let Error::DamagedObject { problem, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(
        problem.starts_with("is a FIFO, not a file (moved to "),
        "{problem}"
    );
    assert!(!s.path("out.txt").exists());
}

#[test]
fn corrupt_member_stops_the_directory_without_a_partial_file() {
    let s = setup();
    let dir_key = s.insert_dir(&[("a.txt", b"a\n"), ("b.txt", b"b\n")]);
    overwrite_object(&s, &md5_key(b"b\n"), b"B\n");

    let error = s
        .run(&[item("data", dir_key, false)], &[LinkType::Copy], false)
        .expect_err("corrupt member");

    assert!(matches!(error, Error::DamagedObject { .. }), "{error:?}");
    assert_eq!(list_files(&s.workspace), vec!["data/a.txt".to_owned()]);
}

/// Runs a checkout of `items` into `workspace` with copies on `jobs` threads.
fn run_jobs(s: &Setup, workspace: &Path, items: &[Item], jobs: usize) -> Result<Report, Error> {
    let options = Options {
        link_types: vec![LinkType::Copy],
        force: false,
        jobs,
    };
    checkout(workspace, &s.cache, items, &options)
}

/// Contents of 300 members in nested folders; each is distinct, so each is its own object.
fn many_members() -> Vec<(String, Vec<u8>)> {
    (0..300)
        .map(|i| {
            (
                format!("d{}/s{}/f{i:03}.txt", i % 7, i % 3),
                format!("member {i}\n").into_bytes(),
            )
        })
        .collect()
}

/// Inserts the members of [`many_members`] and their manifest; returns both.
fn insert_many_members(s: &Setup) -> (Vec<(String, Vec<u8>)>, ObjectKey) {
    let members = many_members();
    let files: Vec<(&str, &[u8])> = members
        .iter()
        .map(|(relpath, bytes)| (relpath.as_str(), bytes.as_slice()))
        .collect();
    let dir_key = s.insert_dir(&files);
    (members, dir_key)
}

/// Lays out a workspace where some members are unchanged, some hold an older cached
/// version, some hold uncommitted edits, and some are absent.
fn prepare_mixed_workspace(workspace: &Path, members: &[(String, Vec<u8>)]) {
    for (i, (relpath, bytes)) in members.iter().enumerate() {
        let path = workspace.join("data").join(relpath);
        fs::create_dir_all(path.parent().expect("parent")).expect("create folders");
        match i % 4 {
            0 => fs::write(&path, bytes).expect("write unchanged"),
            1 => fs::write(&path, b"old version\n").expect("write cached old version"),
            2 => fs::write(&path, format!("edit {i}\n")).expect("write edit"),
            _ => {}
        }
    }
}

#[test]
fn parallel_checkout_matches_one_thread() {
    let s = setup();
    s.insert(b"old version\n");
    let (members, dir_key) = insert_many_members(&s);
    let single = s.outside.join("single");
    let many = s.outside.join("many");
    for workspace in [&single, &many] {
        fs::create_dir(workspace).expect("create workspace");
        prepare_mixed_workspace(workspace, &members);
    }
    let items = [item("data", dir_key, false)];

    let one = run_jobs(&s, &single, &items, 1).expect("one thread");
    let four = run_jobs(&s, &many, &items, 4).expect("four threads");

    assert_eq!(four.updated, one.updated);
    assert_eq!(four.unchanged, one.unchanged);
    assert_eq!(four.kept, one.kept);
    assert_eq!(four.missing, one.missing);
    assert_eq!(four.unchanged, 75);
    assert_eq!(four.updated.len(), 150);
    assert_eq!(four.kept.len(), 75);
    assert_eq!(four.kept[0], kept("data/d0/s0/f042.txt", EDITED_REASON));
    assert_eq!(list_files(&many), list_files(&single));
    for (i, (relpath, bytes)) in members.iter().enumerate() {
        let path = many.join("data").join(relpath);
        let expected = match i % 4 {
            2 => format!("edit {i}\n").into_bytes(),
            _ => bytes.clone(),
        };
        assert_eq!(fs::read(&path).expect("read"), expected, "{relpath}");
        assert_eq!(mode(&path), 0o644, "{relpath}");
    }
}

#[test]
fn parallel_checkout_reports_the_first_error_in_item_order() {
    let s = setup();
    let (members, dir_key) = insert_many_members(&s);
    let first_bad = md5_key(&members[120].1);
    let second_bad = md5_key(&members[40].1);
    overwrite_object(&s, &first_bad, b"damaged\n");
    overwrite_object(&s, &second_bad, b"damaged too\n");
    // The manifest sorts members by path, and member 40 sorts after member 120.
    let manifest = Manifest::new(
        members
            .iter()
            .map(|(relpath, bytes)| Entry {
                relpath: relpath.clone(),
                id: md5_key(bytes).id,
            })
            .collect(),
    );
    let order: Vec<&str> = manifest
        .entries()
        .iter()
        .map(|entry| entry.relpath.as_str())
        .collect();
    let position = |relpath: &str| {
        order
            .iter()
            .position(|p| *p == relpath)
            .expect("listed member")
    };
    assert!(position(&members[120].0) < position(&members[40].0));

    let error = run_jobs(&s, &s.workspace, &[item("data", dir_key, false)], 4)
        .expect_err("damaged members");

    let Error::DamagedObject { key, target, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*key, first_bad);
    assert_eq!(*target, s.path(&format!("data/{}", members[120].0)));
    let written = list_files(&s.workspace);
    for relpath in &order[..position(&members[120].0)] {
        assert!(
            written.contains(&format!("data/{relpath}")),
            "{relpath} comes before the error and must be written"
        );
    }
    assert!(!written.contains(&format!("data/{}", members[120].0)));
    assert!(!written.contains(&format!("data/{}", members[40].0)));
}

#[test]
fn damaged_object_shared_by_many_paths_is_moved_aside_once() {
    let s = setup();
    let shared = b"same content\n".as_slice();
    let files: Vec<(String, &[u8])> = (0..40)
        .map(|i| (format!("copy{i:02}.txt"), shared))
        .collect();
    let files: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (p.as_str(), *b)).collect();
    let dir_key = s.insert_dir(&files);
    let object = md5_key(shared);
    overwrite_object(&s, &object, b"same contenT\n");

    let error = run_jobs(&s, &s.workspace, &[item("data", dir_key, false)], 4)
        .expect_err("damaged shared object");

    assert_corrupt(
        &s,
        &error,
        object,
        &s.path("data/copy00.txt"),
        b"same contenT\n",
    );
    assert_eq!(set_aside(&s, &object).len(), 1);
    assert_eq!(list_files(&s.workspace), Vec::<String>::new());
}
