//! `git exp hook <name> ARGS`: the work behind the hook shims that `git exp install` writes.
//!
//! Git's arguments arrive unchanged; `pre-push` and `reference-transaction` read git's
//! input on stdin. Only `pre-push` can fail: the other hooks print warnings and exit 0.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context as _;
use exp_lib::git::{Repo, GUARD_ENV};
use exp_lib::hooks::{self, materialise, pre_push, reference_transaction};
use exp_lib::project::Project;
use exp_lib::transfer;

use super::Global;
use crate::output::Bar;

/// Run the work of a git hook; the hooks that `git exp install` writes call this.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub hook: HookArgs,
}

/// The hooks, with the arguments git passes to each.
#[derive(Debug, clap::Subcommand)]
pub enum HookArgs {
    /// Upload the data of pushed experiment refs (refs on stdin); exits 1 when any is missing.
    PrePush {
        /// The remote's name, or its URL when the push named a URL.
        remote: String,
        /// The URL pushed to.
        #[arg(allow_hyphen_values = true)]
        url: String,
    },
    /// Download the data of experiment refs that a committed transaction created or moved.
    ReferenceTransaction {
        /// The transaction's state: prepared, committed or aborted.
        state: String,
    },
    /// Make the DVC outputs match HEAD after a branch checkout.
    PostCheckout {
        /// HEAD before the checkout; all zeros after a clone.
        old: String,
        /// HEAD after the checkout.
        new: String,
        /// 1 for a branch or commit checkout, 0 for a file checkout.
        flag: String,
    },
    /// Make the DVC outputs match HEAD after a merge.
    PostMerge {
        /// 1 for a squash merge, else 0.
        squash: String,
    },
}

/// Runs `git exp hook`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<ExitCode> {
    if hooks::skip_requested() {
        tracing::debug!(variable = hooks::SKIP_ENV, "hooks are turned off");
        return Ok(ExitCode::SUCCESS);
    }
    match &args.hook {
        HookArgs::PrePush { remote, url } => pre_push(global, remote, url),
        HookArgs::ReferenceTransaction { state } => {
            reference_transaction(global, state);
            Ok(ExitCode::SUCCESS)
        }
        HookArgs::PostCheckout { old, new, flag } => {
            let event = materialise::Event::Checkout {
                old: hooks::parse_object_id(old),
                new: hooks::parse_object_id(new),
                branch: flag == "1",
            };
            materialise_outputs(global, "post-checkout", event);
            Ok(ExitCode::SUCCESS)
        }
        HookArgs::PostMerge { squash } => {
            let event = materialise::Event::Merge {
                squash: squash == "1",
            };
            materialise_outputs(global, "post-merge", event);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn open_repository() -> anyhow::Result<Repo> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    Ok(hooks::open_repository(&cwd)?)
}

fn jobs() -> usize {
    std::env::var("GIT_EXP_JOBS")
        .ok()
        .and_then(|jobs| jobs.parse().ok())
        .unwrap_or_else(transfer::default_jobs)
        .max(1)
}

fn pre_push(global: &Global, remote: &str, url: &str) -> anyhow::Result<ExitCode> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .context("cannot read the refs git is pushing from standard input")?;

    let repo = open_repository()?;
    let git = repo.git();
    if let Some(reason) = pre_push::skip_reason(&git, remote, url)? {
        tracing::debug!(
            ?reason,
            "leaving the data of this push to the remote helper"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let pushed = pre_push::parse_input(&input)?;

    let options = transfer::Options {
        jobs: jobs(),
        ..Default::default()
    };
    let bar = Bar::new(!global.quiet);
    let open_project = || {
        let head = repo.head_commit().ok().flatten();
        Ok(Project::open(repo, head)?)
    };
    let report = pre_push::run(&git, open_project, url, &pushed, &options, &bar)?;

    if !report.internal.is_empty() {
        let shown: Vec<&str> = report.internal.iter().take(3).map(String::as_str).collect();
        let more = report.internal.len().saturating_sub(shown.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        eprintln!(
            "warning: git-exp: this push includes DVC's internal refs {}{more}; they carry no data and clones do not fetch them",
            shown.join(", ")
        );
        let negatives: Vec<String> = hooks::install::negative_refspecs()
            .iter()
            .map(|refspec| format!("'{refspec}'"))
            .collect();
        eprintln!(
            "hint: leave them out by adding {} to the push",
            negatives.join(" ")
        );
    }

    if let Some(outcome) = &report.upload {
        if !global.quiet && (outcome.transferred > 0 || outcome.already_present > 0) {
            eprintln!("git-exp: {}", outcome.upload_summary());
        }
        for (key, failure) in &outcome.failures {
            let state = if failure.missing { "missing" } else { "failed" };
            eprintln!(
                "error: git-exp: {state} {} ({key}): {}",
                failure.path, failure.message
            );
        }
    }
    if report.is_success() {
        return Ok(ExitCode::SUCCESS);
    }

    eprintln!(
        "error: git-exp: stopped the push because the data of {} refs is not in storage:",
        report.rejected.len()
    );
    const SHOWN_REFS: usize = 10;
    for (refname, reason) in report.rejected.iter().take(SHOWN_REFS) {
        eprintln!("  {refname}: {reason}");
    }
    if report.rejected.len() > SHOWN_REFS {
        eprintln!("  and {} more", report.rejected.len() - SHOWN_REFS);
    }
    let missing = report
        .upload
        .as_ref()
        .is_some_and(|outcome| outcome.failures.values().any(|f| f.missing));
    if missing {
        eprintln!("hint: a missing object may be in the cache of the clone that made the experiment; push from there");
    } else {
        eprintln!(
            "hint: check the DVC storage settings (`dvc remote list`, .dvc/config) and push again"
        );
    }
    eprintln!("hint: `GIT_EXP_SKIP_HOOKS=1 git push ...` pushes without the data");
    Ok(ExitCode::FAILURE)
}

fn reference_transaction(global: &Global, state: &str) {
    if state != reference_transaction::COMMITTED {
        return;
    }
    if std::env::var_os(GUARD_ENV).is_some() {
        return;
    }
    let mut input = Vec::new();
    if let Err(error) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("warning: git-exp: cannot read the ref updates from standard input: {error}");
        return;
    }
    let changes = reference_transaction::parse_input(&input);
    let experiments = reference_transaction::changed_experiments(&changes);
    if experiments.is_empty() {
        return;
    }

    let result = open_repository().and_then(|repo| {
        let head = repo.head_commit().ok().flatten();
        let project = Project::open(repo, head)?;
        let options = transfer::Options {
            jobs: jobs(),
            ..Default::default()
        };
        let bar = Bar::new(!global.quiet);
        Ok(reference_transaction::download(
            &project,
            &experiments,
            &options,
            &bar,
        )?)
    });
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            eprintln!(
                "warning: git-exp: cannot download the data of the updated experiments: {error:#}"
            );
            return;
        }
    };

    for (experiment, error) in &report.skipped {
        eprintln!("warning: git-exp: skipped the data of {experiment}: {error}");
    }
    let Some(outcome) = &report.download else {
        return;
    };
    if !global.quiet && outcome.transferred > 0 {
        eprintln!(
            "git-exp: {}",
            outcome.download_summary(&format!("of {} experiments", report.incomplete))
        );
    }
    for (key, failure) in &outcome.failures {
        eprintln!(
            "warning: git-exp: could not download {} ({key}): {}",
            failure.path, failure.message
        );
    }
    if !outcome.failures.is_empty() {
        eprintln!("hint: the experiment refs were updated; `git exp fetch <ref>` downloads their data again");
    }
}

