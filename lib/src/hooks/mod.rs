//! Git hooks that give ordinary remotes the behaviour of `exp::` remotes.
//!
//! `git exp install` writes a small shell shim per hook (the files in the repository's
//! `hooks/` folder, embedded here) that runs `git-exp hook <name>`:
//!
//! - `pre-push` ([`pre_push`]) uploads the data of pushed experiments before git sends
//!   anything, and stops the push when an upload fails.
//! - `reference-transaction` ([`reference_transaction`]) downloads the data of experiment
//!   refs that a fetch created or moved, once git has committed the update.
//! - `post-checkout` and `post-merge` ([`materialise`]) make the workspace's DVC outputs
//!   match the new HEAD.
//!
//! [`install`] finds the hooks directory git really uses, chains hooks that were there
//! before, and configures the fetch refspec for experiments.

use std::path::Path;

use crate::git::{self, CommitId, Repo};

pub mod install;
pub mod materialise;
pub mod pre_push;
pub mod reference_transaction;

/// Environment variable that turns every git-exp hook off for one command when set to
/// anything but `0` or the empty string.
pub const SKIP_ENV: &str = "GIT_EXP_SKIP_HOOKS";

/// The hooks git-exp installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hook {
    /// Uploads data before a push.
    PrePush,
    /// Materialises outputs after a checkout.
    PostCheckout,
    /// Materialises outputs after a merge.
    PostMerge,
    /// Downloads data of experiment refs after they change.
    ReferenceTransaction,
}

impl Hook {
    /// Every hook, in the order install reports them.
    pub const ALL: [Hook; 4] = [
        Hook::PrePush,
        Hook::ReferenceTransaction,
        Hook::PostCheckout,
        Hook::PostMerge,
    ];

    /// Returns the file name git looks for in the hooks directory.
    pub fn name(self) -> &'static str {
        match self {
            Hook::PrePush => "pre-push",
            Hook::PostCheckout => "post-checkout",
            Hook::PostMerge => "post-merge",
            Hook::ReferenceTransaction => "reference-transaction",
        }
    }

    /// Returns the shim script that `git exp install` writes for this hook.
    pub fn shim(self) -> &'static str {
        match self {
            Hook::PrePush => include_str!("../../../hooks/pre-push"),
            Hook::PostCheckout => include_str!("../../../hooks/post-checkout"),
            Hook::PostMerge => include_str!("../../../hooks/post-merge"),
            Hook::ReferenceTransaction => include_str!("../../../hooks/reference-transaction"),
        }
    }
}

impl std::fmt::Display for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Returns true if and only if [`SKIP_ENV`] turns the hooks off.
pub fn skip_requested() -> bool {
    match std::env::var_os(SKIP_ENV) {
        Some(value) => !value.is_empty() && value != "0",
        None => false,
    }
}

/// Opens the repository a hook runs for.
///
/// Git runs hooks with the work tree's top as the current directory. It sets `GIT_DIR`,
/// relative or absolute, in linked worktrees, during `git clone` and when the user
/// exported it. That value is honoured, and so is `GIT_WORK_TREE`.
pub fn open_repository(cwd: &Path) -> Result<Repo, git::Error> {
    Repo::discover(cwd)
}

/// Parses an object id as git prints it in hook input.
///
/// Returns `None` for the all-zero id, which means "no object", and for anything that is
/// not a hex id, such as a symbolic ref's `ref:<target>`.
pub fn parse_object_id(text: &str) -> Option<CommitId> {
    if text.bytes().all(|b| b == b'0') {
        return None;
    }
    if !(text.len() == 40 || text.len() == 64) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    CommitId::from_hex(text.as_bytes()).ok()
}

#[cfg(test)]
mod tests;
