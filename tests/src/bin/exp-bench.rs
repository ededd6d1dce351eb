//! `exp-bench`: measures pushes, fetches and checkouts of experiment data against a plain
//! copy of the same objects (the floor) and, when installed, against DVC itself.
//!
//! ```text
//! cargo run --release -p exp-integration-tests --bin exp-bench -- [--quick | --only W3] [--no-dvc] [--rclone-all] [--keep]
//! ```
//!
//! Each workload builds a DVC 3 project with one experiment whose output directory contains
//! deterministic files, then times each operation once and reads its peak resident memory
//! from `wait4`. `--quick` runs W1 only. W3 starts s3s-fs on 127.0.0.1 and compares with
//! `rclone copy`, and counts the S3 requests of a push with nothing new through a loopback
//! proxy. `--rclone-all` also times rclone's copy with nothing new and its download, which
//! take minutes against s3s-fs. W2 takes one floor copy instead of three. W1 also compares with Git LFS over file:// when `git lfs` is installed, and
//! compares the MD5 rate with `md5sum`.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use exp_integration_tests::proxy::{FaultPlan, FaultProxy};
use exp_integration_tests::{dvc_executable, servers, Sandbox};
use exp_lib::manifest::{Entry, Manifest};
use exp_lib::object::{hash_file, hash_reader, HashKind, ObjectId, ObjectKey};

/// A data set for one output directory.
struct Workload {
    name: &'static str,
    description: &'static str,
    small_files: usize,
    small_min: usize,
    small_max: usize,
    big_bytes: u64,
    /// Whether the storage is S3 (s3s-fs on loopback) instead of a local folder.
    s3: bool,
}

const W1: Workload = Workload {
    name: "W1",
    description: "10,000 files of about 1.6 KB plus one 256 MiB file",
    small_files: 10_000,
    small_min: 1_500,
    small_max: 1_700,
    big_bytes: 256 << 20,
    s3: false,
};

const W3: Workload = Workload {
    name: "W3",
    description: "W1 against S3 (s3s-fs on 127.0.0.1)",
    s3: true,
    ..W1
};

const W2: Workload = Workload {
    name: "W2",
    description: "100,000 files of 1 to 4 KiB",
    small_files: 100_000,
    small_min: 1_024,
    small_max: 4_096,
    big_bytes: 0,
    s3: false,
};

const W4: Workload = Workload {
    name: "W4",
    description: "one 4 GiB file",
    small_files: 0,
    small_min: 0,
    small_max: 0,
    big_bytes: 4 << 30,
    s3: false,
};

/// One timed command.
struct Measurement {
    seconds: f64,
    peak_rss_kib: u64,
}

