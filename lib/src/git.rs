//! The Git side: reading commits, trees and refs in-process with gix, and running the
//! user's own `git` for everything that talks to a remote.
//!
//! Network work always goes through the `git` binary so that SSH config, credential
//! helpers and `insteadOf` rules apply exactly as for the user's own commands. Every
//! child gets an absolute `--git-dir`, no hooks, a null stdin and the recursion guard.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use gix::ObjectId as CommitId;

/// Environment variable that marks a process started by git-remote-exp or git-exp.
///
/// Hooks and the helper do nothing when they find it set, so an inner `git push` can never
/// start another round of uploads.
pub const GUARD_ENV: &str = "GIT_REMOTE_EXP_ACTIVE";

/// Memory for decoded objects that the repository keeps for reuse.
const OBJECT_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// Variables that tie a git process to one repository; cleared before running git anywhere.
const LOCAL_ENV_VARS: [&str; 12] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_SHALLOW_FILE",
    "GIT_GRAFT_FILE",
    "GIT_REPLACE_REF_BASE",
    "GIT_IMPLICIT_WORK_TREE",
];

/// Errors from reading the repository or running git.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The repository could not be opened.
    #[error("cannot open the git repository at {path}")]
    Open {
        /// The path that was tried.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A revision did not resolve to a commit.
    #[error("unknown revision {spec:?}: it names no commit in this repository")]
    UnknownRevision {
        /// The revision as given.
        spec: String,
    },
    /// An object could not be read.
    #[error("cannot read {what} from the git repository")]
    Read {
        /// The object or ref that was being read.
        what: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The `git` binary could not be started.
    #[error("cannot run git {args}")]
    Spawn {
        /// The arguments, for the message.
        args: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `git` exited with a failure.
    #[error("git {args} failed: {stderr}")]
    Failed {
        /// The arguments, for the message.
        args: String,
        /// The first lines of git's error output.
        stderr: String,
    },
}

fn read_error(
    what: impl Into<String>,
) -> impl FnOnce(Box<dyn std::error::Error + Send + Sync>) -> Error {
    let what = what.into();
    move |source| Error::Read { what, source }
}

/// A DVC metafile found in a commit's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetafileBlob {
    /// Repository-relative path, `/`-separated.
    pub path: String,
    /// The blob holding its content.
    pub blob: CommitId,
}

/// Returns true if and only if a file with this name is a DVC metafile.
pub fn is_metafile_name(name: &[u8]) -> bool {
    name == b"dvc.lock" || name == b"dvc.yaml" || (name.ends_with(b".dvc") && name.len() > 4)
}

/// An opened repository, read in-process.
pub struct Repo {
    inner: gix::Repository,
    git_dir: PathBuf,
    work_tree: Option<PathBuf>,
    /// Metafiles below each tree already walked, so history that shares subtrees is walked once.
    metafiles_by_tree: RefCell<HashMap<CommitId, std::rc::Rc<Vec<MetafileBlob>>>>,
}

impl Repo {
    /// Opens the repository whose git directory is `git_dir`.
    pub fn open(git_dir: &Path) -> Result<Repo, Error> {
        let git_dir = absolute(git_dir);
        let inner = gix::open(&git_dir).map_err(|e| Error::Open {
            path: git_dir.clone(),
            source: Box::new(e),
        })?;
        Ok(Self::from_gix(inner))
    }

    /// Finds the repository containing `start`, honouring `GIT_DIR` and `GIT_WORK_TREE`
    /// when they are set, as git does for the hooks it runs and for users who export them.
    ///
    /// Relative values are taken relative to `start`.
    pub fn discover(start: &Path) -> Result<Repo, Error> {
        let inner = match std::env::var_os("GIT_DIR") {
            Some(dir) => {
                let dir = absolute(&start.join(dir));
                gix::open(&dir).map_err(|e| Error::Open {
                    path: dir.clone(),
                    source: Box::new(e),
                })?
            }
            None => gix::discover(start).map_err(|e| Error::Open {
                path: start.to_path_buf(),
                source: Box::new(e),
            })?,
        };
        let mut repo = Self::from_gix(inner);
        if let Some(work_tree) = std::env::var_os("GIT_WORK_TREE") {
            repo.work_tree = Some(absolute(&start.join(work_tree)));
        }
        Ok(repo)
    }

    fn from_gix(mut inner: gix::Repository) -> Repo {
        // Planning a push reads the same commits once per ref that reaches them; decoding
        // each again dominated the cost of pushing thousands of refs.
        inner.object_cache_size_if_unset(OBJECT_CACHE_BYTES);
        let git_dir = absolute(inner.git_dir());
        let work_tree = inner.workdir().map(absolute);
        Repo {
            inner,
            git_dir,
            work_tree,
            metafiles_by_tree: RefCell::new(HashMap::new()),
        }
    }

    /// Returns the absolute git directory.
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// Returns the absolute work tree, or `None` for a bare repository.
    pub fn work_tree(&self) -> Option<&Path> {
        self.work_tree.as_deref()
    }

    /// Returns the number of hex digits in this repository's object ids (40 or 64).
    pub fn hex_len(&self) -> usize {
        self.inner.object_hash().len_in_hex()
    }

    /// Returns a runner for the user's `git` bound to this repository.
    pub fn git(&self) -> Git {
        Git {
            git_dir: Some(self.git_dir.clone()),
            work_tree: self.work_tree.clone(),
        }
    }

    /// Resolves `spec` (a ref, a hex id, `HEAD~1`, ...) to a commit id.
    pub fn resolve_commit(&self, spec: &str) -> Result<CommitId, Error> {
        let unknown = || Error::UnknownRevision {
            spec: spec.to_owned(),
        };
        let id = self.inner.rev_parse_single(spec).map_err(|_| unknown())?;
        let object = id.object().map_err(|_| unknown())?;
        let commit = object.peel_to_commit().map_err(|_| unknown())?;
        Ok(commit.id)
    }

    /// Resolves `spec` to the object it names, without peeling tags.
    pub fn resolve_object(&self, spec: &str) -> Result<CommitId, Error> {
        let id = self
            .inner
            .rev_parse_single(spec)
            .map_err(|_| Error::UnknownRevision {
                spec: spec.to_owned(),
            })?;
        Ok(id.detach())
    }

    /// Returns the commit HEAD points at, or `None` on an unborn branch.
    pub fn head_commit(&self) -> Result<Option<CommitId>, Error> {
        let head = self
            .inner
            .head()
            .map_err(|e| read_error("HEAD")(Box::new(e)))?;
        Ok(head.id().map(|id| id.detach()))
    }

    /// Returns the full ref name HEAD points at, or `None` when HEAD is detached.
    pub fn head_ref_name(&self) -> Result<Option<String>, Error> {
        let head = self
            .inner
            .head_name()
            .map_err(|e| read_error("HEAD")(Box::new(e)))?;
        Ok(head.map(|name| name.as_bstr().to_string()))
    }

    /// Returns true if and only if the object database has `id`.
    pub fn has_object(&self, id: &CommitId) -> bool {
        self.inner.has_object(id)
    }

    /// Returns every ref under `prefix` with the commit it peels to, sorted by name.
    ///
    /// Refs whose names are not UTF-8 or that do not peel to a commit are skipped.
    pub fn refs_with_prefix(&self, prefix: &str) -> Result<Vec<(String, CommitId)>, Error> {
        let what = || format!("refs under {prefix}");
        let platform = self
            .inner
            .references()
            .map_err(|e| read_error(what())(Box::new(e)))?;
        let iter = platform
            .prefixed(prefix)
            .map_err(|e| read_error(what())(Box::new(e)))?;
        let mut refs = Vec::new();
        for reference in iter {
            let mut reference = reference.map_err(|e| read_error(what())(Box::new(e)))?;
            let name = reference.name().as_bstr().to_string();
            match reference.peel_to_commit() {
                Ok(commit) => refs.push((name, commit.id)),
                Err(error) => {
                    tracing::debug!(%name, %error, "skipping ref that does not peel to a commit")
                }
            }
        }
        refs.sort();
        Ok(refs)
    }

    /// Returns the commits reachable from `tip` but not from any of `hidden`, newest first.
    ///
    /// Hidden ids the repository does not have are ignored, as `rev-list --ignore-missing` does.
    pub fn commits_in_range(
        &self,
        tip: CommitId,
        hidden: &[CommitId],
    ) -> Result<Vec<CommitId>, Error> {
        let what = || format!("history of commit {tip}");
        let hidden: Vec<CommitId> = hidden
            .iter()
            .copied()
            .filter(|id| self.has_object(id))
            .collect();
        let walk = self
            .inner
            .rev_walk([tip])
            .with_hidden(hidden)
            .all()
            .map_err(|e| read_error(what())(Box::new(e)))?;
        let mut commits = Vec::new();
        for info in walk {
            let info = info.map_err(|e| read_error(what())(Box::new(e)))?;
            commits.push(info.id);
        }
        Ok(commits)
    }

    /// Returns the first parent of `commit`, if it has one.
    pub fn first_parent(&self, commit: CommitId) -> Result<Option<CommitId>, Error> {
        let object = self
            .inner
            .find_commit(commit)
            .map_err(|e| read_error(format!("commit {commit}"))(Box::new(e)))?;
        let parent = object.parent_ids().next().map(|id| id.detach());
        Ok(parent)
    }

    /// Returns the committer time of `commit` in seconds since the Unix epoch.
    pub fn commit_seconds(&self, commit: CommitId) -> Result<i64, Error> {
        let what = || format!("commit {commit}");
        let object = self
            .inner
            .find_commit(commit)
            .map_err(|e| read_error(what())(Box::new(e)))?;
        let time = object.time().map_err(|e| read_error(what())(Box::new(e)))?;
        Ok(time.seconds)
    }

    /// Returns the DVC metafiles (`dvc.lock`, `dvc.yaml`, `*.dvc`) in the tree of `commit`.
    pub fn metafiles(&self, commit: CommitId) -> Result<Vec<MetafileBlob>, Error> {
        let object = self
            .inner
            .find_commit(commit)
            .map_err(|e| read_error(format!("commit {commit}"))(Box::new(e)))?;
        let tree = object
            .tree_id()
            .map_err(|e| read_error(format!("tree of commit {commit}"))(Box::new(e)))?
            .detach();
        let found = self.metafiles_below(tree, "")?;
        Ok(found.as_ref().clone())
    }

    fn metafiles_below(
        &self,
        tree: CommitId,
        prefix: &str,
    ) -> Result<std::rc::Rc<Vec<MetafileBlob>>, Error> {
        // Memoised paths are relative to the tree; callers with a prefix re-root them.
        if let Some(found) = self.metafiles_by_tree.borrow().get(&tree) {
            return Ok(reroot(found, prefix));
        }

        let what = || format!("tree {tree}");
        let object = self
            .inner
            .find_tree(tree)
            .map_err(|e| read_error(what())(Box::new(e)))?;
        let decoded = object
            .decode()
            .map_err(|e| read_error(what())(Box::new(e)))?;
        let mut found = Vec::new();
        for entry in &decoded.entries {
            let name = entry.filename.to_vec();
            let Ok(name) = String::from_utf8(name) else {
                continue;
            };
            if entry.mode.is_tree() {
                let below = self.metafiles_below(entry.oid.to_owned(), &name)?;
                found.extend(below.iter().cloned());
            } else if entry.mode.is_blob() && is_metafile_name(name.as_bytes()) {
                found.push(MetafileBlob {
                    path: name,
                    blob: entry.oid.to_owned(),
                });
            }
        }

        let found = std::rc::Rc::new(found);
        self.metafiles_by_tree
            .borrow_mut()
            .insert(tree, found.clone());
        Ok(reroot(&found, prefix))
    }

    /// Returns the content of blob `id`.
    pub fn read_blob(&self, id: CommitId) -> Result<Vec<u8>, Error> {
        let blob = self
            .inner
            .find_blob(id)
            .map_err(|e| read_error(format!("blob {id}"))(Box::new(e)))?;
        Ok(blob.data.clone())
    }

    /// Returns the content of the file at `path` in the tree of `commit`, or `None` if absent.
    pub fn read_path(&self, commit: CommitId, path: &str) -> Result<Option<Vec<u8>>, Error> {
        let what = || format!("{path} in commit {commit}");
        let object = self
            .inner
            .find_commit(commit)
            .map_err(|e| read_error(what())(Box::new(e)))?;
        let tree = object.tree().map_err(|e| read_error(what())(Box::new(e)))?;
        let entry = tree
            .lookup_entry_by_path(path)
            .map_err(|e| read_error(what())(Box::new(e)))?;
        match entry {
            Some(entry) if entry.mode().is_blob() => Ok(Some(self.read_blob(entry.object_id())?)),
            _ => Ok(None),
        }
    }
}

fn reroot(found: &std::rc::Rc<Vec<MetafileBlob>>, prefix: &str) -> std::rc::Rc<Vec<MetafileBlob>> {
    if prefix.is_empty() {
        return found.clone();
    }
    std::rc::Rc::new(
        found
            .iter()
            .map(|m| MetafileBlob {
                path: format!("{prefix}/{}", m.path),
                blob: m.blob,
            })
            .collect(),
    )
}

/// Makes `path` absolute against the current directory without touching the filesystem.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A ref as `git ls-remote` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteRef {
    /// A ref and the object it points at.
    Direct {
        /// The full ref name.
        name: String,
        /// The hex object id.
        oid: String,
    },
    /// A symbolic ref such as `HEAD` and its target.
    Symbolic {
        /// The symbolic ref's name.
        name: String,
        /// The ref it points to.
        target: String,
    },
}

