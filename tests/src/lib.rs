//! Test harness: a sealed environment per test, the freshly built binaries first on `PATH`,
//! the DVC-made fixture repositories, and assertions that explain their failures.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub mod proxy;
pub mod servers;

/// Experiments of the seed-project fixture: (baseline short sha, name, full ref).
pub const SEED_EXPERIMENTS: [(&str, &str, &str); 4] = [
    (
        "b53a31b",
        "exp-lr01",
        "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-lr01",
    ),
    (
        "b53a31b",
        "exp-units64",
        "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-units64",
    ),
    (
        "b53a31b",
        "exp-wide",
        "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-wide",
    ),
    (
        "7030ed6",
        "exp-units64",
        "refs/exps/70/30ed6e978329b3071754ce2e041241ccdfe8e0/exp-units64",
    ),
];

/// Returns the directory holding freshly built `git-remote-exp` and `git-exp`.
///
/// The binaries live in another package of the workspace, which cargo does not build for
/// this package's tests, so the first call builds them with the same profile. Worktrees of
/// this repository may share one target directory, where `target/<profile>/git-exp` is
/// whichever worktree built last, so the executables are copied, right after this build,
/// into a folder of their own per worktree.
// NOTE: a build from another worktree that lands between cargo's return and the copy can
// still swap the binaries. The window is the few milliseconds in between.
pub fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary has a path");
        // Test binaries live in target/<profile>/deps, other binaries in target/<profile>.
        let mut profile_dir = exe
            .parent()
            .expect("binaries live in target/<profile>")
            .to_path_buf();
        if profile_dir.file_name().is_some_and(|name| name == "deps") {
            profile_dir.pop();
        }
        let profile = profile_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("debug")
            .to_owned();
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let profile_arg = if profile == "debug" {
            "dev".to_owned()
        } else {
            profile
        };
        let output = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "git-remote-exp",
                "--bins",
                "--profile",
                &profile_arg,
            ])
            .args(["--message-format", "json-render-diagnostics"])
            .arg("--target-dir")
            .arg(&target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stderr(Stdio::inherit())
            .output()
            .expect("cargo runs");
        assert!(output.status.success(), "building the binaries failed");

        let mut executables = Vec::new();
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let message: serde_json::Value =
                serde_json::from_str(line).expect("cargo prints JSON lines");
            if let Some(path) = message.get("executable").and_then(|e| e.as_str()) {
                executables.push(PathBuf::from(path));
            }
        }
        let dir = profile_dir.join(format!("exp-test-bins-{}", worktree_tag()));
        std::fs::create_dir_all(&dir).expect("bin dir");
        for exe in &executables {
            let name = exe.file_name().expect("executable name");
            let copy = dir.join(name);
            let partial = dir.join(format!(".{}.tmp", name.to_string_lossy()));
            std::fs::copy(exe, &partial).expect("copy the built binary");
            std::fs::rename(&partial, &copy).expect("place the built binary");
        }
        assert_eq!(
            executables.len(),
            2,
            "expected git-remote-exp and git-exp, got {executables:?}"
        );
        dir
    })
}

