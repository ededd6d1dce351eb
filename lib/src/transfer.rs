//! The transfer engine: moves the objects that outputs name between the cache and a storage.
//!
//! Both directions expand `.dir` roots into their members, move members and files first on
//! a pool of worker threads, and move each `.dir` manifest last, only when every member
//! arrived. An interrupted run therefore never leaves a `.dir` whose members are absent,
//! which matters because DVC treats a stored `.dir` as proof that its members are stored.
//!
//! Failures are collected per object in a [`Report`]; the other objects keep moving.
//!
//! Damaged objects: a download treats a cached object that is not a regular file, or not
//! of the size its metafile records, as absent. It moves the damaged entry aside (see
//! [`Cache::move_aside`]), logs a warning, and downloads the object again. An upload
//! with [`Options::verify`] downloads and hashes each stored object that it would
//! otherwise skip, and writes the cache's verified copy over a corrupt one.
//!
//! Both directions first remove the temporary files older than an hour that killed
//! processes left in the fan-out folders they are about to write to.

use std::collections::{HashMap, HashSet};
use std::error::Error as StdError;
use std::io::{self, Read};
use std::time::Duration;

use crate::cache::{self, Cache, MAX_MANIFEST_SIZE};
use crate::manifest::Manifest;
use crate::object::{hash_reader, Hasher, ObjectKey};
use crate::progress::Progress;
use crate::storage::{self, Storage};

/// Attempts per object when the error is retryable, including the first one.
const MAX_ATTEMPTS: u32 = 3;

/// Wait before the second attempt; doubled before each further one.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(200);

/// Returns DVC's default number of transfer jobs: four per available CPU.
pub fn default_jobs() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    4 * cpus
}

/// Settings of one transfer.
#[derive(Debug, Clone)]
pub struct Options {
    /// Number of worker threads; 0 is treated as 1.
    pub jobs: usize,
    /// Upload only: download and hash every stored object instead of trusting that it
    /// exists with the right size, and replace corrupt ones with the cache's copy.
    pub verify: bool,
    /// Sizes the metafiles record for file objects. A cached object of another size counts
    /// as damaged, and a stored one as absent.
    pub sizes: HashMap<ObjectKey, u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            jobs: default_jobs(),
            verify: false,
            sizes: HashMap::new(),
        }
    }
}

/// The outcome of a transfer.
#[derive(Debug, Default)]
pub struct Report {
    /// Objects written to the destination, in completion order.
    pub transferred: Vec<ObjectKey>,
    /// Bytes written to the destination.
    pub bytes: u64,
    /// Objects the destination already held.
    pub already_present: usize,
    /// Stored objects found corrupt and replaced with the cache's copy (upload with
    /// [`Options::verify`]); they are counted in `transferred` too.
    pub replaced: Vec<ObjectKey>,
    /// Objects that could not be transferred, one entry per object.
    pub failed: Vec<Failure>,
}

impl Report {
    /// Returns true if and only if no object failed.
    pub fn is_success(&self) -> bool {
        self.failed.is_empty()
    }

    /// Returns the keys of the failed objects.
    pub fn failed_keys(&self) -> HashSet<ObjectKey> {
        self.failed.iter().map(|failure| failure.key).collect()
    }
}

/// One object that could not be transferred.
#[derive(Debug)]
pub struct Failure {
    /// The object.
    pub key: ObjectKey,
    /// The class of failure.
    pub kind: FailureKind,
    /// The error and its causes joined with `: `; storage descriptions carry no credentials.
    pub message: String,
}

/// Class of a transfer failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The object is in neither the cache nor the storage (upload), or a `.dir` to expand
    /// is not in the cache.
    MissingLocally,
    /// The object is not in the storage (download).
    MissingInStorage,
    /// The bytes do not hash to the object's id; nothing was stored under its name.
    Corrupt,
    /// Any other I/O or backend failure.
    Io,
    /// A `.dir` manifest was not transferred because at least one member failed.
    MemberFailed,
}

