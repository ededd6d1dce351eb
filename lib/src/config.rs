//! The DVC config family: system, global, `.dvc/config` and `.dvc/config.local`.
//!
//! DVC reads and writes these files with ConfigObj, an INI dialect. Later levels override
//! earlier ones key by key, and section and key names are case-insensitive. Relative local
//! paths (a remote's `url`, `cache.dir`) resolve against the directory of the file that
//! defines them, so one configuration serves DVC and this tool alike.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::link::{LinkType, ParseLinkTypeError, DEFAULT_LINK_TYPES};

mod file;
pub mod options;

pub use file::ConfigFile;

/// Option names whose values are secrets, redacted wherever a remote is printed.
const SECRET_OPTIONS: &[&str] = &[
    "password",
    "secret_access_key",
    "session_token",
    "account_key",
    "connection_string",
    "sas_token",
    "token",
    "passphrase",
    "client_secret",
    "gdrive_client_secret",
    "sse_customer_key",
    "custom_auth_header",
];

/// URL query parameters that carry signatures or tokens, redacted in printed URLs.
const SECRET_QUERY_PARAMETERS: &[&str] = &[
    "sig",
    "signature",
    "token",
    "access_token",
    "x-amz-signature",
    "x-amz-security-token",
    "x-goog-signature",
];

const REDACTED: &str = "***";

/// Errors from reading, writing or interpreting DVC config files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A config file exists but could not be read.
    #[error("failed to read {}", path.display())]
    Read {
        /// The file's path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A config file is not UTF-8 text.
    #[error("{} is not valid UTF-8", path.display())]
    NotUtf8 {
        /// The file's path.
        path: PathBuf,
        /// The decoding error, with the byte offset.
        #[source]
        source: std::string::FromUtf8Error,
    },
    /// A line is not valid ConfigObj syntax.
    #[error("{}:{line}: {reason}", path.display())]
    Syntax {
        /// The file's path.
        path: PathBuf,
        /// The 1-based line number where the invalid text starts.
        line: usize,
        /// The reason the line is rejected.
        reason: &'static str,
    },
    /// A config file could not be written.
    #[error("failed to write {}", path.display())]
    Write {
        /// The file's path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A section name, key or value cannot be quoted in ConfigObj's syntax.
    #[error("cannot write [{section}] {key} to {}: {reason}", path.display())]
    Unwritable {
        /// The file's path.
        path: PathBuf,
        /// The section name.
        section: String,
        /// The key, empty when the section name cannot be written.
        key: String,
        /// The reason it cannot be written.
        reason: &'static str,
    },
    /// No config file defines the requested remote.
    #[error("remote {name:?} is not defined in any DVC config file ({})", describe_known(.known))]
    UnknownRemote {
        /// The requested name, lower-cased.
        name: String,
        /// The names of all defined remotes, sorted.
        known: Vec<String>,
    },
    /// A remote's sections define options but no `url`.
    #[error("remote {name:?} has no url; set one with `dvc remote modify {name} url URL`")]
    MissingUrl {
        /// The remote's name, lower-cased.
        name: String,
    },
    /// `cache.type` names something other than reflink, hardlink, symlink or copy.
    #[error("{}: invalid cache.type {value:?}", path.display())]
    InvalidLinkType {
        /// The file that sets `cache.type`.
        path: PathBuf,
        /// The whole `cache.type` value.
        value: String,
        /// The entry that is not a link type.
        #[source]
        source: ParseLinkTypeError,
    },
}

fn describe_known(known: &[String]) -> String {
    if known.is_empty() {
        "no remotes are defined".to_owned()
    } else {
        format!("known remotes: {}", known.join(", "))
    }
}

/// The level of a config file, from lowest to highest precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The machine-wide file, e.g. `/etc/xdg/dvc/config`.
    System,
    /// The user's file, e.g. `~/.config/dvc/config`.
    Global,
    /// The repository's tracked `.dvc/config`.
    Repo,
    /// The repository's untracked `.dvc/config.local`, where secrets usually go.
    Local,
}

impl Level {
    /// All levels, from lowest to highest precedence.
    pub const ALL: [Level; 4] = [Level::System, Level::Global, Level::Repo, Level::Local];
}

/// One DVC remote with its options merged across all config levels.
#[derive(Clone)]
pub struct RemoteConfig {
    /// The remote's name, lower-cased.
    pub name: String,
    /// The `url` as written in the config file.
    pub url: String,
    /// Every option except `url`, later levels overriding earlier ones.
    pub options: BTreeMap<String, String>,
    /// The config file that supplied the `url`, against whose directory a relative path resolves.
    pub defined_in: PathBuf,
}

