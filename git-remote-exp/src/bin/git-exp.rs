//! `git-exp`: the porcelain for DVC experiments and their data on plain Git.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use git_remote_exp::cmd::{self, Global};
use git_remote_exp::output;

/// Share DVC experiments and their data with plain Git.
#[derive(Debug, Parser)]
#[command(name = "git exp", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    global: Global,

    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Make the workspace's DVC outputs match a revision, downloading missing objects first.
    Checkout(cmd::checkout::Args),
    /// Download the objects of revisions' DVC outputs into the cache.
    Fetch(cmd::fetch::Args),
    /// Run the work of a git hook; the hooks that `git exp install` writes call this.
    Hook(cmd::hook::Args),
    /// Install the hooks that make ordinary remotes move experiment data, and fetch experiments.
    Install(cmd::install::Args),
    /// Remove git-exp's hooks and the refspecs install added, restoring chained hooks.
    Uninstall(cmd::uninstall::Args),
}

fn main() -> ExitCode {
    output::init_logging();
    let cli = Cli::parse();
    let result = match &cli.command {
        Commands::Checkout(args) => cmd::checkout::run(&cli.global, args),
        Commands::Fetch(args) => cmd::fetch::run(&cli.global, args),
        Commands::Hook(args) => cmd::hook::run(&cli.global, args),
        Commands::Install(args) => cmd::install::run(&cli.global, args),
        Commands::Uninstall(args) => cmd::uninstall::run(&cli.global, args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            output::print_error("git exp", &error, &[]);
            ExitCode::FAILURE
        }
    }
}
