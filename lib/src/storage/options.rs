//! Reading a remote's DVC options: booleans, durations, paths and secrets.

use std::path::PathBuf;
use std::time::Duration;

use super::OpenError;
use crate::config::RemoteConfig;
use crate::redact;

/// Inactivity timeout when a remote sets none: DVC's default `read_timeout` for S3 and HTTP.
pub(crate) const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Connect timeout when a remote sets none.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A remote's options with typed accessors whose errors name the remote and the option.
pub(crate) struct Options<'a> {
    pub(crate) remote: &'a RemoteConfig,
}

impl<'a> Options<'a> {
    /// Wraps `remote` and registers its secret values for redaction.
    pub(crate) fn new(remote: &'a RemoteConfig) -> Options<'a> {
        for secret in remote.secret_values() {
            redact::register(&secret);
        }
        Options { remote }
    }

    /// Returns the option's value, or `None` when it is unset or empty.
    pub(crate) fn get(&self, name: &str) -> Option<&'a str> {
        self.remote
            .options
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// Returns the option as a boolean, accepting DVC's spellings of true and false.
    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, OpenError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        match value.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(Some(true)),
            "false" | "no" | "off" | "0" => Ok(Some(false)),
            _ => Err(self.invalid(name, "expected true or false")),
        }
    }

    /// Returns the option as a duration in seconds, which may have a fraction.
    pub(crate) fn seconds(&self, name: &str) -> Result<Option<Duration>, OpenError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        match value.parse::<f64>() {
            Ok(seconds) if seconds.is_finite() && seconds > 0.0 => {
                Ok(Some(Duration::from_secs_f64(seconds)))
            }
            _ => Err(self.invalid(name, "expected a positive number of seconds")),
        }
    }

    /// Returns the option as a path, resolved against the directory of the config file
    /// that defines the remote, with `~` expanded, as DVC does for path options.
    pub(crate) fn path(&self, name: &str) -> Option<PathBuf> {
        self.get(name)
            .and_then(|value| self.remote.resolve_path(value))
    }

    /// Builds [`OpenError::InvalidOption`] for `name`; secret values are redacted.
    pub(crate) fn invalid(&self, name: &str, reason: &str) -> OpenError {
        let value = match self.remote.options.get(name) {
            Some(_) if crate::config::is_secret_option(name) => redact::REDACTED.to_owned(),
            Some(value) => redact::scrub(value),
            None => String::new(),
        };
        OpenError::InvalidOption {
            remote: self.remote.name.clone(),
            option: name.to_owned(),
            value,
            reason: reason.to_owned(),
        }
    }

    /// Builds [`OpenError::UnsupportedOption`] for `name`.
    pub(crate) fn unsupported(&self, name: &str, reason: &str) -> OpenError {
        OpenError::UnsupportedOption {
            remote: self.remote.name.clone(),
            option: name.to_owned(),
            reason: reason.to_owned(),
        }
    }

    /// Returns the inactivity timeout: the first of `names` that is set, else the default.
    pub(crate) fn read_timeout(&self, names: &[&str]) -> Result<Duration, OpenError> {
        for name in names {
            if let Some(timeout) = self.seconds(name)? {
                return Ok(timeout);
            }
        }
        Ok(DEFAULT_READ_TIMEOUT)
    }

    /// Returns the connect timeout from `connect_timeout`, else the default.
    pub(crate) fn connect_timeout(&self) -> Result<Duration, OpenError> {
        Ok(self
            .seconds("connect_timeout")?
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT))
    }
}
