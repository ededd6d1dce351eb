//! Passwords, keys and tokens from DVC config files and from URLs never reach stdout or
//! stderr of any command, with every trace of git and of the binaries turned on.
//!
//! Each test configures one storage with distinctive secrets. It runs the porcelain, the
//! remote helper and the hooks against a real server on 127.0.0.1 or a closed port there.
//! Both streams of every run are searched for each secret, its percent-encoded form and its
//! base64 forms as a basic-auth header carries them. Every run also asserts a line of its output,
//! so a run that printed nothing does not pass.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use exp_integration_tests::servers::{self, Server};
use exp_integration_tests::*;

/// Environment that turns on every trace of git and every log level of the binaries.
/// `GIT_EXP_LOG` is the binaries' filter, and `RUST_LOG` is set in case a dependency reads it.
const TRACE: [(&str, &str); 4] = [
    ("GIT_TRACE", "1"),
    ("GIT_TRACE_PACKET", "1"),
    ("GIT_EXP_LOG", "trace"),
    ("RUST_LOG", "trace"),
];

/// The experiment the porcelain and the helper push and the clone pulls.
const LR01: &str = "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-lr01";
/// The experiment the hooks push.
const WIDE: &str = "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-wide";

/// A secret, and the user name it pairs with in a basic-auth header, if any.
struct Hidden {
    user: Option<String>,
    secret: String,
}

impl Hidden {
    /// Returns the forms of the secret that must not appear in any stream.
    fn forms(&self) -> Vec<String> {
        let mut forms = vec![
            self.secret.clone(),
            percent_encode(&self.secret),
            base64(self.secret.as_bytes()),
        ];
        if let Some(user) = &self.user {
            forms.push(base64(format!("{user}:{}", self.secret).as_bytes()));
        }
        forms.dedup();
        forms
    }
}

