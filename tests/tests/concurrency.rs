//! Two processes working on the same storage or the same cache at once finish with
//! consistent results: every object complete and verified, no torn file.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Child;

use exp_integration_tests::*;

fn wait_ok(child: Child, command: &str) {
    let output = child.wait_with_output().expect("wait");
    assert!(
        output.status.success(),
        "{command} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Asserts that every object file under `root` hashes to its name.
fn assert_objects_verified(root: &Path) -> usize {
    let mut count = 0;
    for path in files_under(root) {
        let name = path.rsplit('/').next().unwrap_or(&path);
        let is_temporary = name.starts_with('.') && name.ends_with(".tmp");
        assert!(!is_temporary, "temporary file left: {path}");
        let hex: String = path.trim_start_matches("files/md5/").replace('/', "");
        let hex = hex.trim_end_matches(".dir");
        assert_eq!(md5_of(&root.join(&path)), hex, "{path}");
        count += 1;
    }
    count
}

#[test]
fn two_pushes_to_one_storage() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    // A second bare remote; both pushes upload into the same storage folder.
    sandbox.git(
        &fixture,
        &["clone", "-q", "--bare", "origin.git", "second.git"],
    );

    let spawn = |url: &str| {
        sandbox
            .command("git", &project)
            .args(["push", "-q", url, "refs/exps/*:refs/exps/*"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("push starts")
    };
    let first = spawn("exp::../origin.git");
    let second = spawn("exp::../second.git");
    wait_ok(first, "first push");
    wait_ok(second, "second push");

    let storage = fixture.join("storage");
    assert_eq!(assert_objects_verified(&storage), 31);
    for remote in ["origin.git", "second.git"] {
        let refs = sandbox.git_stdout(&fixture, &["ls-remote", remote, "refs/exps/*"]);
        assert_eq!(refs.lines().count(), 4, "{remote}: {refs}");
    }
}

#[test]
fn two_fetches_into_one_cache() {
    let sandbox = Sandbox::new();
    let clone = clone_with_experiment_refs(&sandbox);

    let spawn = |rev: &str| {
        sandbox
            .command("git-exp", &clone)
            .args(["-q", "fetch", rev])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("fetch starts")
    };
    // Both experiments share data/raw and data/labels.txt, so both fetches write them.
    let first = spawn("refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-wide");
    let second = spawn("refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-lr01");
    wait_ok(first, "first fetch");
    wait_ok(second, "second fetch");

    let cache = clone.join(".dvc/cache");
    let count = assert_objects_verified(&cache);
    assert!(count >= 20, "{count} objects");
    for file in files_under(&cache) {
        assert_eq!(mode(&cache.join(&file)), 0o444, "{file}");
    }
    assert!(!fs::read_dir(&cache).expect("cache").any(|e| e
        .expect("entry")
        .file_name()
        .to_string_lossy()
        .ends_with(".tmp")));
}

#[test]
fn checkout_while_fetch_runs() {
    let sandbox = Sandbox::new();
    let clone = clone_with_experiment_refs(&sandbox);
    let wide = "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-wide";
    sandbox.git(&clone, &["checkout", "-q", wide]);

    // The checkout downloads what it lacks itself, while a fetch writes the same objects.
    let fetch = sandbox
        .command("git-exp", &clone)
        .args(["-q", "fetch", wide])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("fetch starts");
    let checkout = sandbox
        .command("git-exp", &clone)
        .args(["-q", "checkout"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("checkout starts");
    wait_ok(fetch, "fetch");
    wait_ok(checkout, "checkout");

    let fixture = clone.parent().expect("fixture folder");
    assert_workspace_matches(&clone, &fixture.join("expected/b53a31b-exp-wide.md5"));
    assert_objects_verified(&clone.join(".dvc/cache"));
}

#[test]
fn hook_push_and_helper_push_at_once() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    sandbox.git(
        &fixture,
        &["clone", "-q", "--bare", "origin.git", "second.git"],
    );
    sandbox.exp(&project, &["install"]);

    // The pre-push hook uploads for the ordinary remote while the helper uploads for an
    // exp:: remote, both into the project's one storage folder.
    let spawn = |args: &[&str]| {
        sandbox
            .command("git", &project)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("push starts")
    };
    let exp_refs = experiment_refs(&sandbox, &project);
    assert_eq!(exp_refs.len(), 4, "{exp_refs:?}");
    let mut hook_args = vec!["push", "-q", "origin"];
    hook_args.extend(exp_refs.iter().map(String::as_str));
    let hook = spawn(&hook_args);
    let helper = spawn(&[
        "push",
        "-q",
        "exp::../second.git",
        "refs/exps/*:refs/exps/*",
    ]);
    wait_ok(hook, "push through the hook");
    wait_ok(helper, "push through the helper");

    assert_eq!(assert_objects_verified(&fixture.join("storage")), 31);
    for remote in ["origin.git", "second.git"] {
        assert_eq!(
            experiment_refs(&sandbox, &fixture.join(remote)),
            exp_refs,
            "{remote}"
        );
    }
}

/// Returns the experiment refs of `repo`, without DVC's internal refs such as
/// `refs/exps/exec/*`.
fn experiment_refs(sandbox: &Sandbox, repo: &Path) -> Vec<String> {
    sandbox
        .git_stdout(repo, &["for-each-ref", "--format=%(refname)", "refs/exps/"])
        .lines()
        .filter(|name| name.split('/').nth(2).is_some_and(|part| part.len() == 2))
        .map(str::to_owned)
        .collect()
}

/// Pushes seed-project's experiments through the helper, then clones the Git remote and
/// fetches the experiment refs with plain git, so the clone has the refs and an empty
/// cache. Returns the clone's path; the unpacked fixture is its parent.
fn clone_with_experiment_refs(sandbox: &Sandbox) -> PathBuf {
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    sandbox.git(
        &project,
        &[
            "push",
            "-q",
            "exp::../origin.git",
            "refs/exps/*:refs/exps/*",
        ],
    );
    sandbox.git(&fixture, &["clone", "-q", "origin.git", "clone"]);
    let clone = fixture.join("clone");
    sandbox.git(
        &clone,
        &["fetch", "-q", "origin", "+refs/exps/*:refs/exps/*"],
    );
    clone
}
