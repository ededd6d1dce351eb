//! Every storage backend against a real server on 127.0.0.1: push all experiments of
//! seed-project through an `exp::` remote, clone, fetch and check out, and compare the
//! workspace with what DVC itself materialised. Servers start once per test binary, and each
//! test uses its own folder in them.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use exp_integration_tests::proxy::{Fault, FaultPlan, FaultProxy};
use exp_integration_tests::servers::{self, Server};
use exp_integration_tests::*;
use exp_lib::object::{HashKind, ObjectId, ObjectKey};

/// How a test reaches its storage: the remote's URL, options for `.dvc/config`, secrets for
/// `.dvc/config.local`, and extra files to write into the sandbox's HOME.
struct Target {
    url: String,
    options: Vec<(&'static str, String)>,
    secrets: Vec<(&'static str, String)>,
    home_files: Vec<(&'static str, String)>,
    /// Put an `ssh` first on PATH that reads `$HOME/.ssh/config`. OpenSSH finds its config
    /// through the passwd entry, not `$HOME`, so the sandbox's config needs this to apply.
    ssh_reads_sandbox_home: bool,
    /// Extra environment for git and everything it starts.
    env: Vec<(&'static str, String)>,
}

impl Target {
    fn new(url: String) -> Target {
        Target {
            url,
            options: Vec::new(),
            secrets: Vec::new(),
            home_files: Vec::new(),
            ssh_reads_sandbox_home: false,
            env: Vec::new(),
        }
    }

    fn option(mut self, name: &'static str, value: impl Into<String>) -> Target {
        self.options.push((name, value.into()));
        self
    }

    fn secret(mut self, name: &'static str, value: impl Into<String>) -> Target {
        self.secrets.push((name, value.into()));
        self
    }

    /// Points the project's default storage at the target.
    fn configure(&self, sandbox: &Sandbox, project: &Path) {
        write_storage_config(project, &self.url, &self.options, &self.secrets);
        for (path, text) in &self.home_files {
            let file = sandbox.path().join("home").join(path);
            fs::create_dir_all(file.parent().expect("parent")).expect("home folder");
            fs::write(&file, text).expect("home file");
            fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .expect("chmod");
        }
        if self.ssh_reads_sandbox_home {
            write_ssh_wrapper(&sandbox.path().join("bin"));
        }
    }

    /// Runs git in `cwd` with the sandbox environment and this target's PATH.
    fn git(&self, sandbox: &Sandbox, cwd: &Path, args: &[&str]) -> std::process::Output {
        succeed(&mut self.git_command(sandbox, cwd, args))
    }

    /// Builds the git command of [`Target::git`] without running it.
    fn git_command(&self, sandbox: &Sandbox, cwd: &Path, args: &[&str]) -> std::process::Command {
        let mut command = sandbox.command("git", cwd);
        command.args(args);
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        if self.ssh_reads_sandbox_home {
            let mut path = std::ffi::OsString::from(sandbox.path().join("bin"));
            path.push(":");
            path.push(
                command
                    .get_envs()
                    .find(|(k, _)| *k == "PATH")
                    .and_then(|(_, v)| v)
                    .unwrap_or_default(),
            );
            command.env("PATH", path);
        }
        command
    }
}

fn expected_storage_files(fixture: &Path) -> BTreeSet<String> {
    fs::read_to_string(fixture.join("expected/dvc-exp-push-all.txt"))
        .expect("expected list")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim_start_matches("./").to_owned())
        .collect()
}

/// Returns the keys under `prefix/`, relative to it.
fn under_prefix(keys: impl IntoIterator<Item = String>, prefix: &str) -> BTreeSet<String> {
    let prefix = format!("{prefix}/");
    keys.into_iter()
        .filter_map(|key| key.strip_prefix(&prefix).map(str::to_owned))
        .collect()
}

/// Asserts that every file under `root` named like a DVC object has that MD5.
fn assert_objects_intact(root: &Path) {
    for file in files_under(root) {
        let Some(rest) = file.strip_prefix("files/md5/") else {
            continue;
        };
        let expected = rest.replace('/', "").trim_end_matches(".dir").to_owned();
        assert_eq!(
            md5_of(&root.join(&file)),
            expected,
            "object {file} is partial or corrupt"
        );
    }
}

/// Pushes all experiments to `target`, checks what the server holds, then clones, fetches
/// and checks out every experiment. Returns the fixture folder.
fn round_trip(target: &Target, stored: impl Fn() -> BTreeSet<String>) -> PathBuf {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    target.configure(&sandbox, &project);

    sandbox.git(&project, &["remote", "add", "share", "exp::../origin.git"]);
    let output = target.git(
        &sandbox,
        &project,
        &["push", "share", "refs/exps/*:refs/exps/*"],
    );
    let err = stderr(&output);
    assert!(err.contains("uploaded 31 objects"), "push output: {err}");
    assert_eq!(stored(), expected_storage_files(&fixture));
    assert!(
        files_under(&fixture.join("storage")).is_empty(),
        "the fixture's local storage was used"
    );

    let url = format!("exp::{}", fixture.join("origin.git").display());
    sandbox.git(&fixture, &["clone", &url, "clone2"]);
    let clone = fixture.join("clone2");
    target.configure(&sandbox, &clone);
    let output = target.git(
        &sandbox,
        &clone,
        &["fetch", "origin", "+refs/exps/*:refs/exps/*"],
    );
    assert!(
        stderr(&output).contains("downloaded 31 objects"),
        "fetch output: {}",
        stderr(&output)
    );

    for (baseline, name, refname) in SEED_EXPERIMENTS {
        sandbox.git(&clone, &["checkout", "--quiet", refname]);
        let output = sandbox.exp(&clone, &["checkout"]);
        assert!(
            stdout(&output).contains("0 kept, 0 missing"),
            "{}",
            stdout(&output)
        );
        assert_workspace_matches(
            &clone,
            &fixture.join(format!("expected/{baseline}-{name}.md5")),
        );
    }
    fixture
}

fn s3_target(server: &Server, prefix: &str) -> Target {
    Target::new(format!("s3://{}/{prefix}", servers::BUCKET))
        .option("endpointurl", format!("http://127.0.0.1:{}", server.port))
        .option("region", "us-east-1")
        .secret("access_key_id", servers::S3_KEY)
        .secret("secret_access_key", servers::S3_SECRET)
}

fn s3s_stored(server: &Server, prefix: &str) -> BTreeSet<String> {
    files_under(&server.root.join(servers::BUCKET).join(prefix))
}

#[test]
fn s3s_fs_round_trip() {
    let server = servers::s3s_fs();
    round_trip(&s3_target(server, "round-trip"), || {
        s3s_stored(server, "round-trip")
    });
    assert_objects_intact(&server.root.join(servers::BUCKET).join("round-trip"));
}

#[test]
fn moto_round_trip() {
    let server = servers::moto();
    let target = s3_target(server, "round-trip");
    round_trip(&target, || {
        under_prefix(servers::moto_keys(server.port), "round-trip")
    });
}

fn dav_target(server: &Server, prefix: &str) -> Target {
    Target::new(format!("webdav://127.0.0.1:{}/{prefix}", server.port))
        .option("user", servers::DAV_USER)
        .secret("password", servers::DAV_PASSWORD)
}

#[test]
fn rclone_webdav_round_trip() {
    let server = servers::rclone_webdav();
    let root = server.root.join("dav/round-trip");
    round_trip(&dav_target(server, "dav/round-trip"), || files_under(&root));
    assert_objects_intact(&root);
}

#[test]
fn wsgidav_round_trip() {
    let server = servers::wsgidav();
    let root = server.root.join("dav/round-trip");
    round_trip(&dav_target(server, "dav/round-trip"), || files_under(&root));
    assert_objects_intact(&root);
}

#[test]
fn http_post_round_trip() {
    let server = servers::http_post();
    let root = server.root.join("round-trip");
    let target = Target::new(format!("http://127.0.0.1:{}/round-trip", server.port))
        .option("auth", "basic")
        .option("user", servers::DAV_USER)
        .secret("password", servers::DAV_PASSWORD);
    round_trip(&target, || files_under(&root));
    assert_objects_intact(&root);
}

#[test]
fn sftp_round_trip() {
    let server = servers::sshd();
    let root = server.root.join("round-trip");
    let mut target = Target::new(format!("ssh://storage-host{}", root.display()));
    // The user's own ssh reads this config, so the alias, port, key and known hosts apply.
    target.home_files.push((
        ".ssh/config",
        format!(
            "Host storage-host\n    HostName 127.0.0.1\n    Port {}\n    User root\n    IdentityFile {}\n    \
             IdentitiesOnly yes\n    UserKnownHostsFile {}\n    BatchMode yes\n",
            server.port,
            server.dir.join("client_key").display(),
            server.dir.join("known_hosts").display()
        ),
    ));
    target.ssh_reads_sandbox_home = true;
    round_trip(&target, || files_under(&root));
    assert_objects_intact(&root);
}

#[test]
fn sftp_keyfile_option_round_trip() {
    let server = servers::sshd();
    let root = server.root.join("keyfile");
    let mut target = Target::new(format!("ssh://root@127.0.0.1{}", root.display()))
        .option("port", server.port.to_string())
        .option(
            "keyfile",
            server.dir.join("client_key").display().to_string(),
        );
    // Only the known hosts file comes from the config, so the real ~/.ssh stays untouched.
    target.home_files.push((
        ".ssh/config",
        format!(
            "Host *\n    UserKnownHostsFile {}\n",
            server.dir.join("known_hosts").display()
        ),
    ));
    target.ssh_reads_sandbox_home = true;
    round_trip(&target, || files_under(&root));
}

/// A target on [`servers::sshd_password`] as [`servers::SSH_USER`], with `options` and the
/// server's host key recorded in a known hosts file of the sandbox.
fn ssh_password_target(server: &Server, folder: &str) -> (Target, PathBuf) {
    let root = server.root.join(folder);
    let mut target = Target::new(format!(
        "ssh://{}@127.0.0.1{}",
        servers::SSH_USER,
        root.display()
    ))
    .option("port", server.port.to_string());
    target.home_files.push((
        ".ssh/config",
        format!(
            "Host *\n    UserKnownHostsFile {}\n    IdentitiesOnly yes\n    PreferredAuthentications publickey,password\n",
            server.dir.join("known_hosts").display()
        ),
    ));
    target.ssh_reads_sandbox_home = true;
    (target, root)
}

#[test]
fn sftp_password_round_trip() {
    let server = servers::sshd_password();
    let (target, root) = ssh_password_target(server, "password");
    let target = target.secret("password", servers::SSH_PASSWORD);
    round_trip(&target, || files_under(&root));
    assert_objects_intact(&root);
}

#[test]
fn sftp_key_passphrase_round_trip() {
    let server = servers::sshd_password();
    let (target, root) = ssh_password_target(server, "passphrase");
    let target = target
        .option(
            "keyfile",
            server.dir.join("locked_key").display().to_string(),
        )
        .secret("passphrase", servers::SSH_PASSPHRASE);
    round_trip(&target, || files_under(&root));
}

#[test]
fn sftp_ask_password_asks_git_askpass() {
    let server = servers::sshd_password();
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    let (mut target, root) = ssh_password_target(server, "ask-password");
    target = target.option("ask_password", "true");

    // The askpass program records the question it was asked and answers with the password.
    let askpass = sandbox.path().join("askpass");
    fs::write(
        &askpass,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" >> {questions}\nprintf '%s\\n' '{answer}'\n",
            questions = sandbox.path().join("questions").display(),
            answer = servers::SSH_PASSWORD.replace('\'', "'\\''"),
        ),
    )
    .expect("askpass script");
    fs::set_permissions(
        &askpass,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    target
        .env
        .push(("GIT_ASKPASS", askpass.display().to_string()));
    target.configure(&sandbox, &project);

    sandbox.git(&project, &["remote", "add", "share", "exp::../origin.git"]);
    let output = target.git(
        &sandbox,
        &project,
        &["push", "share", "refs/exps/*:refs/exps/*"],
    );
    assert!(
        stderr(&output).contains("uploaded 31 objects"),
        "{}",
        stderr(&output)
    );
    assert_eq!(files_under(&root), expected_storage_files(&fixture));
    assert_eq!(
        fs::read_to_string(sandbox.path().join("questions")).expect("questions asked"),
        format!(
            "Password for {}@127.0.0.1 at storage \"storage\" (ssh://{}@127.0.0.1{}): \n",
            servers::SSH_USER,
            servers::SSH_USER,
            root.display()
        )
    );
}

#[test]
fn sftp_wrong_password_fails_without_showing_it() {
    let server = servers::sshd_password();
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    let (target, root) = ssh_password_target(server, "wrong-password");
    let target = target.secret("password", "not-the-Password-9431");
    target.configure(&sandbox, &project);

    sandbox.git(&project, &["remote", "add", "share", "exp::../origin.git"]);
    let output = target
        .git_command(
            &sandbox,
            &project,
            &["push", "share", "refs/exps/*:refs/exps/*"],
        )
        .env("RUST_LOG", "trace")
        .output()
        .expect("run git push");
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{}@127.0.0.1: Permission denied (publickey,password).",
            servers::SSH_USER
        )),
        "{err}"
    );
    // Seven objects fail; the reason is printed with the first, the others point back to it.
    assert_eq!(err.matches("Permission denied").count(), 1, "{err}");
    assert_eq!(err.matches("git-remote-exp: failed ").count(), 7, "{err}");
    assert_eq!(
        err.matches("storage \"storage\" is unusable, as reported above")
            .count(),
        6,
        "{err}"
    );
    assert!(!err.contains("not-the-Password-9431"), "{err}");
    assert!(!stdout(&output).contains("not-the-Password-9431"));
    assert!(files_under(&root).is_empty());
    assert_eq!(
        stdout(&sandbox.git(&fixture.join("origin.git"), &["for-each-ref", "refs/exps"])),
        ""
    );
}

