//! `git exp checkout [--force] [REV]`: make the workspace's DVC outputs match a revision.

use std::path::PathBuf;
use std::process::ExitCode;

use exp_lib::{checkout, transfer, workspace};

use super::{exit_code, open_project, print_limited, report_transfer, Global};
use crate::output::Bar;

/// Make the workspace's DVC outputs match a revision, downloading missing objects first.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Overwrite workspace files even when their content is not in the cache.
    #[arg(short, long)]
    pub force: bool,
    /// Storage to download from, instead of the default (`core.remote`).
    #[arg(short = 'r', long = "remote", value_name = "STORAGE")]
    pub storage: Option<String>,
    /// Number of concurrent transfers [default: 4 x CPU cores].
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Revision whose outputs to check out.
    #[arg(default_value = "HEAD")]
    pub rev: String,
}

/// Runs `git exp checkout`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<ExitCode> {
    let project = open_project()?;
    let commit = project.repo().resolve_commit(&args.rev)?;
    let options = workspace::Options {
        force: args.force,
        fetch: true,
        storage: args.storage.clone(),
        jobs: args.jobs.unwrap_or_else(transfer::default_jobs),
    };
    let bar = Bar::new(!global.quiet);
    let outcome = match workspace::checkout(&project, commit, &options, &bar) {
        Err(workspace::Error::Checkout(error @ checkout::Error::DamagedObject { .. })) => {
            return super::fail(
                &error.to_string(),
                &["run `git exp checkout` again to download a good copy from storage"],
            );
        }
        outcome => outcome?,
    };
    let root = project.root().map(PathBuf::from).unwrap_or_default();

    let mut failed = false;
    if let Some(download) = &outcome.download {
        failed |= report_transfer(global, "fetched from", download);
    }
    let report = &outcome.report;
    if !global.quiet {
        for path in &report.updated {
            println!("M\t{path}");
        }
    }
    for kept in &report.kept {
        eprintln!("warning: kept {}: {}", kept.path, kept.reason);
    }
    let missing = report.missing.iter().map(|(path, key)| {
        format!(
            "error: missing {path} ({key}): the object is neither in the cache nor downloadable"
        )
    });
    print_limited(missing, report.missing.len(), global.verbose > 0);
    failed |= !report.missing.is_empty();
    if !report.kept.is_empty() {
        eprintln!(
            "hint: commit or `dvc add` your changes, or rerun with --force to overwrite them"
        );
        failed = true;
    }
    if !global.quiet {
        println!(
            "{} files updated, {} unchanged, {} kept, {} missing in {}",
            report.updated.len(),
            report.unchanged,
            report.kept.len(),
            report.missing.len(),
            root.display()
        );
    }
    Ok(exit_code(failed))
}
