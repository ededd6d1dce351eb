//! Moving an [`ObjectSet`] between the local cache and the storages its outputs are routed to.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::cache::Cache;
use crate::collect::{Collector, ObjectSet, Purpose};
use crate::git::CommitId;
use crate::object::ObjectKey;
use crate::progress::Progress;
use crate::project::{self, Project};
use crate::refs::ExpRef;
use crate::storage::Storage;
use crate::transfer::{self, FailureKind};

/// The failure of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFailure {
    /// The output path that needs the object.
    pub path: String,
    /// The storage name, or `None` when no storage could be chosen.
    pub storage: Option<String>,
    /// The reason the transfer failed, on one line.
    pub message: String,
    /// True when the object is neither in the cache nor in storage.
    pub missing: bool,
}

/// The result of moving one object set.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Objects copied.
    pub transferred: usize,
    /// Bytes copied.
    pub bytes: u64,
    /// Objects already at the destination.
    pub already_present: usize,
    /// Objects skipped because `-r` chose another storage than the one they are routed to.
    pub skipped: usize,
    /// Stored objects found corrupt and replaced with the cache's copy, with the output
    /// path that needs each and the storage name.
    pub replaced: BTreeMap<ObjectKey, (String, String)>,
    /// Objects that could not be moved.
    pub failures: BTreeMap<ObjectKey, ObjectFailure>,
    /// Storages used, by name, with their locations for messages.
    pub storages: BTreeMap<String, String>,
    /// Time the transfer took, from planning to the last object.
    pub elapsed: Duration,
}

impl Outcome {
    /// Returns true if and only if every object arrived.
    pub fn is_success(&self) -> bool {
        self.failures.is_empty()
    }

    /// Returns the storages used as `NAME (LOCATION), ...`, or `storage` when none was.
    pub fn storages_text(&self) -> String {
        let storages: Vec<String> = self
            .storages
            .iter()
            .map(|(name, at)| format!("{name} ({at})"))
            .collect();
        if storages.is_empty() {
            "storage".to_owned()
        } else {
            storages.join(", ")
        }
    }

    /// Returns the one-line report of an upload: objects, bytes, storages and seconds.
    pub fn upload_summary(&self) -> String {
        format!(
            "uploaded {} objects ({} bytes) to {}, {} already there, in {:.2} s",
            self.transferred,
            self.bytes,
            self.storages_text(),
            self.already_present,
            self.elapsed.as_secs_f64()
        )
    }

    /// Returns the one-line report of a download, `what` naming what the objects belong to
    /// (such as `of 3 experiments`), or empty.
    pub fn download_summary(&self, what: &str) -> String {
        let what = if what.is_empty() {
            String::new()
        } else {
            format!(" {what}")
        };
        format!(
            "downloaded {} objects ({} bytes){what} from {} in {:.2} s",
            self.transferred,
            self.bytes,
            self.storages_text(),
            self.elapsed.as_secs_f64()
        )
    }
}

/// Direction of a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the cache to storage.
    Upload,
    /// From storage to the cache.
    Download,
}

/// Moves every object of `set` in `direction`, storage by storage.
///
/// `explicit` is the storage chosen with `-r`; objects routed to another storage are then
/// skipped, as DVC does. Failures are collected per object; nothing stops at the first one.
pub fn transfer(
    project: &Project,
    set: &ObjectSet,
    direction: Direction,
    explicit: Option<&str>,
    options: &transfer::Options,
    progress: &dyn Progress,
) -> Outcome {
    let started = Instant::now();
    let mut outcome = Outcome::default();

    for (routed, objects) in &set.by_storage {
        if objects.is_empty() {
            continue;
        }
        if let (Some(routed), Some(explicit)) = (routed, explicit) {
            if !routed.eq_ignore_ascii_case(explicit) {
                tracing::debug!(%routed, %explicit, count = objects.len(), "skipping objects routed to another storage");
                outcome.skipped += objects.len();
                continue;
            }
        }

        let Some(name) = project.storage_name(routed.as_deref(), explicit) else {
            let error = project::Error::NoDefaultStorage {
                what: format!("{} objects", objects.len()),
            };
            fail_all(&mut outcome, objects, None, &error_chain(&error));
            continue;
        };
        let storage = match project.open_storage(&name) {
            Ok(storage) => storage,
            Err(error) => {
                fail_all(&mut outcome, objects, Some(&name), &error_chain(&error));
                continue;
            }
        };
        outcome.storages.insert(name.clone(), storage.describe());

        let keys: Vec<ObjectKey> = objects.keys().copied().collect();
        let mut options = options.clone();
        for (key, size) in &set.sizes {
            options.sizes.entry(*key).or_insert(*size);
        }
        let report = run(
            project,
            storage.as_ref(),
            &keys,
            direction,
            &options,
            progress,
        );
        outcome.transferred += report.transferred.len();
        outcome.bytes += report.bytes;
        outcome.already_present += report.already_present;
        for key in report.replaced {
            outcome
                .replaced
                .insert(key, (output_path_of(objects, &key), name.clone()));
        }
        for failure in report.failed {
            let path = output_path_of(objects, &failure.key);
            outcome.failures.insert(
                failure.key,
                ObjectFailure {
                    path,
                    storage: Some(name.clone()),
                    message: failure.message,
                    missing: matches!(
                        failure.kind,
                        FailureKind::MissingLocally | FailureKind::MissingInStorage
                    ),
                },
            );
        }
    }

    outcome.elapsed = started.elapsed();
    outcome
}

