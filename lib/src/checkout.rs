//! Materialises outputs from the cache in the workspace, the way `dvc checkout` does.
//!
//! A workspace file is replaced only when its current content is itself in the cache, so
//! checkout never destroys data that exists nowhere else, unless forced. Every write goes
//! to a temporary name in the destination directory and is renamed over the target, and
//! no write passes through a symbolic link below the workspace root.
//!
//! A cache object that is not a readable regular file, or whose size differs from the one
//! its metafile records, is never materialised. A copy is hashed while it is written and
//! renamed into place only when the hash matches. A reflink, hard link or symbolic link is
//! not hashed: reading the whole object would cost what the link saves, and
//! `git exp status --verify` is the full check. A damaged object is moved aside in the
//! cache, so the next checkout downloads a good copy, and the checkout stops with
//! [`Error::DamagedObject`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use tempfile::TempPath;

use crate::cache::{self, Cache};
use crate::link::{LinkType, DEFAULT_LINK_TYPES};
use crate::manifest::{validate_relpath, Manifest};
use crate::object::{hash_file, HashKind, Hasher, ObjectId, ObjectKey};
use crate::pool::parallel;

/// Mode of copied and reflinked files; executables add the owner's execute bit.
const FILE_MODE: u32 = 0o644;

/// The owner's execute bit, which DVC adds for `isexec: true` outputs.
const OWNER_EXEC: u32 = 0o100;

/// The reason reported for a changed workspace file whose content is not in the cache.
const EDITED_REASON: &str =
    "has changes that are not in the cache; commit them, or use --force to overwrite them";

/// One output to materialise.
#[derive(Debug, Clone)]
pub struct Item {
    /// Workspace-relative path with `/` separators, already validated.
    pub path: String,
    /// The file object or `.dir` manifest the output names.
    pub key: ObjectKey,
    /// Whether the file gets the owner's execute bit; also applied to `.dir` members.
    pub isexec: bool,
    /// The file's size as the metafile records it; `None` for a directory or when unknown.
    pub size: Option<u64>,
}

/// Settings of a checkout.
#[derive(Debug, Clone)]
pub struct Options {
    /// Link types to try in order, as DVC's `cache.type` lists them; a copy is the last resort.
    pub link_types: Vec<LinkType>,
    /// Overwrite and remove workspace files even when their content is not in the cache.
    pub force: bool,
    /// Number of threads that hash and write files, where 0 counts as 1.
    pub jobs: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            link_types: DEFAULT_LINK_TYPES.to_vec(),
            force: false,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// A workspace file that checkout left alone to avoid losing data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// Workspace-relative path.
    pub path: String,
    /// The reason it was kept and the way to proceed.
    pub reason: String,
}

/// Summary of a checkout.
#[derive(Debug, Default)]
pub struct Report {
    /// Workspace-relative paths of files written or removed.
    pub updated: Vec<String>,
    /// Number of files that already had the right content.
    pub unchanged: usize,
    /// Files left alone because their content is not in the cache.
    pub kept: Vec<Kept>,
    /// Output and member paths whose object is not in the cache; the workspace is left as
    /// is at those paths.
    pub missing: Vec<(String, ObjectKey)>,
}

/// Errors that stop a checkout.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An item's path could escape the workspace.
    #[error("invalid output path {path:?}: {reason}")]
    InvalidPath {
        /// The rejected path.
        path: String,
        /// The validation failure.
        reason: &'static str,
    },
    /// A directory between the workspace root and a target is a symbolic link.
    #[error("cannot write {target:?} because {path} is a symbolic link; replace it with a real directory")]
    SymlinkInPath {
        /// The symbolic link.
        path: PathBuf,
        /// The workspace-relative path that was to be written.
        target: String,
    },
    /// A filesystem operation in the workspace failed.
    #[error("failed to {operation} {path}")]
    Io {
        /// The operation, such as "create directory".
        operation: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The cache object to materialise is damaged; the workspace path was left as it was.
    #[error("cache object {key} at {object} {problem}, so {target} was left as it was")]
    DamagedObject {
        /// The object.
        key: ObjectKey,
        /// Its path in the cache.
        object: PathBuf,
        /// The workspace path that was to be written.
        target: PathBuf,
        /// The defect, and the path the damaged file was moved to.
        problem: String,
    },
    /// A `.dir` manifest in the cache is unreadable or corrupt.
    #[error("failed to read directory manifest {key} of output {path:?}")]
    Manifest {
        /// The output's path.
        path: String,
        /// The manifest's key.
        key: ObjectKey,
        /// The cache error.
        #[source]
        source: Box<cache::Error>,
    },
}

