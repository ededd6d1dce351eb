//! The options DVC accepts in a remote section, per storage type. DVC refuses to load a
//! config whose remote section has any other key ("extra keys not allowed"), so nothing
//! outside these lists may be written.

/// Options every remote accepts.
const COMMON: &[&str] = &[
    "url",
    "jobs",
    "checksum_jobs",
    "verify",
    "version_aware",
    "worktree",
];

const LOCAL: &[&str] = &["type", "shared", "slow_link_warning"];

const S3: &[&str] = &[
    "region",
    "profile",
    "credentialpath",
    "configpath",
    "endpointurl",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "use_ssl",
    "ssl_verify",
    "allow_anonymous_login",
    "sse",
    "sse_kms_key_id",
    "sse_customer_key",
    "sse_customer_algorithm",
    "acl",
    "grant_read",
    "grant_read_acp",
    "grant_write_acp",
    "grant_full_control",
    "read_timeout",
    "connect_timeout",
    "cache_regions",
];

const HTTP: &[&str] = &[
    "auth",
    "user",
    "password",
    "ask_password",
    "custom_auth_header",
    "method",
    "ssl_verify",
    "connect_timeout",
    "read_timeout",
];

const WEBDAV: &[&str] = &[
    "user",
    "password",
    "ask_password",
    "token",
    "custom_auth_header",
    "cert_path",
    "key_path",
    "timeout",
    "ssl_verify",
];

const SSH: &[&str] = &[
    "port",
    "user",
    "password",
    "ask_password",
    "passphrase",
    "ask_passphrase",
    "keyfile",
    "timeout",
    "gss_auth",
    "allow_agent",
    "max_sessions",
    "type",
];

const GS: &[&str] = &[
    "projectname",
    "credentialpath",
    "endpointurl",
    "allow_anonymous_login",
];

const AZURE: &[&str] = &[
    "connection_string",
    "sas_token",
    "account_name",
    "account_key",
    "tenant_id",
    "client_id",
    "client_secret",
    "allow_anonymous_login",
    "exclude_environment_credential",
    "exclude_visual_studio_code_credential",
    "exclude_shared_token_cache_credential",
    "exclude_managed_identity_credential",
    "exclude_interactive_browser_credential",
    "timeout",
    "read_timeout",
    "connection_timeout",
];

/// Options of storage types this list checks no further: Google Drive and HDFS.
const OTHER: &[&str] = &[
    "gdrive_use_service_account",
    "gdrive_client_id",
    "gdrive_client_secret",
    "gdrive_user_credentials_file",
    "gdrive_service_account_json_file_path",
    "gdrive_service_account_user_email",
    "gdrive_trash_only",
    "gdrive_acknowledge_abuse",
    "kerb_ticket",
    "hdfs_user",
    "replication",
    "block_size",
];

/// Returns true if and only if some storage type accepts `option`.
pub fn is_known_option(option: &str) -> bool {
    [COMMON, LOCAL, S3, HTTP, WEBDAV, SSH, GS, AZURE, OTHER]
        .iter()
        .any(|list| list.contains(&option))
}

/// Returns the storage type DVC derives from `url` and the options specific to it, or
/// `None` for types this list does not cover (HDFS, OSS, Google Drive and others).
pub fn type_options(url: &str) -> Option<(&'static str, &'static [&'static str])> {
    let scheme = match url.split_once("://") {
        Some((scheme, _)) => scheme.to_ascii_lowercase(),
        None => return Some(("local", LOCAL)),
    };
    Some(match scheme.as_str() {
        "file" => ("local", LOCAL),
        "s3" => ("s3", S3),
        "http" | "https" => ("http", HTTP),
        "webdav" | "webdavs" => ("webdav", WEBDAV),
        "ssh" => ("ssh", SSH),
        "gs" => ("gs", GS),
        "azure" => ("azure", AZURE),
        _ => return None,
    })
}

/// Checks that DVC accepts `option` in a remote whose URL is `url`.
///
/// Returns the storage type and its valid options on failure, for the message.
pub fn check_remote_option(
    url: &str,
    option: &str,
) -> Result<(), (&'static str, Vec<&'static str>)> {
    let Some((kind, specific)) = type_options(url) else {
        return Ok(());
    };
    if COMMON.contains(&option) || specific.contains(&option) {
        return Ok(());
    }
    let mut valid: Vec<&str> = COMMON.iter().chain(specific).copied().collect();
    valid.sort_unstable();
    valid.dedup();
    Err((kind, valid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_remotes_reject_passwords() {
        let (kind, valid) = check_remote_option("/srv/storage", "password").expect_err("rejected");
        assert_eq!(kind, "local");
        assert!(valid.contains(&"jobs"));
        assert!(!valid.contains(&"password"));
        assert!(check_remote_option("../storage", "type").is_ok());
    }

    #[test]
    fn each_scheme_has_its_options() {
        assert!(check_remote_option("ssh://u@h/p", "password").is_ok());
        assert!(check_remote_option("s3://b/p", "endpointurl").is_ok());
        assert!(check_remote_option("s3://b/p", "token").is_err());
        assert!(check_remote_option("webdavs://h/p", "token").is_ok());
        assert!(check_remote_option("https://h/p", "method").is_ok());
        assert!(check_remote_option("azure://c/p", "sas_token").is_ok());
        assert!(check_remote_option("gs://b/p", "projectname").is_ok());
        assert!(check_remote_option("hdfs://h/p", "anything").is_ok());
    }

    #[test]
    fn known_options_span_all_types() {
        assert!(is_known_option("jobs"));
        assert!(is_known_option("sas_token"));
        assert!(is_known_option("hdfs_user"));
        assert!(!is_known_option("colour"));
    }
}
