//! Interoperability with real DVC 3 in both directions: what one side pushes, the other
//! pulls and materialises, with nothing missing and nothing recomputed.
//!
//! When DVC reads a revision other than the workspace (`exp pull`, `exp push`), it
//! resolves a relative storage URL in a committed `.dvc/config` against the root of the
//! Git tree. The DVC side of these tests therefore names the storage by absolute path in
//! `config.local`.

use std::path::Path;

use exp_integration_tests::*;

const LR01: &str = "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-lr01";
const WIDE: &str = "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-wide";

/// Points DVC's `storage` remote at `storage` by absolute path, in `.dvc/config.local`.
fn use_absolute_storage(sandbox: &Sandbox, project: &Path, storage: &Path) {
    let storage = storage.to_str().expect("utf-8 path");
    sandbox.dvc(
        project,
        &["remote", "add", "--local", "-d", "-f", "storage", storage],
    );
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
    assert_eq!(
        stdout(&output).trim(),
        "Pulled experiment '['exp-lr01']' from Git remote 'origin'."
    );
    sandbox.dvc(&clone, &["exp", "apply", "exp-lr01"]);
    assert_workspace_matches(&clone, &fixture.join("expected/b53a31b-exp-lr01.md5"));

    let status = sandbox.dvc(&clone, &["status", "-c"]);
    assert_eq!(
        stdout(&status).trim(),
        "Cache and remote 'storage' are in sync."
    );
    assert!(
        !stderr(&status).contains("Missing cache files"),
        "{}",
        stderr(&status)
    );
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
    assert_eq!(
        stdout(&cloud).trim(),
        "Cache and remote 'storage' are in sync."
    );

    for file in files_under(&clone.join(".dvc/cache")) {
        let path = clone.join(".dvc/cache").join(&file);
        assert_eq!(mode(&path), 0o444, "{file}");
    }
}

/// Builds the `.dir` manifest of `dir` the way this project writes them, and its id.
fn our_manifest(dir: &Path) -> (String, Vec<u8>) {
    use exp_lib::manifest::{Entry, Manifest};
    use exp_lib::object::{hash_file, hash_reader, HashKind, ObjectId};

    let entries: Vec<Entry> = files_under(dir)
        .into_iter()
        .map(|relpath| {
            let (digest, _) = hash_file(HashKind::Md5, &dir.join(&relpath)).expect("hash member");
            Entry {
                relpath,
                id: ObjectId::from_digest(digest),
            }
        })
        .collect();
    let bytes = Manifest::new(entries).to_bytes();
    let (digest, _) = hash_reader(HashKind::Md5, bytes.as_slice()).expect("hash manifest");
    (ObjectId::from_digest(digest).as_dir().to_string(), bytes)
}