/// Materialises `items` from `cache` under `workspace` and reports what changed.
///
/// The rule for each file:
/// - Content already equal is unchanged, and only a missing execute bit is added. A hard or
///   symbolic link to the cache file counts as equal without hashing.
/// - An object absent from the cache is reported in `missing`, and the path is left alone.
/// - Other content is replaced only if it is itself in the cache or `options.force` is set.
///   Otherwise it is reported in `kept`.
///
/// Each member of a `.dir` output follows the same rule. Files under the output directory
/// that the manifest does not list are removed only if their content is in the cache or
/// the checkout is forced.
///
/// The checkout runs in two stages. Planning walks the items in order on the calling
/// thread: it inspects each directory once, creates the missing ones, removes unlisted
/// files and looks at each target with one `lstat`. Then `options.jobs` threads hash the
/// existing files and write the new ones. An error stops the checkout: files planned before
/// it are still materialised, and the first error in item order is returned. A damaged cache
/// object is such an error; see the module documentation.
pub fn checkout(
    workspace: &Path,
    cache: &Cache,
    items: &[Item],
    options: &Options,
) -> Result<Report, Error> {
    let run = Run {
        workspace,
        cache,
        options,
        unsupported: UnsupportedLinks::default(),
        damaged: Mutex::new(HashMap::new()),
        sizes: items
            .iter()
            .filter_map(|item| Some((item.key, item.size?)))
            .collect(),
    };
    let mut planner = Planner {
        run: &run,
        dirs: DirStates::default(),
        steps: Vec::new(),
        emptied: Vec::new(),
    };
    let planned = items.iter().try_for_each(|item| planner.plan_item(item));
    let Planner { steps, emptied, .. } = planner;

    // A step after a failed one is skipped, but every step before it runs. So the error
    // returned is the first in item order, as on one thread.
    let first_failure = AtomicUsize::new(usize::MAX);
    let indexes: Vec<usize> = (0..steps.len()).collect();
    let outcomes = parallel(&indexes, options.jobs, |&index| {
        if index > first_failure.load(Ordering::Relaxed) {
            return None;
        }
        let outcome = match &steps[index] {
            Step::Done { outcome, .. } => Ok(outcome.clone()),
            Step::File(job) => run.settle(job),
        };
        if outcome.is_err() {
            first_failure.fetch_min(index, Ordering::Relaxed);
        }
        Some(outcome)
    });

    let mut report = Report::default();
    let mut failure = planned.err();
    for (step, outcome) in steps.iter().zip(outcomes) {
        match outcome {
            Some(Ok(outcome)) => report.record(step.path(), outcome),
            Some(Err(error)) => {
                failure = Some(error);
                break;
            }
            None => break,
        }
    }
    for (root, dirs) in &emptied {
        remove_empty_dirs(root, dirs);
    }
    match failure {
        Some(error) => Err(error),
        None => Ok(report),
    }
}

/// The result of a checkout at one workspace path.
#[derive(Debug, Clone)]
enum Outcome {
    /// Written or removed.
    Updated,
    /// Already had the right content.
    Unchanged,
    /// Left alone to avoid losing data, for this reason.
    Kept(String),
    /// Left alone because this object is not in the cache.
    Missing(ObjectKey),
}

