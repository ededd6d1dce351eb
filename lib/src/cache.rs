//! The local DVC cache: `files/md5/XX/REST` for DVC 3 objects and `XX/REST` for DVC 2 ones.
//!
//! Inserts stream through a temporary file in the object's fan-out directory, hash on the way
//! and rename only after the digest matched. So an object under its final name always has the
//! content its id names. Object files are mode 0444, which DVC trusts without re-hashing.
//!
//! Files still get damaged after they were written: a disk, a copy by hand, an edit through
//! a hard or symbolic link. [`Cache::inspect`] finds what a look at the file shows (not a
//! file, the wrong size), and [`Cache::verify`] re-hashes it. A damaged object is never
//! deleted here: [`Cache::move_aside`] renames it to a hidden `.NAME.RANDOM.corrupt` file,
//! so that nothing is lost, for example an edit made through a link.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::atomic_write::{self, Existing, WriteError};
use crate::manifest::{self, Manifest};
use crate::object::{hash_open_file, Hasher, ObjectKey};

/// Largest `.dir` manifest read into memory: 512 MiB, several million entries of about 80 bytes.
pub const MAX_MANIFEST_SIZE: u64 = 512 * 1024 * 1024;

/// A problem that a look at an object's file shows without reading its bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Defect {
    /// Something other than a regular file is at the object's path.
    #[error("is {kind}, not a file")]
    NotAFile {
        /// The kind of entry found, such as "a directory" or "a FIFO".
        kind: &'static str,
    },
    /// Nothing can read the file, not even root, such as a symbolic link to a missing file.
    #[error("cannot be read: {reason}")]
    Unreadable {
        /// Why, on one line.
        reason: String,
    },
    /// A regular file of another size than the one recorded for the object.
    #[error("has {size} bytes where {expected} are expected")]
    WrongSize {
        /// The file's size.
        size: u64,
        /// The size the metafile (or the local copy) records.
        expected: u64,
    },
}

/// Errors from reading, verifying and inserting cache objects.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No regular file exists at the object's path.
    #[error("object {key} is not in the cache at {path}")]
    NotFound {
        /// The requested object.
        key: ObjectKey,
        /// The object's path in the cache.
        path: PathBuf,
    },
    /// The entry at the object's path is not a readable file of the right size.
    #[error("object {key} at {path} in the cache {defect}")]
    Damaged {
        /// The object.
        key: ObjectKey,
        /// The object's path in the cache.
        path: PathBuf,
        /// The defect found.
        defect: Defect,
    },
    /// The bytes do not hash to the object's id.
    #[error("object {key} from {origin} is corrupt: its content hashes to {actual}")]
    Corrupt {
        /// The object the bytes claimed to be.
        key: ObjectKey,
        /// Source of the bytes: a cache path, a source file or a storage.
        origin: String,
        /// The id's digest, in hex.
        expected: String,
        /// The digest of the bytes, in hex.
        actual: String,
    },
    /// Reading the object's bytes failed.
    #[error("failed to read object {key} from {origin}")]
    Read {
        /// The object being read.
        key: ObjectKey,
        /// Source of the bytes.
        origin: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Creating, writing or renaming a file in the cache failed.
    #[error("failed to write object {key} into the cache at {path}")]
    Write {
        /// The object being inserted.
        key: ObjectKey,
        /// The directory or file that could not be written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A manifest was requested for an id without the `.dir` suffix.
    #[error("object {key} is not a directory manifest")]
    NotADirectory {
        /// The requested object.
        key: ObjectKey,
    },
    /// The manifest is larger than [`MAX_MANIFEST_SIZE`].
    #[error("directory manifest {key} at {path} has {size} bytes, more than the limit of {limit}")]
    ManifestTooLarge {
        /// The manifest's key.
        key: ObjectKey,
        /// Its path in the cache.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The manifest's bytes match its id but are not a valid manifest.
    #[error("invalid directory manifest {key} at {path}")]
    InvalidManifest {
        /// The manifest's key.
        key: ObjectKey,
        /// Its path in the cache.
        path: PathBuf,
        /// The parse or validation error.
        #[source]
        source: manifest::Error,
    },
}

impl Error {
    /// Returns true if and only if trying again may succeed: a read that was interrupted,
    /// timed out or lost its connection, as a network stream passed to
    /// [`Cache::insert_reader`] may report.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Read { source, .. } => is_transient_read(source),
            _ => false,
        }
    }
}

