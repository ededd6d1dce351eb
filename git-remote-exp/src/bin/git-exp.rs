//! `git-exp`: the porcelain for DVC experiments and their data on plain Git.

use std::process::ExitCode;

use clap::Parser;
use git_remote_exp::cli::{self, Cli};
use git_remote_exp::output;

fn main() -> ExitCode {
    output::init_logging();
    let cli = Cli::parse();
    match cli::run(&cli) {
        Ok(code) => code,
        Err(error) => {
            output::print_error("git exp", &error, &[]);
            ExitCode::FAILURE
        }
    }
}
