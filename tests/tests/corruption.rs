//! Damaged objects in the cache and in storage: what fetch, checkout, `status --verify` and
//! `push --verify` say about each kind of damage, and that the data comes back intact.
//!
//! The kinds: bytes flipped in place (same length), a file cut to half its length, a
//! directory where the object file should be, and a dangling symbolic link in its place.
//! The tests run as root, which reads a file of any mode, so "unreadable" is a link to a
//! file that does not exist: nobody can open it.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use exp_integration_tests::servers::{self, Server};
use exp_integration_tests::*;

/// exp-wide, on the first commit of seed-project's main.
const EXP_WIDE: &str = "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-wide";
/// predictions.csv of exp-wide: a file output whose dvc.lock records `size: 240`.
const PREDICTIONS: &str = "ce226cd3bf1822244370a3f2fcccbbf5";
/// exp-lr01, on the same baseline.
const EXP_LR01: &str = "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-lr01";
/// predictions.csv of exp-lr01.
const LR01_PREDICTIONS: &str = "027eb2f74359ddea3f7ee4ec2f185514";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Flipped,
    Truncated,
    Directory,
    DanglingLink,
}

const ALL_KINDS: [Kind; 4] = [
    Kind::Flipped,
    Kind::Truncated,
    Kind::Directory,
    Kind::DanglingLink,
];

/// Damages the object file at `path` (mode 0444 in a writable folder) in the way `kind` names.
fn damage(path: &Path, kind: Kind) {
    let bytes = fs::read(path).expect("read the object");
    fs::remove_file(path).expect("remove the object");
    match kind {
        Kind::Flipped => {
            let flipped: Vec<u8> = bytes.iter().map(|b| b ^ 0x20).collect();
            fs::write(path, flipped).expect("write flipped bytes");
        }
        Kind::Truncated => fs::write(path, &bytes[..bytes.len() / 2]).expect("write half"),
        Kind::Directory => fs::create_dir(path).expect("create a directory"),
        Kind::DanglingLink => {
            std::os::unix::fs::symlink(path.with_extension("gone"), path).expect("create a link")
        }
    }
}

/// The end of the message that names what a look at a damaged 240-byte file finds.
fn defect_text(kind: Kind) -> &'static str {
    match kind {
        Kind::Flipped => unreachable!("flipped bytes look like a good file"),
        Kind::Truncated => "has 120 bytes where 240 are expected",
        Kind::Directory => "is a directory, not a file",
        Kind::DanglingLink => "cannot be read: it is a symbolic link to a file that does not exist",
    }
}

/// Returns the lines of `text` without terminal colour codes, as a user reads them.
fn lines(text: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain.lines().map(str::to_owned).collect()
}

/// Asserts that `text` has a line equal to `expected`.
fn assert_line(text: &str, expected: &str) {
    assert!(
        lines(text).iter().any(|line| line == expected),
        "no line\n  {expected}\nin\n{text}"
    );
}

/// Returns the one line of `text` that starts with `prefix`, failing otherwise.
fn line_starting(text: &str, prefix: &str) -> String {
    let found: Vec<String> = lines(text)
        .into_iter()
        .filter(|l| l.starts_with(prefix))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one line starting with\n  {prefix}\nin\n{text}"
    );
    found[0].clone()
}

fn object_path(root: &Path, id: &str) -> PathBuf {
    root.join(format!("files/md5/{}/{}", &id[..2], &id[2..]))
}

