//! DVC remote storage behind one trait, in the same layout as the cache.
//!
//! A backend checks, reads and writes single objects, and decides which of many objects it
//! lacks. Batching, ordering and progress belong to the transfer engine, which retries only
//! errors for which [`Error::is_retryable`] returns true. Network backends also retry single
//! requests themselves, with backoff, before they report an error.
//!
//! [`open`] picks the backend from the remote's URL scheme: a plain path or `file://`,
//! `s3://`, `azure://`, `gs://`, `http(s)://`, `webdav(s)://` or `ssh://`.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::object::ObjectKey;

mod azure;
mod cloud;
mod gcs;
mod http;
mod listing;
mod local;
mod open;
mod options;
mod prompt;
mod runtime;
mod s3;
mod sftp;
mod stream;
mod webdav;

pub use local::LocalStorage;
pub use open::{open, OpenError};

/// The storage operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Checking whether an object exists.
    Check,
    /// Reading an object.
    Download,
    /// Writing an object.
    Upload,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Check => "check",
            Operation::Download => "download",
            Operation::Upload => "upload",
        })
    }
}

/// Errors from storage operations. Every variant names the object and the storage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object is not in the storage.
    #[error("object {key} is not in storage {storage}")]
    NotFound {
        /// The requested object.
        key: ObjectKey,
        /// The storage's location, without credentials.
        storage: String,
    },
    /// The entry a local storage has under the object's name is not a readable file of the
    /// right size.
    #[error("object {key} at {path} in storage {storage} {defect}")]
    Damaged {
        /// The object.
        key: ObjectKey,
        /// The storage's location.
        storage: String,
        /// The object's path.
        path: PathBuf,
        /// The defect found.
        defect: crate::cache::Defect,
    },
    /// The local file offered for upload does not hash to the object's id, so nothing was stored.
    #[error("object {key} read from {path} is corrupt (its content hashes to {actual}), so it was not uploaded to storage {storage}")]
    Corrupt {
        /// The object the file claimed to be.
        key: ObjectKey,
        /// The storage's location.
        storage: String,
        /// The local file that was read.
        path: PathBuf,
        /// The digest of the file's bytes, in hex.
        actual: String,
    },
    /// The local file offered for upload could not be read.
    #[error("failed to read {path} to upload object {key} to storage {storage}")]
    ReadSource {
        /// The object being uploaded.
        key: ObjectKey,
        /// The storage's location.
        storage: String,
        /// The local file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The operating system denied access to a path in a local storage.
    #[error("permission denied: cannot {operation} object {key} at {path} in storage {storage}")]
    PermissionDenied {
        /// The operation that failed.
        operation: Operation,
        /// The object.
        key: ObjectKey,
        /// The storage's location.
        storage: String,
        /// The path that could not be accessed.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Any other I/O failure at a path in a local storage.
    #[error("failed to {operation} object {key} at {path} in storage {storage}")]
    Io {
        /// The operation that failed.
        operation: Operation,
        /// The object.
        key: ObjectKey,
        /// The storage's location.
        storage: String,
        /// The path involved.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A failure reported by a backend without a local path, such as a network protocol error.
    #[error("failed to {operation} object {key} in storage {storage}")]
    Backend {
        /// The operation that failed.
        operation: Operation,
        /// The object.
        key: ObjectKey,
        /// The storage's location.
        storage: String,
        /// Whether the backend considers the failure transient.
        retryable: bool,
        /// The backend's error; it must not contain credentials.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A backend's error message with its causes, registered secrets already removed.
#[derive(Debug)]
pub struct RemoteError(String);

/// Maximum length of a kept message, in characters. Servers put whole HTML pages into error bodies,
/// and object_store repeats them for each level of its error chain.
const MAX_REMOTE_MESSAGE: usize = 600;

impl RemoteError {
    /// Captures `error` and its sources as one scrubbed line.
    pub fn new(error: &(dyn std::error::Error + 'static)) -> RemoteError {
        RemoteError::message(&crate::transfer::error_chain(error))
    }

    /// Wraps a message written by this crate, scrubbing it as well.
    pub fn message(text: &str) -> RemoteError {
        let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut scrubbed = crate::redact::scrub(&one_line);
        if let Some((cut, _)) = scrubbed.char_indices().nth(MAX_REMOTE_MESSAGE) {
            scrubbed.truncate(cut);
            scrubbed.push_str(" ...");
        }
        RemoteError(scrubbed)
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RemoteError {}

impl Error {
    /// Builds [`Error::Backend`] from a network or protocol error, with secrets removed.
    pub fn backend(
        operation: Operation,
        key: &ObjectKey,
        storage: String,
        retryable: bool,
        source: RemoteError,
    ) -> Error {
        Error::Backend {
            operation,
            key: *key,
            storage,
            retryable,
            source: Box::new(source),
        }
    }

    /// Builds [`Error::PermissionDenied`] or [`Error::Io`] from an I/O error at `path`.
    pub fn io(
        operation: Operation,
        key: &ObjectKey,
        storage: String,
        path: &Path,
        source: io::Error,
    ) -> Error {
        let path = path.to_path_buf();
        if source.kind() == io::ErrorKind::PermissionDenied {
            Error::PermissionDenied {
                operation,
                key: *key,
                storage,
                path,
                source,
            }
        } else {
            Error::Io {
                operation,
                key: *key,
                storage,
                path,
                source,
            }
        }
    }

    /// Returns the object the error is about.
    pub fn key(&self) -> &ObjectKey {
        match self {
            Error::NotFound { key, .. }
            | Error::Damaged { key, .. }
            | Error::Corrupt { key, .. }
            | Error::ReadSource { key, .. }
            | Error::PermissionDenied { key, .. }
            | Error::Io { key, .. }
            | Error::Backend { key, .. } => key,
        }
    }

    /// Returns true if and only if trying again may succeed.
    ///
    /// Local I/O errors are retryable only when interrupted or timed out; backends decide
    /// for [`Error::Backend`].
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Io { source, .. } | Error::ReadSource { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::Interrupted | io::ErrorKind::TimedOut
            ),
            Error::Backend { retryable, .. } => *retryable,
            Error::NotFound { .. }
            | Error::Damaged { .. }
            | Error::Corrupt { .. }
            | Error::PermissionDenied { .. } => false,
        }
    }
}

/// A DVC remote storage holding objects at [`ObjectKey::layout_path`].
pub trait Storage: Send + Sync {
    /// Returns the storage's location for messages; it never contains credentials.
    fn describe(&self) -> String;

    /// Returns true if and only if the storage contains the object.
    fn contains(&self, key: &ObjectKey) -> Result<bool, Error>;

    /// Returns the keys the storage does not hold, in input order.
    ///
    /// `expected_sizes` gives the size of an object where the caller knows it. A backend
    /// that learns the stored size reports an object whose size differs as missing, so a
    /// truncated object is uploaded again. Results are never cached between calls.
    ///
    /// The default checks each key with [`Storage::contains`] on `jobs` threads, ignores
    /// the sizes and returns the first error. Network backends list shard prefixes when
    /// that takes fewer requests than checking each key.
    fn missing(
        &self,
        keys: &[ObjectKey],
        expected_sizes: &HashMap<ObjectKey, u64>,
        jobs: usize,
    ) -> Result<Vec<ObjectKey>, Error> {
        let _ = expected_sizes;
        missing_by_contains(self, keys, jobs)
    }

    /// Opens the object for reading; [`Error::NotFound`] when absent.
    fn open(&self, key: &ObjectKey) -> Result<Box<dyn Read + Send>, Error>;

    /// Uploads the file at `source` as object `key` and returns its size.
    ///
    /// Implementations must verify that the bytes hash to the id and must never expose a
    /// partial or mismatching object under the final name. An object already stored with
    /// the size of `source` may be kept without rewriting it. One of another size, such as
    /// a truncated copy, is written over.
    fn put(&self, key: &ObjectKey, source: &Path) -> Result<u64, Error>;

    /// Uploads like [`Storage::put`], but always writes over the stored object under the
    /// key, for a stored copy found corrupt. A storage that cannot write over an
    /// existing object removes it first.
    fn replace(&self, key: &ObjectKey, source: &Path) -> Result<u64, Error>;

    /// Removes the temporary files that killed uploads left, older than an hour, from the
    /// shard folders of `keys`, and returns how many were removed.
    ///
    /// Only storages on a filesystem the process can list cheaply have this to do; the
    /// default removes nothing.
    fn remove_stale_temp_files(&self, keys: &[ObjectKey]) -> usize {
        let _ = keys;
        0
    }
}

/// Checks each key with `storage.contains` on up to `jobs` threads; stops at the first error.
fn missing_by_contains<S: Storage + ?Sized>(
    storage: &S,
    keys: &[ObjectKey],
    jobs: usize,
) -> Result<Vec<ObjectKey>, Error> {
    let present: Vec<AtomicBool> = keys.iter().map(|_| AtomicBool::new(false)).collect();
    let next = AtomicUsize::new(0);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let threads = jobs.clamp(1, keys.len().max(1));

    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= keys.len() {
                    break;
                }
                match storage.contains(&keys[index]) {
                    Ok(found) => present[index].store(found, Ordering::Relaxed),
                    Err(e) => {
                        // Makes the other threads stop taking keys.
                        next.store(keys.len(), Ordering::Relaxed);
                        let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                        slot.get_or_insert(e);
                        break;
                    }
                }
            });
        }
    });

    if let Some(error) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(error);
    }
    Ok(keys
        .iter()
        .zip(&present)
        .filter(|(_, found)| !found.load(Ordering::Relaxed))
        .map(|(key, _)| *key)
        .collect())
}

#[cfg(test)]
mod tests;
