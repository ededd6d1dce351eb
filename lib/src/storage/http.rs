//! DVC's plain HTTP(S) remote (`http://` and `https://` URLs), through reqwest.
//!
//! It follows DVC's wire behaviour. An object exists when the response to a request for it
//! has a status below 400. Uploads are streamed with chunked transfer encoding using `method`
//! (POST by default, or PUT). Nothing is ever listed, because such servers have no listing.
//! `auth = basic` sends `user` and `password`, `auth = custom` sends the header
//! `custom_auth_header` with `password` as its value. Digest authentication is rejected,
//! as DVC's HTTP plugin rejects it at use.
//!
//! The server decides what becomes visible. The bytes sent are hashed on the way, and an
//! upload whose bytes do not match the object's MD5 is broken off before its last chunk,
//! so a server that writes atomically never stores them.

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH};
use reqwest::{Method, StatusCode};
use tokio::io::AsyncReadExt;
use tokio::runtime::Handle;

use super::options::Options;
use super::stream::{read_error_kind, BlockingStream};
use super::webdav::split_url;
use super::{Error, OpenError, Operation, RemoteError, Storage};
use crate::config::RemoteConfig;
use crate::object::{hash_file, Hasher, ObjectKey};
use crate::pool::parallel;
use crate::redact;

/// Chunk size of streamed uploads; DVC's HTTP remote sends 5 MiB chunks as well.
const UPLOAD_CHUNK: usize = 5 * 1024 * 1024;

