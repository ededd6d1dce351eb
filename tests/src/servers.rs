//! Storage servers on 127.0.0.1 for the storage tests, each started once per test binary.
//!
//! Every server runs under a small shell wrapper that reads the test process's pipe and
//! kills the server when the pipe closes, so no server outlives the test binary, whether it
//! ends normally or not. A server whose program is missing fails the test with a message
//! naming the program and how `.ci/run` installs it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Access key and secret of the S3 servers.
pub const S3_KEY: &str = "testing";
/// Secret key of the S3 servers.
pub const S3_SECRET: &str = "testing-secret";
/// Bucket the S3 tests use.
pub const BUCKET: &str = "dvc-test";
/// WebDAV and HTTP user.
pub const DAV_USER: &str = "u";
/// WebDAV and HTTP password.
pub const DAV_PASSWORD: &str = "dav-password";
/// Azurite's well-known development account.
pub const AZURE_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's well-known development key.
pub const AZURE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// Container the Azure tests use.
pub const CONTAINER: &str = "dvc-test";

/// Time a server may take to accept connections; moto and azurite take a few seconds.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// A running server: its port, its data folder, and the pipe that keeps it alive.
pub struct Server {
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// The folder the server keeps its files in.
    pub root: PathBuf,
    /// Extra files the server was set up with, such as the SSH client key.
    pub dir: PathBuf,
    _guard: Mutex<(Child, ChildStdin)>,
}

/// Returns the folder for all servers of this test binary.
///
/// Statics are never dropped, so a janitor process removes the folder once the test binary
/// has ended and closed the janitor's standard input.
fn servers_dir() -> &'static Path {
    static DIR: OnceLock<(PathBuf, Mutex<(Child, ChildStdin)>)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("exp-servers-")
            .tempdir()
            .expect("temporary directory for servers")
            .keep();
        let mut janitor = Command::new("bash")
            .arg("-c")
            .arg(r#"while read -r _; do :; done; sleep 1; rm -rf "$1""#)
            .arg("janitor")
            .arg(&dir)
            .stdin(Stdio::piped())
            .spawn()
            .expect("start the janitor of the server folder");
        let stdin = janitor.stdin.take().expect("piped stdin");
        (dir, Mutex::new((janitor, stdin)))
    })
    .0
}

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Returns where `.ci/run` installs the server tools that do not come from apt or pip.
pub fn tools_dir() -> PathBuf {
    match std::env::var_os("EXP_TEST_TOOLS") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/root"));
            home.join(".cache/git-remote-exp/tools")
        }
    }
}

