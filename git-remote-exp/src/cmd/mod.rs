//! The `git exp` subcommands, one module each. Every module has an `Args` struct for clap
//! and a `run` function returning the process exit code.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use exp_lib::git::{CommitId, Repo};
use exp_lib::project::{self, Project};
use exp_lib::resolve::{self, Depth, Experiment};
use exp_lib::share;

pub mod apply;
pub mod branch;
pub mod checkout;
pub mod fetch;
pub mod generate;
pub mod hook;
pub mod install;
pub mod list;
pub mod pull;
pub mod push;
pub mod remote;
pub mod remove;
pub mod show;
pub mod status;
pub mod uninstall;

/// Options every subcommand accepts.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Global {
    /// Print only errors; no progress bars.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print more detail (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The baseline selection flags, which pick experiments as `dvc exp` does.
#[derive(Debug, Clone, clap::Args)]
pub struct Selection {
    /// Use the experiments of every baseline commit.
    #[arg(short = 'A', long = "all-commits")]
    pub all_commits: bool,
    /// Use the experiments whose baseline is this commit (repeatable) [default: HEAD].
    #[arg(long = "rev", value_name = "COMMIT")]
    pub revs: Vec<String>,
    /// Also use the baselines of the first N-1 first-parent ancestors of each --rev;
    /// a negative N means every ancestor.
    #[arg(
        short = 'n',
        long = "num",
        value_name = "N",
        default_value_t = 1,
        allow_negative_numbers = true
    )]
    pub num: i64,
}

impl Selection {
    /// Returns the baseline commits of `--rev` (or HEAD) and `-n`.
    pub fn baselines(&self, repo: &Repo) -> Result<Vec<CommitId>, resolve::Error> {
        let revs = if self.revs.is_empty() {
            vec!["HEAD".to_owned()]
        } else {
            self.revs.clone()
        };
        resolve::baselines(repo, &revs, Depth::from_num(self.num))
    }

    /// Returns the experiments among `experiments` that the flags select, without names.
    pub fn select(
        &self,
        repo: &Repo,
        experiments: &[Experiment],
    ) -> Result<Vec<Experiment>, resolve::Error> {
        if self.all_commits {
            return Ok(experiments.to_vec());
        }
        let baselines = self.baselines(repo)?;
        Ok(resolve::select_by_baselines(experiments, &baselines)
            .into_iter()
            .cloned()
            .collect())
    }
}

/// Opens the project that contains the current directory.
pub fn open_project() -> anyhow::Result<Project> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let repo = Repo::discover(&cwd)?;
    let head = repo.head_commit().ok().flatten();
    Ok(Project::open(repo, head)?)
}

/// Resolves each of `specs` against `experiments` and appends the results to `selected`,
/// skipping duplicates. Names that match nothing are returned; an ambiguous name fails.
pub fn resolve_names(
    specs: &[String],
    experiments: &[Experiment],
    head: Option<CommitId>,
    selected: &mut Vec<Experiment>,
) -> Result<Vec<String>, resolve::Error> {
    let mut unknown = Vec::new();
    for spec in specs {
        match resolve::resolve(spec, experiments, head) {
            Ok(found) => push_unique(selected, found.clone()),
            Err(resolve::Error::NotFound { name }) => unknown.push(name),
            Err(error) => return Err(error),
        }
    }
    Ok(unknown)
}

/// Resolves `spec` to a commit and a name for `apply` and `branch`: an experiment name
/// (bare, BASELINE/NAME or full ref) first, then any Git revision, which names itself.
pub fn resolve_experiment_or_revision(
    repo: &Repo,
    spec: &str,
) -> anyhow::Result<(CommitId, String)> {
    let experiments = resolve::local_experiments(repo)?;
    match resolve::resolve(spec, &experiments, repo.head_commit()?) {
        Ok(found) => Ok((found.tip, found.name().to_owned())),
        Err(resolve::Error::NotFound { .. }) if !spec.starts_with(exp_lib::refs::PREFIX) => {
            match repo.resolve_commit(spec) {
                Ok(commit) => Ok((commit, spec.to_owned())),
                Err(_) => {
                    anyhow::bail!("'{spec}' is neither an experiment name nor a Git revision")
                }
            }
        }
        Err(error) => Err(error.into()),
    }
}