/// Everything the HTTP client is built from.
#[derive(Clone, PartialEq)]
pub(crate) struct HttpSettings {
    /// The URL without credentials or a trailing slash.
    pub base: String,
    pub method: Method,
    /// The authentication header; its value is registered for redaction.
    pub auth: Option<(String, String)>,
    pub verify_certificates: bool,
    pub ca_file: Option<PathBuf>,
    pub read_timeout: Duration,
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSettings")
            .field("base", &self.base)
            .field("method", &self.method)
            .field(
                "auth",
                &self.auth.as_ref().map(|(name, _)| (name, redact::REDACTED)),
            )
            .field("verify_certificates", &self.verify_certificates)
            .field("ca_file", &self.ca_file)
            .field("read_timeout", &self.read_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// Reads `ssl_verify`: true, false, or the path of a CA bundle to trust.
pub(crate) fn ssl_verify(options: &Options<'_>) -> Result<(bool, Option<PathBuf>), OpenError> {
    match options.get("ssl_verify") {
        None => Ok((true, None)),
        Some(_) => match options.bool("ssl_verify") {
            Ok(Some(verify)) => Ok((verify, None)),
            _ => Ok((true, options.path("ssl_verify"))),
        },
    }
}

/// Derives the client settings from `remote`.
pub(crate) fn settings(remote: &RemoteConfig) -> Result<HttpSettings, OpenError> {
    let options = Options::new(remote);
    let (scheme, userinfo, host, path) = split_url(&remote.url)
        .ok_or_else(|| super::s3::invalid_url(remote, "expected http(s)://HOST[:PORT]/PATH"))?;
    let base = format!(
        "{}://{host}{}",
        scheme.to_ascii_lowercase(),
        path.trim_end_matches('/')
    );

    let method = match options
        .get("method")
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("POST") => Method::POST,
        Some("PUT") => Method::PUT,
        Some(_) => return Err(options.invalid("method", "expected POST or PUT")),
    };

    let (url_user, url_password) = match userinfo.and_then(|u| u.split_once(':')) {
        Some((user, password)) => (Some(user.to_owned()), Some(password.to_owned())),
        None => (userinfo.map(str::to_owned), None),
    };
    let user = options.get("user").map(str::to_owned).or(url_user);
    let mut password = options.get("password").map(str::to_owned).or(url_password);
    let auth_kind = options.get("auth").map(str::to_ascii_lowercase);
    let wants_password = matches!(auth_kind.as_deref(), Some("basic" | "custom"));
    if wants_password && password.is_none() && options.bool("ask_password")?.unwrap_or(false) {
        password = Some(super::prompt::ask_password(
            remote,
            user.as_deref().unwrap_or(""),
        )?);
    }

    let auth = match auth_kind.as_deref() {
        None => None,
        Some("basic") => {
            let (Some(user), Some(password)) = (&user, &password) else {
                return Err(options.invalid("auth", "basic authentication needs user and password"));
            };
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            redact::register(&encoded);
            Some((
                AUTHORIZATION.as_str().to_owned(),
                format!("Basic {encoded}"),
            ))
        }
        Some("custom") => {
            let (Some(header), Some(password)) = (options.get("custom_auth_header"), &password)
            else {
                return Err(options.invalid(
                    "auth",
                    "custom authentication needs custom_auth_header and password",
                ));
            };
            Some((header.to_owned(), password.clone()))
        }
        Some("digest") => return Err(options.unsupported(
            "auth",
            "digest authentication is not supported, as in DVC's HTTP remote; use basic or custom",
        )),
        Some(_) => return Err(options.invalid("auth", "expected basic, digest or custom")),
    };
    if let Some((_, value)) = &auth {
        redact::register(value);
    }

    let (verify_certificates, ca_file) = ssl_verify(&options)?;
    Ok(HttpSettings {
        base,
        method,
        auth,
        verify_certificates,
        ca_file,
        read_timeout: options.read_timeout(&["read_timeout"])?,
        connect_timeout: options.connect_timeout()?,
    })
}

/// A DVC remote on a plain HTTP server.
pub(crate) struct HttpStorage {
    client: reqwest::Client,
    settings: HttpSettings,
    location: String,
    handle: Handle,
}

impl HttpStorage {
    /// Builds the client for `settings`; nothing is sent yet.
    pub(crate) fn new(
        remote: &RemoteConfig,
        settings: HttpSettings,
        handle: Handle,
    ) -> Result<HttpStorage, OpenError> {
        let mut headers = HeaderMap::new();
        if let Some((name, value)) = &settings.auth {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                OpenError::client_message(remote, "custom_auth_header is not a valid header name")
            })?;
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                OpenError::client_message(
                    remote,
                    "the authentication value is not a valid header value",
                )
            })?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .read_timeout(settings.read_timeout)
            .connect_timeout(settings.connect_timeout)
            .tls_danger_accept_invalid_certs(!settings.verify_certificates);
        if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path).map_err(|source| OpenError::ReadFile {
                remote: remote.name.clone(),
                path: path.clone(),
                source,
            })?;
            let certificate =
                reqwest::Certificate::from_pem(&pem).map_err(|e| OpenError::client(remote, &e))?;
            builder = builder.add_root_certificate(certificate);
        }
        let client = builder.build().map_err(|e| OpenError::client(remote, &e))?;
        tracing::debug!(base = %settings.base, method = %settings.method, "opened http storage");
        Ok(HttpStorage {
            client,
            settings,
            location: remote.redacted_url(),
            handle,
        })
    }

    fn url(&self, key: &ObjectKey) -> String {
        format!("{}/{}", self.settings.base, key.layout_path())
    }

    fn request_error(&self, operation: Operation, key: &ObjectKey, error: reqwest::Error) -> Error {
        let retryable =
            error.is_timeout() || error.is_connect() || error.is_request() || error.is_body();
        Error::backend(
            operation,
            key,
            self.describe(),
            retryable,
            RemoteError::new(&error.without_url()),
        )
    }

    fn status_error(&self, operation: Operation, key: &ObjectKey, status: StatusCode) -> Error {
        let retryable = status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT;
        Error::backend(
            operation,
            key,
            self.describe(),
            retryable,
            RemoteError::message(&format!("the server responded with {status}")),
        )
    }

    /// Returns the stored size (`Some(None)` when the server sends no length), or `None`
    /// when the object is absent.
    fn stat(&self, key: &ObjectKey) -> Result<Option<Option<u64>>, Error> {
        let url = self.url(key);
        let response = self
            .handle
            .block_on(async { self.client.head(&url).send().await })
            .map_err(|e| self.request_error(Operation::Check, key, e))?;
        let status = response.status();
        let response = if matches!(
            status,
            StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_IMPLEMENTED
        ) {
            // DVC checks existence with GET; the body is not read.
            self.handle
                .block_on(async { self.client.get(&url).send().await })
                .map_err(|e| self.request_error(Operation::Check, key, e))?
        } else {
            response
        };
        let status = response.status();
        if status.as_u16() < 400 {
            let length = response
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            return Ok(Some(length));
        }
        if matches!(status, StatusCode::NOT_FOUND | StatusCode::GONE) {
            return Ok(None);
        }
        Err(self.status_error(Operation::Check, key, status))
    }
}

