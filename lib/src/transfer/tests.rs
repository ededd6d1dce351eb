use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use crate::progress::Silent;
use crate::storage::{LocalStorage, Operation};
use crate::test_support::{key, list_files, make_read_only, md5_key, mode, unpack_fixture};
use std::sync::Mutex;

const MODEL: &str = "ae58c7a8c1d28b8eb8afd1ef2fdec350.dir";
const WEIGHTS: &str = "451ca974eb4862f1521e227a47794616";
const RAW: &str = "fa261d862f0fc7f5850b6c409f4feba5.dir";
const LABELS: &str = "452a1b235b527e7e0dac89b624c95d5e";
const PREDICTIONS: &str = "57b49df475d0aab720d8806bffe9811c";

/// Outputs of `main` in both fixtures: `data/raw`, `data/labels.txt`, `model`, `predictions.csv`.
fn main_roots() -> Vec<ObjectKey> {
    vec![key(RAW), key(LABELS), key(MODEL), key(PREDICTIONS)]
}

fn options(jobs: usize) -> Options {
    Options {
        jobs,
        ..Options::default()
    }
}

/// Unpacks the seed project and returns its cache, which DVC filled and nothing was pushed from.
fn seed_cache() -> (tempfile::TempDir, Cache) {
    let fixture = unpack_fixture("seed-project");
    let cache = Cache::new(fixture.path().join("seed-project/project/.dvc/cache"));
    (fixture, cache)
}

/// Unpacks the project DVC pushed from and returns the root of its storage.
fn pushed_storage() -> (tempfile::TempDir, PathBuf) {
    let fixture = unpack_fixture("pushed-by-dvc");
    let root = fixture.path().join("pushed-by-dvc/storage");
    (fixture, root)
}

fn remove_object(root: &Path, key: &ObjectKey) {
    fs::remove_file(key.path_under(root)).expect("remove object");
}

/// Overwrites an object with bytes of the same length that differ in the first byte.
fn corrupt_object(root: &Path, key: &ObjectKey) {
    let path = key.path_under(root);
    let mut bytes = fs::read(&path).expect("read object");
    bytes[0] ^= 0x01;
    fs::remove_file(&path).expect("remove object");
    fs::write(&path, bytes).expect("write corrupt object");
}

/// Wraps a local storage to record and disturb operations.
struct Instrumented {
    inner: LocalStorage,
    puts: Mutex<Vec<ObjectKey>>,
    replaces: Mutex<Vec<ObjectKey>>,
    failing_puts: HashSet<ObjectKey>,
    transient_failures: AtomicU64,
    opens: AtomicU64,
    contains_calls: AtomicU64,
    /// When set, records for each opened file object whether this `.dir` was already in the cache.
    watch_dir: Option<(PathBuf, ObjectKey)>,
    dir_seen_early: Mutex<Vec<bool>>,
}

impl Instrumented {
    fn new(root: PathBuf) -> Self {
        Instrumented {
            inner: LocalStorage::new(root),
            puts: Mutex::new(Vec::new()),
            replaces: Mutex::new(Vec::new()),
            failing_puts: HashSet::new(),
            transient_failures: AtomicU64::new(0),
            opens: AtomicU64::new(0),
            contains_calls: AtomicU64::new(0),
            watch_dir: None,
            dir_seen_early: Mutex::new(Vec::new()),
        }
    }

    fn transient(&self, operation: Operation, key: &ObjectKey) -> Option<storage::Error> {
        let left = self.transient_failures.load(Ordering::SeqCst);
        if left == 0 {
            return None;
        }
        self.transient_failures.store(left - 1, Ordering::SeqCst);
        Some(storage::Error::Backend {
            operation,
            key: *key,
            storage: self.describe(),
            retryable: true,
            source: "connection reset by peer".into(),
        })
    }
}

impl Storage for Instrumented {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn contains(&self, key: &ObjectKey) -> Result<bool, storage::Error> {
        self.contains_calls.fetch_add(1, Ordering::SeqCst);
        self.inner.contains(key)
    }

    fn open(&self, key: &ObjectKey) -> Result<Box<dyn Read + Send>, storage::Error> {
        self.opens.fetch_add(1, Ordering::SeqCst);
        if let Some((cache_root, dir)) = &self.watch_dir {
            if !key.id.is_dir() {
                let present = dir.path_under(cache_root).exists();
                self.dir_seen_early.lock().expect("lock").push(present);
            }
        }
        if let Some(error) = self.transient(Operation::Download, key) {
            return Err(error);
        }
        self.inner.open(key)
    }

