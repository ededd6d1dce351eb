//! The `post-checkout` and `post-merge` hooks: make the workspace's DVC outputs match HEAD.
//!
//! Git runs `post-checkout <old-HEAD> <new-HEAD> <flag>` after `git checkout`, `git switch`,
//! `git clone` and `git worktree add`. The flag is 1 for a branch or commit checkout and 0
//! for a file checkout, and `<old-HEAD>` is all zeros after a clone or `worktree add`.
//! Git runs `post-merge <squash>` after a successful merge or pull, fast-forwards
//! included, and `ORIG_HEAD` then names the commit before it. Neither hook can change what
//! git did, so problems are reported as warnings and the hooks exit 0.

use crate::git::CommitId;
use crate::progress::Progress;
use crate::project::Project;
use crate::workspace::{self, Outcome};

/// The git operation that ran the hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `post-checkout`: HEAD moved from `old` (`None` after a clone or `worktree add`) to `new`.
    Checkout {
        /// HEAD before, `None` when there was none.
        old: Option<CommitId>,
        /// HEAD after.
        new: Option<CommitId>,
        /// False for a file checkout (`git checkout REV -- PATH`, `git restore`).
        branch: bool,
    },
    /// `post-merge`: a merge or pull moved HEAD from `ORIG_HEAD`.
    Merge {
        /// True for `git merge --squash`, which changes the index but not HEAD.
        squash: bool,
    },
}

/// The reason a hook left the workspace alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// A file checkout: git restored paths, HEAD did not move.
    FileCheckout,
    /// A squash merge: the merged metafiles are not committed yet.
    SquashMerge,
    /// HEAD names no commit (an unborn branch).
    NoHead,
    /// A bare repository has no workspace.
    Bare,
}

/// The result of a hook run.
#[derive(Debug)]
pub enum Report {
    /// Nothing was done, for this reason.
    Skipped(Skip),
    /// The outputs were checked out.
    Done(Outcome),
}

/// Errors that stop the hook before the workspace is touched, or in the middle of it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading HEAD failed.
    #[error(transparent)]
    Git(#[from] crate::git::Error),
    /// Collecting, downloading or writing outputs failed.
    #[error(transparent)]
    Workspace(#[from] workspace::Error),
}

/// Makes the DVC outputs in the workspace match the commit git just checked out or merged.
///
/// Missing objects are downloaded from storage first. A workspace file whose content is not
/// in the cache is never overwritten, and the report lists it in `kept`. When HEAD moved
/// from a known commit, outputs declared identically in both commits and present in the
/// workspace are not touched (see [`workspace::checkout_changes`]).
pub fn run(
    project: &Project,
    event: Event,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    if project.root().is_none() {
        return Ok(Report::Skipped(Skip::Bare));
    }
    let (old, new) = match event {
        Event::Checkout { branch: false, .. } => return Ok(Report::Skipped(Skip::FileCheckout)),
        Event::Merge { squash: true } => return Ok(Report::Skipped(Skip::SquashMerge)),
        Event::Checkout { old, new, .. } => (old, new.or(project.repo().head_commit()?)),
        Event::Merge { squash: false } => {
            let old = project.repo().resolve_commit("ORIG_HEAD").ok();
            (old, project.repo().head_commit()?)
        }
    };
    let Some(new) = new else {
        return Ok(Report::Skipped(Skip::NoHead));
    };

    let options = workspace::Options {
        force: false,
        fetch: true,
        storage: None,
        jobs,
    };
    let old = old.filter(|old| project.repo().has_object(old));
    let outcome = match old {
        Some(old) => workspace::checkout_changes(project, old, new, &options, progress)?,
        None => workspace::checkout(project, new, &options, progress)?,
    };
    Ok(Report::Done(outcome))
}