impl RemoteConfig {
    /// Returns the remote's directory when the `url` is a plain path or a `file://` URL.
    ///
    /// A relative path is resolved against the directory of `defined_in`, `~` expands to the
    /// home directory, and `.` and `..` are resolved lexically. URLs with another scheme
    /// give `None`.
    pub fn local_path(&self) -> Option<PathBuf> {
        resolve_local(&self.url, &self.defined_in, home_dir(&env_var).as_deref())
    }

    /// Returns the `url` with any password and signed query parameters replaced by `***`.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    /// Resolves a path-valued option such as `keyfile` or `credentialpath` the way `url`
    /// resolves: against the directory of `defined_in`, with `~` expanded.
    ///
    /// NOTE: the option may come from another config file than the `url`; DVC resolves it
    /// against its own file, but only the `url`'s file is recorded here.
    pub fn resolve_path(&self, value: &str) -> Option<PathBuf> {
        resolve_local(value, &self.defined_in, home_dir(&env_var).as_deref())
    }

    /// Returns the values of secret options and the URL's password, for redaction.
    pub fn secret_values(&self) -> Vec<String> {
        let mut secrets: Vec<String> = self
            .options
            .iter()
            .filter(|(key, value)| is_secret_option(key) && !value.is_empty())
            .map(|(_, value)| value.clone())
            .collect();
        if let Some(password) = url_password(&self.url) {
            secrets.push(password.to_owned());
        }
        secrets
    }
}

/// Returns the password in the userinfo of `url`, if any.
pub(crate) fn url_password(url: &str) -> Option<&str> {
    let authority_start = url.find("://")? + 3;
    let authority_end = url[authority_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| authority_start + i);
    let (userinfo, _) = url[authority_start..authority_end].rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    Some(password).filter(|password| !password.is_empty())
}

impl fmt::Debug for RemoteConfig {
    /// Redacts the URL's password and the values of secret options.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct RedactedOptions<'a>(&'a BTreeMap<String, String>);

        impl fmt::Debug for RedactedOptions<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut map = f.debug_map();
                for (key, value) in self.0 {
                    if is_secret_option(key) {
                        map.entry(key, &REDACTED);
                    } else {
                        map.entry(key, value);
                    }
                }
                map.finish()
            }
        }

        f.debug_struct("RemoteConfig")
            .field("name", &self.name)
            .field("url", &self.redacted_url())
            .field("options", &RedactedOptions(&self.options))
            .field("defined_in", &self.defined_in)
            .finish()
    }
}

/// The merged view of the config levels, where a later file overrides an earlier one per key.
#[derive(Debug, Clone, Default)]
pub struct Config {
    files: Vec<ConfigFile>,
}

impl Config {
    /// Loads the system, global, repository and local config files of the repository whose
    /// `.dvc` directory is `dvc_dir`. Missing files count as empty.
    pub fn load(dvc_dir: &Path) -> Result<Config, Error> {
        Config::load_with_env(dvc_dir, &env_var)
    }

    fn load_with_env(
        dvc_dir: &Path,
        env: &dyn Fn(&str) -> Option<OsString>,
    ) -> Result<Config, Error> {
        let mut files = Vec::with_capacity(Level::ALL.len());
        for level in Level::ALL {
            let path = file_path_with_env(level, dvc_dir, env);
            files.push(ConfigFile::load(&path, level)?);
        }
        Ok(Config::from_files(files))
    }

    /// Builds the merged view of `files`, a later file overriding an earlier one.
    pub fn from_files(files: Vec<ConfigFile>) -> Config {
        Config { files }
    }

    /// Returns the path of the config file on `level` for the `.dvc` directory `dvc_dir`.
    ///
    /// - System: `$DVC_SYSTEM_CONFIG_DIR/config`, else the first entry of
    ///   `$XDG_CONFIG_DIRS` (default `/etc/xdg`) followed by `dvc/config`.
    /// - Global: `$DVC_GLOBAL_CONFIG_DIR/config`, else `$XDG_CONFIG_HOME/dvc/config`, else
    ///   `~/.config/dvc/config`.
    /// - Repo and local: `<dvc_dir>/config` and `<dvc_dir>/config.local`.
    pub fn file_path(level: Level, dvc_dir: &Path) -> PathBuf {
        file_path_with_env(level, dvc_dir, &env_var)
    }

    /// Returns the loaded files, from lowest to highest precedence.
    pub fn files(&self) -> &[ConfigFile] {
        &self.files
    }