/// Finds `program` on PATH or in `extra` folders, or panics naming the program and its installer.
pub fn find_tool(program: &str, extra: &[PathBuf], install: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain(extra.iter().cloned()) {
        let candidate = dir.join(program);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("the storage tests need `{program}`, which is not installed; install it with `{install}` (.ci/run does this)");
}

/// Starts `command` under the lifetime wrapper and waits until `port` accepts connections.
fn start(name: &str, command: Command, port: u16, root: PathBuf, dir: PathBuf) -> Server {
    let log = dir.join(format!("{name}.log"));
    let log_file = std::fs::File::create(&log).expect("server log");
    let program = command.get_program().to_owned();
    let args: Vec<_> = command.get_args().map(|a| a.to_owned()).collect();
    let envs: Vec<_> = command
        .get_envs()
        .map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned())))
        .collect();

    // The wrapper starts the server, waits for its stdin to close, then stops the server.
    let mut wrapper = Command::new("bash");
    wrapper
        .arg("-c")
        .arg(r#""$@" <&- & child=$!; while read -r _; do :; done; kill "$child" 2>/dev/null; wait "$child""#)
        .arg("server-wrapper")
        .arg(&program)
        .args(&args)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(log_file.try_clone().expect("log handle"))
        .stderr(log_file);
    for (key, value) in envs {
        match value {
            Some(value) => wrapper.env(key, value),
            None => wrapper.env_remove(key),
        };
    }
    let mut child = wrapper
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let stdin = child.stdin.take().expect("piped stdin");

    let started = Instant::now();
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{name} exited with {status} before accepting connections:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        if started.elapsed() > START_TIMEOUT {
            panic!(
                "{name} did not accept connections on 127.0.0.1:{port} within {START_TIMEOUT:?}:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        port,
        root,
        dir,
        _guard: Mutex::new((child, stdin)),
    }
}

fn server_dirs(name: &str) -> (PathBuf, PathBuf) {
    let dir = servers_dir().join(name);
    let root = dir.join("root");
    std::fs::create_dir_all(&root).expect("server folders");
    (dir, root)
}

/// s3s-fs: S3 over a directory, checking SigV4 signatures; bucket `dvc-test` exists.
pub fn s3s_fs() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let tools = tools_dir();
        let program = find_tool(
            "s3s-fs",
            &[tools.join("bin")],
            "cargo install --locked s3s-fs@0.14.1 --features binary --root ~/.cache/git-remote-exp/tools",
        );
        let (dir, root) = server_dirs("s3s-fs");
        std::fs::create_dir_all(root.join(BUCKET)).expect("bucket folder");
        let port = free_port();
        let mut command = Command::new(program);
        command
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", S3_KEY, "--secret-key", S3_SECRET])
            .arg(&root);
        start("s3s-fs", command, port, root, dir)
    })
}

/// moto_server: an in-memory AWS mock that does not check signatures; bucket `dvc-test` exists.
pub fn moto() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let program = find_tool("moto_server", &[], "pip install 'moto[server]'");
        let (dir, root) = server_dirs("moto");
        let port = free_port();
        let mut command = Command::new(program);
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let server = start("moto", command, port, root, dir);
        let status = raw_request(port, &format!("PUT /{BUCKET} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
        assert!(status.starts_with("HTTP/1.1 200") || status.starts_with("HTTP/1.0 200"), "creating the moto bucket: {status}");
        server
    })
}

/// rclone serve webdav with basic authentication.
pub fn rclone_webdav() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let program = find_tool("rclone", &[], "apt-get install rclone");
        let (dir, root) = server_dirs("rclone");
        let port = free_port();
        let mut command = Command::new(program);
        command
            .args(["serve", "webdav"])
            .arg(&root)
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .args(["--user", DAV_USER, "--pass", DAV_PASSWORD])
            .arg("--config")
            .arg(dir.join("no-rclone.conf"));
        start("rclone", command, port, root, dir)
    })
}

/// wsgidav on cheroot with basic authentication, which responds 409 for a missing parent.
pub fn wsgidav() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let program = find_tool("wsgidav", &[], "pip install wsgidav cheroot");
        let (dir, root) = server_dirs("wsgidav");
        let port = free_port();
        let config = dir.join("wsgidav.yaml");
        std::fs::write(
            &config,
            format!(
                "host: 127.0.0.1\nport: {port}\nserver: cheroot\nprovider_mapping:\n  \"/\": \"{}\"\n\
                 http_authenticator:\n  domain_controller: null\n  accept_basic: true\n  accept_digest: false\n  default_to_digest: false\n\
                 simple_dc:\n  user_mapping:\n    \"*\":\n      \"{DAV_USER}\":\n        password: \"{DAV_PASSWORD}\"\n\
                 verbose: 1\nlock_storage: true\nproperty_manager: true\n",
                root.display()
            ),
        )
        .expect("wsgidav config");
        let mut command = Command::new(program);
        command.arg("--config").arg(&config);
        start("wsgidav", command, port, root, dir)
    })
}

