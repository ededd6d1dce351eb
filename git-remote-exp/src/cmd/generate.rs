//! `git exp generate man DIR` and `git exp generate completions SHELL`: documentation and
//! shell completions built from the same clap definitions the binary parses.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::CommandFactory as _;
use clap_complete::Shell;

use super::Global;
use crate::cli::Cli;

/// Write man pages or shell completions for git exp.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The artifact to write.
    #[command(subcommand)]
    pub what: What,
}

/// The generated artifacts.
#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// Write git-exp.1 and one git-exp-<subcommand>.1 per subcommand into DIR.
    Man {
        /// Directory to write the pages into, created when missing.
        dir: PathBuf,
    },
    /// Print the completion script for SHELL on stdout.
    Completions {
        /// Shell to complete for.
        shell: Shell,
    },
}

/// Runs `git exp generate`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<ExitCode> {
    match &args.what {
        What::Man { dir } => {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let command = Cli::command().name("git-exp").bin_name("git exp");
            let written = write_pages(&command, "git-exp", dir)?;
            if global.verbose > 0 {
                eprintln!("wrote {written} man pages into {}", dir.display());
            }
        }
        What::Completions { shell } => {
            let mut command = Cli::command().name("git-exp").bin_name("git-exp");
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut command, "git-exp", &mut script);
            if *shell == Shell::Bash {
                script.extend_from_slice(BASH_GIT_SUBCOMMAND.as_bytes());
            }
            match std::io::stdout().lock().write_all(&script) {
                Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(error).context("cannot write the completion script");
                }
                _ => {}
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Lets git's own bash completion complete `git exp ...`: git calls `_git_exp` for its
/// `exp` subcommand, which hands the words after `git` to clap's `_git__exp` function.
const BASH_GIT_SUBCOMMAND: &str = r#"
_git_exp() {
    local COMP_WORDS=(git-exp "${COMP_WORDS[@]:2}")
    local COMP_CWORD=$((COMP_CWORD - 1))
    _git__exp git-exp "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
}
"#;

/// Writes the page of `command` as `<page>.1` and recurses into visible subcommands;
/// returns the number of pages written.
fn write_pages(command: &clap::Command, page: &str, dir: &Path) -> anyhow::Result<usize> {
    let path = dir.join(format!("{page}.1"));
    let mut bytes = Vec::new();
    clap_mangen::Man::new(command.clone().name(page.to_owned()))
        .render(&mut bytes)
        .with_context(|| format!("cannot render the man page {page}"))?;
    fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;

    let mut written = 1;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let sub_page = format!("{page}-{}", sub.get_name());
        let bin_name = format!(
            "{} {}",
            command.get_bin_name().unwrap_or(page),
            sub.get_name()
        );
        written += write_pages(&sub.clone().bin_name(bin_name), &sub_page, dir)?;
    }
    Ok(written)
}