/// Returns the entries of `dir` whose names start with a dot: temporary and set-aside files.
fn hidden_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// seed-project with every experiment pushed to its local storage, and a clone that pulled
/// them all and has exp-wide checked out, copying files out of the cache.
struct Setup {
    sandbox: Sandbox,
    fixture: PathBuf,
    project: PathBuf,
    clone: PathBuf,
    storage: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let sandbox = Sandbox::new();
        let fixture = sandbox.unpack("seed-project");
        let project = fixture.join("project");
        sandbox.exp(&project, &["push", "origin", "-A"]);
        sandbox.git(&fixture, &["clone", "--quiet", "origin.git", "clone"]);
        let clone = fixture.join("clone");
        // A copy is what is hashed on the way; reflinks depend on the filesystem.
        fs::write(
            clone.join(".dvc/config.local"),
            "[cache]\n    type = copy\n",
        )
        .expect("config.local");
        sandbox.exp(&clone, &["pull", "origin", "-A"]);
        sandbox.git(&clone, &["checkout", "--quiet", EXP_WIDE]);
        sandbox.exp(&clone, &["checkout"]);
        let storage = fixture.join("storage");
        Setup {
            sandbox,
            fixture,
            project,
            clone,
            storage,
        }
    }

    fn cache(&self) -> PathBuf {
        self.clone.join(".dvc/cache")
    }

    fn expected(&self, baseline: &str, name: &str) -> PathBuf {
        self.fixture.join(format!("expected/{baseline}-{name}.md5"))
    }
}

#[test]
fn fetch_replaces_damaged_cache_object_and_keeps_the_damaged_one_aside() {
    for kind in [Kind::Truncated, Kind::Directory, Kind::DanglingLink] {
        let setup = Setup::new();
        let object = object_path(&setup.cache(), PREDICTIONS);
        damage(&object, kind);

        let output = setup.sandbox.exp(&setup.clone, &["fetch", EXP_WIDE]);
        let err = stderr(&output);
        let warning = line_starting(
            &err,
            &format!(
                " WARN object {PREDICTIONS} at {} in the cache {}; moved it to {}/.",
                object.display(),
                defect_text(kind),
                object.parent().expect("fan-out").display()
            ),
        );
        assert!(
            warning.ends_with(".corrupt and downloading the object again"),
            "{kind:?}: {warning}"
        );
        assert_line(
            &err,
            &format!(
                "1 objects (240 bytes) fetched from storage ({})",
                setup.storage.display()
            ),
        );
        assert_eq!(md5_of(&object), PREDICTIONS, "{kind:?}");
        assert_eq!(mode(&object), 0o444, "{kind:?}");

        // The damaged entry is kept, under the hidden name the warning gives.
        let aside = hidden_entries(object.parent().expect("fan-out"));
        assert_eq!(aside.len(), 1, "{kind:?}: {aside:?}");
        let aside = object.parent().expect("fan-out").join(&aside[0]);
        assert!(warning.contains(&aside.display().to_string()), "{warning}");
        let metadata = fs::symlink_metadata(&aside).expect("set aside");
        match kind {
            Kind::Truncated => assert_eq!(metadata.len(), 120),
            Kind::Directory => assert!(metadata.is_dir()),
            Kind::DanglingLink => assert!(metadata.file_type().is_symlink()),
            Kind::Flipped => unreachable!(),
        }

        let output = setup.sandbox.exp(&setup.clone, &["fetch", EXP_WIDE]);
        assert_eq!(stdout(&output), "Everything is up to date.\n", "{kind:?}");
    }
}

