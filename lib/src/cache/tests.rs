use std::cell::RefCell;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use super::*;
use crate::object::{HashKind, ObjectId};
use crate::test_support::{key, list_files, md5_key, mode, umask, unpack_fixture};

const HELLO_PATH: &str = "files/md5/b1/946ac92492d2347c6235b4d2611184";

fn new_cache() -> (tempfile::TempDir, Cache) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let cache = Cache::new(dir.path().join("cache"));
    (dir, cache)
}

/// A reader that fails the test if the cache reads from it.
struct Untouchable;

impl Read for Untouchable {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        panic!("the cache read a stream for an object it already has");
    }
}

#[test]
fn insert_reader_writes_read_only_object() {
    let (_dir, cache) = new_cache();
    let hello = key("b1946ac92492d2347c6235b4d2611184");

    let size = cache
        .insert_reader(&hello, &mut &b"hello\n"[..], "test")
        .expect("insert");

    assert_eq!(size, 6);
    let path = cache.root().join(HELLO_PATH);
    assert_eq!(cache.object_path(&hello), path);
    assert_eq!(fs::read(&path).expect("read object"), b"hello\n");
    assert_eq!(mode(&path), 0o444);
    assert_eq!(mode(path.parent().expect("fan-out dir")), 0o777 & !umask());
    assert_eq!(list_files(cache.root()), vec![HELLO_PATH.to_owned()]);
    assert!(cache.contains(&hello));
}

#[test]
fn insert_reader_streams_through_dot_tmp_file() {
    let (_dir, cache) = new_cache();
    let data: Vec<u8> = (0..(3 << 20) + 17).map(|i| (i % 251) as u8).collect();
    let data_key = md5_key(&data);
    let fan_out = cache
        .object_path(&data_key)
        .parent()
        .expect("parent")
        .to_path_buf();

    // Records the fan-out directory's entries while the cache is still reading.
    struct Watching<'a> {
        data: &'a [u8],
        fan_out: &'a Path,
        seen: RefCell<Vec<String>>,
    }
    impl Read for Watching<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.data.len() < 1 << 20 {
                if let Ok(entries) = fs::read_dir(self.fan_out) {
                    for entry in entries {
                        let name = entry.expect("entry").file_name();
                        self.seen
                            .borrow_mut()
                            .push(name.to_string_lossy().into_owned());
                    }
                }
            }
            let n = buf.len().min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }
    let mut reader = Watching {
        data: &data,
        fan_out: &fan_out,
        seen: RefCell::new(Vec::new()),
    };

    let size = cache
        .insert_reader(&data_key, &mut reader, "test")
        .expect("insert");

    assert_eq!(size, data.len() as u64);
    assert_eq!(fs::read(cache.object_path(&data_key)).expect("read"), data);
    let seen = reader.seen.into_inner();
    assert!(!seen.is_empty());
    for name in &seen {
        assert_eq!(name.len(), 1 + 22 + 4, "temporary name {name:?}");
        assert!(name.starts_with('.'), "temporary name {name:?}");
        assert!(name.ends_with(".tmp"), "temporary name {name:?}");
        assert!(
            name[1..23].chars().all(|c| c.is_ascii_alphanumeric()),
            "temporary name {name:?}"
        );
    }
    let final_name = cache
        .object_path(&data_key)
        .file_name()
        .expect("name")
        .to_owned();
    assert_eq!(
        fs::read_dir(&fan_out)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect::<Vec<_>>(),
        vec![final_name]
    );
}

