//! `git exp install` and `git exp uninstall`: hook shims and refspecs.
//!
//! Install, for one repository (the default) or for every new clone and init:
//! 1. Find the hooks directory git really uses. For a repository that is
//!    `git rev-parse --git-path hooks`, which honours `core.hooksPath` and linked
//!    worktrees. For `--global` and `--system` it is that scope's `core.hooksPath`, else
//!    the `hooks` folder of its `init.templateDir`, else that of a template directory
//!    which install creates and sets as `init.templateDir`.
//! 2. Plan every hook before writing any. A shim of ours is upgraded in place and a
//!    missing hook is written. A foreign hook is chained (renamed to `<hook>.before-git-exp`,
//!    which the shim runs first), replaced with `force`, or left alone with `manual`.
//!    A foreign hook whose chained slot is already taken stops the install.
//! 3. Write each shim to a temporary file in the directory and rename it into place.
//! 4. For a repository, add the fetch refspec for experiments to the chosen remotes, and
//!    with `push_experiments` the push refspecs too.
//!
//! Every step is idempotent: a second install changes nothing. A failure in step 3 leaves
//! the hooks written so far in place, each one complete.
//!
//! Uninstall removes our shims, renames chained hooks back, and removes exactly the
//! refspecs install adds.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::Hook;
use crate::git::{self, Git, Repo};
use crate::refs;

/// Suffix of the name a foreign hook gets when install chains it.
pub const CHAINED_SUFFIX: &str = ".before-git-exp";

/// The comment that marks a hook file as one of our shims; the version number follows it.
pub const SHIM_MARKER: &str = "# git-exp hook shim, version ";

/// The fetch refspec install adds: experiments map to the same names locally, forced
/// because `dvc exp run -f` rewrites experiments.
pub const FETCH_REFSPEC: &str = "+refs/exps/*:refs/exps/*";

/// The push refspec `--push-experiments` adds.
pub const PUSH_REFSPEC: &str = "refs/exps/*:refs/exps/*";

/// Marks a remote whose `HEAD` push refspec install added, so that uninstall removes it.
const PUSH_HEAD_MARKER: &str = "gitExpPushHead";

/// Bytes of a hook file read to recognise a shim; the marker is on the second line.
const MARKER_SEARCH_LIMIT: u64 = 1024;

/// Errors from installing or uninstalling.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing git config, or asking git for the hooks directory, failed.
    #[error(transparent)]
    Git(#[from] git::Error),
    /// The hooks path exists but is not a directory (`core.hooksPath=/dev/null`, say).
    #[error(
        "the hooks path {path} is not a directory; unset or change core.hooksPath to install hooks"
    )]
    NotADirectory {
        /// The hooks path.
        path: PathBuf,
    },
    /// A global or system `core.hooksPath` is relative, so it names a folder per repository.
    #[error("core.hooksPath {path:?} in the {scope} config is relative, so every repository resolves it differently")]
    RelativeHooksPath {
        /// The configured value.
        path: String,
        /// `global` or `system`.
        scope: &'static str,
    },
    /// Neither `XDG_CONFIG_HOME` nor `HOME` is set, so there is no place for the template.
    #[error("cannot choose a template directory: neither XDG_CONFIG_HOME nor HOME is set")]
    NoHome,
    /// A foreign hook cannot be chained because an earlier chained hook is in the way.
    #[error("cannot chain {hook}: {chained} already holds another hook")]
    ChainSlotTaken {
        /// The foreign hook.
        hook: PathBuf,
        /// The occupied chained name.
        chained: PathBuf,
    },
    /// A remote named with `--git-remote` does not exist.
    #[error("no git remote named {name:?}")]
    UnknownRemote {
        /// The name given.
        name: String,
    },
    /// A file operation in the hooks directory failed.
    #[error("failed to {operation} {path}")]
    Io {
        /// The operation, such as "write".
        operation: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn io_error(operation: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io {
        operation,
        path,
        source,
    }
}

/// The configuration that install and uninstall change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One repository: its hooks directory and its remotes.
    Local,
    /// The user: every repository created by `git clone` or `git init` later.
    Global,
    /// Every user of the machine, like `Global`.
    System,
}