    /// Returns the value of `key` in `section` from the highest level that sets it.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.lookup(section, key).map(|(value, _)| value)
    }

    /// Returns the default remote's name (`core.remote`), lower-cased.
    pub fn default_remote(&self) -> Option<String> {
        self.get("core", "remote")
            .filter(|name| !name.is_empty())
            .map(str::to_lowercase)
    }

    /// Returns the remote `name`, compared case-insensitively, with options merged per key.
    pub fn remote(&self, name: &str) -> Result<RemoteConfig, Error> {
        let name = name.to_lowercase();
        let section = remote_section(&name);
        let mut url = None;
        let mut options = BTreeMap::new();
        let mut found = false;

        for file in self.files.iter().filter(|file| file.has_section(&section)) {
            found = true;
            for (key, value) in file.section_values(&section) {
                if key == "url" {
                    url = Some((value.to_owned(), file.path().to_owned()));
                } else {
                    options.insert(key.to_owned(), value.to_owned());
                }
            }
        }
        if !found {
            return Err(Error::UnknownRemote {
                name,
                known: self.remote_names(),
            });
        }
        let Some((url, defined_in)) = url else {
            return Err(Error::MissingUrl { name });
        };
        Ok(RemoteConfig {
            name,
            url,
            options,
            defined_in,
        })
    }

    /// Returns every remote that has a `url`, sorted by name.
    pub fn remotes(&self) -> Vec<RemoteConfig> {
        let mut remotes = Vec::new();
        for name in self.remote_names() {
            match self.remote(&name) {
                Ok(remote) => remotes.push(remote),
                Err(error) => tracing::debug!(remote = %name, %error, "skipping remote"),
            }
        }
        remotes
    }

    /// Returns the names of all remote sections in any file, lower-cased and sorted.
    pub fn remote_names(&self) -> Vec<String> {
        let mut names = BTreeSet::new();
        for file in &self.files {
            for section in file.sections() {
                if let Some(name) = parse_remote_section(section) {
                    names.insert(name.to_owned());
                }
            }
        }
        names.into_iter().collect()
    }

    /// Returns `cache.dir` resolved like a local remote `url`, or `None` when it is unset
    /// or not a local path.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        let (value, file) = self.lookup("cache", "dir")?;
        let resolved = resolve_local(value, file.path(), home_dir(&env_var).as_deref());
        if resolved.is_none() {
            tracing::debug!(value, file = %file.path().display(), "cache.dir is not a local path");
        }
        resolved
    }

    /// Returns the link types of `cache.type` in order, or DVC's default `reflink, copy`.
    pub fn link_types(&self) -> Result<Vec<LinkType>, Error> {
        let Some((value, file)) = self.lookup("cache", "type") else {
            return Ok(DEFAULT_LINK_TYPES.to_vec());
        };
        value
            .split(',')
            .map(|item| {
                item.parse().map_err(|source| Error::InvalidLinkType {
                    path: file.path().to_owned(),
                    value: value.to_owned(),
                    source,
                })
            })
            .collect()
    }

    /// Returns the value and the file of the highest level that sets `key` in `section`.
    fn lookup(&self, section: &str, key: &str) -> Option<(&str, &ConfigFile)> {
        self.files
            .iter()
            .rev()
            .find_map(|file| file.get(section, key).map(|value| (value, file)))
    }
}

/// Returns the section name of the remote `name`, e.g. `remote "storage"`.
fn remote_section(name: &str) -> String {
    format!("remote \"{name}\"")
}

/// Returns the remote name of a section such as `remote "storage"`.
fn parse_remote_section(section: &str) -> Option<&str> {
    let quoted = section.strip_prefix("remote")?.trim_start();
    quoted.strip_prefix('"')?.strip_suffix('"')
}

/// Returns true if and only if the option `key` contains a secret such as a password or key.
pub(crate) fn is_secret_option(key: &str) -> bool {
    SECRET_OPTIONS.contains(&key.to_ascii_lowercase().as_str())
}