/// Options for an inner `git push`.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// Pass `--dry-run`.
    pub dry_run: bool,
    /// Pass `--atomic`.
    pub atomic: bool,
    /// One `--force-with-lease=<ref>:<oid>` each.
    pub leases: Vec<String>,
    /// One `-o <value>` each.
    pub push_options: Vec<String>,
    /// Show git's progress on stderr.
    pub progress: bool,
    /// Pass `--force-if-includes`.
    pub force_if_includes: bool,
}

/// The status `git push --porcelain` reported for one destination ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushStatus {
    /// The destination ref.
    pub dst: String,
    /// The porcelain flag character (` `, `+`, `-`, `*`, `=`, `!`).
    pub flag: char,
    /// The summary text, such as `[rejected] (non-fast-forward)`.
    pub summary: String,
}

/// Runs the user's `git`, bound to one repository or to none.
#[derive(Debug, Clone)]
pub struct Git {
    git_dir: Option<PathBuf>,
    work_tree: Option<PathBuf>,
}

impl Git {
    /// Returns a runner that is bound to no repository, for `ls-remote` outside one.
    pub fn without_repository() -> Git {
        Git {
            git_dir: None,
            work_tree: None,
        }
    }

    /// Returns a runner bound to the repository at `git_dir`.
    pub fn for_git_dir(git_dir: &Path, work_tree: Option<&Path>) -> Git {
        Git {
            git_dir: Some(absolute(git_dir)),
            work_tree: work_tree.map(absolute),
        }
    }