/// Returns a short tag for this worktree, so worktrees sharing a target directory keep
/// their test binaries apart.
fn worktree_tag() -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    env!("CARGO_MANIFEST_DIR").hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// Returns the folder of the DVC-made fixture archives.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A temporary directory with its own HOME, git and DVC config, and a fixed identity.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// Creates the sandbox.
    pub fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("exp-test-")
            .tempdir()
            .expect("temp dir");
        for sub in ["home", "home/.config", "dvc-global", "dvc-system"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("sandbox dirs");
        }
        std::fs::write(dir.path().join("home/.gitconfig"), "").expect("gitconfig");
        // DVC otherwise asks its update server for a newer version, which is not on this
        // machine; outside CI only this setting stops it.
        std::fs::write(
            dir.path().join("dvc-global/config"),
            "[core]\n    check_update = false\n    analytics = false\n",
        )
        .expect("DVC global config");
        Sandbox { dir }
    }

    /// Returns the sandbox root.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Builds a command for `program` in `cwd` with the sealed environment.
    pub fn command(&self, program: &str, cwd: &Path) -> Command {
        let mut command = Command::new(program);
        let root = self.path();
        let mut path = OsString::from(bin_dir());
        path.push(":");
        path.push(std::env::var_os("PATH").unwrap_or_default());
        for var in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_REMOTE_EXP_ACTIVE",
            "GIT_EXP_LOG",
            "GIT_TRACE",
            "XDG_CONFIG_HOME",
        ] {
            command.env_remove(var);
        }
        command
            .current_dir(cwd)
            .env("PATH", path)
            .env("HOME", root.join("home"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", root.join("home/.gitconfig"))
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .env("GIT_AUTHOR_NAME", "Test Author")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_AUTHOR_DATE", "2026-01-02T00:00:00Z")
            .env("GIT_COMMITTER_NAME", "Test Committer")
            .env("GIT_COMMITTER_EMAIL", "committer@example.com")
            .env("GIT_COMMITTER_DATE", "2026-01-02T00:00:00Z")
            .env("DVC_GLOBAL_CONFIG_DIR", root.join("dvc-global"))
            .env("DVC_SYSTEM_CONFIG_DIR", root.join("dvc-system"))
            .env("DVC_NO_ANALYTICS", "1")
            .stdin(Stdio::null());
        command
    }

    /// Runs git in `cwd` and panics with its output unless it succeeds.
    pub fn git(&self, cwd: &Path, args: &[&str]) -> Output {
        succeed(self.command("git", cwd).args(args))
    }

    /// Runs git in `cwd` and returns its output whatever the exit status.
    pub fn git_result(&self, cwd: &Path, args: &[&str]) -> Output {
        run(self.command("git", cwd).args(args))
    }

    /// Runs `git exp` in `cwd` and returns its output whatever the exit status.
    pub fn exp_result(&self, cwd: &Path, args: &[&str]) -> Output {
        run(self.command("git-exp", cwd).args(args))
    }

    /// Runs `git exp` in `cwd` and panics with its output unless it succeeds.
    pub fn exp(&self, cwd: &Path, args: &[&str]) -> Output {
        succeed(self.command("git-exp", cwd).args(args))
    }

    /// Returns git's stdout, trimmed, for `args` in `cwd`.
    pub fn git_stdout(&self, cwd: &Path, args: &[&str]) -> String {
        stdout(&self.git(cwd, args)).trim().to_owned()
    }

    /// Unpacks the fixture archive `name` into the sandbox and returns its folder.
    pub fn unpack(&self, name: &str) -> PathBuf {
        let archive = fixtures_dir().join(format!("{name}.tar.gz"));
        succeed(
            Command::new("tar")
                .arg("-xzf")
                .arg(&archive)
                .arg("-C")
                .arg(self.path()),
        );
        self.path().join(name)
    }
}

/// Runs `command` and returns its output.
pub fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