/// A row of the report.
struct Row {
    operation: String,
    ours: Measurement,
    floor: Option<f64>,
    /// The same operation done by another tool: its name and seconds.
    other: Option<(&'static str, f64)>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let keep = args.iter().any(|a| a == "--keep");
    let with_dvc = !args.iter().any(|a| a == "--no-dvc") && dvc_available();
    let rclone_all = args.iter().any(|a| a == "--rclone-all");

    println!("{}", machine_description());
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let mut workloads: Vec<&Workload> = if quick {
        vec![&W1]
    } else {
        vec![&W1, &W2, &W3, &W4]
    };
    if let Some(only) = &only {
        workloads = [&W1, &W2, &W3, &W4]
            .into_iter()
            .filter(|w| w.name.eq_ignore_ascii_case(only))
            .collect();
    }
    let started = Instant::now();
    let mut per_object = Vec::new();
    for workload in workloads {
        let sandbox = Sandbox::new();
        println!("\n## {}: {}", workload.name, workload.description);
        println!("load before: {}", shell("cat /proc/loadavg"));
        let outcome = run_workload(
            &sandbox,
            workload,
            with_dvc && !workload.s3 && workload.big_bytes < (1 << 30),
            rclone_all,
        );
        print_rows(&outcome.rows);
        for note in &outcome.notes {
            println!("- {note}");
        }
        println!("load after: {}", shell("cat /proc/loadavg"));
        if let Some(push) = outcome.rows.iter().find(|r| r.operation == "push (helper)") {
            if !workload.s3 {
                per_object.push((
                    workload.name,
                    push.ours.seconds / outcome.objects as f64,
                    outcome.objects,
                ));
            }
        }
        if keep {
            let kept = sandbox.path().to_path_buf();
            std::mem::forget(sandbox);
            println!("kept {}", kept.display());
        }
    }

    if per_object.len() > 1 {
        println!("\n## time per object of the helper push");
        let base = per_object[0].1;
        for (name, seconds, objects) in &per_object {
            println!(
                "{name}: {:.1} µs per object over {objects} objects ({:.2}x {})",
                seconds * 1e6,
                seconds / base,
                per_object[0].0
            );
        }
    }
    println!("\nwhole run: {:.0} s", started.elapsed().as_secs_f64());
}

fn dvc_available() -> bool {
    std::panic::catch_unwind(dvc_executable).is_ok()
}

fn machine_description() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let tmp = std::env::temp_dir();
    let fs_type = shell(&format!("stat -f -c %T {}", tmp.display()));
    let disk = shell(&format!(
        "df -h --output=source,size,avail {} | tail -1",
        tmp.display()
    ));
    let cpu = shell("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2");
    let memory = shell("grep MemTotal /proc/meminfo | awk '{printf \"%.0f GiB\", $2/1048576}'");
    let kernel = shell("uname -r");
    let git = shell("git --version");
    format!(
        "# exp-bench\nmachine: {cores} cores ({}), {memory}, kernel {kernel}\ndisk: {disk} ({fs_type}) at {}\n{git}",
        cpu.trim(),
        tmp.display()
    )
}

fn shell(script: &str) -> String {
    Command::new("sh")
        .args(["-c", script])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Fills `buffer` with bytes from a xorshift generator seeded by `seed`.
fn fill(buffer: &mut [u8], seed: u64) {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    for chunk in buffer.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let bytes = state.to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

/// Writes the workload's files under `dir` and returns (relpath, size) pairs.
fn write_data(workload: &Workload, dir: &Path) -> Vec<(String, u64)> {
    let mut files = Vec::new();
    let span = workload.small_max.saturating_sub(workload.small_min).max(1);
    let mut buffer = vec![0u8; workload.small_max.max(1)];
    for index in 0..workload.small_files {
        let relpath = format!("shard{:02}/file{index:06}.bin", index % 100);
        let size = workload.small_min + (index * 7919) % span;
        fill(&mut buffer[..size], index as u64 + 1);
        let path = dir.join(&relpath);
        if index < 100 {
            fs::create_dir_all(path.parent().expect("parent")).expect("shard dir");
        }
        fs::write(&path, &buffer[..size]).expect("small file");
        files.push((relpath, size as u64));
    }
    if workload.big_bytes > 0 {
        let relpath = "big.bin".to_owned();
        let mut out = BufWriter::with_capacity(
            1 << 20,
            fs::File::create(dir.join(&relpath)).expect("big file"),
        );
        let mut block = vec![0u8; 1 << 20];
        for block_index in 0..(workload.big_bytes >> 20) {
            fill(&mut block, 1_000_000 + block_index);
            out.write_all(&block).expect("write big file");
        }
        out.flush().expect("flush big file");
        files.push((relpath, workload.big_bytes));
    }
    files
}

/// Hashes `files` under `dir` and stores each, plus the `.dir` manifest, in `cache`.
fn fill_cache(dir: &Path, files: &[(String, u64)], cache: &Path) -> ObjectId {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = files.len().div_ceil(threads).max(1);
    let entries: Vec<Entry> = std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(relpath, _)| {
                            let source = dir.join(relpath);
                            let (digest, _) = hash_file(HashKind::Md5, &source).expect("hash");
                            let id = ObjectId::from_digest(digest);
                            store(cache, &ObjectKey::new(HashKind::Md5, id), &source);
                            Entry {
                                relpath: relpath.clone(),
                                id,
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });

    let manifest = Manifest::new(entries).to_bytes();
    let (digest, _) = hash_reader(HashKind::Md5, manifest.as_slice()).expect("hash manifest");
    let id = ObjectId::from_digest(digest).as_dir();
    let path = ObjectKey::new(HashKind::Md5, id).path_under(cache);
    fs::create_dir_all(path.parent().expect("parent")).expect("fan-out dir");
    fs::write(&path, manifest).expect("manifest");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).expect("chmod");
    id
}

fn store(cache: &Path, key: &ObjectKey, source: &Path) {
    let path = key.path_under(cache);
    if path.exists() {
        return;
    }
    fs::create_dir_all(path.parent().expect("parent")).expect("fan-out dir");
    fs::copy(source, &path).expect("copy into cache");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).expect("chmod");
}

