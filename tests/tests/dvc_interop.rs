//! Interoperability with real DVC 3 in both directions: what one side pushes, the other
//! pulls and materialises, with nothing missing and nothing recomputed.
//!
//! DVC resolves a relative storage URL in a committed `.dvc/config` against the root of
//! the Git tree when it reads a revision other than the workspace (`exp pull`, `exp push`),
//! so the DVC side of these tests names the storage by absolute path in `config.local`.

use std::path::Path;

use exp_integration_tests::*;

const LR01: &str = "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-lr01";
const WIDE: &str = "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-wide";

/// Points DVC's `storage` remote at `storage` by absolute path, in `.dvc/config.local`.
fn use_absolute_storage(sandbox: &Sandbox, project: &Path, storage: &Path) {
    let storage = storage.to_str().expect("utf-8 path");
    sandbox.dvc(project, &["remote", "add", "--local", "-d", "-f", "storage", storage]);
}

#[test]
fn our_push_then_dvc_exp_pull_and_apply() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    sandbox.git(&project, &["remote", "add", "share", "exp::../origin.git"]);
    sandbox.git(&project, &["push", "share", "refs/exps/*:refs/exps/*"]);

    sandbox.git(&fixture, &["clone", "-q", "origin.git", "dvc-clone"]);
    let clone = fixture.join("dvc-clone");
    use_absolute_storage(&sandbox, &clone, &fixture.join("storage"));

    let output = sandbox.dvc(&clone, &["exp", "pull", "origin", "exp-lr01"]);
    assert_eq!(stdout(&output).trim(), "Pulled experiment '['exp-lr01']' from Git remote 'origin'.");
    sandbox.dvc(&clone, &["exp", "apply", "exp-lr01"]);
    assert_workspace_matches(&clone, &fixture.join("expected/b53a31b-exp-lr01.md5"));

    let status = sandbox.dvc(&clone, &["status", "-c"]);
    assert_eq!(stdout(&status).trim(), "Cache and remote 'storage' are in sync.");
    assert!(!stderr(&status).contains("Missing cache files"), "{}", stderr(&status));
}

#[test]
fn dvc_exp_push_then_our_fetch_and_checkout() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    let storage = fixture.join("storage");
    use_absolute_storage(&sandbox, &project, &storage);

    sandbox.dvc(&project, &["exp", "push", "origin", "exp-wide"]);
    let remote = sandbox.git_stdout(&fixture, &["ls-remote", "origin.git", "refs/exps/*"]);
    assert!(remote.ends_with(WIDE), "{remote}");

    let url = format!("exp::{}", fixture.join("origin.git").display());
    sandbox.git(&fixture, &["clone", "-q", &url, "our-clone"]);
    let clone = fixture.join("our-clone");
    let output = sandbox.git(&clone, &["fetch", "origin", "+refs/exps/*:refs/exps/*"]);
    assert!(stderr(&output).contains("downloaded"), "{}", stderr(&output));
    sandbox.git(&clone, &["checkout", "-q", WIDE]);
    sandbox.exp(&clone, &["checkout"]);
    assert_workspace_matches(&clone, &fixture.join("expected/b53a31b-exp-wide.md5"));
}

#[test]
fn our_storage_layout_is_trusted_by_dvc() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    sandbox.git(&project, &["remote", "add", "share", "exp::../origin.git"]);
    sandbox.git(&project, &["push", "share", &format!("{LR01}:{LR01}")]);

    // A fresh clone fetched by us, then checked by DVC: objects in place, workspace clean.
    let url = format!("exp::{}", fixture.join("origin.git").display());
    sandbox.git(&fixture, &["clone", "-q", &url, "clone"]);
    let clone = fixture.join("clone");
    sandbox.git(&clone, &["fetch", "origin", "+refs/exps/*:refs/exps/*"]);
    sandbox.git(&clone, &["checkout", "-q", LR01]);
    sandbox.exp(&clone, &["checkout"]);

    let status = sandbox.dvc(&clone, &["status"]);
    assert_eq!(stdout(&status).trim(), "Data and pipelines are up to date.");
    let data = sandbox.dvc(&clone, &["data", "status", "--json"]);
    let json: String = stdout(&data).split_whitespace().collect();
    assert_eq!(json, "{}", "dvc data status: {}", stdout(&data));
    use_absolute_storage(&sandbox, &clone, &fixture.join("storage"));
    let cloud = sandbox.dvc(&clone, &["status", "-c"]);
    assert_eq!(stdout(&cloud).trim(), "Cache and remote 'storage' are in sync.");

    for file in files_under(&clone.join(".dvc/cache")) {
        let path = clone.join(".dvc/cache").join(&file);
        assert_eq!(mode(&path), 0o444, "{file}");
    }
}