/// Runs `command` and panics with its full output unless it exits 0.
pub fn succeed(command: &mut Command) -> Output {
    let output = run(command);
    if !output.status.success() {
        panic!(
            "command failed: {command:?}\nstatus: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output
}

/// Runs `command` with `input` on its stdin and panics with its full output unless it exits 0.
pub fn succeed_with_input(command: &mut Command, input: &[u8]) -> Output {
    use std::io::Write as _;

    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    // A writer thread keeps a command that exits before reading all input from blocking.
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("command output");
    let _ = writer.join();
    if !output.status.success() {
        panic!(
            "command failed: {command:?}\nstatus: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output
}

/// Returns stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Returns stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Returns a transfer summary line without its duration, after checking that it ends in
/// ` in SECONDS s`, so tests can compare the rest exactly.
pub fn without_seconds(line: &str) -> String {
    let (rest, duration) = line
        .rsplit_once(" in ")
        .unwrap_or_else(|| panic!("no duration in {line:?}"));
    let seconds = duration
        .strip_suffix(" s")
        .and_then(|number| number.parse::<f64>().ok());
    assert!(
        seconds.is_some_and(|s| s >= 0.0),
        "bad duration in {line:?}"
    );
    rest.trim_end_matches(',').to_owned()
}

/// Returns every regular file under `root`, as `/`-separated relative paths.
pub fn files_under(root: &Path) -> BTreeSet<String> {
    let mut files = BTreeSet::new();
    if !root.exists() {
        return files;
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable dir") {
            let entry = entry.expect("dir entry");
            let path = entry.path();
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(root).expect("under root");
                files.insert(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    files
}

/// Returns the permission bits of `path`.
pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o7777
}

/// Returns the MD5 of the file at `path` as hex.
pub fn md5_of(path: &Path) -> String {
    let output = succeed(Command::new("md5sum").arg(path));
    stdout(&output)
        .split_whitespace()
        .next()
        .expect("md5sum prints a hash")
        .to_owned()
}

/// Parses an `md5sum` listing into (path, hash) pairs.
pub fn read_md5_list(list: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(list).expect("readable md5 list");
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (hash, path) = line.split_once("  ").expect("md5sum line");
            (path.to_owned(), hash.to_owned())
        })
        .collect()
}

/// Asserts that `workspace` contains exactly the files of an `md5sum` listing with those hashes,
/// looking only at the top-level folders and files the listing mentions.
pub fn assert_workspace_matches(workspace: &Path, list: &Path) {
    let expected = read_md5_list(list);
    let mut mismatches = Vec::new();
    for (path, hash) in &expected {
        let file = workspace.join(path);
        if !file.is_file() {
            mismatches.push(format!("missing {path}"));
            continue;
        }
        let actual = md5_of(&file);
        if &actual != hash {
            mismatches.push(format!("{path}: expected {hash}, found {actual}"));
        }
    }

    let expected_paths: BTreeSet<&str> = expected.iter().map(|(p, _)| p.as_str()).collect();
    let tops: BTreeSet<&str> = expected_paths
        .iter()
        .filter_map(|p| p.split_once('/').map(|(top, _)| top))
        .collect();
    for top in tops {
        for file in files_under(&workspace.join(top)) {
            let path = format!("{top}/{file}");
            if !expected_paths.contains(path.as_str()) {
                mismatches.push(format!("unexpected {path}"));
            }
        }
    }

    assert!(
        mismatches.is_empty(),
        "workspace {} differs from {}:\n{}",
        workspace.display(),
        list.display(),
        mismatches.join("\n")
    );
}

/// Returns the `dvc` executable the interoperability tests run.
///
/// Looks at `EXP_DVC`, then the virtual environment `.ci/run` creates
/// (`~/.cache/git-remote-exp/dvc-venv`), then `PATH`. Panics with the install command when
/// DVC is missing: interoperability tests must fail, not skip, without it.
pub fn dvc_executable() -> PathBuf {
    if let Some(path) = std::env::var_os("EXP_DVC") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let venv = home.join(".cache/git-remote-exp/dvc-venv/bin/dvc");
    if venv.is_file() {
        return venv;
    }
    if let Ok(output) = Command::new("sh").args(["-c", "command -v dvc"]).output() {
        let found = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if output.status.success() && !found.is_empty() {
            return PathBuf::from(found);
        }
    }
    panic!(
        "DVC is not installed; these tests compare with real DVC 3. Install it with:\n  \
         python3 -m venv ~/.cache/git-remote-exp/dvc-venv && \
         ~/.cache/git-remote-exp/dvc-venv/bin/pip install 'dvc>=3.60,<4' dvc-s3 dvc-webdav\n\
         or set EXP_DVC to a dvc executable"
    );
}

/// Returns the DVC 2 executable (`EXP_DVC2`, else `~/.cache/git-remote-exp/dvc2-venv`),
/// which makes legacy projects; panics with the install command when it is missing.
pub fn dvc2_executable() -> PathBuf {
    if let Some(path) = std::env::var_os("EXP_DVC2") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let venv = home.join(".cache/git-remote-exp/dvc2-venv/bin/dvc");
    if venv.is_file() {
        return venv;
    }
    panic!(
        "DVC 2 is not installed; the legacy-layout tests need a project made by it. Install it with:\n  \
         python3 -m venv ~/.cache/git-remote-exp/dvc2-venv && \
         ~/.cache/git-remote-exp/dvc2-venv/bin/pip install 'dvc==2.58.2' 'pathspec<0.12'\n\
         or set EXP_DVC2 to a dvc 2 executable"
    );
}

impl Sandbox {
    /// Runs DVC in `cwd` with config, site cache and analytics kept inside the sandbox.
    pub fn dvc_result(&self, cwd: &Path, args: &[&str]) -> Output {
        self.dvc_with(&dvc_executable(), cwd, args)
    }

    /// Runs DVC 2 in `cwd` and panics with its output unless it succeeds.
    pub fn dvc2(&self, cwd: &Path, args: &[&str]) -> Output {
        let output = self.dvc_with(&dvc2_executable(), cwd, args);
        assert!(
            output.status.success(),
            "dvc 2 {} failed:\n{}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn dvc_with(&self, executable: &Path, cwd: &Path, args: &[&str]) -> Output {
        let root = self.path();
        let mut command = self.command("git", cwd);
        let mut dvc = Command::new(executable);
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => dvc.env(key, value),
                None => dvc.env_remove(key),
            };
        }
        dvc.current_dir(cwd)
            .env("DVC_SITE_CACHE_DIR", root.join("dvc-site"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("DVC_STUDIO_TOKEN")
            .env("DVC_STUDIO_OFFLINE", "true")
            .stdin(Stdio::null())
            .args(args);
        command = dvc;
        run(&mut command)
    }

    /// Runs DVC in `cwd` and panics with its output unless it succeeds.
    pub fn dvc(&self, cwd: &Path, args: &[&str]) -> Output {
        let output = self.dvc_result(cwd, args);
        if !output.status.success() {
            panic!(
                "dvc {} failed in {}\nstatus: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                args.join(" "),
                cwd.display(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        output
    }
}
pub mod soak;

/// Writes `project/.dvc/config` with the default storage `storage` at `url` and `options`,
/// and `project/.dvc/config.local` with `local`, where secrets belong.
pub fn write_storage_config(
    project: &Path,
    url: &str,
    options: &[(&str, String)],
    local: &[(&str, String)],
) {
    let mut config =
        format!("[core]\n    remote = storage\n['remote \"storage\"']\n    url = {url}\n");
    for (name, value) in options {
        config.push_str(&format!("    {name} = {value}\n"));
    }
    std::fs::write(project.join(".dvc/config"), config).expect("write .dvc/config");
    let mut config_local = String::from("['remote \"storage\"']\n");
    for (name, value) in local {
        config_local.push_str(&format!("    {name} = {value}\n"));
    }
    std::fs::write(project.join(".dvc/config.local"), config_local)
        .expect("write .dvc/config.local");
}

/// Writes an `ssh` into `bin` that reads `$HOME/.ssh/config`. OpenSSH finds its config
/// through the passwd entry, not `$HOME`, so the sandbox's config needs this to apply.
pub fn write_ssh_wrapper(bin: &Path) {
    std::fs::create_dir_all(bin).expect("bin folder");
    let ssh = servers::find_tool("ssh", &[], "apt-get install openssh-client");
    let wrapper = bin.join("ssh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec {} -F \"$HOME/.ssh/config\" \"$@\"\n",
            ssh.display()
        ),
    )
    .expect("ssh wrapper");
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}
