//! One remote-helper session: git's commands in, replies out, with experiment data moved
//! before any ref is pushed and after refs are fetched.
//!
//! Order of a push, as git drives it: `list for-push`, options, the `push` batch. The
//! session then resolves every source, collects the objects of each ref's new commits,
//! uploads them, replies `error` for refs whose data did not arrive and pushes only the
//! others with the user's git. A remote ref therefore never points at missing data.
//!
//! Order of a fetch: `list`, options, an optional `fetch` batch (git skips it when it has
//! every object), then the end of the session, after git has updated the local refs. Data
//! is downloaded at that end for experiment refs that now match the listing. Failures
//! there can only warn, because git has already finished the fetch.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, BufRead, Write};
use std::path::PathBuf;

use super::protocol::{self, Command, PushSpec};
use crate::collect::ObjectSet;
use crate::git::{self, CommitId, Git, PushOptions, PushStatus, RemoteRef, Repo};
use crate::progress::{Progress, Silent};
use crate::project::Project;
use crate::publish::{self, RefUpdate};
use crate::refs::{self, ExpRef};
use crate::share::{self, error_chain, Direction};
use crate::transfer;

/// The push status git treats as "nothing to push for this ref", neither printed nor an error.
const NO_MATCH: &str = "no match";

/// Errors that end a session.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading git's commands or writing replies failed.
    #[error("lost the connection to git")]
    Io(#[from] io::Error),
    /// The inner URL routes back to this helper.
    #[error("the URL {url:?} after exp:: is itself an exp:: URL")]
    NestedUrl {
        /// The inner URL.
        url: String,
    },
    /// git sent a command this helper does not implement.
    #[error("unsupported remote-helper command {0:?}")]
    UnknownCommand(String),
    /// A command that needs a repository arrived while there is none.
    #[error("{0} needs a git repository, but git started the helper outside one")]
    NoRepository(&'static str),
    /// The inner git failed.
    #[error(transparent)]
    Git(#[from] git::Error),
    /// The project could not be opened.
    #[error(transparent)]
    Project(#[from] crate::project::Error),
}

/// Options git set with `option` lines.
#[derive(Debug, Clone)]
struct SessionOptions {
    progress: bool,
    verbosity: u32,
    dry_run: bool,
    atomic: bool,
    leases: Vec<String>,
    push_options: Vec<String>,
    force_if_includes: bool,
    object_format: bool,
    depth: Option<String>,
    deepen_relative: bool,
    fetch_extra: Vec<String>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            progress: false,
            verbosity: 1,
            dry_run: false,
            atomic: false,
            leases: Vec::new(),
            push_options: Vec::new(),
            force_if_includes: false,
            object_format: false,
            depth: None,
            deepen_relative: false,
            fetch_extra: Vec::new(),
        }
    }
}

/// A remote-helper session over `out` (protocol replies) and `err` (messages for the user).
pub struct Session<'p, W: Write, E: Write> {
    out: W,
    err: E,
    url: String,
    git_dir: Option<PathBuf>,
    git: Git,
    project: Option<Project>,
    options: SessionOptions,
    listing: Option<Vec<RemoteRef>>,
    listed_for_fetch: bool,
    progress: &'p dyn Progress,
    jobs: usize,
}

impl<'p, W: Write, E: Write> Session<'p, W, E> {
    /// Starts a session for the inner `url`, in the repository at `git_dir` if git gave one.
    pub fn new(
        url: &str,
        git_dir: Option<PathBuf>,
        out: W,
        err: E,
        progress: &'p dyn Progress,
    ) -> Result<Self, Error> {
        if url.starts_with("exp::") {
            return Err(Error::NestedUrl {
                url: url.to_owned(),
            });
        }
        let git_dir = git_dir.map(|dir| git::absolute(&dir));
        let git = match &git_dir {
            Some(dir) => Git::for_git_dir(dir, None),
            None => Git::without_repository(),
        };
        Ok(Session {
            out,
            err,
            url: url.to_owned(),
            git_dir,
            git,
            project: None,
            options: SessionOptions::default(),
            listing: None,
            listed_for_fetch: false,
            progress,
            jobs: transfer::default_jobs(),
        })
    }

