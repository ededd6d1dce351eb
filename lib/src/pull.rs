//! Pulling experiments: their refs from a Git remote, then their data into the local cache.
//!
//! Steps of [`pull`]:
//! 1. Fetch the experiments' commits with the user's git, without updating any ref.
//! 2. Compare each remote tip with the local ref: absent or a descendant of the local tip
//!    means the ref can move, the same commit means up to date, anything else means
//!    diverged, which only `force` overwrites.
//! 3. Move the local refs with `git update-ref`, each guarded by the value seen in step 2.
//! 4. Download into the cache the objects of the outputs in the commits `baseline..tip` of
//!    every pulled or up-to-date experiment that the cache lacks. The transfer engine
//!    verifies every object before it enters the cache.

use std::collections::HashMap;

use crate::collect::{Collector, ObjectSet, Purpose};
use crate::git::{self, CommitId};
use crate::git_remote::GitRemote;
use crate::progress::Progress;
use crate::project::Project;
use crate::resolve::{self, Experiment};
use crate::share::{self, error_chain, Direction};
use crate::transfer;

/// Errors that stop a pull before any experiment is handled.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// git could not fetch or update a ref.
    #[error(transparent)]
    Git(#[from] git::Error),
    /// The local experiments could not be listed.
    #[error(transparent)]
    Resolve(#[from] resolve::Error),
}

/// Settings of one pull.
#[derive(Debug, Clone)]
pub struct Options {
    /// Overwrite local experiments that have diverged from the remote ones.
    pub force: bool,
    /// Download the experiments' cached outputs; false for `--no-cache`.
    pub download: bool,
    /// Storage chosen with `-r`, overriding the default.
    pub storage: Option<String>,
    /// Concurrent transfers.
    pub jobs: usize,
    /// Show git's own progress on stderr.
    pub git_progress: bool,
}

/// Outcome of pulling one experiment's ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The local ref was created or moved to the remote tip.
    Pulled,
    /// The local ref already pointed at the remote tip.
    UpToDate,
    /// The local ref is not an ancestor of the remote tip, and `force` was not set.
    Diverged,
    /// The ref could not be updated, for the reason given.
    Failed(String),
}

/// The result for one experiment.
#[derive(Debug, Clone)]
pub struct ExperimentOutcome {
    /// The remote experiment.
    pub experiment: Experiment,
    /// The outcome for its ref.
    pub status: Status,
    /// True when the pull overwrote a diverged local experiment.
    pub forced: bool,
}

/// The result of a pull.
#[derive(Debug)]
pub struct Outcome {
    /// One entry per experiment, in the order given.
    pub experiments: Vec<ExperimentOutcome>,
    /// Objects the pulled experiments need that the cache lacked before the download.
    pub needed: ObjectSet,
    /// The download, when one ran.
    pub download: Option<share::Outcome>,
    /// Experiments whose outputs could not be read, with the reason; their data is not fetched.
    pub unreadable: Vec<(String, String)>,
}

/// Pulls `experiments`, as listed on `remote`, into the local repository and cache.
///
/// An `Err` means git could not fetch; per-experiment failures are in the outcome.
pub fn pull(
    project: &Project,
    remote: &GitRemote,
    experiments: &[Experiment],
    options: &Options,
    progress: &dyn Progress,
) -> Result<Outcome, Error> {
    let repo = project.repo();
    let git = repo.git();
    let mut outcome = Outcome {
        experiments: Vec::new(),
        needed: ObjectSet::default(),
        download: None,
        unreadable: Vec::new(),
    };
    if experiments.is_empty() {
        return Ok(outcome);
    }

    let wants: Vec<String> = experiments.iter().map(Experiment::refname).collect();
    git.fetch_objects(&remote.fetch_url, &wants, &[], options.git_progress)?;

    let local: HashMap<String, CommitId> = resolve::local_experiments(repo)?
        .into_iter()
        .map(|e| (e.refname(), e.tip))
        .collect();

    for experiment in experiments {
        let refname = experiment.refname();
        let message = format!("git exp pull: from {}", remote.name);
        let current = local.get(&refname);
        let (status, forced) = match current {
            Some(local_tip) if *local_tip == experiment.tip => (Status::UpToDate, false),
            _ => {
                let fast_forward = match current {
                    None => true,
                    Some(local_tip) => git.is_ancestor(local_tip, &experiment.tip)?,
                };
                if fast_forward || options.force {
                    match git.update_ref(&refname, &experiment.tip, current, &message) {
                        Ok(()) => (Status::Pulled, !fast_forward),
                        Err(error) => (Status::Failed(error_chain(&error)), false),
                    }
                } else {
                    (Status::Diverged, false)
                }
            }
        };
        outcome.experiments.push(ExperimentOutcome {
            experiment: experiment.clone(),
            status,
            forced,
        });
    }

    if !options.download {
        return Ok(outcome);
    }
    let mut collector = Collector::new(repo);
    let mut needed = ObjectSet::default();
    for entry in &outcome.experiments {
        if !matches!(entry.status, Status::Pulled | Status::UpToDate) {
            continue;
        }
        let experiment = &entry.experiment;
        let hidden: Vec<CommitId> = experiment.baseline().into_iter().collect();
        let objects = repo
            .commits_in_range(experiment.tip, &hidden)
            .map_err(|e| error_chain(&e))
            .and_then(|commits| {
                collector
                    .objects(&commits, Purpose::Fetch)
                    .map_err(|e| error_chain(&e))
            });
        match objects {
            Ok(objects) => needed.extend(&objects),
            Err(reason) => outcome.unreadable.push((experiment.refname(), reason)),
        }
    }
    outcome.needed = share::incomplete(project.cache(), &needed);
    if !outcome.needed.is_empty() {
        let transfer_options = transfer::Options {
            jobs: options.jobs,
            ..Default::default()
        };
        outcome.download = Some(share::transfer(
            project,
            &outcome.needed,
            Direction::Download,
            options.storage.as_deref(),
            &transfer_options,
            progress,
        ));
    }
    Ok(outcome)
}