#[test]
fn azurite_round_trip() {
    let server = servers::azurite();
    let connection = format!(
        "DefaultEndpointsProtocol=http;AccountName={};AccountKey={};BlobEndpoint=http://127.0.0.1:{}/{};",
        servers::AZURE_ACCOUNT,
        servers::AZURE_KEY,
        server.port,
        servers::AZURE_ACCOUNT
    );
    let target = Target::new(format!("azure://{}/round-trip", servers::CONTAINER))
        .secret("connection_string", connection);
    round_trip(&target, || {
        under_prefix(servers::azurite_blobs(server.port), "round-trip")
    });
}

/// Returns the faults every proxy test injects: three error responses, one upload cut off
/// halfway, and one response held back past the inactivity timeout.
fn fault_plan() -> FaultPlan {
    FaultPlan {
        failures: 3,
        drop_upload: true,
        stall: Some(Duration::from_secs(4)),
    }
}

fn expected_faults() -> Vec<Fault> {
    vec![
        Fault::Status(503),
        Fault::Status(500),
        Fault::Status(503),
        Fault::DroppedUpload,
        Fault::Stalled,
    ]
}

#[test]
fn s3_push_survives_faults() {
    let server = servers::s3s_fs();
    let proxy = FaultProxy::start(server.port, fault_plan());
    let target = Target::new(format!("s3://{}/faults", servers::BUCKET))
        .option("endpointurl", format!("http://127.0.0.1:{}", proxy.port))
        .option("read_timeout", "1")
        .secret("access_key_id", servers::S3_KEY)
        .secret("secret_access_key", servers::S3_SECRET);
    round_trip(&target, || s3s_stored(server, "faults"));
    assert_eq!(proxy.faults(), expected_faults());
    assert_objects_intact(&server.root.join(servers::BUCKET).join("faults"));
}