    /// Sets the number of concurrent transfers.
    pub fn set_jobs(&mut self, jobs: usize) {
        self.jobs = jobs.max(1);
    }

    /// Serves git's commands from `input` until the session ends.
    pub fn run(&mut self, input: &mut dyn BufRead) -> Result<(), Error> {
        while let Some(line) = read_line(input)? {
            tracing::trace!(line = %String::from_utf8_lossy(&line), "<<");
            match protocol::parse_line(&line) {
                Command::Capabilities => {
                    self.reply("fetch\npush\noption\nobject-format\n\n")?;
                }
                Command::List { for_push } => self.list(for_push)?,
                Command::Option { name, value } => {
                    let answer = self.set_option(&name, &value);
                    self.reply(&format!("{answer}\n"))?;
                }
                Command::Fetch { oid, name } => {
                    let batch = read_batch(input, (oid, name), |command| match command {
                        Command::Fetch { oid, name } => Some((oid, name)),
                        _ => None,
                    })?;
                    self.fetch(batch)?;
                }
                Command::Push(spec) => {
                    let batch = read_batch(input, spec, |command| match command {
                        Command::Push(spec) => Some(spec),
                        _ => None,
                    })?;
                    self.push(batch)?;
                }
                Command::Blank => break,
                Command::Unknown(text) => return Err(Error::UnknownCommand(text)),
            }
        }

        if self.listed_for_fetch {
            self.download_fetched();
        }
        Ok(())
    }

    fn reply(&mut self, text: &str) -> Result<(), Error> {
        tracing::trace!(reply = %text.trim_end(), ">>");
        self.out.write_all(text.as_bytes())?;
        self.out.flush()?;
        Ok(())
    }

    fn say(&mut self, message: &str) {
        if self.options.verbosity > 0 {
            let _ = writeln!(self.err, "git-remote-exp: {message}");
        }
    }

    fn warn(&mut self, message: &str) {
        let _ = writeln!(self.err, "warning: git-remote-exp: {message}");
    }

