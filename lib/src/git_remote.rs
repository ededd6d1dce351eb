//! The Git remote that `git exp push|pull|list|remove` talk to, given as a remote name or
//! as any URL git accepts.
//!
//! Porcelain commands run the user's git with the recursion guard set, so a remote served
//! by git-remote-exp (URL `exp::<inner>` or `remote.<name>.vcs = exp`) must be reached at
//! its inner URL: going through the helper again would be refused. A configured remote is
//! therefore always turned into URLs (`pushurl` for pushing when set), with relative paths
//! made absolute against the work tree, because git runs with an explicit `--git-dir` and
//! would otherwise resolve them against the current directory. `insteadOf` rules and
//! credential helpers still apply, because git applies them to URLs.

use std::path::Path;

use crate::git::{self, Git};

/// The URL prefix that routes a remote through git-remote-exp.
pub const HELPER_PREFIX: &str = "exp::";

/// The URLs git gets for one porcelain command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRemote {
    /// The remote name or URL as the user gave it, for messages.
    pub name: String,
    /// The URL `git ls-remote` and `git fetch` get.
    pub fetch_url: String,
    /// The URL `git push` gets.
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
        return Ok(registered(GitRemote {
            name: spec.to_owned(),
            fetch_url: url.clone(),
            push_url: url,
        }));
    };

    // With `remote.<name>.vcs = exp` the configured URL is already the inner one.
    let push_url = git.config_get(&format!("remote.{spec}.pushurl"))?;
    let inner = |url: &str| -> String {
        let inner = url.strip_prefix(HELPER_PREFIX).unwrap_or(url);
        absolute_if_relative_path(inner, work_tree)
    };

    let fetch_url = inner(&url);
    let push_url = push_url.as_deref().map_or_else(|| fetch_url.clone(), inner);
    Ok(registered(GitRemote {
        name: spec.to_owned(),
        fetch_url,
        push_url,
    }))
}

/// Registers the passwords in `remote`'s URLs for redaction and returns it.
///
/// Git prints a URL with its password in its `GIT_TRACE` lines, which error messages that
/// quote git's stderr carry along.
fn registered(remote: GitRemote) -> GitRemote {
    crate::redact::register_url(&remote.fetch_url);
    crate::redact::register_url(&remote.push_url);
    remote
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
        assert_eq!(
            absolute_if_relative_path("../origin.git", Some(base)),
            "/work/project/../origin.git"
        );
        assert_eq!(
            absolute_if_relative_path("/srv/origin.git", Some(base)),
            "/srv/origin.git"
        );
        assert_eq!(
            absolute_if_relative_path("file:///srv/o.git", Some(base)),
            "file:///srv/o.git"
        );
        assert_eq!(
            absolute_if_relative_path("git@host:team/p.git", Some(base)),
            "git@host:team/p.git"
        );
        assert_eq!(
            absolute_if_relative_path("ssh://host/p.git", Some(base)),
            "ssh://host/p.git"
        );
    }

    #[test]
    fn url_passwords_are_registered() {
        registered(GitRemote {
            name: "vault".to_owned(),
            fetch_url: "https://me:fetch-pass-5678@127.0.0.1:9/repo.git".to_owned(),
            push_url: "https://me:push-pass-5678@127.0.0.1:9/repo.git".to_owned(),
        });
        assert_eq!(
            crate::redact::scrub("git ls-remote https://me:fetch-pass-5678@127.0.0.1:9/repo.git"),
            "git ls-remote https://me:***@127.0.0.1:9/repo.git"
        );
        assert_eq!(crate::redact::scrub("trace: push-pass-5678"), "trace: ***");
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
