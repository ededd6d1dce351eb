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

use tempfile::TempPath;

use crate::cache::{self, Cache};
use crate::link::{LinkType, DEFAULT_LINK_TYPES};
use crate::manifest::{validate_relpath, Manifest};
use crate::object::{hash_file, HashKind, Hasher, ObjectId, ObjectKey};

/// Mode of copied and reflinked files; executables add the owner's execute bit.
const FILE_MODE: u32 = 0o644;

/// The owner's execute bit, which DVC adds for `isexec: true` outputs.
const OWNER_EXEC: u32 = 0o100;

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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            link_types: DEFAULT_LINK_TYPES.to_vec(),
            force: false,
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
        /// What is wrong, and where the damaged file was moved.
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
/// the checkout is forced. An error stops the checkout, and outputs handled before it stay
/// materialised. A damaged cache object is such an error; see the module documentation.
pub fn checkout(
    workspace: &Path,
    cache: &Cache,
    items: &[Item],
    options: &Options,
) -> Result<Report, Error> {
    let mut run = Run {
        workspace,
        cache,
        options,
        report: Report::default(),
        unsupported: std::cell::RefCell::new(Vec::new()),
        sizes: items
            .iter()
            .filter_map(|item| Some((item.key, item.size?)))
            .collect(),
    };
    for item in items {
        if let Err(reason) = validate_relpath(&item.path) {
            return Err(Error::InvalidPath {
                path: item.path.clone(),
                reason,
            });
        }
        if item.key.id.is_dir() {
            run.checkout_dir(item)?;
        } else {
            run.checkout_file(&item.path, &item.key, item.isexec)?;
        }
    }
    Ok(run.report)
}

/// Current state of a file target.
enum Target {
    Absent,
    /// The object's content. `exclusive` means a regular file with one link that is not the
    /// cache file, so its mode may be changed in place.
    Same {
        exclusive: bool,
        mode: u32,
    },
    /// Other content; `in_cache` means that content is itself a cache object.
    Differs {
        in_cache: bool,
    },
    /// A real directory.
    Directory,
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

struct Run<'a> {
    workspace: &'a Path,
    cache: &'a Cache,
    options: &'a Options,
    report: Report,
    /// Link types that cannot work in this run, such as a reflink on a filesystem without
    /// clones. They are not tried again.
    unsupported: std::cell::RefCell<Vec<LinkType>>,
    /// Sizes the metafiles record for file objects.
    sizes: HashMap<ObjectKey, u64>,
}

