//! Plain `git push`, `git fetch` and `git checkout` against ordinary remotes, with the hooks
//! that `git exp install` writes, on repositories made by DVC.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use exp_integration_tests::*;

/// The refs directory of seed-project's first baseline, `b53a31b`.
const FIRST_BASELINE: &str = "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76";

const EXP_WIDE: &str = "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-wide";

/// Objects `exp-wide` needs in storage: the files and `.dir` manifests of its outputs and
/// the members of its directories, as an upload of `b53a31b..exp-wide` counts them.
const EXP_WIDE_OBJECTS: usize = 20;

const ZERO: &str = "0000000000000000000000000000000000000000";

fn expected_storage_files(fixture: &Path) -> BTreeSet<String> {
    fs::read_to_string(fixture.join("expected/dvc-exp-push-all.txt"))
        .expect("expected list")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim_start_matches("./").to_owned())
        .collect()
}

/// Returns the refs under `refs/exps/` that `url` has, by name.
fn remote_exp_refs(sandbox: &Sandbox, cwd: &Path, url: &str) -> BTreeSet<String> {
    sandbox
        .git_stdout(cwd, &["ls-remote", url, "refs/exps/*"])
        .lines()
        .filter_map(|l| l.split_once('\t').map(|(_, name)| name.to_owned()))
        .collect()
}

/// Returns the lines of `text` that contain `needle`.
fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|line| line.contains(needle)).collect()
}

/// Unpacks seed-project and installs the hooks in its project; returns the fixture folder.
fn seed_with_hooks(sandbox: &Sandbox) -> PathBuf {
    let fixture = sandbox.unpack("seed-project");
    sandbox.exp(&fixture.join("project"), &["install"]);
    fixture
}

/// Pushes the four experiments of seed-project to its `origin` with the hooks.
fn push_seed_experiments(sandbox: &Sandbox, project: &Path) -> Output {
    let mut args = vec!["push", "origin"];
    args.extend(SEED_EXPERIMENTS.iter().map(|(_, _, refname)| *refname));
    sandbox.git(project, &args)
}

/// Writes an executable shell script.
fn write_script(path: &Path, body: &str) {
    fs::write(path, body).expect("write script");
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod script");
}

/// Replaces the storage folder with a regular file, so that no object can be written into
/// it, even by root, who ignores directory permissions.
fn block_storage(storage: &Path) {
    if storage.exists() {
        fs::remove_dir_all(storage).expect("remove storage");
    }
    fs::write(storage, "not a folder").expect("block storage");
}

/// Returns `PATH` without the folders that hold a `git-exp`, so the shims cannot find it.
fn path_without_git_exp() -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|dir| !dir.join("git-exp").exists())
        .collect();
    std::env::join_paths(kept)
        .expect("PATH entries join")
        .to_string_lossy()
        .into_owned()
}

