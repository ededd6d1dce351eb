//! Storages reached through `object_store`: S3 and S3-compatible servers, Azure Blob,
//! Google Cloud Storage and WebDAV.
//!
//! Uploads never expose a partial object under its final name. Small objects are read into
//! memory, checked against their MD5 and sent in one request, which these services apply
//! whole. Larger objects go through a multipart upload that is completed only after the
//! streamed bytes matched their MD5, and aborted otherwise. WebDAV servers may keep a
//! partial file after a dropped upload, so WebDAV objects are written under a temporary name
//! and copied into place by the server.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path as FsPath;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::{Path, PathPart};
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
    WriteMultipart,
};
use tokio::runtime::Handle;

use super::listing::{self, ShardListing};
use super::stream::{read_error_kind, BlockingStream};
use super::{Error, Operation, RemoteError, Storage};
use crate::object::{Hasher, ObjectKey};

/// Objects larger than this go through a multipart upload where the service supports it.
const MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;

/// Size of each part of a multipart upload; with S3's limit of 10,000 parts this allows
/// objects of about 156 GiB.
const PART_SIZE: usize = 16 * 1024 * 1024;

/// Parts of one object that may be in flight at once.
const PARTS_IN_FLIGHT: usize = 4;

/// Read buffer for local files.
const READ_BUFFER: usize = 1024 * 1024;

/// Way an upload becomes visible under its final name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Publish {
    /// The service applies a single request or a completed multipart upload atomically.
    Direct,
    /// The object goes to a temporary name first and the server copies it into place.
    TempThenCopy,
}

/// Settings a backend module passes to build a [`CloudStorage`].
pub(crate) struct CloudConfig {
    /// The store, rooted at the bucket or container (or the WebDAV base URL).
    pub store: Arc<dyn ObjectStore>,
    /// The folder inside the store that contains the DVC layout, without slashes at the ends.
    pub root: String,
    /// The storage's URL without credentials.
    pub location: String,
    /// Way uploads become visible.
    pub publish: Publish,
    /// Whether the service supports multipart uploads.
    pub multipart: bool,
    /// Whether the ETag of a single-request upload is the MD5 of the bytes, as on S3
    /// without KMS or customer-key encryption, so that it can confirm what was stored.
    pub etag_is_md5: bool,
    /// The inactivity timeout for downloads.
    pub inactivity: Duration,
}

/// Returns the HTTP client settings every cloud backend uses: no limit on a whole request,
/// a connect timeout, and an inactivity timeout that restarts with every read.
pub(crate) fn client_options(inactivity: Duration, connect: Duration) -> ClientOptions {
    ClientOptions::new()
        .with_timeout_disabled()
        .with_read_timeout(inactivity)
        .with_connect_timeout(connect)
}

/// Returns the retry policy of single requests: four retries with exponential backoff from
/// 100 ms up to 15 s, given up after two minutes. The transfer engine retries the whole
/// object on top of this.
pub(crate) fn retry_config() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: 4,
        retry_timeout: Duration::from_secs(120),
    }
}

/// A DVC remote on an object store.
pub(crate) struct CloudStorage {
    config: CloudConfig,
    handle: Handle,
    /// WebDAV collections known to exist, so uploads into them need no MKCOL.
    known_collections: Mutex<HashSet<String>>,
    /// Held while an upload may create collections. Two concurrent MKCOLs of one collection
    /// make the server reject the second with 405, which object_store reports as a failure.
    creating_collections: tokio::sync::Mutex<()>,
}

impl CloudStorage {
    /// Wraps the store described by `config`.
    pub(crate) fn new(config: CloudConfig, handle: Handle) -> CloudStorage {
        CloudStorage {
            config,
            handle,
            known_collections: Mutex::new(HashSet::new()),
            creating_collections: tokio::sync::Mutex::new(()),
        }
    }

    fn path_of(&self, relative: &str) -> Path {
        let parts = self
            .config
            .root
            .split('/')
            .chain(relative.split('/'))
            .filter(|part| !part.is_empty())
            .map(PathPart::from);
        Path::from_iter(parts)
    }

