//! Helpers shared by the unit tests: fixtures made by real DVC, keys and file modes.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::object::{hash_reader, HashKind, ObjectId, ObjectKey};

/// Directory holding the fixture tarballs; `EXP_FIXTURES` overrides the workspace default.
pub fn fixtures_dir() -> PathBuf {
    match std::env::var_os("EXP_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures"),
    }
}

/// Unpacks `<name>.tar.gz` into a new temporary directory and returns it.
pub fn unpack_fixture(name: &str) -> tempfile::TempDir {
    let archive = fixtures_dir().join(format!("{name}.tar.gz"));
    let dir = tempfile::tempdir().expect("create temporary directory");
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(dir.path())
        .status()
        .expect("run tar");
    assert!(
        status.success(),
        "tar failed to unpack {}",
        archive.display()
    );
    dir
}

/// Returns the DVC 3 key of `bytes`.
pub fn md5_key(bytes: &[u8]) -> ObjectKey {
    let (digest, _) = hash_reader(HashKind::Md5, bytes).expect("hash in-memory bytes");
    ObjectKey::new(HashKind::Md5, ObjectId::from_digest(digest))
}

/// Parses a DVC 3 key from its id text, such as `ae58c7a8c1d28b8eb8afd1ef2fdec350.dir`.
pub fn key(id: &str) -> ObjectKey {
    ObjectKey::new(HashKind::Md5, ObjectId::parse(id).expect("valid id"))
}

/// Returns the permission bits of `path`, not following a final symbolic link.
pub fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path)
        .expect("stat")
        .permissions()
        .mode()
        & 0o7777
}

/// Returns the process umask as reported by Linux.
pub fn umask() -> u32 {
    let status = fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("Umask:"))
        .expect("Umask line");
    u32::from_str_radix(line.trim(), 8).expect("octal umask")
}

/// Returns every file path under `root`, relative and `/`-separated, sorted.
pub fn list_files(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("read entry").path();
            if fs::symlink_metadata(&path).expect("stat").is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).expect("under root");
                found.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}

/// A directory that rejects new entries until dropped.
pub struct ReadOnlyDir {
    path: PathBuf,
    immutable: bool,
}

impl Drop for ReadOnlyDir {
    fn drop(&mut self) {
        if self.immutable {
            let _ = Command::new("chattr").arg("-i").arg(&self.path).status();
        }
        let _ = fs::set_permissions(&self.path, fs::Permissions::from_mode(0o755));
    }
}

/// Makes `dir` reject new entries: mode 0555, plus the immutable attribute when the tests
/// run with privileges that ignore modes. Returns `None` when neither works here.
pub fn make_read_only(dir: &Path) -> Option<ReadOnlyDir> {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).expect("chmod 0555");
    let mut guard = ReadOnlyDir {
        path: dir.to_path_buf(),
        immutable: false,
    };
    let probe = dir.join("probe");
    if fs::write(&probe, b"").is_err() {
        return Some(guard);
    }
    fs::remove_file(&probe).expect("remove probe");
    let immutable = Command::new("chattr")
        .arg("+i")
        .arg(dir)
        .status()
        .is_ok_and(|status| status.success());
    guard.immutable = immutable;
    if immutable && fs::write(&probe, b"").is_err() {
        return Some(guard);
    }
    None
}
