//! Making the workspace's DVC outputs match a revision: collect the outputs its metafiles
//! declare, download what the cache lacks, then link or copy them into place.

use std::path::Path;

use crate::checkout::{self, Item};
use crate::collect::{Collector, ObjectSet, Purpose};
use crate::git::CommitId;
use crate::metafile::Output;
use crate::progress::Progress;
use crate::project::Project;
use crate::share::{self, Direction};
use crate::transfer;

/// Errors that stop a checkout before any workspace file is touched.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The project is bare: there is no workspace to check out into.
    #[error("the repository has no work tree to check out DVC outputs into")]
    NoWorkTree,
    /// Reading the revision failed.
    #[error(transparent)]
    Git(#[from] crate::git::Error),
    /// A metafile of the revision is invalid.
    #[error(transparent)]
    Collect(#[from] crate::collect::Error),
    /// The link types in `cache.type` are invalid.
    #[error(transparent)]
    Config(#[from] crate::config::Error),
    /// Writing the workspace failed.
    #[error(transparent)]
    Checkout(#[from] checkout::Error),
}

/// Settings of one checkout.
#[derive(Debug, Clone)]
pub struct Options {
    /// Replace workspace files even when their content is not in the cache.
    pub force: bool,
    /// Download missing objects from storage first.
    pub fetch: bool,
    /// Storage chosen with `-r`, overriding the default.
    pub storage: Option<String>,
    /// Concurrent transfers, and threads that write workspace files.
    pub jobs: usize,
}

/// The result of a checkout.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The download of missing objects, when one ran.
    pub download: Option<share::Outcome>,
    /// The changes made in the workspace.
    pub report: checkout::Report,
}

/// Makes the DVC outputs of `commit` present in the workspace.
///
/// Outputs marked `cache: false` are Git's files and are left alone. A file the user
/// changed whose content is not in the cache is kept and listed in the report, unless
/// `options.force` is set.
pub fn checkout(
    project: &Project,
    commit: CommitId,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Outcome, Error> {
    let root = project.root().ok_or(Error::NoWorkTree)?.to_path_buf();
    let outputs = Collector::new(project.repo()).outputs(commit)?;
    materialise(project, &root, &outputs, options, progress)
}

/// Makes the DVC outputs of `new` present in the workspace after git moved HEAD from `old`.
///
/// Like [`checkout`], but an output declared identically in both commits is left alone
/// when its path exists in the workspace, so switching branches does not hash unchanged
/// outputs again. Outputs that `old` declared and `new` does not stay in the workspace.
pub fn checkout_changes(
    project: &Project,
    old: CommitId,
    new: CommitId,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Outcome, Error> {
    let root = project.root().ok_or(Error::NoWorkTree)?.to_path_buf();
    let mut collector = Collector::new(project.repo());
    let before = collector.outputs(old)?;
    let after = collector.outputs(new)?;
    let changed: Vec<Output> = after
        .into_iter()
        .filter(|output| {
            let unchanged = before
                .iter()
                .any(|o| o.path == output.path && o.key == output.key && o.isexec == output.isexec);
            let present = std::fs::symlink_metadata(root.join(&output.path)).is_ok();
            !(unchanged && present)
        })
        .collect();
    materialise(project, &root, &changed, options, progress)
}

fn materialise(
    project: &Project,
    root: &Path,
    outputs: &[Output],
    options: &Options,
    progress: &dyn Progress,
) -> Result<Outcome, Error> {
    let mut needed = ObjectSet::default();
    let mut items = Vec::new();
    for output in outputs.iter().filter(|o| o.flags.cache) {
        needed.add_output(output, Purpose::Fetch);
        items.push(Item {
            path: output.path.clone(),
            key: output.key,
            isexec: output.isexec,
            size: output.size.filter(|_| !output.key.id.is_dir()),
        });
    }

    let mut outcome = Outcome::default();
    let needed = share::incomplete(project.cache(), &needed);
    if options.fetch && !needed.is_empty() {
        let transfer_options = transfer::Options {
            jobs: options.jobs,
            ..Default::default()
        };
        let download = share::transfer(
            project,
            &needed,
            Direction::Download,
            options.storage.as_deref(),
            &transfer_options,
            progress,
        );
        outcome.download = Some(download);
    }

    let checkout_options = checkout::Options {
        link_types: project.config().link_types()?,
        force: options.force,
        jobs: options.jobs,
    };
    outcome.report = checkout::checkout(root, project.cache(), &items, &checkout_options)?;
    Ok(outcome)
}