fn run(
    project: &Project,
    storage: &dyn Storage,
    keys: &[ObjectKey],
    direction: Direction,
    options: &transfer::Options,
    progress: &dyn Progress,
) -> transfer::Report {
    match direction {
        Direction::Upload => transfer::upload(project.cache(), storage, keys, options, progress),
        Direction::Download => {
            transfer::download(storage, project.cache(), keys, options, progress)
        }
    }
}

/// Returns the output path for `key`; members of a directory report the directory's path.
fn output_path_of(objects: &BTreeMap<ObjectKey, String>, key: &ObjectKey) -> String {
    match objects.get(key) {
        Some(path) => path.clone(),
        None => {
            let dirs: Vec<&str> = objects
                .iter()
                .filter(|(k, _)| k.id.is_dir())
                .map(|(_, path)| path.as_str())
                .collect();
            match dirs.as_slice() {
                [one] => format!("{one}/…"),
                _ => "a tracked directory".to_owned(),
            }
        }
    }
}

/// Records one failure for every object of `objects`, all for the same reason.
///
/// Failures print in object order, so the first object carries `message` in full and the
/// others point back to it instead of repeating it.
fn fail_all(
    outcome: &mut Outcome,
    objects: &BTreeMap<ObjectKey, String>,
    storage: Option<&str>,
    message: &str,
) {
    let mut first = true;
    for (key, path) in objects {
        let message = if first {
            message.to_owned()
        } else {
            match storage {
                Some(name) => format!("storage {name:?} is unusable, as reported above"),
                None => "no storage is set, as reported above".to_owned(),
            }
        };
        first = false;
        outcome.failures.insert(
            *key,
            ObjectFailure {
                path: path.clone(),
                storage: storage.map(str::to_owned),
                message,
                missing: false,
            },
        );
    }
}

/// Returns the part of `set` that the cache lacks: objects not in it or damaged there (not
/// a regular file, or not of the size the metafile records), and directories with such a
/// member. Nothing is hashed and nothing is changed.
pub fn incomplete(cache: &Cache, set: &ObjectSet) -> ObjectSet {
    let mut missing = ObjectSet::default();
    for (storage, objects) in &set.by_storage {
        for (key, path) in objects {
            if !is_complete(cache, key, set.sizes.get(key).copied()) {
                missing
                    .by_storage
                    .entry(storage.clone())
                    .or_default()
                    .insert(*key, path.clone());
                if let Some(size) = set.sizes.get(key) {
                    missing.sizes.insert(*key, *size);
                }
            }
        }
    }
    missing
}

/// Objects that fetched experiments need and the cache lacks.
#[derive(Debug, Default)]
pub struct ExperimentObjects {
    /// The objects to download.
    pub missing: ObjectSet,
    /// How many experiments lack at least one object.
    pub incomplete: usize,
    /// Experiments left out because a metafile of theirs is invalid, with the error.
    pub skipped: Vec<(ExpRef, String)>,
}

/// Collects what the cache lacks for each experiment at its tip: the outputs of the commits
/// between its baseline and the tip, as `dvc exp pull` downloads them.
///
/// An experiment with an invalid metafile is listed in `skipped` and the others still count.
pub fn missing_experiment_objects(
    project: &Project,
    experiments: &[(ExpRef, CommitId)],
) -> Result<ExperimentObjects, crate::git::Error> {
    let repo = project.repo();
    let mut collector = Collector::new(repo);
    let mut found = ExperimentObjects::default();
    for (experiment, tip) in experiments {
        let baseline: Vec<CommitId> = CommitId::from_hex(experiment.baseline().as_bytes())
            .into_iter()
            .collect();
        let commits = repo.commits_in_range(*tip, &baseline)?;
        match collector.objects(&commits, Purpose::Fetch) {
            Ok(objects) => {
                let missing = incomplete(project.cache(), &objects);
                if !missing.is_empty() {
                    found.missing.extend(&missing);
                    found.incomplete += 1;
                }
            }
            Err(error) => found
                .skipped
                .push((experiment.clone(), error_chain(&error))),
        }
    }
    Ok(found)
}

fn is_complete(cache: &Cache, key: &ObjectKey, size: Option<u64>) -> bool {
    let present =
        |key: &ObjectKey, size: Option<u64>| matches!(cache.inspect(key, size), Ok(Some(_)));
    if !present(key, size) {
        return false;
    }
    if !key.id.is_dir() {
        return true;
    }
    match cache.read_manifest(key) {
        Ok(manifest) => manifest
            .entries()
            .iter()
            .all(|entry| present(&ObjectKey::new(key.kind, entry.id), None)),
        Err(_) => false,
    }
}

/// Formats an error and its sources on one line, joined with ": ".
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
