//! The `git exp` porcelain, driven as a user drives it, on the repositories DVC made.

use std::fs;
use std::path::{Path, PathBuf};

use exp_integration_tests::*;

const FIRST: &str = "b53a31b91a80a1abc86d6fe6173d561a53b2dd76";
const SECOND: &str = "7030ed6e978329b3071754ce2e041241ccdfe8e0";
const UNITS_ON_FIRST: &str = "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-units64";
const UNITS_ON_SECOND: &str = "refs/exps/70/30ed6e978329b3071754ce2e041241ccdfe8e0/exp-units64";
const LR01: &str = "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-lr01";
const WIDE: &str = "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-wide";

/// Unpacks seed-project and returns (fixture folder, project).
fn seed(sandbox: &Sandbox) -> (PathBuf, PathBuf) {
    let fixture = sandbox.unpack("seed-project");
    let project = fixture.join("project");
    (fixture, project)
}

/// Returns `ref<TAB>sha` lines of the experiment refs on the remote at `url`, sorted.
fn remote_exps(sandbox: &Sandbox, cwd: &Path, url: &str) -> Vec<String> {
    let listing = sandbox.git_stdout(cwd, &["ls-remote", url, "refs/exps/*"]);
    let mut lines: Vec<String> = listing
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .map(|(sha, name)| format!("{name}\t{sha}"))
        .collect();
    lines.sort();
    lines
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn sharing_walkthrough_matches_dvc() {
    let sandbox = Sandbox::new();
    let (fixture, project) = seed(&sandbox);

    // HEAD is main (7030ed6), so the bare exp-units64 is the one on that baseline.
    let output = sandbox.exp(&project, &["push", "origin", "exp-lr01", "exp-units64"]);
    let out = stdout(&output);
    let out_lines = lines(&out);
    assert_eq!(
        out_lines[0],
        "Pushed experiment exp-lr01 to Git remote 'origin'."
    );
    assert_eq!(
        out_lines[1],
        "Pushed experiment exp-units64 to Git remote 'origin'."
    );
    assert!(
        out_lines[2].starts_with("25 files uploaded to 'storage' ("),
        "{out}"
    );
    assert_eq!(out_lines.len(), 3, "{out}");
    assert_eq!(
        remote_exps(&sandbox, &fixture, "origin.git"),
        [
            format!("{UNITS_ON_SECOND}\tff223b61c58ff0396a638f4fd4e56feed81f959d"),
            format!("{LR01}\t384fd723c4956a80a8859da14430184ca788517d"),
        ]
    );

    sandbox.git(&fixture, &["clone", "--quiet", "origin.git", "clone"]);
    let clone = fixture.join("clone");
    let output = sandbox.exp(&clone, &["list", "origin", "--all-commits"]);
    assert_eq!(
        stdout(&output),
        "main:\n\texp-units64\nb53a31b:\n\texp-lr01\n"
    );

    let cache = project.join(".dvc/cache");
    let output = sandbox.exp(
        &clone,
        &[
            "remote",
            "add",
            "--local",
            "--default",
            "storage",
            cache.to_str().expect("utf-8 path"),
        ],
    );
    assert_eq!(stdout(&output), "Setting 'storage' as a default remote.\n");

    let output = sandbox.exp(&clone, &["pull", "origin", "exp-lr01"]);
    let out = stdout(&output);
    assert_eq!(
        lines(&out)[0],
        "Pulled experiment exp-lr01 from Git remote 'origin'.",
        "{out}"
    );
    assert!(
        lines(&out)[1].starts_with("20 files fetched from 'storage' ("),
        "{out}"
    );
    assert_eq!(
        sandbox.git_stdout(&clone, &["rev-parse", LR01]),
        "384fd723c4956a80a8859da14430184ca788517d"
    );

    let output = sandbox.exp(&clone, &["apply", "exp-lr01"]);
    assert_eq!(
        stdout(&output),
        "Changes for experiment 'exp-lr01' have been applied to your current workspace.\n"
    );
    assert_eq!(
        sandbox.git_stdout(&clone, &["rev-parse", "HEAD"]),
        SECOND,
        "HEAD must not move"
    );
    assert_workspace_matches(&clone, &fixture.join("expected/b53a31b-exp-lr01.md5"));
}

/// Points the local `refname` at a new commit on `baseline` that the remote has never seen.
fn diverge(sandbox: &Sandbox, project: &Path, refname: &str, baseline: &str) -> String {
    let tree = format!("{baseline}^{{tree}}");
    let commit = sandbox.git_stdout(
        project,
        &[
            "commit-tree",
            &tree,
            "-p",
            baseline,
            "-m",
            "rerun elsewhere",
        ],
    );
    sandbox.git(project, &["update-ref", refname, &commit]);
    commit
}

#[test]
fn batch_push_reports_diverged_experiment() {
    let sandbox = Sandbox::new();
    let (fixture, project) = seed(&sandbox);
    sandbox.exp(&project, &["push", "origin", "exp-lr01"]);
    let rerun = diverge(&sandbox, &project, LR01, FIRST);

    let output = sandbox.exp_result(&project, &["push", "origin", "--rev", FIRST]);
    assert_eq!(output.status.code(), Some(1));
    let out = stdout(&output);
    assert_eq!(
        lines(&out)[..2],
        [
            "Pushed experiment exp-units64 to Git remote 'origin'.",
            "Pushed experiment exp-wide to Git remote 'origin'.",
        ],
        "{out}"
    );
    assert_eq!(
        stderr(&output),
        "Local experiment exp-lr01 has diverged from remote experiment with the same name.\n\
         hint: To override the remote experiment re-run with '--force'.\n"
    );
    assert_eq!(
        remote_exps(&sandbox, &fixture, "origin.git"),
        [
            format!("{LR01}\t384fd723c4956a80a8859da14430184ca788517d"),
            format!("{UNITS_ON_FIRST}\tca65baab0e9050f4228cb51264188729ae0e9934"),
            format!("{WIDE}\t5f56cb0c2be1c29a3cd33aedce5dfeeecb91e8ba"),
        ]
    );

    let output = sandbox.exp(&project, &["push", "origin", "exp-lr01", "--force"]);
    assert_eq!(
        lines(&stdout(&output))[0],
        "Pushed experiment exp-lr01 to Git remote 'origin'."
    );
    assert_eq!(
        sandbox.git_stdout(&fixture, &["--git-dir=origin.git", "rev-parse", LR01]),
        rerun
    );
}

#[test]
fn ambiguous_name_resolves_by_head() {
    let sandbox = Sandbox::new();
    let (fixture, project) = seed(&sandbox);

    // On main (7030ed6) the name means the experiment of that baseline.
    sandbox.exp(&project, &["push", "origin", "exp-units64", "--no-cache"]);
    assert_eq!(
        remote_exps(&sandbox, &fixture, "origin.git"),
        [format!(
            "{UNITS_ON_SECOND}\tff223b61c58ff0396a638f4fd4e56feed81f959d"
        )]
    );

    // On b53a31b it means the other one.
    sandbox.git(&project, &["checkout", "--quiet", FIRST]);
    sandbox.exp(&project, &["push", "origin", "exp-units64", "--no-cache"]);
    assert_eq!(remote_exps(&sandbox, &fixture, "origin.git").len(), 2);
    let output = sandbox.exp(&project, &["branch", "exp-units64", "units-first"]);
    assert!(stdout(&output)
        .starts_with("Git branch 'units-first' has been created from experiment 'exp-units64'."));
    assert_eq!(
        sandbox.git_stdout(&project, &["rev-parse", "units-first"]),
        "ca65baab0e9050f4228cb51264188729ae0e9934"
    );

    // On a third commit neither baseline wins.
    sandbox.git(&project, &["checkout", "--quiet", "main"]);
    sandbox.git(
        &project,
        &["commit", "--quiet", "--allow-empty", "-m", "third"],
    );
    let expected = format!(
        "git exp: ambiguous name 'exp-units64' refers to multiple experiments; \
         use one of the following full refnames instead:\n\n\t{UNITS_ON_SECOND}\n\t{UNITS_ON_FIRST}\n"
    );
    for args in [
        vec!["push", "origin", "exp-units64"],
        vec!["branch", "exp-units64"],
        vec!["apply", "exp-units64"],
        vec!["remove", "exp-units64"],
    ] {
        let output = sandbox.exp_result(&project, &args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr(&output), expected, "{args:?}");
    }

    // A baseline prefix or a full ref picks one.
    let output = sandbox.exp(&project, &["branch", "7030ed6/exp-units64", "units-second"]);
    assert!(stdout(&output).starts_with("Git branch 'units-second'"));
    assert_eq!(
        sandbox.git_stdout(&project, &["rev-parse", "units-second"]),
        "ff223b61c58ff0396a638f4fd4e56feed81f959d"
    );
    sandbox.exp(&project, &["remove", UNITS_ON_FIRST]);
    assert!(sandbox
        .git_result(
            &project,
            &["rev-parse", "--verify", "--quiet", UNITS_ON_FIRST]
        )
        .stdout
        .is_empty());
}

#[test]
fn remote_commands_write_dvc_config_bytes() {
    let sandbox = Sandbox::new();
    let repo = sandbox.path().join("repo");
    fs::create_dir_all(repo.join(".dvc")).expect("repo");
    fs::write(repo.join(".dvc/config"), "").expect("empty config");
    sandbox.git(&repo, &["init", "--quiet", "-b", "main"]);
    let config = || fs::read_to_string(repo.join(".dvc/config")).expect("config");
    let local = || fs::read_to_string(repo.join(".dvc/config.local")).expect("config.local");

    let output = sandbox.exp(
        &repo,
        &["remote", "add", "-d", "MyStore", "s3://bucket/path"],
    );
    assert_eq!(stdout(&output), "Setting 'mystore' as a default remote.\n");
    sandbox.exp(&repo, &["remote", "modify", "mystore", "jobs", "8"]);
    sandbox.exp(
        &repo,
        &["remote", "modify", "MyStore", "profile", "dev,ops"],
    );
    assert_eq!(
        config(),
        "[core]\n    remote = mystore\n['remote \"mystore\"']\n    url = s3://bucket/path\n    jobs = 8\n    profile = \"dev,ops\"\n"
    );

    sandbox.exp(
        &repo,
        &[
            "remote",
            "modify",
            "--local",
            "mystore",
            "secret_access_key",
            "s3cr#t; x",
        ],
    );
    sandbox.exp(&repo, &["remote", "add", "--local", "-d", "l2", "../r2"]);
    assert_eq!(
        local(),
        "[core]\n    remote = l2\n['remote \"mystore\"']\n    secret_access_key = \"s3cr#t; x\"\n['remote \"l2\"']\n    url = ../../r2\n"
    );

    let dvc_dir = repo.join(".dvc");
    let output = sandbox.exp(&repo, &["remote", "list"]);
    assert_eq!(
        stdout(&output),
        format!(
            "mystore\ts3://bucket/path\nl2\t{}/../../r2\t(default)\n",
            dvc_dir.display()
        )
    );
    assert_eq!(stdout(&sandbox.exp(&repo, &["remote", "default"])), "l2\n");
    assert_eq!(
        stdout(&sandbox.exp(&repo, &["remote", "default", "--project"])),
        "mystore\n"
    );

    sandbox.exp(&repo, &["remote", "modify", "mystore", "jobs", "--unset"]);
    sandbox.exp(&repo, &["remote", "rename", "mystore", "store2"]);
    assert_eq!(
        config(),
        "[core]\n    remote = store2\n['remote \"store2\"']\n    url = s3://bucket/path\n    profile = \"dev,ops\"\n"
    );

    sandbox.exp(&repo, &["remote", "remove", "--local", "l2"]);
    assert_eq!(
        local(),
        "['remote \"mystore\"']\n    secret_access_key = \"s3cr#t; x\"\n"
    );
    assert_eq!(
        stdout(&sandbox.exp(&repo, &["remote", "default"])),
        "store2\n"
    );
    assert_eq!(
        stdout(&sandbox.exp(&repo, &["remote", "list"])),
        "store2\ts3://bucket/path\t(default)\n"
    );

    sandbox.exp(&repo, &["remote", "default", "--unset"]);
    assert_eq!(
        config(),
        "['remote \"store2\"']\n    url = s3://bucket/path\n    profile = \"dev,ops\"\n"
    );
    let output = sandbox.exp_result(&repo, &["remote", "default"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "No default remote set\n");

    let failures = [
        (
            vec!["remote", "add", "store2", "/x"],
            "git exp: remote 'store2' already exists. Use `-f|--force` to overwrite it.\n",
        ),
        (
            vec!["remote", "default", "nosuch"],
            "git exp: default remote must be present in remote list.\n",
        ),
        (
            vec!["remote", "modify", "nosuch", "jobs", "2"],
            "git exp: remote 'nosuch' doesn't exist.\n",
        ),
        (
            vec!["remote", "remove", "nosuch"],
            "git exp: remote 'nosuch' doesn't exist.\n",
        ),
    ];
    for (args, message) in failures {
        let output = sandbox.exp_result(&repo, &args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr(&output), message, "{args:?}");
    }

    sandbox.exp(&repo, &["remote", "remove", "store2"]);
    assert_eq!(config(), "");
}

#[test]
fn list_prints_dvc_layout() {
    let sandbox = Sandbox::new();
    let (fixture, project) = seed(&sandbox);

    let list = |args: &[&str]| stdout(&sandbox.exp(&project, args));
    assert_eq!(list(&["list"]), "main:\n\tff223b6 [exp-units64]\n");
    let all = "main:\n\tff223b6 [exp-units64]\nb53a31b:\n\t384fd72 [exp-lr01]\n\tca65baa [exp-units64]\n\t5f56cb0 [exp-wide]\n";
    assert_eq!(list(&["list", "-A"]), all);
    assert_eq!(list(&["list", "-n", "2"]), all);
    assert_eq!(
        list(&["list", "-n", "-1", "--name-only"]),
        "exp-units64\nexp-lr01\nexp-units64\nexp-wide\n"
    );
    assert_eq!(list(&["list", "--rev", "main~1", "--sha-only"]), "384fd723c4956a80a8859da14430184ca788517d\nca65baab0e9050f4228cb51264188729ae0e9934\n5f56cb0c2be1c29a3cd33aedce5dfeeecb91e8ba\n");
    assert_eq!(list(&["list", "-n", "0"]), "");

    // A tag names the baseline when it is not HEAD.
    sandbox.git(&project, &["tag", "v1", FIRST]);
    assert_eq!(
        list(&["ls", "--rev", FIRST]),
        "v1:\n\t384fd72 [exp-lr01]\n\tca65baa [exp-units64]\n\t5f56cb0 [exp-wide]\n"
    );

    // Remote listings show names only; DVC's internal refs never travel.
    sandbox.exp(&project, &["push", "origin", "-A", "--no-cache"]);
    assert_eq!(remote_exps(&sandbox, &fixture, "origin.git").len(), 4);
    assert_eq!(list(&["list", "origin"]), "main:\n\texp-units64\n");
    assert_eq!(
        list(&["list", "../origin.git", "-A"]),
        "main:\n\texp-units64\nv1:\n\texp-lr01\n\texp-units64\n\texp-wide\n"
    );
    let output = sandbox.exp_result(&project, &["list", "origin", "--sha-only"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "git exp: --sha-only is not supported with a Git remote\n"
    );
}

#[test]
fn status_before_and_after_pull() {
    let sandbox = Sandbox::new();
    let (fixture, project) = seed(&sandbox);
    sandbox.exp(&project, &["push", "origin", "-A"]);
    sandbox.git(&fixture, &["clone", "--quiet", "origin.git", "clone"]);
    let clone = fixture.join("clone");

    let output = sandbox.exp(&clone, &["status"]);
    assert_eq!(
        stdout(&output),
        "\tnot in cache:       data/labels.txt\n\tnot in cache:       data/raw\n\
         \tnot in cache:       model\n\tnot in cache:       predictions.csv\n"
    );
    let output = sandbox.exp(&clone, &["status", "--cloud"]);
    assert_eq!(
        stdout(&output),
        "\tdeleted:            data/labels.txt\n\tdeleted:            data/raw\n\
         \tmissing:            model\n\tmissing:            predictions.csv\n"
    );

    let output = sandbox.exp(&clone, &["pull", "origin"]);
    assert_eq!(
        lines(&stdout(&output))[0],
        "Pulled experiment exp-units64 from Git remote 'origin'."
    );
    assert_eq!(
        stdout(&sandbox.exp(&clone, &["status", "-c", UNITS_ON_SECOND])),
        "Cache and remote 'storage' are in sync.\n"
    );
    assert_eq!(
        stdout(&sandbox.exp(&clone, &["status", UNITS_ON_SECOND])),
        "The cache has the data of every output.\n"
    );
    let output = sandbox.exp(&clone, &["status", "-c", "--json"]);
    assert_eq!(
        stdout(&output),
        "{\n  \"model\": \"missing\",\n  \"predictions.csv\": \"missing\"\n}\n"
    );
}

#[test]
fn branch_and_remove_on_git_remote() {
    let sandbox = Sandbox::new();
    let (fixture, project) = seed(&sandbox);
    sandbox.exp(&project, &["push", "origin", "-A", "--no-cache"]);

    let output = sandbox.exp(&project, &["branch", "exp-wide"]);
    assert_eq!(
        stdout(&output),
        "Git branch 'exp-wide-branch' has been created from experiment 'exp-wide'.\n\
         To switch to the new branch run:\n\n\tgit checkout exp-wide-branch\n"
    );
    assert_eq!(
        sandbox.git_stdout(&project, &["rev-parse", "exp-wide-branch"]),
        "5f56cb0c2be1c29a3cd33aedce5dfeeecb91e8ba"
    );
    let output = sandbox.exp_result(&project, &["branch", "exp-wide"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "git exp: Git branch 'exp-wide-branch' already exists.\n"
    );

    let output = sandbox.exp(
        &project,
        &["remove", "-g", "origin", "exp-lr01", "b53a31b/exp-units64"],
    );
    assert_eq!(
        stdout(&output),
        "Removed experiments: 'exp-lr01' and 'exp-units64'\n"
    );
    assert_eq!(
        remote_exps(&sandbox, &fixture, "origin.git"),
        [
            format!("{UNITS_ON_SECOND}\tff223b61c58ff0396a638f4fd4e56feed81f959d"),
            format!("{WIDE}\t5f56cb0c2be1c29a3cd33aedce5dfeeecb91e8ba"),
        ]
    );
    let local_refs = || {
        sandbox.git_stdout(
            &project,
            &["for-each-ref", "--format=%(refname)", "refs/exps/"],
        )
    };
    assert_eq!(
        local_refs(),
        format!(
            "{UNITS_ON_SECOND}\nrefs/exps/apply/ORIG_HEAD\n{LR01}\n{UNITS_ON_FIRST}\n{WIDE}\n\
             refs/exps/exec/EXEC_APPLY\nrefs/exps/exec/EXEC_HEAD"
        ),
        "removing on the remote leaves every local ref"
    );

    let output = sandbox.exp_result(&project, &["remove", "-g", "origin", "exp-lr01"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "git exp: experiment 'exp-lr01' does not exist in 'origin'\n"
    );
    let output = sandbox.exp_result(&project, &["remove"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "git exp: either provide an experiment argument, or use the --rev or --all-commits flag\n"
    );

    // EXEC_APPLY points at exp-wide, so it goes with it, as in DVC.
    let output = sandbox.exp(&project, &["remove", "--rev", FIRST]);
    assert_eq!(
        stdout(&output),
        "Removed experiments: 'exp-lr01', 'exp-units64' and 'exp-wide'\n"
    );
    assert_eq!(
        local_refs(),
        format!("{UNITS_ON_SECOND}\nrefs/exps/apply/ORIG_HEAD\nrefs/exps/exec/EXEC_HEAD")
    );
}

#[test]
fn apply_keeps_uncommitted_changes_unless_forced() {
    let sandbox = Sandbox::new();
    let (fixture, project) = seed(&sandbox);
    let params = project.join("params.yaml");
    fs::write(&params, "train:\n  units: 1\n").expect("edit params");

    let output = sandbox.exp_result(&project, &["apply", "exp-wide"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "git exp: cannot apply experiment 'exp-wide': it would overwrite uncommitted changes to 1 files:\n\
         \tparams.yaml\n\
         hint: commit or stash the changes, or rerun with --force to overwrite them\n"
    );
    assert_eq!(
        fs::read_to_string(&params).expect("params"),
        "train:\n  units: 1\n"
    );

    // An output whose edited content is not in the cache is kept too.
    sandbox.git(&project, &["checkout", "--quiet", "--", "params.yaml"]);
    let predictions = project.join("predictions.csv");
    fs::write(&predictions, "my own predictions\n").expect("edit output");
    let output = sandbox.exp_result(&project, &["apply", "exp-wide"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    let err_lines = lines(&err);
    assert_eq!(err_lines.len(), 2, "{err}");
    assert!(
        err_lines[0].starts_with("warning: kept predictions.csv: "),
        "{err}"
    );
    assert_eq!(
        err_lines[1],
        "hint: commit or `dvc add` your changes, or rerun with --force to overwrite them"
    );
    assert_eq!(
        fs::read_to_string(&predictions).expect("predictions"),
        "my own predictions\n"
    );

    sandbox.exp(&project, &["apply", "--force", "exp-wide"]);
    assert_workspace_matches(&project, &fixture.join("expected/b53a31b-exp-wide.md5"));
    assert_eq!(
        sandbox.git_stdout(&project, &["rev-parse", "refs/exps/exec/EXEC_APPLY"]),
        "5f56cb0c2be1c29a3cd33aedce5dfeeecb91e8ba"
    );
}

#[test]
fn show_tabulates_params_and_metrics() {
    let sandbox = Sandbox::new();
    let (_, project) = seed(&sandbox);
    let output = sandbox.exp(&project, &["show", "-A", "--csv"]);
    assert_eq!(
        stdout(&output),
        "Experiment,rev,typ,Created,parent,acc,train.units,train.lr\n\
         ,main,baseline,2026-01-01T00:00:00,,0.042,32,0.01\n\
         exp-units64,ff223b6,branch_base,2026-12-04T20:14:17,7030ed6,0.074,64,0.01\n\
         ,b53a31b,baseline,2026-01-01T00:00:00,,0.042,32,0.01\n\
         exp-lr01,384fd72,branch_commit,2026-12-04T20:14:08,b53a31b,0.164,64,0.1\n\
         exp-units64,ca65baa,branch_commit,2026-12-04T20:14:05,b53a31b,0.074,64,0.01\n\
         exp-wide,5f56cb0,branch_base,2026-12-04T20:14:12,b53a31b,0.178,128,0.05\n"
    );

    let output = sandbox.exp(&project, &["show"]);
    let rule = "─".repeat(69);
    assert_eq!(
        stdout(&output),
        format!(
            "{rule}\n\
             Experiment                 Created       acc    train.units  train.lr\n\
             {rule}\n\
             main                       Jan 01, 2026  0.042  32           0.01\n\
             └── ff223b6 [exp-units64]  Dec 04, 2026  0.074  64           0.01\n\
             {rule}\n"
        )
    );
}

#[test]
fn help_opens_generated_man_page() {
    let sandbox = Sandbox::new();
    let man_root = sandbox.path().join("share/man");
    let man1 = man_root.join("man1");
    sandbox.exp(
        sandbox.path(),
        &["generate", "man", man1.to_str().expect("utf-8 path")],
    );
    for page in [
        "git-exp.1",
        "git-exp-push.1",
        "git-exp-remote-add.1",
        "git-exp-status.1",
    ] {
        assert!(man1.join(page).is_file(), "{page} missing");
    }

    for args in [vec!["exp", "--help"], vec!["help", "exp"]] {
        let output = succeed(
            sandbox
                .command("git", sandbox.path())
                .args(&args)
                .env("MANPATH", &man_root)
                .env("MANPAGER", "cat")
                .env("MANWIDTH", "200")
                .env("MAN_KEEP_FORMATTING", "0"),
        );
        let page = stdout(&output);
        let page_lines: Vec<&str> = page.lines().map(str::trim).collect();
        assert!(
            page_lines.contains(&"git-exp - Share DVC experiments and their data with plain Git"),
            "{args:?}: {page}"
        );
        assert!(page_lines.contains(&"git-exp-push(1)"), "{args:?}: {page}");
    }

    let output = sandbox.exp(sandbox.path(), &["generate", "completions", "bash"]);
    let script = stdout(&output);
    assert!(
        script.contains("complete -F _git__exp"),
        "bash completion registers git-exp"
    );
    assert!(
        script.contains("_git_exp() {"),
        "bash completion hooks into git's own"
    );
    for shell in ["zsh", "fish"] {
        let output = sandbox.exp(sandbox.path(), &["generate", "completions", shell]);
        assert!(stdout(&output).contains("git-exp"), "{shell}");
    }
}

#[test]
fn push_needs_storage_only_for_outputs() {
    let sandbox = Sandbox::new();
    let (fixture, project) = seed(&sandbox);

    // An experiment whose commit declares no outputs: a commit of an empty tree.
    let empty_tree =
        sandbox.git_stdout(&project, &["hash-object", "-t", "tree", "-w", "/dev/null"]);
    let bare = sandbox.git_stdout(
        &project,
        &["commit-tree", &empty_tree, "-p", SECOND, "-m", "notes only"],
    );
    let notes_ref = "refs/exps/70/30ed6e978329b3071754ce2e041241ccdfe8e0/notes".to_owned();
    sandbox.git(&project, &["update-ref", &notes_ref, &bare]);
    sandbox.exp(&project, &["remote", "default", "--unset"]);

    // The remote goes through git-remote-exp, so git exp must push to its inner URL.
    sandbox.git(&project, &["remote", "add", "share", "exp::../origin.git"]);
    let output = sandbox.exp(&project, &["push", "share", "notes"]);
    assert_eq!(
        stdout(&output),
        "Pushed experiment notes to Git remote 'share'.\n\
         note: experiment notes has no cached outputs, so it needs no DVC storage.\n"
    );

    let output = sandbox.exp_result(&project, &["push", "share", "exp-lr01", "notes"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    let err_lines = lines(&err);
    assert!(
        err_lines[0]
            .starts_with("error: experiment exp-lr01 was not pushed: data upload failed: failed "),
        "{err}"
    );
    assert_eq!(
        err_lines.last().copied(),
        Some("hint: set a default with `git exp remote add -d NAME URL` or `dvc remote add -d NAME URL`")
    );
    assert_eq!(
        remote_exps(&sandbox, &fixture, "origin.git"),
        [format!("{notes_ref}\t{bare}")],
        "a ref whose data has no storage is not pushed"
    );
    assert!(files_under(&fixture.join("storage")).is_empty());
}