impl Scope {
    fn flag(self) -> &'static str {
        match self {
            Scope::Local => "--local",
            Scope::Global => "--global",
            Scope::System => "--system",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Scope::Local => "local",
            Scope::Global => "global",
            Scope::System => "system",
        }
    }
}

/// Settings of an install.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Overwrite foreign hooks instead of chaining them; the overwritten hooks are lost.
    pub force: bool,
    /// Leave foreign hooks alone and report the lines to add to each.
    pub manual: bool,
    /// Also add push refspecs, so that a bare `git push` pushes experiments.
    pub push_experiments: bool,
    /// Remotes to configure; empty means `origin`, or the only remote if there is one.
    pub remotes: Vec<String>,
}

/// The hooks directory and the setting that chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The absolute hooks directory.
    pub dir: PathBuf,
    /// The setting that chose it.
    pub source: Source,
}

/// The setting that chose the hooks directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The repository's own `hooks` directory.
    GitDir,
    /// `core.hooksPath`, set in the named config scope (`local`, `global`, ...).
    HooksPath {
        /// The scope as `git config --show-scope` prints it.
        scope: String,
    },
    /// The `hooks` folder of `init.templateDir`, copied into every new clone and init.
    Template {
        /// The template directory.
        template: PathBuf,
        /// True when it is the directory install creates, so uninstall also removes the
        /// `init.templateDir` setting.
        ours: bool,
    },
}

/// The kind of content of a hook file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookState {
    /// No file.
    Absent,
    /// One of our shims, of this version.
    Ours {
        /// The version after the marker.
        version: u32,
    },
    /// Anything else.
    Foreign,
}

/// Returns what the hook file at `path` holds.
pub fn hook_state(path: &Path) -> Result<HookState, Error> {
    if fs::symlink_metadata(path).is_err() {
        return Ok(HookState::Absent);
    }
    let mut head = Vec::new();
    match fs::File::open(path) {
        Ok(file) => {
            file.take(MARKER_SEARCH_LIMIT)
                .read_to_end(&mut head)
                .map_err(io_error("read", path))?;
        }
        // A dangling symbolic link or a directory is not ours.
        Err(_) => return Ok(HookState::Foreign),
    }
    let text = String::from_utf8_lossy(&head);
    let version = text
        .lines()
        .find_map(|line| line.strip_prefix(SHIM_MARKER))
        .and_then(|rest| rest.trim().parse().ok());
    Ok(match version {
        Some(version) => HookState::Ours { version },
        None => HookState::Foreign,
    })
}

/// Returns the version of the shims this build writes.
pub fn shim_version() -> u32 {
    let text = Hook::PrePush.shim();
    text.lines()
        .find_map(|line| line.strip_prefix(SHIM_MARKER))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or(0)
}

/// Returns the name a chained hook gets.
pub fn chained_path(hook_path: &Path) -> PathBuf {
    let mut name = hook_path.as_os_str().to_owned();
    name.push(CHAINED_SUFFIX);
    PathBuf::from(name)
}

/// The action install took for one hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookAction {
    /// Wrote the shim where there was no hook.
    Installed,
    /// Rewrote an older or edited shim of ours.
    Upgraded {
        /// The version found.
        from: u32,
    },
    /// The current shim was already there.
    UpToDate,
    /// Moved a foreign hook to `chained`, which the shim runs first.
    Chained {
        /// The foreign hook's new path.
        chained: PathBuf,
    },
    /// Overwrote a foreign hook (`force`).
    Replaced,
    /// Left a foreign hook alone (`manual`); `snippet` is what to add to it.
    Manual {
        /// Shell lines that run git-exp's part of the hook.
        snippet: &'static str,
    },
}

