//! `git exp remove [exp ...]`: delete experiment refs, locally or on a Git remote.

use std::process::ExitCode;

use exp_lib::git::{CommitId, PushOptions};
use exp_lib::git_remote;
use exp_lib::resolve::{self, Experiment};

use super::{fail, join_quoted, not_valid_names, push_unique, Global};

/// DVC's record of the experiment last applied, which goes away with that experiment.
const EXEC_APPLY: &str = "refs/exps/exec/EXEC_APPLY";

/// Remove experiments, locally or on a Git remote.
///
/// Needs experiment names, or --rev or --all-commits. With -g, the refs are deleted on
/// the Git remote only and the local ones stay; no data is deleted anywhere.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Experiments to remove: names, BASELINE/NAME or full refs.
    pub experiments: Vec<String>,
    /// Remove the experiments of every baseline commit.
    #[arg(short = 'A', long = "all-commits")]
    pub all_commits: bool,
    /// Remove the experiments whose baseline is this commit (repeatable).
    #[arg(long = "rev", value_name = "COMMIT")]
    pub revs: Vec<String>,
    /// With --rev, also remove those of the first N-1 first-parent ancestors; a negative
    /// N means every ancestor.
    #[arg(
        short = 'n',
        long = "num",
        value_name = "N",
        default_value_t = 1,
        allow_negative_numbers = true
    )]
    pub num: i64,
    /// Remove the experiments from this Git remote (name or URL) instead of locally.
    #[arg(short = 'g', long = "git-remote", value_name = "GIT_REMOTE")]
    pub git_remote: Option<String>,
}

/// Runs `git exp remove`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<ExitCode> {
    let by_flags = args.all_commits || !args.revs.is_empty();
    let by_names = !args.experiments.is_empty();
    if by_names == by_flags {
        return fail(
            "either provide an experiment argument, or use the --rev or --all-commits flag",
            &[],
        );
    }

    let project = super::open_project()?;
    let repo = project.repo();
    let git = repo.git();
    let head = repo.head_commit()?;
    let remote = match &args.git_remote {
        Some(spec) => Some(git_remote::resolve(&git, project.root(), spec)?),
        None => None,
    };
    let available = match &remote {
        Some(remote) => resolve::remote_experiments(&git.ls_remote(&remote.fetch_url)?),
        None => resolve::local_experiments(repo)?,
    };

    let mut selected: Vec<Experiment> = Vec::new();
    if args.all_commits {
        selected.extend(available.iter().cloned());
    } else if !args.revs.is_empty() {
        let baselines = resolve::baselines(repo, &args.revs, resolve::Depth::from_num(args.num))?;
        for experiment in resolve::select_by_baselines(&available, &baselines) {
            push_unique(&mut selected, experiment.clone());
        }
    } else {
        let unknown = super::resolve_names(&args.experiments, &available, head, &mut selected)?;
        match (&remote, unknown.first()) {
            (Some(remote), Some(name)) => {
                return fail(
                    &format!("experiment '{name}' does not exist in '{}'", remote.name),
                    &[],
                );
            }
            (None, Some(_)) => return fail(&not_valid_names(&unknown), &[]),
            _ => {}
        }
    }
    if selected.is_empty() {
        if !global.quiet {
            println!("No experiments to remove.");
        }
        return Ok(ExitCode::SUCCESS);
    }

    let mut removed: Vec<&str> = Vec::new();
    let mut failed = false;
    match &remote {
        Some(remote) => {
            let refspecs: Vec<String> = selected
                .iter()
                .map(|e| format!(":{}", e.refname()))
                .collect();
            let options = PushOptions {
                leases: selected
                    .iter()
                    .map(|e| format!("{}:{}", e.refname(), e.tip))
                    .collect(),
                ..PushOptions::default()
            };
            let statuses = git.push(&remote.push_url, &refspecs, &options)?;
            for experiment in &selected {
                let status = statuses.iter().find(|s| s.dst == experiment.refname());
                match status {
                    Some(status) if status.flag != '!' => removed.push(experiment.name()),
                    Some(status) => {
                        eprintln!(
                            "error: cannot remove {} from '{}': {}",
                            experiment.name(),
                            remote.name,
                            status.summary
                        );
                        failed = true;
                    }
                    None => {
                        eprintln!(
                            "error: git push reported nothing for {}",
                            experiment.refname()
                        );
                        failed = true;
                    }
                }
            }
        }
        None => {
            let removed_tips: Vec<CommitId> = selected.iter().map(|e| e.tip).collect();
            for experiment in &selected {
                match git.delete_ref(&experiment.refname(), &experiment.tip) {
                    Ok(()) => removed.push(experiment.name()),
                    Err(error) => {
                        eprintln!("error: cannot remove {}: {error}", experiment.name());
                        failed = true;
                    }
                }
            }
            for (name, commit) in repo.refs_with_prefix("refs/exps/exec/")? {
                if name == EXEC_APPLY && removed_tips.contains(&commit) {
                    git.delete_ref(&name, &commit)?;
                }
            }
        }
    }

    if !removed.is_empty() && !global.quiet {
        println!("Removed experiments: {}", join_quoted(&removed));
    }
    Ok(super::exit_code(failed))
}
