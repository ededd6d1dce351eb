//! S3 and S3-compatible storages (`s3://bucket/path`), configured with DVC's option names.
//!
//! Credentials are taken from the first of these that has them. First come the remote's
//! options (`access_key_id`, `secret_access_key`, `session_token`), then the profile that the
//! `profile` option names, then `AWS_ACCESS_KEY_ID` and its companions. Last come the shared
//! files of the AWS CLI for `AWS_PROFILE` or `default`: `~/.aws/credentials` and
//! `~/.aws/config`, which `credentialpath`, `configpath`, `AWS_SHARED_CREDENTIALS_FILE` and
//! `AWS_CONFIG_FILE` move elsewhere.
//! Without any, `allow_anonymous_login` sends unsigned requests, and otherwise object_store's
//! own chain (web identity, container credentials, instance metadata) is used, unless
//! `AWS_EC2_METADATA_DISABLED=true` rules out the instance metadata service.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::{Certificate, ObjectStore};

use super::cloud::{self, CloudConfig, Publish};
use super::options::Options;
use super::OpenError;
use crate::config::RemoteConfig;
use crate::redact;

/// Region when neither the remote, the environment nor the profile sets one.
const DEFAULT_REGION: &str = "us-east-1";

/// Grant options DVC passes to S3 as `x-amz-grant-*` headers.
const GRANT_OPTIONS: [(&str, &str); 4] = [
    ("grant_read", "x-amz-grant-read"),
    ("grant_read_acp", "x-amz-grant-read-acp"),
    ("grant_write_acp", "x-amz-grant-write-acp"),
    ("grant_full_control", "x-amz-grant-full-control"),
];

/// Source of the credentials, for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CredentialSource {
    /// The remote's `access_key_id` and `secret_access_key` options.
    Options,
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    Environment,
    /// A profile of the shared credentials or config file.
    Profile {
        /// The profile name.
        name: String,
        /// The file that held the keys.
        file: PathBuf,
    },
    /// No keys: unsigned requests (`allow_anonymous_login`).
    Anonymous,
    /// No keys: object_store's chain of web identity, container and instance credentials.
    Chain,
}

/// Static keys.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &redact::REDACTED)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| redact::REDACTED),
            )
            .finish()
    }
}

/// Everything the S3 client is built from, derived from a remote and the environment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct S3Settings {
    pub bucket: String,
    pub root: String,
    pub region: String,
    pub endpoint: Option<String>,
    pub allow_http: bool,
    pub keys: Option<Keys>,
    pub credentials: CredentialSource,
    pub verify_certificates: bool,
    pub ca_file: Option<PathBuf>,
    /// `x-amz-server-side-encryption` value, such as `AES256` or `aws:kms`.
    pub sse: Option<String>,
    pub sse_kms_key_id: Option<String>,
    /// Base64 customer key for SSE-C.
    pub sse_customer_key: Option<redact::Secret>,
    /// Extra request headers: the canned ACL or grants.
    pub headers: BTreeMap<String, String>,
    pub read_timeout: Duration,
    pub connect_timeout: Duration,
}

/// Splits `s3://bucket/path` into the bucket and the path inside it.
pub(crate) fn split_bucket_url(
    remote: &RemoteConfig,
    scheme: &str,
) -> Result<(String, String), OpenError> {
    let rest = remote
        .url
        .strip_prefix(scheme)
        .and_then(|rest| rest.strip_prefix("://"))
        .ok_or_else(|| invalid_url(remote, "expected SCHEME://BUCKET/PATH"))?;
    let (bucket, root) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() || bucket.contains('@') {
        return Err(invalid_url(
            remote,
            "the bucket name is missing or contains credentials",
        ));
    }
    Ok((bucket.to_owned(), root.trim_matches('/').to_owned()))
}

pub(crate) fn invalid_url(remote: &RemoteConfig, reason: &str) -> OpenError {
    OpenError::InvalidUrl {
        remote: remote.name.clone(),
        url: remote.redacted_url(),
        reason: reason.to_owned(),
    }
}