/// Runs `command` and measures its wall time and the peak RSS of its process tree.
///
/// Dirty pages are flushed first, so that no measurement pays for writing back what an
/// earlier step wrote.
// wait4 reaps the child, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn measure(command: &mut Command) -> Measurement {
    let _ = Command::new("sync").status();
    let start = Instant::now();
    let child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start command");
    let pid = child.id() as libc::pid_t;
    let mut stderr = child.stderr.expect("stderr pipe");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });

    let mut status = 0;
    // SAFETY: `usage` is a plain C struct that wait4 fills; `pid` is our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = start.elapsed().as_secs_f64();
    let stderr_text = reader.join().unwrap_or_default();
    assert_eq!(waited, pid, "wait4 failed");
    let exited_ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    assert!(exited_ok, "{command:?} failed:\n{stderr_text}");
    Measurement {
        seconds,
        peak_rss_kib: usage.ru_maxrss as u64,
    }
}

/// What one workload measured.
struct Outcome {
    rows: Vec<Row>,
    /// Lines printed under the table: request counts, tool-only timings, the MD5 rate.
    notes: Vec<String>,
    objects: usize,
}

/// Returns the lines of `.dvc/config` and `.dvc/config.local` for the default remote
/// `storage` at `location`, which is a local path or an S3 prefix of s3s-fs on `port`.
fn storage_config(location: &str, s3_port: Option<u16>) -> (String, String) {
    match s3_port {
        None => (
            format!("[core]\n    remote = storage\n['remote \"storage\"']\n    url = {location}\n"),
            String::new(),
        ),
        Some(port) => (
            format!(
                "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://{}/{location}\n    endpointurl = http://127.0.0.1:{port}\n",
                servers::BUCKET
            ),
            s3_secrets(None),
        ),
    }
}

/// Returns `.dvc/config.local` with the s3s-fs credentials, and `endpoint_port` as the
/// endpoint when given.
fn s3_secrets(endpoint_port: Option<u16>) -> String {
    let mut text = format!(
        "['remote \"storage\"']\n    access_key_id = {}\n    secret_access_key = {}\n",
        servers::S3_KEY,
        servers::S3_SECRET
    );
    if let Some(port) = endpoint_port {
        text.push_str(&format!("    endpointurl = http://127.0.0.1:{port}\n"));
    }
    text
}