    fn put(&self, key: &ObjectKey, source: &Path) -> Result<u64, storage::Error> {
        if self.failing_puts.contains(key) {
            return Err(storage::Error::Backend {
                operation: Operation::Upload,
                key: *key,
                storage: self.describe(),
                retryable: false,
                source: "injected failure".into(),
            });
        }
        if let Some(error) = self.transient(Operation::Upload, key) {
            return Err(error);
        }
        let size = self.inner.put(key, source)?;
        self.puts.lock().expect("lock").push(*key);
        Ok(size)
    }

    fn replace(&self, key: &ObjectKey, source: &Path) -> Result<u64, storage::Error> {
        let size = self.inner.replace(key, source)?;
        self.replaces.lock().expect("lock").push(*key);
        Ok(size)
    }
}

/// Records progress calls.
#[derive(Default)]
struct Recorded {
    begins: Mutex<Vec<(String, u64, u64)>>,
    objects: AtomicU64,
    bytes: AtomicU64,
    finishes: AtomicU64,
}

impl Progress for Recorded {
    fn begin(&self, phase: &str, objects: u64, bytes: u64) {
        self.begins
            .lock()
            .expect("lock")
            .push((phase.to_owned(), objects, bytes));
    }
    fn advance(&self, objects: u64, bytes: u64) {
        self.objects.fetch_add(objects, Ordering::SeqCst);
        self.bytes.fetch_add(bytes, Ordering::SeqCst);
    }
    fn finish(&self) {
        self.finishes.fetch_add(1, Ordering::SeqCst);
    }
}

fn failures(report: &Report) -> Vec<(ObjectKey, FailureKind)> {
    let mut found: Vec<_> = report.failed.iter().map(|f| (f.key, f.kind)).collect();
    found.sort_by_key(|(key, _)| *key);
    found
}

#[test]
fn upload_writes_what_dvc_pushes() {
    let (fixture, cache) = seed_cache();
    let storage_root = fixture.path().join("storage-out");
    let storage = LocalStorage::new(storage_root.clone());
    // Outputs of the four experiments with `cache: true`, duplicates included, as
    // `dvc exp push origin -A` collects them.
    let roots: Vec<ObjectKey> = [
        RAW,
        LABELS,
        "288e4feb62b3b16fafc8a7177fa08d33.dir",
        "027eb2f74359ddea3f7ee4ec2f185514",
        "f2734b9dd609ab883408396b30c565b7.dir",
        "027eb2f74359ddea3f7ee4ec2f185514",
        RAW,
        "288e4feb62b3b16fafc8a7177fa08d33.dir",
        "79fc225acfaf3bf225c66aad62bc9bed.dir",
        "ce226cd3bf1822244370a3f2fcccbbf5",
    ]
    .iter()
    .map(|id| key(id))
    .collect();
    let progress = Recorded::default();

    let report = upload(&cache, &storage, &roots, &options(4), &progress);

    assert!(report.is_success(), "{:?}", report.failed);
    let expected: Vec<String> = fs::read_to_string(
        fixture
            .path()
            .join("seed-project/expected/dvc-exp-push-all.txt"),
    )
    .expect("read expected list")
    .lines()
    .map(|line| line.trim_start_matches("./").to_owned())
    .collect();
    assert_eq!(expected.len(), 31);
    assert_eq!(list_files(&storage_root), expected);
    for rel in &expected {
        assert_eq!(mode(&storage_root.join(rel)), 0o444, "{rel}");
    }
    let total: u64 = expected
        .iter()
        .map(|rel| fs::metadata(cache.root().join(rel)).expect("stat").len())
        .sum();
    assert_eq!(report.transferred.len(), 31);
    assert_eq!(report.bytes, total);
    assert_eq!(report.already_present, 0);
    assert_eq!(
        *progress.begins.lock().expect("lock"),
        vec![("upload".to_owned(), 31, total)]
    );
    assert_eq!(progress.objects.load(Ordering::SeqCst), 31);
    assert_eq!(progress.bytes.load(Ordering::SeqCst), total);
    assert_eq!(progress.finishes.load(Ordering::SeqCst), 1);

    let again = upload(&cache, &storage, &roots, &options(4), &Silent);
    assert!(again.is_success());
    assert_eq!(again.transferred.len(), 0);
    assert_eq!(again.already_present, 31);
}