/// Derives the client settings from `remote` and the environment `env`.
pub(crate) fn settings(
    remote: &RemoteConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<S3Settings, OpenError> {
    let options = Options::new(remote);
    let (bucket, root) = split_bucket_url(remote, "s3")?;
    let env_nonempty = |name: &str| env(name).filter(|value| !value.trim().is_empty());

    // Shared files of the AWS CLI.
    let home = env_nonempty("HOME").map(PathBuf::from);
    let credentials_file = options
        .path("credentialpath")
        .or_else(|| env_nonempty("AWS_SHARED_CREDENTIALS_FILE").map(PathBuf::from))
        .or_else(|| home.as_ref().map(|h| h.join(".aws/credentials")));
    let config_file = options
        .path("configpath")
        .or_else(|| env_nonempty("AWS_CONFIG_FILE").map(PathBuf::from))
        .or_else(|| home.as_ref().map(|h| h.join(".aws/config")));
    let explicit_profile = options.get("profile").map(str::to_owned);
    let profile_name = explicit_profile
        .clone()
        .or_else(|| env_nonempty("AWS_PROFILE"))
        .unwrap_or_else(|| "default".to_owned());
    let profile = SharedProfile::load(
        &profile_name,
        credentials_file.as_deref(),
        config_file.as_deref(),
    )
    .map_err(|(path, source)| OpenError::ReadFile {
        remote: remote.name.clone(),
        path,
        source,
    })?;
    if explicit_profile.is_some() && profile.keys.is_none() && profile.region.is_none() {
        return Err(options.invalid(
            "profile",
            "no such profile in the AWS credentials or config file",
        ));
    }

    let option_keys = match (
        options.get("access_key_id"),
        options.get("secret_access_key"),
    ) {
        (Some(id), Some(secret)) => Some(Keys {
            access_key_id: id.to_owned(),
            secret_access_key: secret.to_owned(),
            session_token: options.get("session_token").map(str::to_owned),
        }),
        (Some(_), None) => {
            return Err(options.invalid("access_key_id", "secret_access_key is not set"))
        }
        (None, Some(_)) => {
            return Err(options.invalid("secret_access_key", "access_key_id is not set"))
        }
        (None, None) => None,
    };
    let env_keys = match (
        env_nonempty("AWS_ACCESS_KEY_ID"),
        env_nonempty("AWS_SECRET_ACCESS_KEY"),
    ) {
        (Some(id), Some(secret)) => Some(Keys {
            access_key_id: id,
            secret_access_key: secret,
            session_token: env_nonempty("AWS_SESSION_TOKEN"),
        }),
        _ => None,
    };
    let profile_source = |file: PathBuf| CredentialSource::Profile {
        name: profile_name.clone(),
        file,
    };
    let (keys, credentials) = if let Some(keys) = option_keys {
        (Some(keys), CredentialSource::Options)
    } else if let (Some(_), Some((keys, file))) = (&explicit_profile, profile.keys.clone()) {
        (Some(keys), profile_source(file))
    } else if let Some(keys) = env_keys {
        (Some(keys), CredentialSource::Environment)
    } else if let Some((keys, file)) = profile.keys.clone() {
        (Some(keys), profile_source(file))
    } else if options.bool("allow_anonymous_login")?.unwrap_or(false) {
        (None, CredentialSource::Anonymous)
    } else {
        let metadata_disabled = env_nonempty("AWS_EC2_METADATA_DISABLED")
            .is_some_and(|value| value.eq_ignore_ascii_case("true"));
        let other_sources = env_nonempty("AWS_WEB_IDENTITY_TOKEN_FILE").is_some()
            || env_nonempty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
            || env_nonempty("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some();
        if metadata_disabled && !other_sources {
            return Err(OpenError::NoCredentials {
                remote: remote.name.clone(),
                hint: "set access_key_id and secret_access_key with `dvc remote modify --local`, \
                       AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials"
                    .to_owned(),
            });
        }
        (None, CredentialSource::Chain)
    };
    if let Some(keys) = &keys {
        redact::register(&keys.secret_access_key);
        if let Some(token) = &keys.session_token {
            redact::register(token);
        }
    }

    let region = options
        .get("region")
        .map(str::to_owned)
        .or_else(|| env_nonempty("AWS_REGION"))
        .or_else(|| env_nonempty("AWS_DEFAULT_REGION"))
        .or(profile.region)
        .unwrap_or_else(|| DEFAULT_REGION.to_owned());

    let use_ssl = options.bool("use_ssl")?.unwrap_or(true);
    let endpoint = options
        .get("endpointurl")
        .map(str::to_owned)
        .or_else(|| env_nonempty("AWS_ENDPOINT_URL_S3"))
        .or_else(|| env_nonempty("AWS_ENDPOINT_URL"))
        .map(|endpoint| {
            if endpoint.contains("://") {
                endpoint
            } else if use_ssl {
                format!("https://{endpoint}")
            } else {
                format!("http://{endpoint}")
            }
        });
    let allow_http = endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("http://"))
        || !use_ssl;

    let (verify_certificates, ca_file) = match options.get("ssl_verify") {
        None => (true, None),
        Some(_) => match options.bool("ssl_verify") {
            Ok(Some(verify)) => (verify, None),
            _ => (true, options.path("ssl_verify")),
        },
    };

    let sse = options.get("sse").map(str::to_owned);
    let sse_kms_key_id = options.get("sse_kms_key_id").map(str::to_owned);
    let sse_customer_key = options.get("sse_customer_key").map(redact::Secret::new);
    if let Some(algorithm) = options.get("sse_customer_algorithm") {
        if algorithm != "AES256" {
            return Err(options.invalid("sse_customer_algorithm", "only AES256 is supported"));
        }
    }

    let mut headers = BTreeMap::new();
    if let Some(acl) = options.get("acl") {
        headers.insert("x-amz-acl".to_owned(), acl.to_owned());
    }
    for (option, header) in GRANT_OPTIONS {
        if let Some(value) = options.get(option) {
            if options.get("acl").is_some() {
                return Err(options.invalid(option, "acl and grant options exclude each other"));
            }
            headers.insert(header.to_owned(), value.to_owned());
        }
    }

    Ok(S3Settings {
        bucket,
        root,
        region,
        endpoint,
        allow_http,
        keys,
        credentials,
        verify_certificates,
        ca_file,
        sse,
        sse_kms_key_id,
        sse_customer_key,
        headers,
        read_timeout: options.read_timeout(&["read_timeout"])?,
        connect_timeout: options.connect_timeout()?,
    })
}

/// Builds the store for `settings`.
pub(crate) fn build(
    remote: &RemoteConfig,
    settings: &S3Settings,
) -> Result<CloudConfig, OpenError> {
    let client_error = |error: &dyn std::error::Error| OpenError::client(remote, error);

    let mut client = cloud::client_options(settings.read_timeout, settings.connect_timeout)
        .with_allow_http(settings.allow_http)
        .with_allow_invalid_certificates(!settings.verify_certificates);
    if let Some(path) = &settings.ca_file {
        let pem = std::fs::read(path).map_err(|source| OpenError::ReadFile {
            remote: remote.name.clone(),
            path: path.clone(),
            source,
        })?;
        let certificate = Certificate::from_pem(&pem).map_err(|e| client_error(&e))?;
        client = client.with_root_certificate(certificate);
    }
    if !settings.headers.is_empty() {
        let mut headers = object_store::HeaderMap::new();
        for (name, value) in &settings.headers {
            let name = http_header_name(name)
                .map_err(|reason| OpenError::client_message(remote, &reason))?;
            let value = object_store::HeaderValue::from_str(value).map_err(|_| {
                OpenError::client_message(
                    remote,
                    "an acl or grant value is not a valid header value",
                )
            })?;
            headers.insert(name, value);
        }
        client = client.with_default_headers(headers);
    }

    let mut builder = match settings.credentials {
        // Lets object_store read web identity and container settings from the environment.
        CredentialSource::Chain => AmazonS3Builder::from_env(),
        _ => AmazonS3Builder::new(),
    }
    .with_bucket_name(&settings.bucket)
    .with_region(&settings.region)
    .with_client_options(client)
    .with_retry(cloud::retry_config());
    if let Some(endpoint) = &settings.endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(false);
    }
    if let Some(keys) = &settings.keys {
        builder = builder
            .with_access_key_id(&keys.access_key_id)
            .with_secret_access_key(&keys.secret_access_key);
        if let Some(token) = &keys.session_token {
            builder = builder.with_token(token);
        }
    }
    if settings.credentials == CredentialSource::Anonymous {
        builder = builder.with_skip_signature(true);
    }
    let encryption_key = |name: &str| -> Result<AmazonS3ConfigKey, OpenError> {
        name.parse().map_err(|e| client_error(&e))
    };
    if let Some(sse) = &settings.sse {
        builder = builder.with_config(encryption_key("aws_server_side_encryption")?, sse);
    }
    if let Some(key_id) = &settings.sse_kms_key_id {
        builder = builder.with_config(encryption_key("aws_sse_kms_key_id")?, key_id);
    }
    if let Some(key) = &settings.sse_customer_key {
        builder = builder.with_ssec_encryption(key.expose());
    }
    let store = builder.build().map_err(|e| client_error(&e))?;

    tracing::debug!(
        bucket = %settings.bucket,
        region = %settings.region,
        endpoint = settings.endpoint.as_deref().unwrap_or("aws"),
        credentials = ?settings.credentials,
        "opened s3 storage"
    );
    let encrypted_with_key = settings.sse_customer_key.is_some()
        || settings
            .sse
            .as_deref()
            .is_some_and(|sse| sse.starts_with("aws:kms"));
    Ok(CloudConfig {
        store: Arc::new(store) as Arc<dyn ObjectStore>,
        root: settings.root.clone(),
        location: remote.redacted_url(),
        publish: Publish::Direct,
        multipart: true,
        etag_is_md5: !encrypted_with_key,
        inactivity: settings.read_timeout,
    })
}

