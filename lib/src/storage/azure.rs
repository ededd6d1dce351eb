//! Azure Blob storages (`azure://container/path`), configured with DVC's option names.
//!
//! Credentials come from `connection_string`, else `account_name` with `account_key` or
//! `sas_token`, else the matching `AZURE_STORAGE_*` variables, else a service principal
//! (`tenant_id`, `client_id`, `client_secret`), else object_store's own chain.
//! A connection string's `BlobEndpoint` selects another endpoint, such as the Azurite
//! emulator, and `UseDevelopmentStorage=true` selects Azurite's default address.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::ObjectStore;

use super::cloud::{self, CloudConfig, Publish};
use super::options::Options;
use super::s3::split_bucket_url;
use super::OpenError;
use crate::config::RemoteConfig;
use crate::redact;

/// Everything the Azure client is built from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AzureSettings {
    pub container: String,
    pub root: String,
    pub account: Option<String>,
    /// Shared key.
    pub account_key: Option<redact::Secret>,
    /// SAS token without a leading `?`.
    pub sas_token: Option<redact::Secret>,
    pub endpoint: Option<String>,
    pub emulator: bool,
    pub anonymous: bool,
    /// Tenant id, client id and client secret.
    pub service_principal: Option<(String, String, redact::Secret)>,
    pub read_timeout: Duration,
    pub connect_timeout: Duration,
}

/// Parses an Azure Storage connection string (`Key=Value;Key=Value`) into its fields.
pub(crate) fn parse_connection_string(text: &str) -> BTreeMap<String, String> {
    text.split(';')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect()
}

/// Derives the client settings from `remote` and the environment `env`.
pub(crate) fn settings(
    remote: &RemoteConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AzureSettings, OpenError> {
    let options = Options::new(remote);
    let (container, root) = split_bucket_url(remote, "azure")?;
    let env_nonempty = |name: &str| env(name).filter(|value| !value.trim().is_empty());

    let connection_string = options
        .get("connection_string")
        .map(str::to_owned)
        .or_else(|| env_nonempty("AZURE_STORAGE_CONNECTION_STRING"));
    let fields = connection_string
        .as_deref()
        .map(parse_connection_string)
        .unwrap_or_default();
    for secret in ["accountkey", "sharedaccesssignature"] {
        if let Some(value) = fields.get(secret) {
            redact::register(value);
        }
    }
    let emulator = fields
        .get("usedevelopmentstorage")
        .is_some_and(|value| value.eq_ignore_ascii_case("true"));

    let account = fields
        .get("accountname")
        .cloned()
        .or_else(|| options.get("account_name").map(str::to_owned))
        .or_else(|| env_nonempty("AZURE_STORAGE_ACCOUNT"));
    let account_key = fields
        .get("accountkey")
        .cloned()
        .or_else(|| options.get("account_key").map(str::to_owned))
        .or_else(|| env_nonempty("AZURE_STORAGE_KEY"))
        .map(redact::Secret::new);
    let sas_token = fields
        .get("sharedaccesssignature")
        .cloned()
        .or_else(|| options.get("sas_token").map(str::to_owned))
        .or_else(|| env_nonempty("AZURE_STORAGE_SAS_TOKEN"))
        .map(|token| redact::Secret::new(token.trim_start_matches('?')));

    let endpoint = match (fields.get("blobendpoint"), &account) {
        (Some(endpoint), _) => Some(endpoint.trim_end_matches('/').to_owned()),
        (None, Some(account)) => {
            let protocol = fields
                .get("defaultendpointsprotocol")
                .map_or("https", String::as_str);
            fields
                .get("endpointsuffix")
                .map(|suffix| format!("{protocol}://{account}.blob.{suffix}"))
        }
        (None, None) => None,
    };

    let service_principal = match (
        options.get("tenant_id"),
        options.get("client_id"),
        options.get("client_secret"),
    ) {
        (Some(tenant), Some(client), Some(secret)) => Some((
            tenant.to_owned(),
            client.to_owned(),
            redact::Secret::new(secret),
        )),
        _ => None,
    };

    if account.is_none() && !emulator {
        return Err(OpenError::NoCredentials {
            remote: remote.name.clone(),
            hint: "set account_name (with account_key or sas_token) or connection_string with \
                   `dvc remote modify --local`, or AZURE_STORAGE_CONNECTION_STRING"
                .to_owned(),
        });
    }

    Ok(AzureSettings {
        container,
        root,
        account,
        account_key,
        sas_token,
        endpoint,
        emulator,
        anonymous: options.bool("allow_anonymous_login")?.unwrap_or(false),
        service_principal,
        read_timeout: options.read_timeout(&["read_timeout", "timeout"])?,
        connect_timeout: options
            .seconds("connection_timeout")?
            .map_or_else(|| options.connect_timeout(), Ok)?,
    })
}

/// Builds the store for `settings`.
pub(crate) fn build(
    remote: &RemoteConfig,
    settings: &AzureSettings,
) -> Result<CloudConfig, OpenError> {
    let allow_http = settings.emulator
        || settings
            .endpoint
            .as_deref()
            .is_some_and(|endpoint| endpoint.starts_with("http://"));
    let client = cloud::client_options(settings.read_timeout, settings.connect_timeout)
        .with_allow_http(allow_http);

    let mut builder = MicrosoftAzureBuilder::new()
        .with_container_name(&settings.container)
        .with_client_options(client)
        .with_retry(cloud::retry_config())
        .with_use_emulator(settings.emulator);
    if let Some(account) = &settings.account {
        builder = builder.with_account(account);
    }
    if let Some(endpoint) = &settings.endpoint {
        builder = builder
            .with_endpoint(endpoint.clone())
            .with_allow_http(allow_http);
    }
    if let Some(key) = &settings.account_key {
        builder = builder.with_access_key(key.expose());
    } else if let Some(sas) = &settings.sas_token {
        builder = builder.with_config(AzureConfigKey::SasKey, sas.expose());
    } else if let Some((tenant, client, secret)) = &settings.service_principal {
        builder = builder
            .with_tenant_id(tenant)
            .with_client_id(client)
            .with_client_secret(secret.expose());
    } else if settings.anonymous {
        builder = builder.with_config(AzureConfigKey::SkipSignature, "true");
    }
    let store = builder.build().map_err(|e| OpenError::client(remote, &e))?;

    tracing::debug!(
        container = %settings.container,
        endpoint = settings.endpoint.as_deref().unwrap_or("azure"),
        "opened azure storage"
    );
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
