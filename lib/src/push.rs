//! Pushing experiments: their data to DVC storage first, then their refs to a Git remote.
//!
//! Steps of [`push`]:
//! 1. List the remote's refs and compare each experiment with its remote ref: absent or an
//!    ancestor of the local tip means the ref can move, the same commit means up to date,
//!    anything else means diverged, which only `force` overwrites.
//! 2. Collect the objects of the outputs in the commits `baseline..tip` of every experiment
//!    that will be pushed or is up to date, and upload their union once.
//! 3. Push, with the user's git, the refs whose objects all reached storage.
//!
//! A ref whose data failed is never pushed, so the remote never names data that storage
//! lacks. A forced push carries a lease on the remote value seen in step 1.

use std::collections::HashMap;

use crate::git::{self, CommitId, PushOptions};
use crate::git_remote::GitRemote;
use crate::progress::Progress;
use crate::project::Project;
use crate::publish::{self, RefUpdate};
use crate::resolve::Experiment;
use crate::share;
use crate::transfer;

/// Settings of one push.
#[derive(Debug, Clone)]
pub struct Options {
    /// Overwrite remote experiments that have diverged from the local ones.
    pub force: bool,
    /// Upload the experiments' cached outputs; false for `--no-cache`.
    pub upload: bool,
    /// Storage chosen with `-r`, overriding the default.
    pub storage: Option<String>,
    /// Concurrent transfers.
    pub jobs: usize,
    /// Download and hash the stored copy of every object, and replace corrupt ones.
    pub verify: bool,
    /// Show git's own progress on stderr.
    pub git_progress: bool,
}

/// Outcome of pushing one experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The remote ref was created or moved to the local tip.
    Pushed,
    /// The remote ref already pointed at the local tip.
    UpToDate,
    /// The remote ref is not an ancestor of the local tip, and `force` was not set.
    Diverged,
    /// The data or the ref could not be stored, for the reason given.
    Failed(String),
}

/// The result for one experiment.
#[derive(Debug, Clone)]
pub struct ExperimentOutcome {
    /// The experiment.
    pub experiment: Experiment,
    /// Its outcome.
    pub status: Status,
    /// True when the push overwrote a diverged remote experiment.
    pub forced: bool,
    /// Number of objects its commits reference; 0 means it needs no storage.
    pub objects: usize,
}

/// The result of a push.
#[derive(Debug)]
pub struct Outcome {
    /// One entry per experiment, in the order given.
    pub experiments: Vec<ExperimentOutcome>,
    /// The upload, when there was anything to upload.
    pub upload: Option<share::Outcome>,
}

/// Relation of one experiment to its remote ref, decided before anything moves.
enum Plan {
    Send { lease: Option<CommitId> },
    UpToDate,
    Diverged,
}

/// Pushes `experiments` to `remote`: data first, then refs. See the module docs for the steps.
///
/// An `Err` means the remote could not be listed or git could not be run; per-experiment
/// failures are in the outcome.
pub fn push(
    project: &Project,
    remote: &GitRemote,
    experiments: &[Experiment],
    options: &Options,
    progress: &dyn Progress,
) -> Result<Outcome, git::Error> {
    let repo = project.repo();
    let git = repo.git();
    let remote_oids: HashMap<String, CommitId> =
        crate::resolve::remote_experiments(&git.ls_remote(&remote.push_url)?)
            .into_iter()
            .map(|e| (e.refname(), e.tip))
            .collect();

    let mut plans = Vec::with_capacity(experiments.len());
    for experiment in experiments {
        let refname = experiment.refname();
        let plan = match remote_oids.get(&refname) {
            None => Plan::Send { lease: None },
            Some(remote_tip) if *remote_tip == experiment.tip => Plan::UpToDate,
            Some(remote_tip) => {
                let fast_forward =
                    repo.has_object(remote_tip) && git.is_ancestor(remote_tip, &experiment.tip)?;
                if fast_forward {
                    Plan::Send { lease: None }
                } else if options.force {
                    Plan::Send {
                        lease: Some(*remote_tip),
                    }
                } else {
                    Plan::Diverged
                }
            }
        };
        plans.push(plan);
    }

    // One update per experiment. A diverged one carries an error, so nothing is uploaded
    // or pushed for it.
    let mut updates: Vec<RefUpdate> = experiments
        .iter()
        .zip(&plans)
        .map(|(experiment, plan)| {
            let mut update = RefUpdate::new(&experiment.refname(), Some(experiment.tip));
            if matches!(plan, Plan::Diverged) {
                update.error = Some("diverged".to_owned());
            }
            update
        })
        .collect();

    // An empty map of remote values makes each range `baseline..tip`, as DVC pushes it,
    // so data missing from an earlier ref-only push is uploaded too.
    let mut upload = None;
    if options.upload {
        publish::plan(repo, &mut updates, &HashMap::new(), &[]);
        let transfer_options = transfer::Options {
            jobs: options.jobs,
            verify: options.verify,
            ..Default::default()
        };
        upload = publish::upload(
            project,
            &mut updates,
            options.storage.as_deref(),
            &transfer_options,
            progress,
        );
    }

    let mut refspecs = Vec::new();
    let mut leases = Vec::new();
    for ((experiment, plan), update) in experiments.iter().zip(&plans).zip(&updates) {
        if let (Plan::Send { lease }, None) = (plan, &update.error) {
            let refname = experiment.refname();
            refspecs.push(format!("{}:{refname}", experiment.tip));
            if let Some(lease) = lease {
                leases.push(format!("{refname}:{lease}"));
            }
        }
    }
    let statuses = if refspecs.is_empty() {
        Vec::new()
    } else {
        let push_options = PushOptions {
            leases,
            progress: options.git_progress,
            ..PushOptions::default()
        };
        git.push(&remote.push_url, &refspecs, &push_options)?
    };
    let by_dst: HashMap<&str, &git::PushStatus> =
        statuses.iter().map(|s| (s.dst.as_str(), s)).collect();

    let mut outcomes = Vec::with_capacity(experiments.len());
    for ((experiment, plan), update) in experiments.iter().zip(plans).zip(&updates) {
        let refname = experiment.refname();
        let (status, forced) = match (plan, &update.error) {
            (Plan::Diverged, _) => (Status::Diverged, false),
            (_, Some(error)) => (Status::Failed(error.clone()), false),
            (Plan::UpToDate, None) => (Status::UpToDate, false),
            (Plan::Send { lease }, None) => match by_dst.get(refname.as_str()) {
                Some(status) if status.flag == '!' => {
                    (Status::Failed(status.summary.clone()), false)
                }
                Some(_) => (Status::Pushed, lease.is_some()),
                None => (
                    Status::Failed("git push reported nothing for this ref".to_owned()),
                    false,
                ),
            },
        };
        outcomes.push(ExperimentOutcome {
            experiment: experiment.clone(),
            status,
            forced,
            objects: update.objects.len(),
        });
    }
    Ok(Outcome {
        experiments: outcomes,
        upload,
    })
}