impl Storage for HttpStorage {
    fn describe(&self) -> String {
        self.location.clone()
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
        tracing::debug!(objects = keys.len(), storage = %self.location, "checking each object, http storages cannot list");
        let stats = parallel(keys, jobs, |key| self.stat(key));
        let mut missing = Vec::new();
        for (key, stat) in keys.iter().zip(stats) {
            let present = match stat? {
                None => false,
                Some(None) => true,
                Some(Some(stored)) => match expected_sizes.get(key) {
                    Some(&expected) if expected != stored => {
                        tracing::warn!(object = %key, expected, stored, storage = %self.location, "stored object has another size than the local one; uploading it again");
                        false
                    }
                    _ => true,
                },
            };
            if !present {
                missing.push(*key);
            }
        }
        Ok(missing)
    }

    fn open(&self, key: &ObjectKey) -> Result<Box<dyn Read + Send>, Error> {
        let response = self
            .handle
            .block_on(async { self.client.get(self.url(key)).send().await })
            .map_err(|e| self.request_error(Operation::Download, key, e))?;
        let status = response.status();
        if matches!(status, StatusCode::NOT_FOUND | StatusCode::GONE) {
            return Err(Error::NotFound {
                key: *key,
                storage: self.describe(),
            });
        }
        if !status.is_success() {
            return Err(self.status_error(Operation::Download, key, status));
        }
        let stream = response
            .bytes_stream()
            .map_err(|error| {
                let kind = read_error_kind(error.is_timeout(), true);
                io::Error::new(kind, RemoteError::new(&error.without_url()))
            })
            .boxed();
        Ok(Box::new(BlockingStream::new(
            self.handle.clone(),
            stream,
            self.settings.read_timeout,
        )))
    }

    fn put(&self, key: &ObjectKey, source: &Path) -> Result<u64, Error> {
        let read_source = |e| Error::ReadSource {
            key: *key,
            storage: self.describe(),
            path: source.to_path_buf(),
            source: e,
        };
        let corrupt = |digest: [u8; 16]| Error::Corrupt {
            key: *key,
            storage: self.describe(),
            path: source.to_path_buf(),
            actual: hex::encode(digest),
        };

        // Checking first means a corrupt cache file is never sent at all.
        let (digest, size) = hash_file(key.kind, source).map_err(read_source)?;
        if !key.id.matches_digest(digest) {
            return Err(corrupt(digest));
        }

        let path = source.to_path_buf();
        let kind = key.kind;
        let expected = key.id;
        let outcome = self.handle.block_on(async {
            let file = tokio::fs::File::open(&path).await?;
            // The stream hashes what it sends and fails instead of ending when the bytes
            // changed since the check above, so the request never completes.
            let chunks = futures::stream::try_unfold(
                (file, Hasher::new(kind), false),
                move |(mut file, mut hasher, done)| async move {
                    if done {
                        return Ok(None);
                    }
                    let mut buffer = vec![0u8; UPLOAD_CHUNK];
                    let mut filled = 0;
                    while filled < buffer.len() {
                        let n = file.read(&mut buffer[filled..]).await?;
                        if n == 0 {
                            break;
                        }
                        filled += n;
                    }
                    buffer.truncate(filled);
                    hasher.update(&buffer);
                    if filled == 0 || filled < UPLOAD_CHUNK {
                        let digest = std::mem::replace(&mut hasher, Hasher::new(kind)).finish();
                        if !expected.matches_digest(digest) {
                            return Err(io::Error::other("the file changed while it was uploaded"));
                        }
                        return Ok(Some((Bytes::from(buffer), (file, hasher, true))));
                    }
                    Ok(Some((Bytes::from(buffer), (file, hasher, false))))
                },
            );
            let response = self
                .client
                .request(self.settings.method.clone(), self.url(key))
                .body(reqwest::Body::wrap_stream(chunks))
                .send()
                .await;
            Ok::<_, io::Error>(response)
        });

        let response = outcome
            .map_err(read_source)?
            .map_err(|e| self.request_error(Operation::Upload, key, e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(self.status_error(Operation::Upload, key, status));
        }
        tracing::debug!(object = %key, size, storage = %self.location, "stored object");
        Ok(size)
    }

    fn replace(&self, key: &ObjectKey, source: &Path) -> Result<u64, Error> {
        // Every upload is a POST or PUT to the object's URL; the server decides whether it
        // writes over a stored file, and `git exp push --verify` checks that it did.
        self.put(key, source)
    }
}