/// Starts a Python HTTP server that stores POST and PUT bodies (chunked or not) atomically and
/// requires basic authentication, like the servers DVC's HTTP remote talks to.
pub fn http_post() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let program = find_tool("python3", &[], "apt-get install python3");
        let (dir, root) = server_dirs("http");
        let script = dir.join("upload_server.py");
        std::fs::write(&script, UPLOAD_SERVER).expect("server script");
        let port = free_port();
        let mut command = Command::new(program);
        command
            .arg(&script)
            .arg(port.to_string())
            .arg(&root)
            .arg(format!("{DAV_USER}:{DAV_PASSWORD}"));
        start("http", command, port, root, dir)
    })
}

/// Debian's sshd on a high port with its own host key. Its `dir` contains `client_key` for root.
pub fn sshd() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let program = find_tool(
            "sshd",
            &[PathBuf::from("/usr/sbin")],
            "apt-get install openssh-server",
        );
        let (dir, root) = server_dirs("sshd");
        ssh_keygen(&dir.join("client_key"), "");
        std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys"))
            .expect("authorized keys");
        let port = free_port();
        let config = sshd_config(
            &dir,
            port,
            "PasswordAuthentication no\nPermitRootLogin prohibit-password\n",
        );
        let mut command = Command::new(program);
        command
            .arg("-D")
            .arg("-f")
            .arg(&config)
            .arg("-E")
            .arg(dir.join("sshd-events.log"));
        start("sshd", command, port, root, dir)
    })
}

/// Login name on [`sshd_password`] that takes [`SSH_PASSWORD`].
pub const SSH_USER: &str = "exp-storage";

/// Password of [`SSH_USER`]; quotes, a dollar sign and spaces check that nothing re-parses it.
pub const SSH_PASSWORD: &str = "it's a $ecret pass";

/// Passphrase of the `locked_key` in [`sshd_password`]'s `dir`.
pub const SSH_PASSPHRASE: &str = "open sesame $1";

/// Debian's sshd that accepts [`SSH_USER`] with [`SSH_PASSWORD`], and the passphrase-protected
/// key `locked_key` in its `dir`.
///
/// sshd checks passwords against `/etc/passwd` and `/etc/shadow`. It runs in a mount
/// namespace of its own (util-linux's `unshare`, which needs root), where copies of both files
/// with the test user added are bound over the real ones, so the machine's accounts never
/// change. The test user has uid 0, so uploads land with the same owner as in [`sshd`].
pub fn sshd_password() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let program = find_tool(
            "sshd",
            &[PathBuf::from("/usr/sbin")],
            "apt-get install openssh-server",
        );
        let unshare = find_tool("unshare", &[], "apt-get install util-linux");
        let (dir, root) = server_dirs("sshd-password");
        ssh_keygen(&dir.join("locked_key"), SSH_PASSPHRASE);
        std::fs::copy(dir.join("locked_key.pub"), dir.join("authorized_keys"))
            .expect("authorized keys");

        let hash = Command::new(find_tool("openssl", &[], "apt-get install openssl"))
            .args(["passwd", "-6", "-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                let mut stdin = child.stdin.take().expect("piped stdin");
                stdin.write_all(format!("{SSH_PASSWORD}\n").as_bytes())?;
                drop(stdin);
                child.wait_with_output()
            })
            .expect("run openssl passwd");
        let hash = String::from_utf8(hash.stdout).expect("hash is text");
        let mut passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
        passwd.push_str(&format!(
            "{SSH_USER}:x:0:0:git-remote-exp test:{}:/bin/sh\n",
            root.display()
        ));
        let mut shadow = std::fs::read_to_string("/etc/shadow").expect("read /etc/shadow");
        shadow.push_str(&format!("{SSH_USER}:{}:19000:0:99999:7:::\n", hash.trim()));
        std::fs::write(dir.join("passwd"), passwd).expect("write passwd copy");
        std::fs::write(dir.join("shadow"), shadow).expect("write shadow copy");

        let port = free_port();
        let config = sshd_config(
            &dir,
            port,
            "PasswordAuthentication yes\nPermitRootLogin yes\n",
        );
        let mut command = Command::new(unshare);
        command
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(
                "mount --bind \"$1/passwd\" /etc/passwd && mount --bind \"$1/shadow\" /etc/shadow \
                 && exec \"$2\" -D -f \"$3\" -E \"$1/sshd-events.log\"",
            )
            .arg("sshd-password")
            .arg(&dir)
            .arg(program)
            .arg(&config);
        start("sshd-password", command, port, root, dir)
    })
}