#[test]
fn webdav_push_survives_faults() {
    let server = servers::rclone_webdav();
    let proxy = FaultProxy::start(server.port, fault_plan());
    let root = server.root.join("faults");
    let target = dav_target(server, "faults").option("timeout", "1");
    let target = Target {
        url: format!("webdav://127.0.0.1:{}/faults", proxy.port),
        ..target
    };
    round_trip(&target, || files_under(&root));
    assert_eq!(proxy.faults(), expected_faults());
    assert_objects_intact(&root);
}

#[test]
fn unreachable_storage_fails_naming_objects() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    // Every request fails, so the push must give up and name what it could not store.
    let proxy = FaultProxy::start(
        servers::s3s_fs().port,
        FaultPlan {
            failures: usize::MAX,
            drop_upload: false,
            stall: None,
        },
    );
    Target::new(format!("s3://{}/unreachable", servers::BUCKET))
        .option("endpointurl", format!("http://127.0.0.1:{}", proxy.port))
        .secret("access_key_id", servers::S3_KEY)
        .secret("secret_access_key", servers::S3_SECRET)
        .configure(&sandbox, &project);
    sandbox.git(&project, &["remote", "add", "share", "exp::../origin.git"]);

    let output = sandbox.git_result(&project, &["push", "share", "refs/exps/*:refs/exps/*"]);

    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    // One line per output object of the four experiments, each naming the object.
    let failed: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("git-remote-exp: failed "))
        .collect();
    assert_eq!(failed.len(), 7, "{err}");
    for id in [
        "027eb2f74359ddea3f7ee4ec2f185514",
        "288e4feb62b3b16fafc8a7177fa08d33.dir",
        "452a1b235b527e7e0dac89b624c95d5e",
        "79fc225acfaf3bf225c66aad62bc9bed.dir",
        "ce226cd3bf1822244370a3f2fcccbbf5",
        "f2734b9dd609ab883408396b30c565b7.dir",
        "fa261d862f0fc7f5850b6c409f4feba5.dir",
    ] {
        assert_eq!(
            failed
                .iter()
                .filter(|l| l.contains(&format!("({id})")))
                .count(),
            1,
            "{id}: {err}"
        );
    }
    assert!(err.contains("failed to check object"), "{err}");
    assert!(
        err.contains("Service Unavailable") || err.contains("Internal Server Error"),
        "{err}"
    );
    assert!(err.contains("s3://dvc-test/unreachable"), "{err}");
    assert!(err.contains("[remote rejected]"), "{err}");
    assert!(proxy.requests() > 0);
    assert!(!servers::s3s_fs()
        .root
        .join(servers::BUCKET)
        .join("unreachable")
        .exists());
}

