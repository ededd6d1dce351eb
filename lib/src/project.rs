//! A DVC project as the other modules need it: the Git repository, the DVC config family,
//! the local cache and the storages the config names.

use std::path::{Path, PathBuf};

use crate::cache::Cache;
use crate::config::{self, Config, ConfigFile, Level};
use crate::git::{CommitId, Repo};
use crate::storage::Storage;

/// Errors from opening a project or one of its storages.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Git side failed.
    #[error(transparent)]
    Git(#[from] crate::git::Error),
    /// The DVC config could not be read.
    #[error(transparent)]
    Config(#[from] config::Error),
    /// Objects need storage but neither `-r` nor `core.remote` names one.
    #[error("no DVC storage is configured for {what}")]
    NoDefaultStorage {
        /// The request that needed the storage, such as "3 objects of refs/exps/...".
        what: String,
    },
    /// The storage could not be opened: unsupported scheme, invalid options, no credentials.
    #[error(transparent)]
    OpenStorage(#[from] crate::storage::OpenError),
}

/// The hint that goes with [`Error::NoDefaultStorage`].
pub const NO_STORAGE_HINT: &str =
    "set a default with `git exp remote add -d NAME URL` or `dvc remote add -d NAME URL`";

/// An opened project.
pub struct Project {
    repo: Repo,
    root: Option<PathBuf>,
    config: Config,
    cache: Cache,
}

impl Project {
    /// Opens the project of `repo`, reading the config from the work tree's `.dvc` folder.
    ///
    /// When the work tree has no `.dvc/config` yet (during `git clone`, or in a bare
    /// repository), the repository-level file is read from `fallback_commit` instead, so that
    /// storage paths still resolve against where `.dvc/` will be.
    pub fn open(repo: Repo, fallback_commit: Option<CommitId>) -> Result<Project, Error> {
        let root = repo.work_tree().map(Path::to_path_buf);
        let dvc_dir = root
            .clone()
            .unwrap_or_else(|| repo.git_dir().to_path_buf())
            .join(".dvc");

        let repo_config_path = Config::file_path(Level::Repo, &dvc_dir);
        let config = if repo_config_path.is_file() {
            Config::load(&dvc_dir)?
        } else {
            let mut files = vec![
                ConfigFile::load(&Config::file_path(Level::System, &dvc_dir), Level::System)?,
                ConfigFile::load(&Config::file_path(Level::Global, &dvc_dir), Level::Global)?,
            ];
            if let Some(commit) = fallback_commit {
                if let Some(bytes) = repo.read_path(commit, ".dvc/config")? {
                    let text = String::from_utf8_lossy(&bytes);
                    files.push(ConfigFile::parse(&repo_config_path, Level::Repo, &text)?);
                }
            }
            files.push(ConfigFile::load(
                &Config::file_path(Level::Local, &dvc_dir),
                Level::Local,
            )?);
            Config::from_files(files)
        };

        let cache_root = config.cache_dir().unwrap_or_else(|| dvc_dir.join("cache"));
        Ok(Project {
            repo,
            root,
            config,
            cache: Cache::new(cache_root),
        })
    }

    /// Returns the Git repository.
    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    /// Returns the work tree, or `None` for a bare repository.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// Returns the merged DVC config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Returns the local cache.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Returns the name of the storage that objects routed to `routed` use, given an
    /// explicit choice (`-r`) that overrides the default.
    pub fn storage_name(&self, routed: Option<&str>, explicit: Option<&str>) -> Option<String> {
        routed
            .map(str::to_owned)
            .or_else(|| explicit.map(str::to_ascii_lowercase))
            .or_else(|| self.config.default_remote())
    }

    /// Opens the storage called `name` with the backend its URL scheme selects.
    pub fn open_storage(&self, name: &str) -> Result<Box<dyn Storage>, Error> {
        let remote = self.config.remote(name)?;
        Ok(crate::storage::open(&remote)?)
    }
}