#[test]
fn upload_sends_dir_after_its_members() {
    let (fixture, cache) = seed_cache();
    let storage = Instrumented::new(fixture.path().join("storage-out"));

    let report = upload(&cache, &storage, &main_roots(), &options(8), &Silent);

    assert!(report.is_success(), "{:?}", report.failed);
    let puts = storage.puts.lock().expect("lock").clone();
    assert_eq!(puts.len(), 20);
    for dir in [key(MODEL), key(RAW)] {
        let dir_position = puts.iter().position(|k| *k == dir).expect("dir uploaded");
        let manifest = cache.read_manifest(&dir).expect("manifest");
        for entry in manifest.entries() {
            let member = ObjectKey::new(dir.kind, entry.id);
            let position = puts
                .iter()
                .position(|k| *k == member)
                .expect("member uploaded");
            assert!(
                position < dir_position,
                "{} uploaded after {dir}",
                entry.relpath
            );
        }
    }
}

#[test]
fn upload_trusts_a_stored_dir_for_its_members() {
    let (fixture, cache) = seed_cache();
    let storage_root = fixture.path().join("storage-out");
    let storage = Instrumented::new(storage_root.clone());
    assert!(upload(&cache, &storage, &main_roots(), &options(4), &Silent).is_success());
    remove_object(&storage_root, &key(WEIGHTS));
    storage.puts.lock().expect("lock").clear();
    storage.contains_calls.store(0, Ordering::SeqCst);

    let report = upload(&cache, &storage, &main_roots(), &options(4), &Silent);

    assert!(report.is_success(), "{:?}", report.failed);
    assert_eq!(report.transferred, Vec::<ObjectKey>::new());
    assert_eq!(report.already_present, 20);
    assert!(storage.puts.lock().expect("lock").is_empty());
    // Two `.dir` roots, then the two file roots; no member of a stored `.dir`.
    assert_eq!(storage.contains_calls.load(Ordering::SeqCst), 4);
    assert!(!key(WEIGHTS).path_under(&storage_root).exists());

    let verify = Options {
        verify: true,
        ..options(4)
    };
    let report = upload(&cache, &storage, &main_roots(), &verify, &Silent);

    assert!(report.is_success(), "{:?}", report.failed);
    assert_eq!(report.transferred, vec![key(WEIGHTS)]);
    assert_eq!(report.already_present, 19);
    assert_eq!(*storage.puts.lock().expect("lock"), vec![key(WEIGHTS)]);
    assert_eq!(
        Cache::new(storage_root.clone()).verify(&key(WEIGHTS)).ok(),
        fs::metadata(cache.object_path(&key(WEIGHTS)))
            .ok()
            .map(|m| m.len())
    );
}

#[test]
fn upload_queries_members_of_a_dir_the_storage_lacks() {
    let (fixture, cache) = seed_cache();
    let storage_root = fixture.path().join("storage-out");
    let storage = Instrumented::new(storage_root.clone());
    assert!(upload(&cache, &storage, &main_roots(), &options(4), &Silent).is_success());
    remove_object(&storage_root, &key(WEIGHTS));
    remove_object(&storage_root, &key(MODEL));
    storage.puts.lock().expect("lock").clear();
    storage.contains_calls.store(0, Ordering::SeqCst);

    let report = upload(&cache, &storage, &main_roots(), &options(1), &Silent);

    assert!(report.is_success(), "{:?}", report.failed);
    assert_eq!(report.transferred, vec![key(WEIGHTS), key(MODEL)]);
    assert_eq!(
        *storage.puts.lock().expect("lock"),
        vec![key(WEIGHTS), key(MODEL)]
    );
    // Two `.dir` roots, the four members of the absent one, and the two file roots.
    assert_eq!(storage.contains_calls.load(Ordering::SeqCst), 8);
}