impl Report {
    fn record(&mut self, path: &str, outcome: Outcome) {
        match outcome {
            Outcome::Updated => self.updated.push(path.to_owned()),
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::Kept(reason) => self.kept.push(Kept {
                path: path.to_owned(),
                reason,
            }),
            Outcome::Missing(key) => self.missing.push((path.to_owned(), key)),
        }
    }
}

/// One step of a checkout, in item order.
enum Step {
    /// A path settled while planning, such as a kept file or a removed unlisted one.
    Done { path: String, outcome: Outcome },
    /// A file that a pool thread settles.
    File(FileJob),
}

impl Step {
    fn path(&self) -> &str {
        match self {
            Step::Done { path, .. } => path,
            Step::File(job) => &job.rel,
        }
    }
}

/// A file target whose directories exist, so that settling it creates no directory.
struct FileJob {
    /// Workspace-relative path.
    rel: String,
    key: ObjectKey,
    isexec: bool,
    /// Metadata `lstat` returned for the target while planning. `None` means nothing is
    /// there and the object is in the cache. Planning handles a directory at the target
    /// itself, so this is never a directory.
    existing: Option<fs::Metadata>,
}

/// Current state of an existing file target.
enum Target {
    /// The object's content. `exclusive` means a regular file with one link that is not the
    /// cache file, so its mode may be changed in place.
    Same { exclusive: bool, mode: u32 },
    /// Other content; `in_cache` means that content is itself a cache object.
    Differs { in_cache: bool },
}

/// State of the directories above a target.
enum Parents {
    /// All exist as real directories.
    Ready,
    /// Some do not exist yet.
    Missing,
    /// A component is a file; the target cannot exist.
    Blocked,
}

/// State of one directory between the workspace root and a target, as planning found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DirState {
    /// A real directory, found or created.
    Ready,
    /// Nothing.
    Missing,
    /// A file or other non-directory that is not a symbolic link.
    Blocked,
}

/// Directories that planning has inspected, by workspace-relative path, so that each one is
/// inspected and created at most once per checkout. Planning records in it every directory
/// it creates or removes, before the worker threads start, so its entries stay current.
#[derive(Default)]
struct DirStates(HashMap<String, DirState>);

impl DirStates {
    /// Forgets `rel` and everything below it, after the directory there was removed.
    fn forget_below(&mut self, rel: &str) {
        self.0.retain(|dir, _| {
            !(dir == rel
                || dir
                    .strip_prefix(rel)
                    .is_some_and(|rest| rest.starts_with('/')))
        });
    }
}

/// Link types that failed in a way that cannot change during this checkout, such as a
/// reflink on a filesystem without clones. They are not tried again.
#[derive(Default)]
struct UnsupportedLinks(Mutex<Vec<LinkType>>);

impl UnsupportedLinks {
    fn contains(&self, link_type: &LinkType) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(link_type)
    }

    fn insert(&self, link_type: LinkType) {
        let mut types = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !types.contains(&link_type) {
            types.push(link_type);
        }
    }
}

/// The parts of a checkout that the pool's threads share.
struct Run<'a> {
    workspace: &'a Path,
    cache: &'a Cache,
    options: &'a Options,
    unsupported: UnsupportedLinks,
    /// Damaged objects this checkout moved aside, with the text that describes them, so
    /// that every path naming one reports the same problem.
    damaged: Mutex<HashMap<ObjectKey, String>>,
    /// Sizes the metafiles record for file objects.
    sizes: HashMap<ObjectKey, u64>,
}

/// The serial stage: decides per path what to do, in item order.
struct Planner<'a> {
    run: &'a Run<'a>,
    dirs: DirStates,
    steps: Vec<Step>,
    /// Output directories with the directories below them that lost an unlisted file.
    emptied: Vec<(PathBuf, BTreeSet<PathBuf>)>,
}

