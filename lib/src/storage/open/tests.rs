//! Mapping of DVC remote options to the settings of each network backend.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;

use super::super::{azure, gcs, http, sftp, webdav};
use super::*;
use crate::redact::{Secret, REDACTED};

fn remote(url: &str, options: &[(&str, &str)]) -> RemoteConfig {
    RemoteConfig {
        name: "store".into(),
        url: url.into(),
        options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        defined_in: PathBuf::from("/p/.dvc/config"),
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn open_error(remote: &RemoteConfig) -> OpenError {
    match open(remote) {
        Ok(_) => panic!("{} opened", remote.url),
        Err(error) => error,
    }
}

#[test]
fn unknown_scheme_is_rejected() {
    let error = open_error(&remote("hdfs://namenode/path", &[]));
    assert_eq!(
        error.to_string(),
        "storage \"store\" at hdfs://namenode/path uses an unsupported scheme; supported are paths, \
         file://, s3://, azure://, gs://, http(s)://, webdav(s):// and ssh://"
    );
}

#[test]
fn local_paths_open_local_storage() {
    let storage = open(&remote("../storage", &[])).expect("local");
    assert_eq!(storage.describe(), "/p/storage");
}

#[test]
fn azure_connection_string_maps_to_endpoint_and_key() {
    let connection =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5LXZhbHVl;\
                      BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1/;";
    let remote = remote(
        "azure://container/some/dir",
        &[("connection_string", connection), ("timeout", "12")],
    );

    let settings = azure::settings(&remote, &no_env).expect("settings");

    assert_eq!(settings.container, "container");
    assert_eq!(settings.root, "some/dir");
    assert_eq!(settings.account.as_deref(), Some("devstoreaccount1"));
    assert_eq!(
        settings.account_key.as_ref().map(|k| k.expose()),
        Some("a2V5LXZhbHVl")
    );
    assert!(!format!("{settings:?}").contains("a2V5LXZhbHVl"));
    assert_eq!(
        settings.endpoint.as_deref(),
        Some("http://127.0.0.1:10000/devstoreaccount1")
    );
    assert!(!settings.emulator);
    assert_eq!(settings.read_timeout, Duration::from_secs(12));
    let config = azure::build(&remote, &settings).expect("build");
    assert_eq!(config.location, "azure://container/some/dir");
    assert!(!config.etag_is_md5);
}

#[test]
fn azure_account_options_and_environment() {
    let with_sas = azure::settings(
        &remote(
            "azure://c",
            &[("account_name", "acct"), ("sas_token", "?sv=2021&sig=abc")],
        ),
        &no_env,
    )
    .expect("settings");
    assert_eq!(with_sas.account.as_deref(), Some("acct"));
    assert_eq!(
        with_sas.sas_token.as_ref().map(|t| t.expose()),
        Some("sv=2021&sig=abc")
    );
    assert_eq!(with_sas.endpoint, None);

    let env = |name: &str| match name {
        "AZURE_STORAGE_CONNECTION_STRING" => {
            Some("AccountName=envacct;AccountKey=ZW52;EndpointSuffix=core.example".to_owned())
        }
        _ => None,
    };
    let from_env = azure::settings(&remote("azure://c", &[]), &env).expect("settings");
    assert_eq!(from_env.account.as_deref(), Some("envacct"));
    assert_eq!(
        from_env.endpoint.as_deref(),
        Some("https://envacct.blob.core.example")
    );

    let error = azure::settings(&remote("azure://c", &[]), &no_env).expect_err("no account");
    assert!(
        error
            .to_string()
            .starts_with("no credentials found for storage \"store\"; set account_name"),
        "{error}"
    );
}

#[test]
fn gcs_options_map_to_settings() {
    let settings = gcs::settings(
        &remote(
            "gs://bucket/path/",
            &[
                ("credentialpath", "../keys/sa.json"),
                ("projectname", "proj"),
            ],
        ),
        &no_env,
    )
    .expect("settings");
    assert_eq!(settings.bucket, "bucket");
    assert_eq!(settings.root, "path");
    assert_eq!(
        settings.credentials_file,
        Some(PathBuf::from("/p/keys/sa.json"))
    );
    assert_eq!(settings.project.as_deref(), Some("proj"));
    assert!(!settings.anonymous);

    let env =
        |name: &str| (name == "GOOGLE_APPLICATION_CREDENTIALS").then(|| "/etc/gcp.json".to_owned());
    let from_env = gcs::settings(&remote("gs://b", &[]), &env).expect("settings");
    assert_eq!(
        from_env.credentials_file,
        Some(PathBuf::from("/etc/gcp.json"))
    );

    let anonymous = remote("gs://b/p", &[("allow_anonymous_login", "true")]);
    let settings = gcs::settings(&anonymous, &no_env).expect("settings");
    let config = gcs::build(&anonymous, &settings).expect("build");
    assert_eq!(config.root, "p");

    let error = gcs::settings(
        &remote("gs://b", &[("endpointurl", "http://127.0.0.1:1")]),
        &no_env,
    )
    .expect_err("endpoint");
    assert_eq!(
        error.to_string(),
        "option endpointurl of storage \"store\" is not supported: the Google Cloud Storage client of this tool always talks to Google's endpoint"
    );
}

#[test]
fn webdav_authentication_follows_dvc() {
    let basic = webdav::settings(&remote(
        "webdavs://alice@dav.example:8443/remote.php/dav/",
        &[("password", "pw-1234")],
    ))
    .expect("settings");
    assert_eq!(basic.origin, "https://dav.example:8443");
    assert_eq!(basic.root, "remote.php/dav");
    assert_eq!(
        basic.auth,
        Some(("authorization".into(), "Basic YWxpY2U6cHctMTIzNA==".into()))
    );
    assert!(!format!("{basic:?}").contains("YWxpY2U6cHctMTIzNA=="));

    let token = webdav::settings(&remote(
        "webdav://dav.example/x",
        &[("token", "tok-5678"), ("user", "u"), ("password", "p")],
    ))
    .expect("settings");
    assert_eq!(token.origin, "http://dav.example");
    assert_eq!(
        token.auth,
        Some(("authorization".into(), "Bearer tok-5678".into()))
    );

    let custom = webdav::settings(&remote(
        "webdav://dav.example/x",
        &[("custom_auth_header", "X-Token"), ("password", "p-9999")],
    ))
    .expect("settings");
    assert_eq!(custom.auth, Some(("X-Token".into(), "p-9999".into())));
    assert_eq!(custom.read_timeout, Duration::from_secs(60));

    let timeouts = webdav::settings(&remote(
        "webdav://h/x",
        &[("timeout", "5"), ("ssl_verify", "false")],
    ))
    .expect("settings");
    assert_eq!(timeouts.read_timeout, Duration::from_secs(5));
    assert!(!timeouts.verify_certificates);
    assert_eq!(timeouts.auth, None);
}

#[test]
fn http_method_and_authentication() {
    let default = http::settings(&remote("https://h.example/dvc/", &[])).expect("settings");
    assert_eq!(default.base, "https://h.example/dvc");
    assert_eq!(default.method, Method::POST);
    assert_eq!(default.auth, None);

    let put = http::settings(&remote(
        "http://h/dvc",
        &[
            ("method", "put"),
            ("auth", "basic"),
            ("user", "bob"),
            ("password", "secret-pw"),
        ],
    ))
    .expect("settings");
    assert_eq!(put.method, Method::PUT);
    assert_eq!(
        put.auth,
        Some(("authorization".into(), "Basic Ym9iOnNlY3JldC1wdw==".into()))
    );

    let custom = http::settings(&remote(
        "http://h/dvc",
        &[
            ("auth", "custom"),
            ("custom_auth_header", "X-Api-Key"),
            ("password", "k-1"),
        ],
    ))
    .expect("settings");
    assert_eq!(custom.auth, Some(("X-Api-Key".into(), "k-1".into())));

    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("method", "PATCH")], "invalid option method = \"PATCH\" of storage \"store\": expected POST or PUT"),
        (&[("auth", "basic"), ("user", "bob")], "invalid option auth = \"basic\" of storage \"store\": basic authentication needs user and password"),
        (&[("auth", "digest"), ("user", "bob"), ("password", "x")], "option auth of storage \"store\" is not supported: digest authentication is not supported, as in DVC's HTTP remote; use basic or custom"),
        (&[("auth", "ntlm")], "invalid option auth = \"ntlm\" of storage \"store\": expected basic, digest or custom"),
    ];
    for (options, message) in cases {
        let error = http::settings(&remote("http://h/dvc", options)).expect_err(message);
        assert_eq!(error.to_string(), message);
    }
}

