//! Finding experiments: listing them locally or on a Git remote, selecting them by baseline
//! (`--rev`, `-n`, `-A`), and resolving the names users type.
//!
//! A name resolves the way `dvc exp` resolves it:
//! - `refs/exps/XX/REST/NAME` names exactly that experiment;
//! - `PREFIX/NAME` names the experiment `NAME` whose baseline id starts with the hex `PREFIX`;
//! - a bare `NAME` names the only experiment with that name. When several baselines have
//!   one, the experiment whose baseline is the local `HEAD` commit wins. Otherwise the
//!   name is ambiguous, and the error lists every candidate as a full ref.
//!
//! DVC's internal refs (`refs/exps/exec/EXEC_HEAD` and the like) are never experiments, so
//! they can neither shadow `HEAD` nor match a name.

use std::collections::HashSet;
use std::fmt;

use crate::git::{CommitId, RemoteRef, Repo};
use crate::refs::{self, ExpRef};

/// Shortest baseline prefix accepted in `PREFIX/NAME`, as for Git's abbreviated ids.
const MIN_PREFIX_LEN: usize = 4;

/// Errors from resolving names and revisions.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No experiment has the name.
    #[error("'{name}' is not a valid experiment name")]
    NotFound {
        /// The name as given.
        name: String,
    },
    /// Several experiments have the name, and none of them is based on `HEAD`.
    #[error("{}", describe_ambiguous(.name, .candidates))]
    Ambiguous {
        /// The name as given.
        name: String,
        /// The full ref of every experiment with that name, sorted.
        candidates: Vec<String>,
    },
    /// A revision given with `--rev` or read while walking `-n` ancestors failed.
    #[error(transparent)]
    Git(#[from] crate::git::Error),
}

fn describe_ambiguous(name: &str, candidates: &[String]) -> String {
    let mut text = format!(
        "ambiguous name '{name}' refers to multiple experiments; use one of the following full refnames instead:\n"
    );
    for candidate in candidates {
        text.push_str("\n\t");
        text.push_str(candidate);
    }
    text
}

/// An experiment ref and the commit it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Experiment {
    /// The parsed ref.
    pub exp: ExpRef,
    /// The experiment's tip commit. For a remote experiment, the local repository may not
    /// have it yet.
    pub tip: CommitId,
}

impl Experiment {
    /// Returns the experiment's name.
    pub fn name(&self) -> &str {
        self.exp.name()
    }

    /// Returns the full ref name.
    pub fn refname(&self) -> String {
        self.exp.refname()
    }

    /// Returns the baseline commit, or `None` when the ref's baseline is not a valid id for
    /// this build (a SHA-256 baseline, say).
    pub fn baseline(&self) -> Option<CommitId> {
        CommitId::from_hex(self.exp.baseline().as_bytes()).ok()
    }
}

/// Lists the local experiments, sorted by ref name.
///
/// Refs under `refs/exps/` that are neither internal nor valid experiment refs are skipped
/// with a debug log, so one stray ref cannot break every command.
pub fn local_experiments(repo: &Repo) -> Result<Vec<Experiment>, Error> {
    let refs = repo.refs_with_prefix(refs::PREFIX)?;
    Ok(experiments_from(refs))
}

/// Lists the experiments among refs that `git ls-remote` reported, sorted by ref name.
pub fn remote_experiments(listing: &[RemoteRef]) -> Vec<Experiment> {
    let refs = listing.iter().filter_map(|remote_ref| match remote_ref {
        RemoteRef::Direct { name, oid } => CommitId::from_hex(oid.as_bytes())
            .ok()
            .map(|id| (name.clone(), id)),
        RemoteRef::Symbolic { .. } => None,
    });
    experiments_from(refs)
}

