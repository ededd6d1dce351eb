//! Verified, atomic writes of one object into a DVC layout on the local filesystem.
//!
//! The cache and local storage share this routine. The bytes go to a temporary file in the
//! object's fan-out directory and are hashed on the way. They reach the final name only after
//! the digest matched and the mode was set to 0444, so a killed process never leaves a
//! partial object under a final name. With `GIT_EXP_FSYNC=1` the data is also synced before
//! the rename, which protects against power loss at the price of one flush per object.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::cache::Defect;
use crate::object::{Hasher, ObjectKey};

/// Read buffer for copying while hashing, which bounds the memory used per object.
pub(crate) const COPY_BUFFER: usize = 256 * 1024;

/// Environment variable that turns on a data sync before each object's rename.
pub(crate) const FSYNC_ENV: &str = "GIT_EXP_FSYNC";

/// Mode of every object file. DVC re-hashes objects with any other mode and deletes them on mismatch.
pub(crate) const OBJECT_MODE: u32 = 0o444;

thread_local! {
    /// One copy buffer per worker thread, so small objects do not each allocate one.
    static COPY_BUFFERS: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Age after which a temporary file that a killed process left behind is removed. A live
/// writer's file is younger: its modification time moves with every write.
pub(crate) const STALE_TEMP_AGE: Duration = Duration::from_secs(60 * 60);

/// Outcome of a successful write.
#[derive(Debug)]
pub(crate) struct Written {
    /// Size in bytes of the object now at the final name.
    pub size: u64,
    /// True if a regular file already existed at the final name, so nothing was written.
    pub already_present: bool,
}

/// Failure of a write. The cache and the storage map it into their own error types.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// Reading the source failed.
    Read(io::Error),
    /// Creating, writing, syncing, protecting or renaming a file at `path` failed.
    Write { path: PathBuf, source: io::Error },
    /// The bytes do not hash to the key's id, and the temporary file was removed.
    Mismatch { actual: [u8; 16] },
}

/// Policy for an entry already at an object's final name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Existing {
    /// Keep a regular file there and write nothing.
    Keep,
    /// Keep a regular file of the same size as the new bytes; write over anything else.
    KeepSameSize,
    /// Write over whatever is there.
    Replace,
}

/// Returns the size of the regular file at `path`, or `None` when there is none.
pub(crate) fn regular_file_size(path: &Path) -> Option<u64> {
    match fs::metadata(path) {
        Ok(metadata) if metadata.is_file() => Some(metadata.len()),
        _ => None,
    }
}

/// Looks at the object file at `path` without reading its bytes.
///
/// Returns `Ok(None)` when nothing is there, `Ok(Some(size))` for a regular file (followed
/// through a symbolic link) of the `expected` size or of any size when `expected` is
/// `None`, and the [`Defect`] otherwise. A FIFO or a device is never opened, so this never
/// blocks.
pub(crate) fn inspect(path: &Path, expected: Option<u64>) -> Result<Option<u64>, Defect> {
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if crate::cache::is_absent(&e) => {
            // A symbolic link whose target is gone is there, but nothing can read it.
            return match fs::symlink_metadata(path) {
                Ok(link) if link.file_type().is_symlink() => Err(Defect::Unreadable {
                    reason: "it is a symbolic link to a file that does not exist".to_owned(),
                }),
                _ => Ok(None),
            };
        }
        Err(e) => {
            return Err(Defect::Unreadable {
                reason: e.to_string(),
            })
        }
    };
    let file_type = metadata.file_type();
    let kind = if file_type.is_file() {
        let size = metadata.len();
        return match expected {
            Some(expected) if expected != size => Err(Defect::WrongSize { size, expected }),
            _ => Ok(Some(size)),
        };
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "a device"
    };
    Err(Defect::NotAFile { kind })
}

/// Renames whatever is at `path` to `.NAME.RANDOM.corrupt` in the same folder and returns
/// the new path. The name hides it from DVC's and this tool's listings, and neither the
/// cleanup of temporary files nor any other step removes it.
pub(crate) fn move_aside(path: &Path) -> io::Result<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let moved = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".corrupt")
        .rand_bytes(8)
        .make_in(dir, |candidate| {
            // A name taken by an earlier corrupt copy is not overwritten; another is tried.
            if fs::symlink_metadata(candidate).is_ok() {
                return Err(io::Error::from(io::ErrorKind::AlreadyExists));
            }
            fs::rename(path, candidate)
        })?;
    moved.into_temp_path().keep().map_err(|e| e.error)
}

