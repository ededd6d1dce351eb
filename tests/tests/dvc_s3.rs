//! Interoperability with real DVC over S3, and DVC's pushes picked up through the hooks.
//!
//! DVC's pushes go to s3s-fs, which checks request signatures. DVC's pulls run against
//! moto: DVC sends a HEAD request for the `files/md5` prefix itself, and s3s-fs replies
//! 500 to it because the prefix is a folder on its disk. S3 replies 404.

use std::fs;
use std::path::Path;

use exp_integration_tests::servers::{self, Server};
use exp_integration_tests::*;

const WIDE: &str = "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-wide";

/// Makes `s3store` the default storage of `project` for both tools, in `config.local`.
fn use_s3(sandbox: &Sandbox, project: &Path, server: &Server, prefix: &str) {
    let url = format!("s3://{}/{prefix}", servers::BUCKET);
    let endpoint = format!("http://127.0.0.1:{}", server.port);
    sandbox.dvc(
        project,
        &["remote", "add", "--local", "-d", "-f", "s3store", &url],
    );
    for (option, value) in [
        ("endpointurl", endpoint.as_str()),
        ("region", "us-east-1"),
        ("access_key_id", servers::S3_KEY),
        ("secret_access_key", servers::S3_SECRET),
    ] {
        sandbox.dvc(
            project,
            &["remote", "modify", "--local", "s3store", option, value],
        );
    }
}

fn stored(server: &Server, prefix: &str) -> std::collections::BTreeSet<String> {
    files_under(&server.root.join(servers::BUCKET).join(prefix))
}

#[test]
fn our_s3_push_is_pulled_by_dvc() {
    let server = servers::moto();
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    use_s3(&sandbox, &project, server, "ours-to-dvc");
    sandbox.git(&project, &["remote", "add", "share", "exp::../origin.git"]);
    sandbox.git(&project, &["push", "share", "refs/exps/*:refs/exps/*"]);

    let expected: std::collections::BTreeSet<String> =
        fs::read_to_string(fixture.join("expected/dvc-exp-push-all.txt"))
            .expect("expected list")
            .lines()
            .map(|l| l.trim_start_matches("./").to_owned())
            .collect();
    let keys: std::collections::BTreeSet<String> = servers::moto_keys(server.port)
        .into_iter()
        .filter_map(|key| key.strip_prefix("ours-to-dvc/").map(str::to_owned))
        .collect();
    assert_eq!(keys, expected);

    sandbox.git(&fixture, &["clone", "-q", "origin.git", "dvc-clone"]);
    let clone = fixture.join("dvc-clone");
    use_s3(&sandbox, &clone, server, "ours-to-dvc");
    sandbox.dvc(&clone, &["exp", "pull", "origin", "exp-wide"]);
    sandbox.dvc(&clone, &["exp", "apply", "exp-wide"]);
    assert_workspace_matches(&clone, &fixture.join("expected/b53a31b-exp-wide.md5"));
    let status = sandbox.dvc(&clone, &["status", "-c"]);
    assert_eq!(
        stdout(&status).trim(),
        "Cache and remote 's3store' are in sync."
    );
}

#[test]
fn dvc_s3_push_is_pulled_by_us() {
    let server = servers::s3s_fs();
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    use_s3(&sandbox, &project, server, "dvc-to-ours");
    sandbox.dvc(&project, &["exp", "push", "origin", "exp-wide"]);
    assert!(!stored(server, "dvc-to-ours").is_empty());

    // git exp pull and apply.
    sandbox.git(&fixture, &["clone", "-q", "origin.git", "pull-clone"]);
    let clone = fixture.join("pull-clone");
    use_s3(&sandbox, &clone, server, "dvc-to-ours");
    sandbox.exp(&clone, &["pull", "origin", "exp-wide"]);
    sandbox.exp(&clone, &["apply", "exp-wide"]);
    assert_workspace_matches(&clone, &fixture.join("expected/b53a31b-exp-wide.md5"));

    // The helper's fetch.
    let url = format!("exp::{}", fixture.join("origin.git").display());
    sandbox.git(&fixture, &["clone", "-q", &url, "helper-clone"]);
    let clone = fixture.join("helper-clone");
    use_s3(&sandbox, &clone, server, "dvc-to-ours");
    let output = sandbox.git(&clone, &["fetch", "origin", "+refs/exps/*:refs/exps/*"]);
    assert!(
        stderr(&output).contains("downloaded"),
        "{}",
        stderr(&output)
    );
    sandbox.git(&clone, &["checkout", "-q", WIDE]);
    sandbox.exp(&clone, &["checkout"]);
    assert_workspace_matches(&clone, &fixture.join("expected/b53a31b-exp-wide.md5"));
}

#[test]
fn dvc_push_is_fetched_through_the_hooks() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    let storage = fixture.join("storage").display().to_string();
    sandbox.dvc(
        &project,
        &["remote", "add", "--local", "-d", "-f", "storage", &storage],
    );
    sandbox.dvc(&project, &["exp", "push", "origin", "exp-wide"]);

    // A plain clone of an ordinary remote, with the hooks installed: a plain fetch brings
    // the experiment and its data, a checkout and git exp checkout the files.
    sandbox.git(&fixture, &["clone", "-q", "origin.git", "hooked"]);
    let clone = fixture.join("hooked");
    sandbox.exp(&clone, &["install"]);
    sandbox.git(&clone, &["fetch", "origin"]);
    let cached = files_under(&clone.join(".dvc/cache"));
    assert!(
        cached.contains("files/md5/ce/226cd3bf1822244370a3f2fcccbbf5"),
        "{cached:?}"
    );
    sandbox.git(&clone, &["checkout", "-q", WIDE]);
    sandbox.exp(&clone, &["checkout"]);
    assert_workspace_matches(&clone, &fixture.join("expected/b53a31b-exp-wide.md5"));
}
