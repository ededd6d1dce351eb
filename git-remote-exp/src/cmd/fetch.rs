//! `git exp fetch [REV ...]`: download the objects of revisions' outputs into the cache.

use std::process::ExitCode;

use exp_lib::collect::{Collector, ObjectSet, Purpose};
use exp_lib::share::{self, Direction};
use exp_lib::transfer;

use super::{exit_code, open_project, report_transfer, Global};
use crate::output::Bar;

/// Download the objects of revisions' DVC outputs into the cache.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Storage to download from, instead of the default (`core.remote`).
    #[arg(short = 'r', long = "remote", value_name = "STORAGE")]
    pub storage: Option<String>,
    /// Number of concurrent transfers [default: 4 x CPU cores].
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Revisions whose outputs to fetch.
    #[arg(default_value = "HEAD")]
    pub revs: Vec<String>,
}

/// Runs `git exp fetch`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<ExitCode> {
    let project = open_project()?;
    let mut collector = Collector::new(project.repo());
    let mut set = ObjectSet::default();
    for rev in &args.revs {
        let commit = project.repo().resolve_commit(rev)?;
        set.extend(&collector.objects(&[commit], Purpose::Fetch)?);
    }
    let missing = share::incomplete(project.cache(), &set);
    if missing.is_empty() {
        if !global.quiet {
            println!("Everything is up to date.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let options = transfer::Options {
        jobs: args.jobs.unwrap_or_else(transfer::default_jobs),
        ..Default::default()
    };
    let bar = Bar::new(!global.quiet);
    let outcome = share::transfer(
        &project,
        &missing,
        Direction::Download,
        args.storage.as_deref(),
        &options,
        &bar,
    );
    Ok(exit_code(report_transfer(global, "fetched from", &outcome)))
}
