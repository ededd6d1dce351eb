//! A storage on a local or mounted filesystem path, written the way DVC writes path remotes.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{Error, Operation, Storage};
use crate::atomic_write::{self, WriteError};
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

    fn open(&self, key: &ObjectKey) -> Result<Box<dyn Read + Send>, Error> {
        let path = self.object_path(key);
        if !self.contains(key)? {
            return Err(Error::NotFound {
                key: *key,
                storage: self.describe(),
            });
        }
        let file = File::open(&path)
            .map_err(|e| Error::io(Operation::Download, key, self.describe(), &path, e))?;
        Ok(Box::new(file))
    }

    fn put(&self, key: &ObjectKey, source: &Path) -> Result<u64, Error> {
        let read_source = |e| Error::ReadSource {
            key: *key,
            storage: self.describe(),
            path: source.to_path_buf(),
            source: e,
        };
        let mut file = File::open(source).map_err(read_source)?;
        let written = match atomic_write::write_verified(&self.root, key, &mut file) {
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
            "stored object"
        );
        Ok(written.size)
    }
}
