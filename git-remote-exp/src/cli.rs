//! The `git exp` command line: every subcommand and the dispatch to its module.
//!
//! The definition lives in the library part of the crate so that `git exp generate` can
//! build man pages and shell completions from the same clap command the binary parses.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::cmd::{self, Global};

/// Share DVC experiments and their data with plain Git.
#[derive(Debug, Parser)]
#[command(name = "git exp", bin_name = "git exp", version)]
pub struct Cli {
    /// Options every subcommand accepts.
    #[command(flatten)]
    pub global: Global,

    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Commands,
}

/// The `git exp` subcommands; each takes its help text from its `Args` struct.
#[derive(Debug, Subcommand)]
pub enum Commands {
    Push(cmd::push::Args),
    Pull(cmd::pull::Args),
    #[command(visible_alias = "ls")]
    List(cmd::list::Args),
    Show(cmd::show::Args),
    Apply(cmd::apply::Args),
    Branch(cmd::branch::Args),
    #[command(visible_alias = "rm")]
    Remove(cmd::remove::Args),
    Remote(cmd::remote::Args),
    Status(cmd::status::Args),
    Checkout(cmd::checkout::Args),
    Fetch(cmd::fetch::Args),
    /// Run the work of a git hook; the hooks that `git exp install` writes call this.
    Hook(cmd::hook::Args),
    /// Install the hooks that make ordinary remotes move experiment data, and fetch experiments.
    Install(cmd::install::Args),
    /// Remove git-exp's hooks and the refspecs install added, restoring chained hooks.
    Uninstall(cmd::uninstall::Args),
    #[command(hide = true)]
    Generate(cmd::generate::Args),
}

/// Runs the subcommand `cli` names.
pub fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    let global = &cli.global;
    match &cli.command {
        Commands::Push(args) => cmd::push::run(global, args),
        Commands::Pull(args) => cmd::pull::run(global, args),
        Commands::List(args) => cmd::list::run(global, args),
        Commands::Show(args) => cmd::show::run(global, args),
        Commands::Apply(args) => cmd::apply::run(global, args),
        Commands::Branch(args) => cmd::branch::run(global, args),
        Commands::Remove(args) => cmd::remove::run(global, args),
        Commands::Remote(args) => cmd::remote::run(global, args),
        Commands::Status(args) => cmd::status::run(global, args),
        Commands::Checkout(args) => cmd::checkout::run(global, args),
        Commands::Fetch(args) => cmd::fetch::run(global, args),
        Commands::Hook(args) => cmd::hook::run(global, args),
        Commands::Install(args) => cmd::install::run(global, args),
        Commands::Uninstall(args) => cmd::uninstall::run(global, args),
        Commands::Generate(args) => cmd::generate::run(global, args),
    }
}
