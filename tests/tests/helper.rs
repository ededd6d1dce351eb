//! Plain `git push` and `git fetch` through an `exp::` remote, on repositories made by DVC.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use exp_integration_tests::*;

fn expected_storage_files(fixture: &Path) -> BTreeSet<String> {
    fs::read_to_string(fixture.join("expected/dvc-exp-push-all.txt"))
        .expect("expected list")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim_start_matches("./").to_owned())
        .collect()
}

fn remote_exp_refs(sandbox: &Sandbox, cwd: &Path, url: &str) -> BTreeSet<String> {
    sandbox
        .git_stdout(cwd, &["ls-remote", url, "refs/exps/*"])
        .lines()
        .filter_map(|l| l.split_once('\t').map(|(_, name)| name.to_owned()))
        .collect()
}

/// Pushes every experiment of seed-project through `exp::../origin.git`.
fn push_seed_experiments(sandbox: &Sandbox) -> std::path::PathBuf {
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    sandbox.git(&project, &["remote", "add", "share", "exp::../origin.git"]);
    sandbox.git(&project, &["push", "share", "refs/exps/*:refs/exps/*"]);
    fixture
}

#[test]
fn push_all_stores_what_dvc_stores() {
    let sandbox = Sandbox::new();
    let fixture = push_seed_experiments(&sandbox);
    let storage = fixture.join("storage");

    assert_eq!(files_under(&storage), expected_storage_files(&fixture));
    for file in files_under(&storage) {
        assert_eq!(mode(&storage.join(&file)), 0o444, "{file}");
    }

    let refs = remote_exp_refs(&sandbox, &fixture, "origin.git");
    let expected: BTreeSet<String> = SEED_EXPERIMENTS
        .iter()
        .map(|(_, _, r)| r.to_string())
        .collect();
    assert_eq!(refs, expected, "internal refs must not be pushed");
}

#[test]
fn second_push_uploads_nothing() {
    let sandbox = Sandbox::new();
    let fixture = push_seed_experiments(&sandbox);
    let project = fixture.join("project");
    let storage = fixture.join("storage");
    let before: Vec<(String, std::time::SystemTime)> = files_under(&storage)
        .into_iter()
        .map(|f| {
            let modified = fs::metadata(storage.join(&f))
                .and_then(|m| m.modified())
                .expect("mtime");
            (f, modified)
        })
        .collect();

    let output = sandbox.git(&project, &["push", "share", "refs/exps/*:refs/exps/*"]);
    assert!(
        stderr(&output).contains("Everything up-to-date"),
        "{}",
        stderr(&output)
    );
    let after: Vec<(String, std::time::SystemTime)> = files_under(&storage)
        .into_iter()
        .map(|f| {
            let modified = fs::metadata(storage.join(&f))
                .and_then(|m| m.modified())
                .expect("mtime");
            (f, modified)
        })
        .collect();
    assert_eq!(before, after);
}

#[test]
fn clone_fetch_checkout_matches_dvc() {
    let sandbox = Sandbox::new();
    let fixture = push_seed_experiments(&sandbox);
    let origin = fixture.join("origin.git");
    let url = format!("exp::{}", origin.display());
    sandbox.git(&fixture, &["clone", &url, "clone2"]);
    let clone = fixture.join("clone2");

    let output = sandbox.git(&clone, &["fetch", "origin", "+refs/exps/*:refs/exps/*"]);
    let storage = fixture.join("storage");
    let stored_bytes: u64 = files_under(&storage)
        .iter()
        .map(|file| {
            fs::metadata(storage.join(file))
                .expect("stored object")
                .len()
        })
        .sum();
    let summaries: Vec<String> = stderr(&output)
        .lines()
        .filter(|line| line.contains("downloaded"))
        .map(without_seconds)
        .collect();
    assert_eq!(
        summaries,
        [format!(
            "git-remote-exp: downloaded 31 objects ({stored_bytes} bytes) of 4 experiments from storage ({})",
            storage.display()
        )]
    );

    for (baseline, name, refname) in SEED_EXPERIMENTS {
        sandbox.git(&clone, &["checkout", "--quiet", refname]);
        let output = sandbox.exp(&clone, &["checkout"]);
        assert!(
            stdout(&output).contains("0 kept, 0 missing"),
            "{}",
            stdout(&output)
        );
        assert_workspace_matches(
            &clone,
            &fixture.join(format!("expected/{baseline}-{name}.md5")),
        );
    }
}

#[test]
fn fetch_from_storage_pushed_by_dvc() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("pushed-by-dvc");
    let url = format!("exp::{}", fixture.join("origin.git").display());
    sandbox.git(&fixture, &["clone", &url, "clone2"]);
    let clone = fixture.join("clone2");
    sandbox.git(&clone, &["fetch", "origin", "+refs/exps/*:refs/exps/*"]);

    for name in ["exp-big", "exp-fast"] {
        let refname = format!("refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/{name}");
        sandbox.git(&clone, &["checkout", "--quiet", &refname]);
        sandbox.exp(&clone, &["checkout"]);
        assert_workspace_matches(&clone, &fixture.join(format!("expected/{name}.md5")));
    }
}

#[test]
fn unwritable_storage_blocks_refs_until_fixed() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    let storage = fixture.join("storage");
    // A file where the storage folder should be cannot be written to, even by root.
    fs::remove_dir_all(&storage).expect("remove storage");
    fs::write(&storage, "not a folder").expect("block storage");

    sandbox.git(&project, &["remote", "add", "share", "exp::../origin.git"]);
    let output = sandbox.git_result(&project, &["push", "share", "refs/exps/*:refs/exps/*"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("[remote rejected]"), "{err}");
    assert!(err.contains("data upload failed"), "{err}");
    assert!(remote_exp_refs(&sandbox, &fixture, "origin.git").is_empty());

    fs::remove_file(&storage).expect("unblock storage");
    fs::create_dir(&storage).expect("storage dir");
    sandbox.git(&project, &["push", "share", "refs/exps/*:refs/exps/*"]);
    assert_eq!(remote_exp_refs(&sandbox, &fixture, "origin.git").len(), 4);
    assert_eq!(files_under(&storage), expected_storage_files(&fixture));
}

