//! Publishing ref updates: which objects each updated ref brings to the remote, and
//! uploading them before any of those refs may move.
//!
//! The helper, the pre-push hook and `git exp push` all follow the same steps. First they
//! plan the updates, collecting the outputs of the commits each one introduces. Then they
//! upload the union of their objects once, and reject every update whose objects did not
//! all arrive.

use std::collections::HashMap;

use crate::collect::{Collector, ObjectSet, Purpose};
use crate::git::{CommitId, Git, Repo};
use crate::progress::Progress;
use crate::project::Project;
use crate::refs::{self, ExpRef};
use crate::share::{self, error_chain, Direction};
use crate::transfer;

/// Git config key listing ref patterns, besides experiments, whose data a push uploads.
pub const TRANSFER_REFS_KEY: &str = "exp.transferRefs";

/// One remote ref that a push would create, move or delete.
#[derive(Debug, Clone)]
pub struct RefUpdate {
    /// The remote ref.
    pub dst: String,
    /// The object it will point at, or `None` for a delete.
    pub new: Option<CommitId>,
    /// The objects the commits it introduces need in storage.
    pub objects: ObjectSet,
    /// True for DVC's internal refs, which are never pushed.
    pub internal: bool,
    /// The reason this update must not happen, if it must not.
    pub error: Option<String>,
}

impl RefUpdate {
    /// Starts an update of `dst` to `new` (`None` deletes).
    pub fn new(dst: &str, new: Option<CommitId>) -> Self {
        RefUpdate {
            dst: dst.to_owned(),
            new,
            objects: ObjectSet::default(),
            internal: refs::is_hidden(dst),
            error: None,
        }
    }

    /// Returns true if and only if the update may go ahead.
    pub fn is_accepted(&self) -> bool {
        !self.internal && self.error.is_none()
    }
}

/// Reads the patterns of `exp.transferRefs` (whitespace-separated, `*` globs).
pub fn transfer_patterns(git: &Git) -> Vec<String> {
    match git.config_values(TRANSFER_REFS_KEY) {
        Ok(values) => values
            .iter()
            .flat_map(|value| value.split_whitespace())
            .map(str::to_owned)
            .collect(),
        Err(error) => {
            tracing::warn!(key = TRANSFER_REFS_KEY, error = %error, "cannot read the git config; only experiments carry data");
            Vec::new()
        }
    }
}

/// Collects the objects each update introduces.
///
/// An experiment ref introduces the commits between its baseline and its new tip, less
/// what the remote ref already held (`remote_oids` has the remote's current values). A ref
/// matching `patterns` introduces what no ref of the remote reaches. Other refs carry no data.
pub fn plan(
    repo: &Repo,
    updates: &mut [RefUpdate],
    remote_oids: &HashMap<String, CommitId>,
    patterns: &[String],
) {
    let mut collector = Collector::new(repo);
    for update in updates.iter_mut() {
        if let Err(error) = plan_one(repo, &mut collector, update, remote_oids, patterns) {
            update.error = Some(error);
        }
    }
}

fn plan_one(
    repo: &Repo,
    collector: &mut Collector<'_>,
    update: &mut RefUpdate,
    remote_oids: &HashMap<String, CommitId>,
    patterns: &[String],
) -> Result<(), String> {
    if update.internal {
        return Ok(());
    }
    let Some(new) = update.new else {
        return Ok(());
    };
    let Ok(commit) = repo.resolve_commit(&new.to_string()) else {
        // Not a commit (a tag of a blob, say): nothing of DVC's to upload.
        return Ok(());
    };

    let hidden: Vec<CommitId> = match ExpRef::parse(&update.dst).map_err(|e| error_chain(&e))? {
        Some(exp) => {
            let mut hidden: Vec<CommitId> = CommitId::from_hex(exp.baseline().as_bytes())
                .into_iter()
                .collect();
            hidden.extend(remote_oids.get(&update.dst).copied());
            hidden
        }
        None if matches_any(&update.dst, patterns) => remote_oids.values().copied().collect(),
        None => return Ok(()),
    };

    let commits = repo
        .commits_in_range(commit, &hidden)
        .map_err(|e| error_chain(&e))?;
    tracing::debug!(refname = %update.dst, commits = commits.len(), "collecting outputs");
    update.objects = collector
        .objects(&commits, Purpose::Push)
        .map_err(|e| error_chain(&e))?;
    Ok(())
}

/// Uploads the objects of every accepted update once and rejects the updates whose
/// objects did not all reach storage. Returns `None` when there was nothing to upload.
pub fn upload(
    project: &Project,
    updates: &mut [RefUpdate],
    explicit: Option<&str>,
    options: &transfer::Options,
    progress: &dyn Progress,
) -> Option<share::Outcome> {
    let mut union = ObjectSet::default();
    for update in updates.iter().filter(|u| u.is_accepted()) {
        union.extend(&update.objects);
    }
    if union.is_empty() {
        return None;
    }

    let outcome = share::transfer(
        project,
        &union,
        Direction::Upload,
        explicit,
        options,
        progress,
    );
    for update in updates.iter_mut().filter(|u| u.is_accepted()) {
        update.error = upload_error(&update.objects, &outcome);
    }
    Some(outcome)
}

/// Rejects every accepted update because another one was rejected, as `--atomic` requires.
pub fn reject_all_if_any_failed(updates: &mut [RefUpdate]) {
    if updates.iter().any(|u| u.error.is_some()) {
        for update in updates.iter_mut().filter(|u| u.is_accepted()) {
            update.error =
                Some("atomic push failed: the data of another ref could not be stored".into());
        }
    }
}

/// Returns true if and only if `refname` matches one of the `*`-glob `patterns`.
pub fn matches_any(refname: &str, patterns: &[String]) -> bool {
    patterns
        .iter()
        .any(|pattern| match pattern.split_once('*') {
            Some((prefix, suffix)) => {
                refname.starts_with(prefix)
                    && refname.ends_with(suffix)
                    && refname.len() >= prefix.len() + suffix.len()
            }
            None => refname == pattern,
        })
}

/// Builds the rejection for a ref whose objects did not all reach storage.
fn upload_error(objects: &ObjectSet, outcome: &share::Outcome) -> Option<String> {
    let failed: Vec<String> = objects
        .iter()
        .filter_map(|(_, key, _)| outcome.failures.get(key).map(|f| (key, f)))
        .map(|(key, failure)| {
            let state = if failure.missing { "missing" } else { "failed" };
            format!("{state} {} ({key})", failure.path)
        })
        .collect();
    if failed.is_empty() {
        return None;
    }
    let shown: Vec<&str> = failed.iter().take(3).map(String::as_str).collect();
    let more = if failed.len() > 3 {
        format!(" and {} more", failed.len() - 3)
    } else {
        String::new()
    };
    Some(format!("data upload failed: {}{more}", shown.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_globs() {
        let patterns = vec!["refs/heads/*".to_owned(), "refs/tags/v1".to_owned()];
        assert!(matches_any("refs/heads/main", &patterns));
        assert!(matches_any("refs/tags/v1", &patterns));
        assert!(!matches_any("refs/tags/v2", &patterns));
        assert!(!matches_any("refs/exps/x", &patterns));
    }

    #[test]
    fn internal_refs_are_never_accepted() {
        let update = RefUpdate::new("refs/exps/exec/EXEC_HEAD", None);
        assert!(update.internal);
        assert!(!update.is_accepted());
        assert!(RefUpdate::new("refs/heads/main", None).is_accepted());
    }
}
