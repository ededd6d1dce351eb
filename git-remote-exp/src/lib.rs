//! Shared pieces of the `git-remote-exp` and `git-exp` binaries: logging setup, progress
//! bars and error printing. Everything else lives in the library crate.

pub mod output;