impl Planner<'_> {
    fn plan_item(&mut self, item: &Item) -> Result<(), Error> {
        if let Err(reason) = validate_relpath(&item.path) {
            return Err(Error::InvalidPath {
                path: item.path.clone(),
                reason,
            });
        }
        if item.key.id.is_dir() {
            self.plan_dir(item)
        } else {
            self.plan_file(&item.path, &item.key, item.isexec)
        }
    }

    fn plan_file(&mut self, rel: &str, key: &ObjectKey, isexec: bool) -> Result<(), Error> {
        let run = self.run;
        let target = run.workspace.join(rel);
        let existing = match self.inspect_parents(rel)? {
            Parents::Ready => symlink_metadata(&target)?,
            Parents::Missing | Parents::Blocked => None,
        };

        // A file or link is hashed on the pool; only an absent target or a directory in the
        // way needs the serial stage.
        let is_dir = match existing {
            Some(metadata) if !metadata.is_dir() => {
                self.steps.push(Step::File(FileJob {
                    rel: rel.to_owned(),
                    key: *key,
                    isexec,
                    existing: Some(metadata),
                }));
                return Ok(());
            }
            Some(_) => true,
            None => false,
        };

        // Something damaged at the object's path is not missing: materialise reports it.
        if matches!(run.cache.inspect(key, None), Ok(None)) {
            self.done(rel, missing(rel, key));
            return Ok(());
        }
        if is_dir && !run.options.force {
            self.keep(rel, "is a directory where the output is a file; move it away, or use --force to replace it");
            return Ok(());
        }
        if !self.create_parents(rel, key.kind)? {
            return Ok(());
        }
        if is_dir {
            tracing::debug!(path = rel, "removing directory forced out by a file output");
            fs::remove_dir_all(&target).map_err(io_error("remove directory", &target))?;
            self.dirs.forget_below(rel);
        }
        self.steps.push(Step::File(FileJob {
            rel: rel.to_owned(),
            key: *key,
            isexec,
            existing: None,
        }));
        Ok(())
    }

    fn plan_dir(&mut self, item: &Item) -> Result<(), Error> {
        let run = self.run;
        let manifest = match run.cache.read_manifest(&item.key) {
            Ok(manifest) => manifest,
            Err(cache::Error::NotFound { .. }) => {
                self.done(&item.path, missing(&item.path, &item.key));
                return Ok(());
            }
            Err(source) => {
                return Err(Error::Manifest {
                    path: item.path.clone(),
                    key: item.key,
                    source: Box::new(source),
                })
            }
        };

        // The output directory itself: a real directory, absent, or a file to replace.
        let root = run.workspace.join(&item.path);
        let parents = self.inspect_parents(&item.path)?;
        let existing = match parents {
            Parents::Ready => symlink_metadata(&root)?,
            Parents::Missing | Parents::Blocked => None,
        };
        let replace_file = match &existing {
            Some(metadata) if metadata.is_dir() => false,
            Some(metadata) if metadata.file_type().is_symlink() => {
                return Err(Error::SymlinkInPath {
                    path: root,
                    target: item.path.clone(),
                })
            }
            Some(_) => {
                if !run.options.force && !run.content_in_cache(&root, item.key.kind) {
                    self.keep(&item.path, "is a file where the output is a directory, and its content is not in the cache; commit it, or use --force to replace it");
                    return Ok(());
                }
                true
            }
            None => false,
        };
        if !self.create_parents(&item.path, item.key.kind)? {
            return Ok(());
        }
        if replace_file {
            remove_file(&root)?;
            self.done(&item.path, Outcome::Updated);
        }
        if replace_file || existing.is_none() {
            create_dir(&root)?;
        }
        self.dirs.0.insert(item.path.clone(), DirState::Ready);

        let mut emptied = BTreeSet::new();
        self.remove_unlisted(&item.path, &root, &manifest, item.key.kind, &mut emptied)?;
        for entry in manifest.entries() {
            let member = ObjectKey::new(item.key.kind, entry.id);
            self.plan_file(
                &format!("{}/{}", item.path, entry.relpath),
                &member,
                item.isexec,
            )?;
        }
        self.emptied.push((root, emptied));
        Ok(())
    }

    /// Removes files under an output directory that its manifest does not list, if their
    /// content is in the cache or the checkout is forced. Records the emptied directories.
    fn remove_unlisted(
        &mut self,
        output: &str,
        root: &Path,
        manifest: &Manifest,
        kind: HashKind,
        emptied: &mut BTreeSet<PathBuf>,
    ) -> Result<(), Error> {
        let listed: HashSet<&str> = manifest
            .entries()
            .iter()
            .map(|e| e.relpath.as_str())
            .collect();
        let mut stack: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];
        while let Some((dir, prefix)) = stack.pop() {
            let entries = fs::read_dir(&dir).map_err(io_error("read directory", &dir))?;
            for entry in entries {
                let entry = entry.map_err(io_error("read directory", &dir))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let rel = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}/{name}")
                };
                let path = entry.path();
                let file_type = entry.file_type().map_err(io_error("inspect", &path))?;

                // A listed path is handled by the file rule, whatever is there now.
                if listed.contains(rel.as_str()) {
                    continue;
                }
                if file_type.is_dir() {
                    stack.push((path, rel));
                    continue;
                }
                let workspace_rel = format!("{output}/{rel}");
                if !self.run.options.force && !self.run.content_in_cache(&path, kind) {
                    self.keep(&workspace_rel, "is not part of the output and its content is not in the cache; commit it, or use --force to remove it");
                    continue;
                }
                tracing::debug!(
                    path = workspace_rel,
                    "removing file not listed in the manifest"
                );
                remove_file(&path)?;
                self.done(&workspace_rel, Outcome::Updated);
                emptied.insert(dir.clone());
            }
        }
        Ok(())
    }

    /// Checks the directories between the workspace root and `rel` without changing them.
    fn inspect_parents(&mut self, rel: &str) -> Result<Parents, Error> {
        // Every directory above a ready one was found ready first.
        let parent = rel.rsplit_once('/').map(|(parent, _)| parent);
        if parent.is_none_or(|parent| self.dirs.0.get(parent) == Some(&DirState::Ready)) {
            return Ok(Parents::Ready);
        }
        for (end, _) in rel.match_indices('/') {
            match self.dir_state(&rel[..end], rel)? {
                DirState::Ready => {}
                DirState::Missing => return Ok(Parents::Missing),
                DirState::Blocked => return Ok(Parents::Blocked),
            }
        }
        Ok(Parents::Ready)
    }

    /// Returns what is at the directory `dir` above `target`, inspecting it the first time.
    fn dir_state(&mut self, dir: &str, target: &str) -> Result<DirState, Error> {
        if let Some(state) = self.dirs.0.get(dir) {
            return Ok(*state);
        }
        let path = self.run.workspace.join(dir);
        let state = match symlink_metadata(&path)? {
            Some(metadata) if metadata.is_dir() => DirState::Ready,
            Some(metadata) if metadata.file_type().is_symlink() => {
                return Err(Error::SymlinkInPath {
                    path,
                    target: target.to_owned(),
                })
            }
            Some(_) => DirState::Blocked,
            None => DirState::Missing,
        };
        self.dirs.0.insert(dir.to_owned(), state);
        Ok(state)
    }

    /// Creates the directories above `rel`. A file in the way is replaced if its content is
    /// in the cache or the checkout is forced. Otherwise it is kept and `false` is returned.
    fn create_parents(&mut self, rel: &str, kind: HashKind) -> Result<bool, Error> {
        for (end, _) in rel.match_indices('/') {
            let dir = &rel[..end];
            let path = self.run.workspace.join(dir);
            match self.dir_state(dir, rel)? {
                DirState::Ready => continue,
                DirState::Blocked => {
                    if !self.run.options.force && !self.run.content_in_cache(&path, kind) {
                        self.keep(dir, &format!("is a file where {rel:?} needs a directory, and its content is not in the cache; commit it, or use --force to replace it"));
                        return Ok(false);
                    }
                    remove_file(&path)?;
                    self.done(dir, Outcome::Updated);
                    create_dir(&path)?;
                }
                DirState::Missing => create_dir(&path)?,
            }
            self.dirs.0.insert(dir.to_owned(), DirState::Ready);
        }
        Ok(true)
    }

    fn done(&mut self, path: &str, outcome: Outcome) {
        self.steps.push(Step::Done {
            path: path.to_owned(),
            outcome,
        });
    }

    fn keep(&mut self, path: &str, reason: &str) {
        self.done(path, kept(path, reason));
    }
}

