//! SSH storages (`ssh://[user@]host[:port]/path`) over SFTP, through the user's own `ssh`.
//!
//! The connection is an OpenSSH control master started with the `ssh` binary, so
//! `~/.ssh/config`, agents, `ProxyJump` and known hosts work as they do for `git`. DVC's
//! `user`, `port` and `keyfile` options override the URL and the ssh config.
//!
//! Without a password or passphrase, `ssh` runs in batch mode: it never prompts, because the
//! helper's standard input belongs to git. With DVC's `password` or `passphrase` (or the
//! `ask_` options, which ask through `GIT_ASKPASS` or the terminal first), the control master
//! is started here instead, with `SSH_ASKPASS` forced to a script in the private control
//! folder. The script answers ssh's prompts from its environment, so the secret is never on a
//! command line or in a file.
//!
//! Uploads go to a temporary name in the object's directory (`.NAME.RANDOM.tmp`) and are
//! renamed into place after their MD5 matched.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder};
use openssh_sftp_client::error::SftpErrorKind;
use openssh_sftp_client::{Error as SftpError, Sftp, SftpOptions};
use tokio::runtime::Handle;

use super::cloud::rand_u64;
use super::listing::{self, ShardListing};
use super::options::Options;
use super::stream::BlockingStream;
use super::webdav::split_url;
use super::{prompt, Error, OpenError, Operation, RemoteError, Storage};
use crate::config::RemoteConfig;
use crate::object::{Hasher, ObjectKey};
use crate::redact::{self, Secret};

/// Bytes per SFTP read or write request batch.
const CHUNK: usize = 256 * 1024;

/// Seconds an idle control master lingers if this process dies without closing it.
const MASTER_IDLE_SECONDS: usize = 60;

/// Everything the SSH connection is built from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SftpSettings {
    pub host: String,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub keyfile: Option<PathBuf>,
    /// Password for ssh's password prompts. When it is set, batch mode is off.
    pub password: Option<Secret>,
    /// Passphrase for ssh's private key prompts. When it is set, batch mode is off.
    pub passphrase: Option<Secret>,
    /// Absolute path of the storage on the server, without a trailing slash.
    pub root: String,
    pub connect_timeout: Duration,
    pub inactivity: Duration,
}

/// Derives the connection settings from `remote`.
pub(crate) fn settings(remote: &RemoteConfig) -> Result<SftpSettings, OpenError> {
    let options = Options::new(remote);
    let (_, userinfo, authority, path) = split_url(&remote.url)
        .ok_or_else(|| super::s3::invalid_url(remote, "expected ssh://[USER@]HOST[:PORT]/PATH"))?;
    let (url_user, url_password) = match userinfo.map(|u| u.split_once(':')) {
        Some(Some((user, password))) => (Some(user), Some(password)),
        Some(None) => (userinfo, None),
        None => (None, None),
    };
    let user = options.get("user").or(url_user).map(str::to_owned);
    let keyfile = options.path("keyfile");

    let (host, url_port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            let port = port
                .parse::<u16>()
                .map_err(|_| super::s3::invalid_url(remote, "the port is not a number"))?;
            (host.trim_matches(['[', ']']).to_owned(), Some(port))
        }
        _ => (authority.trim_matches(['[', ']']).to_owned(), None),
    };
    let port = match options.get("port") {
        Some(port) => Some(
            port.parse::<u16>()
                .map_err(|_| options.invalid("port", "expected a port number"))?,
        ),
        None => url_port,
    };
    let root = path.trim_end_matches('/').to_owned();
    if root.is_empty() {
        return Err(super::s3::invalid_url(
            remote,
            "the path on the server is missing",
        ));
    }

    let password = match options.get("password").or(url_password) {
        Some(password) => Some(password.to_owned()),
        None if options.bool("ask_password")?.unwrap_or(false) => Some(prompt::ask_password(
            remote,
            &format!("{}@{host}", user.as_deref().unwrap_or("(ssh default user)")),
        )?),
        None => None,
    };
    let passphrase = match options.get("passphrase") {
        Some(passphrase) => Some(passphrase.to_owned()),
        None if options.bool("ask_passphrase")?.unwrap_or(false) => {
            let key = keyfile.as_ref().map_or_else(
                || "(ssh default key)".to_owned(),
                |path| path.display().to_string(),
            );
            Some(prompt::ask_passphrase(remote, &key)?)
        }
        None => None,
    };

    Ok(SftpSettings {
        host,
        user,
        port,
        keyfile,
        password: password.map(Secret::new),
        passphrase: passphrase.map(Secret::new),
        root,
        connect_timeout: options
            .seconds("timeout")?
            .unwrap_or(super::options::DEFAULT_CONNECT_TIMEOUT),
        inactivity: options.read_timeout(&["read_timeout", "timeout"])?,
    })
}

