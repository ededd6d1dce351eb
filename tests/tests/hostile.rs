//! Hostile and malformed input: each case gets one clear error naming the file and the
//! problem, a non-zero exit, and nothing written outside the workspace.

use std::fs;
use std::path::{Path, PathBuf};

use exp_integration_tests::*;

const CONFIG: &str = "[core]\n    remote = store\n['remote \"store\"']\n    url = ../../store\n";

/// Creates a repository whose single commit contains `files`, with a default storage beside it.
fn repo_with(sandbox: &Sandbox, files: &[(&str, &[u8])]) -> PathBuf {
    let repo = sandbox.path().join("repo");
    fs::create_dir_all(repo.join(".dvc")).expect("repo");
    sandbox.git(&repo, &["init", "-q", "-b", "main"]);
    fs::write(repo.join(".dvc/config"), CONFIG).expect("config");
    for (path, bytes) in files {
        let file = repo.join(path);
        fs::create_dir_all(file.parent().expect("parent")).expect("dirs");
        fs::write(file, bytes).expect("file");
    }
    sandbox.git(&repo, &["add", "-A"]);
    sandbox.git(&repo, &["commit", "-q", "-m", "hostile"]);
    repo
}

/// Runs `git exp checkout` and asserts it fails with every fragment in its stderr.
fn assert_checkout_fails(sandbox: &Sandbox, repo: &Path, fragments: &[&str]) {
    let before = files_under(sandbox.path());
    let output = sandbox.exp_result(repo, &["checkout"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    for fragment in fragments {
        assert!(err.contains(fragment), "expected {fragment:?} in:\n{err}");
    }
    assert_eq!(
        err.lines().filter(|l| l.starts_with("git exp:")).count(),
        1,
        "{err}"
    );
    let after = files_under(sandbox.path());
    let created: Vec<&String> = after.difference(&before).collect();
    assert!(created.is_empty(), "files created: {created:?}");
}

#[test]
fn malformed_lock_names_the_file() {
    let sandbox = Sandbox::new();
    let repo = repo_with(&sandbox, &[("dvc.lock", b"schema: '2.0'\nstages:\n  train:\n    outs:\n    - path: model\n      md5: [not, a, string]\n")]);
    assert_checkout_fails(&sandbox, &repo, &["dvc.lock"]);
}

#[test]
fn wrong_schema_is_rejected() {
    let sandbox = Sandbox::new();
    let repo = repo_with(&sandbox, &[("dvc.lock", b"schema: '1.0'\nstages: {}\n")]);
    assert_checkout_fails(&sandbox, &repo, &["dvc.lock", "1.0"]);
}

#[test]
fn bad_hashes_are_rejected() {
    for (case, hash) in [
        ("short", "abc123"),
        ("not hex", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"),
        ("too long", "b1946ac92492d2347c6235b4d2611184ff"),
    ] {
        let sandbox = Sandbox::new();
        let dvc_file = format!("outs:\n- md5: {hash}\n  size: 6\n  hash: md5\n  path: foo.txt\n");
        let repo = repo_with(&sandbox, &[("foo.txt.dvc", dvc_file.as_bytes())]);
        let output = sandbox.exp_result(&repo, &["checkout"]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{case}: {err}");
        assert!(err.contains("foo.txt.dvc"), "{case}: {err}");
        assert!(err.contains(hash), "{case}: {err}");
        assert!(!repo.join("foo.txt").exists(), "{case}");
    }
}

#[test]
fn unsafe_output_paths_are_rejected() {
    for (case, path) in [
        ("parent", "../escape.txt"),
        ("deep parent", "a/../../escape.txt"),
        ("absolute", "/tmp/escape.txt"),
        ("git dir", ".git/hooks/pre-commit"),
        ("backslash", "a\\\\b.txt"),
    ] {
        let sandbox = Sandbox::new();
        let dvc_file = format!("outs:\n- md5: b1946ac92492d2347c6235b4d2611184\n  size: 6\n  hash: md5\n  path: \"{path}\"\n");
        let repo = repo_with(&sandbox, &[("x.dvc", dvc_file.as_bytes())]);
        let output = sandbox.exp_result(&repo, &["checkout"]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{case}: {err}");
        assert!(err.contains("x.dvc"), "{case}: {err}");
        assert!(!sandbox.path().join("escape.txt").exists(), "{case}");
        assert!(!repo.join(".git/hooks/pre-commit").exists(), "{case}");
    }
}

#[test]
fn symlinked_output_directory_is_not_written_through() {
    let sandbox = Sandbox::new();
    let outside = sandbox.path().join("outside");
    fs::create_dir_all(&outside).expect("outside dir");

    // A real object in the cache for data/foo.txt, but data/ is a symlink out of the repo.
    let repo = repo_with(
        &sandbox,
        &[("data/foo.txt.dvc", b"outs:\n- md5: b1946ac92492d2347c6235b4d2611184\n  size: 6\n  hash: md5\n  path: foo.txt\n")],
    );
    let object = repo.join(".dvc/cache/files/md5/b1/946ac92492d2347c6235b4d2611184");
    fs::create_dir_all(object.parent().expect("parent")).expect("cache dir");
    fs::write(&object, "hello\n").expect("object");
    fs::remove_dir_all(repo.join("data")).expect("remove data");
    std::os::unix::fs::symlink(&outside, repo.join("data")).expect("symlink");

    let output = sandbox.exp_result(&repo, &["checkout"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("data"), "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert!(!outside.join("foo.txt").exists());
}

#[test]
fn malformed_config_names_file_and_line() {
    let sandbox = Sandbox::new();
    let repo = repo_with(&sandbox, &[]);
    fs::write(repo.join(".dvc/config"), "[core\n    remote = store\n").expect("config");
    let output = sandbox.exp_result(&repo, &["checkout"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains(".dvc/config:1"), "{err}");
}

#[test]
fn million_entry_manifest_with_bad_last_path() {
    let sandbox = Sandbox::new();
    // A million members whose very last path escapes the output: the whole manifest is
    // read, the path is rejected, and nothing is written for any member.
    let mut manifest = String::with_capacity(80_000_000);
    manifest.push('[');
    for index in 0..1_000_000u32 {
        if index > 0 {
            manifest.push_str(", ");
        }
        let relpath = if index == 999_999 {
            "../escape".to_owned()
        } else {
            format!("f{index:07}")
        };
        manifest.push_str(&format!(
            "{{\"md5\": \"{:032x}\", \"relpath\": \"{relpath}\"}}",
            index + 1
        ));
    }
    manifest.push(']');
    let manifest_file = sandbox.path().join("manifest.json");
    fs::write(&manifest_file, &manifest).expect("manifest");
    let id = md5_of(&manifest_file);

    let dvc_file =
        format!("outs:\n- md5: {id}.dir\n  size: 1\n  nfiles: 1000000\n  hash: md5\n  path: big\n");
    let repo = repo_with(&sandbox, &[("big.dvc", dvc_file.as_bytes())]);
    let object = repo.join(format!(
        ".dvc/cache/files/md5/{}/{}.dir",
        &id[..2],
        &id[2..]
    ));
    fs::create_dir_all(object.parent().expect("parent")).expect("cache dir");
    fs::copy(&manifest_file, &object).expect("manifest object");
    fs::remove_file(&manifest_file).expect("remove scratch manifest");

    assert_checkout_fails(&sandbox, &repo, &["../escape", &id]);
    assert!(!repo.join("big").exists());
    assert!(!sandbox.path().join("escape").exists());
}

#[test]
fn invalid_experiment_ref_is_rejected_on_push() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    let output = sandbox.git_result(
        &project,
        &[
            "push",
            "exp::../origin.git",
            "HEAD:refs/exps/zz/not-a-baseline/exp",
        ],
    );
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("invalid experiment ref"), "{err}");
    let remote = sandbox.git_stdout(&fixture, &["ls-remote", "origin.git", "refs/exps/*"]);
    assert_eq!(remote, "");
}

#[test]
fn unusual_experiment_names_round_trip() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    let baseline = "b53a31b91a80a1abc86d6fe6173d561a53b2dd76";
    let name = "ünïcode+#%,@exp";
    let refname = format!("refs/exps/b5/{}/{name}", &baseline[2..]);
    sandbox.git(
        &project,
        &[
            "update-ref",
            &refname,
            "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-lr01",
        ],
    );
    sandbox.git(
        &project,
        &[
            "push",
            "exp::../origin.git",
            &format!("{refname}:{refname}"),
        ],
    );
    let remote = sandbox.git_stdout(&fixture, &["ls-remote", "origin.git", "refs/exps/*"]);
    assert!(remote.ends_with(&refname), "{remote}");
    // exp-lr01 needs data/raw (a .dir and 12 members), data/labels.txt, model (a .dir and 4
    // members) and predictions.csv.
    assert_eq!(files_under(&fixture.join("storage")).len(), 20);
}
