//! `git exp apply <exp>`: the experiment's files and outputs in the workspace, HEAD unmoved.

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::Context as _;
use exp_lib::git::Git;
use exp_lib::workspace;

use super::{fail, jobs, Global};

/// The DVC ref that records the experiment last applied to the workspace.
const EXEC_APPLY: &str = "refs/exps/exec/EXEC_APPLY";

/// Pathspecs per git call, to stay well below the kernel's argument limit.
const PATHS_PER_CALL: usize = 500;

/// Bring an experiment's files and outputs into the workspace without moving HEAD.
///
/// Files that differ between HEAD and the experiment are written as the experiment has
/// them and left unstaged. Then its DVC outputs are linked or copied from the cache, so
/// the cache must contain them (run `git exp pull` first). Uncommitted changes to those files and output
/// files whose content is not in the cache are never overwritten without --force.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Experiment to apply: a name, BASELINE/NAME, a full ref or any Git revision.
    pub experiment: String,
    /// Overwrite uncommitted changes and output files whose content is not in the cache.
    #[arg(short, long)]
    pub force: bool,
}

/// Runs `git exp apply`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<ExitCode> {
    let project = super::open_project()?;
    let repo = project.repo();
    let Some(root) = project.root().map(ToOwned::to_owned) else {
        anyhow::bail!("the repository has no work tree to apply an experiment to");
    };
    let (commit, name) = super::resolve_experiment_or_revision(repo, &args.experiment)?;
    let git = Git::for_git_dir(repo.git_dir(), Some(&root));
    let commit_hex = commit.to_string();

    let changed = nul_separated(&git.output(&[
        "diff",
        "--name-only",
        "-z",
        "--no-renames",
        "HEAD",
        &commit_hex,
    ])?);
    let dirty = dirty_paths(&git)?;
    let conflicts: Vec<&String> = changed
        .iter()
        .filter(|path| dirty.contains(*path))
        .collect();
    if !conflicts.is_empty() && !args.force {
        let mut message = format!(
            "cannot apply experiment '{name}': it would overwrite uncommitted changes to {} files:",
            conflicts.len()
        );
        for path in &conflicts {
            message.push_str("\n\t");
            message.push_str(path);
        }
        return fail(
            &message,
            &["commit or stash the changes, or rerun with --force to overwrite them"],
        );
    }

    for chunk in changed.chunks(PATHS_PER_CALL) {
        let source = format!("--source={commit_hex}");
        let mut restore: Vec<String> =
            vec!["restore".into(), source, "--worktree".into(), "--".into()];
        restore.extend(chunk.iter().map(|path| format!(":(top,literal){path}")));
        let restore: Vec<&str> = restore.iter().map(String::as_str).collect();
        git.output(&restore)
            .with_context(|| format!("cannot write the files of experiment '{name}'"))?;
    }

    let options = workspace::Options {
        force: args.force,
        fetch: false,
        storage: None,
        jobs: jobs(None),
    };
    let outcome = workspace::checkout(&project, commit, &options, &exp_lib::progress::Silent)?;
    let report = &outcome.report;
    if global.verbose > 0 {
        for path in &changed {
            eprintln!("M\t{path}");
        }
        for path in &report.updated {
            eprintln!("M\t{path}");
        }
    }

    let mut failed = false;
    for kept in &report.kept {
        eprintln!("warning: kept {}: {}", kept.path, kept.reason);
    }
    if !report.kept.is_empty() {
        eprintln!(
            "hint: commit or `dvc add` your changes, or rerun with --force to overwrite them"
        );
        failed = true;
    }
    for (path, key) in &report.missing {
        eprintln!("error: missing {path} ({key}): the object is not in the cache");
        failed = true;
    }
    if !report.missing.is_empty() {
        eprintln!(
            "hint: download the data first with `git exp pull <git_remote> {name}` or `git exp fetch {commit_hex}`"
        );
    }

    git.output(&[
        "update-ref",
        "-m",
        &format!("git exp apply: {name}"),
        EXEC_APPLY,
        &commit_hex,
    ])?;
    if !global.quiet && !failed {
        println!("Changes for experiment '{name}' have been applied to your current workspace.");
    }
    Ok(super::exit_code(failed))
}

/// Returns the paths `git status` reports as modified, staged or untracked.
fn dirty_paths(git: &Git) -> anyhow::Result<BTreeSet<String>> {
    let stdout = git.output(&[
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
        "--no-renames",
    ])?;
    Ok(nul_separated(&stdout)
        .into_iter()
        .filter_map(|entry| entry.get(3..).map(str::to_owned))
        .collect())
}

fn nul_separated(stdout: &[u8]) -> Vec<String> {
    stdout
        .split(|b| *b == 0)
        .filter(|part| !part.is_empty())
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect()
}
