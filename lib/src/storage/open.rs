//! Choosing and configuring the backend for a DVC remote.

use std::io;
use std::path::PathBuf;

use super::cloud::CloudStorage;
use super::{azure, gcs, http, runtime, s3, sftp, webdav, LocalStorage, RemoteError, Storage};
use crate::config::RemoteConfig;

/// Errors from opening a storage. None of them contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL scheme has no backend.
    #[error("storage {remote:?} at {url} uses an unsupported scheme; supported are paths, file://, s3://, azure://, gs://, http(s)://, webdav(s):// and ssh://")]
    UnsupportedScheme {
        /// The remote's name.
        remote: String,
        /// The URL, redacted.
        url: String,
    },
    /// The URL cannot be used.
    #[error("invalid url {url} of storage {remote:?}: {reason}")]
    InvalidUrl {
        /// The remote's name.
        remote: String,
        /// The URL, redacted.
        url: String,
        /// The reason it is invalid.
        reason: String,
    },
    /// An option has a value that cannot be used.
    #[error("invalid option {option} = {value:?} of storage {remote:?}: {reason}")]
    InvalidOption {
        /// The remote's name.
        remote: String,
        /// The option's name.
        option: String,
        /// The value, `***` for secret options.
        value: String,
        /// The reason it is invalid.
        reason: String,
    },
    /// An option DVC defines that this backend cannot honour.
    #[error("option {option} of storage {remote:?} is not supported: {reason}")]
    UnsupportedOption {
        /// The remote's name.
        remote: String,
        /// The option's name.
        option: String,
        /// Why, and what to do instead.
        reason: String,
    },
    /// No credentials were found and asking for them is not possible.
    #[error("no credentials found for storage {remote:?}; {hint}")]
    NoCredentials {
        /// The remote's name.
        remote: String,
        /// The places where credentials can be set.
        hint: String,
    },
    /// A file named by an option could not be read.
    #[error("failed to read {} for storage {remote:?}", path.display())]
    ReadFile {
        /// The remote's name.
        remote: String,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The runtime for network I/O could not start.
    #[error("failed to start the network runtime for storage {remote:?}")]
    Runtime {
        /// The remote's name.
        remote: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The client library rejected the configuration or the connection failed.
    #[error("failed to set up storage {remote:?} at {url}")]
    Client {
        /// The remote's name.
        remote: String,
        /// The URL, redacted.
        url: String,
        /// The client's error, scrubbed.
        #[source]
        source: RemoteError,
    },
}

impl OpenError {
    /// Builds [`OpenError::Client`] from a client library's error.
    pub(crate) fn client(remote: &RemoteConfig, error: &dyn std::error::Error) -> OpenError {
        OpenError::Client {
            remote: remote.name.clone(),
            url: remote.redacted_url(),
            source: RemoteError::message(&crate::transfer::error_chain(error)),
        }
    }

    /// Builds [`OpenError::Client`] from a message of this crate.
    pub(crate) fn client_message(remote: &RemoteConfig, message: &str) -> OpenError {
        OpenError::Client {
            remote: remote.name.clone(),
            url: remote.redacted_url(),
            source: RemoteError::message(message),
        }
    }
}

/// Opens the backend for `remote`, chosen by the scheme of its URL.
///
/// Network backends check their configuration here; only SSH connects right away, because
/// its session carries every later request.
pub fn open(remote: &RemoteConfig) -> Result<Box<dyn Storage>, OpenError> {
    if let Some(path) = remote.local_path() {
        return Ok(Box::new(LocalStorage::new(path)));
    }

    let scheme = remote
        .url
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase())
        .unwrap_or_default();
    let handle = || {
        runtime::handle().map_err(|source| OpenError::Runtime {
            remote: remote.name.clone(),
            source,
        })
    };
    let env = |name: &str| std::env::var(name).ok();

    match scheme.as_str() {
        "s3" => {
            let settings = s3::settings(remote, &env)?;
            let config = s3::build(remote, &settings)?;
            Ok(Box::new(CloudStorage::new(config, handle()?)))
        }
        "azure" => {
            let settings = azure::settings(remote, &env)?;
            let config = azure::build(remote, &settings)?;
            Ok(Box::new(CloudStorage::new(config, handle()?)))
        }
        "gs" => {
            let settings = gcs::settings(remote, &env)?;
            let config = gcs::build(remote, &settings)?;
            Ok(Box::new(CloudStorage::new(config, handle()?)))
        }
        "webdav" | "webdavs" => {
            let settings = webdav::settings(remote)?;
            let config = webdav::build(remote, &settings)?;
            Ok(Box::new(CloudStorage::new(config, handle()?)))
        }
        "http" | "https" => {
            let settings = http::settings(remote)?;
            Ok(Box::new(http::HttpStorage::new(
                remote,
                settings,
                handle()?,
            )?))
        }
        "ssh" => {
            let settings = sftp::settings(remote)?;
            Ok(Box::new(sftp::SftpStorage::connect(
                remote,
                settings,
                handle()?,
            )?))
        }
        _ => Err(OpenError::UnsupportedScheme {
            remote: remote.name.clone(),
            url: remote.redacted_url(),
        }),
    }
}

#[cfg(test)]
mod tests;