/// Appends `experiment` unless `list` already has its ref.
pub fn push_unique(list: &mut Vec<Experiment>, experiment: Experiment) {
    if !list.iter().any(|e| e.exp == experiment.exp) {
        list.push(experiment);
    }
}

/// Formats names that did not resolve locally, as DVC words it.
pub fn not_valid_names(unknown: &[String]) -> String {
    match unknown {
        [one] => format!("'{one}' is not a valid experiment name"),
        many => format!("'{}' are not valid experiment names", many.join("; ")),
    }
}

/// Prints `message` as the command's error, then `hints`, and returns the failure code.
pub fn fail(message: &str, hints: &[&str]) -> anyhow::Result<ExitCode> {
    eprintln!("git exp: {message}");
    for hint in hints {
        eprintln!("hint: {hint}");
    }
    Ok(ExitCode::FAILURE)
}

/// Turns "did anything fail" into the exit code.
pub fn exit_code(failed: bool) -> ExitCode {
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Returns the number of concurrent transfers: `-j`, else `GIT_EXP_JOBS`, else DVC's default.
pub fn jobs(flag: Option<usize>) -> usize {
    flag.or_else(|| {
        std::env::var("GIT_EXP_JOBS")
            .ok()
            .and_then(|j| j.parse().ok())
    })
    .unwrap_or_else(exp_lib::transfer::default_jobs)
    .max(1)
}

/// Formats a byte count with binary units, as `1.5 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Prints the summary line of a transfer on stdout: objects, bytes, storages and seconds.
pub fn print_transfer_summary(
    global: &Global,
    verb: &str,
    outcome: &share::Outcome,
    elapsed: Duration,
) {
    if global.quiet {
        return;
    }
    let storages: Vec<String> = outcome
        .storages
        .keys()
        .map(|name| format!("'{name}'"))
        .collect();
    let place = if storages.is_empty() {
        String::new()
    } else {
        format!(
            " {} {}",
            if verb == "uploaded" { "to" } else { "from" },
            storages.join(", ")
        )
    };
    let files = if outcome.transferred == 1 {
        "file"
    } else {
        "files"
    };
    println!(
        "{} {files} {verb}{place} ({} in {:.2} s)",
        outcome.transferred,
        human_bytes(outcome.bytes),
        elapsed.as_secs_f64()
    );
    if global.verbose > 0 {
        for (name, location) in &outcome.storages {
            println!("storage '{name}' is {location}");
        }
        println!(
            "{} already there, {} skipped because they are routed to another storage",
            outcome.already_present, outcome.skipped
        );
    }
}

/// Prints one error line per object that failed, then a hint when storage was missing.
/// Returns true if any object failed.
pub fn print_transfer_failures(outcome: &share::Outcome) -> bool {
    for (key, failure) in &outcome.failures {
        let state = if failure.missing { "missing" } else { "failed" };
        eprintln!(
            "error: {state} {} ({key}): {}",
            failure.path, failure.message
        );
    }
    if outcome.failures.values().any(|f| f.storage.is_none()) {
        eprintln!("hint: {}", project::NO_STORAGE_HINT);
    }
    !outcome.failures.is_empty()
}

/// Prints what a transfer moved and what failed; returns true if anything failed.
pub fn report_transfer(global: &Global, verb: &str, outcome: &share::Outcome) -> bool {
    if !global.quiet && (outcome.transferred > 0 || !outcome.failures.is_empty()) {
        let storages: Vec<String> = outcome
            .storages
            .iter()
            .map(|(name, at)| format!("{name} ({at})"))
            .collect();
        eprintln!(
            "{} objects ({} bytes) {verb} {}",
            outcome.transferred,
            outcome.bytes,
            if storages.is_empty() {
                "storage".to_owned()
            } else {
                storages.join(", ")
            }
        );
    }
    let lines = outcome.failures.iter().map(|(key, failure)| {
        let state = if failure.missing { "missing" } else { "failed" };
        format!(
            "error: {state} {} ({key}): {}",
            failure.path, failure.message
        )
    });
    print_limited(lines, outcome.failures.len(), global.verbose > 0);
    !outcome.failures.is_empty()
}

/// Number of per-object lines printed before the rest is summarised, unless `-v` is given.
pub const MAX_OBJECT_LINES: usize = 20;

/// Prints `lines` on stderr; without `verbose`, only the first [`MAX_OBJECT_LINES`] of
/// `count`, followed by how many more there are.
pub fn print_limited(lines: impl Iterator<Item = String>, count: usize, verbose: bool) {
    let shown = if verbose {
        count
    } else {
        count.min(MAX_OBJECT_LINES)
    };
    for line in lines.take(shown) {
        eprintln!("{line}");
    }
    if shown < count {
        eprintln!("... and {} more (use -v to list all)", count - shown);
    }
}

/// Returns the first seven hex digits of `id`, as DVC shows commits.
pub fn short(id: &CommitId) -> String {
    id.to_string()[..7].to_owned()
}

/// Baseline labels as DVC picks them: the current branch when the baseline is HEAD, else
/// a tag pointing at it, else a branch pointing at it, else its short id.
pub struct Labeler {
    head: Option<CommitId>,
    head_branch: Option<String>,
    tags: Vec<(String, CommitId)>,
    branches: Vec<(String, CommitId)>,
}

impl Labeler {
    /// Reads HEAD, tags and branches of `repo`.
    pub fn new(repo: &Repo) -> anyhow::Result<Labeler> {
        let head_branch = repo
            .head_ref_name()?
            .and_then(|name| name.strip_prefix("refs/heads/").map(str::to_owned));
        Ok(Labeler {
            head: repo.head_commit()?,
            head_branch,
            tags: repo.refs_with_prefix("refs/tags/")?,
            branches: repo.refs_with_prefix("refs/heads/")?,
        })
    }

    /// Returns the label of `baseline`.
    pub fn label(&self, baseline: &CommitId) -> String {
        if self.head.as_ref() == Some(baseline) {
            if let Some(branch) = &self.head_branch {
                return branch.clone();
            }
        }
        let named = |refs: &[(String, CommitId)], prefix: &str| {
            refs.iter()
                .find(|(_, id)| id == baseline)
                .and_then(|(name, _)| name.strip_prefix(prefix).map(str::to_owned))
        };
        named(&self.tags, "refs/tags/")
            .or_else(|| named(&self.branches, "refs/heads/"))
            .unwrap_or_else(|| short(baseline))
    }
}

/// Groups experiments by baseline, keeping the order in which baselines first appear.
pub fn group_by_baseline(experiments: &[Experiment]) -> Vec<(CommitId, Vec<&Experiment>)> {
    let mut groups: Vec<(CommitId, Vec<&Experiment>)> = Vec::new();
    for experiment in experiments {
        let Some(baseline) = experiment.baseline() else {
            continue;
        };
        match groups.iter_mut().find(|(id, _)| *id == baseline) {
            Some((_, members)) => members.push(experiment),
            None => groups.push((baseline, vec![experiment])),
        }
    }
    groups
}

/// Joins quoted names as DVC does: `'a'`, `'a' and 'b'`, `'a', 'b' and 'c'`.
pub fn join_quoted(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_use_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024), "5.0 MiB");
    }

    #[test]
    fn names_join_like_dvc() {
        assert_eq!(join_quoted(&["a"]), "'a'");
        assert_eq!(join_quoted(&["a", "b"]), "'a' and 'b'");
        assert_eq!(join_quoted(&["a", "b", "c"]), "'a', 'b' and 'c'");
    }
}