#[test]
fn secrets_never_printed_by_failing_push() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    let s3 = servers::s3s_fs();
    let wrong_secret = "wrong-secret-Zq81x";
    let token = "session-token-Hk27v";
    Target::new(format!("s3://{}/secrets", servers::BUCKET))
        .option("endpointurl", format!("http://127.0.0.1:{}", s3.port))
        .secret("access_key_id", servers::S3_KEY)
        .secret("secret_access_key", wrong_secret)
        .secret("session_token", token)
        .configure(&sandbox, &project);
    sandbox.git(&project, &["remote", "add", "share", "exp::../origin.git"]);

    let output = run(sandbox
        .command("git", &project)
        .args(["push", "share", "refs/exps/*:refs/exps/*"])
        .env("GIT_EXP_LOG", "trace"));

    assert_eq!(output.status.code(), Some(1));
    let all = format!("{}{}", stdout(&output), stderr(&output));
    assert!(all.contains("[remote rejected]"), "{all}");
    assert!(
        all.contains("403"),
        "the signature error is reported: {all}"
    );
    assert!(!all.contains(wrong_secret), "the secret key leaked:\n{all}");
    assert!(!all.contains(token), "the session token leaked:\n{all}");

    // The same for a wrong HTTP password, which travels base64-encoded in a header.
    let http = servers::http_post();
    let password = "http-password-Wm44q";
    Target::new(format!("http://127.0.0.1:{}/secrets", http.port))
        .option("auth", "basic")
        .option("user", servers::DAV_USER)
        .secret("password", password)
        .configure(&sandbox, &project);
    let output = run(sandbox
        .command("git", &project)
        .args(["push", "share", "refs/exps/*:refs/exps/*"])
        .env("GIT_EXP_LOG", "trace"));
    assert_eq!(output.status.code(), Some(1));
    let all = format!("{}{}", stdout(&output), stderr(&output));
    assert!(
        all.contains("401"),
        "the authentication error is reported: {all}"
    );
    assert!(!all.contains(password), "the password leaked:\n{all}");
    let encoded = base64_of(&format!("{}:{password}", servers::DAV_USER));
    assert!(
        !all.contains(&encoded),
        "the basic credentials leaked:\n{all}"
    );
}