#[test]
fn insert_reader_rejects_mismatch() {
    let (_dir, cache) = new_cache();
    let hello = key("b1946ac92492d2347c6235b4d2611184");

    let error = cache
        .insert_reader(&hello, &mut &b"hellO\n"[..], "storage /srv/dvc")
        .expect_err("mismatch must fail");

    let actual_hex = hex::encode(md5_key(b"hellO\n").id.digest());
    match &error {
        Error::Corrupt {
            key: k,
            origin,
            expected,
            actual,
        } => {
            assert_eq!(*k, hello);
            assert_eq!(origin, "storage /srv/dvc");
            assert_eq!(expected, "b1946ac92492d2347c6235b4d2611184");
            assert_eq!(actual, &actual_hex);
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        format!("object b1946ac92492d2347c6235b4d2611184 from storage /srv/dvc is corrupt: its content hashes to {actual_hex}")
    );
    assert!(!cache.contains(&hello));
    // The fan-out directory exists but contains neither the object nor a temporary file.
    assert_eq!(list_files(cache.root()), Vec::<String>::new());
    assert!(cache.root().join("files/md5/b1").is_dir());
}

#[test]
fn insert_reader_keeps_existing_object() {
    let (_dir, cache) = new_cache();
    let hello = key("b1946ac92492d2347c6235b4d2611184");
    cache
        .insert_reader(&hello, &mut &b"hello\n"[..], "test")
        .expect("first insert");
    let inode = fs::metadata(cache.object_path(&hello)).expect("stat").ino();

    let size = cache
        .insert_reader(&hello, &mut Untouchable, "test")
        .expect("second insert");

    assert_eq!(size, 6);
    assert_eq!(
        fs::metadata(cache.object_path(&hello)).expect("stat").ino(),
        inode
    );
}

#[test]
fn insert_reader_places_legacy_objects_at_root() {
    let (_dir, cache) = new_cache();
    let legacy = ObjectKey::new(
        HashKind::Md5Dos2Unix,
        ObjectId::parse("a8be9e797e0f7e75b498d90413d9a7ad").expect("id"),
    );

    cache
        .insert_reader(&legacy, &mut &b"l1\r\nl2\r\n"[..], "test")
        .expect("insert");

    let path = cache.root().join("a8/be9e797e0f7e75b498d90413d9a7ad");
    assert_eq!(fs::read(&path).expect("read"), b"l1\r\nl2\r\n");
    assert_eq!(mode(&path), 0o444);
    assert_eq!(cache.verify(&legacy).expect("verify"), 8);
}

#[test]
fn insert_file_copies_and_leaves_source() {
    let (dir, cache) = new_cache();
    let source = dir.path().join("foo.txt");
    fs::write(&source, b"hello\n").expect("write source");
    fs::set_permissions(&source, fs::Permissions::from_mode(0o640)).expect("chmod");
    let hello = key("b1946ac92492d2347c6235b4d2611184");

    assert_eq!(cache.insert_file(&hello, &source).expect("insert"), 6);

    assert_eq!(mode(&source), 0o640);
    assert_eq!(fs::read(&source).expect("read source"), b"hello\n");
    assert_eq!(
        fs::metadata(cache.object_path(&hello))
            .expect("stat")
            .nlink(),
        1
    );
    assert_eq!(mode(&cache.object_path(&hello)), 0o444);
}

#[test]
fn insert_file_reports_missing_source() {
    let (dir, cache) = new_cache();
    let source = dir.path().join("absent.txt");
    let hello = key("b1946ac92492d2347c6235b4d2611184");

    let error = cache
        .insert_file(&hello, &source)
        .expect_err("missing source");

    assert!(
        matches!(&error, Error::Read { origin, .. } if *origin == source.display().to_string())
    );
    assert_eq!(
        error.to_string(),
        format!(
            "failed to read object b1946ac92492d2347c6235b4d2611184 from {}",
            source.display()
        )
    );
}

#[test]
fn contains_requires_regular_file() {
    let (_dir, cache) = new_cache();
    let hello = key("b1946ac92492d2347c6235b4d2611184");
    assert!(!cache.contains(&hello));

    fs::create_dir_all(cache.object_path(&hello)).expect("directory at the object path");
    assert!(!cache.contains(&hello));
}

#[test]
fn verify_detects_corruption_without_deleting() {
    let (_dir, cache) = new_cache();
    let hello = key("b1946ac92492d2347c6235b4d2611184");
    cache
        .insert_reader(&hello, &mut &b"hello\n"[..], "test")
        .expect("insert");
    assert_eq!(cache.verify(&hello).expect("verify"), 6);

    let path = cache.object_path(&hello);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
    fs::write(&path, b"jello\n").expect("overwrite");

    let error = cache.verify(&hello).expect_err("corrupt");
    match &error {
        Error::Corrupt { origin, actual, .. } => {
            assert_eq!(origin, &path.display().to_string());
            assert_eq!(actual, &hex::encode(md5_key(b"jello\n").id.digest()));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(fs::read(&path).expect("still there"), b"jello\n");
}

#[test]
fn verify_reports_missing_object() {
    let (_dir, cache) = new_cache();
    let hello = key("b1946ac92492d2347c6235b4d2611184");

    let error = cache.verify(&hello).expect_err("missing");

    assert!(
        matches!(&error, Error::NotFound { key: k, path } if *k == hello && *path == cache.root().join(HELLO_PATH))
    );
    assert_eq!(
        error.to_string(),
        format!(
            "object b1946ac92492d2347c6235b4d2611184 is not in the cache at {}",
            cache.root().join(HELLO_PATH).display()
        )
    );
}

#[test]
fn verify_accepts_every_object_dvc_wrote() {
    let fixture = unpack_fixture("seed-project");
    let cache = Cache::new(fixture.path().join("seed-project/project/.dvc/cache"));
    let objects = list_files(&cache.root().join("files/md5"));
    assert_eq!(objects.len(), 41);

    for rel in objects {
        let id = rel.replace('/', "");
        let object = key(&id);
        let expected_size = fs::metadata(cache.object_path(&object))
            .expect("stat")
            .len();
        assert_eq!(
            cache.verify(&object).expect("verify"),
            expected_size,
            "object {id}"
        );
    }
}

#[test]
fn read_manifest_parses_dvc_manifest() {
    let fixture = unpack_fixture("seed-project");
    let cache = Cache::new(fixture.path().join("seed-project/project/.dvc/cache"));

    let manifest = cache
        .read_manifest(&key("ae58c7a8c1d28b8eb8afd1ef2fdec350.dir"))
        .expect("read manifest");

    let entries: Vec<(String, String)> = manifest
        .entries()
        .iter()
        .map(|e| (e.relpath.clone(), e.id.to_string()))
        .collect();
    assert_eq!(
        entries,
        vec![
            (
                "layers/l0.txt".to_owned(),
                "d07e80b1986ff5cb0c68701ea5bdbf6c".to_owned()
            ),
            (
                "layers/l1.txt".to_owned(),
                "d2ac2dc525f8d6c6c6f859a7ba405164".to_owned()
            ),
            (
                "layers/l2.txt".to_owned(),
                "13c2afe6a20cee5bd836f4f7dd45246a".to_owned()
            ),
            (
                "weights.bin".to_owned(),
                "451ca974eb4862f1521e227a47794616".to_owned()
            ),
        ]
    );
}

#[test]
fn read_manifest_rejects_bad_requests_and_bytes() {
    let (_dir, cache) = new_cache();
    let file_key = key("b1946ac92492d2347c6235b4d2611184");
    assert!(matches!(
        cache.read_manifest(&file_key),
        Err(Error::NotADirectory { .. })
    ));

    let empty_dir = key("d751713988987e9331980363e24189ce.dir");
    assert!(matches!(
        cache.read_manifest(&empty_dir),
        Err(Error::NotFound { .. })
    ));
    cache
        .insert_reader(&empty_dir, &mut &b"[]"[..], "test")
        .expect("insert");
    assert_eq!(
        cache
            .read_manifest(&empty_dir)
            .expect("empty manifest")
            .entries()
            .len(),
        0
    );

    // Same length, other bytes: the id no longer matches.
    let path = cache.object_path(&empty_dir);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
    fs::write(&path, b"{}").expect("overwrite");
    let error = cache.read_manifest(&empty_dir).expect_err("corrupt");
    assert!(
        matches!(&error, Error::Corrupt { key: k, .. } if *k == empty_dir),
        "{error:?}"
    );
}

#[test]
fn read_manifest_rejects_unsafe_relpath() {
    let (_dir, cache) = new_cache();
    let bytes = br#"[{"md5": "b1946ac92492d2347c6235b4d2611184", "relpath": "../escape"}]"#;
    let dir_key = ObjectKey::new(HashKind::Md5, md5_key(bytes).id.as_dir());
    cache
        .insert_reader(&dir_key, &mut &bytes[..], "test")
        .expect("insert");

    let error = cache.read_manifest(&dir_key).expect_err("unsafe");

    assert!(
        matches!(
            &error,
            Error::InvalidManifest {
                source: manifest::Error::UnsafePath { .. },
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn read_error_is_retryable_only_when_transient() {
    let hello = key("b1946ac92492d2347c6235b4d2611184");
    let read = |kind| Error::Read {
        key: hello,
        origin: "storage /srv".to_owned(),
        source: io::Error::from(kind),
    };
    assert!(read(io::ErrorKind::TimedOut).is_retryable());
    assert!(read(io::ErrorKind::Interrupted).is_retryable());
    assert!(!read(io::ErrorKind::PermissionDenied).is_retryable());
    let corrupt = Error::Corrupt {
        key: hello,
        origin: String::new(),
        expected: String::new(),
        actual: String::new(),
    };
    assert!(!corrupt.is_retryable());
}

#[test]
fn inspect_finds_each_kind_of_damage() {
    let (_dir, cache) = new_cache();
    let hello = key("b1946ac92492d2347c6235b4d2611184");
    assert_eq!(cache.inspect(&hello, Some(6)), Ok(None));
    cache
        .insert_reader(&hello, &mut &b"hello\n"[..], "test")
        .expect("insert");
    assert_eq!(cache.inspect(&hello, Some(6)), Ok(Some(6)));
    assert_eq!(cache.inspect(&hello, None), Ok(Some(6)));
    // A good object whose recorded size is wrong is hashed, and stays good.
    assert_eq!(cache.inspect(&hello, Some(7)), Ok(Some(6)));

    let path = cache.object_path(&hello);
    fs::remove_file(&path).expect("remove");
    fs::write(&path, b"hel").expect("truncated copy");
    assert_eq!(
        cache.inspect(&hello, Some(6)),
        Err(Defect::WrongSize {
            size: 3,
            expected: 6
        })
    );
    assert_eq!(cache.inspect(&hello, None), Ok(Some(3)));
    fs::remove_file(&path).expect("remove");
    fs::create_dir(&path).expect("directory");
    assert_eq!(
        cache.inspect(&hello, None),
        Err(Defect::NotAFile {
            kind: "a directory"
        })
    );
    fs::remove_dir(&path).expect("remove directory");

    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    assert_eq!(
        cache.inspect(&hello, None),
        Err(Defect::NotAFile { kind: "a FIFO" })
    );
    fs::remove_file(&path).expect("remove fifo");

    std::os::unix::fs::symlink(cache.root().join("nowhere"), &path).expect("symlink");
    let defect = cache.inspect(&hello, None).expect_err("dangling link");
    assert_eq!(
        defect.to_string(),
        "cannot be read: it is a symbolic link to a file that does not exist"
    );
    let error = cache.verify(&hello).expect_err("dangling link");
    assert_eq!(
        error.to_string(),
        format!(
            "object {hello} at {} in the cache cannot be read: it is a symbolic link to a file that does not exist",
            path.display()
        )
    );
}

#[test]
fn move_aside_keeps_the_damaged_bytes_under_a_hidden_name() {
    let (_dir, cache) = new_cache();
    let hello = key("b1946ac92492d2347c6235b4d2611184");
    cache
        .insert_reader(&hello, &mut &b"hello\n"[..], "test")
        .expect("insert");
    let first = cache.move_aside(&hello).expect("move aside");
    cache
        .insert_reader(&hello, &mut &b"hello\n"[..], "test")
        .expect("insert again");
    let second = cache.move_aside(&hello).expect("move aside again");

    assert_ne!(first, second);
    for aside in [&first, &second] {
        let name = aside
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with(".946ac92492d2347c6235b4d2611184."),
            "{name}"
        );
        assert!(name.ends_with(".corrupt"), "{name}");
        assert_eq!(fs::read(aside).expect("read"), b"hello\n");
    }
    assert_eq!(cache.inspect(&hello, None), Ok(None));
}

#[test]
fn stale_temporary_files_are_removed_and_live_ones_kept() {
    let (_dir, cache) = new_cache();
    let hello = key("b1946ac92492d2347c6235b4d2611184");
    cache
        .insert_reader(&hello, &mut &b"hello\n"[..], "test")
        .expect("insert");
    let fan_out = cache
        .object_path(&hello)
        .parent()
        .expect("fan-out")
        .to_path_buf();
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    for name in [".stale.tmp", ".live.tmp", ".old.corrupt", "old-visible.tmp"] {
        let file = fs::File::create(fan_out.join(name)).expect("create");
        if name != ".live.tmp" {
            file.set_modified(two_hours_ago).expect("mtime");
        }
    }

    assert_eq!(cache.remove_stale_temp_files([&hello]), 1);

    let mut left: Vec<String> = fs::read_dir(&fan_out)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        vec![
            ".live.tmp",
            ".old.corrupt",
            "946ac92492d2347c6235b4d2611184",
            "old-visible.tmp"
        ]
    );
}