/// One hook's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookOutcome {
    /// The hook.
    pub hook: Hook,
    /// Its path.
    pub path: PathBuf,
    /// What happened.
    pub action: HookAction,
}

/// Refspecs install added to one remote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteOutcome {
    /// The remote.
    pub remote: String,
    /// Fetch refspecs added now; empty when all were there.
    pub added_fetch: Vec<String>,
    /// Push refspecs added now.
    pub added_push: Vec<String>,
    /// True when `fetch.prune` or `remote.<name>.prune` is on, so a fetch deletes local
    /// experiments the remote does not have.
    pub prunes: bool,
}

/// The result of an install.
#[derive(Debug, Clone)]
pub struct InstallReport {
    /// The hooks directory.
    pub location: Location,
    /// One entry per hook.
    pub hooks: Vec<HookOutcome>,
    /// The remotes configured.
    pub remotes: Vec<RemoteOutcome>,
    /// Remotes left unconfigured because none was chosen and none is `origin`.
    pub unchosen_remotes: Vec<String>,
}

/// Installs the hooks into the repository `repo` and configures its remotes.
pub fn install_local(repo: &Repo, options: &Options) -> Result<InstallReport, Error> {
    let git = repo.git();
    let location = local_location(&git)?;
    let hooks = install_hooks(&location.dir, options)?;

    let all_remotes = remote_names(&git)?;
    let chosen = choose_remotes(&all_remotes, &options.remotes)?;
    let mut remotes = Vec::new();
    for remote in &chosen {
        remotes.push(configure_remote(&git, remote, options.push_experiments)?);
    }
    let unchosen_remotes = if chosen.is_empty() {
        all_remotes
    } else {
        Vec::new()
    };
    Ok(InstallReport {
        location,
        hooks,
        remotes,
        unchosen_remotes,
    })
}

/// Installs the hooks for every repository that `git clone` or `git init` creates from now
/// on, in the global or system config.
pub fn install_shared(scope: Scope, options: &Options) -> Result<InstallReport, Error> {
    let git = Git::without_repository();
    let location = match shared_location(&git, scope)? {
        Some(location) => location,
        None => {
            let template = default_template_dir(scope)?;
            fs::create_dir_all(template.join("hooks"))
                .map_err(io_error("create directory", &template))?;
            let value = template.to_string_lossy().into_owned();
            git.config(&[scope.flag(), "init.templateDir", &value])?;
            Location {
                dir: template.join("hooks"),
                source: Source::Template {
                    template,
                    ours: true,
                },
            }
        }
    };
    let hooks = install_hooks(&location.dir, options)?;
    Ok(InstallReport {
        location,
        hooks,
        remotes: Vec::new(),
        unchosen_remotes: Vec::new(),
    })
}

/// Returns the hooks directory of the repository bound to `git`.
pub fn local_location(git: &Git) -> Result<Location, Error> {
    let dir = git.hooks_dir()?;
    let scope = git
        .config(&["--show-scope", "--get", "core.hooksPath"])?
        .map(|stdout| {
            String::from_utf8_lossy(&stdout)
                .split('\t')
                .next()
                .unwrap_or("")
                .to_owned()
        });
    let source = match scope {
        Some(scope) => Source::HooksPath { scope },
        None => Source::GitDir,
    };
    Ok(Location { dir, source })
}

