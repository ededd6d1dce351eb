//! Full checks of objects: re-hash every cache or storage object that outputs reference.
//!
//! The cheap checks of fetch and checkout (a regular file of the recorded size) miss bytes
//! changed in place. These functions read and hash every object, the members of `.dir`
//! manifests included, each distinct object once, on `jobs` threads. They only read:
//! damaged objects stay where they are. `git exp status --verify` runs them.

use std::collections::{BTreeMap, BTreeSet};

use crate::cache::{self, Cache};
use crate::object::ObjectKey;
use crate::pool::parallel;
use crate::storage::Storage;
use crate::transfer::{self, error_chain, FailureKind};

/// One object that failed a full check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The object: the root itself or a member of a `.dir` root.
    pub object: ObjectKey,
    /// True when the object is corrupt or unreadable; false when it could not be checked,
    /// for example because the storage did not answer.
    pub corrupt: bool,
    /// The problem, naming the object, its path and its cache or storage.
    pub message: String,
}

/// Findings by root object; roots without findings are left out.
pub type Findings = BTreeMap<ObjectKey, Vec<Finding>>;

/// Hashes each of `roots` in `cache`, and each member of the `.dir` roots.
///
/// Objects absent from the cache are not findings; `incomplete` in [`crate::share`] reports
/// those.
pub fn cache_objects(cache: &Cache, roots: &[ObjectKey], jobs: usize) -> Findings {
    let mut findings = Findings::new();
    let mut objects: BTreeMap<ObjectKey, Vec<ObjectKey>> = BTreeMap::new();
    for root in dedupe(roots) {
        if !root.id.is_dir() {
            objects.entry(root).or_default().push(root);
            continue;
        }
        match cache.read_manifest(&root) {
            Ok(manifest) => {
                for entry in manifest.entries() {
                    let member = ObjectKey::new(root.kind, entry.id);
                    objects.entry(member).or_default().push(root);
                }
            }
            Err(cache::Error::NotFound { .. }) => {}
            Err(error) => findings.entry(root).or_default().push(Finding {
                object: root,
                corrupt: true,
                message: error_chain(&error),
            }),
        }
    }

    let keys: Vec<ObjectKey> = objects.keys().copied().collect();
    let results = parallel(&keys, jobs, |key| cache.verify(key));
    for (key, result) in keys.iter().zip(results) {
        let message = match result {
            Ok(_) | Err(cache::Error::NotFound { .. }) => continue,
            Err(error) => error_chain(&error),
        };
        for root in &objects[key] {
            findings.entry(*root).or_default().push(Finding {
                object: *key,
                corrupt: true,
                message: message.clone(),
            });
        }
    }
    findings
}

/// Downloads and hashes each of `roots` from `storage`, and each member of the `.dir`
/// roots, as the stored manifest lists them.
///
/// A root absent from the storage is not a finding, but a member absent while its stored
/// manifest lists it is: DVC counts the directory as stored and never uploads the member.
pub fn stored_objects(storage: &dyn Storage, roots: &[ObjectKey], jobs: usize) -> Findings {
    let storage_name = storage.describe();
    let mut findings = Findings::new();
    let roots = dedupe(roots);

    let dirs: Vec<ObjectKey> = roots
        .iter()
        .filter(|key| key.id.is_dir())
        .copied()
        .collect();
    let manifests = parallel(&dirs, jobs, |key| {
        transfer::fetch_manifest(storage, key, &storage_name)
    });
    let mut objects: BTreeMap<ObjectKey, (Vec<ObjectKey>, bool)> = BTreeMap::new();
    for root in roots.iter().filter(|key| !key.id.is_dir()) {
        objects.entry(*root).or_default().0.push(*root);
    }
    for (root, manifest) in dirs.iter().zip(manifests) {
        match manifest {
            Ok((manifest, _)) => {
                for entry in manifest.entries() {
                    let member = ObjectKey::new(root.kind, entry.id);
                    let slot = objects.entry(member).or_default();
                    slot.0.push(*root);
                    slot.1 = true;
                }
            }
            Err((FailureKind::MissingInStorage, _)) => {}
            Err((kind, message)) => findings.entry(*root).or_default().push(Finding {
                object: *root,
                corrupt: kind == FailureKind::Corrupt,
                message,
            }),
        }
    }

    let keys: Vec<ObjectKey> = objects.keys().copied().collect();
    let results = parallel(&keys, jobs, |key| transfer::verify_stored(storage, key));
    for (key, result) in keys.iter().zip(results) {
        let (roots, listed) = &objects[key];
        let (corrupt, message) = match result {
            Ok(_) => continue,
            Err((FailureKind::MissingInStorage, _)) if !listed => continue,
            Err((kind, message)) => (
                matches!(kind, FailureKind::Corrupt | FailureKind::MissingInStorage),
                message,
            ),
        };
        for root in roots {
            findings.entry(*root).or_default().push(Finding {
                object: *key,
                corrupt,
                message: message.clone(),
            });
        }
    }
    findings
}

fn dedupe(keys: &[ObjectKey]) -> Vec<ObjectKey> {
    keys.iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests;
