//! Crash soak: kill push, fetch and checkout with SIGKILL at random moments, then check
//! that nothing is corrupt, no remote ref points at missing data, nothing the user made is
//! gone, and that rerunning the command completes.
//!
//! Used by the `exp-soak` binary (200 trials or more) and by a short test (20 trials).

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use exp_lib::collect::{Collector, Purpose};
use exp_lib::git::{CommitId, Repo};
use exp_lib::manifest::Manifest;
use exp_lib::object::{hash_file, HashKind, ObjectId, ObjectKey};

use crate::Sandbox;

/// A user-made file placed in an output directory before checkout trials.
const USER_FILE: &str = "model/notes-by-user.txt";
const USER_TEXT: &str = "my notes, never cached\n";

/// Operations the soak interrupts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `git push share 'refs/exps/*:refs/exps/*'` through the helper.
    Push,
    /// `git fetch origin '+refs/exps/*:refs/exps/*'` through the helper in a clone.
    Fetch,
    /// `git exp checkout` of an experiment in the clone, with a user file in an output.
    Checkout,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Push => "push",
            Operation::Fetch => "fetch",
            Operation::Checkout => "checkout",
        })
    }
}

/// Counts of what a soak run did and found.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Trials run.
    pub trials: usize,
    /// Trials whose command was killed before it finished.
    pub killed: usize,
    /// Trials per operation, in the order push, fetch, checkout.
    pub per_operation: [usize; 3],
    /// Storage and cache objects hashed by the checks.
    pub objects_verified: usize,
    /// Temporary files that killed processes left in storage and the cache, counted at the
    /// last check; none is ever under a final object name.
    pub leftover_temp_files: usize,
    /// Git's own `*.lock` files that a killed git left behind; the soak removes them before
    /// rerunning, as git's error message instructs.
    pub stale_git_locks: usize,
    /// Invariant violations, each described; empty on success.
    pub violations: Vec<String>,
}

/// A small deterministic generator (xorshift64*), so a seed replays a run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

/// The seed-project fixture prepared for the soak: a project with an `exp::` remote and a
/// clone of its origin.
struct Stage {
    fixture: PathBuf,
    project: PathBuf,
    clone: PathBuf,
    experiments: Vec<String>,
    /// True once a checkout trial has placed the user's file in the workspace.
    user_file_placed: std::cell::Cell<bool>,
}