/// Uploads `roots`, and the members of `.dir` roots, from `cache` to `storage`.
///
/// Stages, in order:
/// 1. Expand `.dir` roots from the cache.
/// 2. Ask the storage which objects it lacks; a stored object of another size than the
///    metafile's (or the cache's) counts as absent. Without [`Options::verify`], the members
///    of a `.dir` already stored are assumed stored and not queried, as `dvc push` does.
/// 3. With [`Options::verify`], download and hash every other stored object, and mark the
///    corrupt ones for replacement.
/// 4. Upload the missing and corrupt files and members, largest first, on `options.jobs`
///    threads. A replaced object is downloaded and hashed once more.
/// 5. Upload each missing or corrupt `.dir` whose members are all in the storage.
///
/// Objects absent from the cache but present in the storage count as present. Retryable
/// storage errors are tried up to three times.
pub fn upload(
    cache: &Cache,
    storage: &dyn Storage,
    roots: &[ObjectKey],
    options: &Options,
    progress: &dyn Progress,
) -> Report {
    let storage_name = storage.describe();
    let mut recorder = Recorder::default();

    // Expand directories from the cache. A `.dir` that cannot be read there may still be
    // present in the storage, so it counts as failed only after the storage check below.
    let roots = dedupe(roots);
    let mut dirs: Vec<(ObjectKey, Result<Manifest, cache::Error>)> = Vec::new();
    let mut candidates = Ordered::default();
    for key in &roots {
        if key.id.is_dir() {
            let manifest = cache.read_manifest(key);
            if let Ok(manifest) = &manifest {
                for entry in manifest.entries() {
                    candidates.insert(ObjectKey::new(key.kind, entry.id));
                }
            }
            dirs.push((*key, manifest));
        } else {
            candidates.insert(*key);
        }
    }
    for (key, _) in &dirs {
        candidates.insert(*key);
    }

    // Sizes from the metafiles, else from the cache, let the storage treat a stored object
    // of another size as missing.
    let expected_sizes: HashMap<ObjectKey, u64> = candidates
        .keys
        .iter()
        .filter_map(|key| {
            let size = options
                .sizes
                .get(key)
                .copied()
                .or_else(|| crate::atomic_write::regular_file_size(&cache.object_path(key)));
            size.map(|size| (*key, size))
        })
        .collect();
    let mut missing: HashSet<ObjectKey> = match find_missing(
        storage,
        &roots,
        &candidates.keys,
        &dirs,
        &expected_sizes,
        options,
    ) {
        Ok(missing) => missing,
        Err(error) => {
            let message = error_chain(&error);
            for key in &roots {
                recorder.fail(*key, FailureKind::Io, message.clone());
            }
            return recorder.into_report();
        }
    };

    // Stored objects that are there but hash to something else.
    let mut corrupt: HashSet<ObjectKey> = HashSet::new();
    if options.verify {
        let stored: Vec<ObjectKey> = candidates
            .keys
            .iter()
            .filter(|key| !missing.contains(key))
            .copied()
            .collect();
        progress.begin("verify", stored.len() as u64, 0);
        let checks = crate::pool::parallel(&stored, options.jobs, |key| {
            let outcome = verify_stored(storage, key);
            progress.advance(1, *outcome.as_ref().unwrap_or(&0));
            outcome
        });
        progress.finish();
        for (key, check) in stored.iter().zip(checks) {
            match check {
                Ok(_) => {}
                Err((FailureKind::Corrupt, message)) => {
                    tracing::warn!("{message}; replacing it with the cache's copy");
                    corrupt.insert(*key);
                }
                // Removed since the check above, by someone else.
                Err((FailureKind::MissingInStorage, _)) => {
                    missing.insert(*key);
                }
                Err((kind, message)) => recorder.fail(*key, kind, message),
            }
        }
    }
    let to_write = |key: &ObjectKey| missing.contains(key) || corrupt.contains(key);
    recorder.already_present = candidates
        .keys
        .iter()
        .filter(|key| !to_write(key) && !recorder.failed.contains_key(key))
        .count();
    tracing::debug!(
        objects = candidates.keys.len(),
        missing = missing.len(),
        corrupt = corrupt.len(),
        storage = %storage_name,
        "planned upload"
    );
    let writes: Vec<ObjectKey> = candidates
        .keys
        .iter()
        .filter(|key| to_write(key))
        .copied()
        .collect();
    storage.remove_stale_temp_files(&writes);

    // Files and members first.
    let mut queue: Vec<(ObjectKey, u64)> = Vec::new();
    for key in candidates.keys.iter().filter(|key| !key.id.is_dir()) {
        if !to_write(key) {
            continue;
        }
        match crate::atomic_write::regular_file_size(&cache.object_path(key)) {
            Some(size) => queue.push((*key, size)),
            None => recorder.fail(
                *key,
                FailureKind::MissingLocally,
                if corrupt.contains(key) {
                    format!(
                        "object {key} in storage {storage_name} is corrupt, and the cache has no copy at {} to replace it with",
                        cache.object_path(key).display()
                    )
                } else {
                    format!(
                        "object {key} is in neither the cache at {} nor storage {storage_name}",
                        cache.object_path(key).display()
                    )
                },
            ),
        }
    }
    queue.sort_by_key(|(_, size)| std::cmp::Reverse(*size));

    // Directories whose manifest could not be read from the cache fail now; the others
    // wait for their members.
    let mut pending_dirs: Vec<(ObjectKey, Manifest, u64)> = Vec::new();
    for (key, manifest) in dirs {
        if !to_write(&key) {
            continue;
        }
        match manifest {
            Ok(manifest) => {
                let size = crate::atomic_write::regular_file_size(&cache.object_path(&key));
                pending_dirs.push((key, manifest, size.unwrap_or(0)));
            }
            Err(cache::Error::NotFound { path, .. }) => recorder.fail(
                key,
                FailureKind::MissingLocally,
                format!(
                    "object {key} is in neither the cache at {} nor storage {storage_name}",
                    path.display()
                ),
            ),
            Err(error) => {
                let kind = match error {
                    cache::Error::Corrupt { .. }
                    | cache::Error::Damaged { .. }
                    | cache::Error::InvalidManifest { .. } => FailureKind::Corrupt,
                    _ => FailureKind::Io,
                };
                recorder.fail(key, kind, error_chain(&error));
            }
        }
    }

    let total_objects = queue.len() + pending_dirs.len();
    let total_bytes = queue.iter().map(|(_, size)| size).sum::<u64>()
        + pending_dirs.iter().map(|(_, _, size)| size).sum::<u64>();
    progress.begin("upload", total_objects as u64, total_bytes);

    let put = |key: &ObjectKey| {
        let source = cache.object_path(key);
        if !corrupt.contains(key) {
            return with_retries(
                key,
                || storage.put(key, &source),
                storage::Error::is_retryable,
            )
            .map_err(|error| (classify_put_error(&error), error_chain(&error)));
        }
        let size = with_retries(
            key,
            || storage.replace(key, &source),
            storage::Error::is_retryable,
        )
        .map_err(|error| (classify_put_error(&error), error_chain(&error)))?;
        // A server may keep the old bytes; only a copy that now hashes right counts.
        verify_stored(storage, key).map_err(|(kind, message)| {
            (
                kind,
                format!("{message}, even after the cache's copy was uploaded over it"),
            )
        })?;
        Ok(size)
    };
    let outcomes = crate::pool::parallel(&queue, options.jobs, |(key, size)| {
        let outcome = put(key);
        progress.advance(1, *size);
        outcome
    });
    for ((key, _), outcome) in queue.iter().zip(outcomes) {
        record_upload(&mut recorder, &corrupt, *key, outcome);
    }

    // Then each directory whose members are all in the storage now.
    let mut ready: Vec<(ObjectKey, u64)> = Vec::new();
    for (key, manifest, size) in pending_dirs {
        let failed_members: Vec<ObjectKey> = manifest
            .entries()
            .iter()
            .map(|entry| ObjectKey::new(key.kind, entry.id))
            .filter(|member| recorder.failed.contains_key(member))
            .collect();
        if failed_members.is_empty() {
            ready.push((key, size));
        } else {
            tracing::debug!(object = %key, failed = failed_members.len(), "holding back directory manifest");
            recorder.fail(
                key,
                FailureKind::MemberFailed,
                member_failed_message(&key, &failed_members, manifest.entries().len()),
            );
            progress.advance(1, size);
        }
    }
    let outcomes = crate::pool::parallel(&ready, options.jobs, |(key, size)| {
        let outcome = put(key);
        progress.advance(1, *size);
        outcome
    });
    for ((key, _), outcome) in ready.iter().zip(outcomes) {
        record_upload(&mut recorder, &corrupt, *key, outcome);
    }

    progress.finish();
    recorder.into_report()
}

