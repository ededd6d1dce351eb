//! `git exp pull <git_remote> [exp ...]`: pull experiments, then their data into the cache.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use exp_lib::git_remote;
use exp_lib::pull::{self, Status};
use exp_lib::resolve::{self, Experiment};

use super::{fail, jobs, print_transfer_failures, print_transfer_summary, Global, Selection};
use crate::output::Bar;

/// Pull experiments from a Git remote, and their cached outputs into the cache.
///
/// Without names, pulls the remote experiments whose baseline is HEAD (widen with --rev,
/// -n, -A). Objects are verified before they enter the cache; the workspace is not
/// changed (see `git exp apply`).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Git remote name or URL to pull from.
    pub git_remote: String,
    /// Experiments to pull: names, BASELINE/NAME or full refs.
    pub experiments: Vec<String>,
    #[command(flatten)]
    pub selection: Selection,
    /// Replace local experiments that have diverged from the remote ones.
    #[arg(short, long)]
    pub force: bool,
    /// Pull the refs only, without downloading cached outputs.
    #[arg(long)]
    pub no_cache: bool,
    /// Storage to download from, instead of the default (`core.remote`).
    #[arg(short = 'r', long = "remote", value_name = "STORAGE")]
    pub storage: Option<String>,
    /// Number of concurrent downloads [default: 4 x CPU cores].
    #[arg(short, long)]
    pub jobs: Option<usize>,
}

/// Runs `git exp pull`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<ExitCode> {
    let project = super::open_project()?;
    let repo = project.repo();
    let remote = git_remote::resolve(&repo.git(), project.root(), &args.git_remote)?;
    let listing = repo.git().ls_remote(&remote.fetch_url)?;
    let available = resolve::remote_experiments(&listing);
    let head = repo.head_commit()?;

    // As in DVC, -A takes every remote experiment and names are then ignored.
    let selected: Vec<Experiment> = if args.selection.all_commits {
        available.clone()
    } else if !args.experiments.is_empty() {
        let mut selected = Vec::new();
        let unknown = super::resolve_names(&args.experiments, &available, head, &mut selected)?;
        if let Some(name) = unknown.first() {
            let message = format!("experiment '{name}' does not exist in '{}'", remote.name);
            return fail(
                &message,
                &["`git exp list <git_remote>` shows the remote experiments"],
            );
        }
        selected
    } else {
        let baselines = args.selection.baselines(repo)?;
        resolve::select_by_baselines(&available, &baselines)
            .into_iter()
            .cloned()
            .collect()
    };
    if selected.is_empty() {
        if !global.quiet {
            println!("No experiments to pull.");
        }
        return Ok(ExitCode::SUCCESS);
    }

    let options = pull::Options {
        force: args.force,
        download: !args.no_cache,
        storage: args.storage.clone(),
        jobs: jobs(args.jobs),
        git_progress: !global.quiet && std::io::stderr().is_terminal(),
    };
    let bar = Bar::new(!global.quiet);
    let started = Instant::now();
    let outcome = pull::pull(&project, &remote, &selected, &options, &bar)?;
    let elapsed = started.elapsed();

    let mut failed = false;
    let mut diverged = false;
    for entry in &outcome.experiments {
        let name = entry.experiment.name();
        match &entry.status {
            Status::Pulled => {
                if !global.quiet {
                    println!(
                        "Pulled experiment {name} from Git remote '{}'.",
                        remote.name
                    );
                }
            }
            Status::UpToDate => {
                if !global.quiet {
                    println!(
                        "Experiment {name} is up to date with Git remote '{}'.",
                        remote.name
                    );
                }
            }
            Status::Diverged => {
                eprintln!("Local experiment {name} has diverged from remote experiment with the same name.");
                diverged = true;
                failed = true;
            }
            Status::Failed(reason) => {
                eprintln!("error: experiment {name} was not pulled: {reason}");
                failed = true;
            }
        }
    }
    if diverged {
        eprintln!("hint: To override the local experiment re-run with '--force'.");
    }
    for (refname, reason) in &outcome.unreadable {
        eprintln!("error: cannot read the outputs of {refname}: {reason}");
        failed = true;
    }

    match &outcome.download {
        Some(download) => {
            print_transfer_summary(global, "fetched", download, elapsed);
            failed |= print_transfer_failures(download);
        }
        None if options.download && !global.quiet => {
            println!(
                "0 files fetched (the cache has every object, {:.2} s)",
                elapsed.as_secs_f64()
            );
        }
        None => {}
    }
    if args.no_cache && !global.quiet {
        println!(
            "To pull cached outputs for this experiment from DVC remote storage, re-run this command without '--no-cache'."
        );
    }
    Ok(super::exit_code(failed))
}