#[test]
fn ssh_url_and_options() {
    let settings = sftp::settings(&remote(
        "ssh://alice@host.example:2222/srv/dvc/",
        &[("keyfile", "~/../keys/id")],
    ))
    .expect("settings");
    assert_eq!(settings.host, "host.example");
    assert_eq!(settings.user.as_deref(), Some("alice"));
    assert_eq!(settings.port, Some(2222));
    assert_eq!(settings.root, "/srv/dvc");

    let overridden = sftp::settings(&remote(
        "ssh://alice@host.example:2222/srv",
        &[("user", "bob"), ("port", "2200"), ("timeout", "4")],
    ))
    .expect("settings");
    assert_eq!(overridden.user.as_deref(), Some("bob"));
    assert_eq!(overridden.port, Some(2200));
    assert_eq!(overridden.connect_timeout, Duration::from_secs(4));

    let alias = sftp::settings(&remote("ssh://backup/data", &[])).expect("settings");
    assert_eq!(alias.host, "backup");
    assert_eq!((alias.user, alias.port), (None, None));

    let with_password =
        sftp::settings(&remote("ssh://h/data", &[("password", "pw")])).expect("password");
    assert_eq!(
        with_password.password.as_ref().map(Secret::expose),
        Some("pw")
    );
    assert_eq!(with_password.passphrase, None);
    assert!(format!("{with_password:?}").contains(&format!("password: Some({REDACTED})")));
    assert!(!format!("{with_password:?}").contains("\"pw\""));

    let from_url = sftp::settings(&remote(
        "ssh://carol:url-secret@h/data",
        &[("passphrase", "key words")],
    ))
    .expect("url password");
    assert_eq!(from_url.user.as_deref(), Some("carol"));
    assert_eq!(
        from_url.password.as_ref().map(Secret::expose),
        Some("url-secret")
    );
    assert_eq!(
        from_url.passphrase.as_ref().map(Secret::expose),
        Some("key words")
    );

    let error = sftp::settings(&remote("ssh://h", &[])).expect_err("no path");
    assert_eq!(
        error.to_string(),
        "invalid url ssh://h of storage \"store\": the path on the server is missing"
    );
}