    fn object_path(&self, key: &ObjectKey) -> Path {
        self.path_of(&key.layout_path())
    }

    fn error(&self, operation: Operation, key: &ObjectKey, error: object_store::Error) -> Error {
        if operation == Operation::Download {
            if let object_store::Error::NotFound { .. } = error {
                return Error::NotFound {
                    key: *key,
                    storage: self.describe(),
                };
            }
        }
        let retryable = is_retryable(&error);
        Error::backend(
            operation,
            key,
            self.describe(),
            retryable,
            RemoteError::new(&error),
        )
    }

    fn upload_error(&self, key: &ObjectKey, message: String) -> Error {
        Error::backend(
            Operation::Upload,
            key,
            self.describe(),
            true,
            RemoteError::message(&message),
        )
    }

    /// Reads the whole file, checking its MD5, into chunks ready for one request.
    fn read_verified(
        &self,
        key: &ObjectKey,
        source: &FsPath,
        file: &mut File,
    ) -> Result<PutPayload, Error> {
        let mut hasher = Hasher::new(key.kind);
        let mut chunks: Vec<Bytes> = Vec::new();
        loop {
            let mut buffer = vec![0u8; READ_BUFFER];
            let n = read_some(file, &mut buffer).map_err(|e| self.read_source(key, source, e))?;
            if n == 0 {
                break;
            }
            buffer.truncate(n);
            hasher.update(&buffer);
            chunks.push(Bytes::from(buffer));
        }
        let digest = hasher.finish();
        if !key.id.matches_digest(digest) {
            return Err(self.corrupt(key, source, digest));
        }
        Ok(PutPayload::from_iter(chunks))
    }

    fn read_source(&self, key: &ObjectKey, source: &FsPath, error: io::Error) -> Error {
        Error::ReadSource {
            key: *key,
            storage: self.describe(),
            path: source.to_path_buf(),
            source: error,
        }
    }

    fn corrupt(&self, key: &ObjectKey, source: &FsPath, digest: [u8; 16]) -> Error {
        Error::Corrupt {
            key: *key,
            storage: self.describe(),
            path: source.to_path_buf(),
            actual: hex::encode(digest),
        }
    }

    /// Sends a verified in-memory payload to its final name, directly or through a
    /// temporary name. A direct upload always writes over a stored object. The copy from a
    /// temporary name writes over one only with `replace`, or when its size differs.
    fn put_single(&self, key: &ObjectKey, payload: PutPayload, replace: bool) -> Result<(), Error> {
        let store = &self.config.store;
        let target = self.object_path(key);
        let size = payload.content_length() as u64;

        match self.config.publish {
            Publish::Direct => {
                let result = self
                    .handle
                    .block_on(store.put(&target, payload))
                    .map_err(|e| self.error(Operation::Upload, key, e))?;
                if self.config.etag_is_md5 {
                    self.check_etag(key, &target, result.e_tag.as_deref())?;
                }
                Ok(())
            }
            Publish::TempThenCopy => {
                let temp = self.temp_path(key);
                let layout = key.layout_path();
                let collection = layout
                    .rsplit_once('/')
                    .map_or("", |(dir, _)| dir)
                    .to_owned();
                let known = self
                    .known_collections
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .contains(&collection);
                let outcome = self.handle.block_on(async {
                    if known {
                        store.put(&temp, payload).await?;
                    } else {
                        let _creating = self.creating_collections.lock().await;
                        store.put(&temp, payload).await?;
                        self.known_collections
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(collection);
                    }
                    if replace {
                        return store.copy(&temp, &target).await;
                    }
                    match store.copy_if_not_exists(&temp, &target).await {
                        Err(object_store::Error::AlreadyExists { .. }) => {
                            // A stored copy of another size, such as a truncated one, is
                            // written over; one of the same size is kept.
                            if store.head(&target).await?.size == size {
                                Ok(())
                            } else {
                                store.copy(&temp, &target).await
                            }
                        }
                        outcome => outcome,
                    }
                });
                // The temporary object goes away whether or not the copy worked.
                if let Err(error) = self.handle.block_on(store.delete(&temp)) {
                    if !matches!(error, object_store::Error::NotFound { .. }) {
                        tracing::warn!(object = %key, temp = %temp, error = %RemoteError::new(&error), "failed to delete temporary object");
                    }
                }
                outcome.map_err(|e| self.error(Operation::Upload, key, e))
            }
        }
    }