impl Run<'_> {
    /// Decides what to do with one planned file and does it.
    fn settle(&self, job: &FileJob) -> Result<Outcome, Error> {
        let target = self.workspace.join(&job.rel);
        let object = self.cache.object_path(&job.key);
        let Some(metadata) = &job.existing else {
            self.materialise(&target, &job.key, job.isexec)?;
            return Ok(Outcome::Updated);
        };

        let state = self.inspect_target(&target, &job.key, &object, metadata)?;
        if let Target::Same { exclusive, mode } = state {
            let lacks_exec = job.isexec && mode & OWNER_EXEC == 0;
            if lacks_exec && exclusive {
                set_mode(&target, mode | OWNER_EXEC)?;
            } else if lacks_exec && self.cache.contains(&job.key) {
                // A link shares the read-only cache file, whose mode must not change.
                self.materialise(&target, &job.key, true)?;
                return Ok(Outcome::Updated);
            }
            return Ok(Outcome::Unchanged);
        }

        // Something damaged at the object's path is not missing: materialise reports it.
        if matches!(self.cache.inspect(&job.key, None), Ok(None)) {
            return Ok(missing(&job.rel, &job.key));
        }
        if let Target::Differs { in_cache: false } = state {
            if !self.options.force {
                return Ok(kept(&job.rel, EDITED_REASON));
            }
        }
        self.materialise(&target, &job.key, job.isexec)?;
        Ok(Outcome::Updated)
    }

    /// Compares the existing file or link at `target`, whose `lstat` is `metadata`, with
    /// the object `key`.
    fn inspect_target(
        &self,
        target: &Path,
        key: &ObjectKey,
        object: &Path,
        metadata: &fs::Metadata,
    ) -> Result<Target, Error> {
        // Follow a symbolic link only to read: the link itself is what gets replaced.
        let is_link = metadata.file_type().is_symlink();
        let content = if is_link {
            match fs::metadata(target) {
                Ok(followed) if followed.is_file() => followed,
                _ => return Ok(Target::Differs { in_cache: false }),
            }
        } else if metadata.is_file() {
            metadata.clone()
        } else {
            // Reading a FIFO, socket or device could block, and it has no file content.
            return Ok(Target::Differs { in_cache: false });
        };

        let mode = content.mode() & 0o7777;
        if let Ok(cached) = fs::metadata(object) {
            if cached.dev() == content.dev() && cached.ino() == content.ino() {
                return Ok(Target::Same {
                    exclusive: false,
                    mode,
                });
            }
        }
        let (digest, _) = hash_file(key.kind, target).map_err(io_error("hash", target))?;
        if key.id.matches_digest(digest) {
            return Ok(Target::Same {
                exclusive: !is_link && content.nlink() == 1,
                mode,
            });
        }
        let current = ObjectKey::new(key.kind, ObjectId::from_digest(digest));
        Ok(Target::Differs {
            in_cache: self.cache.contains(&current),
        })
    }

    /// Returns true if and only if the file at `path`, followed if it is a link, has content
    /// that the cache contains under `kind`.
    fn content_in_cache(&self, path: &Path, kind: HashKind) -> bool {
        match fs::metadata(path) {
            Ok(metadata) if metadata.is_file() => {}
            _ => return false,
        }
        match hash_file(kind, path) {
            Ok((digest, _)) => self
                .cache
                .contains(&ObjectKey::new(kind, ObjectId::from_digest(digest))),
            Err(_) => false,
        }
    }

    /// Writes the cache object `key` to `target` with the first link type that works.
    ///
    /// The object must be a regular file of the recorded size, and a copy must hash to
    /// `key`. Otherwise the object is moved aside, `target` is left as it was, and
    /// [`Error::DamagedObject`] is returned.
    fn materialise(&self, target: &Path, key: &ObjectKey, isexec: bool) -> Result<(), Error> {
        let object = self.cache.object_path(key);
        if let Some(error) = self.moved_aside(key, target) {
            return Err(error);
        }
        if let Err(defect) = self.cache.inspect(key, self.sizes.get(key).copied()) {
            return Err(self.damaged(key, target, defect.to_string()));
        }
        let dir = target.parent().unwrap_or(self.workspace);
        let mut temp = None;
        for &link_type in &self.options.link_types {
            if isexec && matches!(link_type, LinkType::Hardlink | LinkType::Symlink) {
                continue;
            }
            if self.unsupported.contains(&link_type) {
                continue;
            }
            match link_to_temp(link_type, key, &object, dir, isexec) {
                Ok(path) => {
                    temp = Some((path, link_type));
                    break;
                }
                Err(LinkError::Mismatch(problem)) => return Err(self.damaged(key, target, problem)),
                Err(LinkError::Io(e)) => {
                    tracing::debug!(%link_type, target = %target.display(), error = %e, "link type failed, trying the next one");
                    if is_unsupported(&e) {
                        self.unsupported.insert(link_type);
                    }
                }
            }
        }
        let (temp, link_type) = match temp {
            Some(found) => found,
            None => match link_to_temp(LinkType::Copy, key, &object, dir, isexec) {
                Ok(path) => (path, LinkType::Copy),
                Err(LinkError::Mismatch(problem)) => return Err(self.damaged(key, target, problem)),
                Err(LinkError::Io(e)) => {
                    // Another thread may have moved the object aside while this one read it.
                    return Err(self
                        .moved_aside(key, target)
                        .unwrap_or_else(|| io_error("copy the cache file to", target)(e)));
                }
            },
        };
        temp.persist(target)
            .map_err(|e| io_error("replace", target)(e.error))?;
        tracing::debug!(%link_type, target = %target.display(), "materialised");
        Ok(())
    }

    /// Returns the error for `target` if this checkout already moved `key` aside.
    fn moved_aside(&self, key: &ObjectKey, target: &Path) -> Option<Error> {
        let moved = self.damaged.lock().unwrap_or_else(PoisonError::into_inner);
        let problem = moved.get(key)?.clone();
        Some(Error::DamagedObject {
            key: *key,
            object: self.cache.object_path(key),
            target: target.to_path_buf(),
            problem,
        })
    }

    /// Moves the damaged cache object `key` aside and builds the error that names it.
    ///
    /// Paths that share the object report what the first one found: the object is moved
    /// aside once.
    fn damaged(&self, key: &ObjectKey, target: &Path, problem: String) -> Error {
        let object = self.cache.object_path(key);
        let mut moved = self.damaged.lock().unwrap_or_else(PoisonError::into_inner);
        let problem = moved
            .entry(*key)
            .or_insert_with(|| match self.cache.move_aside(key) {
                Ok(aside) => format!("{problem} (moved to {})", aside.display()),
                Err(error) => format!(
                    "{problem} (and it could not be moved aside: {})",
                    crate::share::error_chain(&error)
                ),
            })
            .clone();
        Error::DamagedObject {
            key: *key,
            object,
            target: target.to_path_buf(),
            problem,
        }
    }
}