/// Returns the `candidates`, which are `roots` and the members of the `.dir` roots `dirs`,
/// that `storage` lacks. A stored object of another size than
/// `expected_sizes` counts as absent.
///
/// Without [`Options::verify`], the `.dir` manifests are queried first, and the members of
/// each stored one are assumed stored and not queried, as `dvc push` does. A member that
/// is also a file root, or a member of a `.dir` the storage lacks, is still queried. The
/// assumption holds for storages this engine writes, because a `.dir` goes up only after
/// all of its members did.
fn find_missing(
    storage: &dyn Storage,
    roots: &[ObjectKey],
    candidates: &[ObjectKey],
    dirs: &[(ObjectKey, Result<Manifest, cache::Error>)],
    expected_sizes: &HashMap<ObjectKey, u64>,
    options: &Options,
) -> Result<HashSet<ObjectKey>, storage::Error> {
    if options.verify || dirs.is_empty() {
        let missing = storage.missing(candidates, expected_sizes, options.jobs)?;
        return Ok(missing.into_iter().collect());
    }

    let dir_keys: Vec<ObjectKey> = dirs.iter().map(|(key, _)| *key).collect();
    let mut missing: HashSet<ObjectKey> = storage
        .missing(&dir_keys, expected_sizes, options.jobs)?
        .into_iter()
        .collect();
    let mut assumed: HashSet<ObjectKey> = HashSet::new();
    let mut needed: HashSet<ObjectKey> = roots
        .iter()
        .filter(|key| !key.id.is_dir())
        .copied()
        .collect();
    for (key, manifest) in dirs {
        let Ok(manifest) = manifest else {
            continue;
        };
        let members = manifest
            .entries()
            .iter()
            .map(|entry| ObjectKey::new(key.kind, entry.id));
        if missing.contains(key) {
            needed.extend(members);
        } else {
            assumed.extend(members);
        }
    }
    let dir_set: HashSet<ObjectKey> = dir_keys.iter().copied().collect();
    let rest: Vec<ObjectKey> = candidates
        .iter()
        .filter(|key| !dir_set.contains(key))
        .filter(|key| !assumed.contains(key) || needed.contains(key))
        .copied()
        .collect();
    tracing::debug!(
        dirs = dir_keys.len(),
        stored_dirs = dir_keys.len() - missing.len(),
        assumed_stored = candidates.len() - dir_keys.len() - rest.len(),
        queried = rest.len(),
        storage = %storage.describe(),
        "skipped querying the members of stored directories"
    );
    if !rest.is_empty() {
        missing.extend(storage.missing(&rest, expected_sizes, options.jobs)?);
    }
    Ok(missing)
}

