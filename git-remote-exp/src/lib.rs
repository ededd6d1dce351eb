//! Shared pieces of the `git-remote-exp` and `git-exp` binaries: logging setup, progress
//! bars, error printing, and one module per `git exp` subcommand. Everything that is not
//! argument parsing or printing lives in the library crate.

pub mod cmd;
pub mod output;