#[test]
fn dir_manifests_match_dvc_bytes() {
    let sandbox = Sandbox::new();
    let repo = sandbox.path().join("repo");
    std::fs::create_dir_all(&repo).expect("repo");
    sandbox.git(&repo, &["init", "-q", "-b", "main"]);
    sandbox.dvc(&repo, &["init", "-q"]);

    // Nested folders, an empty file, an executable, non-ASCII and spaced names, and names
    // whose byte order differs from a naive sort.
    let data = repo.join("data");
    let files: [(&str, &[u8]); 9] = [
        ("a.txt", b"a\n"),
        ("B.txt", b"upper\n"),
        ("a b.txt", b"spaced\n"),
        ("sub.txt", b"x"),
        ("sub/b.txt", b"b\n"),
        ("sub/deeper/empty.bin", b""),
        ("run.sh", b"#!/bin/sh\necho hi\n"),
        ("\u{fc}/\u{1f600}.txt", b"emoji\n"),
        ("caf\u{e9}.csv", b"1,2\r\n3,4\r\n"),
    ];
    for (path, bytes) in files {
        let file = data.join(path);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("dirs");
        std::fs::write(&file, bytes).expect("file");
    }
    std::fs::set_permissions(
        data.join("run.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");

    sandbox.dvc(&repo, &["add", "-q", "data"]);
    let dvc_file = std::fs::read_to_string(repo.join("data.dvc")).expect("data.dvc");
    let dvc_id = dvc_file
        .lines()
        .find_map(|l| l.trim().strip_prefix("- md5: "))
        .expect("md5 line")
        .to_owned();

    let (our_id, our_bytes) = our_manifest(&data);
    assert_eq!(our_id, dvc_id);
    let hex = dvc_id.trim_end_matches(".dir");
    let dvc_bytes = std::fs::read(repo.join(format!(
        ".dvc/cache/files/md5/{}/{}.dir",
        &hex[..2],
        &hex[2..]
    )))
    .expect("DVC's manifest");
    assert_eq!(
        String::from_utf8_lossy(&our_bytes),
        String::from_utf8_lossy(&dvc_bytes)
    );
    assert_eq!(our_bytes, dvc_bytes);
}

#[test]
fn config_written_by_us_is_read_by_dvc() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    let target = sandbox.path().join("elsewhere");
    let target_text = target.display().to_string();

    sandbox.exp(&project, &["remote", "add", "-d", "MyStore", &target_text]);
    sandbox.exp(&project, &["remote", "modify", "mystore", "jobs", "8"]);
    sandbox.exp(
        &project,
        &["remote", "modify", "mystore", "type", "hardlink,symlink"],
    );
    sandbox.exp(
        &project,
        &["remote", "add", "--local", "other", "../relative,dir"],
    );
    sandbox.exp(
        &project,
        &[
            "remote",
            "add",
            "--local",
            "secure",
            "ssh://user@127.0.0.1/srv/dvc",
        ],
    );
    sandbox.exp(
        &project,
        &[
            "remote",
            "modify",
            "--local",
            "secure",
            "password",
            "s3cr#t; x",
        ],
    );

    // An option DVC rejects for the storage type is refused before anything is written.
    let before = std::fs::read(project.join(".dvc/config")).expect("config");
    let output = sandbox.exp_result(&project, &["remote", "modify", "mystore", "password", "x"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("'password' is not an option of local remotes"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read(project.join(".dvc/config")).expect("config"),
        before
    );

    let list = stdout(&sandbox.dvc(&project, &["remote", "list"]));
    let rows: Vec<Vec<&str>> = list
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        rows.contains(&vec!["mystore", target_text.as_str(), "(default)"]),
        "{list}"
    );
    let relative = fixture.join("relative,dir").display().to_string();
    assert!(rows.contains(&vec!["other", relative.as_str()]), "{list}");

    // `dvc config -l` shows local URLs resolved against the file that defines them.
    let config = stdout(&sandbox.dvc(&project, &["config", "-l"]));
    let other_url = format!("remote.other.url={relative}");
    for expected in [
        "core.remote=mystore",
        "remote.mystore.jobs=8",
        "remote.mystore.type=hardlink,symlink",
        "remote.secure.password=s3cr#t; x",
        other_url.as_str(),
    ] {
        assert!(
            config.lines().any(|l| l == expected),
            "{expected} missing in:\n{config}"
        );
    }
}

#[test]
fn config_written_by_dvc_is_read_by_us() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    let target = sandbox.path().join("dvc-made");
    let target_text = target.display().to_string();

    sandbox.dvc(
        &project,
        &["remote", "add", "-f", "-d", "DvcStore", &target_text],
    );
    sandbox.dvc(&project, &["remote", "modify", "dvcstore", "jobs", "3"]);
    sandbox.dvc(
        &project,
        &[
            "remote",
            "add",
            "--local",
            "secure",
            "ssh://user@127.0.0.1/srv/dvc",
        ],
    );
    sandbox.dvc(
        &project,
        &["remote", "modify", "--local", "secure", "password", "a,b#c"],
    );

    let config =
        exp_lib::config::Config::load(&project.join(".dvc")).expect("our loader reads DVC's files");
    assert_eq!(config.default_remote().as_deref(), Some("dvcstore"));
    let remote = config.remote("DVCSTORE").expect("case-insensitive lookup");
    assert_eq!(remote.url, target_text);
    assert_eq!(remote.options.get("jobs").map(String::as_str), Some("3"));
    let secure = config.remote("secure").expect("local remote");
    assert_eq!(
        secure.options.get("password").map(String::as_str),
        Some("a,b#c")
    );

    let listed = stdout(&sandbox.exp(&project, &["remote", "list"]));
    assert!(
        listed
            .lines()
            .any(|l| l == format!("dvcstore\t{target_text}\t(default)")),
        "{listed}"
    );
}