impl Run<'_> {
    fn checkout_file(&mut self, rel: &str, key: &ObjectKey, isexec: bool) -> Result<(), Error> {
        let target = self.workspace.join(rel);
        let object = self.cache.object_path(key);
        let state = match self.inspect_parents(rel)? {
            Parents::Ready => self.inspect_target(&target, key, &object)?,
            Parents::Missing | Parents::Blocked => Target::Absent,
        };

        if let Target::Same { exclusive, mode } = state {
            let lacks_exec = isexec && mode & OWNER_EXEC == 0;
            if lacks_exec && exclusive {
                set_mode(&target, mode | OWNER_EXEC)?;
            } else if lacks_exec && self.cache.contains(key) {
                // A link shares the read-only cache file, whose mode must not change.
                self.materialise(&target, key, true)?;
                self.report.updated.push(rel.to_owned());
                return Ok(());
            }
            self.report.unchanged += 1;
            return Ok(());
        }

        // Something damaged at the object's path is not missing: materialise reports it.
        if matches!(self.cache.inspect(key, None), Ok(None)) {
            tracing::debug!(path = rel, object = %key, "object missing from the cache");
            self.report.missing.push((rel.to_owned(), *key));
            return Ok(());
        }
        match state {
            Target::Differs { in_cache: false } if !self.options.force => {
                self.keep(rel, "has changes that are not in the cache; commit them, or use --force to overwrite them");
                return Ok(());
            }
            Target::Directory if !self.options.force => {
                self.keep(rel, "is a directory where the output is a file; move it away, or use --force to replace it");
                return Ok(());
            }
            _ => {}
        }

        if !self.create_parents(rel, key.kind)? {
            return Ok(());
        }
        if let Target::Directory = state {
            tracing::debug!(path = rel, "removing directory forced out by a file output");
            fs::remove_dir_all(&target).map_err(io_error("remove directory", &target))?;
        }
        self.materialise(&target, key, isexec)?;
        self.report.updated.push(rel.to_owned());
        Ok(())
    }

    fn checkout_dir(&mut self, item: &Item) -> Result<(), Error> {
        let manifest = match self.cache.read_manifest(&item.key) {
            Ok(manifest) => manifest,
            Err(cache::Error::NotFound { .. }) => {
                tracing::debug!(path = item.path, object = %item.key, "manifest missing from the cache");
                self.report.missing.push((item.path.clone(), item.key));
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
        let root = self.workspace.join(&item.path);
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
                if !self.options.force && !self.content_in_cache(&root, item.key.kind) {
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
            self.report.updated.push(item.path.clone());
        }
        if replace_file || existing.is_none() {
            create_dir(&root)?;
        }

        let mut emptied = BTreeSet::new();
        self.remove_unlisted(&item.path, &root, &manifest, item.key.kind, &mut emptied)?;
        for entry in manifest.entries() {
            let member = ObjectKey::new(item.key.kind, entry.id);
            self.checkout_file(
                &format!("{}/{}", item.path, entry.relpath),
                &member,
                item.isexec,
            )?;
        }

        // Deepest first, so a parent becomes empty before it is tried.
        for dir in emptied.iter().rev() {
            let mut dir: &Path = dir;
            while dir != root && fs::remove_dir(dir).is_ok() {
                match dir.parent() {
                    Some(parent) => dir = parent,
                    None => break,
                }
            }
        }
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
                if !self.options.force && !self.content_in_cache(&path, kind) {
                    self.keep(&workspace_rel, "is not part of the output and its content is not in the cache; commit it, or use --force to remove it");
                    continue;
                }
                tracing::debug!(
                    path = workspace_rel,
                    "removing file not listed in the manifest"
                );
                remove_file(&path)?;
                self.report.updated.push(workspace_rel);
                emptied.insert(dir.clone());
            }
        }
        Ok(())
    }

    /// Checks the directories between the workspace root and `rel` without changing them.
    fn inspect_parents(&self, rel: &str) -> Result<Parents, Error> {
        let mut path = self.workspace.to_path_buf();
        let components: Vec<&str> = rel.split('/').collect();
        for component in &components[..components.len() - 1] {
            path.push(component);
            match symlink_metadata(&path)? {
                Some(metadata) if metadata.is_dir() => {}
                Some(metadata) if metadata.file_type().is_symlink() => {
                    return Err(Error::SymlinkInPath {
                        path,
                        target: rel.to_owned(),
                    })
                }
                Some(_) => return Ok(Parents::Blocked),
                None => return Ok(Parents::Missing),
            }
        }
        Ok(Parents::Ready)
    }

    /// Creates the directories above `rel`. A file in the way is replaced if its content is
    /// in the cache or the checkout is forced. Otherwise it is kept and `false` is returned.
    fn create_parents(&mut self, rel: &str, kind: HashKind) -> Result<bool, Error> {
        let mut path = self.workspace.to_path_buf();
        let components: Vec<&str> = rel.split('/').collect();
        for (depth, component) in components[..components.len() - 1].iter().enumerate() {
            path.push(component);
            match symlink_metadata(&path)? {
                Some(metadata) if metadata.is_dir() => continue,
                Some(metadata) if metadata.file_type().is_symlink() => {
                    return Err(Error::SymlinkInPath {
                        path,
                        target: rel.to_owned(),
                    })
                }
                Some(_) => {
                    let blocking = components[..=depth].join("/");
                    if !self.options.force && !self.content_in_cache(&path, kind) {
                        self.keep(&blocking, &format!("is a file where {rel:?} needs a directory, and its content is not in the cache; commit it, or use --force to replace it"));
                        return Ok(false);
                    }
                    remove_file(&path)?;
                    self.report.updated.push(blocking);
                    create_dir(&path)?;
                }
                None => create_dir(&path)?,
            }
        }
        Ok(true)
    }

    fn inspect_target(
        &self,
        target: &Path,
        key: &ObjectKey,
        object: &Path,
    ) -> Result<Target, Error> {
        let Some(metadata) = symlink_metadata(target)? else {
            return Ok(Target::Absent);
        };
        if metadata.is_dir() {
            return Ok(Target::Directory);
        }

        // Follow a symbolic link only to read: the link itself is what gets replaced.
        let is_link = metadata.file_type().is_symlink();
        let content = if is_link {
            match fs::metadata(target) {
                Ok(followed) if followed.is_file() => followed,
                _ => return Ok(Target::Differs { in_cache: false }),
            }
        } else if metadata.is_file() {
            metadata
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
    /// `key`; otherwise the object is moved aside, `target` is left as it was, and
    /// [`Error::DamagedObject`] is returned.
    fn materialise(&self, target: &Path, key: &ObjectKey, isexec: bool) -> Result<(), Error> {
        let object = self.cache.object_path(key);
        if let Err(defect) = self.cache.inspect(key, self.sizes.get(key).copied()) {
            return Err(self.damaged(key, target, defect.to_string()));
        }
        let dir = target.parent().unwrap_or(self.workspace);
        let mut temp = None;
        for &link_type in &self.options.link_types {
            if isexec && matches!(link_type, LinkType::Hardlink | LinkType::Symlink) {
                continue;
            }
            if self.unsupported.borrow().contains(&link_type) {
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
                        self.unsupported.borrow_mut().push(link_type);
                    }
                }
            }
        }
        let (temp, link_type) = match temp {
            Some(found) => found,
            None => match link_to_temp(LinkType::Copy, key, &object, dir, isexec) {
                Ok(path) => (path, LinkType::Copy),
                Err(LinkError::Mismatch(problem)) => return Err(self.damaged(key, target, problem)),
                Err(LinkError::Io(e)) => return Err(io_error("copy the cache file to", target)(e)),
            },
        };
        temp.persist(target)
            .map_err(|e| io_error("replace", target)(e.error))?;
        tracing::debug!(%link_type, target = %target.display(), "materialised");
        Ok(())
    }

    /// Moves the damaged cache object `key` aside and builds the error that names it.
    fn damaged(&self, key: &ObjectKey, target: &Path, problem: String) -> Error {
        let object = self.cache.object_path(key);
        let problem = match self.cache.move_aside(key) {
            Ok(aside) => format!("{problem} (moved to {})", aside.display()),
            Err(error) => format!(
                "{problem} (and it could not be moved aside: {})",
                crate::share::error_chain(&error)
            ),
        };
        Error::DamagedObject {
            key: *key,
            object,
            target: target.to_path_buf(),
            problem,
        }
    }

    fn keep(&mut self, path: &str, reason: &str) {
        tracing::debug!(path, reason, "keeping workspace file");
        self.report.kept.push(Kept {
            path: path.to_owned(),
            reason: reason.to_owned(),
        });
    }
}

/// Failure to link or copy a cache object.
enum LinkError {
    /// The link type failed; another may work.
    Io(io::Error),
    /// The copied bytes do not hash to the object's id; the text says what they hash to.
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
