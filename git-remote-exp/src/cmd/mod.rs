//! The `git exp` subcommands, one module each. Every module has an `Args` struct for clap
//! and a `run` function returning the process exit code.

use std::process::ExitCode;

use anyhow::Context as _;
use exp_lib::git::Repo;
use exp_lib::project::Project;
use exp_lib::share;

pub mod checkout;
pub mod fetch;
pub mod hook;
pub mod install;
pub mod uninstall;

/// Options every subcommand accepts.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Global {
    /// Print only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print more detail (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Opens the project that contains the current directory.
pub fn open_project() -> anyhow::Result<Project> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let repo = Repo::discover(&cwd)?;
    let head = repo.head_commit().ok().flatten();
    Ok(Project::open(repo, head)?)
}

/// Turns "did anything fail" into the exit code.
pub fn exit_code(failed: bool) -> ExitCode {
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints what a transfer moved and what failed; returns true if anything failed.
pub fn report_transfer(global: &Global, verb: &str, outcome: &share::Outcome) -> bool {
    if !global.quiet && (outcome.transferred > 0 || !outcome.failures.is_empty()) {
        let storages: Vec<String> = outcome
            .storages
            .iter()
            .map(|(name, at)| format!("{name} ({at})"))
            .collect();
        eprintln!(
            "{} objects ({} bytes) {verb} {}",
            outcome.transferred,
            outcome.bytes,
            if storages.is_empty() {
                "storage".to_owned()
            } else {
                storages.join(", ")
            }
        );
    }
    for (key, failure) in &outcome.failures {
        let state = if failure.missing { "missing" } else { "failed" };
        eprintln!("error: {state} {} ({key}): {}", failure.path, failure.message);
    }
    !outcome.failures.is_empty()
}