#[test]
fn upload_queries_a_file_root_that_a_stored_dir_lists() {
    let (fixture, cache) = seed_cache();
    let storage_root = fixture.path().join("storage-out");
    let storage = Instrumented::new(storage_root.clone());
    let roots = vec![key(MODEL), key(WEIGHTS)];
    assert!(upload(&cache, &storage, &roots, &options(4), &Silent).is_success());
    remove_object(&storage_root, &key(WEIGHTS));
    storage.puts.lock().expect("lock").clear();

    let report = upload(&cache, &storage, &roots, &options(4), &Silent);

    assert!(report.is_success(), "{:?}", report.failed);
    assert_eq!(report.transferred, vec![key(WEIGHTS)]);
    assert_eq!(*storage.puts.lock().expect("lock"), vec![key(WEIGHTS)]);
}

#[test]
fn upload_holds_back_dir_when_member_put_fails() {
    let (fixture, cache) = seed_cache();
    let storage_root = fixture.path().join("storage-out");
    let mut storage = Instrumented::new(storage_root.clone());
    storage.failing_puts.insert(key(WEIGHTS));

    let report = upload(&cache, &storage, &[key(MODEL)], &options(2), &Silent);

    assert!(!report.is_success());
    assert_eq!(failures(&report), {
        let mut expected = vec![
            (key(WEIGHTS), FailureKind::Io),
            (key(MODEL), FailureKind::MemberFailed),
        ];
        expected.sort_by_key(|(key, _)| *key);
        expected
    });
    assert_eq!(
        report.failed_keys(),
        HashSet::from([key(WEIGHTS), key(MODEL)])
    );
    assert_eq!(report.transferred.len(), 3);
    assert!(!key(MODEL).path_under(&storage_root).exists());
    assert_eq!(
        list_files(&storage_root),
        vec![
            "files/md5/13/c2afe6a20cee5bd836f4f7dd45246a".to_owned(),
            "files/md5/d0/7e80b1986ff5cb0c68701ea5bdbf6c".to_owned(),
            "files/md5/d2/ac2dc525f8d6c6c6f859a7ba405164".to_owned(),
        ]
    );
    let weights = report
        .failed
        .iter()
        .find(|f| f.key == key(WEIGHTS))
        .expect("weights failure");
    assert_eq!(
        weights.message,
        format!(
            "failed to upload object {WEIGHTS} in storage {}: injected failure",
            storage_root.display()
        )
    );
    let model = report
        .failed
        .iter()
        .find(|f| f.key == key(MODEL))
        .expect("model failure");
    assert_eq!(
        model.message,
        format!("directory manifest {MODEL} was not transferred because 1 of its 4 members failed ({WEIGHTS})")
    );
}

#[test]
fn upload_fails_dir_whose_member_is_nowhere() {
    let (fixture, cache) = seed_cache();
    remove_object(cache.root(), &key(WEIGHTS));
    let storage_root = fixture.path().join("storage-out");
    let storage = LocalStorage::new(storage_root.clone());

    let report = upload(
        &cache,
        &storage,
        &[key(MODEL), key(PREDICTIONS)],
        &options(4),
        &Silent,
    );

    let mut expected = vec![
        (key(WEIGHTS), FailureKind::MissingLocally),
        (key(MODEL), FailureKind::MemberFailed),
    ];
    expected.sort_by_key(|(key, _)| *key);
    assert_eq!(failures(&report), expected);
    assert!(!key(MODEL).path_under(&storage_root).exists());
    assert!(key(PREDICTIONS).path_under(&storage_root).exists());
    assert_eq!(report.transferred.len(), 4);
}

#[test]
fn upload_accepts_objects_only_in_storage() {
    let (_fixture, cache) = seed_cache();
    let (_pushed, storage_root) = pushed_storage();
    let storage = LocalStorage::new(storage_root);
    remove_object(cache.root(), &key(WEIGHTS));
    remove_object(cache.root(), &key(PREDICTIONS));

    let report = upload(&cache, &storage, &main_roots(), &options(4), &Silent);

    assert!(report.is_success(), "{:?}", report.failed);
    assert_eq!(report.transferred.len(), 0);
    assert_eq!(report.already_present, 20);
}

#[test]
fn upload_reports_dir_missing_everywhere() {
    let (fixture, cache) = seed_cache();
    let storage = LocalStorage::new(fixture.path().join("storage-out"));
    let absent_dir = key("d751713988987e9331980363e24189ce.dir");

    let report = upload(&cache, &storage, &[absent_dir], &options(1), &Silent);

    assert_eq!(
        failures(&report),
        vec![(absent_dir, FailureKind::MissingLocally)]
    );
    assert_eq!(
        report.failed[0].message,
        format!(
            "object {absent_dir} is in neither the cache at {} nor storage {}",
            absent_dir.path_under(cache.root()).display(),
            fixture.path().join("storage-out").display()
        )
    );
}