fn run_workload(
    sandbox: &Sandbox,
    workload: &Workload,
    with_dvc: bool,
    rclone_all: bool,
) -> Outcome {
    let root = sandbox.path().to_path_buf();
    let project = root.join("project");
    let data = project.join("data");
    fs::create_dir_all(&data).expect("data dir");
    fs::create_dir_all(project.join(".dvc")).expect(".dvc dir");

    eprint!("building {} ... ", workload.name);
    let files = write_data(workload, &data);
    let cache = project.join(".dvc/cache");
    let dir_id = fill_cache(&data, &files, &cache);
    let total: u64 = files.iter().map(|(_, size)| size).sum();
    let objects = files.len() + 1;
    eprintln!("{objects} objects, {} MiB", total >> 20);

    let s3_port = workload.s3.then(|| servers::s3s_fs().port);
    // Each sandbox has its own folder name, so an S3 prefix under it is new.
    let prefix = root.file_name().map_or("bench".to_owned(), |name| {
        name.to_string_lossy().into_owned()
    });
    let location = match s3_port {
        Some(_) => format!("{prefix}/storage"),
        None => "../../storage".to_owned(),
    };
    let (config, config_local) = storage_config(&location, s3_port);

    sandbox.git(&root, &["init", "-q", "--bare", "-b", "main", "origin.git"]);
    sandbox.git(&project, &["init", "-q", "-b", "main"]);
    fs::write(project.join(".dvc/config"), &config).expect("config");
    fs::write(project.join(".dvc/config.local"), &config_local).expect("config.local");
    fs::write(
        project.join(".dvc/.gitignore"),
        "/config.local\n/tmp\n/cache\n",
    )
    .expect("dvc gitignore");
    fs::write(project.join(".gitignore"), "/data\n").expect("gitignore");
    fs::write(
        project.join("data.dvc"),
        format!(
            "outs:\n- md5: {dir_id}\n  size: {total}\n  nfiles: {}\n  hash: md5\n  path: data\n",
            files.len()
        ),
    )
    .expect("data.dvc");
    fs::write(project.join("params.yaml"), "lr: 0.01\n").expect("params");
    sandbox.git(&project, &["add", "-A"]);
    sandbox.git(&project, &["commit", "-q", "-m", "baseline"]);
    sandbox.git(&project, &["push", "-q", "../origin.git", "main"]);
    let baseline = sandbox.git_stdout(&project, &["rev-parse", "HEAD"]);
    fs::write(project.join("params.yaml"), "lr: 0.1\n").expect("params");
    sandbox.git(&project, &["commit", "-q", "-am", "experiment"]);
    let exp_ref = format!("refs/exps/{}/{}/bench", &baseline[..2], &baseline[2..]);
    let exp_ref_named =
        |name: &str| format!("refs/exps/{}/{}/{name}", &baseline[..2], &baseline[2..]);
    sandbox.git(&project, &["update-ref", &exp_ref, "HEAD"]);
    sandbox.git(&project, &["checkout", "-q", "main"]);
    sandbox.git(&project, &["remote", "add", "share", "exp::../origin.git"]);

    let mut rows = Vec::new();
    let mut notes = Vec::new();
    // The disk's write speed varies between runs, so the floor is the median of three copies.
    // W2's copies took 28 to 60 s each on the 2-core machine, so it gets one.
    let copies = if workload.small_files > 50_000 { 1 } else { 3 };
    let mut floors: Vec<f64> = (0..copies)
        .map(|attempt| {
            let copy = root.join(format!("floor-copy-{attempt}"));
            let seconds = measure(Command::new("cp").arg("-r").arg(&cache).arg(&copy)).seconds;
            let _ = fs::remove_dir_all(&copy);
            seconds
        })
        .collect();
    floors.sort_by(f64::total_cmp);
    let floor = floors[floors.len() / 2];
    eprintln!("floor runs: {floors:.2?}");
    rows.push(Row {
        operation: if copies == 1 {
            "cp -r of the objects (floor, one copy)".into()
        } else {
            format!("cp -r of the objects (floor, median of {copies})")
        },
        ours: Measurement {
            seconds: floor,
            peak_rss_kib: 0,
        },
        floor: Some(floor),
        other: None,
    });

    let dvc_times = if with_dvc {
        run_dvc(sandbox, &root, &exp_ref)
    } else {
        DvcTimes::default()
    };
    let rclone = match s3_port {
        Some(port) => run_rclone(&cache, port, &prefix, rclone_all, &mut notes),
        None => RcloneTimes::default(),
    };
    let push_other = dvc_times
        .push
        .map(|t| ("dvc exp push", t))
        .or(rclone.copy.map(|t| ("rclone copy", t)));
    let again_other = dvc_times
        .push_again
        .map(|t| ("dvc exp push", t))
        .or(rclone.copy_again.map(|t| ("rclone copy", t)));

    let push_ref = |name: &str| -> Measurement {
        measure(sandbox.command("git", &project).args([
            "push",
            "-q",
            "share",
            &format!("{exp_ref}:{}", exp_ref_named(name)),
        ]))
    };
    rows.push(Row {
        operation: "push (helper)".into(),
        ours: push_ref("bench"),
        floor: Some(floor),
        other: push_other,
    });
    rows.push(Row {
        operation: "push, nothing new (new ref)".into(),
        ours: push_ref("bench-again"),
        floor: None,
        other: again_other,
    });
    if let Some(port) = s3_port {
        // Every request of one more no-op push goes through a counting proxy.
        let proxy = FaultProxy::start(
            port,
            FaultPlan {
                failures: 0,
                drop_upload: false,
                stall: None,
            },
        );
        fs::write(
            project.join(".dvc/config.local"),
            s3_secrets(Some(proxy.port)),
        )
        .expect("config.local");
        push_ref("bench-counted");
        notes.push(format!(
            "S3 requests of a push with nothing new (helper, {objects} objects): {}",
            proxy.requests()
        ));
        fs::write(project.join(".dvc/config.local"), &config_local).expect("config.local");
    }

    run_hook_push(
        sandbox, &root, &project, &exp_ref, s3_port, &prefix, floor, &mut rows,
    );

    let url = format!("exp::{}", root.join("origin.git").display());
    sandbox.git(&root, &["clone", "-q", &url, "clone"]);
    let clone = root.join("clone");
    fs::write(clone.join(".dvc/config.local"), &config_local).expect("clone config.local");
    let fetch = measure(sandbox.command("git", &clone).args([
        "fetch",
        "-q",
        "origin",
        "+refs/exps/*:refs/exps/*",
    ]));
    let fetch_seconds = fetch.seconds;
    rows.push(Row {
        operation: "fetch".into(),
        ours: fetch,
        floor: Some(floor),
        other: dvc_times
            .pull
            .map(|t| ("dvc exp pull", t))
            .or(rclone.download.map(|t| ("rclone copy (download)", t))),
    });

    sandbox.git(&clone, &["checkout", "-q", &exp_ref]);
    let checkout = measure(sandbox.command("git-exp", &clone).args(["-q", "checkout"]));
    let both = fetch_seconds + checkout.seconds;
    let checkout_peak = checkout.peak_rss_kib;
    rows.push(Row {
        operation: "checkout".into(),
        ours: checkout,
        floor: Some(floor),
        other: dvc_times.apply.map(|t| ("dvc exp apply", t)),
    });
    rows.push(Row {
        operation: "fetch + checkout".into(),
        ours: Measurement {
            seconds: both,
            peak_rss_kib: checkout_peak,
        },
        floor: Some(floor),
        other: match (dvc_times.pull, dvc_times.apply) {
            (Some(a), Some(b)) => Some(("dvc exp pull + apply", a + b)),
            _ => None,
        },
    });

    if workload.name == "W1" {
        if lfs_available() {
            run_lfs(sandbox, &root, &project, &mut rows, &mut notes, floor);
        } else {
            notes.push("Git LFS: not installed, not measured".to_owned());
        }
        if let Some((_, size)) = files.iter().find(|(relpath, _)| relpath == "big.bin") {
            notes.push(hash_rate(&data.join("big.bin"), *size));
        }
    }

    Outcome {
        rows,
        notes,
        objects,
    }
}