/// Whether a storage accepts the credentials, and what the failing runs print if not.
#[derive(Clone, Copy)]
enum Outcome {
    /// Every command succeeds.
    Works,
    /// Every transfer fails. Stderr names the storage by its shown URL and contains this
    /// text from the server's or the connection's error.
    Fails(&'static str),
}

/// A storage with secrets in `.dvc/config.local`, in `.dvc/config` or in its URL.
struct Storage {
    url: String,
    /// The URL as `git exp remote list` shows it.
    shown_url: String,
    options: Vec<(&'static str, String)>,
    local: Vec<(&'static str, String)>,
    hidden: Vec<Hidden>,
    /// The known hosts file of an SSH server, which makes the sandbox's ssh read it.
    known_hosts: Option<PathBuf>,
    outcome: Outcome,
}

impl Storage {
    fn new(url: String, outcome: Outcome) -> Storage {
        Storage {
            shown_url: url.clone(),
            url,
            options: Vec::new(),
            local: Vec::new(),
            hidden: Vec::new(),
            known_hosts: None,
            outcome,
        }
    }

    fn option(mut self, name: &'static str, value: impl Into<String>) -> Storage {
        self.options.push((name, value.into()));
        self
    }

    fn local(mut self, name: &'static str, value: impl Into<String>) -> Storage {
        self.local.push((name, value.into()));
        self
    }

    fn shown_url(mut self, url: impl Into<String>) -> Storage {
        self.shown_url = url.into();
        self
    }

    fn hide(mut self, user: Option<&str>, secret: impl Into<String>) -> Storage {
        self.hidden.push(Hidden {
            user: user.map(str::to_owned),
            secret: secret.into(),
        });
        self
    }

    /// Writes the project's `.dvc/config` and `.dvc/config.local` for this storage.
    fn configure(&self, project: &Path) {
        write_storage_config(project, &self.url, &self.options, &self.local);
    }

    /// Returns every form of every secret of this storage.
    fn forms(&self) -> Vec<String> {
        self.hidden.iter().flat_map(Hidden::forms).collect()
    }
}

/// A sandbox whose commands run with every trace on, checking each run's streams.
struct Traced {
    sandbox: Sandbox,
    forms: Vec<String>,
    /// A folder put first on PATH, for the ssh wrapper.
    bin: PathBuf,
}

impl Traced {
    fn new(storage: &Storage) -> Traced {
        let sandbox = Sandbox::new();
        let bin = sandbox.path().join("bin");
        fs::create_dir_all(&bin).expect("bin folder");
        if let Some(known_hosts) = &storage.known_hosts {
            write_ssh_config(&sandbox, &bin, known_hosts);
        }
        Traced {
            sandbox,
            forms: storage.forms(),
            bin,
        }
    }

    /// Builds `program args` in `cwd` with the traces on.
    fn command(&self, program: &str, cwd: &Path, args: &[&str]) -> Command {
        let mut command = self.sandbox.command(program, cwd);
        let path = command
            .get_envs()
            .find(|(name, _)| *name == "PATH")
            .and_then(|(_, value)| value)
            .map(|value| value.to_owned())
            .unwrap_or_default();
        let mut with_bin = self.bin.clone().into_os_string();
        with_bin.push(":");
        with_bin.push(path);
        command.env("PATH", with_bin).envs(TRACE).args(args);
        command
    }

    /// Runs `program args` in `cwd`, asserts that no stream contains a secret, and returns
    /// the output.
    fn run(&self, program: &str, cwd: &Path, args: &[&str]) -> Output {
        let output = run(&mut self.command(program, cwd, args));
        let label = format!("{program} {}", args.join(" "));
        assert_no_secret(&label, &output, &self.forms);
        output
    }

    fn exp(&self, cwd: &Path, args: &[&str]) -> Output {
        self.run("git-exp", cwd, args)
    }

    fn git(&self, cwd: &Path, args: &[&str]) -> Output {
        self.run("git", cwd, args)
    }
}

/// Asserts that neither stream of `output` contains any of `forms`.
fn assert_no_secret(label: &str, output: &Output, forms: &[String]) {
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        for form in forms {
            assert!(
                !text.contains(form.as_str()),
                "{label}: {stream} contains the secret {form:?}:\n{text}"
            );
        }
    }
}

/// Asserts that `output` succeeded.
fn assert_success(label: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{label} failed with {}:\n{}\n{}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

/// Asserts that `output` failed and that its stderr contains each of `texts`.
fn assert_failure(label: &str, output: &Output, texts: &[&str]) {
    assert!(
        !output.status.success(),
        "{label} succeeded:\n{}",
        stderr(output)
    );
    for text in texts {
        assert!(
            stderr(output).contains(text),
            "{label}: stderr lacks {text:?}:\n{}",
            stderr(output)
        );
    }
}

/// Makes the ssh on PATH read the sandbox's `~/.ssh/config`, which trusts the server's host
/// key from `known_hosts`.
fn write_ssh_config(sandbox: &Sandbox, bin: &Path, known_hosts: &Path) {
    let config = sandbox.path().join("home/.ssh/config");
    fs::create_dir_all(config.parent().expect("parent")).expect("~/.ssh");
    fs::write(
        &config,
        format!(
            "Host *\n    UserKnownHostsFile {}\n    IdentitiesOnly yes\n    PreferredAuthentications password\n",
            known_hosts.display()
        ),
    )
    .expect("ssh config");
    fs::set_permissions(&config, fs::Permissions::from_mode(0o600)).expect("chmod");
    write_ssh_wrapper(bin);
}

/// Runs every command that reads the storage against `storage` in a fresh copy of
/// seed-project, checking each run's streams and output.
fn exercise(storage: &Storage) {
    let traced = Traced::new(storage);
    let fixture = traced.sandbox.unpack("seed-project");
    let project = fixture.join("project");
    storage.configure(&project);

    let output = traced.exp(&project, &["remote", "list"]);
    assert_eq!(
        stdout(&output),
        format!("storage\t{}\t(default)\n", storage.shown_url),
        "git exp remote list"
    );

    let output = traced.exp(&project, &["remote", "default"]);
    assert_eq!(stdout(&output), "storage\n", "git exp remote default");
    // Setting a secret option again to its own value prints nothing and changes nothing.
    for (name, value) in &storage.local {
        let output = traced.exp(
            &project,
            &["remote", "modify", "--local", "storage", name, value],
        );
        assert_success("git exp remote modify", &output);
        assert_eq!(stdout(&output), "", "git exp remote modify {name}");
    }

    let output = traced.exp(&project, &["push", "origin", "exp-lr01"]);
    match storage.outcome {
        Outcome::Works => {
            assert_success("git exp push", &output);
            let out = stdout(&output);
            assert!(
                out.starts_with("Pushed experiment exp-lr01 to Git remote 'origin'.\n"),
                "git exp push: {out}"
            );
            assert!(
                out.contains(" files uploaded to 'storage' ("),
                "git exp push: {out}"
            );
        }
        Outcome::Fails(error) => {
            assert_failure("git exp push", &output, &[&storage.shown_url, error])
        }
    }

    let output = traced.exp(&project, &["status", "-c", LR01]);
    match storage.outcome {
        Outcome::Works => assert_eq!(
            stdout(&output),
            "Cache and remote 'storage' are in sync.\n",
            "git exp status -c"
        ),
        Outcome::Fails(error) => {
            assert_failure("git exp status -c", &output, &[&storage.shown_url, error])
        }
    }

    let output = traced.exp(&project, &["show", "-A"]);
    assert_success("git exp show", &output);
    assert!(stdout(&output).contains("exp-lr01"), "{}", stdout(&output));

    // A clone without the data: fetch and pull download from the storage. The experiment
    // reaches the Git remote with plain git, as the porcelain's push fails without storage.
    traced
        .sandbox
        .git(&project, &["push", "--quiet", "origin", LR01]);
    traced
        .sandbox
        .git(&fixture, &["clone", "--quiet", "origin.git", "clone"]);
    let clone = fixture.join("clone");
    storage.configure(&clone);
    let output = traced.exp(&clone, &["list", "origin", "--all-commits"]);
    assert_success("git exp list", &output);
    assert_eq!(stdout(&output), "b53a31b:\n\texp-lr01\n", "git exp list");
    let output = traced.git(&clone, &["fetch", "origin", "+refs/exps/*:refs/exps/*"]);
    assert_success("git fetch", &output);
    assert!(
        stderr(&output).contains(&format!(" * [new ref]         {LR01} -> {LR01}")),
        "git fetch: {}",
        stderr(&output)
    );
    let output = traced.exp(&clone, &["fetch", LR01]);
    match storage.outcome {
        Outcome::Works => {
            assert_success("git exp fetch", &output);
            let fetched = format!(" fetched from storage ({})\n", storage.shown_url);
            assert!(
                stderr(&output).contains(&fetched),
                "git exp fetch: {}",
                stderr(&output)
            );
        }
        Outcome::Fails(error) => {
            assert_failure("git exp fetch", &output, &[&storage.shown_url, error])
        }
    }
    // Pull fetches the experiment and its data again.
    traced.sandbox.git(&clone, &["update-ref", "-d", LR01]);
    let cache = clone.join(".dvc/cache");
    if cache.exists() {
        fs::remove_dir_all(&cache).expect("remove the clone's cache");
    }
    let output = traced.exp(&clone, &["pull", "origin", "exp-lr01"]);
    match storage.outcome {
        Outcome::Works => {
            assert_success("git exp pull", &output);
            let out = stdout(&output);
            assert!(
                out.starts_with("Pulled experiment exp-lr01 from Git remote 'origin'.\n"),
                "git exp pull: {out}"
            );
        }
        Outcome::Fails(error) => {
            assert_failure("git exp pull", &output, &[&storage.shown_url, error])
        }
    }

    // The remote helper, through an `exp::` remote.
    traced
        .sandbox
        .git(&fixture, &["init", "--quiet", "--bare", "share.git"]);
    traced
        .sandbox
        .git(&project, &["remote", "add", "share", "exp::../share.git"]);
    let output = traced.git(&project, &["push", "share", LR01]);
    match storage.outcome {
        Outcome::Works => {
            assert_success("git push share", &output);
            assert!(stderr(&output).contains("uploaded "), "{}", stderr(&output));
        }
        Outcome::Fails(error) => {
            assert_failure("git push share", &output, &[&storage.shown_url, error])
        }
    }

    // The hooks, on a push to an ordinary remote.
    let output = traced.exp(&project, &["install"]);
    assert_success("git exp install", &output);
    let output = traced.git(&project, &["push", "origin", WIDE]);
    match storage.outcome {
        Outcome::Works => {
            assert_success("git push origin", &output);
            assert!(
                stderr(&output).contains("git-exp: uploaded "),
                "git push origin: {}",
                stderr(&output)
            );
        }
        Outcome::Fails(error) => {
            assert_failure("git push origin", &output, &[&storage.shown_url, error])
        }
    }
}

#[test]
fn s3_session_credentials_stay_hidden() {
    let server = servers::moto();
    let storage = Storage::new(format!("s3://{}/secrets", servers::BUCKET), Outcome::Works)
        .option("endpointurl", format!("http://127.0.0.1:{}", server.port))
        .option("region", "us-east-1")
        .local("access_key_id", servers::S3_KEY)
        .local("secret_access_key", "SEKRET+s3/secret-1234")
        .local("session_token", "SEKRET-s3-token-1234")
        .hide(None, "SEKRET+s3/secret-1234")
        .hide(None, "SEKRET-s3-token-1234");
    exercise(&storage);
}

/// Returns `text` with every byte outside RFC 3986's unreserved set percent-encoded.
fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Returns the standard base64 encoding of `bytes`, with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let value = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((value >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_matches_rfc_4648_vectors() {
    let cases = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("foobar", "Zm9vYmFy"),
    ];
    for (text, encoded) in cases {
        assert_eq!(base64(text.as_bytes()), encoded, "{text:?}");
    }
    assert_eq!(percent_encode("a+b/c d~"), "a%2Bb%2Fc%20d~");
}

#[test]
fn s3_wrong_secret_stays_hidden() {
    let server = servers::s3s_fs();
    let storage = Storage::new(
        format!("s3://{}/secrets", servers::BUCKET),
        Outcome::Fails("403 Forbidden"),
    )
    .option("endpointurl", format!("http://127.0.0.1:{}", server.port))
    .option("region", "us-east-1")
    .option("secret_access_key", "SEKRET+s3/wrong-1234")
    .local("access_key_id", servers::S3_KEY)
    .hide(None, "SEKRET+s3/wrong-1234");
    exercise(&storage);
}

#[test]
fn s3_server_down_keeps_secret_hidden() {
    let port = servers::free_port();
    let storage = Storage::new(
        format!("s3://{}/secrets", servers::BUCKET),
        Outcome::Fails("error sending request"),
    )
    .option("endpointurl", format!("http://127.0.0.1:{port}"))
    .option("region", "us-east-1")
    .local("access_key_id", servers::S3_KEY)
    .local("secret_access_key", "SEKRET-s3-down-1234")
    .local("session_token", "SEKRET-s3-down-token-1234")
    .hide(None, "SEKRET-s3-down-1234")
    .hide(None, "SEKRET-s3-down-token-1234");
    exercise(&storage);
}

#[test]
fn webdav_password_stays_hidden() {
    let server = servers::wsgidav();
    let storage = Storage::new(
        format!("webdav://127.0.0.1:{}/secrets", server.port),
        Outcome::Works,
    )
    .option("user", servers::DAV_USER)
    .local("password", servers::DAV_PASSWORD)
    .hide(Some(servers::DAV_USER), servers::DAV_PASSWORD);
    exercise(&storage);
}

#[test]
fn webdav_url_password_stays_hidden() {
    let server = servers::rclone_webdav();
    let url = format!(
        "webdav://{}:SEKRET-dav-url-1234@127.0.0.1:{}/secrets",
        servers::DAV_USER,
        server.port
    );
    let storage = Storage::new(url, Outcome::Fails("401 Unauthorized"))
        .shown_url(format!(
            "webdav://{}:***@127.0.0.1:{}/secrets",
            servers::DAV_USER,
            server.port
        ))
        .hide(Some(servers::DAV_USER), "SEKRET-dav-url-1234");
    exercise(&storage);
}

#[test]
fn http_custom_auth_header_stays_hidden() {
    let server = servers::http_post();
    let storage = Storage::new(
        format!("http://127.0.0.1:{}/secrets", server.port),
        Outcome::Fails("401 Unauthorized"),
    )
    .option("auth", "custom")
    .option("custom_auth_header", "X-Api-Key")
    .local("password", "SEKRET-header-1234")
    .hide(None, "SEKRET-header-1234");
    exercise(&storage);
}

#[test]
fn http_url_password_to_closed_port_stays_hidden() {
    let port = servers::free_port();
    let url = format!(
        "http://{}:SEKRET-http-url-1234@127.0.0.1:{port}/secrets",
        servers::DAV_USER
    );
    let storage = Storage::new(url, Outcome::Fails("Connection refused"))
        .shown_url(format!(
            "http://{}:***@127.0.0.1:{port}/secrets",
            servers::DAV_USER
        ))
        .option("auth", "basic")
        .hide(Some(servers::DAV_USER), "SEKRET-http-url-1234");
    exercise(&storage);
}

/// Builds a storage on [`servers::sshd_password`] as [`servers::SSH_USER`], with
/// `url_password` in the URL if given.
fn ssh_storage(server: &Server, url_password: Option<&str>, outcome: Outcome) -> Storage {
    let path = server.root.join("secrets");
    let userinfo = match url_password {
        Some(password) => format!("{}:{password}", servers::SSH_USER),
        None => servers::SSH_USER.to_owned(),
    };
    let shown = match url_password {
        Some(_) => format!("{}:***", servers::SSH_USER),
        None => servers::SSH_USER.to_owned(),
    };
    let mut storage = Storage::new(
        format!("ssh://{userinfo}@127.0.0.1{}", path.display()),
        outcome,
    )
    .shown_url(format!("ssh://{shown}@127.0.0.1{}", path.display()))
    .option("port", server.port.to_string());
    storage.known_hosts = Some(server.dir.join("known_hosts"));
    storage
}

#[test]
fn ssh_password_stays_hidden() {
    let server = servers::sshd_password();
    let storage = ssh_storage(server, None, Outcome::Works)
        .local("password", servers::SSH_PASSWORD)
        .hide(None, servers::SSH_PASSWORD);
    exercise(&storage);
}

#[test]
fn ssh_wrong_url_password_stays_hidden() {
    let server = servers::sshd_password();
    let storage = ssh_storage(
        server,
        Some("SEKRET-ssh-url-1234"),
        Outcome::Fails("Permission denied (publickey,password)."),
    )
    .hide(None, "SEKRET-ssh-url-1234");
    exercise(&storage);
}

/// Returns an Azurite connection string with `key`, such as `AccountKey=...;` or nothing.
fn azurite_connection(server: &Server, key: &str) -> String {
    format!(
        "DefaultEndpointsProtocol=http;AccountName={account};{key}BlobEndpoint=http://127.0.0.1:{port}/{account};",
        account = servers::AZURE_ACCOUNT,
        port = server.port,
    )
}

#[test]
fn azure_connection_string_stays_hidden() {
    let server = servers::azurite();
    let connection = azurite_connection(server, &format!("AccountKey={};", servers::AZURE_KEY));
    let storage = Storage::new(
        format!("azure://{}/secrets", servers::CONTAINER),
        Outcome::Works,
    )
    .local("connection_string", connection.as_str())
    .hide(None, servers::AZURE_KEY)
    .hide(None, connection);
    exercise(&storage);
}

#[test]
fn azure_wrong_account_key_stays_hidden() {
    let server = servers::azurite();
    // A valid base64 key that is not Azurite's.
    let key = base64(b"SEKRET-azure-account-key-1234-padding-to-64-bytes-of-key-material");
    let storage = Storage::new(
        format!("azure://{}/secrets", servers::CONTAINER),
        Outcome::Fails("403 Forbidden"),
    )
    .option("connection_string", azurite_connection(server, ""))
    .local("account_key", key.as_str())
    .hide(None, key);
    exercise(&storage);
}

#[test]
fn azure_sas_token_stays_hidden() {
    let server = servers::azurite();
    let token = "sv=2021-08-06&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00:00:00Z&sig=SEKRET-sas-1234";
    let storage = Storage::new(
        format!("azure://{}/secrets", servers::CONTAINER),
        Outcome::Fails("403 Forbidden"),
    )
    .option("connection_string", azurite_connection(server, ""))
    .local("sas_token", token)
    .hide(None, token)
    .hide(None, "SEKRET-sas-1234");
    exercise(&storage);
}

/// Returns true for a line that git itself writes for `GIT_TRACE`, such as
/// `12:00:00.000000 run-command.c:666 trace: run_command: ...`.
fn is_git_trace_line(line: &str) -> bool {
    let mut words = line.split_whitespace();
    let (Some(_time), Some(source), Some(trace)) = (words.next(), words.next(), words.next())
    else {
        return false;
    };
    source.contains(".c:") && trace == "trace:"
}

#[test]
fn exp_url_password_stays_hidden() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    let port = servers::free_port();
    let secret = Hidden {
        user: Some("u".to_owned()),
        secret: "SEKRET-git-url-1234".to_owned(),
    };
    let url = format!("exp::http://u:{}@127.0.0.1:{port}/repo.git", secret.secret);
    let shown = format!("http://u:***@127.0.0.1:{port}/repo.git");
    let failed = format!("git ls-remote --symref -- {shown} failed: ");
    let refused = format!(
        "{failed}fatal: unable to access 'http://127.0.0.1:{port}/repo.git/': \
         Failed to connect to 127.0.0.1 port {port}"
    );
    sandbox.git(&project, &["remote", "add", "vault", &url]);
    sandbox.exp(&project, &["install"]);

    // Each run, and the program name its error line starts with.
    let runs: [(&str, Vec<&str>, &str); 5] = [
        ("git", vec!["fetch", "vault"], "git-remote-exp"),
        ("git", vec!["push", "vault", LR01], "git-remote-exp"),
        ("git", vec!["ls-remote", "vault"], "git-remote-exp"),
        ("git", vec!["clone", &url, "clone"], "git-remote-exp"),
        ("git-exp", vec!["push", "vault", "exp-lr01"], "git exp"),
    ];
    for (program, args, reporter) in runs {
        let label = format!("{program} {}", args.join(" "));

        // Untraced, no stream shows the password.
        let output = run(sandbox.command(program, &project).args(&args));
        assert_no_secret(&label, &output, &secret.forms());
        assert_failure(&label, &output, &[&format!("{reporter}: {refused}")]);

        // Traced, only git's own trace of the helper's command line shows it. Git's error
        // follows its own trace lines, which the helper quotes.
        let output = run(sandbox.command(program, &project).args(&args).envs(TRACE));
        assert_failure(&label, &output, &[&format!("{reporter}: {failed}")]);
        assert_no_secret(
            &label,
            &Output {
                status: output.status,
                stdout: output.stdout.clone(),
                stderr: Vec::new(),
            },
            &secret.forms(),
        );
        let err = stderr(&output);
        let product_lines: Vec<&str> = err.lines().filter(|l| !is_git_trace_line(l)).collect();
        for form in secret.forms() {
            let leaks: Vec<&&str> = product_lines
                .iter()
                .filter(|line| line.contains(&form))
                .collect();
            assert!(leaks.is_empty(), "{label}: {form:?} in {leaks:#?}");
        }
    }
}

#[test]
fn git_trace_lines_are_recognised() {
    assert!(is_git_trace_line(
        "00:05:42.411475 run-command.c:666       trace: run_command: git remote-exp"
    ));
    assert!(!is_git_trace_line(
        "git-remote-exp: git ls-remote --symref -- http://u:***@127.0.0.1:9/repo.git failed"
    ));
    assert!(!is_git_trace_line("DEBUG running git args=ls-remote"));
}
