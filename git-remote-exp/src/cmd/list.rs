//! `git exp list [git_remote]`: experiments grouped by baseline, as `dvc exp list` prints them.

use std::process::ExitCode;

use exp_lib::git::Repo;
use exp_lib::git_remote;
use exp_lib::resolve::{self, Experiment};

use super::{group_by_baseline, short, Global, Labeler, Selection};

/// List experiments, locally or on a Git remote, grouped by baseline commit.
///
/// Each baseline is labelled by the current branch when it is HEAD, else by a tag or a
/// branch pointing at it, else by its short id. Local listings show each experiment's
/// short id and name; remote listings show names only.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Git remote name or URL whose experiments to list, instead of the local ones.
    pub git_remote: Option<String>,
    #[command(flatten)]
    pub selection: Selection,
    /// Print only the experiment names, one per line.
    #[arg(long, conflicts_with_all = ["sha_only", "json"])]
    pub name_only: bool,
    /// Print only the full commit id of each experiment, one per line (local only).
    #[arg(long, conflicts_with = "json")]
    pub sha_only: bool,
    /// Print the groups as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `git exp list`.
pub fn run(_global: &Global, args: &Args) -> anyhow::Result<ExitCode> {
    let project = super::open_project()?;
    let repo = project.repo();
    if args.sha_only && args.git_remote.is_some() {
        return super::fail("--sha-only is not supported with a Git remote", &[]);
    }

    let experiments = match &args.git_remote {
        Some(spec) => {
            let remote = git_remote::resolve(&repo.git(), project.root(), spec)?;
            resolve::remote_experiments(&repo.git().ls_remote(&remote.fetch_url)?)
        }
        None => resolve::local_experiments(repo)?,
    };
    let mut selected = args.selection.select(repo, &experiments)?;
    if args.selection.all_commits {
        sort_newest_baseline_first(repo, &mut selected);
    }
    let groups = group_by_baseline(&selected);
    let labeler = Labeler::new(repo)?;
    let remote = args.git_remote.is_some();

    if args.json {
        let json: Vec<serde_json::Value> = groups
            .iter()
            .map(|(baseline, members)| {
                let experiments: Vec<serde_json::Value> = members
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "name": e.name(),
                            "rev": if remote { serde_json::Value::Null } else { e.tip.to_string().into() },
                            "ref": e.refname(),
                        })
                    })
                    .collect();
                serde_json::json!({
                    "baseline": baseline.to_string(),
                    "label": labeler.label(baseline),
                    "experiments": experiments,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(ExitCode::SUCCESS);
    }

    for (baseline, members) in &groups {
        if args.name_only || args.sha_only {
            for experiment in members {
                if args.sha_only {
                    println!("{}", experiment.tip);
                } else {
                    println!("{}", experiment.name());
                }
            }
            continue;
        }
        println!("{}:", labeler.label(baseline));
        for experiment in members {
            if remote {
                println!("\t{}", experiment.name());
            } else {
                println!("\t{} [{}]", short(&experiment.tip), experiment.name());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Orders experiments by the commit time of their baseline, newest first; baselines the
/// repository does not have come last. Experiments of one baseline keep their order.
pub fn sort_newest_baseline_first(repo: &Repo, experiments: &mut [Experiment]) {
    experiments.sort_by_cached_key(|e| {
        let seconds = e
            .baseline()
            .filter(|id| repo.has_object(id))
            .and_then(|id| repo.commit_seconds(id).ok());
        (std::cmp::Reverse(seconds), e.exp.baseline().to_owned())
    });
}
