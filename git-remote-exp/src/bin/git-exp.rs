//! `git-exp`: the porcelain for DVC experiments and their data on plain Git.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use exp_lib::collect::{Collector, ObjectSet, Purpose};
use exp_lib::git::Repo;
use exp_lib::project::Project;
use exp_lib::share::{self, Direction};
use exp_lib::{transfer, workspace};
use git_remote_exp::output::{self, Bar};

/// Share DVC experiments and their data with plain Git.
#[derive(Debug, Parser)]
#[command(name = "git exp", version, about, long_about = None)]
struct Cli {
    /// Print only errors.
    #[arg(short, long, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Make the workspace's DVC outputs match a revision, downloading missing objects first.
    Checkout(CheckoutArgs),
    /// Download the objects of revisions' DVC outputs into the cache.
    Fetch(FetchArgs),
}

#[derive(Debug, clap::Args)]
struct CheckoutArgs {
    /// Overwrite workspace files even when their content is not in the cache.
    #[arg(short, long)]
    force: bool,
    /// Storage to download from, instead of the default (`core.remote`).
    #[arg(short = 'r', long = "remote", value_name = "STORAGE")]
    storage: Option<String>,
    /// Number of concurrent transfers [default: 4 x CPU cores].
    #[arg(short, long)]
    jobs: Option<usize>,
    /// Revision whose outputs to check out.
    #[arg(default_value = "HEAD")]
    rev: String,
}

#[derive(Debug, clap::Args)]
struct FetchArgs {
    /// Storage to download from, instead of the default (`core.remote`).
    #[arg(short = 'r', long = "remote", value_name = "STORAGE")]
    storage: Option<String>,
    /// Number of concurrent transfers [default: 4 x CPU cores].
    #[arg(short, long)]
    jobs: Option<usize>,
    /// Revisions whose outputs to fetch.
    #[arg(default_value = "HEAD")]
    revs: Vec<String>,
}

fn main() -> ExitCode {
    output::init_logging();
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(error) => {
            output::print_error("git exp", &error, &[]);
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Commands::Checkout(args) => checkout(cli, args),
        Commands::Fetch(args) => fetch(cli, args),
    }
}

fn open_project() -> anyhow::Result<Project> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let repo = Repo::discover(&cwd)?;
    let head = repo.head_commit().ok().flatten();
    Ok(Project::open(repo, head)?)
}

fn checkout(cli: &Cli, args: &CheckoutArgs) -> anyhow::Result<ExitCode> {
    let project = open_project()?;
    let commit = project.repo().resolve_commit(&args.rev)?;
    let options = workspace::Options {
        force: args.force,
        fetch: true,
        storage: args.storage.clone(),
        jobs: args.jobs.unwrap_or_else(transfer::default_jobs),
    };
    let bar = Bar::new(!cli.quiet);
    let outcome = workspace::checkout(&project, commit, &options, &bar)?;
    let root = project.root().map(PathBuf::from).unwrap_or_default();

    let mut failed = false;
    if let Some(download) = &outcome.download {
        failed |= report_transfer(cli, "fetched", download);
    }
    let report = &outcome.report;
    if !cli.quiet {
        for path in &report.updated {
            println!("M\t{path}");
        }
    }
    for kept in &report.kept {
        eprintln!("warning: kept {}: {}", kept.path, kept.reason);
    }
    for (path, key) in &report.missing {
        eprintln!("error: missing {path} ({key}): the object is neither in the cache nor downloadable");
        failed = true;
    }
    if !report.kept.is_empty() {
        eprintln!("hint: commit or `dvc add` your changes, or rerun with --force to overwrite them");
        failed = true;
    }
    if !cli.quiet {
        println!(
            "{} files updated, {} unchanged, {} kept, {} missing in {}",
            report.updated.len(),
            report.unchanged,
            report.kept.len(),
            report.missing.len(),
            root.display()
        );
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn fetch(cli: &Cli, args: &FetchArgs) -> anyhow::Result<ExitCode> {
    let project = open_project()?;
    let mut collector = Collector::new(project.repo());
    let mut set = ObjectSet::default();
    for rev in &args.revs {
        let commit = project.repo().resolve_commit(rev)?;
        set.extend(&collector.objects(&[commit], Purpose::Fetch)?);
    }
    let missing = share::incomplete(project.cache(), &set);
    if missing.is_empty() {
        if !cli.quiet {
            println!("Everything is up to date.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let options = transfer::Options {
        jobs: args.jobs.unwrap_or_else(transfer::default_jobs),
    };
    let bar = Bar::new(!cli.quiet);
    let outcome = share::transfer(&project, &missing, Direction::Download, args.storage.as_deref(), &options, &bar);
    let failed = report_transfer(cli, "fetched", &outcome);
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Prints what a transfer moved and what failed; returns true if anything failed.
fn report_transfer(cli: &Cli, verb: &str, outcome: &share::Outcome) -> bool {
    if !cli.quiet && (outcome.transferred > 0 || !outcome.failures.is_empty()) {
        let storages: Vec<String> = outcome.storages.iter().map(|(n, at)| format!("{n} ({at})")).collect();
        eprintln!(
            "{} objects ({} bytes) {verb} from {}",
            outcome.transferred,
            outcome.bytes,
            if storages.is_empty() { "storage".to_owned() } else { storages.join(", ") }
        );
    }
    for (key, failure) in &outcome.failures {
        let state = if failure.missing { "missing" } else { "failed" };
        eprintln!("error: {state} {} ({key}): {}", failure.path, failure.message);
    }
    !outcome.failures.is_empty()
}