fn library_remote(url: String, options: &[(&str, String)]) -> exp_lib::config::RemoteConfig {
    exp_lib::config::RemoteConfig {
        name: "direct".into(),
        url,
        options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        defined_in: PathBuf::from("/nonexistent/.dvc/config"),
    }
}

fn key_of(file: &Path) -> ObjectKey {
    ObjectKey::new(
        HashKind::Md5,
        ObjectId::parse(&md5_of(file)).expect("md5 id"),
    )
}

/// Writes `size` bytes that do not repeat in short cycles.
fn write_pseudo_random(path: &Path, size: usize, seed: u64) {
    let mut state = seed;
    let bytes: Vec<u8> = (0..size)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect();
    fs::write(path, bytes).expect("write large file");
}

#[test]
fn large_objects_upload_in_parts() {
    let s3 = servers::s3s_fs();
    let azure = servers::azurite();
    let remotes = [
        library_remote(
            format!("s3://{}/multipart", servers::BUCKET),
            &[
                ("endpointurl", format!("http://127.0.0.1:{}", s3.port)),
                ("access_key_id", servers::S3_KEY.into()),
                ("secret_access_key", servers::S3_SECRET.into()),
            ],
        ),
        library_remote(
            format!("azure://{}/multipart", servers::CONTAINER),
            &[(
                "connection_string",
                format!(
                    "AccountName={a};AccountKey={k};BlobEndpoint=http://127.0.0.1:{p}/{a}",
                    a = servers::AZURE_ACCOUNT,
                    k = servers::AZURE_KEY,
                    p = azure.port
                ),
            )],
        ),
    ];
    let dir = tempfile::tempdir().expect("temporary directory");
    // Larger than the 16 MiB multipart threshold, and not a whole number of parts.
    let big = dir.path().join("big.bin");
    write_pseudo_random(&big, 20 * 1024 * 1024 + 3, 7);
    let key = key_of(&big);
    let other = dir.path().join("other.bin");
    write_pseudo_random(&other, 17 * 1024 * 1024, 8);

    for remote in remotes {
        let storage = exp_lib::storage::open(&remote).expect("open storage");

        assert_eq!(
            storage.put(&key, &big).expect("multipart upload"),
            20 * 1024 * 1024 + 3
        );

        let copy = dir.path().join("copy.bin");
        let mut reader = storage.open(&key).expect("open object");
        std::io::copy(
            &mut reader,
            &mut fs::File::create(&copy).expect("create copy"),
        )
        .expect("download");
        assert_eq!(md5_of(&copy), key.id.hex(), "{}", remote.url);

        let sizes = std::collections::HashMap::from([(key, 20 * 1024 * 1024 + 3)]);
        assert_eq!(
            storage.missing(&[key], &sizes, 2).expect("missing"),
            Vec::<ObjectKey>::new()
        );
        let wrong = std::collections::HashMap::from([(key, 5)]);
        assert_eq!(
            storage.missing(&[key], &wrong, 2).expect("missing"),
            vec![key]
        );

        // A source whose bytes do not match its id is rejected and never becomes visible.
        let fake = ObjectKey::new(
            HashKind::Md5,
            ObjectId::parse("0123456789abcdef0123456789abcdef").expect("id"),
        );
        let error = storage.put(&fake, &other).expect_err("mismatch");
        assert!(
            matches!(error, exp_lib::storage::Error::Corrupt { .. }),
            "{error:?}"
        );
        assert!(
            !storage.contains(&fake).expect("contains"),
            "{}",
            remote.url
        );
    }
    let on_disk = s3
        .root
        .join(servers::BUCKET)
        .join("multipart")
        .join(key.layout_path());
    assert_eq!(md5_of(&on_disk), key.id.hex());
}