#[test]
fn fetch_does_not_hash_cached_objects_so_flipped_bytes_need_verify() {
    let setup = Setup::new();
    let object = object_path(&setup.cache(), PREDICTIONS);
    damage(&object, Kind::Flipped);

    let output = setup.sandbox.exp(&setup.clone, &["fetch", EXP_WIDE]);
    assert_eq!(stdout(&output), "Everything is up to date.\n");
    assert_ne!(md5_of(&object), PREDICTIONS);

    let output = setup
        .sandbox
        .exp_result(&setup.clone, &["status", "--verify", EXP_WIDE]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn status_verify_names_every_kind_of_damaged_cache_object() {
    for kind in ALL_KINDS {
        let setup = Setup::new();
        let object = object_path(&setup.cache(), PREDICTIONS);
        damage(&object, kind);

        // Without --verify, only what a look at the file shows counts, as absent.
        let output = setup.sandbox.exp(&setup.clone, &["status", EXP_WIDE]);
        let plain = if kind == Kind::Flipped {
            "The cache has the data of every output.\n"
        } else {
            "\tnot in cache:       predictions.csv\n"
        };
        assert_eq!(stdout(&output), plain, "{kind:?}");

        let output = setup
            .sandbox
            .exp_result(&setup.clone, &["status", "--verify", EXP_WIDE]);
        assert_eq!(output.status.code(), Some(1), "{kind:?}");
        assert_eq!(
            stdout(&output),
            "\tcorrupted:          predictions.csv\n",
            "{kind:?}"
        );
        let problem = match kind {
            Kind::Flipped | Kind::Truncated => format!(
                "object {PREDICTIONS} from {} is corrupt: its content hashes to {}",
                object.display(),
                md5_of(&object)
            ),
            _ => format!(
                "object {PREDICTIONS} at {} in the cache {}",
                object.display(),
                defect_text(kind)
            ),
        };
        let err = stderr(&output);
        assert_eq!(
            lines(&err)[0],
            format!("error: corrupted predictions.csv ({PREDICTIONS}): {problem}"),
            "{kind:?}"
        );
        assert!(lines(&err)[1].starts_with("hint: "), "{err}");
        // status only reads.
        assert!(
            hidden_entries(object.parent().expect("fan-out")).is_empty(),
            "{kind:?}"
        );
    }
}

#[test]
fn status_verify_checks_directory_members_on_all_cores() {
    let setup = Setup::new();
    // weights.bin of exp-wide's model; members have no recorded size.
    let weights = "6ae1ff5625c2cf0265a3d380cd6ad93e";
    let object = object_path(&setup.cache(), weights);
    damage(&object, Kind::Flipped);

    let output = setup
        .sandbox
        .exp_result(&setup.clone, &["status", "--verify", "--json", EXP_WIDE]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "{\n  \"model\": \"corrupted\"\n}\n");
    assert_eq!(
        lines(&stderr(&output))[0],
        format!(
            "error: corrupted model ({weights}): object {weights} from {} is corrupt: its content hashes to {}",
            object.display(),
            md5_of(&object)
        )
    );

    let output = setup
        .sandbox
        .exp_result(&setup.clone, &["status", "--verify", EXP_WIDE]);
    assert_eq!(stdout(&output), "\tcorrupted:          model\n");
}

#[test]
fn checkout_never_writes_a_corrupt_copy_and_a_rerun_repairs_it() {
    let setup = Setup::new();
    let sandbox = &setup.sandbox;
    // exp-lr01's predictions.csv is in the workspace, and its content is in the cache, so
    // checkout of exp-wide would replace it.
    sandbox.git(&setup.clone, &["checkout", "--quiet", EXP_LR01]);
    sandbox.exp(&setup.clone, &["checkout"]);
    let predictions = setup.clone.join("predictions.csv");
    assert_eq!(md5_of(&predictions), LR01_PREDICTIONS);
    sandbox.git(&setup.clone, &["checkout", "--quiet", EXP_WIDE]);

    let object = object_path(&setup.cache(), PREDICTIONS);
    damage(&object, Kind::Flipped);
    let damaged_md5 = md5_of(&object);

    let output = sandbox.exp_result(&setup.clone, &["checkout"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    let error = line_starting(
        &err,
        &format!(
            "git exp: cache object {PREDICTIONS} at {} is corrupt: its content hashes to {damaged_md5} (moved to {}/.",
            object.display(),
            object.parent().expect("fan-out").display()
        ),
    );
    assert!(
        error.ends_with(&format!(
            ".corrupt), so {} was left as it was",
            predictions.display()
        )),
        "{error}"
    );
    assert_line(
        &err,
        "hint: run `git exp checkout` again to download a good copy from storage",
    );
    assert_eq!(
        md5_of(&predictions),
        LR01_PREDICTIONS,
        "the workspace file changed"
    );
    let leftovers: Vec<String> = fs::read_dir(&setup.clone)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let output = sandbox.exp(&setup.clone, &["checkout"]);
    assert_line(
        &stderr(&output),
        &format!(
            "1 objects (240 bytes) fetched from storage ({})",
            setup.storage.display()
        ),
    );
    assert_workspace_matches(&setup.clone, &setup.expected("b53a31b", "exp-wide"));
}

#[test]
fn checkout_downloads_again_what_a_look_shows_damaged() {
    for kind in [Kind::Truncated, Kind::Directory, Kind::DanglingLink] {
        let setup = Setup::new();
        fs::remove_file(setup.clone.join("predictions.csv")).expect("remove workspace file");
        let object = object_path(&setup.cache(), PREDICTIONS);
        damage(&object, kind);

        let output = setup.sandbox.exp(&setup.clone, &["checkout"]);
        line_starting(
            &stderr(&output),
            &format!(
                " WARN object {PREDICTIONS} at {} in the cache {}; moved it to ",
                object.display(),
                defect_text(kind)
            ),
        );
        assert_line(&stdout(&output), "M\tpredictions.csv");
        assert_workspace_matches(&setup.clone, &setup.expected("b53a31b", "exp-wide"));
    }
}

#[test]
fn damaged_storage_object_is_named_by_fetch_checkout_and_status() {
    for kind in ALL_KINDS {
        let setup = Setup::new();
        let sandbox = &setup.sandbox;
        let cached = object_path(&setup.cache(), PREDICTIONS);
        fs::remove_file(&cached).expect("remove the cached object");
        fs::remove_file(setup.clone.join("predictions.csv")).expect("remove workspace file");
        let stored = object_path(&setup.storage, PREDICTIONS);
        damage(&stored, kind);
        let storage = setup.storage.display().to_string();
        let layout = format!("files/md5/ce/{}", &PREDICTIONS[2..]);

        let failure = match kind {
            Kind::Flipped | Kind::Truncated => format!(
                "object {PREDICTIONS} from {layout} in storage {storage} is corrupt: its content hashes to {}",
                md5_of(&stored)
            ),
            _ => format!("object {PREDICTIONS} at {} in storage {storage} {}", stored.display(), defect_text(kind)),
        };
        let failure_line = format!("error: failed predictions.csv ({PREDICTIONS}): {failure}");

        let output = sandbox.exp_result(&setup.clone, &["fetch", EXP_WIDE]);
        assert_eq!(output.status.code(), Some(1), "{kind:?}");
        assert_line(&stderr(&output), &failure_line);
        assert!(
            fs::symlink_metadata(&cached).is_err(),
            "{kind:?}: the corrupt object entered the cache"
        );
        assert!(
            hidden_entries(cached.parent().expect("fan-out")).is_empty(),
            "{kind:?}"
        );

        let output = sandbox.exp_result(&setup.clone, &["checkout"]);
        assert_eq!(output.status.code(), Some(1), "{kind:?}");
        let err = stderr(&output);
        assert_line(&err, &failure_line);
        assert_line(
            &err,
            &format!("error: missing predictions.csv ({PREDICTIONS}): the object is neither in the cache nor downloadable"),
        );
        assert!(!setup.clone.join("predictions.csv").exists(), "{kind:?}");

        let output = sandbox.exp_result(&setup.clone, &["status", "--cloud", "--verify", EXP_WIDE]);
        assert_eq!(output.status.code(), Some(1), "{kind:?}");
        assert_eq!(
            stdout(&output),
            "\tcorrupted in storage: predictions.csv\n",
            "{kind:?}"
        );
        let problem = match kind {
            Kind::Flipped => format!(
                "object {PREDICTIONS} at {layout} in storage {storage} is corrupt: its 240 bytes hash to {}",
                md5_of(&stored)
            ),
            Kind::Truncated => format!(
                "object {PREDICTIONS} at {layout} in storage {storage} is corrupt: its 120 bytes hash to {}",
                md5_of(&stored)
            ),
            _ => failure.clone(),
        };
        assert_line(
            &stderr(&output),
            &format!(
                "error: corrupted in storage 'storage' predictions.csv ({PREDICTIONS}): {problem}"
            ),
        );
    }
}

#[test]
fn push_verify_replaces_corrupt_local_storage_objects() {
    let setup = Setup::new();
    let sandbox = &setup.sandbox;
    // predictions.csv, weights.bin, labels.txt and layers/l0.txt of exp-wide.
    let damaged = [
        (PREDICTIONS, Kind::Flipped),
        ("6ae1ff5625c2cf0265a3d380cd6ad93e", Kind::Truncated),
        ("452a1b235b527e7e0dac89b624c95d5e", Kind::Directory),
        ("fb0c5192510398d4710e4d18959e7bd5", Kind::DanglingLink),
    ];
    for (id, kind) in damaged {
        damage(&object_path(&setup.storage, id), kind);
    }

    // A plain push trusts a stored file of the right size, so flipped bytes stay. It also
    // trusts a stored `.dir` for its members, as `dvc push` does, so the damaged members
    // weights.bin and layers/l0.txt of the model directory stay too.
    sandbox.exp(&setup.project, &["push", "origin", "-A"]);
    assert_ne!(
        md5_of(&object_path(&setup.storage, PREDICTIONS)),
        PREDICTIONS
    );
    let labels = damaged[2].0;
    assert_eq!(md5_of(&object_path(&setup.storage, labels)), labels);
    for (id, kind) in [damaged[1], damaged[3]] {
        let path = object_path(&setup.storage, id);
        match kind {
            Kind::Truncated => assert_ne!(md5_of(&path), id, "a plain push rewrote {id}"),
            _ => assert!(
                fs::symlink_metadata(&path).expect("lstat").is_symlink(),
                "a plain push rewrote {id}"
            ),
        }
    }

    let output = sandbox.exp(&setup.project, &["push", "origin", "-A", "--verify"]);
    let out = stdout(&output);
    assert_line(
        &out,
        &format!("replaced 1 corrupt object in storage 'storage': {PREDICTIONS}"),
    );
    assert!(out.contains("3 files uploaded to 'storage'"), "{out}");
    for file in files_under(&setup.storage) {
        if file.split('/').any(|part| part.starts_with('.')) {
            continue;
        }
        let id = file
            .trim_start_matches("files/md5/")
            .replace('/', "")
            .replace(".dir", "");
        assert_eq!(md5_of(&setup.storage.join(&file)), id, "{file}");
        assert_eq!(mode(&setup.storage.join(&file)), 0o444, "{file}");
    }

    let output = sandbox.exp(&setup.project, &["push", "origin", "-A", "--verify"]);
    assert!(!stdout(&output).contains("replaced"), "{}", stdout(&output));

    assert_fresh_clone_matches(&setup, None);
}

#[test]
fn push_trusts_a_stored_directory_until_verify() {
    let setup = Setup::new();
    let sandbox = &setup.sandbox;
    // layers/l0.txt of exp-wide's model directory, whose `.dir` stays in the storage.
    let member = "fb0c5192510398d4710e4d18959e7bd5";
    let stored = object_path(&setup.storage, member);
    fs::remove_file(&stored).expect("remove the stored member");

    // As with `dvc push`, a stored `.dir` stands for its members, which are not queried.
    let output = sandbox.exp(&setup.project, &["push", "origin", "-A"]);
    let out = stdout(&output);
    assert!(out.contains("0 files uploaded to 'storage'"), "{out}");
    assert!(!stored.exists());

    let output = sandbox.exp(&setup.project, &["push", "origin", "-A", "--verify"]);
    let out = stdout(&output);
    assert!(out.contains("1 file uploaded to 'storage'"), "{out}");
    assert_eq!(md5_of(&stored), member);
    assert_eq!(mode(&stored), 0o444);
}

/// Clones origin.git into a new folder, pulls every experiment (from `storage_config`,
/// when given, as `.dvc/config` and `.dvc/config.local`) and checks each one out.
fn assert_fresh_clone_matches(setup: &Setup, storage_config: Option<(&str, &str)>) {
    let sandbox = &setup.sandbox;
    sandbox.git(&setup.fixture, &["clone", "--quiet", "origin.git", "fresh"]);
    let fresh = setup.fixture.join("fresh");
    if let Some((config, local)) = storage_config {
        fs::write(fresh.join(".dvc/config"), config).expect("config");
        fs::write(fresh.join(".dvc/config.local"), local).expect("config.local");
    }
    sandbox.exp(&fresh, &["pull", "origin", "-A"]);
    for (baseline, name, refname) in SEED_EXPERIMENTS {
        sandbox.git(&fresh, &["checkout", "--quiet", refname]);
        sandbox.exp(&fresh, &["checkout"]);
        assert_workspace_matches(&fresh, &setup.expected(baseline, name));
    }
}

#[test]
fn push_verify_replaces_corrupt_s3_object() {
    let server: &Server = servers::s3s_fs();
    let setup = Setup::new();
    let sandbox = &setup.sandbox;
    let prefix = "push-verify";
    let config = format!(
        "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://{}/{prefix}\n    \
         endpointurl = http://127.0.0.1:{}\n    region = us-east-1\n",
        servers::BUCKET,
        server.port
    );
    let local = format!(
        "['remote \"storage\"']\n    access_key_id = {}\n    secret_access_key = {}\n",
        servers::S3_KEY,
        servers::S3_SECRET
    );
    fs::write(setup.project.join(".dvc/config"), &config).expect("config");
    fs::write(setup.project.join(".dvc/config.local"), &local).expect("config.local");
    sandbox.exp(&setup.project, &["push", "origin", "-A"]);

    // s3s-fs keeps each object as a file under its bucket folder.
    let root = server.root.join(servers::BUCKET).join(prefix);
    let flipped = object_path(&root, PREDICTIONS);
    let truncated = object_path(&root, "6ae1ff5625c2cf0265a3d380cd6ad93e");
    damage(&flipped, Kind::Flipped);
    damage(&truncated, Kind::Truncated);

    let output = sandbox.exp(&setup.project, &["push", "origin", "-A", "--verify"]);
    let location = format!("s3://{}/{prefix}", servers::BUCKET);
    assert_line(
        &stdout(&output),
        &format!("replaced 1 corrupt object in storage 'storage': {PREDICTIONS}"),
    );
    line_starting(
        &stderr(&output),
        &format!(" WARN object {PREDICTIONS} at files/md5/ce/{} in storage {location} is corrupt: its 240 bytes hash to ", &PREDICTIONS[2..]),
    );
    assert_eq!(md5_of(&flipped), PREDICTIONS);
    assert_eq!(md5_of(&truncated), "6ae1ff5625c2cf0265a3d380cd6ad93e");

    assert_fresh_clone_matches(&setup, Some((&config, &local)));
}

/// Sets the modification time of `path` to `age` ago.
fn age_file(path: &Path, age: Duration) {
    let file = fs::File::options().write(true).open(path).expect("open");
    file.set_modified(SystemTime::now() - age)
        .expect("set mtime");
}

#[test]
fn stale_temporary_files_are_removed_by_fetch_and_push() {
    let setup = Setup::new();
    let sandbox = &setup.sandbox;
    let two_hours = Duration::from_secs(2 * 60 * 60);

    // A fetch into the cache cleans the fan-out folders it writes to.
    let cached = object_path(&setup.cache(), PREDICTIONS);
    fs::remove_file(&cached).expect("remove the cached object");
    let fan_out = cached.parent().expect("fan-out").to_path_buf();
    fs::write(fan_out.join(".killed0123456789abcdefghi.tmp"), b"partial").expect("stale");
    fs::write(fan_out.join(".livewriter0123456789abc.tmp"), b"partial").expect("live");
    age_file(&fan_out.join(".killed0123456789abcdefghi.tmp"), two_hours);
    sandbox.exp(&setup.clone, &["fetch", EXP_WIDE]);
    assert_eq!(
        hidden_entries(&fan_out),
        vec![".livewriter0123456789abc.tmp".to_owned()]
    );
    assert_eq!(md5_of(&cached), PREDICTIONS);

    // A push into local storage cleans the fan-out folders it writes to.
    let stored = object_path(&setup.storage, PREDICTIONS);
    fs::remove_file(&stored).expect("remove the stored object");
    let fan_out = stored.parent().expect("fan-out").to_path_buf();
    fs::write(fan_out.join(".killed0123456789abcdefghi.tmp"), b"partial").expect("stale");
    fs::write(fan_out.join(".livewriter0123456789abc.tmp"), b"partial").expect("live");
    age_file(&fan_out.join(".killed0123456789abcdefghi.tmp"), two_hours);
    sandbox.exp(&setup.project, &["push", "origin", "-A"]);
    assert_eq!(
        hidden_entries(&fan_out),
        vec![".livewriter0123456789abc.tmp".to_owned()]
    );
    assert_eq!(md5_of(&stored), PREDICTIONS);
}