/// Records one upload, and a replacement among the replaced objects.
fn record_upload(
    recorder: &mut Recorder,
    corrupt: &HashSet<ObjectKey>,
    key: ObjectKey,
    outcome: Result<u64, (FailureKind, String)>,
) {
    if outcome.is_ok() && corrupt.contains(&key) {
        recorder.replaced.push(key);
    }
    recorder.record(key, outcome);
}

/// Downloads `roots`, and the members of `.dir` roots, from `storage` into `cache`.
///
/// Stages, in order:
/// 1. Read each `.dir` manifest from the cache. A manifest not cached, or damaged there, is
///    streamed from the storage into memory, at most [`MAX_MANIFEST_SIZE`] bytes, and its
///    MD5 is checked.
/// 2. Download the missing and damaged files and members on `options.jobs` threads through
///    [`Cache::insert_reader`], which verifies each one. A damaged cache entry is moved
///    aside first.
/// 3. Insert each downloaded `.dir` into the cache once all of its members are there.
///
/// A corrupt object never enters the cache.
///
/// The progress totals count objects only, because the storage reports no sizes before
/// downloading; bytes are added as objects finish.
pub fn download(
    storage: &dyn Storage,
    cache: &Cache,
    roots: &[ObjectKey],
    options: &Options,
    progress: &dyn Progress,
) -> Report {
    let storage_name = storage.describe();
    let mut recorder = Recorder::default();
    let roots = dedupe(roots);

    // Manifests: from the cache when present there, else fetched in parallel. A fetched
    // manifest keeps its bytes until it can enter the cache.
    let mut dirs: Vec<(ObjectKey, Manifest, Option<Vec<u8>>)> = Vec::new();
    let mut to_fetch: Vec<ObjectKey> = Vec::new();
    for key in roots.iter().filter(|key| key.id.is_dir()) {
        let read = match cache.inspect(key, None) {
            Ok(None) => {
                to_fetch.push(*key);
                continue;
            }
            Ok(Some(_)) => cache.read_manifest(key),
            Err(defect) => Err(cache::Error::Damaged {
                key: *key,
                path: cache.object_path(key),
                defect,
            }),
        };
        match read {
            Ok(manifest) => {
                recorder.already_present += 1;
                dirs.push((*key, manifest, None));
            }
            Err(error @ (cache::Error::Corrupt { .. } | cache::Error::Damaged { .. })) => {
                match set_aside(cache, key, &error) {
                    Ok(()) => to_fetch.push(*key),
                    Err(message) => recorder.fail(*key, FailureKind::Io, message),
                }
            }
            Err(error) => {
                let kind = match error {
                    cache::Error::InvalidManifest { .. } => FailureKind::Corrupt,
                    _ => FailureKind::Io,
                };
                recorder.fail(*key, kind, error_chain(&error));
            }
        }
    }
    let fetched = crate::pool::parallel(&to_fetch, options.jobs, |key| {
        fetch_manifest(storage, key, &storage_name)
    });
    for (key, outcome) in to_fetch.iter().zip(fetched) {
        match outcome {
            Ok((manifest, bytes)) => dirs.push((*key, manifest, Some(bytes))),
            Err((kind, message)) => recorder.fail(*key, kind, message),
        }
    }

    // Files and members that the cache lacks.
    let mut seen: HashSet<ObjectKey> = HashSet::new();
    let mut queue: Vec<ObjectKey> = Vec::new();
    let file_roots = roots.iter().filter(|key| !key.id.is_dir()).copied();
    let members = dirs.iter().flat_map(|(dir, manifest, _)| {
        manifest
            .entries()
            .iter()
            .map(move |entry| ObjectKey::new(dir.kind, entry.id))
    });
    for key in file_roots.chain(members) {
        if !seen.insert(key) {
            continue;
        }
        match cache.inspect(&key, options.sizes.get(&key).copied()) {
            Ok(Some(_)) => recorder.already_present += 1,
            Ok(None) => queue.push(key),
            Err(defect) => {
                let error = cache::Error::Damaged {
                    key,
                    path: cache.object_path(&key),
                    defect,
                };
                match set_aside(cache, &key, &error) {
                    Ok(()) => queue.push(key),
                    Err(message) => recorder.fail(key, FailureKind::Io, message),
                }
            }
        }
    }
    cache.remove_stale_temp_files(queue.iter().chain(&to_fetch));
    tracing::debug!(
        objects = queue.len(),
        manifests = to_fetch.len(),
        storage = %storage_name,
        "planned download"
    );

    let fetched_count = dirs.iter().filter(|(_, _, bytes)| bytes.is_some()).count();
    progress.begin("download", (queue.len() + fetched_count) as u64, 0);
    let outcomes = crate::pool::parallel(&queue, options.jobs, |key| {
        let outcome = download_object(storage, cache, key, &storage_name);
        progress.advance(1, *outcome.as_ref().unwrap_or(&0));
        outcome
    });
    for (key, outcome) in queue.iter().zip(outcomes) {
        recorder.record(*key, outcome);
    }

    // Each fetched manifest enters the cache last, and only when all its members did.
    for (key, manifest, bytes) in &dirs {
        let Some(bytes) = bytes else {
            continue;
        };
        let absent: Vec<ObjectKey> = manifest
            .entries()
            .iter()
            .map(|entry| ObjectKey::new(key.kind, entry.id))
            .filter(|member| !cache.contains(member))
            .collect();
        if !absent.is_empty() {
            recorder.fail(
                *key,
                FailureKind::MemberFailed,
                member_failed_message(key, &absent, manifest.entries().len()),
            );
            progress.advance(1, 0);
            continue;
        }
        let outcome = cache
            .insert_reader(key, &mut bytes.as_slice(), &stored_at(key, &storage_name))
            .map_err(|error| (classify_insert_error(&error), error_chain(&error)));
        progress.advance(1, bytes.len() as u64);
        recorder.record(*key, outcome);
    }

    progress.finish();
    recorder.into_report()
}

