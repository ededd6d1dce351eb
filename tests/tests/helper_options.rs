//! The helper honours git's push options, keeps its stdout for the protocol, never
//! recurses, and handles DVC 2 outputs in their own layout.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use exp_integration_tests::*;

const LR01: &str = "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-lr01";
const WIDE: &str = "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-wide";

/// The predictions.csv object only exp-wide references.
const WIDE_ONLY_OBJECT: &str = "files/md5/ce/226cd3bf1822244370a3f2fcccbbf5";

fn seed(sandbox: &Sandbox) -> (PathBuf, PathBuf) {
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    sandbox.git(&project, &["remote", "add", "share", "exp::../origin.git"]);
    (fixture, project)
}

fn remote_refs(sandbox: &Sandbox, fixture: &Path) -> BTreeSet<String> {
    sandbox
        .git_stdout(fixture, &["ls-remote", "origin.git", "refs/exps/*"])
        .lines()
        .map(|l| l.replace('\t', " "))
        .collect()
}

fn rev(sandbox: &Sandbox, project: &Path, spec: &str) -> String {
    sandbox.git_stdout(project, &["rev-parse", spec])
}

#[test]
fn dry_run_uploads_and_pushes_nothing() {
    let sandbox = Sandbox::new();
    let (fixture, project) = seed(&sandbox);

    let output = sandbox.git(
        &project,
        &["push", "--dry-run", "share", "refs/exps/*:refs/exps/*"],
    );
    assert!(
        stderr(&output).contains("[new reference]"),
        "{}",
        stderr(&output)
    );
    assert!(files_under(&fixture.join("storage")).is_empty());
    assert!(remote_refs(&sandbox, &fixture).is_empty());
}

