//! `git exp branch <exp> [branch]`: a Git branch at an experiment's tip.

use std::process::ExitCode;

use super::{fail, Global};

/// Create a Git branch from an experiment.
///
/// The branch points at the experiment's tip commit, so its history includes the
/// baseline. It must not exist yet.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Experiment to branch from: a name, BASELINE/NAME, a full ref or any Git revision.
    pub experiment: String,
    /// Name of the new branch [default: <experiment>-branch].
    pub branch: Option<String>,
}

/// Runs `git exp branch`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<ExitCode> {
    let project = super::open_project()?;
    let repo = project.repo();
    let (commit, name) = super::resolve_experiment_or_revision(repo, &args.experiment)?;
    let branch = args
        .branch
        .clone()
        .unwrap_or_else(|| format!("{name}-branch"));
    let git = repo.git();

    if git
        .output(&["check-ref-format", "--branch", &branch])
        .is_err()
    {
        return fail(&format!("'{branch}' is not a valid Git branch name"), &[]);
    }
    let refname = format!("refs/heads/{branch}");
    if repo.resolve_object(&refname).is_ok() {
        return fail(&format!("Git branch '{branch}' already exists."), &[]);
    }
    git.update_ref(
        &refname,
        &commit,
        None,
        &format!("dvc: Created from experiment '{name}'"),
    )?;

    if !global.quiet {
        println!("Git branch '{branch}' has been created from experiment '{name}'.");
        println!("To switch to the new branch run:");
        println!();
        println!("\tgit checkout {branch}");
    }
    Ok(ExitCode::SUCCESS)
}