fn experiments_from(refs: impl IntoIterator<Item = (String, CommitId)>) -> Vec<Experiment> {
    let mut experiments: Vec<Experiment> = refs
        .into_iter()
        .filter_map(|(name, tip)| match ExpRef::parse(&name) {
            Ok(Some(exp)) => Some(Experiment { exp, tip }),
            Ok(None) => None,
            Err(error) => {
                tracing::debug!(refname = %name, %error, "skipping ref that is not an experiment");
                None
            }
        })
        .collect();
    experiments.sort_by_key(Experiment::refname);
    experiments
}

/// Resolves `spec` to one of `experiments`; `head` is the local `HEAD` commit, which breaks
/// a tie between experiments of the same name on several baselines.
pub fn resolve<'a>(
    spec: &str,
    experiments: &'a [Experiment],
    head: Option<CommitId>,
) -> Result<&'a Experiment, Error> {
    let not_found = || Error::NotFound {
        name: spec.to_owned(),
    };

    if spec.starts_with("refs/") {
        return experiments
            .iter()
            .find(|e| e.refname() == spec)
            .ok_or_else(not_found);
    }

    let matches: Vec<&Experiment> = match spec.split_once('/') {
        Some((prefix, name)) => {
            let prefix = prefix.to_ascii_lowercase();
            let valid_prefix =
                prefix.len() >= MIN_PREFIX_LEN && prefix.bytes().all(|b| b.is_ascii_hexdigit());
            if !valid_prefix {
                return Err(not_found());
            }
            experiments
                .iter()
                .filter(|e| e.name() == name && e.exp.baseline().starts_with(&prefix))
                .collect()
        }
        None => experiments.iter().filter(|e| e.name() == spec).collect(),
    };

    match matches.as_slice() {
        [] => Err(not_found()),
        [one] => Ok(one),
        several => {
            let on_head = several
                .iter()
                .filter(|e| head.is_some() && e.baseline() == head)
                .collect::<Vec<_>>();
            if let [one] = on_head.as_slice() {
                return Ok(one);
            }
            let mut candidates: Vec<String> = several.iter().map(|e| e.refname()).collect();
            candidates.sort();
            Err(Error::Ambiguous {
                name: spec.to_owned(),
                candidates,
            })
        }
    }
}

/// How many first-parent ancestors `-n` selects, counting the revision itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The revision and its first-parent ancestors, this many commits in all; 0 selects none.
    Commits(usize),
    /// The revision and every first-parent ancestor (`-n` with a negative number).
    All,
}

impl Depth {
    /// Converts the value of `-n/--num` as DVC reads it: negative means all ancestors.
    pub fn from_num(num: i64) -> Depth {
        match usize::try_from(num) {
            Ok(count) => Depth::Commits(count),
            Err(_) => Depth::All,
        }
    }
}

impl fmt::Display for Depth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Depth::Commits(count) => write!(f, "{count}"),
            Depth::All => f.write_str("all"),
        }
    }
}

/// Returns the baseline commits that `revs` and `depth` select, each once, in the order
/// met: each revision, then its first parent, and so on.
pub fn baselines(repo: &Repo, revs: &[String], depth: Depth) -> Result<Vec<CommitId>, Error> {
    let mut selected = Vec::new();
    let mut seen = HashSet::new();
    for rev in revs {
        let mut next = Some(repo.resolve_commit(rev)?);
        let mut taken = 0usize;
        while let Some(commit) = next {
            if let Depth::Commits(count) = depth {
                if taken >= count {
                    break;
                }
            }
            taken += 1;
            if seen.insert(commit) {
                selected.push(commit);
            }
            next = repo.first_parent(commit)?;
        }
    }
    Ok(selected)
}

/// Returns the experiments whose baseline is one of `baselines`, in the order of `baselines`
/// and then by ref name.
pub fn select_by_baselines<'a>(
    experiments: &'a [Experiment],
    baselines: &[CommitId],
) -> Vec<&'a Experiment> {
    baselines
        .iter()
        .flat_map(|baseline| {
            experiments
                .iter()
                .filter(move |e| e.baseline() == Some(*baseline))
        })
        .collect()
}

#[cfg(test)]
mod tests;