/// Askpass script for ssh's prompts. It prints the passphrase for passphrase prompts and the
/// password for every other prompt (password, keyboard-interactive).
const ASKPASS_SCRIPT: &str = "#!/bin/sh\n\
case \"$1\" in\n\
*assphrase*) printf '%s\\n' \"$GIT_EXP_SSH_PASSPHRASE\" ;;\n\
*) printf '%s\\n' \"$GIT_EXP_SSH_PASSWORD\" ;;\n\
esac\n";

/// A running control master and the files `openssh` resumes it from.
struct Master {
    socket: Box<Path>,
    log: Box<Path>,
}

/// Starts an ssh control master in `dir` that may prompt for a password or passphrase,
/// answered by [`ASKPASS_SCRIPT`] from `settings`.
///
/// The `openssh` builder always runs ssh in batch mode, which turns password and passphrase
/// prompts off, so this master is started directly with the same options otherwise.
fn start_master_with_askpass(
    remote: &RemoteConfig,
    settings: &SftpSettings,
    dir: &Path,
) -> Result<Master, OpenError> {
    let askpass = dir.join("askpass");
    write_script(&askpass, ASKPASS_SCRIPT).map_err(|e| OpenError::client(remote, &e))?;
    let socket = dir.join("master");
    let log = dir.join("master.log");

    let mut ssh = std::process::Command::new("ssh");
    ssh.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .arg("-E")
        .arg(&log)
        .arg("-S")
        .arg(&socket)
        .args(["-M", "-f", "-N"])
        .args(["-o", &format!("ControlPersist={MASTER_IDLE_SECONDS}")])
        .args(["-o", "StrictHostKeyChecking=accept-new"])
        .args(["-o", "NumberOfPasswordPrompts=1"])
        .args(["-o", "ServerAliveInterval=15"])
        .args([
            "-o",
            &format!(
                "ConnectTimeout={}",
                settings.connect_timeout.as_secs().max(1)
            ),
        ])
        .env("SSH_ASKPASS", &askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env(
            "GIT_EXP_SSH_PASSWORD",
            settings.password.as_ref().map_or("", Secret::expose),
        )
        .env(
            "GIT_EXP_SSH_PASSPHRASE",
            settings.passphrase.as_ref().map_or("", Secret::expose),
        );
    if let Some(port) = settings.port {
        ssh.arg("-p").arg(port.to_string());
    }
    if let Some(user) = &settings.user {
        ssh.arg("-l").arg(user);
    }
    if let Some(keyfile) = &settings.keyfile {
        ssh.args(["-o", "IdentitiesOnly=yes", "-i"]).arg(keyfile);
    }
    ssh.arg("--").arg(&settings.host);

    tracing::debug!(host = %settings.host, "starting ssh control master with askpass");
    let status = ssh.status().map_err(|e| OpenError::client(remote, &e))?;
    if !status.success() {
        let log_text = std::fs::read_to_string(&log).unwrap_or_default();
        let message = log_text
            .lines()
            .rfind(|line| !line.trim().is_empty())
            .unwrap_or("no message");
        return Err(OpenError::client_message(
            remote,
            &format!(
                "ssh to {} failed ({status}): {}",
                settings.host,
                redact::scrub(message)
            ),
        ));
    }
    Ok(Master {
        socket: socket.into_boxed_path(),
        log: log.into_boxed_path(),
    })
}

/// Writes an executable script only its owner can read.
fn write_script(path: &Path, text: &str) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;

    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o700)
        .open(path)?;
    io::Write::write_all(&mut file, text.as_bytes())
}

