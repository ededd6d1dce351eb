use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use super::*;
use crate::test_support::{key, list_files, make_read_only, md5_key, mode, unpack_fixture};

const HELLO: &str = "b1946ac92492d2347c6235b4d2611184";
const HELLO_PATH: &str = "files/md5/b1/946ac92492d2347c6235b4d2611184";

fn source_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).expect("write source");
    path
}

#[test]
fn put_creates_root_and_read_only_object() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path().join("remote/nested");
    let storage = LocalStorage::new(root.clone());
    let source = source_file(dir.path(), "foo.txt", b"hello\n");

    let size = storage.put(&key(HELLO), &source).expect("put");

    assert_eq!(size, 6);
    let object = root.join(HELLO_PATH);
    assert_eq!(fs::read(&object).expect("read"), b"hello\n");
    assert_eq!(mode(&object), 0o444);
    assert_eq!(list_files(&root), vec![HELLO_PATH.to_owned()]);
    assert_eq!(fs::metadata(&object).expect("stat").nlink(), 1);
    assert!(storage.contains(&key(HELLO)).expect("contains"));
}

#[test]
fn put_keeps_existing_object() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let storage = LocalStorage::new(dir.path().join("remote"));
    let source = source_file(dir.path(), "foo.txt", b"hello\n");
    storage.put(&key(HELLO), &source).expect("first put");
    let inode = fs::metadata(dir.path().join("remote").join(HELLO_PATH))
        .expect("stat")
        .ino();

    assert_eq!(storage.put(&key(HELLO), &source).expect("second put"), 6);

    let after = fs::metadata(dir.path().join("remote").join(HELLO_PATH))
        .expect("stat")
        .ino();
    assert_eq!(after, inode);
}

#[test]
fn put_rejects_source_with_other_content() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path().join("remote");
    let storage = LocalStorage::new(root.clone());
    let source = source_file(dir.path(), "foo.txt", b"jello\n");

    let error = storage.put(&key(HELLO), &source).expect_err("mismatch");

    let actual = hex::encode(md5_key(b"jello\n").id.digest());
    assert!(
        matches!(&error, Error::Corrupt { path, actual: a, .. } if *path == source && *a == actual),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "object {HELLO} read from {} is corrupt (its content hashes to {actual}), so it was not uploaded to storage {}",
            source.display(),
            root.display()
        )
    );
    assert_eq!(list_files(&root), Vec::<String>::new());
    assert!(!error.is_retryable());
}

#[test]
fn put_reports_missing_source() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let storage = LocalStorage::new(dir.path().join("remote"));
    let source = dir.path().join("absent");

    let error = storage
        .put(&key(HELLO), &source)
        .expect_err("missing source");

    match &error {
        Error::ReadSource {
            path, source: e, ..
        } => {
            assert_eq!(path, &source);
            assert_eq!(e.kind(), io::ErrorKind::NotFound);
        }
        other => panic!("expected ReadSource, got {other:?}"),
    }
}

#[test]
fn put_into_read_only_root_is_permission_denied() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path().join("remote");
    fs::create_dir(&root).expect("create root");
    let storage = LocalStorage::new(root.clone());
    let source = source_file(dir.path(), "foo.txt", b"hello\n");
    let _guard = make_read_only(&root)
        .expect("neither chmod nor chattr +i makes a directory read-only for this process");

    let error = storage
        .put(&key(HELLO), &source)
        .expect_err("read-only root");

    match &error {
        Error::PermissionDenied {
            operation,
            key: k,
            storage: s,
            path,
            source,
        } => {
            assert_eq!(*operation, Operation::Upload);
            assert_eq!(*k, key(HELLO));
            assert_eq!(s, &root.display().to_string());
            assert_eq!(path, &root.join("files/md5/b1"));
            assert_eq!(source.kind(), io::ErrorKind::PermissionDenied);
        }
        other => panic!("expected PermissionDenied, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        format!(
            "permission denied: cannot upload object {HELLO} at {} in storage {}",
            root.join("files/md5/b1").display(),
            root.display()
        )
    );
    assert!(!error.is_retryable());
}