/// Returns the hooks directory that `scope` already configures, or `None` when it sets
/// neither `core.hooksPath` nor `init.templateDir`.
fn shared_location(git: &Git, scope: Scope) -> Result<Option<Location>, Error> {
    let get = |key: &str| -> Result<Option<String>, Error> {
        let stdout = git.config(&[scope.flag(), "--type=path", "--get", key])?;
        Ok(stdout
            .map(|s| {
                String::from_utf8_lossy(&s)
                    .trim_end_matches(['\n', '\r'])
                    .to_owned()
            })
            .filter(|s| !s.is_empty()))
    };
    if let Some(path) = get("core.hooksPath")? {
        if !Path::new(&path).is_absolute() {
            return Err(Error::RelativeHooksPath {
                path,
                scope: scope.name(),
            });
        }
        return Ok(Some(Location {
            dir: PathBuf::from(path),
            source: Source::HooksPath {
                scope: scope.name().to_owned(),
            },
        }));
    }
    if let Some(template) = get("init.templateDir")? {
        let template = PathBuf::from(template);
        return Ok(Some(Location {
            dir: template.join("hooks"),
            source: Source::Template {
                ours: template == default_template_dir(scope)?,
                template,
            },
        }));
    }
    Ok(None)
}

/// Returns the template directory install creates when the global or system config has
/// none: `$XDG_CONFIG_HOME/git-exp/template` (default `~/.config`) for the user, and
/// `/usr/local/share/git-exp/template` for the system.
pub fn default_template_dir(scope: Scope) -> Result<PathBuf, Error> {
    match scope {
        Scope::System => Ok(PathBuf::from("/usr/local/share/git-exp/template")),
        Scope::Global | Scope::Local => {
            let config = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
                Some(dir) => PathBuf::from(dir),
                None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
                    Some(home) => PathBuf::from(home).join(".config"),
                    None => return Err(Error::NoHome),
                },
            };
            Ok(config.join("git-exp").join("template"))
        }
    }
}

/// Plans every hook, then writes them; nothing is written when a hook cannot be handled.
fn install_hooks(dir: &Path, options: &Options) -> Result<Vec<HookOutcome>, Error> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::NotADirectory {
            path: dir.to_path_buf(),
        });
    }

    let mut planned = Vec::new();
    for hook in Hook::ALL {
        let path = dir.join(hook.name());
        let chained = chained_path(&path);
        let action = match hook_state(&path)? {
            HookState::Absent => HookAction::Installed,
            HookState::Ours { version } => {
                if is_current_shim(&path, hook) {
                    HookAction::UpToDate
                } else {
                    HookAction::Upgraded { from: version }
                }
            }
            HookState::Foreign if options.manual => HookAction::Manual {
                snippet: manual_snippet(hook),
            },
            HookState::Foreign if options.force => HookAction::Replaced,
            HookState::Foreign => {
                if fs::symlink_metadata(&chained).is_ok() {
                    return Err(Error::ChainSlotTaken {
                        hook: path,
                        chained,
                    });
                }
                HookAction::Chained { chained }
            }
        };
        planned.push(HookOutcome { hook, path, action });
    }

    fs::create_dir_all(dir).map_err(io_error("create directory", dir))?;
    for outcome in &planned {
        match &outcome.action {
            HookAction::UpToDate | HookAction::Manual { .. } => {}
            HookAction::Chained { chained } => {
                fs::rename(&outcome.path, chained).map_err(io_error("rename", &outcome.path))?;
                write_shim(dir, &outcome.path, outcome.hook)?;
            }
            HookAction::Installed | HookAction::Upgraded { .. } | HookAction::Replaced => {
                write_shim(dir, &outcome.path, outcome.hook)?;
            }
        }
    }
    Ok(planned)
}

fn is_current_shim(path: &Path, hook: Hook) -> bool {
    let executable = fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 == 0o111);
    executable && fs::read(path).is_ok_and(|content| content == hook.shim().as_bytes())
}