/// Makes an ed25519 key pair at `path` and `path.pub`, encrypted when `passphrase` is not empty.
fn ssh_keygen(path: &Path, passphrase: &str) {
    let status = Command::new(find_tool(
        "ssh-keygen",
        &[],
        "apt-get install openssh-client",
    ))
    .args(["-q", "-t", "ed25519", "-N", passphrase])
    .arg("-f")
    .arg(path)
    .status()
    .expect("run ssh-keygen");
    assert!(status.success(), "ssh-keygen failed for {}", path.display());
}

/// Writes `dir/sshd_config` for a server on `port` with a new host key, the keys in
/// `dir/authorized_keys` and the SFTP subsystem, plus `auth` lines, and returns its path.
fn sshd_config(dir: &Path, port: u16, auth: &str) -> PathBuf {
    find_tool("ssh", &[], "apt-get install openssh-client");
    std::fs::create_dir_all("/run/sshd").expect("privilege separation folder /run/sshd");
    ssh_keygen(&dir.join("host_ed25519"), "");
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {dir}/host_ed25519\nPidFile {dir}/sshd.pid\n\
             AuthorizedKeysFile {dir}/authorized_keys\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nUsePAM no\nStrictModes no\n{auth}\
             Subsystem sftp internal-sftp\nMaxStartups 100:30:200\nMaxSessions 64\n",
            dir = dir.display()
        ),
    )
    .expect("sshd config");
    config
}

/// Azurite's blob service without telemetry; container `dvc-test` exists.
pub fn azurite() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let tools = tools_dir();
        let program = find_tool(
            "azurite-blob",
            &[tools.join("node_modules/.bin")],
            "npm install --prefix ~/.cache/git-remote-exp/tools azurite@3.37.0",
        );
        let (dir, root) = server_dirs("azurite");
        let port = free_port();
        let mut command = Command::new(program);
        command
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .arg("--location")
            .arg(&root)
            .args([
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--loose",
                "-s",
            ]);
        let server = start("azurite", command, port, root, dir);
        let output = azure_script(port, "create").output().expect("run python3");
        assert!(
            output.status.success(),
            "creating the azurite container: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        server
    })
}