    /// Builds a `git` command with a clean environment, no hooks and the recursion guard.
    pub fn command(&self) -> Command {
        let mut command = self.command_with_user_hooks();
        command.arg("-c").arg("core.hooksPath=/dev/null");
        command
    }

    /// Builds a `git` command like [`Git::command`] but without overriding `core.hooksPath`,
    /// for the commands that read or write it.
    fn command_with_user_hooks(&self) -> Command {
        let mut command = Command::new("git");
        for var in LOCAL_ENV_VARS {
            command.env_remove(var);
        }
        command.env(GUARD_ENV, "1");
        if let Some(dir) = &self.git_dir {
            let mut arg = OsString::from("--git-dir=");
            arg.push(dir);
            command.arg(arg);
        }
        if let Some(dir) = &self.work_tree {
            let mut arg = OsString::from("--work-tree=");
            arg.push(dir);
            command.arg(arg);
        }
        // The working directory stays the caller's: git resolves relative remote URLs against it.
        command.stdin(Stdio::null());
        command
    }

    /// Runs git with `args` and returns its stdout; stderr is captured into the error.
    pub fn output(&self, args: &[&str]) -> Result<Vec<u8>, Error> {
        let mut command = self.command();
        command.args(args);
        let shown = shown_args(args);
        let output = run_logged(&mut command, &shown)?;
        success_stdout(output, shown)
    }