#[test]
fn remote_experiment_listings_agree() {
    // Our push, listed by DVC.
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    sandbox.git(&project, &["remote", "add", "share", "exp::../origin.git"]);
    sandbox.git(&project, &["push", "share", "refs/exps/*:refs/exps/*"]);
    let by_dvc = stdout(&sandbox.dvc(&project, &["exp", "list", "-A", "origin"]));

    // DVC's push of the same experiments, listed by us.
    let other = Sandbox::new();
    let fixture2 = other.unpack("seed-project");
    let project2 = fixture2.join("project");
    use_absolute_storage(&other, &project2, &fixture2.join("storage"));
    other.dvc(&project2, &["exp", "push", "-A", "origin"]);
    let by_us = stdout(&other.exp(&project2, &["list", "-A", "origin"]));

    let lines = |text: &str| -> std::collections::BTreeSet<String> {
        text.lines().map(str::to_owned).collect()
    };
    assert_eq!(
        lines(&by_us),
        lines(&by_dvc),
        "ours:\n{by_us}\nDVC's:\n{by_dvc}"
    );
    assert!(by_us.contains("\texp-units64"), "{by_us}");
}

#[test]
fn git_exp_push_then_dvc_pull_and_back() {
    let sandbox = Sandbox::new();
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    sandbox.exp(&project, &["push", "origin", "-A"]);

    sandbox.git(&fixture, &["clone", "-q", "origin.git", "dvc-clone"]);
    let clone = fixture.join("dvc-clone");
    use_absolute_storage(&sandbox, &clone, &fixture.join("storage"));
    sandbox.dvc(&clone, &["exp", "pull", "origin", "exp-wide"]);
    sandbox.dvc(&clone, &["exp", "apply", "exp-wide"]);
    assert_workspace_matches(&clone, &fixture.join("expected/b53a31b-exp-wide.md5"));

    // And DVC's push, pulled by git exp.
    let other = Sandbox::new();
    let fixture2 = other.unpack("seed-project");
    let project2 = fixture2.join("project");
    use_absolute_storage(&other, &project2, &fixture2.join("storage"));
    other.dvc(&project2, &["exp", "push", "origin", "exp-lr01"]);
    other.git(&fixture2, &["clone", "-q", "origin.git", "our-clone"]);
    let ours = fixture2.join("our-clone");
    other.exp(&ours, &["pull", "origin", "exp-lr01"]);
    other.exp(&ours, &["apply", "exp-lr01"]);
    assert_workspace_matches(&ours, &fixture2.join("expected/b53a31b-exp-lr01.md5"));
}

