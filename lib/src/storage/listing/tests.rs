use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::test_support::md5_key;

/// A storage in memory that counts its requests.
struct Counted {
    stored: HashMap<ObjectKey, u64>,
    /// Other objects every shard holds, as in a large storage.
    other_per_shard: usize,
    stats: AtomicUsize,
    listings: AtomicUsize,
}

impl Counted {
    fn new(stored: &[(ObjectKey, u64)]) -> Counted {
        Counted {
            stored: stored.iter().copied().collect(),
            other_per_shard: 0,
            stats: AtomicUsize::new(0),
            listings: AtomicUsize::new(0),
        }
    }
}

impl ShardListing for Counted {
    fn stat(&self, key: &ObjectKey) -> Result<Option<u64>, Error> {
        self.stats.fetch_add(1, Ordering::SeqCst);
        Ok(self.stored.get(key).copied())
    }

    fn list_shard(&self, key: &ObjectKey) -> Result<HashMap<String, u64>, Error> {
        self.listings.fetch_add(1, Ordering::SeqCst);
        let shard = shard_of(key);
        let mut listed: HashMap<String, u64> = self
            .stored
            .iter()
            .filter(|(stored, _)| shard_of(stored) == shard)
            .map(|(stored, size)| (name_in_shard(stored), *size))
            .collect();
        listed.extend((0..self.other_per_shard).map(|i| (format!("other-{i}"), 1)));
        Ok(listed)
    }

    fn location(&self) -> String {
        "memory".into()
    }
}

fn keys(count: usize, tag: &str) -> Vec<ObjectKey> {
    (0..count)
        .map(|i| md5_key(format!("{tag} {i}").as_bytes()))
        .collect()
}

#[test]
fn few_keys_are_checked_one_by_one() {
    let present = keys(5, "present");
    let absent = keys(3, "absent");
    let storage = Counted::new(&present.iter().map(|k| (*k, 10)).collect::<Vec<_>>());
    let query: Vec<ObjectKey> = present.iter().chain(&absent).copied().collect();

    let missing = missing(&storage, &query, &HashMap::new(), 4).expect("missing");

    assert_eq!(missing, absent);
    assert_eq!(storage.stats.load(Ordering::SeqCst), 8);
    assert_eq!(storage.listings.load(Ordering::SeqCst), 0);
}

#[test]
fn many_keys_list_their_shards() {
    let present = keys(300, "present");
    let absent = keys(100, "absent");
    let storage = Counted::new(&present.iter().map(|k| (*k, 10)).collect::<Vec<_>>());
    let query: Vec<ObjectKey> = present.iter().chain(&absent).copied().collect();
    let shards: BTreeSet<Shard> = query.iter().map(shard_of).collect();

    let missing = missing(&storage, &query, &HashMap::new(), 4).expect("missing");

    assert_eq!(missing, absent);
    assert_eq!(storage.stats.load(Ordering::SeqCst), 0);
    assert_eq!(storage.listings.load(Ordering::SeqCst), shards.len());
}

#[test]
fn large_storage_and_few_queries_check_each_object() {
    // 20 queried keys against a storage whose shards hold 2,000 entries each: listing a shard
    // takes two pages, so after the sample the keys in other shards are checked one by one.
    let query = keys(20, "queried");
    let mut storage = Counted::new(&query[..10].iter().map(|k| (*k, 1)).collect::<Vec<_>>());
    storage.other_per_shard = 2000;
    let mut per_shard: HashMap<Shard, usize> = HashMap::new();
    for key in &query {
        *per_shard.entry(shard_of(key)).or_default() += 1;
    }
    let sampled = per_shard.values().copied().max().unwrap_or(0);

    let missing = missing(&storage, &query, &HashMap::new(), 4).expect("missing");

    assert_eq!(missing, query[10..].to_vec());
    assert_eq!(storage.listings.load(Ordering::SeqCst), 1);
    assert_eq!(storage.stats.load(Ordering::SeqCst), 20 - sampled);
}

#[test]
fn wrong_size_counts_as_missing() {
    let query = keys(40, "sized");
    let storage = Counted::new(&query.iter().map(|k| (*k, 10)).collect::<Vec<_>>());
    let mut expected: HashMap<ObjectKey, u64> = query.iter().map(|k| (*k, 10)).collect();
    expected.insert(query[7], 11);
    expected.insert(query[31], 9);

    assert_eq!(
        missing(&storage, &query, &expected, 2).expect("listed"),
        vec![query[7], query[31]]
    );
    assert_eq!(
        missing(&storage, &query[..3], &HashMap::from([(query[1], 3)]), 2).expect("checked"),
        vec![query[1]]
    );
}