fn materialise_outputs(global: &Global, hook: &str, event: materialise::Event) {
    if std::env::var_os(GUARD_ENV).is_some() {
        return;
    }
    let bar = Bar::new(!global.quiet);
    let result = open_repository().and_then(|repo| {
        let head = repo.head_commit().ok().flatten();
        let project = Project::open(repo, head)?;
        Ok(materialise::run(&project, event, jobs(), &bar)?)
    });
    let outcome = match result {
        Ok(materialise::Report::Done(outcome)) => outcome,
        Ok(materialise::Report::Skipped(materialise::Skip::SquashMerge)) => {
            eprintln!("git-exp: {hook}: a squash merge leaves HEAD unchanged; run `git exp checkout` after committing it");
            return;
        }
        Ok(materialise::Report::Skipped(reason)) => {
            tracing::debug!(?reason, "left the workspace alone");
            return;
        }
        Err(error) => {
            eprintln!("warning: git-exp: {hook}: cannot update the DVC outputs: {error:#}");
            eprintln!("hint: fix the cause, then run `git exp checkout`");
            return;
        }
    };

    if let Some(download) = &outcome.download {
        if !global.quiet && download.transferred > 0 {
            eprintln!("git-exp: {}", download.download_summary(""));
        }
        for (key, failure) in &download.failures {
            eprintln!(
                "warning: git-exp: could not download {} ({key}): {}",
                failure.path, failure.message
            );
        }
    }
    let report = &outcome.report;
    if !global.quiet && !report.updated.is_empty() {
        eprintln!(
            "git-exp: updated {} files of DVC outputs",
            report.updated.len()
        );
    }
    for kept in &report.kept {
        eprintln!("warning: git-exp: kept {}: {}", kept.path, kept.reason);
    }
    for (path, key) in &report.missing {
        eprintln!("warning: git-exp: missing {path} ({key}): the object is neither in the cache nor in storage");
    }
    if !report.kept.is_empty() {
        eprintln!(
            "hint: commit or `dvc add` your changes; `git exp checkout --force` overwrites them"
        );
    }
    if !report.missing.is_empty() {
        eprintln!("hint: run `git exp checkout` once the data is in storage");
    }
}