#[test]
fn upload_into_read_only_storage_reports_failures() {
    let (fixture, cache) = seed_cache();
    let storage_root = fixture.path().join("storage-out");
    fs::create_dir(&storage_root).expect("create storage root");
    let _guard = make_read_only(&storage_root)
        .expect("neither chmod nor chattr +i makes a directory read-only for this process");
    let storage = LocalStorage::new(storage_root.clone());

    let report = upload(
        &cache,
        &storage,
        &[key(MODEL), key(PREDICTIONS)],
        &options(4),
        &Silent,
    );

    assert_eq!(report.transferred.len(), 0);
    assert_eq!(report.failed.len(), 6);
    for failure in &report.failed {
        if failure.key == key(MODEL) {
            assert_eq!(failure.kind, FailureKind::MemberFailed);
            continue;
        }
        assert_eq!(failure.kind, FailureKind::Io);
        assert!(
            failure
                .message
                .starts_with("permission denied: cannot upload object"),
            "{}",
            failure.message
        );
        assert!(
            failure
                .message
                .contains(&storage_root.display().to_string()),
            "{}",
            failure.message
        );
    }
    assert_eq!(list_files(&storage_root), Vec::<String>::new());
}

#[test]
fn upload_retries_transient_errors() {
    let (fixture, cache) = seed_cache();
    let storage = Instrumented::new(fixture.path().join("storage-out"));
    storage.transient_failures.store(2, Ordering::SeqCst);

    let report = upload(&cache, &storage, &[key(PREDICTIONS)], &options(1), &Silent);

    assert!(report.is_success(), "{:?}", report.failed);
    assert_eq!(report.transferred, vec![key(PREDICTIONS)]);
    assert_eq!(storage.transient_failures.load(Ordering::SeqCst), 0);
}

#[test]
fn upload_gives_up_after_three_attempts() {
    let (fixture, cache) = seed_cache();
    let storage = Instrumented::new(fixture.path().join("storage-out"));
    storage.transient_failures.store(5, Ordering::SeqCst);

    let report = upload(&cache, &storage, &[key(PREDICTIONS)], &options(1), &Silent);

    assert_eq!(failures(&report), vec![(key(PREDICTIONS), FailureKind::Io)]);
    assert_eq!(storage.transient_failures.load(Ordering::SeqCst), 2);
}

/// A storage whose existence checks always fail.
struct Unreachable;

impl Storage for Unreachable {
    fn describe(&self) -> String {
        "https://dvc.example.com/store".to_owned()
    }
    fn contains(&self, key: &ObjectKey) -> Result<bool, storage::Error> {
        Err(storage::Error::Backend {
            operation: Operation::Check,
            key: *key,
            storage: self.describe(),
            retryable: false,
            source: "connection refused".into(),
        })
    }
    fn open(&self, key: &ObjectKey) -> Result<Box<dyn Read + Send>, storage::Error> {
        Err(storage::Error::NotFound {
            key: *key,
            storage: self.describe(),
        })
    }
    fn put(&self, key: &ObjectKey, _: &Path) -> Result<u64, storage::Error> {
        Err(storage::Error::NotFound {
            key: *key,
            storage: self.describe(),
        })
    }
    fn replace(&self, key: &ObjectKey, source: &Path) -> Result<u64, storage::Error> {
        self.put(key, source)
    }
}

#[test]
fn upload_fails_every_root_when_check_fails() {
    let (_fixture, cache) = seed_cache();

    let report = upload(
        &cache,
        &Unreachable,
        &[key(MODEL), key(PREDICTIONS), key(MODEL)],
        &options(4),
        &Silent,
    );

    let mut expected = vec![
        (key(MODEL), FailureKind::Io),
        (key(PREDICTIONS), FailureKind::Io),
    ];
    expected.sort_by_key(|(key, _)| *key);
    assert_eq!(failures(&report), expected);
    assert!(report.failed[0]
        .message
        .ends_with("in storage https://dvc.example.com/store: connection refused"));
}

