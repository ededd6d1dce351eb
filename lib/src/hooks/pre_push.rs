//! The `pre-push` hook: upload the data of pushed refs before git sends them.
//!
//! Git runs `pre-push <remote> <url>` after it has listed the remote's refs and before it
//! sends any object, with one input line per ref it is about to update:
//! `<local-ref> SP <local-oid> SP <remote-ref> SP <remote-oid> LF`. A delete has the
//! all-zero local oid, a new remote ref the all-zero remote oid, and `<local-ref>` is the
//! source as the user typed it, which may contain spaces (`:/message text`). A non-zero
//! exit stops the whole push, so no remote ref moves.
//!
//! Steps:
//! 1. Parse the input and keep the refs in scope: experiments, plus branches and tags
//!    matching `exp.transferRefs`.
//! 2. Collect the outputs of the commits each one introduces.
//! 3. Upload their union once with [`publish::upload`].
//! 4. Report every ref whose objects did not all reach storage.
//!
//! The storage is asked for every object each time, so a stale remote-tracking ref never
//! hides data that the storage lost.

use std::collections::HashMap;

use crate::git::{self, CommitId, Git, RemoteRef};
use crate::progress::Progress;
use crate::project::Project;
use crate::publish::{self, RefUpdate};
use crate::refs;
use crate::share;
use crate::transfer;

/// Errors that stop the hook before any upload.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A line of git's input does not have four fields.
    #[error("invalid pre-push input line {line:?}: expected <local-ref> <local-oid> <remote-ref> <remote-oid>")]
    InvalidLine {
        /// The line as read.
        line: String,
    },
    /// The repository could not be read.
    #[error(transparent)]
    Git(#[from] git::Error),
    /// The DVC project could not be opened.
    #[error(transparent)]
    Project(#[from] crate::project::Error),
}

/// One line of the hook's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRef {
    /// The source as git received it: a ref name, an object id or an expression.
    pub local_ref: String,
    /// The object the remote ref will point at, or `None` for a delete.
    pub local_oid: Option<CommitId>,
    /// The remote ref being updated.
    pub remote_ref: String,
    /// The object the remote ref points at now, or `None` when the ref does not exist yet.
    pub remote_oid: Option<CommitId>,
}

/// Parses the hook's input; blank lines are ignored.
pub fn parse_input(input: &[u8]) -> Result<Vec<PushedRef>, Error> {
    let text = String::from_utf8_lossy(input);
    let mut pushed = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        // The local ref comes first and may contain spaces; the other three fields cannot.
        let mut fields = line.rsplitn(4, ' ');
        let (Some(remote_oid), Some(remote_ref), Some(local_oid), Some(local_ref)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(Error::InvalidLine {
                line: line.to_owned(),
            });
        };
        pushed.push(PushedRef {
            local_ref: local_ref.to_owned(),
            local_oid: super::parse_object_id(local_oid),
            remote_ref: remote_ref.to_owned(),
            remote_oid: super::parse_object_id(remote_oid),
        });
    }
    Ok(pushed)
}

/// A reason to leave the data of a push to others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The push runs inside git-remote-exp or git-exp, which upload themselves.
    Nested,
    /// The URL starts with `exp::`, so the remote helper uploads.
    HelperUrl,
    /// `remote.<name>.vcs` is `exp`, so the remote helper uploads.
    HelperRemote,
}

/// Returns why the hook must not upload for a push to `remote` at `url`, if it must not.
pub fn skip_reason(git: &Git, remote: &str, url: &str) -> Result<Option<Skip>, Error> {
    if std::env::var_os(git::GUARD_ENV).is_some() {
        return Ok(Some(Skip::Nested));
    }
    if url.starts_with("exp::") {
        return Ok(Some(Skip::HelperUrl));
    }
    // For a URL typed on the command line, git passes the URL as the remote name too.
    if remote != url
        && git
            .config_values(&format!("remote.{remote}.vcs"))?
            .last()
            .map(String::as_str)
            == Some("exp")
    {
        return Ok(Some(Skip::HelperRemote));
    }
    Ok(None)
}

/// The result of the hook for one push.
#[derive(Debug, Default)]
pub struct Report {
    /// Remote refs whose data was checked: experiments and refs matching `exp.transferRefs`.
    pub in_scope: Vec<String>,
    /// DVC's internal refs (`refs/exps/exec/..` and the like) in the push. Git sends them
    /// without data, because a hook cannot take single refs out of a push.
    pub internal: Vec<String>,
    /// The upload, when there was anything to upload.
    pub upload: Option<share::Outcome>,
    /// Remote refs whose data is not all in storage, with the reason.
    pub rejected: Vec<(String, String)>,
}

impl Report {
    /// Returns true if and only if the push may go ahead.
    pub fn is_success(&self) -> bool {
        self.rejected.is_empty()
    }
}

/// Returns true if and only if `pushed` is a create or update of a ref whose data a push uploads.
fn in_scope(pushed: &PushedRef, patterns: &[String]) -> bool {
    pushed.local_oid.is_some()
        && !refs::is_hidden(&pushed.remote_ref)
        && (pushed.remote_ref.starts_with(refs::PREFIX)
            || publish::matches_any(&pushed.remote_ref, patterns))
}

