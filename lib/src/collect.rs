//! The DVC outputs a commit declares: every `dvc.lock` (with the flags of the `dvc.yaml`
//! beside it) and every `*.dvc` file in the commit's tree.

use std::collections::{BTreeMap, HashMap};

use crate::git::{CommitId, Repo};
use crate::metafile::{self, Output, PipelineFlags};
use crate::object::ObjectKey;

/// Errors from collecting the outputs of a commit.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The commit or one of its metafiles could not be read.
    #[error(transparent)]
    Git(#[from] crate::git::Error),
    /// A metafile in the commit is invalid.
    #[error("commit {commit} has an invalid metafile")]
    Metafile {
        /// The commit whose tree contains the metafile.
        commit: CommitId,
        /// The parse error.
        #[source]
        source: metafile::Error,
    },
}

/// Why objects are being collected: pushing skips `push: false` outputs, fetching keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Objects to upload: cached outputs not marked `push: false`.
    Push,
    /// Objects to download or check out: every cached output.
    Fetch,
}

/// Objects grouped by the storage they belong to, each with the output path that needs it.
///
/// The key `None` stands for the default storage; `Some(name)` for outputs routed with `remote:`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ObjectSet {
    /// Storage name, or `None` for the default, to the objects and the output path naming each.
    pub by_storage: BTreeMap<Option<String>, BTreeMap<ObjectKey, String>>,
    /// The sizes metafiles record for file objects, which a copy of another size lacks.
    pub sizes: HashMap<ObjectKey, u64>,
}

impl ObjectSet {
    /// Adds the object of `output` if `purpose` selects it.
    pub fn add_output(&mut self, output: &Output, purpose: Purpose) {
        if !output.flags.cache || (purpose == Purpose::Push && !output.flags.push) {
            return;
        }
        self.by_storage
            .entry(output.flags.remote.clone())
            .or_default()
            .entry(output.key)
            .or_insert_with(|| output.path.clone());
        // A directory's size is the sum of its files, not the size of its manifest.
        if let (Some(size), false) = (output.size, output.key.id.is_dir()) {
            self.sizes.entry(output.key).or_insert(size);
        }
    }

    /// Adds every object of `other`.
    pub fn extend(&mut self, other: &ObjectSet) {
        for (storage, objects) in &other.by_storage {
            let target = self.by_storage.entry(storage.clone()).or_default();
            for (key, path) in objects {
                target.entry(*key).or_insert_with(|| path.clone());
            }
        }
        for (key, size) in &other.sizes {
            self.sizes.entry(*key).or_insert(*size);
        }
    }

    /// Returns true if and only if no object is in the set.
    pub fn is_empty(&self) -> bool {
        self.by_storage.values().all(BTreeMap::is_empty)
    }

    /// Returns the number of objects, counting an object once per storage.
    pub fn len(&self) -> usize {
        self.by_storage.values().map(BTreeMap::len).sum()
    }

    /// Returns every object with its storage name and output path.
    pub fn iter(&self) -> impl Iterator<Item = (Option<&str>, &ObjectKey, &str)> {
        self.by_storage.iter().flat_map(|(storage, objects)| {
            objects
                .iter()
                .map(move |(key, path)| (storage.as_deref(), key, path.as_str()))
        })
    }
}

/// Reads outputs from commits, parsing each distinct metafile blob once.
pub struct Collector<'repo> {
    repo: &'repo Repo,
    dvc_files: HashMap<(String, CommitId), Vec<Output>>,
    pipeline_flags: HashMap<CommitId, PipelineFlags>,
    locks: HashMap<(String, CommitId, Option<CommitId>), Vec<Output>>,
}

impl<'repo> Collector<'repo> {
    /// Starts collecting from `repo`.
    pub fn new(repo: &'repo Repo) -> Self {
        Collector {
            repo,
            dvc_files: HashMap::new(),
            pipeline_flags: HashMap::new(),
            locks: HashMap::new(),
        }
    }

    /// Returns every output declared in the tree of `commit`, sorted by path.
    pub fn outputs(&mut self, commit: CommitId) -> Result<Vec<Output>, Error> {
        let metafiles = self.repo.metafiles(commit)?;
        let by_path: HashMap<&str, CommitId> = metafiles
            .iter()
            .map(|m| (m.path.as_str(), m.blob))
            .collect();
        let mut outputs = Vec::new();

        for file in &metafiles {
            let name = file.path.rsplit('/').next().unwrap_or(&file.path);
            if name == "dvc.lock" {
                let dir = parent_dir(&file.path);
                let yaml_path = join(dir, "dvc.yaml");
                let yaml_blob = by_path.get(yaml_path.as_str()).copied();
                outputs.extend(
                    self.lock_outputs(commit, &file.path, file.blob, &yaml_path, yaml_blob)?,
                );
            } else if name.ends_with(".dvc") {
                outputs.extend(self.dvc_file_outputs(commit, &file.path, file.blob)?);
            }
        }

        outputs.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(outputs)
    }

    /// Returns the objects that the outputs of all `commits` need, for `purpose`.
    pub fn objects(&mut self, commits: &[CommitId], purpose: Purpose) -> Result<ObjectSet, Error> {
        let mut set = ObjectSet::default();
        for commit in commits {
            for output in self.outputs(*commit)? {
                set.add_output(&output, purpose);
            }
        }
        Ok(set)
    }

    fn dvc_file_outputs(
        &mut self,
        commit: CommitId,
        path: &str,
        blob: CommitId,
    ) -> Result<Vec<Output>, Error> {
        let key = (path.to_owned(), blob);
        if let Some(outputs) = self.dvc_files.get(&key) {
            return Ok(outputs.clone());
        }
        let bytes = self.repo.read_blob(blob)?;
        let outputs = metafile::parse_dvc_file(path, &bytes)
            .map_err(|source| Error::Metafile { commit, source })?;
        self.dvc_files.insert(key, outputs.clone());
        Ok(outputs)
    }

    fn lock_outputs(
        &mut self,
        commit: CommitId,
        lock_path: &str,
        lock_blob: CommitId,
        yaml_path: &str,
        yaml_blob: Option<CommitId>,
    ) -> Result<Vec<Output>, Error> {
        let key = (lock_path.to_owned(), lock_blob, yaml_blob);
        if let Some(outputs) = self.locks.get(&key) {
            return Ok(outputs.clone());
        }

        if let Some(blob) = yaml_blob {
            if !self.pipeline_flags.contains_key(&blob) {
                let bytes = self.repo.read_blob(blob)?;
                let flags = metafile::parse_pipeline_flags(yaml_path, &bytes)
                    .map_err(|source| Error::Metafile { commit, source })?;
                self.pipeline_flags.insert(blob, flags);
            }
        }
        let flags = yaml_blob.and_then(|blob| self.pipeline_flags.get(&blob));

        let bytes = self.repo.read_blob(lock_blob)?;
        let outputs = metafile::parse_lock(lock_path, &bytes, flags)
            .map_err(|source| Error::Metafile { commit, source })?;
        self.locks.insert(key, outputs.clone());
        Ok(outputs)
    }
}

fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map(|(dir, _)| dir).unwrap_or("")
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}
