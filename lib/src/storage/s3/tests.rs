use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::config::RemoteConfig;

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

fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

fn keys(id: &str, secret: &str, token: Option<&str>) -> Option<Keys> {
    Some(Keys {
        access_key_id: id.into(),
        secret_access_key: secret.into(),
        session_token: token.map(str::to_owned),
    })
}

#[test]
fn options_map_to_settings() {
    let remote = remote(
        "s3://bucket/some/path/",
        &[
            ("endpointurl", "http://127.0.0.1:9000"),
            ("region", "eu-west-3"),
            ("access_key_id", "AKIA1"),
            ("secret_access_key", "s3cret-key"),
            ("session_token", "tok-123"),
            ("sse", "aws:kms"),
            ("sse_kms_key_id", "key-1"),
            ("acl", "bucket-owner-full-control"),
            ("read_timeout", "7.5"),
            ("connect_timeout", "3"),
            ("ssl_verify", "false"),
        ],
    );

    let settings = settings(&remote, &env_of(&[])).expect("settings");

    assert_eq!(settings.bucket, "bucket");
    assert_eq!(settings.root, "some/path");
    assert_eq!(settings.region, "eu-west-3");
    assert_eq!(settings.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    assert!(settings.allow_http);
    assert_eq!(settings.keys, keys("AKIA1", "s3cret-key", Some("tok-123")));
    assert_eq!(settings.credentials, CredentialSource::Options);
    assert!(!settings.verify_certificates);
    assert_eq!(settings.sse.as_deref(), Some("aws:kms"));
    assert_eq!(settings.sse_kms_key_id.as_deref(), Some("key-1"));
    assert_eq!(
        settings.headers,
        BTreeMap::from([(
            "x-amz-acl".to_owned(),
            "bucket-owner-full-control".to_owned()
        )])
    );
    assert_eq!(settings.read_timeout, Duration::from_millis(7500));
    assert_eq!(settings.connect_timeout, Duration::from_secs(3));
    assert!(!format!("{settings:?}").contains("s3cret-key"));
    assert!(!format!("{settings:?}").contains("tok-123"));
}

#[test]
fn endpoint_without_scheme_follows_use_ssl() {
    let https = settings(
        &remote("s3://b", &[("endpointurl", "minio.local:9000")]),
        &env_of(&[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")]),
    )
    .expect("settings");
    assert_eq!(https.endpoint.as_deref(), Some("https://minio.local:9000"));
    assert!(!https.allow_http);

    let http = settings(
        &remote(
            "s3://b",
            &[("endpointurl", "minio.local:9000"), ("use_ssl", "false")],
        ),
        &env_of(&[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")]),
    )
    .expect("settings");
    assert_eq!(http.endpoint.as_deref(), Some("http://minio.local:9000"));
    assert!(http.allow_http);
}

#[test]
fn environment_keys_come_after_options() {
    let env = env_of(&[
        ("AWS_ACCESS_KEY_ID", "env-id"),
        ("AWS_SECRET_ACCESS_KEY", "env-secret"),
        ("AWS_SESSION_TOKEN", "env-token"),
        ("AWS_DEFAULT_REGION", "ap-south-1"),
    ]);

    let from_env = settings(&remote("s3://b/p", &[]), &env).expect("settings");
    assert_eq!(
        from_env.keys,
        keys("env-id", "env-secret", Some("env-token"))
    );
    assert_eq!(from_env.credentials, CredentialSource::Environment);
    assert_eq!(from_env.region, "ap-south-1");

    let from_options = settings(
        &remote(
            "s3://b/p",
            &[
                ("access_key_id", "opt-id"),
                ("secret_access_key", "opt-secret"),
            ],
        ),
        &env,
    )
    .expect("settings");
    assert_eq!(from_options.keys, keys("opt-id", "opt-secret", None));
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn profiles_come_from_the_shared_files() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let credentials = write(
        dir.path(),
        "credentials",
        "[default]\naws_access_key_id = def-id\naws_secret_access_key = def-secret\n\n\
         [work]\n# a comment\naws_access_key_id = work-id\naws_secret_access_key = work-secret\naws_session_token = work-token\n",
    );
    let config = write(
        dir.path(),
        "config",
        "[default]\nregion = us-west-2\n[profile work]\nregion = eu-central-1\n",
    );
    let credentials_text = credentials.display().to_string();
    let config_text = config.display().to_string();

    // `profile` and `credentialpath` are DVC options; an explicit profile beats the environment.
    let named = settings(
        &remote(
            "s3://b",
            &[
                ("profile", "work"),
                ("credentialpath", &credentials_text),
                ("configpath", &config_text),
            ],
        ),
        &env_of(&[
            ("AWS_ACCESS_KEY_ID", "env-id"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
        ]),
    )
    .expect("settings");
    assert_eq!(
        named.keys,
        keys("work-id", "work-secret", Some("work-token"))
    );
    assert_eq!(named.region, "eu-central-1");
    assert_eq!(
        named.credentials,
        CredentialSource::Profile {
            name: "work".into(),
            file: credentials.clone()
        }
    );

    // Without options, AWS_PROFILE and the AWS_* file variables apply.
    let env = env_of(&[
        ("AWS_PROFILE", "default"),
        ("AWS_SHARED_CREDENTIALS_FILE", &credentials_text),
        ("AWS_CONFIG_FILE", &config_text),
    ]);
    let default = settings(&remote("s3://b", &[]), &env).expect("settings");
    assert_eq!(default.keys, keys("def-id", "def-secret", None));
    assert_eq!(default.region, "us-west-2");

    // The shared files under HOME are the last resort.
    std::fs::create_dir_all(dir.path().join(".aws")).expect("aws folder");
    std::fs::copy(&credentials, dir.path().join(".aws/credentials")).expect("copy");
    let home = dir.path().display().to_string();
    let from_home =
        settings(&remote("s3://b", &[]), &env_of(&[("HOME", &home)])).expect("settings");
    assert_eq!(from_home.keys, keys("def-id", "def-secret", None));
    assert_eq!(from_home.region, "us-east-1");

    let missing = settings(
        &remote(
            "s3://b",
            &[
                ("profile", "nope"),
                ("credentialpath", &credentials_text),
                ("configpath", &config_text),
            ],
        ),
        &env_of(&[]),
    )
    .expect_err("unknown profile");
    assert_eq!(
        missing.to_string(),
        "invalid option profile = \"nope\" of storage \"store\": no such profile in the AWS credentials or config file"
    );
}

#[test]
fn no_credentials_with_metadata_disabled_is_an_error() {
    let error = settings(
        &remote("s3://b", &[]),
        &env_of(&[("AWS_EC2_METADATA_DISABLED", "true")]),
    )
    .expect_err("no credentials");
    assert!(
        matches!(error, OpenError::NoCredentials { .. }),
        "{error:?}"
    );
    assert!(error
        .to_string()
        .starts_with("no credentials found for storage \"store\"; set access_key_id"));

    let anonymous = settings(
        &remote("s3://b", &[("allow_anonymous_login", "true")]),
        &env_of(&[("AWS_EC2_METADATA_DISABLED", "true")]),
    )
    .expect("anonymous");
    assert_eq!(anonymous.credentials, CredentialSource::Anonymous);
    assert_eq!(anonymous.keys, None);

    let chain = settings(&remote("s3://b", &[]), &env_of(&[])).expect("chain");
    assert_eq!(chain.credentials, CredentialSource::Chain);
}

#[test]
fn invalid_options_are_named() {
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("access_key_id", "a")], "invalid option access_key_id = \"a\" of storage \"store\": secret_access_key is not set"),
        (&[("secret_access_key", "hidden-value")], "invalid option secret_access_key = \"***\" of storage \"store\": access_key_id is not set"),
        (&[("use_ssl", "maybe"), ("access_key_id", "a"), ("secret_access_key", "b")], "invalid option use_ssl = \"maybe\" of storage \"store\": expected true or false"),
        (&[("read_timeout", "-1"), ("access_key_id", "a"), ("secret_access_key", "b")], "invalid option read_timeout = \"-1\" of storage \"store\": expected a positive number of seconds"),
        (&[("acl", "private"), ("grant_read", "id=1"), ("access_key_id", "a"), ("secret_access_key", "b")], "invalid option grant_read = \"id=1\" of storage \"store\": acl and grant options exclude each other"),
    ];
    for (options, message) in cases {
        let error = settings(&remote("s3://b", options), &env_of(&[])).expect_err(message);
        assert_eq!(error.to_string(), message);
    }
}

#[test]
fn url_needs_a_bucket() {
    let error = settings(&remote("s3://", &[]), &env_of(&[])).expect_err("no bucket");
    assert_eq!(
        error.to_string(),
        "invalid url s3:// of storage \"store\": the bucket name is missing or contains credentials"
    );
}

#[test]
fn build_accepts_settings_without_network() {
    let remote = remote(
        "s3://bucket/p",
        &[
            ("endpointurl", "http://127.0.0.1:1"),
            ("access_key_id", "a"),
            ("secret_access_key", "b"),
            ("acl", "private"),
        ],
    );
    let settings = settings(&remote, &env_of(&[])).expect("settings");
    let config = build(&remote, &settings).expect("build");
    assert_eq!(config.root, "p");
    assert_eq!(config.location, "s3://bucket/p");
    assert!(config.multipart);
    assert!(config.etag_is_md5);
}
