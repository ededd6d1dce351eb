//! WebDAV storages (`webdav://` over HTTP, `webdavs://` over HTTPS) through object_store's
//! HTTP store, which creates missing parent collections with MKCOL.
//!
//! Authentication follows DVC. `token` sends `Authorization: Bearer` and takes priority.
//! Next, `custom_auth_header` sends that header with `password` as its value. Otherwise
//! `user` and `password` (from the options or the URL) send HTTP Basic. `cert_path` and `key_path`
//! name a PEM client certificate and key.
//!
//! Uploads go to a temporary name in the object's collection and are copied into place
//! with `COPY` and `Overwrite: F`, because a server may keep a partial file when an upload
//! breaks off. The temporary object is deleted afterwards.
//!
//! NOTE: object_store's HTTP store has no streaming upload, so each object is held in
//! memory while it is sent.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use object_store::client::{HttpClient, HttpConnector};
use object_store::http::HttpBuilder;
use object_store::{ClientOptions, ObjectStore};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};

use super::cloud::{self, CloudConfig, Publish};
use super::options::Options;
use super::OpenError;
use crate::config::RemoteConfig;
use crate::redact;

/// Everything the WebDAV client is built from.
#[derive(Clone, PartialEq)]
pub(crate) struct WebDavSettings {
    /// `http(s)://host[:port]`, without credentials or path.
    pub origin: String,
    /// The collection path below the origin, without slashes at the ends.
    pub root: String,
    /// The authentication header, if any; its value is registered for redaction.
    pub auth: Option<(String, String)>,
    pub verify_certificates: bool,
    pub ca_file: Option<PathBuf>,
    pub client_certificate: Option<(PathBuf, Option<PathBuf>)>,
    pub read_timeout: Duration,
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for WebDavSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebDavSettings")
            .field("origin", &self.origin)
            .field("root", &self.root)
            .field(
                "auth",
                &self.auth.as_ref().map(|(name, _)| (name, redact::REDACTED)),
            )
            .field("verify_certificates", &self.verify_certificates)
            .field("ca_file", &self.ca_file)
            .field("client_certificate", &self.client_certificate)
            .field("read_timeout", &self.read_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// Splits a URL into the scheme, the userinfo, the host with port, and the path.
pub(crate) fn split_url(url: &str) -> Option<(&str, Option<&str>, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((userinfo, host)) => (Some(userinfo), host),
        None => (None, authority),
    };
    if host.is_empty() {
        return None;
    }
    Some((scheme, userinfo, host, path))
}

/// Derives the client settings from `remote`.
pub(crate) fn settings(remote: &RemoteConfig) -> Result<WebDavSettings, OpenError> {
    let options = Options::new(remote);
    let (scheme, userinfo, host, path) = split_url(&remote.url)
        .ok_or_else(|| super::s3::invalid_url(remote, "expected webdav://HOST[:PORT]/PATH"))?;
    let http_scheme = if scheme.eq_ignore_ascii_case("webdavs") {
        "https"
    } else {
        "http"
    };

    let (url_user, url_password) = match userinfo {
        Some(userinfo) => match userinfo.split_once(':') {
            Some((user, password)) => (Some(user.to_owned()), Some(password.to_owned())),
            None => (Some(userinfo.to_owned()), None),
        },
        None => (None, None),
    };
    let user = options.get("user").map(str::to_owned).or(url_user);
    let password = options.get("password").map(str::to_owned).or(url_password);

    let auth = if let Some(token) = options.get("token") {
        Some((AUTHORIZATION.as_str().to_owned(), format!("Bearer {token}")))
    } else if let Some(header) = options.get("custom_auth_header") {
        let Some(password) = &password else {
            return Err(options.invalid(
                "custom_auth_header",
                "password holds the header's value and is not set",
            ));
        };
        Some((header.to_owned(), password.clone()))
    } else if let Some(user) = &user {
        let password = match password {
            Some(password) => password,
            None if options.bool("ask_password")?.unwrap_or(false) => {
                super::prompt::ask_password(remote, user)?
            }
            None => String::new(),
        };
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Some((
            AUTHORIZATION.as_str().to_owned(),
            format!("Basic {encoded}"),
        ))
    } else {
        None
    };
    if let Some((_, value)) = &auth {
        redact::register(value);
        if let Some(encoded) = value.strip_prefix("Basic ") {
            redact::register(encoded);
        }
    }

    let (verify_certificates, ca_file) = super::http::ssl_verify(&options)?;
    let client_certificate = options
        .path("cert_path")
        .map(|cert| (cert, options.path("key_path")));

    Ok(WebDavSettings {
        origin: format!("{http_scheme}://{host}"),
        root: path.trim_matches('/').to_owned(),
        auth,
        verify_certificates,
        ca_file,
        client_certificate,
        read_timeout: options.read_timeout(&["timeout", "read_timeout"])?,
        connect_timeout: options.connect_timeout()?,
    })
}

/// Builds the store for `settings`.
pub(crate) fn build(
    remote: &RemoteConfig,
    settings: &WebDavSettings,
) -> Result<CloudConfig, OpenError> {
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

    let mut builder = HttpBuilder::new()
        .with_url(&settings.origin)
        .with_retry(cloud::retry_config());
    match &settings.client_certificate {
        Some((cert, key)) => {
            let mut pem = read_file(remote, cert)?;
            if let Some(key) = key {
                pem.extend_from_slice(b"\n");
                pem.extend(read_file(remote, key)?);
            }
            let ca = match &settings.ca_file {
                Some(path) => Some(read_file(remote, path)?),
                None => None,
            };
            builder = builder.with_http_connector(IdentityConnector {
                pem,
                ca,
                headers,
                verify_certificates: settings.verify_certificates,
                read_timeout: settings.read_timeout,
                connect_timeout: settings.connect_timeout,
            });
        }
        None => {
            let mut client = cloud::client_options(settings.read_timeout, settings.connect_timeout)
                .with_allow_http(settings.origin.starts_with("http://"))
                .with_allow_invalid_certificates(!settings.verify_certificates)
                .with_default_headers(headers);
            if let Some(path) = &settings.ca_file {
                let pem = read_file(remote, path)?;
                let certificate = object_store::Certificate::from_pem(&pem)
                    .map_err(|e| OpenError::client(remote, &e))?;
                client = client.with_root_certificate(certificate);
            }
            builder = builder.with_client_options(client);
        }
    }
    let store = builder.build().map_err(|e| OpenError::client(remote, &e))?;

    tracing::debug!(origin = %settings.origin, root = %settings.root, "opened webdav storage");
    Ok(CloudConfig {
        store: Arc::new(store) as Arc<dyn ObjectStore>,
        root: settings.root.clone(),
        location: remote.redacted_url(),
        publish: Publish::TempThenCopy,
        multipart: false,
        etag_is_md5: false,
        inactivity: settings.read_timeout,
    })
}

fn read_file(remote: &RemoteConfig, path: &PathBuf) -> Result<Vec<u8>, OpenError> {
    std::fs::read(path).map_err(|source| OpenError::ReadFile {
        remote: remote.name.clone(),
        path: path.clone(),
        source,
    })
}

/// Builds the HTTP client with a client certificate, which object_store's own client
/// options cannot carry.
#[derive(Debug)]
struct IdentityConnector {
    pem: Vec<u8>,
    ca: Option<Vec<u8>>,
    headers: HeaderMap,
    verify_certificates: bool,
    read_timeout: Duration,
    connect_timeout: Duration,
}

impl HttpConnector for IdentityConnector {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        let generic = |source: reqwest::Error| object_store::Error::Generic {
            store: "HTTP",
            source: Box::new(source),
        };
        let identity = reqwest::Identity::from_pem(&self.pem).map_err(generic)?;
        let mut builder = reqwest::Client::builder()
            .identity(identity)
            .default_headers(self.headers.clone())
            .read_timeout(self.read_timeout)
            .connect_timeout(self.connect_timeout)
            .tls_danger_accept_invalid_certs(!self.verify_certificates);
        if let Some(ca) = &self.ca {
            builder =
                builder.add_root_certificate(reqwest::Certificate::from_pem(ca).map_err(generic)?);
        }
        Ok(HttpClient::new(builder.build().map_err(generic)?))
    }
}
