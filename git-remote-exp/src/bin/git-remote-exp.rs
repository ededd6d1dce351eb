//! `git-remote-exp`: the remote helper git runs for `exp::<url>` remotes.
//!
//! Git starts it as `git-remote-exp <remote> <url>` with the repository in `GIT_DIR`
//! (absent for `git ls-remote` outside a repository). Stdout carries the helper protocol
//! only; everything for the user goes to stderr.

use std::io::{self, BufReader};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use exp_lib::git::GUARD_ENV;
use exp_lib::helper::session::Session;
use git_remote_exp::output::{self, Bar};

fn main() -> ExitCode {
    output::init_logging();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            output::print_error("git-remote-exp", &error, &[]);
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = match args.as_slice() {
        [_, url] => url.clone(),
        [url] => url.clone(),
        _ => anyhow::bail!("usage: git-remote-exp <remote> <url>; git runs this for remotes whose URL starts with exp::"),
    };
    // Git passes the URL as written, password included; every message and log line that
    // could show it goes through the redaction list.
    exp_lib::redact::register_url(&url);
    if std::env::var_os(GUARD_ENV).is_some() {
        anyhow::bail!(
            "refusing to serve {url:?} from inside another git-remote-exp or git-exp call ({GUARD_ENV} is set); \
             an insteadOf rule probably maps the inner URL back to exp::"
        );
    }

    let git_dir = std::env::var_os("GIT_DIR").map(PathBuf::from);
    let bar = Bar::new(true);
    let stdout = io::stdout();
    // Not locked for the session's lifetime: worker threads write their log lines to stderr
    // while the session runs, and would wait forever for a lock held by this thread.
    let mut session = Session::new(&url, git_dir, stdout.lock(), io::stderr(), &bar)
        .with_context(|| format!("cannot start a session for {url}"))?;
    if let Some(jobs) = std::env::var("GIT_EXP_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
    {
        session.set_jobs(jobs);
    }
    let stdin = io::stdin();
    let mut input = BufReader::new(stdin.lock());
    session.run(&mut input)?;
    Ok(())
}
