//! Deciding which objects a network storage lacks, with as few requests as possible.
//!
//! Two ways exist: one existence request per object, or listing the shard directories
//! (`files/md5/XX/`) that the queried objects fall into. Listing costs one request per page
//! of stored entries and covers every queried object in the shard; checking costs one
//! request per queried object. A sample listing of one shard estimates the entries per
//! shard, and the cheaper way is chosen for the remaining shards. So a push of a few
//! objects to a large storage checks them one by one, and a push of many objects lists.
//!
//! Stored sizes are compared with the expected ones, and a stored object of another size
//! counts as missing. Nothing is remembered between calls, so every "absent" result
//! comes from a request made in that call.

use crate::pool::parallel;
use std::collections::{BTreeMap, HashMap};

use super::Error;
use crate::object::{HashKind, ObjectKey};

/// Up to this many keys are always checked one by one.
const CHECK_ALL_BELOW: usize = 16;

/// Entries one listing request returns: the page size of S3, Azure and GCS listings.
const ENTRIES_PER_PAGE: usize = 1000;

/// A storage that can report one object's size and list one shard directory.
pub(crate) trait ShardListing: Sync {
    /// Returns the stored size of `key`, or `None` when it is absent.
    fn stat(&self, key: &ObjectKey) -> Result<Option<u64>, Error>;

    /// Returns the names and sizes of the objects in the shard of `key`, such as
    /// `files/md5/b1/`, with names relative to the shard (`946a…184` or `…​.dir`).
    fn list_shard(&self, key: &ObjectKey) -> Result<HashMap<String, u64>, Error>;

    /// Returns the storage's location for logs.
    fn location(&self) -> String;
}

/// The shard of a key: its layout and the first two hex digits of its id.
type Shard = (HashKind, String);

fn shard_of(key: &ObjectKey) -> Shard {
    (key.kind, key.id.hex()[..2].to_owned())
}

/// Returns the name of `key` inside its shard directory.
pub(crate) fn name_in_shard(key: &ObjectKey) -> String {
    let hex = key.id.hex();
    if key.id.is_dir() {
        format!("{}.dir", &hex[2..])
    } else {
        hex[2..].to_owned()
    }
}

/// Returns the keys that `storage` lacks, in input order; see the module documentation.
pub(crate) fn missing(
    storage: &dyn ShardListing,
    keys: &[ObjectKey],
    expected_sizes: &HashMap<ObjectKey, u64>,
    jobs: usize,
) -> Result<Vec<ObjectKey>, Error> {
    let mut present: HashMap<ObjectKey, bool> = HashMap::new();
    let size_matches = |key: &ObjectKey, stored: u64| match expected_sizes.get(key) {
        Some(&expected) if expected != stored => {
            tracing::warn!(
                object = %key,
                expected,
                stored,
                storage = %storage.location(),
                "stored object has another size than the local one; uploading it again"
            );
            false
        }
        _ => true,
    };

    let mut shards: BTreeMap<Shard, Vec<ObjectKey>> = BTreeMap::new();
    for key in keys {
        shards.entry(shard_of(key)).or_default().push(*key);
    }

    let mut to_check: Vec<ObjectKey> = Vec::new();
    if keys.len() < CHECK_ALL_BELOW {
        to_check.extend(keys.iter().copied());
        tracing::debug!(objects = keys.len(), storage = %storage.location(), "checking each object");
    } else {
        // The shard with the most queried keys is listed as the sample.
        let Some((sample_shard, sample_keys)) = shards
            .iter()
            .max_by_key(|(_, keys)| keys.len())
            .map(|(shard, keys)| (shard.clone(), keys.clone()))
        else {
            return Ok(Vec::new());
        };
        let listed = storage.list_shard(&sample_keys[0])?;
        for key in &sample_keys {
            let found = listed
                .get(&name_in_shard(key))
                .is_some_and(|&stored| size_matches(key, stored));
            present.insert(*key, found);
        }

        let rest: Vec<(&Shard, &Vec<ObjectKey>)> = shards
            .iter()
            .filter(|(shard, _)| **shard != sample_shard)
            .collect();
        let remaining_keys: usize = rest.iter().map(|(_, keys)| keys.len()).sum();
        let pages_per_shard = listed.len().div_ceil(ENTRIES_PER_PAGE).max(1);
        let listing_requests = rest.len() * pages_per_shard;
        tracing::debug!(
            objects = keys.len(),
            shards = shards.len(),
            sampled_entries = listed.len(),
            listing_requests,
            check_requests = remaining_keys,
            storage = %storage.location(),
            "chose how to find missing objects"
        );

        if remaining_keys <= listing_requests {
            for (_, keys) in rest {
                to_check.extend(keys.iter().copied());
            }
        } else {
            let firsts: Vec<ObjectKey> = rest.iter().map(|(_, keys)| keys[0]).collect();
            let listings = parallel(&firsts, jobs, |key| storage.list_shard(key));
            for ((_, keys), listing) in rest.iter().zip(listings) {
                let listing = listing?;
                for key in keys.iter() {
                    let found = listing
                        .get(&name_in_shard(key))
                        .is_some_and(|&stored| size_matches(key, stored));
                    present.insert(*key, found);
                }
            }
        }
    }

    let stats = parallel(&to_check, jobs, |key| storage.stat(key));
    for (key, stat) in to_check.iter().zip(stats) {
        let found = stat?.is_some_and(|stored| size_matches(key, stored));
        present.insert(*key, found);
    }

    Ok(keys
        .iter()
        .filter(|key| !present.get(key).copied().unwrap_or(false))
        .copied()
        .collect())
}

#[cfg(test)]
mod tests;