/// Removes the temporary files (`.NAME.tmp`) in `dir` whose last change is older than
/// [`STALE_TEMP_AGE`], which only a killed writer leaves behind, and returns how many.
///
/// Only regular files directly in `dir` are looked at. Errors are logged and skipped: a
/// leftover file costs space, never correctness.
pub(crate) fn remove_stale_temp_files(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with('.') && name.ends_with(".tmp")) {
            continue;
        }
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        let age = metadata
            .modified()
            .ok()
            .and_then(|modified| now.duration_since(modified).ok());
        if !metadata.is_file() || age.is_none_or(|age| age < STALE_TEMP_AGE) {
            continue;
        }
        match fs::remove_file(entry.path()) {
            Ok(()) => {
                tracing::debug!(path = %entry.path().display(), "removed a stale temporary file");
                removed += 1;
            }
            Err(error) => {
                tracing::debug!(path = %entry.path().display(), %error, "cannot remove a stale temporary file")
            }
        }
    }
    removed
}

/// Removes stale temporary files from the fan-out folders of `keys` under `root`, each
/// folder once; see [`remove_stale_temp_files`]. Returns how many were removed.
pub(crate) fn clean_fan_outs<'a>(
    root: &Path,
    keys: impl IntoIterator<Item = &'a ObjectKey>,
) -> usize {
    let mut dirs: Vec<PathBuf> = keys
        .into_iter()
        .filter_map(|key| key.path_under(root).parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    let removed: usize = dirs.iter().map(|dir| remove_stale_temp_files(dir)).sum();
    if removed > 0 {
        tracing::debug!(removed, root = %root.display(), "removed stale temporary files");
    }
    removed
}

/// Writes the object `key` under `root` from `reader`, verifying its digest before the rename.
///
/// Creates the fan-out directory with the process umask. The temporary file is named `.` +
/// 22 random characters + `.tmp`, a pattern DVC skips when listing, and is removed on every
/// failure. `existing` decides whether an entry already at the final name is kept. One that
/// is written over is replaced by the rename, except a directory, which is moved aside
/// with [`move_aside`] first.
pub(crate) fn write_verified(
    root: &Path,
    key: &ObjectKey,
    reader: &mut dyn Read,
    existing: Existing,
) -> Result<Written, WriteError> {
    let final_path = key.path_under(root);
    if existing == Existing::Keep {
        if let Some(size) = regular_file_size(&final_path) {
            return Ok(Written {
                size,
                already_present: true,
            });
        }
    }

    // `layout_path` always has a fan-out directory, so the parent exists.
    let dir = final_path.parent().unwrap_or(root);
    fs::create_dir_all(dir).map_err(|source| WriteError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut temp = tempfile::Builder::new()
        .prefix(".")
        .suffix(".tmp")
        .rand_bytes(22)
        .tempfile_in(dir)
        .map_err(|source| WriteError::Write {
            path: dir.to_path_buf(),
            source,
        })?;

    let mut hasher = Hasher::new(key.kind);
    COPY_BUFFERS.with(|cell| -> Result<(), WriteError> {
        let mut buffer = cell.borrow_mut();
        if buffer.is_empty() {
            buffer.resize(COPY_BUFFER, 0);
        }
        loop {
            let n = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(WriteError::Read(e)),
            };
            hasher.update(&buffer[..n]);
            temp.write_all(&buffer[..n])
                .map_err(|source| WriteError::Write {
                    path: temp.path().to_path_buf(),
                    source,
                })?;
        }
        Ok(())
    })?;
    let size = hasher.len();
    let actual = hasher.finish();
    if !key.id.matches_digest(actual) {
        return Err(WriteError::Mismatch { actual });
    }

    let sync = std::env::var_os(FSYNC_ENV).is_some_and(|v| v == "1" || v == "true");
    let protect = |file: &fs::File| {
        if sync {
            file.sync_data()?;
        }
        file.set_permissions(fs::Permissions::from_mode(OBJECT_MODE))
    };
    protect(temp.as_file()).map_err(|source| WriteError::Write {
        path: temp.path().to_path_buf(),
        source,
    })?;

    // Another writer may have finished the same object meanwhile; its bytes are equal.
    let keep = match existing {
        Existing::Keep => regular_file_size(&final_path).is_some(),
        Existing::KeepSameSize => regular_file_size(&final_path) == Some(size),
        Existing::Replace => false,
    };
    if keep {
        return Ok(Written {
            size,
            already_present: true,
        });
    }
    if fs::symlink_metadata(&final_path).is_ok_and(|m| m.is_dir()) {
        let aside = move_aside(&final_path).map_err(|source| WriteError::Write {
            path: final_path.clone(),
            source,
        })?;
        tracing::warn!(
            "object {key}: moved the directory at {} to {} to write the object in its place",
            final_path.display(),
            aside.display()
        );
    }
    temp.persist(&final_path).map_err(|e| WriteError::Write {
        path: final_path.clone(),
        source: e.error,
    })?;
    Ok(Written {
        size,
        already_present: false,
    })
}