/// Pushes the experiment to a plain Git remote with the pre-push hook, into a storage of
/// its own so that every object is new, then once more with nothing new.
#[allow(clippy::too_many_arguments)]
fn run_hook_push(
    sandbox: &Sandbox,
    root: &Path,
    project: &Path,
    exp_ref: &str,
    s3_port: Option<u16>,
    prefix: &str,
    floor: f64,
    rows: &mut Vec<Row>,
) {
    sandbox.git(
        root,
        &["init", "-q", "--bare", "-b", "main", "hook-origin.git"],
    );
    sandbox.git(project, &["remote", "add", "plain", "../hook-origin.git"]);
    sandbox.git(project, &["push", "-q", "plain", "main"]);
    sandbox.exp(project, &["install", "--git-remote", "plain"]);
    let saved = fs::read_to_string(project.join(".dvc/config.local")).unwrap_or_default();
    let local = match s3_port {
        Some(_) => format!(
            "{saved}    url = s3://{}/{prefix}/hook-storage\n",
            servers::BUCKET
        ),
        None => "['remote \"storage\"']\n    url = ../../hook-storage\n".to_owned(),
    };
    fs::write(project.join(".dvc/config.local"), local).expect("config.local");
    let again_ref = format!("{}-hook-again", exp_ref);
    for (operation, target) in [
        ("push (hook)", exp_ref.to_owned()),
        ("push (hook), nothing new (new ref)", again_ref),
    ] {
        let push = measure(sandbox.command("git", project).args([
            "push",
            "-q",
            "plain",
            &format!("{exp_ref}:{target}"),
        ]));
        rows.push(Row {
            operation: operation.into(),
            ours: push,
            floor: (operation == "push (hook)").then_some(floor),
            other: None,
        });
    }
    fs::write(project.join(".dvc/config.local"), saved).expect("config.local");
}