#[test]
fn download_fetches_what_dvc_pushed() {
    let (fixture, storage_root) = pushed_storage();
    let cache = Cache::new(fixture.path().join("cache-out"));
    let storage = LocalStorage::new(storage_root.clone());
    let progress = Recorded::default();
    let mut roots = main_roots();
    roots.push(key(MODEL));

    let report = download(&storage, &cache, &roots, &options(4), &progress);

    assert!(report.is_success(), "{:?}", report.failed);
    let objects = list_files(cache.root());
    assert_eq!(objects.len(), 20);
    let mut total = 0;
    for rel in &objects {
        let object = key(&rel.trim_start_matches("files/md5/").replace('/', ""));
        assert_eq!(mode(&cache.object_path(&object)), 0o444, "{rel}");
        total += cache.verify(&object).expect("verify");
        assert!(storage_root.join(rel).exists(), "{rel} not in storage");
    }
    assert_eq!(report.transferred.len(), 20);
    assert_eq!(report.bytes, total);
    assert_eq!(report.already_present, 0);
    assert_eq!(
        *progress.begins.lock().expect("lock"),
        vec![("download".to_owned(), 20, 0)]
    );
    assert_eq!(progress.objects.load(Ordering::SeqCst), 20);
    assert_eq!(progress.bytes.load(Ordering::SeqCst), total);
    assert_eq!(progress.finishes.load(Ordering::SeqCst), 1);

    let again = download(&storage, &cache, &roots, &options(4), &Silent);
    assert!(again.is_success());
    assert_eq!(again.transferred.len(), 0);
    assert_eq!(again.already_present, 20);
}

#[test]
fn download_inserts_dir_after_its_members() {
    let (fixture, storage_root) = pushed_storage();
    let cache = Cache::new(fixture.path().join("cache-out"));
    let mut storage = Instrumented::new(storage_root);
    storage.watch_dir = Some((cache.root().to_path_buf(), key(MODEL)));

    let report = download(&storage, &cache, &[key(MODEL)], &options(4), &Silent);

    assert!(report.is_success(), "{:?}", report.failed);
    assert_eq!(
        *storage.dir_seen_early.lock().expect("lock"),
        vec![false; 4]
    );
    assert_eq!(report.transferred.last(), Some(&key(MODEL)));
    assert!(cache.contains(&key(MODEL)));
}

#[test]
fn download_rejects_corrupt_member() {
    let (fixture, storage_root) = pushed_storage();
    corrupt_object(&storage_root, &key(WEIGHTS));
    let cache = Cache::new(fixture.path().join("cache-out"));
    let storage = LocalStorage::new(storage_root.clone());

    let report = download(
        &storage,
        &cache,
        &[key(MODEL), key(PREDICTIONS)],
        &options(4),
        &Silent,
    );

    let mut expected = vec![
        (key(WEIGHTS), FailureKind::Corrupt),
        (key(MODEL), FailureKind::MemberFailed),
    ];
    expected.sort_by_key(|(key, _)| *key);
    assert_eq!(failures(&report), expected);
    let weights = report
        .failed
        .iter()
        .find(|f| f.key == key(WEIGHTS))
        .expect("weights failure");
    let corrupt_bytes = fs::read(key(WEIGHTS).path_under(&storage_root)).expect("read");
    assert_eq!(
        weights.message,
        format!(
            "object {WEIGHTS} from {} in storage {} is corrupt: its content hashes to {}",
            key(WEIGHTS).layout_path(),
            storage_root.display(),
            hex::encode(md5_key(&corrupt_bytes).id.digest())
        )
    );
    assert!(!cache.contains(&key(WEIGHTS)));
    assert!(!cache.contains(&key(MODEL)));
    assert!(cache.contains(&key(PREDICTIONS)));
    assert_eq!(list_files(cache.root()).len(), 4);
}

#[test]
fn download_rejects_corrupt_manifest() {
    let (fixture, storage_root) = pushed_storage();
    corrupt_object(&storage_root, &key(MODEL));
    let cache = Cache::new(fixture.path().join("cache-out"));
    let storage = LocalStorage::new(storage_root.clone());

    let report = download(&storage, &cache, &[key(MODEL)], &options(4), &Silent);

    assert_eq!(failures(&report), vec![(key(MODEL), FailureKind::Corrupt)]);
    assert!(report.failed[0].message.starts_with(&format!(
        "object {MODEL} from {} in storage {} is corrupt",
        key(MODEL).layout_path(),
        storage_root.display()
    )));
    assert_eq!(report.transferred.len(), 0);
    assert_eq!(list_files(cache.root()), Vec::<String>::new());
}