#[test]
fn dvc2_project_round_trips_in_the_legacy_layout() {
    let sandbox = Sandbox::new();
    let root = sandbox.path();
    sandbox.git(root, &["init", "-q", "--bare", "-b", "main", "origin.git"]);
    let project = root.join("project");
    std::fs::create_dir_all(project.join("raw/nested")).expect("project");
    sandbox.git(&project, &["init", "-q", "-b", "main"]);
    // What `dvc init` writes; DVC 2.58's own init fails at its final git step against the
    // git libraries pip installs today, while add and push work.
    std::fs::create_dir_all(project.join(".dvc")).expect(".dvc");
    std::fs::write(project.join(".dvc/config"), "").expect("config");
    std::fs::write(
        project.join(".dvc/.gitignore"),
        "/config.local\n/tmp\n/cache\n",
    )
    .expect("gitignore");
    let store = root.join("store").display().to_string();
    sandbox.dvc2(&project, &["remote", "add", "-d", "store", &store]);

    // CRLF text makes md5-dos2unix differ from plain MD5, so the layouts cannot be confused.
    std::fs::write(project.join("crlf.txt"), "l1\r\nl2\r\n").expect("crlf");
    std::fs::write(project.join("raw/a.csv"), "1,2\r\n").expect("a");
    std::fs::write(project.join("raw/nested/b.bin"), [0u8, 1, 2, 3]).expect("b");
    sandbox.dvc2(&project, &["add", "-q", "crlf.txt", "raw"]);
    sandbox.git(&project, &["add", "-A"]);
    sandbox.git(&project, &["commit", "-q", "-m", "baseline by DVC 2"]);
    sandbox.git(&project, &["push", "-q", "../origin.git", "main"]);
    let baseline = sandbox.git_stdout(&project, &["rev-parse", "HEAD"]);
    let crlf_dvc = std::fs::read_to_string(project.join("crlf.txt.dvc")).expect("crlf.txt.dvc");
    assert!(
        crlf_dvc.contains("md5: a8be9e797e0f7e75b498d90413d9a7ad"),
        "{crlf_dvc}"
    );
    assert!(!crlf_dvc.contains("hash:"), "{crlf_dvc}");

    // An experiment commit made with DVC 2, pushed by us through the helper.
    std::fs::write(project.join("raw/a.csv"), "5,6\r\n7,8\r\n").expect("a");
    sandbox.dvc2(&project, &["add", "-q", "raw"]);
    sandbox.git(&project, &["commit", "-q", "-am", "experiment by DVC 2"]);
    let exp_ref = format!("refs/exps/{}/{}/legacy-exp", &baseline[..2], &baseline[2..]);
    sandbox.git(&project, &["update-ref", &exp_ref, "HEAD"]);
    sandbox.git(&project, &["checkout", "-q", "main"]);
    sandbox.git(
        &project,
        &[
            "push",
            "exp::../origin.git",
            &format!("{exp_ref}:{exp_ref}"),
        ],
    );
    let stored = files_under(&root.join("store"));
    assert!(
        stored.contains("a8/be9e797e0f7e75b498d90413d9a7ad"),
        "{stored:?}"
    );
    assert!(
        stored.iter().all(|p| !p.starts_with("files/")),
        "{stored:?}"
    );

    // DVC 2 pulls what we pushed.
    sandbox.git(root, &["clone", "-q", "origin.git", "dvc2-clone"]);
    let dvc2_clone = root.join("dvc2-clone");
    sandbox.git(
        &dvc2_clone,
        &["fetch", "-q", "origin", &format!("{exp_ref}:{exp_ref}")],
    );
    sandbox.git(&dvc2_clone, &["checkout", "-q", &exp_ref]);
    sandbox.dvc2(&dvc2_clone, &["pull", "-q"]);
    assert_eq!(
        std::fs::read(dvc2_clone.join("raw/a.csv")).expect("pulled"),
        b"5,6\r\n7,8\r\n"
    );
    let status = sandbox.dvc2(&dvc2_clone, &["status", "-c"]);
    assert!(stdout(&status).contains("in sync"), "{}", stdout(&status));

    // We fetch and check it out too.
    let url = format!("exp::{}", root.join("origin.git").display());
    sandbox.git(root, &["clone", "-q", &url, "our-clone"]);
    let ours = root.join("our-clone");
    sandbox.git(
        &ours,
        &["fetch", "-q", "origin", "+refs/exps/*:refs/exps/*"],
    );
    sandbox.git(&ours, &["checkout", "-q", &exp_ref]);
    sandbox.exp(&ours, &["checkout"]);
    assert_eq!(
        std::fs::read(ours.join("crlf.txt")).expect("crlf"),
        b"l1\r\nl2\r\n"
    );
    assert_eq!(
        std::fs::read(ours.join("raw/a.csv")).expect("a"),
        b"5,6\r\n7,8\r\n"
    );
    assert_eq!(
        std::fs::read(ours.join("raw/nested/b.bin")).expect("b"),
        [0u8, 1, 2, 3]
    );

    // After DVC 3 migrates the project, new metafiles use files/md5 and we follow.
    sandbox.git(&project, &["checkout", "-q", &exp_ref]);
    sandbox.dvc(&project, &["cache", "migrate", "--dvc-files"]);
    sandbox.git(&project, &["commit", "-q", "-am", "migrated by DVC 3"]);
    let migrated = format!("refs/exps/{}/{}/migrated", &baseline[..2], &baseline[2..]);
    sandbox.git(&project, &["update-ref", &migrated, "HEAD"]);
    sandbox.git(
        &project,
        &[
            "push",
            "exp::../origin.git",
            &format!("{migrated}:{migrated}"),
        ],
    );
    let stored = files_under(&root.join("store"));
    assert!(
        stored.iter().any(|p| p.starts_with("files/md5/")),
        "{stored:?}"
    );
    sandbox.git(
        &ours,
        &["fetch", "-q", "origin", "+refs/exps/*:refs/exps/*"],
    );
    sandbox.git(&ours, &["checkout", "-q", &migrated]);
    sandbox.exp(&ours, &["checkout"]);
    assert_eq!(
        std::fs::read(ours.join("raw/a.csv")).expect("a"),
        b"5,6\r\n7,8\r\n"
    );
    let status = sandbox.dvc(&ours, &["status"]);
    assert_eq!(stdout(&status).trim(), "Data and pipelines are up to date.");
}