#[test]
fn put_under_a_file_fails_with_io_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = source_file(dir.path(), "not-a-dir", b"x");
    let storage = LocalStorage::new(root.clone());
    let source = source_file(dir.path(), "foo.txt", b"hello\n");

    let error = storage
        .put(&key(HELLO), &source)
        .expect_err("root is a file");

    assert!(
        matches!(
            &error,
            Error::Io {
                operation: Operation::Upload,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!storage.contains(&key(HELLO)).expect("contains"));
}

#[test]
fn describe_is_absolute_root() {
    let storage = LocalStorage::new(PathBuf::from("relative/remote"));
    let expected = std::env::current_dir()
        .expect("cwd")
        .join("relative/remote");
    assert_eq!(storage.describe(), expected.display().to_string());
    assert_eq!(storage.root(), expected);
}

#[test]
fn open_reads_object_and_reports_absence() {
    let fixture = unpack_fixture("pushed-by-dvc");
    let root = fixture.path().join("pushed-by-dvc/storage");
    let storage = LocalStorage::new(root.clone());

    let mut bytes = Vec::new();
    storage
        .open(&key("ae58c7a8c1d28b8eb8afd1ef2fdec350.dir"))
        .expect("open")
        .read_to_end(&mut bytes)
        .expect("read");
    assert_eq!(
        bytes,
        fs::read(root.join("files/md5/ae/58c7a8c1d28b8eb8afd1ef2fdec350.dir"))
            .expect("read directly")
    );

    let error = match storage.open(&key(HELLO)) {
        Ok(_) => panic!("opened an absent object"),
        Err(error) => error,
    };
    assert!(
        matches!(&error, Error::NotFound { key: k, storage: s } if *k == key(HELLO) && *s == root.display().to_string())
    );
    assert_eq!(
        error.to_string(),
        format!("object {HELLO} is not in storage {}", root.display())
    );
}

#[test]
fn missing_keeps_input_order() {
    let fixture = unpack_fixture("pushed-by-dvc");
    let root = fixture.path().join("pushed-by-dvc/storage");
    let storage = LocalStorage::new(root.clone());
    let listed = fs::read_to_string(
        fixture
            .path()
            .join("pushed-by-dvc/expected/storage-files.txt"),
    )
    .expect("read storage list");
    let present: Vec<ObjectKey> = listed
        .lines()
        .map(|line| key(&line.trim_start_matches("./files/md5/").replace('/', "")))
        .collect();
    assert_eq!(present.len(), 30);

    // Interleave absent keys with present ones; the legacy layout of a present digest is absent too.
    let absent = [
        md5_key(b"absent 1"),
        md5_key(b"absent 2"),
        ObjectKey::new(crate::object::HashKind::Md5Dos2Unix, present[0].id),
        md5_key(b"absent 3"),
    ];
    let mut keys = Vec::new();
    for (i, key) in present.iter().enumerate() {
        keys.push(*key);
        if i % 8 == 3 {
            keys.push(absent[i / 8]);
        }
    }

    for jobs in [0, 1, 4, 64] {
        assert_eq!(
            storage
                .missing(&keys, &HashMap::new(), jobs)
                .expect("missing"),
            absent.to_vec(),
            "jobs {jobs}"
        );
    }
    assert_eq!(
        storage.missing(&[], &HashMap::new(), 4).expect("no keys"),
        Vec::<ObjectKey>::new()
    );
}

/// A storage whose existence checks fail for one key.
struct FailingCheck {
    inner: LocalStorage,
    bad: ObjectKey,
}

impl Storage for FailingCheck {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn contains(&self, key: &ObjectKey) -> Result<bool, Error> {
        if *key == self.bad {
            return Err(Error::Backend {
                operation: Operation::Check,
                key: *key,
                storage: self.describe(),
                retryable: true,
                source: "connection reset".into(),
            });
        }
        self.inner.contains(key)
    }
    fn open(&self, key: &ObjectKey) -> Result<Box<dyn Read + Send>, Error> {
        self.inner.open(key)
    }
    fn put(&self, key: &ObjectKey, source: &Path) -> Result<u64, Error> {
        self.inner.put(key, source)
    }
    fn replace(&self, key: &ObjectKey, source: &Path) -> Result<u64, Error> {
        self.inner.replace(key, source)
    }
}

#[test]
fn missing_returns_first_check_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let bad = md5_key(b"bad");
    let storage = FailingCheck {
        inner: LocalStorage::new(dir.path().to_path_buf()),
        bad,
    };
    let keys = [md5_key(b"a"), bad, md5_key(b"c")];

    let error = storage
        .missing(&keys, &HashMap::new(), 2)
        .expect_err("check error");

    assert_eq!(*error.key(), bad);
    assert!(error.is_retryable());
    assert_eq!(
        error.to_string(),
        format!(
            "failed to check object {bad} in storage {}",
            dir.path().display()
        )
    );
}