/// Moves the damaged cache entry of `key` aside so a good copy can take its place, and
/// logs a warning. Returns the reason when it cannot be moved.
fn set_aside(cache: &Cache, key: &ObjectKey, error: &cache::Error) -> Result<(), String> {
    match cache.move_aside(key) {
        Ok(aside) => {
            tracing::warn!(
                "{}; moved it to {} and downloading the object again",
                error_chain(error),
                aside.display()
            );
            Ok(())
        }
        Err(move_error) => Err(format!(
            "{}, and {}",
            error_chain(error),
            error_chain(&move_error)
        )),
    }
}

/// Describes where a storage keeps `key`, for messages: `files/md5/XX/REST in storage LOCATION`.
fn stored_at(key: &ObjectKey, storage_name: &str) -> String {
    format!("{} in storage {storage_name}", key.layout_path())
}

/// Downloads the stored object `key`, hashes it and returns its size.
///
/// Fails with [`FailureKind::Corrupt`] when the bytes hash to something else or a local
/// storage has something other than a readable file, with
/// [`FailureKind::MissingInStorage`] when the object is absent, and with
/// [`FailureKind::Io`] otherwise. Retryable errors are tried again.
pub(crate) fn verify_stored(
    storage: &dyn Storage,
    key: &ObjectKey,
) -> Result<u64, (FailureKind, String)> {
    enum Step {
        Open(storage::Error),
        Read(io::Error),
    }
    let attempt = || -> Result<([u8; 16], u64), Step> {
        let reader = storage.open(key).map_err(Step::Open)?;
        hash_reader(key.kind, reader).map_err(Step::Read)
    };
    let is_retryable = |step: &Step| match step {
        Step::Open(error) => error.is_retryable(),
        Step::Read(error) => cache::is_transient_read(error),
    };
    let storage_name = storage.describe();
    let (digest, size) = with_retries(key, attempt, is_retryable).map_err(|step| match step {
        Step::Open(error) => (classify_open_error(&error), error_chain(&error)),
        Step::Read(error) => (
            FailureKind::Io,
            format!(
                "failed to read object {key} from {}: {}",
                stored_at(key, &storage_name),
                error_chain(&error)
            ),
        ),
    })?;
    if !key.id.matches_digest(digest) {
        let message = format!(
            "object {key} at {} is corrupt: its {size} bytes hash to {}",
            stored_at(key, &storage_name),
            hex::encode(digest)
        );
        return Err((FailureKind::Corrupt, message));
    }
    Ok(size)
}

