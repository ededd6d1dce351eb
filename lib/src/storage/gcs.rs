//! Google Cloud Storage (`gs://bucket/path`), configured with DVC's option names.
//!
//! `credentialpath` names a service account key or an authorized-user file, as
//! `GOOGLE_APPLICATION_CREDENTIALS` does; without it, object_store's own chain applies.
//! `projectname` is accepted for DVC's sake; reading and writing objects does not need it.
//!
//! NOTE: no GCS emulator that object_store can talk to is available to the test suite, so
//! only the mapping from options to settings is tested, never a request to a server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::ObjectStore;

use super::cloud::{self, CloudConfig, Publish};
use super::options::Options;
use super::s3::split_bucket_url;
use super::OpenError;
use crate::config::RemoteConfig;

/// Everything the GCS client is built from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GcsSettings {
    pub bucket: String,
    pub root: String,
    pub credentials_file: Option<PathBuf>,
    pub project: Option<String>,
    pub anonymous: bool,
    pub read_timeout: Duration,
    pub connect_timeout: Duration,
}

/// Derives the client settings from `remote` and the environment `env`.
pub(crate) fn settings(
    remote: &RemoteConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<GcsSettings, OpenError> {
    let options = Options::new(remote);
    let (bucket, root) = split_bucket_url(remote, "gs")?;
    if options.get("endpointurl").is_some() {
        return Err(options.unsupported(
            "endpointurl",
            "the Google Cloud Storage client of this tool always talks to Google's endpoint",
        ));
    }
    let credentials_file = options.path("credentialpath").or_else(|| {
        env("GOOGLE_APPLICATION_CREDENTIALS")
            .filter(|value| !value.trim().is_empty())
            .map(PathBuf::from)
    });
    Ok(GcsSettings {
        bucket,
        root,
        credentials_file,
        project: options.get("projectname").map(str::to_owned),
        anonymous: options.bool("allow_anonymous_login")?.unwrap_or(false),
        read_timeout: options.read_timeout(&["read_timeout"])?,
        connect_timeout: options.connect_timeout()?,
    })
}

/// Builds the store for `settings`.
pub(crate) fn build(
    remote: &RemoteConfig,
    settings: &GcsSettings,
) -> Result<CloudConfig, OpenError> {
    let client = cloud::client_options(settings.read_timeout, settings.connect_timeout);
    let mut builder = GoogleCloudStorageBuilder::new()
        .with_bucket_name(&settings.bucket)
        .with_client_options(client)
        .with_retry(cloud::retry_config());
    if let Some(path) = &settings.credentials_file {
        builder = builder.with_application_credentials(path.to_string_lossy());
    }
    if settings.anonymous {
        builder = builder.with_skip_signature(true);
    }
    let store = builder.build().map_err(|e| OpenError::client(remote, &e))?;
    tracing::debug!(bucket = %settings.bucket, project = ?settings.project, "opened gcs storage");
    Ok(CloudConfig {
        store: Arc::new(store) as Arc<dyn ObjectStore>,
        root: settings.root.clone(),
        location: remote.redacted_url(),
        publish: Publish::Direct,
        multipart: true,
        etag_is_md5: false,
        inactivity: settings.read_timeout,
    })
}