/// Returns the names of all blobs in the Azurite container.
pub fn azurite_blobs(port: u16) -> Vec<String> {
    let output = azure_script(port, "list").output().expect("run python3");
    assert!(
        output.status.success(),
        "listing azurite blobs: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Uploads `bytes` as the blob `name` of the Azurite container, bypassing every check, as a
/// damaged disk or a broken client would leave it.
pub fn azurite_put_blob(port: u16, name: &str, bytes: &[u8]) {
    use std::io::Write as _;
    let mut child = azure_script(port, "put")
        .arg(name)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("send the blob");
    let output = child.wait_with_output().expect("wait for python3");
    assert!(
        output.status.success(),
        "uploading the azurite blob: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn azure_script(port: u16, action: &str) -> Command {
    let mut command = Command::new("python3");
    command.arg("-c").arg(AZURE_SCRIPT).args([
        action,
        &port.to_string(),
        AZURE_ACCOUNT,
        AZURE_KEY,
        CONTAINER,
    ]);
    command
}

/// Returns the keys of all objects in the moto bucket, through boto3.
pub fn moto_keys(port: u16) -> Vec<String> {
    let output = Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, boto3\n\
             s3 = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id='testing', aws_secret_access_key='testing', region_name='us-east-1')\n\
             for page in s3.get_paginator('list_objects_v2').paginate(Bucket=sys.argv[2]):\n\
             \x20   for item in page.get('Contents', []): print(item['Key'])\n",
        )
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(BUCKET)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "listing the moto bucket: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Sends raw HTTP `request` to 127.0.0.1:`port` and returns the status line.
pub fn raw_request(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.write_all(request.as_bytes()).expect("send request");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.lines().next().unwrap_or_default().to_owned()
}

/// Creates or lists the container, or puts a blob read from standard input, with a
/// SharedKey-signed request, using only Python's standard library.
const AZURE_SCRIPT: &str = r#"
import base64, hmac, hashlib, sys, urllib.request, re
from email.utils import formatdate
action, port, account, key, container = sys.argv[1:6]
key = base64.b64decode(key)
d, v = formatdate(usegmt=True), "2021-08-06"
if action == "put":
    blob, data = sys.argv[6], sys.stdin.buffer.read()
    sts = f"PUT\n\n\n{len(data)}\n\napplication/octet-stream\n\n\n\n\n\n\n" + f"x-ms-blob-type:BlockBlob\nx-ms-date:{d}\nx-ms-version:{v}\n/{account}/{account}/{container}/{blob}"
    sig = base64.b64encode(hmac.new(key, sts.encode(), hashlib.sha256).digest()).decode()
    headers = {"x-ms-date": d, "x-ms-version": v, "x-ms-blob-type": "BlockBlob", "Content-Type": "application/octet-stream",
               "Content-Length": str(len(data)), "Authorization": f"SharedKey {account}:{sig}"}
    r = urllib.request.Request(f"http://127.0.0.1:{port}/{account}/{container}/{blob}", data=data, method="PUT", headers=headers)
    urllib.request.urlopen(r).read()
    sys.exit(0)
if action == "create":
    method, query, canon = "PUT", "?restype=container", "\nrestype:container"
else:
    method, query, canon = "GET", "?comp=list&restype=container", "\ncomp:list\nrestype:container"
length = ""
sts = method + "\n\n\n" + length + "\n\n\n\n\n\n\n\n\n" + f"x-ms-date:{d}\nx-ms-version:{v}\n/{account}/{account}/{container}" + canon
sig = base64.b64encode(hmac.new(key, sts.encode(), hashlib.sha256).digest()).decode()
headers = {"x-ms-date": d, "x-ms-version": v, "Authorization": f"SharedKey {account}:{sig}"}
if method == "PUT":
    headers["Content-Length"] = "0"
r = urllib.request.Request(f"http://127.0.0.1:{port}/{account}/{container}{query}", method=method, headers=headers)
body = urllib.request.urlopen(r).read().decode()
if action == "list":
    for name in re.findall(r"<Name>([^<]*)</Name>", body):
        print(name)
"#;

/// The HTTP upload server: GET and HEAD serve files, POST and PUT store the body under a
/// temporary name and rename it into place once it arrived completely.
const UPLOAD_SERVER: &str = r#"
import base64, os, sys, tempfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

port, root, credentials = int(sys.argv[1]), sys.argv[2], sys.argv[3]
expected = "Basic " + base64.b64encode(credentials.encode()).decode()

class Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=root, **kwargs)

    def authorized(self):
        if self.headers.get("Authorization") == expected:
            return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="dvc"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def do_GET(self):
        if self.authorized():
            super().do_GET()

    def do_HEAD(self):
        if self.authorized():
            super().do_HEAD()

    def read_body(self, out):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                data = self.rfile.read(size)
                if len(data) != size:
                    raise EOFError("chunk cut short")
                out.write(data)
                self.rfile.readline()
        else:
            length = int(self.headers.get("Content-Length", "0"))
            data = self.rfile.read(length)
            if len(data) != length:
                raise EOFError("body cut short")
            out.write(data)

    def store(self):
        if not self.authorized():
            return
        target = os.path.join(root, self.path.lstrip("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                self.read_body(out)
            os.replace(temp, target)
        except Exception:
            os.unlink(temp)
            self.close_connection = True
            return
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = store
    do_PUT = store

ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"#;