    /// Returns the value of the git config `key`, or `None` when it is unset.
    pub fn config_get(&self, key: &str) -> Result<Option<String>, Error> {
        let output = self.unchecked_output(&["config", "--get", key])?;
        match output.status.code() {
            Some(0) => Ok(Some(
                String::from_utf8_lossy(&output.stdout)
                    .trim_end_matches('\n')
                    .to_owned(),
            )),
            Some(1) => Ok(None),
            _ => Err(Error::Failed {
                args: format!("config --get {key}"),
                stderr: first_lines(&output.stderr),
            }),
        }
    }

    /// Runs `git config` with `args` and returns its stdout, or `None` when git exits with
    /// status 1 or 5, which `git config` uses for "no such key" and "nothing to unset".
    ///
    /// Unlike [`Git::output`], this runs with the user's own `core.hooksPath`.
    pub fn config(&self, args: &[&str]) -> Result<Option<Vec<u8>>, Error> {
        let mut command = self.command_with_user_hooks();
        command.arg("config").args(args);
        let shown = format!("config {}", shown_args(args));
        let output = run_logged(&mut command, &shown)?;
        match output.status.code() {
            Some(0) => Ok(Some(output.stdout)),
            Some(1) | Some(5) => Ok(None),
            _ => Err(Error::Failed {
                args: shown,
                stderr: first_lines(&output.stderr),
            }),
        }
    }