/// A DVC remote on an SFTP server.
pub(crate) struct SftpStorage {
    sftp: Option<Sftp>,
    settings: SftpSettings,
    location: String,
    handle: Handle,
    /// Directories known to exist, so later uploads into them skip creating them.
    created: Mutex<HashSet<String>>,
    /// Holds the control socket; removed after the session is closed.
    _control_dir: tempfile::TempDir,
}

impl SftpStorage {
    /// Starts the ssh control master and the SFTP subsystem.
    pub(crate) fn connect(
        remote: &RemoteConfig,
        settings: SftpSettings,
        handle: Handle,
    ) -> Result<SftpStorage, OpenError> {
        let control_dir = tempfile::Builder::new()
            .prefix("git-exp-ssh-")
            .tempdir()
            .map_err(|e| OpenError::client(remote, &e))?;
        let mut builder = SessionBuilder::default();
        builder
            .known_hosts_check(KnownHosts::Add)
            .control_directory(control_dir.path())
            .control_persist(ControlPersist::IdleFor(
                std::num::NonZeroUsize::new(MASTER_IDLE_SECONDS)
                    .unwrap_or(std::num::NonZeroUsize::MIN),
            ))
            .connect_timeout(settings.connect_timeout)
            .server_alive_interval(Duration::from_secs(15));
        if let Some(user) = &settings.user {
            builder.user(user.clone());
        }
        if let Some(port) = settings.port {
            builder.port(port);
        }
        if let Some(keyfile) = &settings.keyfile {
            builder.keyfile(keyfile);
        }

        let answers_prompts = settings.password.is_some() || settings.passphrase.is_some();
        let session = if answers_prompts {
            let master = start_master_with_askpass(remote, &settings, control_dir.path())?;
            Session::resume_mux(master.socket, Some(master.log))
        } else {
            handle
                .block_on(builder.connect_mux(&settings.host))
                .map_err(|e| OpenError::client(remote, &e))?
        };
        let sftp = handle
            .block_on(Sftp::from_session(session, SftpOptions::new()))
            .map_err(|e| OpenError::client(remote, &e))?;
        tracing::debug!(host = %settings.host, root = %settings.root, "opened ssh storage");
        Ok(SftpStorage {
            sftp: Some(sftp),
            settings,
            location: remote.redacted_url(),
            handle,
            created: Mutex::new(HashSet::new()),
            _control_dir: control_dir,
        })
    }

    /// Returns the SFTP session, which is closed only when the storage is dropped.
    fn session(&self, operation: Operation, key: &ObjectKey) -> Result<&Sftp, Error> {
        self.sftp.as_ref().ok_or_else(|| {
            Error::backend(
                operation,
                key,
                self.describe(),
                false,
                RemoteError::message("the ssh session is closed"),
            )
        })
    }

    fn object_path(&self, key: &ObjectKey) -> String {
        format!("{}/{}", self.settings.root, key.layout_path())
    }

    fn error(&self, operation: Operation, key: &ObjectKey, error: &SftpError) -> Error {
        let retryable =
            matches!(error, SftpError::IOError(e) if e.kind() == io::ErrorKind::TimedOut);
        Error::backend(
            operation,
            key,
            self.describe(),
            retryable,
            RemoteError::new(error),
        )
    }

    fn timed_out(&self, operation: Operation, key: &ObjectKey) -> Error {
        Error::backend(
            operation,
            key,
            self.describe(),
            true,
            RemoteError::message(&format!(
                "no progress for {} s",
                self.settings.inactivity.as_secs_f64()
            )),
        )
    }