#[derive(Default)]
struct RcloneTimes {
    copy: Option<f64>,
    copy_again: Option<f64>,
    /// Copying the uploaded objects back into an empty local folder.
    download: Option<f64>,
}

/// Copies the cache into s3s-fs with `rclone copy` and as many transfers as our jobs. With
/// `all`, copies again with nothing new, then back into an empty folder next to the cache.
fn run_rclone(
    cache: &Path,
    port: u16,
    prefix: &str,
    all: bool,
    notes: &mut Vec<String>,
) -> RcloneTimes {
    if shell("command -v rclone").is_empty() {
        notes.push("rclone: not installed, not measured".to_owned());
        return RcloneTimes::default();
    }
    let jobs = exp_lib::transfer::default_jobs();
    let remote = |port: u16| {
        format!(
            ":s3,provider=Other,endpoint='http://127.0.0.1:{port}',access_key_id={},secret_access_key={},region=us-east-1:{}/{prefix}/rclone",
            servers::S3_KEY,
            servers::S3_SECRET,
            servers::BUCKET
        )
    };
    let copy = |source: &str, destination: &str| {
        measure(
            Command::new("rclone")
                // rclone's S3 client fails on a CA bundle for a custom HTTP transport, and
                // the endpoint is plain HTTP.
                .env_remove("AWS_CA_BUNDLE")
                .arg("copy")
                // Objects are compared by size, as our push compares them. Otherwise rclone
                // reads each S3 object's modification time with a request of its own.
                .arg("--size-only")
                .arg("--transfers")
                .arg(jobs.to_string())
                .arg(source)
                .arg(destination),
        )
        .seconds
    };
    let cache_path = cache.display().to_string();
    let downloaded = cache.with_file_name("rclone-download");
    let first = copy(&cache_path, &remote(port));
    if !all {
        return RcloneTimes {
            copy: Some(first),
            ..RcloneTimes::default()
        };
    }
    let again = copy(&cache_path, &remote(port));
    let download = copy(&remote(port), &downloaded.display().to_string());
    RcloneTimes {
        copy: Some(first),
        copy_again: Some(again),
        download: Some(download),
    }
}