#[test]
fn missing_object_rejects_only_its_ref() {
    let sandbox = Sandbox::new();
    let (fixture, project) = seed(&sandbox);
    let object = project.join(".dvc/cache").join(WIDE_ONLY_OBJECT);
    fs::remove_file(&object).expect("remove cache object");

    let output = sandbox.git_result(&project, &["push", "share", "refs/exps/*:refs/exps/*"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains(
            "data upload failed: missing predictions.csv (ce226cd3bf1822244370a3f2fcccbbf5)"
        ),
        "{err}"
    );
    let refs = remote_refs(&sandbox, &fixture);
    assert_eq!(refs.len(), 3, "{refs:?}");
    assert!(!refs.iter().any(|r| r.ends_with(WIDE)), "{refs:?}");
    assert!(!fixture.join("storage").join(WIDE_ONLY_OBJECT).exists());
}

#[test]
fn atomic_push_rejects_every_ref_when_one_lacks_data() {
    let sandbox = Sandbox::new();
    let (fixture, project) = seed(&sandbox);
    fs::remove_file(project.join(".dvc/cache").join(WIDE_ONLY_OBJECT))
        .expect("remove cache object");

    let output = sandbox.git_result(
        &project,
        &["push", "--atomic", "share", "refs/exps/*:refs/exps/*"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("atomic push failed"),
        "{}",
        stderr(&output)
    );
    assert!(remote_refs(&sandbox, &fixture).is_empty());
}

#[test]
fn force_and_lease_are_honoured() {
    let sandbox = Sandbox::new();
    let (fixture, project) = seed(&sandbox);
    sandbox.git(&project, &["push", "share", &format!("{LR01}:{LR01}")]);
    let lr01 = rev(&sandbox, &project, LR01);
    let wide = rev(&sandbox, &project, WIDE);

    // Moving exp-lr01 to exp-wide's commit is not a fast-forward.
    sandbox.git(&project, &["update-ref", LR01, &wide]);
    let output = sandbox.git_result(&project, &["push", "share", &format!("{LR01}:{LR01}")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("non-fast-forward"),
        "{}",
        stderr(&output)
    );

    let stale = format!("--force-with-lease={LR01}:{wide}");
    let output = sandbox.git_result(
        &project,
        &["push", &stale, "share", &format!("{LR01}:{LR01}")],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("stale info"),
        "{}",
        stderr(&output)
    );
    assert!(remote_refs(&sandbox, &fixture).contains(&format!("{lr01} {LR01}")));

    let fresh = format!("--force-with-lease={LR01}:{lr01}");
    sandbox.git(
        &project,
        &["push", &fresh, "share", &format!("{LR01}:{LR01}")],
    );
    assert!(remote_refs(&sandbox, &fixture).contains(&format!("{wide} {LR01}")));

    sandbox.git(&project, &["update-ref", LR01, &lr01]);
    let output = sandbox.git(&project, &["push", "share", &format!("+{LR01}:{LR01}")]);
    assert!(
        stderr(&output).contains("(forced update)"),
        "{}",
        stderr(&output)
    );
    assert!(remote_refs(&sandbox, &fixture).contains(&format!("{lr01} {LR01}")));
}

#[test]
fn delete_removes_ref_and_keeps_data() {
    let sandbox = Sandbox::new();
    let (fixture, project) = seed(&sandbox);
    sandbox.git(&project, &["push", "share", "refs/exps/*:refs/exps/*"]);
    let stored = files_under(&fixture.join("storage"));

    sandbox.git(&project, &["push", "share", &format!(":{WIDE}")]);
    let refs = remote_refs(&sandbox, &fixture);
    assert_eq!(refs.len(), 3);
    assert!(!refs.iter().any(|r| r.ends_with(WIDE)));
    assert_eq!(files_under(&fixture.join("storage")), stored);
}

#[test]
fn nested_exp_url_is_refused() {
    let sandbox = Sandbox::new();
    let (fixture, project) = seed(&sandbox);
    let output = sandbox.git_result(
        &project,
        &["push", "exp::exp::../origin.git", &format!("{LR01}:{LR01}")],
    );
    assert_ne!(output.status.code(), Some(0));
    assert!(
        stderr(&output).contains("is itself an exp:: URL"),
        "{}",
        stderr(&output)
    );
    assert!(remote_refs(&sandbox, &fixture).is_empty());
}

#[test]
fn user_pre_push_hook_runs_once() {
    let sandbox = Sandbox::new();
    let (_fixture, project) = seed(&sandbox);
    let counter = sandbox.path().join("pre-push-runs");
    let hook = project.join(".git/hooks/pre-push");
    fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho \"$1 $2\" >> '{}'\ncat >/dev/null\n",
            counter.display()
        ),
    )
    .expect("hook");
    fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");

    sandbox.git(&project, &["push", "share", &format!("{LR01}:{LR01}")]);
    assert_eq!(
        fs::read_to_string(&counter).expect("hook ran"),
        "share exp::../origin.git\n"
    );
}

#[test]
fn stdout_carries_only_the_protocol() {
    let sandbox = Sandbox::new();
    let (fixture, project) = seed(&sandbox);
    sandbox.git(&project, &["push", "share", "refs/exps/*:refs/exps/*"]);
    sandbox.git(
        &fixture.join("origin.git"),
        &["update-ref", "refs/exps/exec/EXEC_HEAD", "main"],
    );
    let main = rev(&sandbox, &project, "main");

    let mut child = sandbox
        .command("git-remote-exp", &project)
        .args(["share", "../origin.git"])
        .env("GIT_DIR", ".git")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start helper");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"capabilities\noption progress true\noption verbosity 1\nlist\n\n")
        .expect("write commands");
    let output = child.wait_with_output().expect("helper exits");
    assert!(output.status.success(), "{}", stderr(&output));

    let mut expected =
        String::from("fetch\npush\noption\nobject-format\n\nok\nok\n@refs/heads/main HEAD\n");
    for refname in [
        "refs/exps/70/30ed6e978329b3071754ce2e041241ccdfe8e0/exp-units64",
        "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-lr01",
        "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-units64",
        "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-wide",
    ] {
        expected.push_str(&format!("{} {refname}\n", rev(&sandbox, &project, refname)));
    }
    expected.push_str(&format!("{main} refs/heads/main\n\n"));
    assert_eq!(stdout(&output), expected);
}

#[test]
fn ls_remote_outside_a_repository_hides_internal_refs() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let origin = fixture.join("origin.git");
    sandbox.git(&origin, &["update-ref", "refs/exps/exec/EXEC_HEAD", "main"]);
    let outside = sandbox.path().join("outside");
    fs::create_dir(&outside).expect("dir");

    let url = format!("exp::{}", origin.display());
    let listing = sandbox.git_stdout(&outside, &["ls-remote", &url]);
    let names: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split('\t').nth(1))
        .collect();
    assert_eq!(names, vec!["HEAD", "refs/heads/main"]);
}