fn env_var(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// Looks up an environment variable, treating an empty or blank value as unset.
fn non_empty(env: &dyn Fn(&str) -> Option<OsString>, name: &str) -> Option<OsString> {
    env(name).filter(|value| !value.to_string_lossy().trim().is_empty())
}

fn home_dir(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    non_empty(env, "HOME")
        .map(PathBuf::from)
        .or_else(std::env::home_dir)
}

// NOTE: DVC 3 uses other system and global locations on macOS and Windows, such as
// `~/Library/Application Support/dvc` and `%LOCALAPPDATA%\iterative\dvc`. Only the XDG
// locations are implemented.
fn file_path_with_env(
    level: Level,
    dvc_dir: &Path,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> PathBuf {
    match level {
        Level::System => {
            if let Some(dir) = non_empty(env, "DVC_SYSTEM_CONFIG_DIR") {
                return PathBuf::from(dir).join("config");
            }
            let dirs = non_empty(env, "XDG_CONFIG_DIRS").unwrap_or_else(|| "/etc/xdg".into());
            let first = std::env::split_paths(&dirs)
                .next()
                .unwrap_or_else(|| "/etc/xdg".into());
            first.join("dvc").join("config")
        }
        Level::Global => {
            if let Some(dir) = non_empty(env, "DVC_GLOBAL_CONFIG_DIR") {
                return PathBuf::from(dir).join("config");
            }
            let config_home = match non_empty(env, "XDG_CONFIG_HOME") {
                Some(dir) => PathBuf::from(dir),
                // NOTE: without any home directory this falls back to `/.config`.
                None => home_dir(env)
                    .unwrap_or_else(|| PathBuf::from("/"))
                    .join(".config"),
            };
            config_home.join("dvc").join("config")
        }
        Level::Repo => dvc_dir.join("config"),
        Level::Local => dvc_dir.join("config.local"),
    }
}

/// Option names whose local path values DVC stores relative to the config file's directory.
pub const PATH_OPTIONS: &[&str] = &[
    "url",
    "credentialpath",
    "keyfile",
    "cert_path",
    "key_path",
    "gdrive_user_credentials_file",
    "gdrive_service_account_json_file_path",
];

/// Rewrites a path typed on the command line, relative to `cwd`, so that it means the same
/// place when read from `config_file`, as `dvc remote add` and `dvc remote modify` do.
///
/// Absolute paths, `~` forms and URLs with a scheme (`s3://`, `file://`) are kept as typed.
/// The result uses `/` separators, like DVC writes on every platform.
pub fn path_for_config_file(value: &str, cwd: &Path, config_file: &Path) -> String {
    if value.is_empty()
        || has_url_scheme(value)
        || value.starts_with('~')
        || Path::new(value).is_absolute()
    {
        return value.to_owned();
    }
    let target = normalize_lexically(&cwd.join(value));
    let base = normalize_lexically(&crate::git::absolute(
        config_file.parent().unwrap_or(Path::new(".")),
    ));
    let target_parts: Vec<Component<'_>> = target.components().collect();
    let base_parts: Vec<Component<'_>> = base.components().collect();
    let common = target_parts
        .iter()
        .zip(&base_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = vec!["..".to_owned(); base_parts.len() - common];
    parts.extend(
        target_parts[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// Returns true if `url` starts with a URL scheme such as `s3://`.
fn has_url_scheme(url: &str) -> bool {
    let Some((scheme, _)) = url.split_once("://") else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Resolves a local `url` written in the config file `defined_in`, or `None` for a remote URL.
fn resolve_local(url: &str, defined_in: &Path, home: Option<&Path>) -> Option<PathBuf> {
    let text = if let Some(rest) = url.strip_prefix("file://") {
        // `file:///abs` and `file://localhost/abs` are local. Another host is not.
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        if !rest.starts_with('/') {
            return None;
        }
        rest
    } else if has_url_scheme(url) {
        return None;
    } else {
        url
    };

    let expanded = match (text, home) {
        ("~", Some(home)) => home.to_owned(),
        (_, Some(home)) if text.starts_with("~/") => home.join(&text[2..]),
        _ => PathBuf::from(text),
    };
    let joined = if expanded.is_relative() {
        defined_in.parent().unwrap_or(Path::new("")).join(expanded)
    } else {
        expanded
    };
    Some(normalize_lexically(&joined))
}

/// Resolves `.` and `..` components without touching the file system.
fn normalize_lexically(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Replaces the password in the userinfo and secret query parameter values with `***`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let authority_end = url[authority_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| authority_start + i);
    let authority = &url[authority_start..authority_end];

    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..authority_start]);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    out.push_str(user);
                    out.push(':');
                    out.push_str(REDACTED);
                }
                None => out.push_str(userinfo),
            }
            out.push('@');
            out.push_str(host);
        }
        None => out.push_str(authority),
    }

    let rest = &url[authority_end..];
    let (before_fragment, fragment) = match rest.find('#') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match before_fragment.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let parameters: Vec<String> = query.split('&').map(redact_parameter).collect();
            out.push_str(&parameters.join("&"));
        }
        None => out.push_str(before_fragment),
    }
    out.push_str(fragment);
    out
}

fn redact_parameter(parameter: &str) -> String {
    match parameter.split_once('=') {
        Some((name, _))
            if SECRET_QUERY_PARAMETERS.contains(&name.to_ascii_lowercase().as_str()) =>
        {
            format!("{name}={REDACTED}")
        }
        _ => parameter.to_owned(),
    }
}

#[cfg(test)]
mod tests;