    /// Returns a fresh temporary name in the object's shard, hidden from listings by its dot.
    fn temp_path(&self, key: &ObjectKey) -> Path {
        let layout = key.layout_path();
        let (shard, name) = layout.rsplit_once('/').unwrap_or(("", layout.as_str()));
        let nonce: u64 = rand_u64();
        self.path_of(&format!("{shard}/.{name}.{nonce:016x}.tmp"))
    }

    /// Compares the ETag of a single-request S3 upload with the object's MD5. A mismatch
    /// means the service stored other bytes than were sent, so the object is deleted.
    fn check_etag(&self, key: &ObjectKey, target: &Path, etag: Option<&str>) -> Result<(), Error> {
        let Some(etag) = etag.map(|e| e.trim_matches('"').to_ascii_lowercase()) else {
            return Ok(());
        };
        if etag.len() != 32 || !etag.bytes().all(|b| b.is_ascii_hexdigit()) || etag == key.id.hex()
        {
            return Ok(());
        }
        let _ = self.handle.block_on(self.config.store.delete(target));
        Err(self.upload_error(
            key,
            format!("the storage reports MD5 {etag} for the uploaded bytes, so the object was deleted again"),
        ))
    }

    /// Streams a large file through a multipart upload that completes only if its MD5 matched.
    fn put_multipart(
        &self,
        key: &ObjectKey,
        source: &FsPath,
        file: &mut File,
    ) -> Result<(), Error> {
        enum Failed {
            Read(io::Error),
            Store(object_store::Error),
            Mismatch([u8; 16]),
        }
        let store = &self.config.store;
        let target = self.object_path(key);

        let outcome = self.handle.block_on(async {
            let upload = store.put_multipart(&target).await.map_err(Failed::Store)?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
            let mut hasher = Hasher::new(key.kind);
            let mut buffer = vec![0u8; READ_BUFFER];
            loop {
                let n = match read_some(file, &mut buffer) {
                    Ok(n) => n,
                    Err(error) => {
                        let _ = writer.abort().await;
                        return Err(Failed::Read(error));
                    }
                };
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
                if let Err(error) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                    let _ = writer.abort().await;
                    return Err(Failed::Store(error));
                }
                writer.write(&buffer[..n]);
            }
            let digest = hasher.finish();
            if !key.id.matches_digest(digest) {
                let _ = writer.abort().await;
                return Err(Failed::Mismatch(digest));
            }
            writer.finish().await.map_err(Failed::Store)?;
            Ok(())
        });

        match outcome {
            Ok(()) => Ok(()),
            Err(Failed::Read(error)) => Err(self.read_source(key, source, error)),
            Err(Failed::Store(error)) => Err(self.error(Operation::Upload, key, error)),
            Err(Failed::Mismatch(digest)) => Err(self.corrupt(key, source, digest)),
        }
    }
}

impl Storage for CloudStorage {
    fn describe(&self) -> String {
        self.config.location.clone()
    }

    fn contains(&self, key: &ObjectKey) -> Result<bool, Error> {
        Ok(self.stat(key)?.is_some())
    }

    fn missing(
        &self,
        keys: &[ObjectKey],
        expected_sizes: &HashMap<ObjectKey, u64>,
        jobs: usize,
    ) -> Result<Vec<ObjectKey>, Error> {
        listing::missing(self, keys, expected_sizes, jobs)
    }