#[test]
fn legacy_outputs_use_the_root_layout() {
    let sandbox = Sandbox::new();
    let root = sandbox.path();
    sandbox.git(root, &["init", "-q", "--bare", "-b", "main", "origin.git"]);
    let repo = root.join("repo");
    fs::create_dir_all(repo.join(".dvc")).expect("repo");
    sandbox.git(&repo, &["init", "-q", "-b", "main"]);
    fs::write(
        repo.join(".dvc/config"),
        "[core]\n    remote = store\n['remote \"store\"']\n    url = ../../store\n",
    )
    .expect("config");
    fs::write(repo.join(".gitignore"), "/legacy.txt\n/.dvc/cache\n").expect("gitignore");
    sandbox.git(&repo, &["add", "."]);
    sandbox.git(&repo, &["commit", "-q", "-m", "baseline"]);
    let baseline = rev(&sandbox, &repo, "HEAD");

    // A DVC 2 output: CRLF text hashed with md5-dos2unix, cached at the root layout.
    let content = b"l1\r\nl2\r\n";
    fs::write(repo.join("legacy.txt"), content).expect("legacy file");
    let object = repo.join(".dvc/cache/a8/be9e797e0f7e75b498d90413d9a7ad");
    fs::create_dir_all(object.parent().expect("parent")).expect("cache dir");
    fs::write(&object, content).expect("cache object");
    fs::write(
        repo.join("legacy.txt.dvc"),
        "outs:\n- md5: a8be9e797e0f7e75b498d90413d9a7ad\n  size: 8\n  path: legacy.txt\n",
    )
    .expect("dvc file");
    sandbox.git(&repo, &["add", "legacy.txt.dvc"]);
    sandbox.git(&repo, &["commit", "-q", "-m", "legacy experiment"]);
    let exp_ref = format!("refs/exps/{}/{}/legacy", &baseline[..2], &baseline[2..]);
    sandbox.git(&repo, &["update-ref", &exp_ref, "HEAD"]);

    sandbox.git(
        &repo,
        &[
            "push",
            "exp::../origin.git",
            "main",
            &format!("{exp_ref}:{exp_ref}"),
        ],
    );
    let stored = files_under(&root.join("store"));
    assert_eq!(
        stored,
        BTreeSet::from(["a8/be9e797e0f7e75b498d90413d9a7ad".to_owned()])
    );

    let url = format!("exp::{}", root.join("origin.git").display());
    sandbox.git(root, &["clone", "-q", &url, "clone"]);
    let clone = root.join("clone");
    let output = sandbox.git(&clone, &["fetch", "origin", "+refs/exps/*:refs/exps/*"]);
    assert!(
        clone
            .join(".dvc/cache/a8/be9e797e0f7e75b498d90413d9a7ad")
            .is_file(),
        "{}",
        stderr(&output)
    );
    sandbox.git(&clone, &["checkout", "-q", &exp_ref]);
    sandbox.exp(&clone, &["checkout"]);
    assert_eq!(
        fs::read(clone.join("legacy.txt")).expect("checked out"),
        content
    );
}