fn http_header_name(name: &str) -> Result<reqwest::header::HeaderName, String> {
    reqwest::header::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("invalid header name {name}"))
}

/// Keys and region of one profile of the AWS CLI's shared files.
#[derive(Debug, Default)]
struct SharedProfile {
    keys: Option<(Keys, PathBuf)>,
    region: Option<String>,
}

impl SharedProfile {
    /// Reads profile `name` from the credentials file (section `[name]`) and the config
    /// file (section `[profile name]`, or `[default]`). Missing files count as empty.
    fn load(
        name: &str,
        credentials: Option<&Path>,
        config: Option<&Path>,
    ) -> Result<SharedProfile, (PathBuf, std::io::Error)> {
        let mut profile = SharedProfile::default();
        let config_section = if name == "default" {
            "default".to_owned()
        } else {
            format!("profile {name}")
        };
        let sources = [(credentials, name.to_owned()), (config, config_section)];
        for (path, section) in sources {
            let Some(path) = path else { continue };
            let text = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err((path.to_path_buf(), e)),
            };
            let values = ini_section(&text, &section);
            if profile.keys.is_none() {
                if let (Some(id), Some(secret)) = (
                    values.get("aws_access_key_id"),
                    values.get("aws_secret_access_key"),
                ) {
                    profile.keys = Some((
                        Keys {
                            access_key_id: id.clone(),
                            secret_access_key: secret.clone(),
                            session_token: values.get("aws_session_token").cloned(),
                        },
                        path.to_path_buf(),
                    ));
                }
            }
            if profile.region.is_none() {
                profile.region = values.get("region").cloned();
            }
        }
        Ok(profile)
    }
}

/// Returns the `key = value` pairs of `[section]` in an INI text, keys lower-cased.
fn ini_section(text: &str, section: &str) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == section;
            continue;
        }
        if inside {
            if let Some((key, value)) = line.split_once('=') {
                values.insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
    }
    values
}

#[cfg(test)]
mod tests;
