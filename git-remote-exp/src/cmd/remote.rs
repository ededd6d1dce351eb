//! `git exp remote add|list|default|modify|remove|rename`: DVC storage remotes, written to
//! the same files with the same quoting as `dvc remote`.
//!
//! Writes go to `.dvc/config` unless a level flag picks another file. Remote names are
//! lower-cased, as DVC does. A relative local path typed on the command line is stored
//! relative to the directory of the file written, so it keeps meaning the same place.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use exp_lib::config::{self, Config, ConfigFile, Level};
use exp_lib::git::Repo;

use super::{fail, Global};

/// Set up and manage DVC storage remotes in DVC's config files.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The action.
    #[command(subcommand)]
    pub command: Command,
}

/// The level flags that pick the config file a remote command reads or writes.
#[derive(Debug, Clone, Copy, clap::Args)]
#[group(multiple = false)]
pub struct LevelFlags {
    /// Use the system config file.
    #[arg(long)]
    pub system: bool,
    /// Use the global (user) config file.
    #[arg(long)]
    pub global: bool,
    /// Use the project's .dvc/config (the default for writes).
    #[arg(long)]
    pub project: bool,
    /// Use the project's untracked .dvc/config.local.
    #[arg(long)]
    pub local: bool,
}

impl LevelFlags {
    /// Returns the chosen level, or `None` when no flag was given.
    fn level(&self) -> Option<Level> {
        if self.system {
            Some(Level::System)
        } else if self.global {
            Some(Level::Global)
        } else if self.project {
            Some(Level::Repo)
        } else if self.local {
            Some(Level::Local)
        } else {
            None
        }
    }
}

/// The `git exp remote` actions.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add a storage remote.
    Add {
        #[command(flatten)]
        level: LevelFlags,
        /// Also make it the default remote.
        #[arg(short, long)]
        default: bool,
        /// Replace a remote of the same name.
        #[arg(short, long)]
        force: bool,
        /// Name of the remote.
        name: String,
        /// Location: a path, or a URL such as s3://bucket/path.
        url: String,
    },
    /// List the storage remotes, marking the default.
    List {
        #[command(flatten)]
        level: LevelFlags,
    },
    /// Print the default remote, or set or unset it.
    Default {
        #[command(flatten)]
        level: LevelFlags,
        /// Unset the default remote.
        #[arg(short, long)]
        unset: bool,
        /// Name of the remote to make the default.
        name: Option<String>,
    },
    /// Set or unset an option of a remote.
    Modify {
        #[command(flatten)]
        level: LevelFlags,
        /// Unset the option.
        #[arg(short, long)]
        unset: bool,
        /// Name of the remote.
        name: String,
        /// Option to set, such as url, jobs or endpointurl.
        option: String,
        /// Value of the option.
        #[arg(required_unless_present = "unset")]
        value: Option<String>,
    },
    /// Remove a remote, and unset it where it is the default.
    Remove {
        #[command(flatten)]
        level: LevelFlags,
        /// Name of the remote.
        name: String,
    },
    /// Rename a remote, and the default where it names it.
    Rename {
        #[command(flatten)]
        level: LevelFlags,
        /// Current name of the remote.
        name: String,
        /// New name of the remote.
        new: String,
    },
}

/// The config files of one project, by level.
struct Files {
    dvc_dir: Option<PathBuf>,
    cwd: PathBuf,
}

impl Files {
    fn discover() -> anyhow::Result<Files> {
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let dvc_dir = Repo::discover(&cwd)
            .ok()
            .and_then(|repo| repo.work_tree().map(|root| root.join(".dvc")));
        Ok(Files { dvc_dir, cwd })
    }

    fn path(&self, level: Level) -> anyhow::Result<PathBuf> {
        match (level, &self.dvc_dir) {
            (Level::Repo | Level::Local, None) => {
                anyhow::bail!("not inside a Git work tree, so there is no .dvc/config to use")
            }
            (_, Some(dvc_dir)) => Ok(Config::file_path(level, dvc_dir)),
            (_, None) => Ok(Config::file_path(level, Path::new(".dvc"))),
        }
    }

    fn load(&self, level: Level) -> anyhow::Result<ConfigFile> {
        Ok(ConfigFile::load(&self.path(level)?, level)?)
    }