/// Runs `command`, killing it and panicking when it takes longer than `limit`.
fn run_with_timeout(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("command starts");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait for command").is_some() {
            return child.wait_with_output().expect("command output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let output = child.wait_with_output().expect("command output");
            panic!(
                "{command:?} did not finish within {limit:?}\n--- stderr ---\n{}",
                stderr(&output)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn round_trip_through_bare_remote() {
    let sandbox = Sandbox::new();
    let fixture = seed_with_hooks(&sandbox);
    let project = fixture.join("project");

    let output = push_seed_experiments(&sandbox, &project);
    let err = stderr(&output);
    assert_eq!(
        lines_with(&err, "git-exp: uploaded 31 objects").len(),
        1,
        "{err}"
    );
    assert_eq!(
        files_under(&fixture.join("storage")),
        expected_storage_files(&fixture)
    );
    let expected_refs: BTreeSet<String> = SEED_EXPERIMENTS
        .iter()
        .map(|(_, _, r)| r.to_string())
        .collect();
    assert_eq!(
        remote_exp_refs(&sandbox, &fixture, "origin.git"),
        expected_refs
    );

    sandbox.git(&fixture, &["clone", "--quiet", "origin.git", "other"]);
    let other = fixture.join("other");
    let install = sandbox.exp(&other, &["install"]);
    assert!(
        stdout(&install).contains("Remote origin: fetches experiments"),
        "{}",
        stdout(&install)
    );

    let output = sandbox.git(&other, &["fetch", "origin"]);
    let err = stderr(&output);
    assert!(err.contains("git-exp: downloaded"), "{err}");
    let local: BTreeSet<String> = sandbox
        .git_stdout(
            &other,
            &["for-each-ref", "--format=%(refname)", "refs/exps"],
        )
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(local, expected_refs);
    // Every object the experiments need is in the cache before any checkout.
    assert_eq!(
        files_under(&other.join(".dvc/cache")),
        expected_storage_files(&fixture)
    );

    for (baseline, name, refname) in SEED_EXPERIMENTS {
        let output = sandbox.git(&other, &["checkout", "--quiet", refname]);
        assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
        assert_workspace_matches(
            &other,
            &fixture.join(format!("expected/{baseline}-{name}.md5")),
        );
    }
}

#[test]
fn failed_upload_stops_push() {
    let sandbox = Sandbox::new();
    let fixture = seed_with_hooks(&sandbox);
    let project = fixture.join("project");
    block_storage(&fixture.join("storage"));

    let output = sandbox.git_result(&project, &["push", "origin", EXP_WIDE]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("git-exp: stopped the push because the data of 1 refs is not in storage"),
        "{err}"
    );
    assert!(
        err.contains(&format!("  {EXP_WIDE}: data upload failed: failed ")),
        "{err}"
    );
    assert!(err.contains("error: failed to push some refs"), "{err}");
    assert_eq!(
        remote_exp_refs(&sandbox, &fixture, "origin.git"),
        BTreeSet::new()
    );
}

#[test]
fn object_missing_everywhere_stops_push() {
    let sandbox = Sandbox::new();
    let fixture = seed_with_hooks(&sandbox);
    let project = fixture.join("project");
    // predictions.csv of exp-wide, gone from the cache; storage is empty.
    let object = project.join(".dvc/cache/files/md5/ce/226cd3bf1822244370a3f2fcccbbf5");
    fs::remove_file(&object).expect("remove cached object");

    let output = sandbox.git_result(&project, &["push", "origin", EXP_WIDE]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("error: git-exp: missing predictions.csv (ce226cd3bf1822244370a3f2fcccbbf5): object ce226cd3bf1822244370a3f2fcccbbf5 is in neither the cache"),
        "{err}"
    );
    assert!(
        err.contains("hint: a missing object may be in the cache"),
        "{err}"
    );
    assert_eq!(
        remote_exp_refs(&sandbox, &fixture, "origin.git"),
        BTreeSet::new()
    );
}

#[test]
fn chained_pre_push_gets_same_input() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    let hooks = project.join(".git/hooks");
    let seen = sandbox.path().join("seen-by-user-hook");
    let user_hook = format!(
        "#!/bin/sh\necho \"args: $*\" >>'{0}'\ncat >>'{0}'\n[ ! -e '{0}.fail' ]\n",
        seen.display()
    );
    write_script(&hooks.join("pre-push"), &user_hook);

    let install = sandbox.exp(&project, &["install"]);
    assert!(
        stdout(&install).contains("the existing hook moved to")
            && stdout(&install).contains("pre-push.before-git-exp"),
        "{}",
        stdout(&install)
    );
    assert_eq!(
        fs::read_to_string(hooks.join("pre-push.before-git-exp")).expect("chained"),
        user_hook
    );

    let output = sandbox.git(&project, &["push", "origin", EXP_WIDE]);
    assert_eq!(
        lines_with(
            &stderr(&output),
            &format!("git-exp: uploaded {EXP_WIDE_OBJECTS} objects")
        )
        .len(),
        1,
        "{}",
        stderr(&output)
    );
    let tip = sandbox.git_stdout(&project, &["rev-parse", EXP_WIDE]);
    let expected = format!("args: origin ../origin.git\n{EXP_WIDE} {tip} {EXP_WIDE} {ZERO}\n");
    assert_eq!(fs::read_to_string(&seen).expect("user hook ran"), expected);
    assert!(remote_exp_refs(&sandbox, &fixture, "origin.git").contains(EXP_WIDE));

    // A failing user hook still stops the push, before any upload.
    fs::write(format!("{}.fail", seen.display()), "").expect("make the user hook fail");
    let lr01 = SEED_EXPERIMENTS[0].2;
    let output = sandbox.git_result(&project, &["push", "origin", lr01]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        !stderr(&output).contains("git-exp: uploaded"),
        "{}",
        stderr(&output)
    );
    assert!(!remote_exp_refs(&sandbox, &fixture, "origin.git").contains(lr01));
}

#[test]
fn hooks_path_is_honoured() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    sandbox.git(&project, &["config", "core.hooksPath", "shared-hooks"]);

    let install = sandbox.exp(&project, &["install"]);
    let dir = project.join("shared-hooks");
    assert!(
        stdout(&install).starts_with(&format!(
            "Hooks in {} (core.hooksPath, local config):",
            dir.display()
        )),
        "{}",
        stdout(&install)
    );
    for name in [
        "pre-push",
        "reference-transaction",
        "post-checkout",
        "post-merge",
    ] {
        assert!(dir.join(name).is_file(), "{name}");
        assert!(!project.join(".git/hooks").join(name).exists(), "{name}");
    }

    let output = sandbox.git(&project, &["push", "origin", EXP_WIDE]);
    assert!(
        stderr(&output).contains(&format!("git-exp: uploaded {EXP_WIDE_OBJECTS} objects")),
        "{}",
        stderr(&output)
    );
}

#[test]
fn linked_worktree_shares_hooks() {
    let sandbox = Sandbox::new();
    let fixture = seed_with_hooks(&sandbox);
    let project = fixture.join("project");
    push_seed_experiments(&sandbox, &project);

    // The worktree's own cache is empty, so post-checkout downloads what exp-wide needs.
    sandbox.git(
        &project,
        &["worktree", "add", "--quiet", "../linked", EXP_WIDE],
    );
    let linked = fixture.join("linked");
    assert_workspace_matches(&linked, &fixture.join("expected/b53a31b-exp-wide.md5"));

    let install = sandbox.exp(&linked, &["install"]);
    let out = stdout(&install);
    assert!(
        out.starts_with(&format!(
            "Hooks in {}:",
            project.join(".git/hooks").display()
        )),
        "{out}"
    );
    assert_eq!(lines_with(&out, "up to date").len(), 4, "{out}");

    let output = sandbox.git(&linked, &["checkout", "--quiet", SEED_EXPERIMENTS[3].2]);
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
    assert_workspace_matches(&linked, &fixture.join("expected/7030ed6-exp-units64.md5"));
}

#[test]
fn bare_repository_worktree_add_finishes() {
    let sandbox = Sandbox::new();
    let fixture = seed_with_hooks(&sandbox);
    push_seed_experiments(&sandbox, &fixture.join("project"));
    let origin = fixture.join("origin.git");
    let install = sandbox.exp(&origin, &["install"]);
    assert!(
        stdout(&install).starts_with(&format!("Hooks in {}:", origin.join("hooks").display())),
        "{}",
        stdout(&install)
    );

    let output = run_with_timeout(
        sandbox.command("git", &origin).args([
            "worktree",
            "add",
            "--quiet",
            "../from-bare",
            EXP_WIDE,
        ]),
        Duration::from_secs(30),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_workspace_matches(
        &fixture.join("from-bare"),
        &fixture.join("expected/b53a31b-exp-wide.md5"),
    );
}

#[test]
fn push_deleting_experiment_uploads_nothing() {
    let sandbox = Sandbox::new();
    let fixture = seed_with_hooks(&sandbox);
    let project = fixture.join("project");
    let storage = fixture.join("storage");
    push_seed_experiments(&sandbox, &project);
    // Storage that cannot be written proves that a delete needs no upload.
    block_storage(&storage);

    let output = sandbox.git(&project, &["push", "origin", &format!(":{EXP_WIDE}")]);
    assert!(!stderr(&output).contains("git-exp"), "{}", stderr(&output));
    assert!(!remote_exp_refs(&sandbox, &fixture, "origin.git").contains(EXP_WIDE));
    // The fetch refspec maps refs/exps/* onto itself, so git deletes the local ref as the
    // remote-tracking ref of the deleted remote one.
    let local = sandbox.git_result(&project, &["rev-parse", "--verify", "--quiet", EXP_WIDE]);
    assert_eq!(local.status.code(), Some(1));
    assert_eq!(remote_exp_refs(&sandbox, &fixture, "origin.git").len(), 3);
}

#[test]
fn push_of_3000_refs_uploads_once() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    let tip = sandbox.git_stdout(&project, &["rev-parse", EXP_WIDE]);

    // 3,000 commits on top of exp-wide with its tree, made by one fast-import run.
    let mut stream = String::new();
    for mark in 1..=3000 {
        stream.push_str(&format!(
            "commit refs/heads/bulk-scratch\nmark :{mark}\ncommitter T <t@example.com> 1767312000 +0000\ndata 10\nbulk {mark:04}\nfrom {tip}\n\n"
        ));
    }
    let marks = sandbox.path().join("marks");
    let mut import = sandbox.command("git", &project);
    import
        .args(["fast-import", "--quiet"])
        .arg(format!("--export-marks={}", marks.display()));
    succeed_with_input(&mut import, stream.as_bytes());
    let mut updates = String::new();
    for line in fs::read_to_string(&marks).expect("marks").lines() {
        let (mark, oid) = line.split_once(' ').expect("mark line");
        let number: u32 = mark.trim_start_matches(':').parse().expect("mark number");
        updates.push_str(&format!("create {FIRST_BASELINE}/bulk-{number:04} {oid}\n"));
    }
    succeed_with_input(
        sandbox
            .command("git", &project)
            .args(["update-ref", "--stdin"]),
        updates.as_bytes(),
    );
    sandbox.git(&project, &["update-ref", "-d", "refs/heads/bulk-scratch"]);
    sandbox.exp(&project, &["install"]);

    // A push to `origin` would also update the 3,000 local refs that the fetch refspec maps
    // the pushed ones to, with two reference-transaction hook runs each. Pushing to the URL
    // leaves that out, so the time measured is the pre-push hook's and git's.
    let start = Instant::now();
    let refspec = format!("{FIRST_BASELINE}/bulk-*:{FIRST_BASELINE}/bulk-*");
    let output = sandbox.git(&project, &["push", "../origin.git", &refspec]);
    let elapsed = start.elapsed();
    let err = stderr(&output);
    let uploads: Vec<String> = lines_with(&err, "git-exp: uploaded")
        .into_iter()
        .map(without_seconds)
        .collect();
    assert_eq!(
        uploads,
        vec![format!("git-exp: uploaded {EXP_WIDE_OBJECTS} objects (38182 bytes) to storage ({}), 0 already there", fixture.join("storage").display())],
        "{err}"
    );
    assert_eq!(
        files_under(&fixture.join("storage")).len(),
        EXP_WIDE_OBJECTS
    );
    let remote = remote_exp_refs(&sandbox, &fixture, "origin.git");
    assert_eq!(remote.len(), 3000);
    assert!(remote.contains(&format!("{FIRST_BASELINE}/bulk-0001")));
    assert!(remote.contains(&format!("{FIRST_BASELINE}/bulk-3000")));
    eprintln!("push of 3000 experiment refs with the hooks took {elapsed:?}");
}

#[test]
fn deleted_branch_data_is_uploaded_again() {
    let sandbox = Sandbox::new();
    let fixture = seed_with_hooks(&sandbox);
    let project = fixture.join("project");
    let storage = fixture.join("storage");
    let origin = fixture.join("origin.git");
    sandbox.git(&project, &["config", "exp.transferRefs", "refs/heads/*"]);
    sandbox.git(&project, &["branch", "wide", EXP_WIDE]);

    let first = sandbox.git(&project, &["push", "origin", "wide"]);
    let uploaded = lines_with(&stderr(&first), "git-exp: uploaded")
        .first()
        .map(|line| without_seconds(line))
        .unwrap_or_default();
    assert!(
        uploaded.starts_with("git-exp: uploaded "),
        "{}",
        stderr(&first)
    );
    let stored = files_under(&storage);
    assert!(!stored.is_empty());

    // The server loses the branch and the storage loses the data; refs/remotes/origin/wide
    // stays behind as a stale remote-tracking ref.
    sandbox.git(&origin, &["update-ref", "-d", "refs/heads/wide"]);
    fs::remove_dir_all(&storage).expect("empty storage");
    fs::create_dir(&storage).expect("storage dir");
    assert_eq!(
        sandbox.git_stdout(&project, &["rev-parse", "origin/wide"]),
        sandbox.git_stdout(&project, &["rev-parse", "wide"])
    );

    let second = sandbox.git(&project, &["push", "origin", "wide:refs/heads/renamed"]);
    let uploaded_again: Vec<String> = lines_with(&stderr(&second), "git-exp: uploaded")
        .into_iter()
        .map(without_seconds)
        .collect();
    assert_eq!(uploaded_again, vec![uploaded], "{}", stderr(&second));
    assert_eq!(files_under(&storage), stored);
}

#[test]
fn missing_binary_blocks_push_only() {
    let sandbox = Sandbox::new();
    let fixture = seed_with_hooks(&sandbox);
    let project = fixture.join("project");
    let path = path_without_git_exp();
    let git = |args: &[&str]| {
        run(sandbox
            .command("git", &project)
            .env("PATH", &path)
            .args(args))
    };

    let output = git(&["push", "origin", EXP_WIDE]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("error: pre-push: git-exp is not on PATH"),
        "{err}"
    );
    assert!(
        err.contains(
            "hint: install git-exp (./install.sh in the git-remote-exp sources), or delete"
        ),
        "{err}"
    );
    assert_eq!(
        remote_exp_refs(&sandbox, &fixture, "origin.git"),
        BTreeSet::new()
    );

    let output = git(&["checkout", "--quiet", EXP_WIDE]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        lines_with(
            &stderr(&output),
            "warning: post-checkout: git-exp is not on PATH"
        )
        .len(),
        1,
        "{}",
        stderr(&output)
    );

    let output = git(&["update-ref", &format!("{FIRST_BASELINE}/copy"), EXP_WIDE]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        lines_with(
            &stderr(&output),
            "warning: reference-transaction: git-exp is not on PATH"
        )
        .len(),
        1,
        "{}",
        stderr(&output)
    );

    git(&["checkout", "--quiet", "-b", "side", "main"]);
    git(&["commit", "--quiet", "--allow-empty", "-m", "side"]);
    git(&["checkout", "--quiet", "main"]);
    let output = git(&["merge", "--quiet", "--ff-only", "side"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        lines_with(
            &stderr(&output),
            "warning: post-merge: git-exp is not on PATH"
        )
        .len(),
        1,
        "{}",
        stderr(&output)
    );
}

#[test]
fn reference_transaction_starts_binary_only_for_experiments() {
    let sandbox = Sandbox::new();
    let fixture = seed_with_hooks(&sandbox);
    let project = fixture.join("project");

    // A git-exp first on PATH that records each start, then runs the real one.
    let wrapper_dir = sandbox.path().join("wrapper");
    fs::create_dir(&wrapper_dir).expect("wrapper dir");
    let starts = sandbox.path().join("starts");
    write_script(
        &wrapper_dir.join("git-exp"),
        &format!(
            "#!/bin/sh\necho \"$*\" >>'{}'\nexec '{}' \"$@\"\n",
            starts.display(),
            bin_dir().join("git-exp").display()
        ),
    );
    let path = format!("{}:{}", wrapper_dir.display(), path_with_binaries());
    let git = |args: &[&str]| {
        succeed(
            sandbox
                .command("git", &project)
                .env("PATH", &path)
                .args(args),
        )
    };
    let started = || {
        fs::read_to_string(&starts)
            .unwrap_or_default()
            .lines()
            .filter(|line| line.starts_with("hook reference-transaction"))
            .count()
    };

    git(&["commit", "--quiet", "--allow-empty", "-m", "empty"]);
    git(&["branch", "side"]);
    git(&["update-ref", "refs/heads/other", "HEAD"]);
    git(&["tag", "v1"]);
    git(&["update-ref", "refs/exps/exec/EXEC_HEAD", "HEAD"]);
    git(&["update-ref", "-d", SEED_EXPERIMENTS[0].2]);
    assert_eq!(
        started(),
        0,
        "{}",
        fs::read_to_string(&starts).unwrap_or_default()
    );

    git(&["update-ref", &format!("{FIRST_BASELINE}/copy"), EXP_WIDE]);
    assert_eq!(started(), 1);
    assert_eq!(
        fs::read_to_string(&starts).expect("starts").lines().last(),
        Some("hook reference-transaction committed")
    );

    // After a push, git updates the local refs that the fetch refspec maps the pushed ones
    // to. Their data came from this cache, so the binary does not start for them.
    git(&["push", "--quiet", "origin", EXP_WIDE, SEED_EXPERIMENTS[1].2]);
    assert_eq!(
        started(),
        1,
        "{}",
        fs::read_to_string(&starts).unwrap_or_default()
    );
}

/// Returns the harness's `PATH`, with the freshly built binaries first.
fn path_with_binaries() -> String {
    format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn skip_variable_turns_hooks_off() {
    let sandbox = Sandbox::new();
    let fixture = seed_with_hooks(&sandbox);
    let project = fixture.join("project");
    block_storage(&fixture.join("storage"));

    let output = succeed(
        sandbox
            .command("git", &project)
            .env("GIT_EXP_SKIP_HOOKS", "1")
            .args(["push", "origin", EXP_WIDE]),
    );
    assert!(!stderr(&output).contains("git-exp"), "{}", stderr(&output));
    assert!(remote_exp_refs(&sandbox, &fixture, "origin.git").contains(EXP_WIDE));

    // predictions.csv differs between main and exp-wide; with the hooks off it stays main's.
    let before = md5_of(&project.join("predictions.csv"));
    succeed(
        sandbox
            .command("git", &project)
            .env("GIT_EXP_SKIP_HOOKS", "1")
            .args(["checkout", "--quiet", EXP_WIDE]),
    );
    assert_eq!(md5_of(&project.join("predictions.csv")), before);

    let output = sandbox.git(&project, &["checkout", "--quiet", "main"]);
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
    sandbox.git(&project, &["checkout", "--quiet", EXP_WIDE]);
    assert_eq!(
        md5_of(&project.join("predictions.csv")),
        "ce226cd3bf1822244370a3f2fcccbbf5"
    );
}

#[test]
fn checkout_keeps_uncached_changes() {
    let sandbox = Sandbox::new();
    let fixture = seed_with_hooks(&sandbox);
    let project = fixture.join("project");
    let predictions = project.join("predictions.csv");
    fs::write(&predictions, "my own edits\n").expect("edit");

    let output = sandbox.git(&project, &["checkout", "--quiet", EXP_WIDE]);
    let err = stderr(&output);
    assert!(
        err.contains(
            "warning: git-exp: kept predictions.csv: has changes that are not in the cache"
        ),
        "{err}"
    );
    assert!(
        err.contains("hint: commit or `dvc add` your changes"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(&predictions).expect("read"),
        "my own edits\n"
    );
    // The other outputs of exp-wide were checked out.
    assert_eq!(
        md5_of(&project.join("model/weights.bin")),
        md5_listed(&fixture, "b53a31b-exp-wide", "model/weights.bin")
    );
}

/// Returns the hash that the DVC-made listing `expected/<list>.md5` records for `path`.
fn md5_listed(fixture: &Path, list: &str, path: &str) -> String {
    read_md5_list(&fixture.join(format!("expected/{list}.md5")))
        .into_iter()
        .find(|(listed, _)| listed == path)
        .map(|(_, hash)| hash)
        .unwrap_or_else(|| panic!("{path} is not in {list}.md5"))
}

#[test]
fn uninstall_restores_chained_hook() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    let hooks = project.join(".git/hooks");
    let user_hook = "#!/bin/sh\necho user post-merge\n";
    write_script(&hooks.join("post-merge"), user_hook);
    let fetch_before =
        sandbox.git_stdout(&project, &["config", "--get-all", "remote.origin.fetch"]);

    sandbox.exp(&project, &["install", "--push-experiments"]);
    sandbox.exp(&project, &["install", "--push-experiments"]);
    assert_eq!(
        fs::read_to_string(hooks.join("post-merge.before-git-exp")).expect("chained"),
        user_hook
    );
    assert_eq!(
        sandbox.git_stdout(&project, &["config", "--get-all", "remote.origin.fetch"]),
        format!("{fetch_before}\n+refs/exps/*:refs/exps/*\n^refs/exps/exec/*\n^refs/exps/apply/*\n^refs/exps/celery/*\n^refs/exps/temp/*\n^refs/exps/stash")
    );
    assert_eq!(
        sandbox.git_stdout(&project, &["config", "--get-all", "remote.origin.push"]),
        "HEAD\nrefs/exps/*:refs/exps/*\n^refs/exps/exec/*\n^refs/exps/apply/*\n^refs/exps/celery/*\n^refs/exps/temp/*\n^refs/exps/stash"
    );

    let output = sandbox.exp(&project, &["uninstall"]);
    let out = stdout(&output);
    assert!(
        out.contains("post-merge             removed; restored the hook from"),
        "{out}"
    );
    assert_eq!(
        fs::read_to_string(hooks.join("post-merge")).expect("restored"),
        user_hook
    );
    assert!(!hooks.join("post-merge.before-git-exp").exists());
    for name in ["pre-push", "reference-transaction", "post-checkout"] {
        assert!(!hooks.join(name).exists(), "{name}");
    }
    assert_eq!(
        sandbox.git_stdout(&project, &["config", "--get-all", "remote.origin.fetch"]),
        fetch_before
    );
    let push = sandbox.git_result(&project, &["config", "--get-all", "remote.origin.push"]);
    assert_eq!(push.status.code(), Some(1), "{}", stdout(&push));
    let marker = sandbox.git_result(
        &project,
        &["config", "--get", "remote.origin.gitExpPushHead"],
    );
    assert_eq!(marker.status.code(), Some(1));
}

#[test]
fn manual_install_leaves_foreign_hook() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    let hooks = project.join(".git/hooks");
    let user_hook = "#!/bin/sh\nexit 0\n";
    write_script(&hooks.join("pre-push"), user_hook);

    let output = sandbox.exp(&project, &["install", "--manual"]);
    let out = stdout(&output);
    assert!(
        out.contains("pre-push               left alone (--manual)"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "Add these lines to {}:",
            hooks.join("pre-push").display()
        )),
        "{out}"
    );
    assert!(
        out.contains("    git-exp hook pre-push \"$@\" || exit $?"),
        "{out}"
    );
    assert_eq!(
        fs::read_to_string(hooks.join("pre-push")).expect("user hook"),
        user_hook
    );
    assert!(!hooks.join("pre-push.before-git-exp").exists());
    assert!(hooks.join("post-checkout").is_file());

    // A foreign hook where the chained one already sits cannot be chained.
    write_script(&hooks.join("pre-push.before-git-exp"), user_hook);
    let output = sandbox.exp_result(&project, &["install"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("rerun with --manual"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn global_install_reaches_new_clones() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("pushed-by-dvc");
    let output = sandbox.exp(sandbox.path(), &["install", "--global"]);
    let template = sandbox.path().join("home/.config/git-exp/template");
    assert!(
        stdout(&output).starts_with(&format!(
            "Hooks in {} (template {}",
            template.join("hooks").display(),
            template.display()
        )),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        sandbox.git_stdout(sandbox.path(), &["config", "--global", "init.templateDir"]),
        template.display().to_string()
    );

    // The clone's post-checkout downloads main's data, which DVC pushed, and checks it out.
    let output = sandbox.git(&fixture, &["clone", "--quiet", "origin.git", "clone2"]);
    assert!(
        stderr(&output).contains("git-exp: downloaded"),
        "{}",
        stderr(&output)
    );
    let clone = fixture.join("clone2");
    for name in [
        "pre-push",
        "reference-transaction",
        "post-checkout",
        "post-merge",
    ] {
        let hook =
            fs::read_to_string(clone.join(".git/hooks").join(name)).expect("hook from template");
        assert!(hook.contains("# git-exp hook shim, version 1"), "{name}");
    }
    let status = sandbox.exp(&clone, &["checkout"]);
    assert!(
        stdout(&status).starts_with("0 files updated,"),
        "{}",
        stdout(&status)
    );
    assert!(
        stdout(&status).contains(", 0 kept, 0 missing"),
        "{}",
        stdout(&status)
    );

    let output = sandbox.exp(sandbox.path(), &["uninstall", "--global"]);
    assert!(
        stdout(&output).contains("Unset init.templateDir"),
        "{}",
        stdout(&output)
    );
    let unset = sandbox.git_result(sandbox.path(), &["config", "--global", "init.templateDir"]);
    assert_eq!(unset.status.code(), Some(1));
    assert!(!template.exists());
}

#[test]
fn force_install_replaces_foreign_hook() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    let hooks = project.join(".git/hooks");
    write_script(&hooks.join("post-checkout"), "#!/bin/sh\nexit 0\n");

    let output = sandbox.exp(&project, &["install", "--force"]);
    assert!(
        stdout(&output).contains("post-checkout          installed over the existing hook"),
        "{}",
        stdout(&output)
    );
    let hook = fs::read_to_string(hooks.join("post-checkout")).expect("hook");
    assert!(hook.contains("# git-exp hook shim, version 1"), "{hook}");
    assert!(!hooks.join("post-checkout.before-git-exp").exists());
}

#[test]
fn exported_git_dir_is_honoured() {
    let sandbox = Sandbox::new();
    let fixture = seed_with_hooks(&sandbox);
    let origin = fixture.join("origin.git");
    // The user's current directory is outside the repository, as git leaves it for hooks
    // when GIT_DIR and GIT_WORK_TREE are exported.
    let git = |args: &[&str]| {
        succeed(
            sandbox
                .command("git", sandbox.path())
                .env("GIT_DIR", "seed-project/project/.git")
                .env("GIT_WORK_TREE", "seed-project/project")
                .args(args),
        )
    };

    let output = git(&["push", &origin.display().to_string(), EXP_WIDE]);
    assert!(
        stderr(&output).contains(&format!("git-exp: uploaded {EXP_WIDE_OBJECTS} objects")),
        "{}",
        stderr(&output)
    );
    assert!(remote_exp_refs(&sandbox, &fixture, "origin.git").contains(EXP_WIDE));

    let output = git(&["checkout", "--quiet", EXP_WIDE]);
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
    assert_workspace_matches(
        &fixture.join("project"),
        &fixture.join("expected/b53a31b-exp-wide.md5"),
    );
    assert!(!sandbox.path().join("predictions.csv").exists());
}

#[test]
fn chained_reference_transaction_keeps_status() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    let seen = sandbox.path().join("seen-by-user-hook");
    write_script(
        &project.join(".git/hooks/reference-transaction"),
        &format!(
            "#!/bin/sh\necho \"$1\" >>'{0}'\ncat >>'{0}'\n[ \"$1\" != prepared ] || [ ! -e '{0}.fail' ]\n",
            seen.display()
        ),
    );
    sandbox.exp(&project, &["install"]);
    fs::remove_file(&seen).ok();

    let copy = format!("{FIRST_BASELINE}/copy");
    sandbox.git(&project, &["update-ref", &copy, EXP_WIDE]);
    let tip = sandbox.git_stdout(&project, &["rev-parse", EXP_WIDE]);
    let line = format!("{ZERO} {tip} {copy}\n");
    assert_eq!(
        fs::read_to_string(&seen).expect("user hook ran"),
        format!("prepared\n{line}committed\n{line}")
    );

    // The user's hook rejects the next update in state "prepared", which aborts it.
    fs::write(format!("{}.fail", seen.display()), "").expect("make the user hook fail");
    let again = format!("{FIRST_BASELINE}/again");
    let output = sandbox.git_result(&project, &["update-ref", &again, EXP_WIDE]);
    assert_eq!(output.status.code(), Some(128), "{}", stderr(&output));
    let exists = sandbox.git_result(&project, &["rev-parse", "--verify", "--quiet", &again]);
    assert_eq!(exists.status.code(), Some(1));
}

#[test]
fn failed_download_keeps_fetch_working() {
    let sandbox = Sandbox::new();
    let fixture = seed_with_hooks(&sandbox);
    push_seed_experiments(&sandbox, &fixture.join("project"));
    sandbox.git(&fixture, &["clone", "--quiet", "origin.git", "other"]);
    let other = fixture.join("other");
    sandbox.exp(&other, &["install"]);
    block_storage(&fixture.join("storage"));

    let output = sandbox.git(&other, &["fetch", "origin"]);
    let err = stderr(&output);
    assert!(
        err.contains("warning: git-exp: could not download"),
        "{err}"
    );
    assert!(
        err.contains("hint: the experiment refs were updated"),
        "{err}"
    );
    assert_eq!(
        sandbox
            .git_stdout(
                &other,
                &["for-each-ref", "--format=%(refname)", "refs/exps"]
            )
            .lines()
            .count(),
        4
    );
    assert_eq!(files_under(&other.join(".dvc/cache")), BTreeSet::new());
}

#[test]
fn helper_remotes_skip_pre_push() {
    let sandbox = Sandbox::new();
    let fixture = seed_with_hooks(&sandbox);
    let project = fixture.join("project");
    sandbox.git(&project, &["remote", "add", "share", "exp::../origin.git"]);
    sandbox.git(&project, &["remote", "add", "routed", "../origin.git"]);
    sandbox.git(&project, &["config", "remote.routed.vcs", "exp"]);

    let output = sandbox.git(&project, &["push", "share", EXP_WIDE]);
    let err = stderr(&output);
    assert!(err.contains("git-remote-exp: uploaded"), "{err}");
    assert!(!err.contains("git-exp: uploaded"), "{err}");

    let lr01 = SEED_EXPERIMENTS[0].2;
    let output = sandbox.git(&project, &["push", "routed", lr01]);
    let err = stderr(&output);
    assert!(err.contains("git-remote-exp: uploaded"), "{err}");
    assert!(!err.contains("git-exp: uploaded"), "{err}");
    assert!(remote_exp_refs(&sandbox, &fixture, "origin.git").contains(lr01));
}

#[test]
fn system_install_uses_its_template() {
    let sandbox = Sandbox::new();
    let template = sandbox.path().join("system-template");
    let config = sandbox.path().join("system-gitconfig");
    fs::write(
        &config,
        format!("[init]\n\ttemplateDir = {}\n", template.display()),
    )
    .expect("system config");
    let exp = |args: &[&str]| {
        succeed(
            sandbox
                .command("git-exp", sandbox.path())
                .env("GIT_CONFIG_SYSTEM", &config)
                .args(args),
        )
    };

    let output = exp(&["install", "--system"]);
    assert!(
        stdout(&output).starts_with(&format!(
            "Hooks in {} (template {}",
            template.join("hooks").display(),
            template.display()
        )),
        "{}",
        stdout(&output)
    );
    for name in [
        "pre-push",
        "reference-transaction",
        "post-checkout",
        "post-merge",
    ] {
        assert!(template.join("hooks").join(name).is_file(), "{name}");
    }

    // The template directory was the user's, so uninstall keeps the setting and the folder.
    let output = exp(&["uninstall", "--system"]);
    assert!(
        !stdout(&output).contains("Unset init.templateDir"),
        "{}",
        stdout(&output)
    );
    assert_eq!(files_under(&template), BTreeSet::new());
    assert!(template.join("hooks").is_dir());
    assert_eq!(
        fs::read_to_string(&config).expect("system config"),
        format!("[init]\n\ttemplateDir = {}\n", template.display())
    );
}