/// Failure to link or copy a cache object.
enum LinkError {
    /// The link type failed; another may work.
    Io(io::Error),
    /// The copied bytes do not hash to the object's id. The text gives the digest they
    /// hash to.
    Mismatch(String),
}

impl From<io::Error> for LinkError {
    fn from(error: io::Error) -> Self {
        LinkError::Io(error)
    }
}

/// Creates a temporary entry in `dir` holding the cache file `object` of `key`, linked as
/// `link_type`. A copy is hashed on the way and dropped, with the temporary file, when
/// its bytes do not hash to `key`.
fn link_to_temp(
    link_type: LinkType,
    key: &ObjectKey,
    object: &Path,
    dir: &Path,
    isexec: bool,
) -> Result<TempPath, LinkError> {
    let builder = {
        let mut builder = tempfile::Builder::new();
        builder.prefix(".").suffix(".tmp").rand_bytes(22);
        builder
    };
    let mode = if isexec {
        FILE_MODE | OWNER_EXEC
    } else {
        FILE_MODE
    };
    match link_type {
        LinkType::Reflink => {
            let source = File::open(object)?;
            let temp = builder.tempfile_in(dir)?;
            reflink_copy::reflink_file(&source, temp.as_file())?;
            temp.as_file()
                .set_permissions(fs::Permissions::from_mode(mode))?;
            Ok(temp.into_temp_path())
        }
        LinkType::Hardlink => Ok(builder
            .make_in(dir, |path| fs::hard_link(object, path))?
            .into_temp_path()),
        LinkType::Symlink => {
            let absolute = std::path::absolute(object)?;
            Ok(builder
                .make_in(dir, |path| std::os::unix::fs::symlink(&absolute, path))?
                .into_temp_path())
        }
        LinkType::Copy => {
            let mut source = File::open(object)?;
            let mut temp = builder.tempfile_in(dir)?;
            let mut hasher = Hasher::new(key.kind);
            let mut buffer = vec![0u8; crate::atomic_write::COPY_BUFFER];
            loop {
                let n = match source.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                };
                hasher.update(&buffer[..n]);
                temp.write_all(&buffer[..n])?;
            }
            let digest = hasher.finish();
            if !key.id.matches_digest(digest) {
                return Err(LinkError::Mismatch(format!(
                    "is corrupt: its content hashes to {}",
                    hex::encode(digest)
                )));
            }
            temp.as_file()
                .set_permissions(fs::Permissions::from_mode(mode))?;
            Ok(temp.into_temp_path())
        }
    }
}

