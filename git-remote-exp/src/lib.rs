//! Shared pieces of the `git-remote-exp` and `git-exp` binaries: logging setup, progress
//! bars, error printing, the `git exp` command line and one module per subcommand.
//! Everything that is not argument parsing or printing lives in the library crate.

pub mod cli;
pub mod cmd;
pub mod output;