/// Streams the manifest `key` from the storage into memory, checks its digest and parses it.
pub(crate) fn fetch_manifest(
    storage: &dyn Storage,
    key: &ObjectKey,
    storage_name: &str,
) -> Result<(Manifest, Vec<u8>), (FailureKind, String)> {
    let mut reader = with_retries(key, || storage.open(key), storage::Error::is_retryable)
        .map_err(|error| (classify_open_error(&error), error_chain(&error)))?;

    let mut bytes = Vec::new();
    let read = (&mut reader)
        .take(MAX_MANIFEST_SIZE + 1)
        .read_to_end(&mut bytes);
    if let Err(error) = read {
        let message = format!(
            "failed to read directory manifest {key} from {}: {}",
            stored_at(key, storage_name),
            error_chain(&error)
        );
        return Err((FailureKind::Io, message));
    }
    if bytes.len() as u64 > MAX_MANIFEST_SIZE {
        let message = format!(
            "directory manifest {key} in storage {storage_name} is larger than the limit of {MAX_MANIFEST_SIZE} bytes"
        );
        return Err((FailureKind::Io, message));
    }

    let mut hasher = Hasher::new(key.kind);
    hasher.update(&bytes);
    let digest = hasher.finish();
    if !key.id.matches_digest(digest) {
        let message = format!(
            "object {key} from {} is corrupt: its content hashes to {}",
            stored_at(key, storage_name),
            hex::encode(digest)
        );
        return Err((FailureKind::Corrupt, message));
    }
    match Manifest::parse(&key.id, &bytes) {
        Ok(manifest) => Ok((manifest, bytes)),
        Err(error) => {
            let message = format!(
                "invalid directory manifest {key} in storage {storage_name}: {}",
                error_chain(&error)
            );
            Err((FailureKind::Corrupt, message))
        }
    }
}

