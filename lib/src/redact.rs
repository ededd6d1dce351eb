//! The process-wide list of secret values that must never appear in messages or logs.
//!
//! Opening a storage registers its passwords, keys and tokens here. Backend errors pass
//! through [`scrub`] when they are built, and the binaries pass every log line through it,
//! so a secret that a server or a dependency echoes back is replaced by `***` too.

use std::sync::RwLock;

/// Text that replaces a secret.
pub const REDACTED: &str = "***";

/// Secrets shorter than this are not registered, because replacing them would mangle
/// ordinary words. A password of one to three characters is too short to protect this way.
const MIN_SECRET_LEN: usize = 4;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Adds `secret` to the values that [`scrub`] replaces.
pub fn register(secret: &str) {
    let secret = secret.trim();
    if secret.chars().count() < MIN_SECRET_LEN {
        return;
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    if !secrets.iter().any(|known| known == secret) {
        secrets.push(secret.to_owned());
        // Longer secrets first, so a secret that contains another one is replaced whole.
        secrets.sort_by_key(|known| std::cmp::Reverse(known.len()));
    }
}

/// Registers the password in the userinfo of `url`, such as the Git URL of an `exp::`
/// remote, so that [`scrub`] replaces it wherever the URL is printed.
pub fn register_url(url: &str) {
    if let Some(password) = crate::config::url_password(url) {
        register(password);
    }
}

/// Returns `text` with every registered secret replaced by [`REDACTED`].
pub fn scrub(text: &str) -> String {
    let secrets = SECRETS.read().unwrap_or_else(|p| p.into_inner());
    let mut out = text.to_owned();
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    out
}

/// A secret value whose `Debug` output is [`REDACTED`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl Secret {
    /// Registers `value` for redaction and wraps it.
    pub fn new(value: impl Into<String>) -> Secret {
        let value = value.into();
        register(&value);
        Secret(value)
    }

    /// Returns the secret itself, for the client that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_replaces_registered_secrets() {
        register("hunter2-secret");
        register("hunter2-secret-longer");
        register("abc");

        assert_eq!(
            scrub("key hunter2-secret-longer and hunter2-secret, abc"),
            "key *** and ***, abc"
        );
    }

    #[test]
    fn register_url_registers_the_password() {
        register_url("https://me:url-pass-4321@127.0.0.1:9/repo.git");
        register_url("https://only-user@127.0.0.1:9/repo.git");
        assert_eq!(
            scrub("fatal: https://me:url-pass-4321@127.0.0.1:9/repo.git only-user"),
            "fatal: https://me:***@127.0.0.1:9/repo.git only-user"
        );
    }

    #[test]
    fn secret_debug_is_redacted() {
        let secret = Secret::new("p4ssw0rd-debug");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(secret.expose(), "p4ssw0rd-debug");
        assert_eq!(scrub("was p4ssw0rd-debug"), "was ***");
    }
}