#[test]
fn missing_objects_found_by_listing() {
    let s3 = servers::s3s_fs();
    let moto = servers::moto();
    let rclone = servers::rclone_webdav();
    let wsgidav = servers::wsgidav();
    let azure = servers::azurite();
    let s3_options = |port: u16| {
        vec![
            ("endpointurl", format!("http://127.0.0.1:{port}")),
            ("access_key_id", servers::S3_KEY.to_owned()),
            ("secret_access_key", servers::S3_SECRET.to_owned()),
        ]
    };
    let dav_options = [
        ("user", servers::DAV_USER.to_owned()),
        ("password", servers::DAV_PASSWORD.to_owned()),
    ];
    let remotes = [
        library_remote(
            format!("s3://{}/listing", servers::BUCKET),
            &s3_options(s3.port),
        ),
        library_remote(
            format!("s3://{}/listing", servers::BUCKET),
            &s3_options(moto.port),
        ),
        library_remote(
            format!("webdav://127.0.0.1:{}/listing", rclone.port),
            &dav_options,
        ),
        library_remote(
            format!("webdav://127.0.0.1:{}/listing", wsgidav.port),
            &dav_options,
        ),
        library_remote(
            format!("azure://{}/listing", servers::CONTAINER),
            &[(
                "connection_string",
                format!(
                    "AccountName={a};AccountKey={k};BlobEndpoint=http://127.0.0.1:{p}/{a}",
                    a = servers::AZURE_ACCOUNT,
                    k = servers::AZURE_KEY,
                    p = azure.port
                ),
            )],
        ),
    ];
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut present = Vec::new();
    let mut absent = Vec::new();
    let mut sizes = std::collections::HashMap::new();
    for i in 0..40 {
        let file = dir.path().join(format!("object-{i}"));
        fs::write(&file, format!("listing test object {i}\n")).expect("write object");
        let key = key_of(&file);
        sizes.insert(key, fs::metadata(&file).expect("stat").len());
        if i % 2 == 0 {
            present.push((key, file));
        } else {
            absent.push(key);
        }
    }
    // One stored object whose local copy is larger counts as missing too.
    let resized = present[3].0;
    sizes.insert(resized, 1000);
    let query: Vec<ObjectKey> = present
        .iter()
        .map(|(key, _)| *key)
        .chain(absent.iter().copied())
        .collect();
    let mut expected = vec![resized];
    expected.extend(&absent);

    for remote in remotes {
        let storage = exp_lib::storage::open(&remote).expect("open storage");
        for (key, file) in &present {
            storage.put(key, file).expect("upload");
        }

        let missing = storage.missing(&query, &sizes, 4).expect("missing");

        assert_eq!(missing, expected, "{}", remote.url);
    }
}