/// Uploads the data of every ref in scope of `pushed` to the storages the outputs use.
///
/// `project` is opened only when a ref is in scope, so pushes of plain branches cost a
/// `git config` call and nothing else. Nothing is uploaded for deletes. When a branch or
/// tag in scope is new on the remote, `git ls-remote` lists the remote's refs, so that
/// history the remote already has is not scanned. Remote-tracking refs are not used,
/// because they may name refs the remote has deleted.
pub fn run(
    git: &Git,
    project: impl FnOnce() -> Result<Project, Error>,
    url: &str,
    pushed: &[PushedRef],
    options: &transfer::Options,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    let mut report = Report {
        internal: pushed
            .iter()
            .filter(|p| p.local_oid.is_some() && refs::is_hidden(&p.remote_ref))
            .map(|p| p.remote_ref.clone())
            .collect(),
        ..Report::default()
    };
    let live: Vec<&PushedRef> = pushed.iter().filter(|p| p.local_oid.is_some()).collect();
    let needs_patterns = live.iter().any(|p| !p.remote_ref.starts_with(refs::PREFIX));
    let patterns = if needs_patterns {
        publish::transfer_patterns(git)
    } else {
        Vec::new()
    };
    let scoped: Vec<&PushedRef> = live
        .into_iter()
        .filter(|p| in_scope(p, &patterns))
        .collect();
    if scoped.is_empty() {
        return Ok(report);
    }
    report.in_scope = scoped.iter().map(|p| p.remote_ref.clone()).collect();

    let mut remote_oids: HashMap<String, CommitId> = pushed
        .iter()
        .filter_map(|p| p.remote_oid.map(|oid| (p.remote_ref.clone(), oid)))
        .collect();
    let new_branch_or_tag = scoped
        .iter()
        .any(|p| p.remote_oid.is_none() && !p.remote_ref.starts_with(refs::PREFIX));
    if new_branch_or_tag {
        add_live_remote_refs(git, url, &mut remote_oids);
    }

    let project = project()?;
    let mut updates: Vec<RefUpdate> = scoped
        .iter()
        .map(|p| RefUpdate::new(&p.remote_ref, p.local_oid))
        .collect();
    publish::plan(project.repo(), &mut updates, &remote_oids, &patterns);
    report.upload = publish::upload(&project, &mut updates, None, options, progress);
    report.rejected = updates
        .into_iter()
        .filter_map(|update| update.error.map(|error| (update.dst, error)))
        .collect();
    Ok(report)
}

/// Adds the refs the remote has now, so that a new branch's range stops at history the
/// remote already holds. A failed listing only makes the range, and the storage check, larger.
fn add_live_remote_refs(git: &Git, url: &str, remote_oids: &mut HashMap<String, CommitId>) {
    match git.ls_remote(url) {
        Ok(listed) => {
            for remote_ref in listed {
                if let RemoteRef::Direct { name, oid } = remote_ref {
                    if let Some(id) = super::parse_object_id(&oid) {
                        remote_oids.entry(name).or_insert(id);
                    }
                }
            }
        }
        Err(error) => {
            tracing::debug!(%error, "cannot list the remote's refs; scanning the whole history")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const Z: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn input_lines_parse_from_the_right() {
        let input = format!("refs/heads/main {A} refs/heads/main {Z}\n:/fix the bug {A} refs/exps/x {Z}\n(delete) {Z} refs/exps/y {A}\n");
        let pushed = parse_input(input.as_bytes()).expect("valid input");
        assert_eq!(pushed.len(), 3);
        assert_eq!(pushed[0].local_ref, "refs/heads/main");
        assert_eq!(pushed[0].remote_oid, None);
        assert_eq!(pushed[1].local_ref, ":/fix the bug");
        assert_eq!(pushed[1].remote_ref, "refs/exps/x");
        assert_eq!(
            pushed[1].local_oid.map(|id| id.to_string()),
            Some(A.to_owned())
        );
        assert_eq!(pushed[2].local_oid, None);
        assert_eq!(
            pushed[2].remote_oid.map(|id| id.to_string()),
            Some(A.to_owned())
        );
    }

    #[test]
    fn short_line_is_rejected() {
        let error =
            parse_input(b"refs/heads/main 1111 refs/heads/main\n").expect_err("three fields");
        assert!(matches!(error, Error::InvalidLine { .. }), "{error}");
    }

    #[test]
    fn empty_input_has_no_refs() {
        assert_eq!(parse_input(b"").expect("empty input"), Vec::new());
    }

    #[test]
    fn scope_covers_experiments_and_configured_refs() {
        let pushed = |remote_ref: &str, local: Option<&str>| PushedRef {
            local_ref: remote_ref.to_owned(),
            local_oid: local.and_then(crate::hooks::parse_object_id),
            remote_ref: remote_ref.to_owned(),
            remote_oid: None,
        };
        let patterns = vec!["refs/heads/*".to_owned()];
        assert!(in_scope(&pushed("refs/exps/b5/3a/exp", Some(A)), &[]));
        assert!(!in_scope(&pushed("refs/exps/b5/3a/exp", None), &[]));
        assert!(!in_scope(&pushed("refs/exps/exec/EXEC_HEAD", Some(A)), &[]));
        assert!(!in_scope(&pushed("refs/heads/main", Some(A)), &[]));
        assert!(in_scope(&pushed("refs/heads/main", Some(A)), &patterns));
        assert!(!in_scope(&pushed("refs/tags/v1", Some(A)), &patterns));
    }
}
