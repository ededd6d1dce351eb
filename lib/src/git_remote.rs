//! The Git remote that `git exp push|pull|list|remove` talk to, given as a remote name or
//! as any URL git accepts.
//!
//! Porcelain commands run the user's git with the recursion guard set, so a remote served
//! by git-remote-exp (URL `exp::<inner>` or `remote.<name>.vcs = exp`) must be reached at
//! its inner URL: going through the helper again would be refused. Other remotes are
//! passed to git by name, so that `pushurl`, `insteadOf` and credentials apply as usual.

use std::path::Path;

use crate::git::{self, Git};

/// The URL prefix that routes a remote through git-remote-exp.
pub const HELPER_PREFIX: &str = "exp::";

/// Where git is pointed for one porcelain command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRemote {
    /// The remote name or URL as the user gave it, for messages.
    pub name: String,
    /// What `git ls-remote` and `git fetch` get: the remote name, or a URL.
    pub fetch_url: String,
    /// What `git push` gets: the remote name, or a URL.
    pub push_url: String,
}

/// Resolves `spec`, a remote name or a URL, against the repository's git config.
///
/// A relative path from the config resolves against `work_tree`, as git resolves it for a
/// command run anywhere in the work tree. A relative path typed on the command line
/// resolves against the current directory.
pub fn resolve(git: &Git, work_tree: Option<&Path>, spec: &str) -> Result<GitRemote, git::Error> {
    let configured = if is_remote_name(spec) {
        git.config_get(&format!("remote.{spec}.url"))?
    } else {
        None
    };
    let Some(url) = configured else {
        let url = spec.strip_prefix(HELPER_PREFIX).unwrap_or(spec);
        let url = absolute_if_relative_path(url, None);
        return Ok(GitRemote {
            name: spec.to_owned(),
            fetch_url: url.clone(),
            push_url: url,
        });
    };

    let via_helper = git.config_get(&format!("remote.{spec}.vcs"))?.as_deref() == Some("exp");
    let push_url = git.config_get(&format!("remote.{spec}.pushurl"))?;
    let inner = |url: &str| -> Option<String> {
        let inner = match url.strip_prefix(HELPER_PREFIX) {
            Some(inner) => inner,
            None if via_helper => url,
            None => return None,
        };
        Some(absolute_if_relative_path(inner, work_tree))
    };

    let fetch_url = inner(&url).unwrap_or_else(|| spec.to_owned());
    let push_url = push_url
        .as_deref()
        .and_then(inner)
        .or_else(|| inner(&url))
        .unwrap_or_else(|| spec.to_owned());
    Ok(GitRemote {
        name: spec.to_owned(),
        fetch_url,
        push_url,
    })
}

/// Returns true if and only if `spec` could be the name of a configured remote.
fn is_remote_name(spec: &str) -> bool {
    !spec.is_empty()
        && !spec.contains(['/', ':', '\\'])
        && !spec.starts_with('.')
        && !spec.starts_with('-')
}

/// Makes a relative local path absolute against `base`, or the current directory when
/// `base` is `None`; URLs and `host:path` forms are returned unchanged.
fn absolute_if_relative_path(url: &str, base: Option<&Path>) -> String {
    if url.contains("://") || is_scp_like(url) {
        return url.to_owned();
    }
    let path = Path::new(url);
    if path.is_absolute() {
        return url.to_owned();
    }
    let joined = match base {
        Some(base) => base.join(path),
        None => git::absolute(path),
    };
    joined.to_string_lossy().into_owned()
}

/// Returns true for git's `[user@]host:path` form: a colon before any slash.
fn is_scp_like(url: &str) -> bool {
    match (url.find(':'), url.find('/')) {
        (Some(colon), Some(slash)) => colon < slash,
        (Some(_), None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_become_absolute() {
        let base = Path::new("/work/project");
        assert_eq!(absolute_if_relative_path("../origin.git", Some(base)), "/work/project/../origin.git");
        assert_eq!(absolute_if_relative_path("/srv/origin.git", Some(base)), "/srv/origin.git");
        assert_eq!(absolute_if_relative_path("file:///srv/o.git", Some(base)), "file:///srv/o.git");
        assert_eq!(absolute_if_relative_path("git@host:team/p.git", Some(base)), "git@host:team/p.git");
        assert_eq!(absolute_if_relative_path("ssh://host/p.git", Some(base)), "ssh://host/p.git");
    }

    #[test]
    fn remote_names_exclude_paths_and_urls() {
        assert!(is_remote_name("origin"));
        assert!(is_remote_name("my-share"));
        assert!(!is_remote_name("../origin.git"));
        assert!(!is_remote_name("host:repo"));
        assert!(!is_remote_name("-n"));
        assert!(!is_remote_name(""));
    }
}
