//! The `reference-transaction` hook: download the data of experiment refs that changed.
//!
//! Git runs `reference-transaction <state>` for every ref transaction, in the states
//! `prepared`, `committed` and `aborted` (and `preparing` from git 2.54), with one input
//! line per update: `<old-value> SP <new-value> SP <ref-name> LF`. A value is an object id,
//! all zeros for "none", or `ref:<target>` for a symbolic ref. A plain `git fetch` commits
//! one transaction per ref. Git has no post-fetch hook, so this is where fetched experiment
//! refs become visible.
//!
//! Only `committed` does any work, because refs are locked during `prepared` and a network
//! transfer there would make concurrent git commands fail on the locks. The caller reports
//! problems as warnings and exits 0: a non-zero exit is ignored after `committed`, and
//! would abort the update in `prepared`.

use crate::git::CommitId;
use crate::progress::Progress;
use crate::project::Project;
use crate::refs::ExpRef;
use crate::share::{self, Direction};
use crate::transfer;

/// The state in which the hook downloads.
pub const COMMITTED: &str = "committed";

/// One line of the hook's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefChange {
    /// The value before, `None` for "none" or a symbolic ref.
    pub old: Option<CommitId>,
    /// The value after, `None` for a delete or a symbolic ref.
    pub new: Option<CommitId>,
    /// The updated ref.
    pub refname: String,
}

/// Parses the hook's input; lines without three fields are ignored.
pub fn parse_input(input: &[u8]) -> Vec<RefChange> {
    let text = String::from_utf8_lossy(input);
    text.lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ' ');
            let (Some(old), Some(new), Some(refname)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return None;
            };
            Some(RefChange {
                old: super::parse_object_id(old),
                new: super::parse_object_id(new),
                refname: refname.to_owned(),
            })
        })
        .collect()
}

/// Returns the experiments that `changes` created or moved, with their new tips.
///
/// Deletes, unchanged values, DVC's internal refs and refs under `refs/exps/` without the
/// experiment layout are left out.
pub fn changed_experiments(changes: &[RefChange]) -> Vec<(ExpRef, CommitId)> {
    changes
        .iter()
        .filter_map(|change| {
            let new = change.new?;
            if change.old == Some(new) {
                return None;
            }
            match ExpRef::parse(&change.refname) {
                Ok(Some(experiment)) => Some((experiment, new)),
                _ => None,
            }
        })
        .collect()
}

/// The result of the hook's download.
#[derive(Debug, Default)]
pub struct Report {
    /// Experiments that lacked at least one object in the cache.
    pub incomplete: usize,
    /// Experiments left out because a metafile of theirs is invalid, with the error.
    pub skipped: Vec<(ExpRef, String)>,
    /// The download, when anything was missing.
    pub download: Option<share::Outcome>,
}

/// Downloads into the cache what `experiments` need: the outputs of the commits between
/// each one's baseline and its tip, as `dvc exp pull` does.
///
/// Objects the cache already has are not downloaded, so an experiment made locally by
/// `dvc exp run` costs a scan of its metafiles and nothing else.
pub fn download(
    project: &Project,
    experiments: &[(ExpRef, CommitId)],
    options: &transfer::Options,
    progress: &dyn Progress,
) -> Result<Report, crate::git::Error> {
    let found = share::missing_experiment_objects(project, experiments)?;
    let mut report = Report {
        incomplete: found.incomplete,
        skipped: found.skipped,
        download: None,
    };
    if !found.missing.is_empty() {
        report.download = Some(share::transfer(
            project,
            &found.missing,
            Direction::Download,
            None,
            options,
            progress,
        ));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const Z: &str = "0000000000000000000000000000000000000000";
    const BASELINE: &str = "b53a31b91a80a1abc86d6fe6173d561a53b2dd76";

    fn exp(name: &str) -> String {
        format!("refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/{name}")
    }

    #[test]
    fn created_and_moved_experiments_are_kept() {
        let input = format!(
            "{Z} {A} {}\n{A} {B} {}\n{A} {A} {}\n{A} {Z} {}\n",
            exp("new"),
            exp("moved"),
            exp("same"),
            exp("deleted")
        );
        let changed = changed_experiments(&parse_input(input.as_bytes()));
        let names: Vec<(&str, String)> = changed
            .iter()
            .map(|(e, id)| (e.name(), id.to_string()))
            .collect();
        assert_eq!(names, vec![("new", A.to_owned()), ("moved", B.to_owned())]);
        assert_eq!(changed[0].0.baseline(), BASELINE);
    }

    #[test]
    fn other_refs_are_ignored() {
        let input = format!(
            "{Z} {A} refs/heads/main\n{Z} ref:refs/heads/main HEAD\n{Z} {A} refs/exps/exec/EXEC_HEAD\n{Z} {A} refs/exps/stash\n{Z} {A} refs/exps/not-an-experiment\n"
        );
        assert_eq!(
            changed_experiments(&parse_input(input.as_bytes())),
            Vec::new()
        );
    }
}
