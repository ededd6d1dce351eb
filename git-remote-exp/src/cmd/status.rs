//! `git exp status [-c] [--verify] [REV ...]`: which outputs of revisions lack data in the
//! cache or in storage, or have corrupt data there, laid out as `dvc status -c` prints it.

use std::collections::BTreeMap;
use std::process::ExitCode;

use exp_lib::collect::{Collector, ObjectSet};
use exp_lib::object::ObjectKey;
use exp_lib::project;
use exp_lib::share;
use exp_lib::verify::{self, Findings};

use super::{fail, jobs, Global};

/// Width DVC pads each `state:` label to.
const STATE_WIDTH: usize = 20;

/// Show which objects of revisions are missing or corrupt in the cache or in storage.
///
/// Without --cloud, lists each output whose data is not complete in the cache. With
/// --cloud, compares the cache with storage: `new` is only in the cache, `deleted` only in
/// storage, `missing` in neither. A directory counts as stored when its `.dir` manifest
/// is, as DVC counts it. An object counts as present when a file of the size the metafile
/// records is there; nothing is hashed.
///
/// --verify also hashes every cache object the revisions reference, the members of
/// directories included, on all cores. An output with a corrupt or unreadable object is
/// `corrupted`, and stderr names each such object with its cache path. With --cloud, it
/// also downloads and hashes every stored object: `corrupted in storage`, naming the
/// object's path in the storage and the storage. The exit status is then 1 when anything
/// is corrupt or could not be checked.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Compare the cache with DVC storage.
    #[arg(short, long)]
    pub cloud: bool,
    /// Storage to compare with, instead of the default (`core.remote`).
    #[arg(short = 'r', long = "remote", value_name = "STORAGE")]
    pub storage: Option<String>,
    /// Number of concurrent storage requests [default: 4 x CPU cores].
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Print the states as JSON: output path to state.
    #[arg(long)]
    pub json: bool,
    /// Hash every object in the cache (and, with -c, in storage).
    #[arg(long)]
    pub verify: bool,
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
    // Lines naming each corrupt object, printed on stderr after the states.
    let mut problems: Vec<String> = Vec::new();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    for rev in &args.revs {
        let commit = repo.resolve_commit(rev)?;
        let mut outputs: Vec<(String, Option<String>, ObjectKey, Option<u64>)> = Vec::new();
        for output in collector.outputs(commit)? {
            if output.flags.cache {
                // A directory's size is the sum of its files, not the size of its manifest.
                let size = output.size.filter(|_| !output.key.id.is_dir());
                outputs.push((
                    output.path.clone(),
                    output.flags.remote.clone(),
                    output.key,
                    size,
                ));
            }
        }

        let mut states = BTreeMap::new();
        let mut corrupted = Findings::new();
        if args.verify {
            let keys: Vec<ObjectKey> = outputs.iter().map(|(_, _, key, _)| *key).collect();
            corrupted = verify::cache_objects(project.cache(), &keys, cores);
            for (path, _, key, _) in &outputs {
                for finding in corrupted.get(key).into_iter().flatten() {
                    problems.push(format!(
                        "error: corrupted {path} ({}): {}",
                        finding.object, finding.message
                    ));
                }
            }
        }
        if !args.cloud {
            for (path, _, key, size) in &outputs {
                if corrupted.contains_key(key) {
                    states.insert(path.clone(), "corrupted");
                } else if !in_cache(&project, path, key, *size) {
                    states.insert(path.clone(), "not in cache");
                }
            }
            by_rev.push((rev.clone(), states));
            continue;
        }

        // Outputs grouped by the storage they belong to.
        let mut groups: BTreeMap<String, Vec<(String, ObjectKey, Option<u64>)>> = BTreeMap::new();
        for (path, routed, key, size) in &outputs {
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
            groups
                .entry(name)
                .or_default()
                .push((path.clone(), *key, *size));
        }
        for (name, members) in groups {
            let storage = project.open_storage(&name)?;
            let keys: Vec<ObjectKey> = members.iter().map(|(_, key, _)| *key).collect();
            // Sizes from the metafiles, else of cached objects, let storage report a
            // truncated copy as missing.
            let sizes: std::collections::HashMap<ObjectKey, u64> = members
                .iter()
                .filter_map(|(_, key, size)| {
                    let size = size.or_else(|| {
                        std::fs::metadata(project.cache().object_path(key))
                            .ok()
                            .map(|m| m.len())
                    })?;
                    Some((*key, size))
                })
                .collect();
            let absent = storage.missing(&keys, &sizes, jobs(args.jobs))?;
            // Absent objects too: storage reports something damaged under a name as absent.
            let stored_corrupt = if args.verify {
                verify::stored_objects(storage.as_ref(), &keys, jobs(args.jobs))
            } else {
                Findings::new()
            };
            for (path, key, size) in &members {
                let mut bad_in_storage = false;
                for finding in stored_corrupt.get(key).into_iter().flatten() {
                    bad_in_storage |= finding.corrupt;
                    let what = if finding.corrupt {
                        "corrupted in storage"
                    } else {
                        "cannot verify in storage"
                    };
                    problems.push(format!(
                        "error: {what} '{name}' {path} ({}): {}",
                        finding.object, finding.message
                    ));
                }
                let cached = in_cache(&project, path, key, *size);
                let stored = !absent.contains(key);
                let state = if corrupted.contains_key(key) {
                    "corrupted"
                } else if bad_in_storage {
                    "corrupted in storage"
                } else {
                    match (cached, stored) {
                        (true, true) => continue,
                        (true, false) => "new",
                        (false, true) => "deleted",
                        (false, false) => "missing",
                    }
                };
                states.insert(path.clone(), state);
            }
            if !storages_used.contains(&name) {
                storages_used.push(name);
            }
        }
        by_rev.push((rev.clone(), states));
    }
    let failed = !problems.is_empty();

    if args.json {
        let json = if let [(_, states)] = by_rev.as_slice() {
            serde_json::to_value(states)?
        } else {
            serde_json::to_value(by_rev.iter().cloned().collect::<BTreeMap<_, _>>())?
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
        print_problems(&problems);
        return Ok(super::exit_code(failed));
    }
    if global.quiet {
        print_problems(&problems);
        return Ok(super::exit_code(failed));
    }
    let several = by_rev.len() > 1;
    for (rev, states) in &by_rev {
        if several {
            println!("{rev}:");
        }
        for (path, state) in states {
            // A label longer than the column still gets one space before the path.
            let label = format!("{state}:");
            let width = STATE_WIDTH.max(label.len() + 1);
            println!("\t{label:<width$}{path}");
        }
    }
    if by_rev.iter().all(|(_, states)| states.is_empty()) {
        if args.cloud {
            let names: Vec<String> = storages_used.iter().map(|n| format!("'{n}'")).collect();
            if names.is_empty() {
                println!("There are no cached outputs to compare.");
            } else if args.verify {
                println!(
                    "Cache and remote {} are in sync, and every object hashes to its id.",
                    names.join(", ")
                );
            } else {
                println!("Cache and remote {} are in sync.", names.join(", "));
            }
        } else if args.verify {
            println!("The cache has the data of every output, and every object hashes to its id.");
        } else {
            println!("The cache has the data of every output.");
        }
    }
    print_problems(&problems);
    Ok(super::exit_code(failed))
}

/// Prints the lines naming corrupt objects, and how to repair them.
fn print_problems(problems: &[String]) {
    for line in problems {
        eprintln!("{line}");
    }
    if !problems.is_empty() {
        eprintln!("hint: move a corrupt cache file away, then `git exp fetch` downloads a good copy; `git exp push --verify` replaces corrupt stored objects");
    }
}

/// Returns true if and only if the cache contains the object of the output, of the size
/// the metafile records, and every member when it is a directory.
fn in_cache(
    project: &exp_lib::project::Project,
    path: &str,
    key: &ObjectKey,
    size: Option<u64>,
) -> bool {
    let mut set = ObjectSet::default();
    set.by_storage
        .entry(None)
        .or_default()
        .insert(*key, path.to_owned());
    if let Some(size) = size {
        set.sizes.insert(*key, size);
    }
    share::incomplete(project.cache(), &set).is_empty()
}