#[test]
fn io_errors_retry_only_when_transient() {
    let hello = key(HELLO);
    let io_error = |kind| {
        Error::io(
            Operation::Download,
            &hello,
            "s".to_owned(),
            Path::new("/p"),
            io::Error::from(kind),
        )
    };
    assert!(io_error(io::ErrorKind::TimedOut).is_retryable());
    assert!(io_error(io::ErrorKind::Interrupted).is_retryable());
    assert!(!io_error(io::ErrorKind::NotFound).is_retryable());
    assert!(matches!(
        io_error(io::ErrorKind::PermissionDenied),
        Error::PermissionDenied { .. }
    ));
    assert!(!io_error(io::ErrorKind::PermissionDenied).is_retryable());
}

#[test]
fn put_leaves_no_temporary_file_on_failure() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path().join("remote");
    let storage = LocalStorage::new(root.clone());
    let source = source_file(dir.path(), "big.bin", &vec![7u8; 1 << 20]);

    storage
        .put(&md5_key(b"other"), &source)
        .expect_err("mismatch");

    let fan_out = root.join(md5_key(b"other").layout_path());
    let fan_out = fan_out.parent().expect("parent");
    assert_eq!(fs::read_dir(fan_out).expect("list").count(), 0);
    assert_eq!(mode(fan_out) & 0o700, 0o700);
}

#[test]
fn put_writes_over_a_stored_copy_of_another_size() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path().join("remote");
    let storage = LocalStorage::new(root.clone());
    let object = root.join(HELLO_PATH);
    fs::create_dir_all(object.parent().expect("parent")).expect("fan-out");
    fs::write(&object, b"hel").expect("truncated copy");
    fs::set_permissions(&object, fs::Permissions::from_mode(0o444)).expect("chmod");
    let source = source_file(dir.path(), "foo.txt", b"hello\n");

    let mut sizes = HashMap::new();
    sizes.insert(key(HELLO), 6);
    assert_eq!(
        storage.missing(&[key(HELLO)], &sizes, 1).expect("missing"),
        vec![key(HELLO)]
    );
    assert_eq!(storage.put(&key(HELLO), &source).expect("put"), 6);

    assert_eq!(fs::read(&object).expect("read"), b"hello\n");
    assert_eq!(mode(&object), 0o444);
    assert!(storage
        .missing(&[key(HELLO)], &sizes, 1)
        .expect("missing")
        .is_empty());
}

#[test]
fn replace_writes_over_a_read_only_object_and_moves_a_directory_aside() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path().join("remote");
    let storage = LocalStorage::new(root.clone());
    let object = root.join(HELLO_PATH);
    fs::create_dir_all(object.parent().expect("parent")).expect("fan-out");
    fs::write(&object, b"jello\n").expect("corrupt copy");
    fs::set_permissions(&object, fs::Permissions::from_mode(0o444)).expect("chmod");
    let source = source_file(dir.path(), "foo.txt", b"hello\n");

    // put keeps a stored file of the right size; replace does not.
    storage.put(&key(HELLO), &source).expect("put");
    assert_eq!(fs::read(&object).expect("read"), b"jello\n");
    storage.replace(&key(HELLO), &source).expect("replace");
    assert_eq!(fs::read(&object).expect("read"), b"hello\n");
    assert_eq!(mode(&object), 0o444);

    fs::remove_file(&object).expect("remove");
    fs::create_dir(&object).expect("directory");
    fs::write(object.join("inside"), b"kept").expect("file inside");
    let error = match storage.open(&key(HELLO)) {
        Err(error) => error,
        Ok(_) => panic!("a directory opened as an object"),
    };
    assert_eq!(
        error.to_string(),
        format!(
            "object {HELLO} at {} in storage {} is a directory, not a file",
            object.display(),
            root.display()
        )
    );
    storage
        .replace(&key(HELLO), &source)
        .expect("replace a directory");
    assert_eq!(fs::read(&object).expect("read"), b"hello\n");
    let aside: Vec<PathBuf> = fs::read_dir(object.parent().expect("fan-out"))
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".corrupt"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(fs::read(aside[0].join("inside")).expect("read"), b"kept");
}