/// A local DVC cache directory, such as `.dvc/cache`.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// Opens the cache at `root`; nothing is created until the first insert.
    pub fn new(root: PathBuf) -> Cache {
        Cache { root }
    }

    /// Returns the cache's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Returns where the cache keeps `key`, whether or not it is there.
    pub fn object_path(&self, key: &ObjectKey) -> PathBuf {
        key.path_under(&self.root)
    }

    /// Returns true if and only if a regular file exists at the object's path; does not hash it.
    pub fn contains(&self, key: &ObjectKey) -> bool {
        atomic_write::regular_file_size(&self.object_path(key)).is_some()
    }

    /// Looks at the object's file without reading its bytes: `Ok(None)` when nothing is
    /// there, `Ok(Some(size))` for a regular file of the `expected` size (any size when
    /// `None`), and the [`Defect`] otherwise.
    ///
    /// A file of another size than `expected` is hashed before it counts as damaged, so a
    /// metafile that records a wrong size never makes a good object look damaged.
    pub fn inspect(&self, key: &ObjectKey, expected: Option<u64>) -> Result<Option<u64>, Defect> {
        match atomic_write::inspect(&self.object_path(key), expected) {
            Err(defect @ Defect::WrongSize { .. }) => match self.verify(key) {
                Ok(size) => {
                    tracing::debug!(object = %key, ?expected, size, "the object hashes right, so the recorded size is wrong");
                    Ok(Some(size))
                }
                Err(_) => Err(defect),
            },
            found => found,
        }
    }

    /// Renames whatever is at the object's path to a hidden `.NAME.RANDOM.corrupt` file in
    /// its fan-out folder and returns the new path, so that the object can be written again
    /// without losing the damaged bytes.
    pub fn move_aside(&self, key: &ObjectKey) -> Result<PathBuf, Error> {
        let path = self.object_path(key);
        atomic_write::move_aside(&path).map_err(|source| Error::Write {
            key: *key,
            path,
            source,
        })
    }

    /// Removes the temporary files older than an hour from the fan-out folders of `keys`,
    /// which only killed writers leave behind, and returns how many were removed.
    pub fn remove_stale_temp_files<'a>(
        &self,
        keys: impl IntoIterator<Item = &'a ObjectKey>,
    ) -> usize {
        atomic_write::clean_fan_outs(&self.root, keys)
    }

    /// Re-hashes the object with its key's algorithm and returns its size.
    ///
    /// A mismatch returns [`Error::Corrupt`], and something other than a readable regular
    /// file returns [`Error::Damaged`]; both leave the file in place.
    pub fn verify(&self, key: &ObjectKey) -> Result<u64, Error> {
        let path = self.object_path(key);
        let file = self.open_object(key, &path)?;
        let (digest, size) = hash_open_file(key.kind, file).map_err(|source| Error::Read {
            key: *key,
            origin: path.display().to_string(),
            source,
        })?;
        if !key.id.matches_digest(digest) {
            return Err(corrupt(key, path.display().to_string(), digest));
        }
        Ok(size)
    }

    /// Inserts the object `key` from `reader` and returns its size.
    ///
    /// The bytes are hashed while they stream to a temporary file; a mismatch removes the
    /// temporary file and returns [`Error::Corrupt`] naming `origin`, such as
    /// `storage /srv/dvc`. An object already in the cache is kept and `reader` is not read.
    pub fn insert_reader(
        &self,
        key: &ObjectKey,
        reader: &mut dyn Read,
        origin: &str,
    ) -> Result<u64, Error> {
        let written = atomic_write::write_verified(&self.root, key, reader, Existing::Keep)
            .map_err(|e| self.write_error(key, origin, e))?;
        tracing::debug!(
            object = %key,
            origin,
            already_present = written.already_present,
            "inserted object into the cache"
        );
        Ok(written.size)
    }

    /// Inserts the object `key` by copying the file at `source`, and returns its size.
    ///
    /// Follows the same rules as [`Cache::insert_reader`]; `source` itself is left unchanged.
    pub fn insert_file(&self, key: &ObjectKey, source: &Path) -> Result<u64, Error> {
        let origin = source.display().to_string();
        if let Some(size) = atomic_write::regular_file_size(&self.object_path(key)) {
            return Ok(size);
        }
        let mut file = File::open(source).map_err(|e| Error::Read {
            key: *key,
            origin: origin.clone(),
            source: e,
        })?;
        self.insert_reader(key, &mut file, &origin)
    }

    /// Reads and parses the `.dir` manifest `key` after checking that its bytes hash to its id.
    pub fn read_manifest(&self, key: &ObjectKey) -> Result<Manifest, Error> {
        if !key.id.is_dir() {
            return Err(Error::NotADirectory { key: *key });
        }
        let path = self.object_path(key);
        let file = self.open_object(key, &path)?;
        let read_error = |source| Error::Read {
            key: *key,
            origin: path.display().to_string(),
            source,
        };

        let size = file.metadata().map_err(read_error)?.len();
        if size > MAX_MANIFEST_SIZE {
            return Err(Error::ManifestTooLarge {
                key: *key,
                path,
                size,
                limit: MAX_MANIFEST_SIZE,
            });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        file.take(MAX_MANIFEST_SIZE)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;

        let mut hasher = Hasher::new(key.kind);
        hasher.update(&bytes);
        let digest = hasher.finish();
        if !key.id.matches_digest(digest) {
            return Err(corrupt(key, path.display().to_string(), digest));
        }
        Manifest::parse(&key.id, &bytes).map_err(|source| Error::InvalidManifest {
            key: *key,
            path,
            source,
        })
    }

    fn open_object(&self, key: &ObjectKey, path: &Path) -> Result<File, Error> {
        match atomic_write::inspect(path, None) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(Error::NotFound {
                    key: *key,
                    path: path.to_path_buf(),
                })
            }
            Err(defect) => {
                return Err(Error::Damaged {
                    key: *key,
                    path: path.to_path_buf(),
                    defect,
                })
            }
        }
        File::open(path).map_err(|source| Error::Read {
            key: *key,
            origin: path.display().to_string(),
            source,
        })
    }

    fn write_error(&self, key: &ObjectKey, origin: &str, error: WriteError) -> Error {
        match error {
            WriteError::Read(source) => Error::Read {
                key: *key,
                origin: origin.to_owned(),
                source,
            },
            WriteError::Write { path, source } => Error::Write {
                key: *key,
                path,
                source,
            },
            WriteError::Mismatch { actual } => corrupt(key, origin.to_owned(), actual),
        }
    }
}

/// Returns true if and only if the error means no file exists at the path.
pub(crate) fn is_absent(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

fn corrupt(key: &ObjectKey, origin: String, actual: [u8; 16]) -> Error {
    Error::Corrupt {
        key: *key,
        origin,
        expected: key.id.hex(),
        actual: hex::encode(actual),
    }
}

/// Returns true if and only if a read that failed with `error` may succeed when tried
/// again: it was interrupted, timed out or lost its connection.
pub(crate) fn is_transient_read(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::Interrupted
            | io::ErrorKind::TimedOut
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::NotConnected
            | io::ErrorKind::UnexpectedEof
    )
}

#[cfg(test)]
mod tests;