#[test]
fn download_reports_objects_missing_in_storage() {
    let (fixture, storage_root) = pushed_storage();
    remove_object(&storage_root, &key(WEIGHTS));
    let cache = Cache::new(fixture.path().join("cache-out"));
    let storage = LocalStorage::new(storage_root.clone());
    let absent_dir = key("d751713988987e9331980363e24189ce.dir");

    let report = download(
        &storage,
        &cache,
        &[key(MODEL), absent_dir],
        &options(4),
        &Silent,
    );

    let mut expected = vec![
        (key(WEIGHTS), FailureKind::MissingInStorage),
        (key(MODEL), FailureKind::MemberFailed),
        (absent_dir, FailureKind::MissingInStorage),
    ];
    expected.sort_by_key(|(key, _)| *key);
    assert_eq!(failures(&report), expected);
    assert!(!cache.contains(&key(MODEL)));
    assert_eq!(report.transferred.len(), 3);
}

#[test]
fn download_uses_manifest_already_cached() {
    let (fixture, storage_root) = pushed_storage();
    let cache = Cache::new(fixture.path().join("cache-out"));
    cache
        .insert_file(&key(MODEL), &key(MODEL).path_under(&storage_root))
        .expect("seed manifest");
    let storage = Instrumented::new(storage_root);

    let report = download(&storage, &cache, &[key(MODEL)], &options(4), &Silent);

    assert!(report.is_success(), "{:?}", report.failed);
    assert_eq!(report.already_present, 1);
    assert_eq!(report.transferred.len(), 4);
    assert!(!report.transferred.contains(&key(MODEL)));
    assert_eq!(storage.opens.load(Ordering::SeqCst), 4);
}

#[test]
fn download_retries_transient_errors() {
    let (fixture, storage_root) = pushed_storage();
    let cache = Cache::new(fixture.path().join("cache-out"));
    let storage = Instrumented::new(storage_root);
    storage.transient_failures.store(2, Ordering::SeqCst);

    let report = download(&storage, &cache, &[key(PREDICTIONS)], &options(1), &Silent);

    assert!(report.is_success(), "{:?}", report.failed);
    assert_eq!(report.transferred, vec![key(PREDICTIONS)]);
    assert_eq!(storage.opens.load(Ordering::SeqCst), 3);
}

#[test]
fn error_chain_joins_sources() {
    let error = storage::Error::io(
        Operation::Upload,
        &key(WEIGHTS),
        "/srv/dvc".to_owned(),
        Path::new("/srv/dvc/files/md5/45"),
        io::Error::other("disk full"),
    );
    assert_eq!(
        error_chain(&error),
        format!("failed to upload object {WEIGHTS} at /srv/dvc/files/md5/45 in storage /srv/dvc: disk full")
    );
}

#[test]
fn default_jobs_is_four_per_cpu() {
    let cpus = std::thread::available_parallelism().expect("cpus").get();
    assert_eq!(default_jobs(), 4 * cpus);
    assert_eq!(Options::default().jobs, 4 * cpus);
}

#[test]
fn upload_with_verify_replaces_a_corrupt_stored_object() {
    let (fixture, cache) = seed_cache();
    let storage_root = fixture.path().join("storage-out");
    let storage = Instrumented::new(storage_root.clone());
    let roots = vec![key(MODEL), key(PREDICTIONS)];
    assert!(upload(&cache, &storage, &roots, &options(4), &Silent).is_success());
    corrupt_object(&storage_root, &key(WEIGHTS));
    corrupt_object(&storage_root, &key(MODEL));

    // Without verify, a stored file of the right size counts as there.
    let report = upload(&cache, &storage, &roots, &options(4), &Silent);
    assert!(report.is_success());
    assert!(report.transferred.is_empty());
    assert!(storage.replaces.lock().expect("lock").is_empty());

    let verify = Options {
        verify: true,
        ..options(4)
    };
    let progress = Recorded::default();
    let report = upload(&cache, &storage, &roots, &verify, &progress);

    assert!(report.is_success(), "{:?}", report.failed);
    // Members first, the manifest last.
    assert_eq!(report.replaced, vec![key(WEIGHTS), key(MODEL)]);
    assert_eq!(report.transferred, vec![key(WEIGHTS), key(MODEL)]);
    assert_eq!(report.already_present, 4);
    assert_eq!(
        *storage.replaces.lock().expect("lock"),
        vec![key(WEIGHTS), key(MODEL)]
    );
    for rel in list_files(&storage_root) {
        let object = key(&rel.trim_start_matches("files/md5/").replace('/', ""));
        let size = fs::metadata(storage_root.join(&rel)).expect("stat").len();
        assert_eq!(
            Cache::new(storage_root.clone()).verify(&object).ok(),
            Some(size),
            "{rel}"
        );
        assert_eq!(mode(&storage_root.join(&rel)), 0o444, "{rel}");
    }
    assert_eq!(
        progress.begins.lock().expect("lock")[0],
        ("verify".to_owned(), 6, 0)
    );

    let again = upload(&cache, &storage, &roots, &verify, &Silent);
    assert!(again.replaced.is_empty());
}