#[test]
fn corrupt_storage_object_never_enters_cache() {
    let sandbox = Sandbox::new();
    let fixture = push_seed_experiments(&sandbox);
    let storage = fixture.join("storage");
    // predictions.csv of b53a31b/exp-wide; flip every byte, keep the length.
    let object = storage.join("files/md5/ce/226cd3bf1822244370a3f2fcccbbf5");
    let mut bytes = fs::read(&object).expect("object");
    for byte in &mut bytes {
        *byte ^= 0x20;
    }
    fs::set_permissions(&object, std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .expect("chmod");
    fs::write(&object, &bytes).expect("corrupt");

    let url = format!("exp::{}", fixture.join("origin.git").display());
    sandbox.git(&fixture, &["clone", &url, "clone2"]);
    let clone = fixture.join("clone2");
    let output = sandbox.git(&clone, &["fetch", "origin", "+refs/exps/*:refs/exps/*"]);
    let err = stderr(&output);
    assert!(err.contains("ce226cd3bf1822244370a3f2fcccbbf5"), "{err}");
    let cached = clone.join(".dvc/cache/files/md5/ce/226cd3bf1822244370a3f2fcccbbf5");
    assert!(!cached.exists(), "corrupt object entered the cache");

    sandbox.git(
        &clone,
        &[
            "checkout",
            "--quiet",
            "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-wide",
        ],
    );
    let output = sandbox.exp_result(&clone, &["checkout"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("ce226cd3bf1822244370a3f2fcccbbf5"),
        "{}",
        stderr(&output)
    );
    assert!(!clone.join("predictions.csv").exists());
    assert!(!cached.exists());
}

#[test]
fn edited_output_is_kept_by_checkout() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    let predictions = project.join("predictions.csv");
    fs::write(&predictions, "my own edits\n").expect("edit");

    let output = sandbox.exp_result(&project, &["checkout"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("kept predictions.csv"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(
        fs::read_to_string(&predictions).expect("read"),
        "my own edits\n"
    );

    sandbox.exp(&project, &["checkout", "--force"]);
    // The hash dvc.lock of main records for predictions.csv.
    assert_eq!(md5_of(&predictions), "57b49df475d0aab720d8806bffe9811c");
}

#[test]
fn manifest_with_parent_path_is_rejected() {
    let sandbox = Sandbox::new();
    let repo = sandbox.path().join("repo");
    fs::create_dir_all(repo.join(".dvc")).expect("repo");
    sandbox.git(&repo, &["init", "-q", "-b", "main"]);
    fs::write(
        repo.join(".dvc/config"),
        "[core]\n    remote = store\n['remote \"store\"']\n    url = ../../store\n",
    )
    .expect("config");

    // A member object and a manifest that places it outside the output directory.
    let store = sandbox.path().join("store");
    let payload = b"pwned\n";
    let member_md5 = {
        let file = sandbox.path().join("payload");
        fs::write(&file, payload).expect("payload");
        md5_of(&file)
    };
    let member_path = store.join(format!(
        "files/md5/{}/{}",
        &member_md5[..2],
        &member_md5[2..]
    ));
    fs::create_dir_all(member_path.parent().expect("parent")).expect("dir");
    fs::write(&member_path, payload).expect("member");
    let manifest = format!(r#"[{{"md5": "{member_md5}", "relpath": "../evil.txt"}}]"#);
    let manifest_md5 = {
        let file = sandbox.path().join("manifest");
        fs::write(&file, &manifest).expect("manifest");
        md5_of(&file)
    };
    let manifest_path = store.join(format!(
        "files/md5/{}/{}.dir",
        &manifest_md5[..2],
        &manifest_md5[2..]
    ));
    fs::create_dir_all(manifest_path.parent().expect("parent")).expect("dir");
    fs::write(&manifest_path, &manifest).expect("manifest object");

    fs::write(
        repo.join("data.dvc"),
        format!(
            "outs:\n- md5: {manifest_md5}.dir\n  size: 6\n  nfiles: 1\n  hash: md5\n  path: data\n"
        ),
    )
    .expect("dvc file");
    sandbox.git(&repo, &["add", "."]);
    sandbox.git(&repo, &["commit", "-q", "-m", "hostile manifest"]);

    let output = sandbox.exp_result(&repo, &["checkout"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("../evil.txt"), "{err}");
    assert!(!repo.join("evil.txt").exists());
    assert!(!sandbox.path().join("evil.txt").exists());
    assert!(!repo.join("data").exists());
}

#[test]
fn example_script_runs_end_to_end() {
    let sandbox = Sandbox::new();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/two-experiments.sh");
    let output = succeed(
        sandbox
            .command("bash", sandbox.path())
            .arg(script)
            .env("TMPDIR", sandbox.path())
            .env("PREFIX", sandbox.path().join("no-install")),
    );
    let out = stdout(&output);
    assert!(out.contains("storage now holds 9 objects"), "{out}");
    assert!(out.contains("the clone's cache holds 9 objects"), "{out}");
    assert!(
        out.contains("model/weights.bin: weights for lr=0.1"),
        "{out}"
    );
    assert!(
        stderr(&output).contains("downloaded 9 objects"),
        "{}",
        stderr(&output)
    );
}
