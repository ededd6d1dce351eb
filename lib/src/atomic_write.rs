//! Verified, atomic writes of one object into a DVC layout on the local filesystem.
//!
//! The cache and local storage share this routine. The bytes go to a temporary file in the
//! object's fan-out directory and are hashed on the way. They reach the final name only after
//! the digest matched and the mode was set to 0444, so a killed process never leaves a
//! partial object under a final name. With `GIT_EXP_FSYNC=1` the data is also synced before
//! the rename, which protects against power loss at the price of one flush per object.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

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

/// Returns the size of the regular file at `path`, or `None` when there is none.
pub(crate) fn regular_file_size(path: &Path) -> Option<u64> {
    match fs::metadata(path) {
        Ok(metadata) if metadata.is_file() => Some(metadata.len()),
        _ => None,
    }
}

/// Writes the object `key` under `root` from `reader`, verifying its digest before the rename.
///
/// Creates the fan-out directory with the process umask. The temporary file is named `.` +
/// 22 random characters + `.tmp`, a pattern DVC skips when listing, and is removed on every
/// failure. An object that already exists under its final name is kept and not rewritten.
pub(crate) fn write_verified(
    root: &Path,
    key: &ObjectKey,
    reader: &mut dyn Read,
) -> Result<Written, WriteError> {
    let final_path = key.path_under(root);
    if let Some(size) = regular_file_size(&final_path) {
        return Ok(Written {
            size,
            already_present: true,
        });
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
    if let Some(size) = regular_file_size(&final_path) {
        return Ok(Written {
            size,
            already_present: true,
        });
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