    /// Runs one SFTP request with the inactivity timeout.
    fn run<T>(
        &self,
        operation: Operation,
        key: &ObjectKey,
        request: impl std::future::Future<Output = Result<T, SftpError>>,
    ) -> Result<T, Error> {
        let inactivity = self.settings.inactivity;
        match self
            .handle
            .block_on(async { tokio::time::timeout(inactivity, request).await })
        {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.error(operation, key, &error)),
            Err(_) => Err(self.timed_out(operation, key)),
        }
    }

    /// Creates `dir` and its missing parents below the storage root's parent.
    fn create_dirs(&self, key: &ObjectKey, dir: &str) -> Result<(), Error> {
        if self
            .created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(dir)
        {
            return Ok(());
        }
        let mut fs = self.session(Operation::Upload, key)?.fs();
        let exists = self.handle.block_on(fs.metadata(dir)).is_ok();
        if !exists {
            let mut path = String::new();
            for part in dir.split('/').filter(|p| !p.is_empty()) {
                path.push('/');
                path.push_str(part);
                // Fails for directories that exist, which is fine; the check below decides.
                let _ = self.handle.block_on(fs.create_dir(&path));
            }
            self.run(Operation::Upload, key, fs.metadata(dir))?;
        }
        self.created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(dir.to_owned());
        Ok(())
    }

    fn remove_quietly(&self, path: &str) {
        let Some(sftp) = &self.sftp else { return };
        let mut fs = sftp.fs();
        if let Err(error) = self.handle.block_on(fs.remove_file(path)) {
            tracing::debug!(path, error = %RemoteError::new(&error), "failed to remove temporary file");
        }
    }

    /// Writes the verified bytes of `source` to `temp`.
    fn write_temp(&self, key: &ObjectKey, source: &Path, temp: &str) -> Result<u64, Error> {
        let read_source = |e| Error::ReadSource {
            key: *key,
            storage: self.describe(),
            path: source.to_path_buf(),
            source: e,
        };
        let mut local = File::open(source).map_err(read_source)?;
        let mut remote = self.run(
            Operation::Upload,
            key,
            self.session(Operation::Upload, key)?
                .options()
                .write(true)
                .create_new(true)
                .open(temp),
        )?;
        let mut hasher = Hasher::new(key.kind);
        let mut buffer = vec![0u8; CHUNK];
        loop {
            let n = match local.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_source(e)),
            };
            hasher.update(&buffer[..n]);
            self.run(Operation::Upload, key, remote.write_all(&buffer[..n]))?;
        }
        self.run(Operation::Upload, key, remote.close())?;
        let size = hasher.len();
        let digest = hasher.finish();
        if !key.id.matches_digest(digest) {
            return Err(Error::Corrupt {
                key: *key,
                storage: self.describe(),
                path: source.to_path_buf(),
                actual: hex::encode(digest),
            });
        }
        Ok(size)
    }
}

impl Drop for SftpStorage {
    fn drop(&mut self) {
        // Closing the SFTP session also closes the ssh session and its control master.
        if let Some(sftp) = self.sftp.take() {
            if let Err(error) = self.handle.block_on(sftp.close()) {
                tracing::debug!(error = %RemoteError::new(&error), "failed to close the ssh session");
            }
        }
    }
}

impl Storage for SftpStorage {
    fn describe(&self) -> String {
        self.location.clone()
    }

    fn contains(&self, key: &ObjectKey) -> Result<bool, Error> {
        Ok(self.stat(key)?.is_some())
    }

    fn missing(
        &self,
        keys: &[ObjectKey],
        expected_sizes: &HashMap<ObjectKey, u64>,
        jobs: usize,
    ) -> Result<Vec<ObjectKey>, Error> {
        listing::missing(self, keys, expected_sizes, jobs)
    }

    fn open(&self, key: &ObjectKey) -> Result<Box<dyn Read + Send>, Error> {
        let path = self.object_path(key);
        let sftp = self.session(Operation::Download, key)?;
        let file = match self.handle.block_on(sftp.open(&path)) {
            Ok(file) => file,
            Err(SftpError::SftpError(SftpErrorKind::NoSuchFile, _)) => {
                return Err(Error::NotFound {
                    key: *key,
                    storage: self.describe(),
                })
            }
            Err(error) => return Err(self.error(Operation::Download, key, &error)),
        };
        let chunks = futures::stream::try_unfold(file, |mut file| async move {
            let chunk = file
                .read(CHUNK as u32, BytesMut::with_capacity(CHUNK))
                .await
                .map_err(|e| {
                    io::Error::new(io::ErrorKind::ConnectionAborted, RemoteError::new(&e))
                })?;
            Ok(chunk.map(|bytes| (Bytes::from(bytes), file)))
        })
        .boxed();
        Ok(Box::new(BlockingStream::new(
            self.handle.clone(),
            chunks,
            self.settings.inactivity,
        )))
    }