fn lfs_available() -> bool {
    Command::new("git")
        .args(["lfs", "version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Tracks the same data with Git LFS, pushes it to a bare repository over file://, and
/// clones it, which downloads and checks out every file.
fn run_lfs(
    sandbox: &Sandbox,
    root: &Path,
    project: &Path,
    rows: &mut Vec<Row>,
    notes: &mut Vec<String>,
    floor: f64,
) {
    let lfs = root.join("lfs");
    fs::create_dir_all(&lfs).expect("lfs folder");
    let status = Command::new("cp")
        .arg("-al")
        .arg(project.join("data"))
        .arg(lfs.join("data"))
        .status()
        .expect("cp -al");
    assert!(status.success());

    sandbox.git(&lfs, &["lfs", "install"]);
    sandbox.git(&lfs, &["init", "-q", "-b", "main"]);
    // A background `git gc --auto` after the commit of 10,000 files would repack objects
    // while git-lfs's pre-push scan reads them, and the scan then reports them missing.
    sandbox.git(&lfs, &["config", "gc.auto", "0"]);
    sandbox.git(&lfs, &["lfs", "track", "data/**"]);
    let started = Instant::now();
    sandbox.git(&lfs, &["add", "-A"]);
    sandbox.git(&lfs, &["commit", "-q", "-m", "data"]);
    notes.push(format!(
        "Git LFS add + commit of the same files (not timed for us: DVC's add is outside this benchmark): {:.2} s",
        started.elapsed().as_secs_f64()
    ));
    sandbox.git(
        root,
        &["init", "-q", "--bare", "-b", "main", "lfs-origin.git"],
    );
    let url = format!("file://{}", root.join("lfs-origin.git").display());
    sandbox.git(&lfs, &["remote", "add", "origin", &url]);
    let push = measure(
        sandbox
            .command("git", &lfs)
            .args(["push", "-q", "origin", "main"]),
    );
    let clone = measure(
        sandbox
            .command("git", root)
            .args(["clone", "-q", &url, "lfs-clone"]),
    );

    let ours = |operation: &str| {
        rows.iter()
            .find(|row| row.operation == operation)
            .map_or(0.0, |row| row.ours.seconds)
    };
    let push_seconds = ours("push (helper)");
    let fetch_checkout_seconds = ours("fetch + checkout");
    rows.push(Row {
        operation: "push (helper) vs git lfs push".into(),
        ours: Measurement {
            seconds: push_seconds,
            peak_rss_kib: 0,
        },
        floor: Some(floor),
        other: Some(("git lfs push", push.seconds)),
    });
    rows.push(Row {
        operation: "fetch + checkout vs git clone with LFS".into(),
        ours: Measurement {
            seconds: fetch_checkout_seconds,
            peak_rss_kib: 0,
        },
        floor: Some(floor),
        other: Some(("git clone (LFS)", clone.seconds)),
    });
}

/// Times MD5 of `path` in this process and with `md5sum`, each the faster of two runs with
/// the file in the page cache, and returns the line that compares their rates.
fn hash_rate(path: &Path, size: u64) -> String {
    let ours = (0..2)
        .map(|_| {
            let started = Instant::now();
            hash_file(HashKind::Md5, path).expect("hash");
            started.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    let theirs = (0..2)
        .map(|_| measure(Command::new("md5sum").arg(path)).seconds)
        .fold(f64::INFINITY, f64::min);
    let mib = size as f64 / f64::from(1 << 20);
    format!(
        "MD5 of the {mib:.0} MiB file: ours {ours:.3} s ({:.0} MiB/s), md5sum {theirs:.3} s ({:.0} MiB/s); our rate is {:.0}% of md5sum's",
        mib / ours,
        mib / theirs,
        100.0 * theirs / ours
    )
}

#[derive(Default)]
struct DvcTimes {
    push: Option<f64>,
    push_again: Option<f64>,
    pull: Option<f64>,
    apply: Option<f64>,
}

/// Times DVC's own commands on a copy of the same project, with its own remotes.
fn run_dvc(sandbox: &Sandbox, root: &Path, exp_ref: &str) -> DvcTimes {
    let copy = root.join("dvc-project");
    let status = Command::new("cp")
        .arg("-a")
        .arg(root.join("project"))
        .arg(&copy)
        .status()
        .expect("cp");
    assert!(status.success());
    sandbox.git(
        root,
        &["init", "-q", "--bare", "-b", "main", "dvc-origin.git"],
    );
    sandbox.git(
        &copy,
        &[
            "remote",
            "set-url",
            "share",
            &root.join("dvc-origin.git").display().to_string(),
        ],
    );
    sandbox.git(&copy, &["push", "-q", "share", "main"]);
    let storage = root.join("dvc-storage");
    let storage_text = storage.display().to_string();
    sandbox.dvc(
        &copy,
        &[
            "remote",
            "add",
            "--local",
            "-d",
            "-f",
            "storage",
            &storage_text,
        ],
    );

    let name = exp_ref.rsplit('/').next().expect("exp name");
    let dvc = dvc_executable();
    let run = |cwd: &Path, args: &[&str]| -> f64 {
        let mut command = sandbox.command("git", cwd);
        let mut dvc_command = Command::new(&dvc);
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => dvc_command.env(key, value),
                None => dvc_command.env_remove(key),
            };
        }
        dvc_command
            .current_dir(cwd)
            .env("DVC_SITE_CACHE_DIR", root.join("dvc-site"))
            .args(args);
        command = dvc_command;
        measure(&mut command).seconds
    };

    let push = run(&copy, &["exp", "push", "share", name]);
    let push_again = run(&copy, &["exp", "push", "share", name]);
    sandbox.git(
        root,
        &[
            "clone",
            "-q",
            &root.join("dvc-origin.git").display().to_string(),
            "dvc-clone",
        ],
    );
    let clone = root.join("dvc-clone");
    sandbox.dvc(
        &clone,
        &[
            "remote",
            "add",
            "--local",
            "-d",
            "-f",
            "storage",
            &storage_text,
        ],
    );
    let pull = run(&clone, &["exp", "pull", "origin", name]);
    let apply = run(&clone, &["exp", "apply", name]);
    DvcTimes {
        push: Some(push),
        push_again: Some(push_again),
        pull: Some(pull),
        apply: Some(apply),
    }
}

fn print_rows(rows: &[Row]) {
    let mut table = String::new();
    let _ = writeln!(
        table,
        "| operation | ours (s) | ours / floor | peak RSS (MiB) | other tool | other (s) | ours / other |"
    );
    let _ = writeln!(table, "|---|---|---|---|---|---|---|");
    for row in rows {
        let ratio = row
            .floor
            .map_or("".to_owned(), |f| format!("{:.2}", row.ours.seconds / f));
        let rss = if row.ours.peak_rss_kib == 0 {
            String::new()
        } else {
            format!("{:.0}", row.ours.peak_rss_kib as f64 / 1024.0)
        };
        let (tool, other, versus) = match row.other {
            Some((tool, seconds)) => (
                tool.to_owned(),
                format!("{seconds:.2}"),
                format!("{:.2}", row.ours.seconds / seconds),
            ),
            None => Default::default(),
        };
        let _ = writeln!(
            table,
            "| {} | {:.2} | {ratio} | {rss} | {tool} | {other} | {versus} |",
            row.operation, row.ours.seconds
        );
    }
    print!("{table}");
}