    /// Returns true if and only if `ancestor` is `descendant` or one of its ancestors.
    ///
    /// Both commits must be in the repository; `git merge-base --is-ancestor` fails otherwise.
    pub fn is_ancestor(&self, ancestor: &CommitId, descendant: &CommitId) -> Result<bool, Error> {
        let (ancestor, descendant) = (ancestor.to_string(), descendant.to_string());
        let args = [
            "merge-base",
            "--is-ancestor",
            ancestor.as_str(),
            descendant.as_str(),
        ];
        let output = self.unchecked_output(&args)?;
        match output.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(Error::Failed {
                args: args.join(" "),
                stderr: first_lines(&output.stderr),
            }),
        }
    }

    /// Points `refname` at `new` with `git update-ref`, recording `message` in the reflog.
    ///
    /// `old` is the value the ref must have now, and `None` requires that the ref does not
    /// exist. A concurrent change therefore makes the update fail instead of being lost.
    pub fn update_ref(
        &self,
        refname: &str,
        new: &CommitId,
        old: Option<&CommitId>,
        message: &str,
    ) -> Result<(), Error> {
        let new = new.to_string();
        let old = old.map(ToString::to_string).unwrap_or_default();
        self.output(&["update-ref", "-m", message, refname, &new, &old])?;
        Ok(())
    }

    /// Deletes `refname` with `git update-ref -d`, provided it still points at `old`.
    pub fn delete_ref(&self, refname: &str, old: &CommitId) -> Result<(), Error> {
        let old = old.to_string();
        self.output(&["update-ref", "-d", refname, &old])?;
        Ok(())
    }

    /// Runs git with `args` and returns its output whatever the exit status.
    fn unchecked_output(&self, args: &[&str]) -> Result<std::process::Output, Error> {
        let mut command = self.command();
        command.args(args);
        run_logged(&mut command, &args.join(" "))
    }

    /// Returns every value of the config `key` that apply to this runner's repository, in order.
    pub fn config_values(&self, key: &str) -> Result<Vec<String>, Error> {
        let stdout = self.config(&["--get-all", key])?.unwrap_or_default();
        Ok(String::from_utf8_lossy(&stdout)
            .lines()
            .map(str::to_owned)
            .collect())
    }

    /// Returns the absolute hooks directory git uses for the bound repository.
    ///
    /// This honours `core.hooksPath` (a relative value counts from the work tree's top, or
    /// from the git directory of a bare repository, where git runs hooks) and returns the
    /// common directory's `hooks` for linked worktrees.
    pub fn hooks_dir(&self) -> Result<PathBuf, Error> {
        let args = ["rev-parse", "--path-format=absolute", "--git-path", "hooks"];
        let mut command = self.command_with_user_hooks();
        command.args(args);
        if let Some(dir) = self.work_tree.as_ref().or(self.git_dir.as_ref()) {
            command.current_dir(dir);
        }
        let output = run_logged(&mut command, &args.join(" "))?;
        let stdout = success_stdout(output, args.join(" "))?;
        let text = String::from_utf8_lossy(&stdout);
        Ok(PathBuf::from(text.trim_end_matches(['\n', '\r'])))
    }

    /// Lists the refs of `url` with `git ls-remote --symref`.
    pub fn ls_remote(&self, url: &str) -> Result<Vec<RemoteRef>, Error> {
        let stdout = self.output(&["ls-remote", "--symref", "--", url])?;
        let mut refs = Vec::new();
        for line in String::from_utf8_lossy(&stdout).lines() {
            let Some((left, name)) = line.split_once('\t') else {
                continue;
            };
            if let Some(target) = left.strip_prefix("ref: ") {
                refs.push(RemoteRef::Symbolic {
                    name: name.to_owned(),
                    target: target.to_owned(),
                });
            } else {
                refs.push(RemoteRef::Direct {
                    name: name.to_owned(),
                    oid: left.to_owned(),
                });
            }
        }
        Ok(refs)
    }

    /// Fetches objects from `url` into the bound repository without updating any ref.
    ///
    /// `wants` are object ids or ref names; `extra` contains depth and filter flags.
    pub fn fetch_objects(
        &self,
        url: &str,
        wants: &[String],
        extra: &[String],
        progress: bool,
    ) -> Result<(), Error> {
        let mut args: Vec<&str> = vec![
            "fetch",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
            "--no-auto-maintenance",
        ];
        args.push(if progress { "--progress" } else { "--quiet" });
        args.extend(extra.iter().map(String::as_str));
        args.push("--");
        args.push(url);
        args.extend(wants.iter().map(String::as_str));
        let mut command = self.command();
        command
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let shown = shown_args(&args);
        tracing::debug!(args = %shown, "running git");
        let status = command.status().map_err(|source| Error::Spawn {
            args: shown.clone(),
            source,
        })?;
        if !status.success() {
            return Err(Error::Failed {
                args: shown,
                stderr: format!("exit status {status}"),
            });
        }
        Ok(())
    }

    /// Pushes `refspecs` to `url` with `--porcelain` and returns one status per destination.
    ///
    /// An `Err` means git died before reporting any ref, for example on an authentication
    /// failure; its text is git's first error lines.
    pub fn push(
        &self,
        url: &str,
        refspecs: &[String],
        options: &PushOptions,
    ) -> Result<Vec<PushStatus>, Error> {
        let mut args: Vec<String> = vec!["push".into(), "--porcelain".into(), "--no-verify".into()];
        if options.dry_run {
            args.push("--dry-run".into());
        }
        if options.atomic {
            args.push("--atomic".into());
        }
        if options.force_if_includes {
            args.push("--force-if-includes".into());
        }
        // `--quiet` would also silence the porcelain report.
        args.push(
            if options.progress {
                "--progress"
            } else {
                "--no-progress"
            }
            .into(),
        );
        for lease in &options.leases {
            args.push(format!("--force-with-lease={lease}"));
        }
        for value in &options.push_options {
            args.push("-o".into());
            args.push(value.clone());
        }
        args.push("--".into());
        args.push(url.into());
        args.extend(refspecs.iter().cloned());

        let mut command = self.command();
        // Git's own progress and rejection messages go straight to the user's stderr.
        command
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let shown = shown_args(&args);
        let output = run_logged(&mut command, &shown)?;

        let statuses = parse_porcelain(&String::from_utf8_lossy(&output.stdout));
        if statuses.is_empty() && !output.status.success() {
            return Err(Error::Failed {
                args: shown,
                stderr: format!("exit status {}, see git's message above", output.status),
            });
        }
        Ok(statuses)
    }
}