    /// Loads every level that exists for this location, lowest precedence first.
    fn load_all(&self) -> anyhow::Result<Vec<ConfigFile>> {
        let mut files = Vec::new();
        for level in Level::ALL {
            if matches!(level, Level::Repo | Level::Local) && self.dvc_dir.is_none() {
                continue;
            }
            files.push(self.load(level)?);
        }
        Ok(files)
    }

    /// Loads the levels below `level` and `level` itself, as DVC checks a remote exists.
    fn load_up_to(&self, level: Level) -> anyhow::Result<Vec<ConfigFile>> {
        let mut files = Vec::new();
        for current in Level::ALL {
            if matches!(current, Level::Repo | Level::Local) && self.dvc_dir.is_none() {
                continue;
            }
            files.push(self.load(current)?);
            if current == level {
                break;
            }
        }
        Ok(files)
    }
}

fn remote_section(name: &str) -> String {
    format!("remote \"{name}\"")
}

/// Runs `git exp remote`.
pub fn run(global: &Global, args: &Args) -> anyhow::Result<ExitCode> {
    let files = Files::discover()?;
    match &args.command {
        Command::Add {
            level,
            default,
            force,
            name,
            url,
        } => {
            let name = name.to_lowercase();
            let level = level.level().unwrap_or(Level::Repo);
            let mut file = files.load(level)?;
            let section = remote_section(&name);
            if file.has_section(&section) && !force {
                return fail(
                    &format!("remote '{name}' already exists. Use `-f|--force` to overwrite it."),
                    &[],
                );
            }
            if *default && !global.quiet {
                println!("Setting '{name}' as a default remote.");
            }
            let keys: Vec<String> = file
                .section_values(&section)
                .iter()
                .map(|(k, _)| k.to_string())
                .collect();
            for key in keys {
                file.unset(&section, &key);
            }
            let url = config::path_for_config_file(url, &files.cwd, file.path());
            if *default {
                file.set_in_dvc_order("core", "remote", &name);
            }
            file.set_in_dvc_order(&section, "url", &url);
            file.save()?;
        }
        Command::List { level } => {
            let loaded = match level.level() {
                Some(level) => vec![files.load(level)?],
                None => files.load_all()?,
            };
            list(&loaded);
        }
        Command::Default { level, unset, name } => {
            let chosen = level.level();
            match (name, unset) {
                (None, false) => {
                    let loaded = match chosen {
                        Some(level) => vec![files.load(level)?],
                        None => files.load_all()?,
                    };
                    match Config::from_files(loaded).default_remote() {
                        Some(name) => println!("{name}"),
                        None => {
                            println!("No default remote set");
                            return Ok(ExitCode::FAILURE);
                        }
                    }
                }
                (_, true) => {
                    let mut file = files.load(chosen.unwrap_or(Level::Repo))?;
                    file.unset("core", "remote");
                    drop_if_empty(&mut file, "core");
                    file.save()?;
                }
                (Some(name), false) => {
                    let name = name.to_lowercase();
                    let level = chosen.unwrap_or(Level::Repo);
                    let known = Config::from_files(files.load_up_to(level)?).remote_names();
                    if !known.contains(&name) {
                        return fail("default remote must be present in remote list.", &[]);
                    }
                    let mut file = files.load(level)?;
                    file.set_in_dvc_order("core", "remote", &name);
                    file.save()?;
                }
            }
        }
        Command::Modify {
            level,
            unset,
            name,
            option,
            value,
        } => {
            let name = name.to_lowercase();
            let option = option.to_lowercase();
            let level = level.level().unwrap_or(Level::Repo);
            let known = Config::from_files(files.load_up_to(level)?).remote_names();
            if !known.contains(&name) {
                return fail(&format!("remote '{name}' doesn't exist."), &[]);
            }
            if !config::options::is_known_option(&option) {
                return fail(
                    &format!("'{option}' is not an option of DVC remotes"),
                    &["see `dvc remote modify --help` for the options of each storage type"],
                );
            }
            let url = Config::from_files(files.load_up_to(Level::Local)?)
                .remote(&name)
                .map(|remote| remote.url)
                .unwrap_or_default();
            if let Err((kind, valid)) = config::options::check_remote_option(&url, &option) {
                let hint = format!("{kind} remotes accept: {}", valid.join(", "));
                return fail(
                    &format!("'{option}' is not an option of {kind} remotes such as '{name}'; DVC would refuse to load the config"),
                    &[hint.as_str()],
                );
            }
            let mut file = files.load(level)?;
            let section = remote_section(&name);
            match (unset, value) {
                (true, _) => {
                    file.unset(&section, &option);
                }
                (false, Some(value)) => {
                    let value = if config::PATH_OPTIONS.contains(&option.as_str()) {
                        config::path_for_config_file(value, &files.cwd, file.path())
                    } else {
                        value.clone()
                    };
                    file.set_in_dvc_order(&section, &option, &value);
                }
                (false, None) => anyhow::bail!("a value is required unless --unset is given"),
            }
            file.save()?;
        }
        Command::Remove { level, name } => {
            let name = name.to_lowercase();
            let level = level.level().unwrap_or(Level::Repo);
            let mut file = files.load(level)?;
            if !file.remove_section(&remote_section(&name)) {
                return fail(&format!("remote '{name}' doesn't exist."), &[]);
            }
            file.save()?;
            // The default is unset wherever it names this remote, from the most specific
            // file down to the one written.
            for current in Level::ALL.iter().rev() {
                if !matches!(current, Level::Repo | Level::Local) || files.dvc_dir.is_some() {
                    let mut other = files.load(*current)?;
                    if other
                        .get("core", "remote")
                        .map(str::to_lowercase)
                        .as_deref()
                        == Some(name.as_str())
                    {
                        other.unset("core", "remote");
                        drop_if_empty(&mut other, "core");
                        other.save()?;
                    }
                }
                if *current == level {
                    break;
                }
            }
        }
        Command::Rename { level, name, new } => {
            let (name, new) = (name.to_lowercase(), new.to_lowercase());
            let level = level.level().unwrap_or(Level::Repo);
            if Config::from_files(files.load_all()?)
                .remote_names()
                .contains(&new)
            {
                return fail(
                    &format!("rename failed: remote name '{new}' already exists."),
                    &[],
                );
            }
            let mut file = files.load(level)?;
            if !file.rename_section(&remote_section(&name), &remote_section(&new)) {
                return fail(&format!("remote '{name}' doesn't exist."), &[]);
            }
            rename_default(&mut file, &name, &new);
            file.save()?;
            // More specific files that name it as the default follow the rename.
            for current in Level::ALL.iter().rev() {
                if *current == level {
                    break;
                }
                if matches!(current, Level::Repo | Level::Local) && files.dvc_dir.is_none() {
                    continue;
                }
                let mut other = files.load(*current)?;
                if rename_default(&mut other, &name, &new) {
                    other.save()?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints `name<TAB>url`, with `<TAB>(default)` for the default, as `dvc remote list` does,
/// with the URL redacted.
/// A relative local path is shown joined to its config file's absolute directory.
fn list(files: &[ConfigFile]) {
    let config = Config::from_files(files.to_vec());
    let default = config.default_remote();
    let mut names: Vec<String> = Vec::new();
    for file in files {
        for section in file.sections() {
            let name = section
                .strip_prefix("remote")
                .map(str::trim_start)
                .and_then(|rest| rest.strip_prefix('"'))
                .and_then(|rest| rest.strip_suffix('"'));
            if let Some(name) = name {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
                }
            }
        }
    }
    for name in names {
        let Ok(remote) = config.remote(&name) else {
            continue;
        };
        // Unlike `dvc remote list`, the password in the URL's userinfo and secret query
        // values print as `***`.
        let url = shown_url(&remote.redacted_url(), &remote.defined_in);
        if default.as_deref() == Some(name.as_str()) {
            println!("{name}\t{url}\t(default)");
        } else {
            println!("{name}\t{url}");
        }
    }
}

fn shown_url(url: &str, defined_in: &Path) -> String {
    let is_relative_path =
        !url.contains("://") && !url.starts_with('~') && !Path::new(url).is_absolute();
    if !is_relative_path {
        return url.to_owned();
    }
    let dir = exp_lib::git::absolute(defined_in.parent().unwrap_or(Path::new(".")));
    format!("{}/{url}", dir.display())
}

/// Points `core.remote` at `new` if it names `old`; returns true if it did.
fn rename_default(file: &mut ConfigFile, old: &str, new: &str) -> bool {
    if file.get("core", "remote").map(str::to_lowercase).as_deref() == Some(old) {
        file.set("core", "remote", new);
        return true;
    }
    false
}

/// Removes `section` when no key is left in it, as DVC drops empty sections.
fn drop_if_empty(file: &mut ConfigFile, section: &str) {
    if file.has_section(section) && file.section_values(section).is_empty() {
        file.remove_section(section);
    }
}