    fn open(&self, key: &ObjectKey) -> Result<Box<dyn Read + Send>, Error> {
        let path = self.object_path(key);
        let result = self
            .handle
            .block_on(self.config.store.get(&path))
            .map_err(|e| self.error(Operation::Download, key, e))?;
        let stream = result
            .into_stream()
            .map_err(|error| {
                let message = RemoteError::new(&error);
                let text = message.to_string().to_ascii_lowercase();
                let kind =
                    read_error_kind(text.contains("timed out") || text.contains("timeout"), true);
                io::Error::new(kind, message)
            })
            .boxed();
        Ok(Box::new(BlockingStream::new(
            self.handle.clone(),
            stream,
            self.config.inactivity,
        )))
    }

    fn put(&self, key: &ObjectKey, source: &FsPath) -> Result<u64, Error> {
        self.upload(key, source, false)
    }

    fn replace(&self, key: &ObjectKey, source: &FsPath) -> Result<u64, Error> {
        self.upload(key, source, true)
    }
}

impl CloudStorage {
    /// Uploads `source` as `key`, in one request or in parts; see [`CloudStorage::put_single`]
    /// for when a stored object is written over. A completed multipart upload always
    /// replaces the stored object.
    fn upload(&self, key: &ObjectKey, source: &FsPath, replace: bool) -> Result<u64, Error> {
        let mut file = File::open(source).map_err(|e| self.read_source(key, source, e))?;
        let size = file
            .metadata()
            .map_err(|e| self.read_source(key, source, e))?
            .len();

        if self.config.multipart && size > MULTIPART_THRESHOLD {
            tracing::debug!(object = %key, size, "uploading in parts");
            self.put_multipart(key, source, &mut file)?;
        } else {
            let payload = self.read_verified(key, source, &mut file)?;
            self.put_single(key, payload, replace)?;
        }
        tracing::debug!(object = %key, size, replace, storage = %self.config.location, "stored object");
        Ok(size)
    }
}

impl ShardListing for CloudStorage {
    fn stat(&self, key: &ObjectKey) -> Result<Option<u64>, Error> {
        match self
            .handle
            .block_on(self.config.store.head(&self.object_path(key)))
        {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(self.error(Operation::Check, key, error)),
        }
    }

    fn list_shard(&self, key: &ObjectKey) -> Result<HashMap<String, u64>, Error> {
        let layout = key.layout_path();
        let shard = layout.rsplit_once('/').map_or("", |(shard, _)| shard);
        let prefix = self.path_of(shard);
        let listed = self
            .handle
            .block_on(self.config.store.list_with_delimiter(Some(&prefix)))
            .map_err(|e| self.error(Operation::Check, key, e))?;
        Ok(listed
            .objects
            .into_iter()
            .filter_map(|meta| {
                let name = meta.location.filename()?.to_owned();
                // Temporary uploads start with a dot and are not objects.
                (!name.starts_with('.')).then_some((name, meta.size))
            })
            .collect())
    }

    fn location(&self) -> String {
        self.describe()
    }
}

/// Reads into `buffer` until it is full or the file ends; returns the bytes read.
fn read_some(file: &mut File, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Returns a random number for temporary names.
pub(crate) fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

/// Returns true if and only if `error` may go away on a later attempt.
///
/// NOTE: object_store 0.14 does not expose the HTTP status of a failed request, so the
/// status is read from the message it formats (`non-2xx status code: 503 ...`). Client
/// errors (4xx other than 408 and 429) are final; server errors, throttling, timeouts and
/// connection failures are retryable.
pub(crate) fn is_retryable(error: &object_store::Error) -> bool {
    use object_store::Error as E;
    match error {
        E::Generic { .. } => {}
        _ => return false,
    }

    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(http) = cause.downcast_ref::<object_store::client::HttpError>() {
            use object_store::client::HttpErrorKind as K;
            return matches!(
                http.kind(),
                K::Connect | K::Request | K::Timeout | K::Interrupted
            );
        }
        source = cause.source();
    }

    let text = error.to_string();
    match status_in_message(&text) {
        Some(status) => status >= 500 || status == 408 || status == 429,
        None => true,
    }
}

fn status_in_message(text: &str) -> Option<u16> {
    let (_, rest) = text.split_once("status code: ")?;
    rest.get(..3)?.parse().ok()
}
