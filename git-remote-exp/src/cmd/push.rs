//! `git exp push <git_remote> [exp ...]`: push experiments, their data to storage first.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use exp_lib::git_remote;
use exp_lib::push::{self, Status};
use exp_lib::resolve::{self, Experiment};

use super::{
    fail, jobs, not_valid_names, print_transfer_failures, print_transfer_summary, push_unique,
    Global, Selection,
};
use crate::output::Bar;

/// Push experiments to a Git remote, their cached outputs to DVC storage first.
///
/// Without names, pushes the experiments of HEAD's baseline (widen with --rev, -n, -A).
/// The objects uploaded are those of the outputs in the experiment's own commits, from its
/// baseline (excluded) to its tip. A ref whose data could not be stored is not pushed.
///
/// An object counts as stored when storage has a file of the right size under its name;
/// one of another size is uploaded again. --verify also downloads and hashes every stored
/// object, and uploads the cache's copy over each corrupt one.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Git remote name or URL to push to.
    pub git_remote: String,
    /// Experiments to push: names, BASELINE/NAME or full refs.
    pub experiments: Vec<String>,
    #[command(flatten)]
    pub selection: Selection,
    /// Replace remote experiments that have diverged from the local ones.
    #[arg(short, long)]
    pub force: bool,
    /// Push the refs only, without uploading cached outputs.
    #[arg(long)]
    pub no_cache: bool,
    /// Storage to upload to, instead of the default (`core.remote`).
    #[arg(short = 'r', long = "remote", value_name = "STORAGE")]
    pub storage: Option<String>,
    /// Number of concurrent uploads [default: 4 x CPU cores].
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Download and hash each object already in storage; replace corrupt ones.
    #[arg(long, conflicts_with = "no_cache")]
    pub verify: bool,
}

/// Runs `git exp push`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<ExitCode> {
    let project = super::open_project()?;
    let repo = project.repo();
    let local = resolve::local_experiments(repo)?;
    let head = repo.head_commit()?;

    let mut selected: Vec<Experiment> = Vec::new();
    if args.selection.all_commits {
        selected.extend(local.iter().cloned());
    }
    if args.experiments.is_empty() {
        for experiment in args.selection.select(repo, &local)? {
            push_unique(&mut selected, experiment);
        }
    } else {
        let unknown = super::resolve_names(&args.experiments, &local, head, &mut selected)?;
        if !unknown.is_empty() {
            return fail(
                &not_valid_names(&unknown),
                &["`git exp list` shows the local experiments"],
            );
        }
    }
    if selected.is_empty() {
        if !global.quiet {
            println!("No experiments to push.");
        }
        return Ok(ExitCode::SUCCESS);
    }

    let remote = git_remote::resolve(&repo.git(), project.root(), &args.git_remote)?;
    let options = push::Options {
        force: args.force,
        upload: !args.no_cache,
        storage: args.storage.clone(),
        jobs: jobs(args.jobs),
        verify: args.verify,
        git_progress: !global.quiet && std::io::stderr().is_terminal(),
    };
    if global.verbose > 0 {
        eprintln!(
            "pushing {} experiments to {}",
            selected.len(),
            remote.push_url
        );
    }
    let bar = Bar::new(!global.quiet);
    let started = Instant::now();
    let outcome = push::push(&project, &remote, &selected, &options, &bar)?;
    let elapsed = started.elapsed();

    let mut failed = false;
    let mut diverged = false;
    for entry in &outcome.experiments {
        let name = entry.experiment.name();
        match &entry.status {
            Status::Pushed => {
                if !global.quiet {
                    println!("Pushed experiment {name} to Git remote '{}'.", remote.name);
                }
            }
            Status::UpToDate => {
                if !global.quiet {
                    println!(
                        "Experiment {name} is up to date on Git remote '{}'.",
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
                eprintln!("error: experiment {name} was not pushed: {reason}");
                failed = true;
            }
        }
        let sent = matches!(entry.status, Status::Pushed | Status::UpToDate);
        if sent && options.upload && entry.objects == 0 && !global.quiet {
            println!("note: experiment {name} has no cached outputs, so it needs no DVC storage.");
        }
        if global.verbose > 0 {
            eprintln!(
                "{}: {} objects, forced: {}",
                entry.experiment.refname(),
                entry.objects,
                entry.forced
            );
        }
    }
    if diverged {
        eprintln!("hint: To override the remote experiment re-run with '--force'.");
    }

    if let Some(upload) = &outcome.upload {
        print_transfer_summary(global, "uploaded", upload, elapsed);
        print_replaced(global, upload);
        failed |= print_transfer_failures(upload);
    }
    if args.no_cache && !global.quiet {
        println!(
            "To push cached outputs for this experiment to DVC remote storage, re-run this command without '--no-cache'."
        );
    }
    Ok(super::exit_code(failed))
}

/// Prints, per storage, which corrupt stored objects `--verify` replaced.
fn print_replaced(global: &Global, upload: &exp_lib::share::Outcome) {
    if global.quiet {
        return;
    }
    let mut by_storage: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (key, (_, storage)) in &upload.replaced {
        by_storage.entry(storage).or_default().push(key.to_string());
    }
    for (storage, ids) in by_storage {
        let objects = if ids.len() == 1 { "object" } else { "objects" };
        println!(
            "replaced {} corrupt {objects} in storage '{storage}': {}",
            ids.len(),
            ids.join(", ")
        );
    }
}
