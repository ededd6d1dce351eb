//! `git exp uninstall`: remove the hook shims and the refspecs install added.

use std::process::ExitCode;

use anyhow::Context as _;
use exp_lib::git::Repo;
use exp_lib::hooks::install::{self, RemoveAction, Scope};

use super::Global;

/// Remove git-exp's hooks, restore the hooks they chained, and remove the refspecs install added.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Uninstall from this repository (the default).
    #[arg(long, conflicts_with_all = ["global", "system"])]
    pub local: bool,
    /// Uninstall from the user's template directory or core.hooksPath.
    #[arg(long, conflicts_with = "system")]
    pub global: bool,
    /// Uninstall from the system's template directory or core.hooksPath.
    #[arg(long)]
    pub system: bool,
}

/// Runs `git exp uninstall`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<ExitCode> {
    let report = if args.global || args.system {
        let scope = if args.system {
            Scope::System
        } else {
            Scope::Global
        };
        install::uninstall_shared(scope)?
    } else {
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let repo = Repo::discover(&cwd)
            .context("git exp uninstall works on a repository; use --global outside one")?;
        install::uninstall_local(&repo)?
    };
    if global.quiet {
        return Ok(ExitCode::SUCCESS);
    }

    match &report.dir {
        Some(dir) => println!("Hooks in {}:", dir.display()),
        None => println!("No hooks directory is configured."),
    }
    for (hook, _, action) in &report.hooks {
        let what = match action {
            RemoveAction::Removed => "removed".to_owned(),
            RemoveAction::Restored { from } => {
                format!("removed; restored the hook from {}", from.display())
            }
            RemoveAction::NotOurs => "not git-exp's, left alone".to_owned(),
            RemoveAction::Absent => "not installed".to_owned(),
        };
        println!("  {:<22} {what}", hook.name());
    }
    for (remote, removed) in &report.remotes {
        println!("Remote {remote}: removed {}", removed.join(", "));
    }
    if let Some(template) = &report.template_unset {
        println!("Unset init.templateDir ({})", template.display());
    }
    Ok(ExitCode::SUCCESS)
}