/// Parses `git push --porcelain` output into per-ref statuses.
pub fn parse_porcelain(stdout: &str) -> Vec<PushStatus> {
    let mut statuses = Vec::new();
    for line in stdout.lines() {
        let mut fields = line.splitn(3, '\t');
        let (Some(flag), Some(refs), Some(summary)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let mut flag_chars = flag.chars();
        let (Some(flag), None) = (flag_chars.next(), flag_chars.next()) else {
            continue;
        };
        let Some((_, dst)) = refs.rsplit_once(':') else {
            continue;
        };
        statuses.push(PushStatus {
            dst: dst.to_owned(),
            flag,
            summary: summary.to_owned(),
        });
    }
    statuses
}

/// Joins git's arguments for logs and error messages, with the password of any URL among
/// them replaced by `***`.
fn shown_args<S: AsRef<str>>(args: &[S]) -> String {
    let shown: Vec<String> = args
        .iter()
        .map(|arg| crate::config::redact_url(arg.as_ref()))
        .collect();
    shown.join(" ")
}

/// Runs `command` (git with the arguments `shown`) and returns its output, whatever the status.
fn run_logged(command: &mut Command, shown: &str) -> Result<std::process::Output, Error> {
    tracing::debug!(args = %shown, "running git");
    command.output().map_err(|source| Error::Spawn {
        args: shown.to_owned(),
        source,
    })
}

/// Returns the stdout of a finished git, or its first error lines when it failed.
fn success_stdout(output: std::process::Output, shown: String) -> Result<Vec<u8>, Error> {
    if !output.status.success() {
        return Err(Error::Failed {
            args: shown,
            stderr: first_lines(&output.stderr),
        });
    }
    Ok(output.stdout)
}

fn first_lines(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(4)
        .collect();
    if lines.is_empty() {
        "no error output".to_owned()
    } else {
        lines.join("; ")
    }
}

#[cfg(test)]
mod tests;
