//! `git exp install`: write the hook shims and set the fetch refspec for experiments.

use std::process::ExitCode;

use anyhow::Context as _;
use exp_lib::git::Repo;
use exp_lib::hooks::install::{self, HookAction, InstallReport, Location, Options, Scope, Source};

use super::Global;

/// Install the hooks that make ordinary remotes move experiment data, and fetch experiments.
///
/// A hook that is already there and not git-exp's is chained: it moves to
/// `<hook>.before-git-exp` and runs first, with the same arguments and input.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Install into this repository and configure its remote (the default).
    #[arg(long, conflicts_with_all = ["global", "system"])]
    pub local: bool,
    /// Install for every repository that `git clone` or `git init` creates from now on, through
    /// the user's `init.templateDir` (or the user's `core.hooksPath` when set).
    #[arg(long, conflicts_with = "system")]
    pub global: bool,
    /// Like --global, for every user of the machine (system config).
    #[arg(long)]
    pub system: bool,
    /// Overwrite hooks that are not git-exp's instead of chaining them; they are lost.
    #[arg(short, long, conflicts_with = "manual")]
    pub force: bool,
    /// Leave hooks that are not git-exp's alone and print the lines to add to each.
    #[arg(long)]
    pub manual: bool,
    /// Also make a plain `git push` push experiments (adds push refspecs, which replace push.default).
    #[arg(long, conflicts_with_all = ["global", "system"])]
    pub push_experiments: bool,
    /// Git remote whose fetches bring experiments; repeatable [default: origin, or the only remote].
    #[arg(long = "git-remote", value_name = "REMOTE", conflicts_with_all = ["global", "system"])]
    pub git_remotes: Vec<String>,
}

/// Runs `git exp install`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<ExitCode> {
    let options = Options {
        force: args.force,
        manual: args.manual,
        push_experiments: args.push_experiments,
        remotes: args.git_remotes.clone(),
    };
    let report = if args.global || args.system {
        let scope = if args.system {
            Scope::System
        } else {
            Scope::Global
        };
        install::install_shared(scope, &options).map_err(|error| hint_on_conflict(error.into()))?
    } else {
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let repo = Repo::discover(&cwd)
            .context("git exp install works on a repository; use --global outside one")?;
        install::install_local(&repo, &options).map_err(|error| hint_on_conflict(error.into()))?
    };
    print_report(global, &report);
    Ok(ExitCode::SUCCESS)
}

fn hint_on_conflict(error: anyhow::Error) -> anyhow::Error {
    match error.downcast_ref::<install::Error>() {
        Some(install::Error::ChainSlotTaken { .. }) => error.context(
            "nothing was installed; rerun with --manual to leave that hook alone, or --force to overwrite it",
        ),
        _ => error,
    }
}

/// Describes where the hooks went.
pub fn describe_location(location: &Location) -> String {
    let dir = location.dir.display();
    match &location.source {
        Source::GitDir => format!("{dir}"),
        Source::HooksPath { scope } => format!("{dir} (core.hooksPath, {scope} config)"),
        Source::Template { template, .. } => {
            format!(
                "{dir} (template {}, copied into new clones and inits)",
                template.display()
            )
        }
    }
}

fn print_report(global: &Global, report: &InstallReport) {
    let mut manual = Vec::new();
    if !global.quiet {
        println!("Hooks in {}:", describe_location(&report.location));
    }
    for outcome in &report.hooks {
        let what = match &outcome.action {
            HookAction::Installed => "installed".to_owned(),
            HookAction::Upgraded { from } => format!("upgraded from shim version {from}"),
            HookAction::UpToDate => "up to date".to_owned(),
            HookAction::Chained { chained } => format!(
                "installed; the existing hook moved to {} and runs first",
                chained.display()
            ),
            HookAction::Replaced => "installed over the existing hook".to_owned(),
            HookAction::Manual { snippet } => {
                manual.push((outcome.path.clone(), *snippet));
                "left alone (--manual)".to_owned()
            }
        };
        if !global.quiet {
            println!("  {:<22} {what}", outcome.hook.name());
        }
    }
    for (path, snippet) in manual {
        println!();
        println!("Add these lines to {}:", path.display());
        for line in snippet.lines() {
            println!("    {line}");
        }
    }

    if let Source::HooksPath { scope } = &report.location.source {
        if scope != "local" && scope != "worktree" {
            eprintln!(
                "warning: the hooks directory comes from core.hooksPath in the {scope} config, so every repository using it now runs these hooks"
            );
        }
    }
    for remote in &report.remotes {
        if !global.quiet {
            if remote.added_fetch.is_empty() {
                println!("Remote {}: already fetches experiments", remote.remote);
            } else {
                println!(
                    "Remote {}: fetches experiments (added {})",
                    remote.remote,
                    remote.added_fetch.join(" ")
                );
            }
            if !remote.added_push.is_empty() {
                println!(
                    "Remote {}: a plain git push pushes experiments (added {})",
                    remote.remote,
                    remote.added_push.join(" ")
                );
            }
        }
        if remote.prunes {
            eprintln!(
                "warning: pruning is on for {0}, so `git fetch` deletes local experiments that {0} lacks; push them first or set remote.{0}.prune false",
                remote.remote
            );
        }
    }
    if !report.unchosen_remotes.is_empty() {
        eprintln!(
            "hint: no remote fetches experiments yet; choose one with `git exp install --git-remote NAME` (remotes: {})",
            report.unchosen_remotes.join(", ")
        );
    }
}