/// Returns true for errors that mean a link type cannot work between this cache and this
/// workspace at all: no clone support (EOPNOTSUPP, or EINVAL from some filesystems), or
/// different filesystems (EXDEV).
fn is_unsupported(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::Unsupported | io::ErrorKind::CrossesDevices | io::ErrorKind::InvalidInput
    )
}

fn missing(path: &str, key: &ObjectKey) -> Outcome {
    tracing::debug!(path, object = %key, "object missing from the cache");
    Outcome::Missing(*key)
}

fn kept(path: &str, reason: &str) -> Outcome {
    tracing::debug!(path, reason, "keeping workspace file");
    Outcome::Kept(reason.to_owned())
}

/// Removes each directory of `dirs` that is empty, and then each parent that became empty,
/// up to `root`, deepest first so that a parent is empty before it is tried.
fn remove_empty_dirs(root: &Path, dirs: &BTreeSet<PathBuf>) {
    for dir in dirs.iter().rev() {
        let mut dir: &Path = dir;
        while dir != root && fs::remove_dir(dir).is_ok() {
            match dir.parent() {
                Some(parent) => dir = parent,
                None => break,
            }
        }
    }
}

fn io_error<'a>(operation: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::Io {
        operation,
        path: path.to_path_buf(),
        source,
    }
}

/// Returns the metadata of `path` without following a final symbolic link, or `None` when
/// nothing is there.
fn symlink_metadata(path: &Path) -> Result<Option<fs::Metadata>, Error> {
    match fs::symlink_metadata(path) {
        Ok(metadata) => Ok(Some(metadata)),
        Err(e) if cache::is_absent(&e) => Ok(None),
        Err(e) => Err(io_error("inspect", path)(e)),
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<(), Error> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(io_error("set the mode of", path))
}

fn remove_file(path: &Path) -> Result<(), Error> {
    fs::remove_file(path).map_err(io_error("remove", path))
}

fn create_dir(path: &Path) -> Result<(), Error> {
    match fs::create_dir(path) {
        Ok(()) => Ok(()),
        // Another process may have created it; it is checked again before any write below it.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(e) => Err(io_error("create directory", path)(e)),
    }
}

#[cfg(test)]
mod tests;
