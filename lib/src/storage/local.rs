//! A storage on a local or mounted filesystem path, written the way DVC writes path remotes.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{Error, Operation, Storage};
use crate::atomic_write::{self, Existing, WriteError};
use crate::cache::is_absent;
use crate::object::ObjectKey;

/// A DVC remote whose URL is a filesystem path.
///
/// Objects are written through a verified temporary file and renamed into place with mode
/// 0444, as DVC does for path remotes. The root is created on the first upload.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    /// Opens the storage at `root`, made absolute against the current directory.
    pub fn new(root: PathBuf) -> LocalStorage {
        let root = std::path::absolute(&root).unwrap_or(root);
        LocalStorage { root }
    }

    /// Returns the storage's absolute root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn object_path(&self, key: &ObjectKey) -> PathBuf {
        key.path_under(&self.root)
    }

    fn write(&self, key: &ObjectKey, source: &Path, existing: Existing) -> Result<u64, Error> {
        let read_source = |e| Error::ReadSource {
            key: *key,
            storage: self.describe(),
            path: source.to_path_buf(),
            source: e,
        };
        let mut file = File::open(source).map_err(read_source)?;
        let written = match atomic_write::write_verified(&self.root, key, &mut file, existing) {
            Ok(written) => written,
            Err(WriteError::Read(e)) => return Err(read_source(e)),
            Err(WriteError::Write { path, source }) => {
                return Err(Error::io(
                    Operation::Upload,
                    key,
                    self.describe(),
                    &path,
                    source,
                ))
            }
            Err(WriteError::Mismatch { actual }) => {
                return Err(Error::Corrupt {
                    key: *key,
                    storage: self.describe(),
                    path: source.to_path_buf(),
                    actual: hex::encode(actual),
                })
            }
        };
        tracing::debug!(
            object = %key,
            storage = %self.root.display(),
            already_present = written.already_present,
            ?existing,
            "stored object"
        );
        Ok(written.size)
    }
}

impl Storage for LocalStorage {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn contains(&self, key: &ObjectKey) -> Result<bool, Error> {
        let path = self.object_path(key);
        match fs::metadata(&path) {
            Ok(metadata) => Ok(metadata.is_file()),
            Err(e) if is_absent(&e) => Ok(false),
            Err(e) => Err(Error::io(Operation::Check, key, self.describe(), &path, e)),
        }
    }

    fn missing(
        &self,
        keys: &[ObjectKey],
        expected_sizes: &HashMap<ObjectKey, u64>,
        _jobs: usize,
    ) -> Result<Vec<ObjectKey>, Error> {
        // One stat per object, on this thread: a local stat takes less time than starting
        // threads would.
        let mut missing = Vec::new();
        for key in keys {
            let path = self.object_path(key);
            match atomic_write::inspect(&path, expected_sizes.get(key).copied()) {
                Ok(Some(_)) => {}
                Ok(None) => missing.push(*key),
                Err(defect) => {
                    tracing::warn!(
                        "object {key} at {} in storage {} {defect}, so it counts as absent",
                        path.display(),
                        self.describe()
                    );
                    missing.push(*key);
                }
            }
        }
        Ok(missing)
    }

    fn open(&self, key: &ObjectKey) -> Result<Box<dyn Read + Send>, Error> {
        let path = self.object_path(key);
        match atomic_write::inspect(&path, None) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(Error::NotFound {
                    key: *key,
                    storage: self.describe(),
                })
            }
            Err(defect) => {
                return Err(Error::Damaged {
                    key: *key,
                    storage: self.describe(),
                    path,
                    defect,
                })
            }
        }
        let file = File::open(&path)
            .map_err(|e| Error::io(Operation::Download, key, self.describe(), &path, e))?;
        Ok(Box::new(file))
    }

    fn put(&self, key: &ObjectKey, source: &Path) -> Result<u64, Error> {
        self.write(key, source, Existing::KeepSameSize)
    }

    fn replace(&self, key: &ObjectKey, source: &Path) -> Result<u64, Error> {
        // A rename replaces the read-only file, because POSIX requires write access to the
        // folder only.
        self.write(key, source, Existing::Replace)
    }

    fn remove_stale_temp_files(&self, keys: &[ObjectKey]) -> usize {
        atomic_write::clean_fan_outs(&self.root, keys)
    }
}