/// Streams one object from the storage into the cache and returns its size.
fn download_object(
    storage: &dyn Storage,
    cache: &Cache,
    key: &ObjectKey,
    storage_name: &str,
) -> Result<u64, (FailureKind, String)> {
    let origin = stored_at(key, storage_name);
    enum Step {
        Open(storage::Error),
        Insert(cache::Error),
    }
    let attempt = || -> Result<u64, Step> {
        let mut reader = storage.open(key).map_err(Step::Open)?;
        cache
            .insert_reader(key, &mut reader, &origin)
            .map_err(Step::Insert)
    };
    let is_retryable = |step: &Step| match step {
        Step::Open(error) => error.is_retryable(),
        Step::Insert(error) => error.is_retryable(),
    };
    with_retries(key, attempt, is_retryable).map_err(|step| match step {
        Step::Open(error) => (classify_open_error(&error), error_chain(&error)),
        Step::Insert(error) => (classify_insert_error(&error), error_chain(&error)),
    })
}

/// Runs `attempt` up to [`MAX_ATTEMPTS`] times while its error is retryable.
fn with_retries<T, E>(
    key: &ObjectKey,
    mut attempt: impl FnMut() -> Result<T, E>,
    is_retryable: impl Fn(&E) -> bool,
) -> Result<T, E> {
    let mut delay = FIRST_RETRY_DELAY;
    let mut attempts = 1;
    loop {
        match attempt() {
            Err(error) if attempts < MAX_ATTEMPTS && is_retryable(&error) => {
                tracing::debug!(object = %key, attempt = attempts, ?delay, "retrying after a transient error");
                std::thread::sleep(delay);
                delay *= 2;
                attempts += 1;
            }
            outcome => return outcome,
        }
    }
}