/// Writes the shim of `hook` to a temporary file in `dir` and renames it over `path`.
fn write_shim(dir: &Path, path: &Path, hook: Hook) -> Result<(), Error> {
    let mut file = tempfile::Builder::new()
        .prefix(&format!(".{}.", hook.name()))
        .tempfile_in(dir)
        .map_err(io_error("create a temporary file in", dir))?;
    file.write_all(hook.shim().as_bytes())
        .map_err(io_error("write", file.path()))?;
    file.as_file()
        .set_permissions(fs::Permissions::from_mode(0o755))
        .map_err(io_error("set permissions of", path))?;
    file.persist(path).map_err(|e| Error::Io {
        operation: "write",
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

/// Returns the lines to add to a foreign `hook` so that it runs git-exp's part.
pub fn manual_snippet(hook: Hook) -> &'static str {
    match hook {
        Hook::PrePush => concat!(
            "# Upload the DVC data of pushed experiments first; git-exp reads this hook's input,\n",
            "# so a hook that reads it too must save it and pass it to both.\n",
            "command -v git-exp >/dev/null 2>&1 || { echo >&2 \"pre-push: git-exp is not on PATH\"; exit 1; }\n",
            "git-exp hook pre-push \"$@\" || exit $?\n",
        ),
        Hook::ReferenceTransaction => concat!(
            "# Download the DVC data of experiment refs that changed; git-exp reads this hook's input.\n",
            "if [ \"$1\" = committed ] && command -v git-exp >/dev/null 2>&1; then\n",
            "    git-exp hook reference-transaction \"$@\" || true\n",
            "fi\n",
        ),
        Hook::PostCheckout => concat!(
            "# Make the DVC outputs match the new HEAD after a branch checkout.\n",
            "if [ \"$3\" = 1 ] && command -v git-exp >/dev/null 2>&1; then\n",
            "    git-exp hook post-checkout \"$@\"\n",
            "fi\n",
        ),
        Hook::PostMerge => concat!(
            "# Make the DVC outputs match the new HEAD after a merge.\n",
            "if command -v git-exp >/dev/null 2>&1; then\n",
            "    git-exp hook post-merge \"$@\"\n",
            "fi\n",
        ),
    }
}

/// Returns the negative refspecs that keep DVC's internal refs out of fetches and pushes.
pub fn negative_refspecs() -> Vec<String> {
    refs::INTERNAL_PREFIXES
        .iter()
        .map(|prefix| {
            if prefix.ends_with('/') {
                format!("^{prefix}*")
            } else {
                format!("^{prefix}")
            }
        })
        .collect()
}

fn remote_names(git: &Git) -> Result<Vec<String>, Error> {
    let stdout = git.output(&["remote"])?;
    Ok(String::from_utf8_lossy(&stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

/// Picks the remotes to configure: the requested ones, else `origin`, else the only remote.
///
/// Two remotes that both map into `refs/exps/*` overwrite each other's experiments, and a
/// pruning fetch from one deletes the other's, so the default is one remote at most.
fn choose_remotes(all: &[String], requested: &[String]) -> Result<Vec<String>, Error> {
    if !requested.is_empty() {
        for name in requested {
            if !all.contains(name) {
                return Err(Error::UnknownRemote { name: name.clone() });
            }
        }
        return Ok(requested.to_vec());
    }
    if all.iter().any(|name| name == "origin") {
        return Ok(vec!["origin".to_owned()]);
    }
    Ok(match all {
        [only] => vec![only.clone()],
        _ => Vec::new(),
    })
}

fn configure_remote(
    git: &Git,
    remote: &str,
    push_experiments: bool,
) -> Result<RemoteOutcome, Error> {
    let mut outcome = RemoteOutcome {
        remote: remote.to_owned(),
        ..RemoteOutcome::default()
    };

    let fetch_key = format!("remote.{remote}.fetch");
    let mut required = vec![FETCH_REFSPEC.to_owned()];
    required.extend(negative_refspecs());
    outcome.added_fetch = add_missing_values(git, &fetch_key, &required)?;

    if push_experiments {
        let push_key = format!("remote.{remote}.push");
        let mut required = Vec::new();
        if git.config_values(&push_key)?.is_empty() {
            // The first push refspec replaces push.default, so the current branch must be
            // named for a bare `git push` to keep pushing it.
            required.push("HEAD".to_owned());
            git.config(&[
                "--local",
                &format!("remote.{remote}.{PUSH_HEAD_MARKER}"),
                "true",
            ])?;
        }
        required.push(PUSH_REFSPEC.to_owned());
        required.extend(negative_refspecs());
        outcome.added_push = add_missing_values(git, &push_key, &required)?;
    }

    outcome.prunes = is_true(git, &format!("remote.{remote}.prune"))?
        .or(is_true(git, "fetch.prune")?)
        .unwrap_or(false);
    Ok(outcome)
}

fn add_missing_values(git: &Git, key: &str, required: &[String]) -> Result<Vec<String>, Error> {
    let existing = git.config_values(key)?;
    let mut added = Vec::new();
    for value in required {
        if !existing.contains(value) {
            git.config(&["--local", "--add", key, value])?;
            added.push(value.clone());
        }
    }
    Ok(added)
}

fn is_true(git: &Git, key: &str) -> Result<Option<bool>, Error> {
    let stdout = git.config(&["--type=bool", "--get", key])?;
    Ok(stdout.map(|s| String::from_utf8_lossy(&s).trim() == "true"))
}

/// The action uninstall took for one hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveAction {
    /// Deleted our shim.
    Removed,
    /// Put the chained hook back in place of our shim.
    Restored {
        /// The chained hook's path before the rename.
        from: PathBuf,
    },
    /// Left a hook that is not ours.
    NotOurs,
    /// There was no hook.
    Absent,
}

/// The result of an uninstall.
#[derive(Debug, Clone)]
pub struct UninstallReport {
    /// The hooks directory, when there is one.
    pub dir: Option<PathBuf>,
    /// One entry per hook.
    pub hooks: Vec<(Hook, PathBuf, RemoveAction)>,
    /// Refspecs removed, per remote.
    pub remotes: Vec<(String, Vec<String>)>,
    /// The template directory whose `init.templateDir` setting was removed.
    pub template_unset: Option<PathBuf>,
}

/// Removes our hooks from the repository `repo` and the refspecs install added to its remotes.
pub fn uninstall_local(repo: &Repo) -> Result<UninstallReport, Error> {
    let git = repo.git();
    let location = local_location(&git)?;
    let hooks = remove_hooks(&location.dir)?;
    let mut remotes = Vec::new();
    for remote in remote_names(&git)? {
        let removed = unconfigure_remote(&git, &remote)?;
        if !removed.is_empty() {
            remotes.push((remote, removed));
        }
    }
    Ok(UninstallReport {
        dir: Some(location.dir),
        hooks,
        remotes,
        template_unset: None,
    })
}

/// Removes our hooks from the global or system hooks location, and `init.templateDir` when
/// install set it.
pub fn uninstall_shared(scope: Scope) -> Result<UninstallReport, Error> {
    let git = Git::without_repository();
    let Some(location) = shared_location(&git, scope)? else {
        return Ok(UninstallReport {
            dir: None,
            hooks: Vec::new(),
            remotes: Vec::new(),
            template_unset: None,
        });
    };
    let hooks = remove_hooks(&location.dir)?;
    let mut template_unset = None;
    if let Source::Template {
        template,
        ours: true,
    } = &location.source
    {
        git.config(&[scope.flag(), "--unset", "init.templateDir"])?;
        // Only the folders install created go, and only when nothing else is in them.
        let _ = fs::remove_dir(&location.dir);
        let _ = fs::remove_dir(template);
        template_unset = Some(template.clone());
    }
    Ok(UninstallReport {
        dir: Some(location.dir),
        hooks,
        remotes: Vec::new(),
        template_unset,
    })
}

fn remove_hooks(dir: &Path) -> Result<Vec<(Hook, PathBuf, RemoveAction)>, Error> {
    let mut done = Vec::new();
    for hook in Hook::ALL {
        let path = dir.join(hook.name());
        let chained = chained_path(&path);
        let has_chained = fs::symlink_metadata(&chained).is_ok();
        let action = match hook_state(&path)? {
            HookState::Foreign => RemoveAction::NotOurs,
            HookState::Ours { .. } | HookState::Absent if has_chained => {
                fs::rename(&chained, &path).map_err(io_error("rename", &chained))?;
                RemoveAction::Restored { from: chained }
            }
            HookState::Ours { .. } => {
                fs::remove_file(&path).map_err(io_error("remove", &path))?;
                RemoveAction::Removed
            }
            HookState::Absent => RemoveAction::Absent,
        };
        done.push((hook, path, action));
    }
    Ok(done)
}

fn unconfigure_remote(git: &Git, remote: &str) -> Result<Vec<String>, Error> {
    let mut removed = Vec::new();
    let mut ours = vec![FETCH_REFSPEC.to_owned()];
    ours.extend(negative_refspecs());
    removed.extend(remove_values(
        git,
        &format!("remote.{remote}.fetch"),
        &ours,
    )?);

    let mut ours = vec![PUSH_REFSPEC.to_owned()];
    ours.extend(negative_refspecs());
    let marker = format!("remote.{remote}.{PUSH_HEAD_MARKER}");
    if is_true(git, &marker)? == Some(true) {
        ours.push("HEAD".to_owned());
        git.config(&["--local", "--unset-all", &marker])?;
    }
    removed.extend(remove_values(git, &format!("remote.{remote}.push"), &ours)?);
    Ok(removed)
}

fn remove_values(git: &Git, key: &str, ours: &[String]) -> Result<Vec<String>, Error> {
    let existing = git.config_values(key)?;
    let mut removed = Vec::new();
    for value in ours {
        if existing.contains(value) {
            git.config(&["--local", "--fixed-value", "--unset-all", key, value])?;
            removed.push(format!("{key} {value}"));
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shim_carries_the_marker_and_version() {
        let version = shim_version();
        assert_eq!(version, 1);
        for hook in Hook::ALL {
            let marker = format!("{SHIM_MARKER}{version}\n");
            assert!(hook.shim().starts_with("#!/bin/sh\n"), "{hook}");
            assert!(hook.shim().contains(&marker), "{hook}");
            assert!(
                hook.shim()
                    .contains(&format!("git-exp hook {}", hook.name())),
                "{hook}"
            );
        }
    }

    #[test]
    fn hook_states_are_recognised() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ours = dir.path().join("ours");
        let foreign = dir.path().join("foreign");
        fs::write(&ours, Hook::PostMerge.shim()).expect("write");
        fs::write(&foreign, "#!/bin/sh\nexit 0\n").expect("write");
        assert_eq!(
            hook_state(&ours).expect("state"),
            HookState::Ours { version: 1 }
        );
        assert_eq!(hook_state(&foreign).expect("state"), HookState::Foreign);
        assert_eq!(
            hook_state(&dir.path().join("none")).expect("state"),
            HookState::Absent
        );
    }

    #[test]
    fn negatives_cover_internal_namespaces() {
        assert_eq!(
            negative_refspecs(),
            vec![
                "^refs/exps/exec/*",
                "^refs/exps/apply/*",
                "^refs/exps/celery/*",
                "^refs/exps/temp/*",
                "^refs/exps/stash"
            ]
        );
    }

    #[test]
    fn default_remote_is_origin_or_the_only_one() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            choose_remotes(&names(&["a", "origin"]), &[]).expect("chosen"),
            names(&["origin"])
        );
        assert_eq!(
            choose_remotes(&names(&["up"]), &[]).expect("chosen"),
            names(&["up"])
        );
        assert_eq!(
            choose_remotes(&names(&["a", "b"]), &[]).expect("chosen"),
            Vec::<String>::new()
        );
        assert_eq!(
            choose_remotes(&names(&["a", "b"]), &names(&["b"])).expect("chosen"),
            names(&["b"])
        );
        assert!(matches!(
            choose_remotes(&names(&["a"]), &names(&["c"])),
            Err(Error::UnknownRemote { .. })
        ));
    }
}
