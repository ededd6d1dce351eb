//! `git exp status [-c] [REV ...]`: which outputs of revisions lack data in the cache or in
//! storage, laid out as `dvc status -c` prints it.

use std::collections::BTreeMap;
use std::process::ExitCode;

use exp_lib::collect::{Collector, ObjectSet};
use exp_lib::object::ObjectKey;
use exp_lib::project;
use exp_lib::share;

use super::{fail, jobs, Global};

/// Width DVC pads each `state:` label to.
const STATE_WIDTH: usize = 20;

/// Show which objects of revisions are missing from the cache or from storage.
///
/// Without --cloud, lists each output whose data is not complete in the cache. With
/// --cloud, compares the cache with storage: `new` is only in the cache, `deleted` only in
/// storage, `missing` in neither. A directory counts as stored when its `.dir` manifest
/// is, as DVC counts it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Compare the cache with DVC storage.
    #[arg(short, long)]
    pub cloud: bool,
    /// Storage to compare with, instead of the default (`core.remote`).
    #[arg(short = 'r', long = "remote", value_name = "STORAGE")]
    pub storage: Option<String>,
    /// Number of concurrent existence checks [default: 4 x CPU cores].
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Print the states as JSON: output path to state.
    #[arg(long)]
    pub json: bool,
    /// Revisions whose outputs to check.
    #[arg(default_value = "HEAD")]
    pub revs: Vec<String>,
}

/// Runs `git exp status`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<ExitCode> {
    let project = super::open_project()?;
    let repo = project.repo();
    let mut collector = Collector::new(repo);
    let mut by_rev: Vec<(String, BTreeMap<String, &'static str>)> = Vec::new();
    let mut storages_used: Vec<String> = Vec::new();

    for rev in &args.revs {
        let commit = repo.resolve_commit(rev)?;
        let mut outputs: Vec<(String, Option<String>, ObjectKey)> = Vec::new();
        for output in collector.outputs(commit)? {
            if output.flags.cache {
                outputs.push((output.path.clone(), output.flags.remote.clone(), output.key));
            }
        }

        let mut states = BTreeMap::new();
        if !args.cloud {
            for (path, _, key) in &outputs {
                if !in_cache(&project, path, key) {
                    states.insert(path.clone(), "not in cache");
                }
            }
            by_rev.push((rev.clone(), states));
            continue;
        }

        // Outputs grouped by the storage they belong to.
        let mut groups: BTreeMap<String, Vec<(String, ObjectKey)>> = BTreeMap::new();
        for (path, routed, key) in &outputs {
            if let (Some(routed), Some(explicit)) = (routed, &args.storage) {
                if !routed.eq_ignore_ascii_case(explicit) {
                    continue;
                }
            }
            let Some(name) = project.storage_name(routed.as_deref(), args.storage.as_deref())
            else {
                return fail(
                    &format!("no DVC storage is configured for the outputs of {rev}"),
                    &[project::NO_STORAGE_HINT],
                );
            };
            groups.entry(name).or_default().push((path.clone(), *key));
        }
        for (name, members) in groups {
            let storage = project.open_storage(&name)?;
            let keys: Vec<ObjectKey> = members.iter().map(|(_, key)| *key).collect();
            // Sizes of cached objects let storage report a truncated copy as missing.
            let sizes: std::collections::HashMap<ObjectKey, u64> = keys
                .iter()
                .filter_map(|key| {
                    let size = std::fs::metadata(project.cache().object_path(key))
                        .ok()?
                        .len();
                    Some((*key, size))
                })
                .collect();
            let absent = storage.missing(&keys, &sizes, jobs(args.jobs))?;
            for (path, key) in &members {
                let cached = in_cache(&project, path, key);
                let stored = !absent.contains(key);
                let state = match (cached, stored) {
                    (true, true) => continue,
                    (true, false) => "new",
                    (false, true) => "deleted",
                    (false, false) => "missing",
                };
                states.insert(path.clone(), state);
            }
            if !storages_used.contains(&name) {
                storages_used.push(name);
            }
        }
        by_rev.push((rev.clone(), states));
    }

    if args.json {
        let json = if let [(_, states)] = by_rev.as_slice() {
            serde_json::to_value(states)?
        } else {
            serde_json::to_value(by_rev.iter().cloned().collect::<BTreeMap<_, _>>())?
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(ExitCode::SUCCESS);
    }
    if global.quiet {
        return Ok(ExitCode::SUCCESS);
    }
    let several = by_rev.len() > 1;
    for (rev, states) in &by_rev {
        if several {
            println!("{rev}:");
        }
        for (path, state) in states {
            println!("\t{:<STATE_WIDTH$}{path}", format!("{state}:"));
        }
    }
    if by_rev.iter().all(|(_, states)| states.is_empty()) {
        if args.cloud {
            let names: Vec<String> = storages_used.iter().map(|n| format!("'{n}'")).collect();
            if names.is_empty() {
                println!("There are no cached outputs to compare.");
            } else {
                println!("Cache and remote {} are in sync.", names.join(", "));
            }
        } else {
            println!("The cache has the data of every output.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Returns true if and only if the cache contains the object of the output, and every
/// member when it is a directory.
fn in_cache(project: &exp_lib::project::Project, path: &str, key: &ObjectKey) -> bool {
    let mut set = ObjectSet::default();
    set.by_storage
        .entry(None)
        .or_default()
        .insert(*key, path.to_owned());
    share::incomplete(project.cache(), &set).is_empty()
}