/// Runs `trials` trials from `seed` in `sandbox` and returns what happened.
pub fn run(sandbox: &Sandbox, seed: u64, trials: usize) -> Summary {
    let stage = prepare(sandbox);
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut summary = Summary::default();

    for trial in 0..trials {
        let operation = match rng.below(3) {
            0 => Operation::Push,
            1 => Operation::Fetch,
            _ => Operation::Checkout,
        };
        summary.per_operation[operation as usize] += 1;
        disturb(&stage, operation, &mut rng, sandbox);

        let delay = Duration::from_micros(rng.below(150_000));
        let killed = run_killed(sandbox, &stage, operation, delay);
        summary.trials += 1;
        if killed {
            summary.killed += 1;
        }

        check(
            &stage,
            &mut summary,
            &format!("trial {trial} ({operation}, killed: {killed})"),
        );
        summary.stale_git_locks += remove_git_locks(&stage.fixture.join("origin.git"));
        summary.stale_git_locks += remove_git_locks(&stage.clone.join(".git"));
        summary.stale_git_locks += remove_git_locks(&stage.project.join(".git"));

        // Rerunning the same command must complete.
        let output = command_for(sandbox, &stage, operation)
            .output()
            .expect("rerun starts");
        if !completed(operation, &output) {
            summary.violations.push(format!(
                "trial {trial}: rerunning {operation} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        check(
            &stage,
            &mut summary,
            &format!("trial {trial} ({operation}) after rerun"),
        );
    }
    summary
}

/// Returns true if a rerun completed. A checkout keeps the user's uncached file, reports it
/// and exits with status 1; that is its complete result.
fn completed(operation: Operation, output: &std::process::Output) -> bool {
    if output.status.success() {
        return true;
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    operation == Operation::Checkout
        && output.status.code() == Some(1)
        && stderr.contains(&format!("kept {USER_FILE}"))
        && !stderr.contains("error:")
}

fn prepare(sandbox: &Sandbox) -> Stage {
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    sandbox.git(&project, &["remote", "add", "share", "exp::../origin.git"]);
    sandbox.git(
        &project,
        &["push", "-q", "share", "refs/exps/*:refs/exps/*"],
    );
    let url = format!("exp::{}", fixture.join("origin.git").display());
    sandbox.git(&fixture, &["clone", "-q", &url, "clone"]);
    let clone = fixture.join("clone");
    sandbox.git(
        &clone,
        &["fetch", "-q", "origin", "+refs/exps/*:refs/exps/*"],
    );
    let experiments = sandbox
        .git_stdout(
            &clone,
            &["for-each-ref", "--format=%(refname)", "refs/exps/"],
        )
        .lines()
        .map(str::to_owned)
        .collect();
    Stage {
        fixture,
        project,
        clone,
        experiments,
        user_file_placed: std::cell::Cell::new(false),
    }
}

/// Undoes part of the previous work so that the next command has something to do.
fn disturb(stage: &Stage, operation: Operation, rng: &mut Rng, sandbox: &Sandbox) {
    match operation {
        Operation::Push => {
            // Objects leave storage only together with every ref that could need them, as
            // a storage emptied by hand or a fresh remote would look.
            let origin = stage.fixture.join("origin.git");
            for refname in &stage.experiments {
                let _ = sandbox.git_result(&origin, &["update-ref", "-d", refname]);
            }
            let storage = stage.fixture.join("storage");
            if remove_some(&storage, rng) > 0 {
                // A push trusts a stored `.dir` for its members, as `dvc push` does, so a
                // storage emptied by hand loses its manifests with the members.
                for file in object_files(&storage) {
                    if file.ends_with(".dir") {
                        let _ = fs::remove_file(storage.join(&file));
                    }
                }
            }
        }
        Operation::Fetch => {
            for refname in &stage.experiments {
                if rng.below(2) == 0 {
                    let _ = sandbox.git_result(&stage.clone, &["update-ref", "-d", refname]);
                }
            }
            remove_some(&stage.clone.join(".dvc/cache"), rng);
        }
        Operation::Checkout => {
            let index = rng.below(stage.experiments.len() as u64) as usize;
            let refname = &stage.experiments[index];
            let _ = sandbox.git_result(&stage.clone, &["checkout", "-q", "-f", refname]);
            let _ = fs::remove_dir_all(stage.clone.join("model"));
            let _ = fs::remove_file(stage.clone.join("predictions.csv"));
            fs::create_dir_all(stage.clone.join("model")).expect("model dir");
            fs::write(stage.clone.join(USER_FILE), USER_TEXT).expect("user file");
            stage.user_file_placed.set(true);
        }
    }
}

/// Removes `*.lock` files of refs and the index under a git directory; returns how many.
fn remove_git_locks(git_dir: &Path) -> usize {
    let mut removed = 0;
    for path in crate::files_under(git_dir) {
        let is_lock = path.ends_with(".lock")
            && (path.starts_with("refs/")
                || path == "packed-refs.lock"
                || path == "index.lock"
                || path == "HEAD.lock"
                || path == "shallow.lock");
        if is_lock && fs::remove_file(git_dir.join(&path)).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Deletes about a third of the object files under `root` and returns how many it chose.
fn remove_some(root: &Path, rng: &mut Rng) -> usize {
    let mut chosen = 0;
    for file in object_files(root) {
        if rng.below(3) == 0 {
            let _ = fs::remove_file(root.join(&file));
            chosen += 1;
        }
    }
    chosen
}

fn command_for(sandbox: &Sandbox, stage: &Stage, operation: Operation) -> Command {
    match operation {
        Operation::Push => {
            let mut command = sandbox.command("git", &stage.project);
            command.args(["push", "-q", "share", "refs/exps/*:refs/exps/*"]);
            command
        }
        Operation::Fetch => {
            let mut command = sandbox.command("git", &stage.clone);
            command.args(["fetch", "-q", "origin", "+refs/exps/*:refs/exps/*"]);
            command
        }
        Operation::Checkout => {
            let mut command = sandbox.command("git-exp", &stage.clone);
            command.args(["-q", "checkout"]);
            command
        }
    }
}

/// Starts the command in its own process group and kills the whole group after `delay`.
/// Returns true if the command was still running when killed.
fn run_killed(sandbox: &Sandbox, stage: &Stage, operation: Operation, delay: Duration) -> bool {
    let mut command = command_for(sandbox, stage, operation);
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = command.spawn().expect("command starts");
    let deadline = Instant::now() + delay;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    // SAFETY: kill(2) on our own child's process group; no memory is involved.
    unsafe {
        libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
    }
    let _ = child.wait();
    // Grandchildren in the group are gone too; give the kernel a moment to reap them.
    std::thread::sleep(Duration::from_millis(5));
    true
}

/// Relative paths of object files under a cache or storage root, temporary files excluded.
fn object_files(root: &Path) -> Vec<String> {
    crate::files_under(root)
        .into_iter()
        .filter(|path| !is_temp(path))
        .collect()
}

fn is_temp(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.starts_with('.') && name.ends_with(".tmp")
}

/// Parses a layout path (`files/md5/XX/REST[.dir]` or `XX/REST[.dir]`) into its key.
fn key_of(path: &str) -> Option<ObjectKey> {
    let (kind, rest) = match path.strip_prefix("files/md5/") {
        Some(rest) => (HashKind::Md5, rest),
        None => (HashKind::Md5Dos2Unix, path),
    };
    let (head, tail) = rest.split_once('/')?;
    ObjectId::parse(&format!("{head}{tail}"))
        .ok()
        .map(|id| ObjectKey::new(kind, id))
}

/// Checks every invariant and records violations.
fn check(stage: &Stage, summary: &mut Summary, when: &str) {
    let storage = stage.fixture.join("storage");
    let cache = stage.clone.join(".dvc/cache");

    summary.leftover_temp_files = 0;
    for (root, label) in [(&storage, "storage"), (&cache, "cache")] {
        for path in crate::files_under(root) {
            if is_temp(&path) {
                summary.leftover_temp_files += 1;
                continue;
            }
            summary.objects_verified += 1;
            let Some(key) = key_of(&path) else {
                summary.violations.push(format!(
                    "{when}: {label} holds {path}, which is not an object name"
                ));
                continue;
            };
            match hash_file(key.kind, &root.join(&path)) {
                Ok((digest, _)) if key.id.matches_digest(digest) => {}
                Ok(_) => summary.violations.push(format!(
                    "{when}: {label} object {path} does not match its name"
                )),
                Err(error) => summary.violations.push(format!(
                    "{when}: {label} object {path} is unreadable: {error}"
                )),
            }
        }
    }

    check_remote_refs(stage, &storage, summary, when);

    if stage.user_file_placed.get() {
        match fs::read_to_string(stage.clone.join(USER_FILE)) {
            Ok(text) if text == USER_TEXT => {}
            Ok(_) => summary
                .violations
                .push(format!("{when}: {USER_FILE} was changed")),
            Err(_) => summary
                .violations
                .push(format!("{when}: {USER_FILE} is gone")),
        }
    }
}

/// Every experiment ref on the remote must point at commits whose objects are all stored.
fn check_remote_refs(stage: &Stage, storage: &Path, summary: &mut Summary, when: &str) {
    let origin = stage.fixture.join("origin.git");
    let Ok(repo) = Repo::open(&origin) else {
        summary
            .violations
            .push(format!("{when}: cannot open origin.git"));
        return;
    };
    let Ok(refs) = repo.refs_with_prefix("refs/exps/") else {
        summary
            .violations
            .push(format!("{when}: cannot list refs of origin.git"));
        return;
    };
    let mut collector = Collector::new(&repo);
    for (refname, tip) in refs {
        let Ok(Some(exp)) = exp_lib::refs::ExpRef::parse(&refname) else {
            continue;
        };
        let baseline: Vec<CommitId> = CommitId::from_hex(exp.baseline().as_bytes())
            .into_iter()
            .collect();
        let Ok(commits) = repo.commits_in_range(tip, &baseline) else {
            summary
                .violations
                .push(format!("{when}: cannot walk {refname}"));
            continue;
        };
        let Ok(set) = collector.objects(&commits, Purpose::Push) else {
            summary
                .violations
                .push(format!("{when}: cannot collect outputs of {refname}"));
            continue;
        };
        let mut needed: BTreeSet<ObjectKey> = BTreeSet::new();
        for (_, key, _) in set.iter() {
            needed.insert(*key);
            if key.id.is_dir() {
                let path = key.path_under(storage);
                if let Ok(bytes) = fs::read(&path) {
                    if let Ok(manifest) = Manifest::parse(&key.id, &bytes) {
                        needed.extend(
                            manifest
                                .entries()
                                .iter()
                                .map(|e| ObjectKey::new(key.kind, e.id)),
                        );
                    }
                }
            }
        }
        for key in needed {
            if !key.path_under(storage).is_file() {
                summary.violations.push(format!(
                    "{when}: remote {refname} needs {key}, which storage lacks"
                ));
            }
        }
    }
}