    fn put(&self, key: &ObjectKey, source: &Path) -> Result<u64, Error> {
        self.upload(key, source, false)
    }

    fn replace(&self, key: &ObjectKey, source: &Path) -> Result<u64, Error> {
        self.upload(key, source, true)
    }
}

impl SftpStorage {
    /// Writes `source` to a temporary name and renames it onto the object's name.
    ///
    /// With the posix-rename extension the rename writes over a stored object. Without it,
    /// the rename fails when the object exists: a stored copy of the same size is then
    /// kept, unless `replace`, and any other is removed before renaming again.
    fn upload(&self, key: &ObjectKey, source: &Path, replace: bool) -> Result<u64, Error> {
        let target = self.object_path(key);
        let (dir, name) = target.rsplit_once('/').unwrap_or(("", target.as_str()));
        self.create_dirs(key, dir)?;

        let temp = format!("{dir}/.{name}.{:016x}.tmp", rand_u64());
        let size = match self.write_temp(key, source, &temp) {
            Ok(size) => size,
            Err(error) => {
                self.remove_quietly(&temp);
                return Err(error);
            }
        };

        let mut fs = self.session(Operation::Upload, key)?.fs();
        if let Err(error) = self.run(Operation::Upload, key, fs.rename(&temp, &target)) {
            let outcome = match self.stat(key) {
                Ok(None) => Err(error),
                Ok(Some(stored)) if stored == size && !replace => {
                    self.remove_quietly(&temp);
                    Ok(())
                }
                Ok(Some(_)) => self
                    .run(Operation::Upload, key, fs.remove_file(&target))
                    .and_then(|()| self.run(Operation::Upload, key, fs.rename(&temp, &target))),
                Err(stat_error) => Err(stat_error),
            };
            if let Err(error) = outcome {
                self.remove_quietly(&temp);
                return Err(error);
            }
        }
        tracing::debug!(object = %key, size, replace, storage = %self.location, "stored object");
        Ok(size)
    }
}

impl ShardListing for SftpStorage {
    fn stat(&self, key: &ObjectKey) -> Result<Option<u64>, Error> {
        let mut fs = self.session(Operation::Check, key)?.fs();
        match self.handle.block_on(fs.metadata(self.object_path(key))) {
            Ok(metadata) => Ok(Some(metadata.len().unwrap_or(0))),
            Err(SftpError::SftpError(SftpErrorKind::NoSuchFile, _)) => Ok(None),
            Err(error) => Err(self.error(Operation::Check, key, &error)),
        }
    }

    fn list_shard(&self, key: &ObjectKey) -> Result<HashMap<String, u64>, Error> {
        let target = self.object_path(key);
        let dir = target
            .rsplit_once('/')
            .map_or("", |(dir, _)| dir)
            .to_owned();
        let mut fs = self.session(Operation::Check, key)?.fs();
        let listed = self.handle.block_on(async {
            let dir = match fs.open_dir(&dir).await {
                Ok(dir) => dir,
                Err(SftpError::SftpError(SftpErrorKind::NoSuchFile, _)) => {
                    return Ok(HashMap::new())
                }
                Err(error) => return Err(error),
            };
            let mut entries = HashMap::new();
            let mut stream = Box::pin(dir.read_dir());
            while let Some(entry) = stream.next().await {
                let entry = entry?;
                let name = entry.filename().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                entries.insert(name, entry.metadata().len().unwrap_or(0));
            }
            Ok(entries)
        });
        listed.map_err(|error| self.error(Operation::Check, key, &error))
    }

    fn location(&self) -> String {
        self.describe()
    }
}