    fn progress(&self) -> &'p dyn Progress {
        if self.options.progress {
            self.progress
        } else {
            &Silent
        }
    }

    fn set_option(&mut self, name: &str, value: &str) -> &'static str {
        let enabled = value == "true" || value == "1";
        match name {
            "progress" => self.options.progress = enabled,
            "verbosity" => self.options.verbosity = value.parse().unwrap_or(1),
            "dry-run" => self.options.dry_run = enabled,
            "atomic" => self.options.atomic = enabled,
            "cas" => self.options.leases.push(value.to_owned()),
            "push-option" => self.options.push_options.push(value.to_owned()),
            "force-if-includes" => self.options.force_if_includes = enabled,
            "object-format" => self.options.object_format = enabled,
            "followtags" | "cloning" | "check-connectivity" => {}
            "depth" => self.options.depth = Some(value.to_owned()),
            "deepen-relative" => self.options.deepen_relative = enabled,
            "deepen-since" => self
                .options
                .fetch_extra
                .push(format!("--shallow-since={value}")),
            "deepen-not" => self
                .options
                .fetch_extra
                .push(format!("--shallow-exclude={value}")),
            "update-shallow" if enabled => self.options.fetch_extra.push("--update-shallow".into()),
            "refetch" if enabled => self.options.fetch_extra.push("--refetch".into()),
            "filter" => self.options.fetch_extra.push(format!("--filter={value}")),
            _ => return "unsupported",
        }
        "ok"
    }

    fn list(&mut self, for_push: bool) -> Result<(), Error> {
        let refs = self.git.ls_remote(&self.url)?;
        let mut text = String::new();

        if self.options.object_format {
            let hex_len = refs
                .iter()
                .find_map(|r| match r {
                    RemoteRef::Direct { oid, .. } => Some(oid.len()),
                    RemoteRef::Symbolic { .. } => None,
                })
                .unwrap_or(40);
            let format = if hex_len == 64 { "sha256" } else { "sha1" };
            text.push_str(&format!(":object-format {format}\n"));
        }

        let symbolic: BTreeSet<&str> = refs
            .iter()
            .filter_map(|r| match r {
                RemoteRef::Symbolic { name, .. } => Some(name.as_str()),
                RemoteRef::Direct { .. } => None,
            })
            .collect();
        for remote_ref in &refs {
            match remote_ref {
                RemoteRef::Symbolic { name, target } => {
                    text.push_str(&format!("@{target} {name}\n"))
                }
                RemoteRef::Direct { name, oid } => {
                    if symbolic.contains(name.as_str()) || refs::is_hidden(name) {
                        continue;
                    }
                    text.push_str(&format!("{oid} {name}\n"));
                }
            }
        }
        text.push('\n');

        self.listing = Some(refs);
        if !for_push {
            self.listed_for_fetch = true;
        }
        self.reply(&text)
    }

    fn remote_oids(&self) -> HashMap<String, CommitId> {
        let mut oids = HashMap::new();
        for remote_ref in self.listing.iter().flatten() {
            if let RemoteRef::Direct { name, oid } = remote_ref {
                if let Ok(id) = CommitId::from_hex(oid.as_bytes()) {
                    oids.insert(name.clone(), id);
                }
            }
        }
        oids
    }

    fn fetch(&mut self, batch: Vec<(String, String)>) -> Result<(), Error> {
        if self.git_dir.is_none() {
            return Err(Error::NoRepository("fetch"));
        }
        let mut extra = self.options.fetch_extra.clone();
        if let Some(depth) = &self.options.depth {
            extra.push(if self.options.deepen_relative {
                format!("--deepen={depth}")
            } else {
                format!("--depth={depth}")
            });
        }

        let oids: Vec<String> = batch
            .iter()
            .map(|(oid, _)| oid.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let progress = self.options.progress;
        if let Err(error) = self.git.fetch_objects(&self.url, &oids, &extra, progress) {
            // Servers that only serve advertised tips reject wants by object id.
            tracing::debug!(%error, "fetch by object id failed, retrying by ref name");
            let names: Vec<String> = batch.iter().map(|(_, name)| name.clone()).collect();
            self.git
                .fetch_objects(&self.url, &names, &extra, progress)?;
        }
        self.reply("\n")
    }

    fn project(&mut self, fallback: Option<CommitId>) -> Result<&Project, Error> {
        if self.project.is_none() {
            let git_dir = self.git_dir.clone().ok_or(Error::NoRepository("push"))?;
            let repo = Repo::open(&git_dir)?;
            let fallback = fallback.or_else(|| repo.head_commit().ok().flatten());
            self.project = Some(Project::open(repo, fallback)?);
        }
        match &self.project {
            Some(project) => Ok(project),
            None => Err(Error::NoRepository("push")),
        }
    }

    fn push(&mut self, batch: Vec<PushSpec>) -> Result<(), Error> {
        let remote_oids = self.remote_oids();
        let patterns = publish::transfer_patterns(&self.git);
        let mut updates = {
            let project = self.project(None)?;
            let repo = project.repo();
            let mut updates: Vec<RefUpdate> = batch
                .iter()
                .map(|spec| {
                    if spec.is_delete() || refs::is_hidden(&spec.dst) {
                        return RefUpdate::new(&spec.dst, None);
                    }
                    match repo.resolve_object(&spec.src) {
                        Ok(object) => RefUpdate::new(&spec.dst, Some(object)),
                        Err(error) => {
                            let mut update = RefUpdate::new(&spec.dst, None);
                            update.error = Some(error_chain(&error));
                            update
                        }
                    }
                })
                .collect();
            publish::plan(repo, &mut updates, &remote_oids, &patterns);
            updates
        };

        if !self.options.dry_run {
            let options = transfer::Options {
                jobs: self.jobs,
                ..Default::default()
            };
            let progress = self.progress();
            let outcome = {
                let project = self.project(None)?;
                publish::upload(project, &mut updates, None, &options, progress)
            };
            if let Some(outcome) = outcome {
                self.report_upload(&outcome);
            }
        }
        if self.options.atomic {
            publish::reject_all_if_any_failed(&mut updates);
        }
        for update in updates.iter().filter(|u| u.internal) {
            tracing::debug!(refname = %update.dst, "not pushing DVC's internal ref");
        }

        let refspecs: Vec<String> = batch
            .iter()
            .zip(&updates)
            .filter(|(_, update)| update.is_accepted())
            .map(|(spec, update)| match update.new {
                None => format!(":{}", update.dst),
                Some(object) => format!(
                    "{}{}:{}",
                    if spec.force { "+" } else { "" },
                    object,
                    update.dst
                ),
            })
            .collect();
        let statuses = if refspecs.is_empty() {
            Vec::new()
        } else {
            self.inner_push(&refspecs)?
        };

        let by_dst: HashMap<&str, &PushStatus> =
            statuses.iter().map(|s| (s.dst.as_str(), s)).collect();
        let mut text = String::new();
        for update in &updates {
            let dst = &update.dst;
            let result = if update.internal {
                // "no match" makes git skip the ref silently and keeps the push successful.
                Err(NO_MATCH.to_owned())
            } else if let Some(error) = &update.error {
                Err(error.clone())
            } else {
                match by_dst.get(dst.as_str()) {
                    Some(status) => status_result(status),
                    None if statuses.is_empty() => Err("git push failed".to_owned()),
                    None => Err("git push reported nothing for this ref".to_owned()),
                }
            };
            match result {
                Ok(()) => text.push_str(&format!("ok {dst}\n")),
                Err(reason) => {
                    text.push_str(&format!("error {dst} {}\n", protocol::c_quote(&reason)))
                }
            }
        }
        text.push('\n');
        self.reply(&text)
    }

    fn inner_push(&mut self, refspecs: &[String]) -> Result<Vec<PushStatus>, Error> {
        let options = PushOptions {
            dry_run: self.options.dry_run,
            atomic: self.options.atomic,
            leases: self.options.leases.clone(),
            push_options: self.options.push_options.clone(),
            progress: self.options.progress,
            force_if_includes: self.options.force_if_includes,
        };
        // Keep each command line well below the kernel's argument limit.
        let chunk = if options.atomic {
            refspecs.len().max(1)
        } else {
            1000
        };
        let mut statuses = Vec::new();
        for refspecs in refspecs.chunks(chunk) {
            match self.git.push(&self.url, refspecs, &options) {
                Ok(mut more) => statuses.append(&mut more),
                Err(error) => {
                    self.warn(&error_chain(&error));
                }
            }
        }
        Ok(statuses)
    }

    fn report_upload(&mut self, outcome: &share::Outcome) {
        if outcome.transferred > 0 || outcome.already_present > 0 {
            self.say(&outcome.upload_summary());
        }
        for (key, failure) in &outcome.failures {
            let verb = if failure.missing { "missing" } else { "failed" };
            let message = format!("{verb} {} ({key}): {}", failure.path, failure.message);
            let _ = writeln!(self.err, "git-remote-exp: {message}");
        }
    }

    fn download_fetched(&mut self) {
        if self.git_dir.is_none() {
            return;
        }
        let listed: Vec<(String, CommitId)> = self.remote_oids().into_iter().collect();
        let exps: Vec<(ExpRef, CommitId)> = listed
            .into_iter()
            .filter_map(|(name, oid)| match ExpRef::parse(&name) {
                Ok(Some(exp)) => Some((exp, oid)),
                _ => None,
            })
            .collect();
        if exps.is_empty() {
            return;
        }

        let outcome = match self.collect_fetched(&exps) {
            Ok(Some((set, count))) => {
                let options = transfer::Options {
                    jobs: self.jobs,
                    ..Default::default()
                };
                let progress = self.progress();
                let outcome = match self.project(None) {
                    Ok(project) => share::transfer(
                        project,
                        &set,
                        Direction::Download,
                        None,
                        &options,
                        progress,
                    ),
                    Err(error) => {
                        self.warn(&format!(
                            "cannot download experiment data: {}",
                            error_chain(&error)
                        ));
                        return;
                    }
                };
                Some((outcome, count))
            }
            Ok(None) => None,
            Err(error) => {
                self.warn(&format!(
                    "cannot download experiment data: {}",
                    error_chain(&error)
                ));
                return;
            }
        };

        let Some((outcome, count)) = outcome else {
            return;
        };
        self.say(&outcome.download_summary(&format!("of {count} experiments")));
        for (key, failure) in &outcome.failures {
            self.warn(&format!(
                "could not download {} ({key}): {}",
                failure.path, failure.message
            ));
        }
        if !outcome.failures.is_empty() {
            self.warn("the experiment refs were fetched; run `git exp fetch` to retry the data");
        }
    }

    /// Returns the objects of experiment refs that the fetch made local, if any are incomplete.
    fn collect_fetched(
        &mut self,
        exps: &[(ExpRef, CommitId)],
    ) -> Result<Option<(ObjectSet, usize)>, Error> {
        let project = self.project(None)?;
        let local: HashMap<String, CommitId> = project
            .repo()
            .refs_with_prefix(refs::PREFIX)?
            .into_iter()
            .collect();
        let fetched: Vec<(ExpRef, CommitId)> = exps
            .iter()
            .filter(|(exp, oid)| local.get(&exp.refname()) == Some(oid))
            .cloned()
            .collect();
        let found = share::missing_experiment_objects(project, &fetched)?;
        for (refname, error) in &found.skipped {
            tracing::warn!(%refname, %error, "skipping experiment");
        }
        Ok(if found.missing.is_empty() {
            None
        } else {
            Some((found.missing, found.incomplete))
        })
    }
}