#[test]
fn ask_password_without_terminal_is_refused() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    Target::new(format!(
        "http://127.0.0.1:{}/ask",
        servers::http_post().port
    ))
    .option("auth", "basic")
    .option("user", servers::DAV_USER)
    .option("ask_password", "true")
    .configure(&sandbox, &project);
    sandbox.git(&project, &["remote", "add", "share", "exp::../origin.git"]);

    // setsid detaches from any controlling terminal, as in CI.
    let output = run(sandbox
        .command("setsid", &project)
        .args(["-w", "git", "push", "share", "refs/exps/*:refs/exps/*"])
        .env_remove("GIT_ASKPASS")
        .env_remove("SSH_ASKPASS"));

    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("ask_password is set but there is no terminal to ask on"),
        "{err}"
    );
    assert!(
        err.contains("dvc remote modify --local storage password"),
        "{err}"
    );
}

fn base64_of(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// predictions.csv of exp-wide, in the storage layout.
const WIDE_PREDICTIONS: (&str, &str) = (
    "ce226cd3bf1822244370a3f2fcccbbf5",
    "files/md5/ce/226cd3bf1822244370a3f2fcccbbf5",
);

/// Flips every byte of the file at `path`, keeping its length.
fn flip_bytes(path: &Path) {
    let bytes = fs::read(path).expect("read the stored object");
    fs::remove_file(path).expect("remove the stored object");
    fs::write(path, bytes.iter().map(|b| b ^ 0x20).collect::<Vec<u8>>())
        .expect("write flipped bytes");
}

/// Pushes every experiment to `target`, has `corrupt` flip the bytes of exp-wide's stored
/// predictions.csv, and checks that `git exp push --verify` writes the cache's copy over
/// it, after which `git exp status -c --verify` finds every stored object intact.
fn push_verify_replaces_corrupt_object(target: &Target, corrupt: impl Fn()) {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    target.configure(&sandbox, &project);
    target.git(&sandbox, &project, &["exp", "push", "origin", "-A"]);
    corrupt();
    let (_, _, exp_wide) = SEED_EXPERIMENTS[2];
    let check = ["exp", "status", "--cloud", "--verify", exp_wide];
    let mut command = sandbox.command("git", &project);
    command.args(check);
    if target.ssh_reads_sandbox_home {
        let path = format!(
            "{}:{}",
            sandbox.path().join("bin").display(),
            command
                .get_envs()
                .find(|(k, _)| *k == "PATH")
                .and_then(|(_, v)| v)
                .unwrap_or_default()
                .to_string_lossy()
        );
        command.env("PATH", path);
    }
    let output = run(&mut command);
    assert_eq!(
        output.status.code(),
        Some(1),
        "status found nothing: {}",
        stderr(&output)
    );
    assert_eq!(stdout(&output), "\tcorrupted in storage: predictions.csv\n");

    let output = target.git(
        &sandbox,
        &project,
        &["exp", "push", "origin", "-A", "--verify"],
    );
    let out = stdout(&output);
    assert!(
        out.contains(&format!(
            "replaced 1 corrupt object in storage 'storage': {}",
            WIDE_PREDICTIONS.0
        )),
        "push output: {out}\n{}",
        stderr(&output)
    );
    target.git(&sandbox, &project, &check);
}

#[test]
fn push_verify_replaces_corrupt_webdav_object() {
    for server in [servers::rclone_webdav(), servers::wsgidav()] {
        let root = server.root.join("dav/push-verify");
        push_verify_replaces_corrupt_object(&dav_target(server, "dav/push-verify"), || {
            flip_bytes(&root.join(WIDE_PREDICTIONS.1))
        });
    }
}

#[test]
fn push_verify_replaces_corrupt_http_object() {
    let server = servers::http_post();
    let root = server.root.join("push-verify");
    let target = Target::new(format!("http://127.0.0.1:{}/push-verify", server.port))
        .option("auth", "basic")
        .option("user", servers::DAV_USER)
        .secret("password", servers::DAV_PASSWORD);
    push_verify_replaces_corrupt_object(&target, || flip_bytes(&root.join(WIDE_PREDICTIONS.1)));
}

#[test]
fn push_verify_replaces_corrupt_sftp_object() {
    let server = servers::sshd();
    let root = server.root.join("push-verify");
    let mut target = Target::new(format!("ssh://root@127.0.0.1{}", root.display()))
        .option("port", server.port.to_string())
        .option(
            "keyfile",
            server.dir.join("client_key").display().to_string(),
        );
    target.home_files.push((
        ".ssh/config",
        format!(
            "Host *\n    UserKnownHostsFile {}\n",
            server.dir.join("known_hosts").display()
        ),
    ));
    target.ssh_reads_sandbox_home = true;
    push_verify_replaces_corrupt_object(&target, || flip_bytes(&root.join(WIDE_PREDICTIONS.1)));
}

#[test]
fn push_verify_replaces_corrupt_azure_object() {
    let server = servers::azurite();
    let connection = format!(
        "DefaultEndpointsProtocol=http;AccountName={};AccountKey={};BlobEndpoint=http://127.0.0.1:{}/{};",
        servers::AZURE_ACCOUNT,
        servers::AZURE_KEY,
        server.port,
        servers::AZURE_ACCOUNT
    );
    let target = Target::new(format!("azure://{}/push-verify", servers::CONTAINER))
        .secret("connection_string", connection);
    push_verify_replaces_corrupt_object(&target, || {
        // 240 bytes, like the real object, so only a hash tells them apart.
        servers::azurite_put_blob(
            server.port,
            &format!("push-verify/{}", WIDE_PREDICTIONS.1),
            &[b'x'; 240],
        );
    });
}