fn classify_put_error(error: &storage::Error) -> FailureKind {
    match error {
        storage::Error::Corrupt { .. } => FailureKind::Corrupt,
        storage::Error::ReadSource { source, .. } if cache::is_absent(source) => {
            FailureKind::MissingLocally
        }
        _ => FailureKind::Io,
    }
}

fn classify_open_error(error: &storage::Error) -> FailureKind {
    match error {
        storage::Error::NotFound { .. } => FailureKind::MissingInStorage,
        storage::Error::Damaged { .. } => FailureKind::Corrupt,
        _ => FailureKind::Io,
    }
}

fn classify_insert_error(error: &cache::Error) -> FailureKind {
    match error {
        cache::Error::Corrupt { .. } => FailureKind::Corrupt,
        _ => FailureKind::Io,
    }
}

fn member_failed_message(key: &ObjectKey, failed: &[ObjectKey], members: usize) -> String {
    let listed: Vec<String> = failed.iter().take(3).map(ToString::to_string).collect();
    let more = if failed.len() > listed.len() {
        ", ..."
    } else {
        ""
    };
    format!(
        "directory manifest {key} was not transferred because {} of its {members} members failed ({}{more})",
        failed.len(),
        listed.join(", ")
    )
}

/// Joins an error and its chain of sources with `: `.
pub(crate) fn error_chain(error: &dyn StdError) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Returns the keys in first-seen order without duplicates.
fn dedupe(keys: &[ObjectKey]) -> Vec<ObjectKey> {
    let mut ordered = Ordered::default();
    for key in keys {
        ordered.insert(*key);
    }
    ordered.keys
}

/// Keys in insertion order, each once.
#[derive(Default)]
struct Ordered {
    keys: Vec<ObjectKey>,
    seen: HashSet<ObjectKey>,
}

impl Ordered {
    fn insert(&mut self, key: ObjectKey) {
        if self.seen.insert(key) {
            self.keys.push(key);
        }
    }
}

/// Collects outcomes into a [`Report`], keeping one failure per key.
#[derive(Default)]
struct Recorder {
    transferred: Vec<ObjectKey>,
    bytes: u64,
    already_present: usize,
    replaced: Vec<ObjectKey>,
    failed: HashMap<ObjectKey, Failure>,
    failed_order: Vec<ObjectKey>,
}

impl Recorder {
    fn fail(&mut self, key: ObjectKey, kind: FailureKind, message: String) {
        tracing::debug!(object = %key, ?kind, %message, "object failed");
        if !self.failed.contains_key(&key) {
            self.failed_order.push(key);
            self.failed.insert(key, Failure { key, kind, message });
        }
    }

    fn record(&mut self, key: ObjectKey, outcome: Result<u64, (FailureKind, String)>) {
        match outcome {
            Ok(size) => {
                self.transferred.push(key);
                self.bytes += size;
            }
            Err((kind, message)) => self.fail(key, kind, message),
        }
    }

    fn into_report(mut self) -> Report {
        let failed = self
            .failed_order
            .iter()
            .filter_map(|key| self.failed.remove(key))
            .collect();
        Report {
            transferred: self.transferred,
            bytes: self.bytes,
            already_present: self.already_present,
            replaced: self.replaced,
            failed,
        }
    }
}

#[cfg(test)]
mod tests;
