//! Experiment refs: `refs/exps/XX/REST/NAME`, where `XXREST` is the baseline commit.
//!
//! DVC keeps its own machinery under the same prefix (`refs/exps/exec/EXEC_HEAD`,
//! `refs/exps/apply/ORIG_HEAD`, the `celery` and `temp` queues, `refs/exps/stash`).
//! Those refs are local bookkeeping: they are never listed, pushed or fetched.

use std::fmt;

/// The namespace of every experiment ref.
pub const PREFIX: &str = "refs/exps/";

/// DVC's internal namespaces under [`PREFIX`]; a ref starting with one of these is never transferred.
pub const INTERNAL_PREFIXES: [&str; 5] = [
    "refs/exps/exec/",
    "refs/exps/apply/",
    "refs/exps/celery/",
    "refs/exps/temp/",
    "refs/exps/stash",
];

/// Errors from parsing experiment refs and names.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A ref under `refs/exps/` that is neither internal nor `refs/exps/XX/REST/NAME`.
    #[error("invalid experiment ref {refname:?}: expected refs/exps/<2 hex>/<rest of the baseline commit>/<name>")]
    InvalidRef {
        /// The rejected ref name.
        refname: String,
    },
    /// A name that Git or DVC would not accept as the last component of an experiment ref.
    #[error("invalid experiment name {name:?}: {reason}")]
    InvalidName {
        /// The rejected name.
        name: String,
        /// The rule the name breaks.
        reason: &'static str,
    },
}

/// A parsed experiment ref.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExpRef {
    baseline: String,
    name: String,
}

impl ExpRef {
    /// Builds the ref of experiment `name` on the baseline commit `baseline` (full hex id).
    pub fn new(baseline: &str, name: &str) -> Result<Self, Error> {
        validate_name(name)?;
        if !is_full_hex_id(baseline) {
            return Err(Error::InvalidRef {
                refname: format!("{PREFIX}{baseline}/{name}"),
            });
        }
        Ok(ExpRef {
            baseline: baseline.to_ascii_lowercase(),
            name: name.to_owned(),
        })
    }

    /// Parses `refname`.
    ///
    /// Returns `Ok(None)` for refs outside `refs/exps/` and for DVC's internal refs, and an
    /// error for any other ref under `refs/exps/` that does not have the experiment layout.
    pub fn parse(refname: &str) -> Result<Option<Self>, Error> {
        let Some(rest) = refname.strip_prefix(PREFIX) else {
            return Ok(None);
        };
        if is_internal(refname) {
            return Ok(None);
        }
        let invalid = || Error::InvalidRef {
            refname: refname.to_owned(),
        };
        let mut parts = rest.splitn(3, '/');
        let (Some(head), Some(tail), Some(name)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        if head.len() != 2 {
            return Err(invalid());
        }
        let baseline = format!("{head}{tail}");
        if !is_full_hex_id(&baseline) || name.contains('/') {
            return Err(invalid());
        }
        validate_name(name).map_err(|_| invalid())?;
        Ok(Some(ExpRef {
            baseline: baseline.to_ascii_lowercase(),
            name: name.to_owned(),
        }))
    }

    /// Returns the full hex id of the baseline commit.
    pub fn baseline(&self) -> &str {
        &self.baseline
    }

    /// Returns the experiment's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the full ref name.
    pub fn refname(&self) -> String {
        format!(
            "{PREFIX}{}/{}/{}",
            &self.baseline[..2],
            &self.baseline[2..],
            self.name
        )
    }
}

impl fmt::Display for ExpRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.refname())
    }
}

/// Returns true if and only if `refname` is in one of DVC's internal namespaces.
pub fn is_internal(refname: &str) -> bool {
    INTERNAL_PREFIXES
        .iter()
        .any(|prefix| refname.starts_with(prefix))
        || refname == "refs/exps/stash"
}

/// Returns true if and only if `refname` must never be listed or transferred.
pub fn is_hidden(refname: &str) -> bool {
    refname.starts_with(PREFIX) && is_internal(refname)
}

fn is_full_hex_id(value: &str) -> bool {
    (value.len() == 40 || value.len() == 64) && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Checks `name` against the rules of `git check-ref-format` for one component, plus DVC's ban on `/`.
pub fn validate_name(name: &str) -> Result<(), Error> {
    let reason = if name.is_empty() {
        Some("the name is empty")
    } else if name.contains('/') {
        Some("the name contains '/'")
    } else if name.starts_with('.') || name.ends_with('.') {
        Some("the name starts or ends with '.'")
    } else if name.ends_with(".lock") {
        Some("the name ends with .lock")
    } else if name.contains("..") || name.contains("@{") || name == "@" {
        Some("the name contains '..', '@{' or is '@'")
    } else if name
        .bytes()
        .any(|b| b < 0x20 || b == 0x7f || b" ~^:?*[\\".contains(&b))
    {
        Some("the name contains a space, a control character or one of ~ ^ : ? * [ \\")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