#[test]
fn upload_with_verify_fails_when_the_cache_copy_is_corrupt_too() {
    let (fixture, cache) = seed_cache();
    let storage_root = fixture.path().join("storage-out");
    let storage = LocalStorage::new(storage_root.clone());
    let roots = vec![key(PREDICTIONS)];
    assert!(upload(&cache, &storage, &roots, &options(1), &Silent).is_success());
    corrupt_object(&storage_root, &key(PREDICTIONS));
    corrupt_object(cache.root(), &key(PREDICTIONS));
    let stored = fs::read(key(PREDICTIONS).path_under(&storage_root)).expect("read");

    let verify = Options {
        verify: true,
        ..options(1)
    };
    let report = upload(&cache, &storage, &roots, &verify, &Silent);

    assert_eq!(
        failures(&report),
        vec![(key(PREDICTIONS), FailureKind::Corrupt)]
    );
    assert!(report.replaced.is_empty());
    assert_eq!(
        fs::read(key(PREDICTIONS).path_under(&storage_root)).expect("read"),
        stored
    );
}

#[test]
fn download_moves_a_damaged_cached_object_aside_and_fetches_it_again() {
    let (fixture, storage_root) = pushed_storage();
    let cache = Cache::new(fixture.path().join("cache-out"));
    let storage = LocalStorage::new(storage_root);
    assert!(download(
        &storage,
        &cache,
        &[key(PREDICTIONS), key(MODEL)],
        &options(2),
        &Silent
    )
    .is_success());
    let predictions = cache.object_path(&key(PREDICTIONS));
    fs::remove_file(&predictions).expect("remove");
    fs::write(&predictions, b"cut").expect("truncated copy");
    let weights = cache.object_path(&key(WEIGHTS));
    fs::remove_file(&weights).expect("remove");
    fs::create_dir(&weights).expect("directory");

    // Without the recorded size, a truncated regular file looks fine; the directory does not.
    let report = download(
        &storage,
        &cache,
        &[key(PREDICTIONS), key(MODEL)],
        &options(2),
        &Silent,
    );
    assert!(report.is_success(), "{:?}", report.failed);
    assert_eq!(report.transferred, vec![key(WEIGHTS)]);

    let sized = Options {
        sizes: [(key(PREDICTIONS), 240)].into_iter().collect(),
        ..options(2)
    };
    let report = download(
        &storage,
        &cache,
        &[key(PREDICTIONS), key(MODEL)],
        &sized,
        &Silent,
    );
    assert!(report.is_success(), "{:?}", report.failed);
    assert_eq!(report.transferred, vec![key(PREDICTIONS)]);
    assert_eq!(cache.verify(&key(PREDICTIONS)).expect("verify"), 240);
    assert!(cache.verify(&key(WEIGHTS)).is_ok());

    let aside: Vec<String> = list_files(cache.root())
        .into_iter()
        .filter(|rel| rel.ends_with(".corrupt") || rel.contains(".corrupt/"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(
        aside[0].starts_with("files/md5/57/.b49df475d0aab720d8806bffe9811c."),
        "{aside:?}"
    );
    let weights_aside: Vec<PathBuf> = fs::read_dir(weights.parent().expect("fan-out"))
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".corrupt"))
        .collect();
    assert_eq!(weights_aside.len(), 1);
    assert!(weights_aside[0].is_dir());
}