/// Maps a porcelain status to the reply git expects.
fn status_result(status: &PushStatus) -> Result<(), String> {
    if status.flag != '!' {
        return Ok(());
    }
    let inner = status
        .summary
        .rsplit_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or(&status.summary);
    Err(match inner {
        "non-fast-forward" => "non-fast forward".to_owned(),
        other => other.to_owned(),
    })
}

/// Reads one line without its newline; `None` at end of input.
fn read_line(input: &mut dyn BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    if input.read_until(b'\n', &mut line)? == 0 {
        return Ok(None);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    Ok(Some(line))
}

/// Reads the rest of a batch that started with `first`, up to the blank line.
fn read_batch<T>(
    input: &mut dyn BufRead,
    first: T,
    mut accept: impl FnMut(Command) -> Option<T>,
) -> Result<Vec<T>, Error> {
    let mut batch = vec![first];
    while let Some(line) = read_line(input)? {
        tracing::trace!(line = %String::from_utf8_lossy(&line), "<<");
        match protocol::parse_line(&line) {
            Command::Blank => return Ok(batch),
            command => match accept(command) {
                Some(item) => batch.push(item),
                None => {
                    return Err(Error::UnknownCommand(format!(
                        "unexpected command inside a batch: {}",
                        String::from_utf8_lossy(&line)
                    )))
                }
            },
        }
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_reasons_map_to_git_words() {
        let status = |summary: &str| PushStatus {
            dst: "refs/x".into(),
            flag: '!',
            summary: summary.into(),
        };
        assert_eq!(
            status_result(&status("[rejected] (non-fast-forward)")),
            Err("non-fast forward".to_owned())
        );
        assert_eq!(
            status_result(&status("[rejected] (stale info)")),
            Err("stale info".to_owned())
        );
        assert_eq!(
            status_result(&status("[remote rejected] (pre-receive hook declined)")),
            Err("pre-receive hook declined".to_owned())
        );
        let ok = PushStatus {
            dst: "refs/x".into(),
            flag: '*',
            summary: "[new reference]".into(),
        };
        assert_eq!(status_result(&ok), Ok(()));
    }
}
