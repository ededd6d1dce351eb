//! DVC metafiles read into the cached outputs they declare.
//!
//! `.dvc` files and `dvc.lock` carry the hashes. `dvc.yaml` carries the per-output flags
//! (`cache`, `push`, `remote`) that `dvc.lock` leaves out, so a lock is read together with
//! the flags of its `dvc.yaml`. YAML is read into typed structs with YAML 1.2 booleans, as
//! DVC's ruamel loader reads it, so `md5: 1234…` and `path: no` stay strings. Keys are
//! matched by name in any order, and keys this module does not use are ignored.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::manifest::validate_relpath;
use crate::object::{HashKind, ObjectId, ObjectKey};

/// The only `dvc.lock` schema DVC 2 and DVC 3 write.
const LOCK_SCHEMA: &str = "2.0";

/// Errors from reading a metafile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not YAML, or a value has the wrong type, or a required key is missing.
    #[error("invalid metafile {file}")]
    Yaml {
        /// The metafile's repository-relative path.
        file: String,
        /// The YAML parser's error, with the line and column.
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    /// A `dvc.lock` has no `schema` or a schema other than `'2.0'`.
    #[error("{file}: {}", describe_schema(.schema))]
    UnsupportedSchema {
        /// The lock file's repository-relative path.
        file: String,
        /// The `schema` value, or `None` when the key is missing.
        schema: Option<String>,
    },
    /// An output names a hash algorithm other than `md5` and `md5-dos2unix`.
    #[error("{file}: output {path:?} has unsupported hash {hash:?}: expected md5 or md5-dos2unix")]
    UnsupportedHash {
        /// The metafile's repository-relative path.
        file: String,
        /// The output's path as written in the metafile.
        path: String,
        /// The `hash` value.
        hash: String,
    },
    /// An output's `md5` value is not an object id.
    #[error(
        "{file}: output {path:?} has invalid md5 {value:?}: \
         expected 32 hex digits, optionally followed by .dir"
    )]
    InvalidHash {
        /// The metafile's repository-relative path.
        file: String,
        /// The output's path as written in the metafile.
        path: String,
        /// The rejected `md5` value.
        value: String,
    },
    /// An output path, joined with its base directories, is not a safe repository-relative path.
    #[error("{file}: unsafe output path {path:?}: {reason}")]
    UnsafePath {
        /// The metafile's repository-relative path.
        file: String,
        /// The output's path as written in the metafile.
        path: String,
        /// The reason the joined path is rejected.
        reason: &'static str,
    },
    /// A `dvc.lock` stage's `wdir` in `dvc.yaml` uses `${…}` templating, so its outputs cannot be placed.
    #[error(
        "{file}: stage {stage:?} has templated wdir {wdir:?} in dvc.yaml, which cannot be resolved"
    )]
    TemplatedWdir {
        /// The lock file's repository-relative path.
        file: String,
        /// The stage name as written in the lock file.
        stage: String,
        /// The `wdir` value from `dvc.yaml`.
        wdir: String,
    },
}

/// Per-output flags from `dvc.yaml`, or from the entry itself in a `.dvc` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFlags {
    /// False for `cache: false` outputs, which Git tracks and DVC never caches or pushes.
    pub cache: bool,
    /// False for `push: false` outputs, which stay in the local cache.
    pub push: bool,
    /// The DVC remote this output always uses, lower-cased because DVC remote names are
    /// case-insensitive.
    pub remote: Option<String>,
}

impl Default for OutputFlags {
    fn default() -> Self {
        OutputFlags {
            cache: true,
            push: true,
            remote: None,
        }
    }
}

/// One cached output declared by a `dvc.lock` or `.dvc` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The output's repository-relative path: `/`-separated, normalised and validated.
    pub path: String,
    /// The hash kind and the object id, which is a `.dir` id for a directory.
    pub key: ObjectKey,
    /// Size in bytes. For a directory, the sum of its files' sizes.
    pub size: Option<u64>,
    /// Number of files of a directory output.
    pub nfiles: Option<u64>,
    /// True if checkout must make the file executable.
    pub isexec: bool,
    /// The output's flags.
    pub flags: OutputFlags,
    /// Repository-relative path of the `dvc.lock` or `.dvc` file that declared the output.
    pub metafile: String,
}

/// The flags of every stage output in one `dvc.yaml`, with each stage's `wdir`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineFlags {
    stages: BTreeMap<String, StageFlags>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct StageFlags {
    /// The stage's `wdir` as written, `None` when absent.
    wdir: Option<String>,
    /// True if the stage uses `foreach`, `matrix` or `${…}` in its `wdir` or output paths.
    templated: bool,
    /// Flags by normalised repository-relative output path, for paths without `${…}`.
    outputs: BTreeMap<String, OutputFlags>,
}

impl PipelineFlags {
    /// Returns the flags `dvc.yaml` gives the output at the repository-relative `path` of `stage`.
    ///
    /// `stage` may be a generated name `name@key`, which is looked up under `name`.
    pub fn output_flags(&self, stage: &str, path: &str) -> Option<&OutputFlags> {
        self.stage(stage)?.outputs.get(path)
    }

    /// Returns the `wdir` of `stage` as written in `dvc.yaml`, or `None` when it has none.
    pub fn wdir(&self, stage: &str) -> Option<&str> {
        self.stage(stage)?.wdir.as_deref()
    }

    fn stage(&self, stage: &str) -> Option<&StageFlags> {
        let base = stage.split_once('@').map_or(stage, |(name, _)| name);
        self.stages.get(base)
    }
}

/// An `outs` entry of a `.dvc` file or `dvc.lock`.
#[derive(serde::Deserialize)]
struct RawOutput {
    path: String,
    md5: Option<String>,
    hash: Option<String>,
    size: Option<u64>,
    nfiles: Option<u64>,
    isexec: Option<bool>,
    cache: Option<bool>,
    push: Option<bool>,
    remote: Option<String>,
}

#[derive(serde::Deserialize)]
struct RawDvcFile {
    wdir: Option<String>,
    outs: Option<Vec<RawOutput>>,
}

#[derive(serde::Deserialize)]
struct RawLock {
    schema: Option<String>,
    stages: Option<Ordered<RawLockStage>>,
}

#[derive(serde::Deserialize)]
struct RawLockStage {
    outs: Option<Vec<RawOutput>>,
}

#[derive(serde::Deserialize)]
struct RawPipeline {
    stages: Option<Ordered<RawStage>>,
}

/// A `dvc.yaml` stage. A `foreach` stage keeps its body under `do`.
#[derive(serde::Deserialize, Default)]
struct RawStage {
    wdir: Option<String>,
    outs: Option<Vec<FlagItem>>,
    metrics: Option<Vec<FlagItem>>,
    plots: Option<Vec<FlagItem>>,
    foreach: Option<IgnoredAny>,
    matrix: Option<IgnoredAny>,
    #[serde(rename = "do")]
    do_body: Option<Box<RawStage>>,
}

#[derive(serde::Deserialize, Default)]
struct RawFlags {
    cache: Option<bool>,
    push: Option<bool>,
    remote: Option<String>,
}

impl RawFlags {
    fn resolve(self) -> OutputFlags {
        let defaults = OutputFlags::default();
        OutputFlags {
            cache: self.cache.unwrap_or(defaults.cache),
            push: self.push.unwrap_or(defaults.push),
            remote: self.remote.map(|name| name.to_lowercase()),
        }
    }
}

/// An item of a stage's `outs`, `metrics` or `plots` list in `dvc.yaml`: a plain path, or a
/// map from paths to their flags.
struct FlagItem(Vec<(String, RawFlags)>);

impl<'de> Deserialize<'de> for FlagItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;

        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = FlagItem;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an output path or a map from output paths to flags")
            }

            fn visit_str<E: de::Error>(self, path: &str) -> Result<FlagItem, E> {
                Ok(FlagItem(vec![(path.to_owned(), RawFlags::default())]))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FlagItem, A::Error> {
                let mut items = Vec::new();
                while let Some(path) = map.next_key::<String>()? {
                    let flags: Option<RawFlags> = map.next_value()?;
                    items.push((path, flags.unwrap_or_default()));
                }
                Ok(FlagItem(items))
            }
        }

        // Plain scalars such as `no` reach `visit_str` with their text because booleans are
        // read as YAML 1.2. A number such as `- 2024` is rejected, as DVC rejects it.
        deserializer.deserialize_any(ItemVisitor)
    }
}

/// A YAML mapping kept in file order.
struct Ordered<V>(Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedVisitor<V> {
            type Value = Ordered<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from stage names to stages")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<V>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, V>()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }

        deserializer.deserialize_map(OrderedVisitor(PhantomData))
    }
}

/// Parses a `.dvc` file into its cached outputs.
///
/// `metafile` is the file's repository-relative path. Output paths resolve against its
/// directory joined with the optional top-level `wdir`. External outputs (a URL path, or
/// only an `etag` or `checksum`) and entries without `md5` are skipped. `deps` are never
/// outputs. A file without `outs` gives an empty list.
pub fn parse_dvc_file(metafile: &str, bytes: &[u8]) -> Result<Vec<Output>, Error> {
    let raw: RawDvcFile = parse_yaml(metafile, bytes)?;
    let base = Base {
        dir: parent_dir(metafile),
        wdir: raw.wdir.as_deref(),
    };

    let mut outputs = Vec::new();
    for entry in raw.outs.unwrap_or_default() {
        let flags = OutputFlags {
            cache: entry.cache.unwrap_or(true),
            push: entry.push.unwrap_or(true),
            remote: entry.remote.as_deref().map(str::to_lowercase),
        };
        if let Some(output) = build_output(metafile, base, entry, flags)? {
            outputs.push(output);
        }
    }
    Ok(outputs)
}

/// Parses a `dvc.yaml` into the flags of each stage's `outs`, `metrics` and `plots`.
///
/// `dvc_yaml` is the file's repository-relative path. Output paths are stored resolved
/// against its directory and the stage's `wdir`. Paths that contain `${…}`, and all paths
/// of a stage whose `wdir` does, are left out because resolving them needs DVC's
/// templating. Top-level `vars`, `params`, `metrics`, `plots`, `artifacts` and `datasets`
/// are ignored.
pub fn parse_pipeline_flags(dvc_yaml: &str, bytes: &[u8]) -> Result<PipelineFlags, Error> {
    let raw: RawPipeline = parse_yaml(dvc_yaml, bytes)?;
    let dir = parent_dir(dvc_yaml);

    let mut stages = BTreeMap::new();
    for (name, stage) in raw.stages.map(|s| s.0).unwrap_or_default() {
        let looped = stage.foreach.is_some() || stage.matrix.is_some();
        let body = match stage.foreach {
            Some(_) => stage.do_body.map(|body| *body).unwrap_or_default(),
            None => stage,
        };
        let wdir_templated = body.wdir.as_deref().is_some_and(is_templated);
        let mut flags = StageFlags {
            templated: looped || wdir_templated,
            wdir: body.wdir,
            outputs: BTreeMap::new(),
        };
        let base = Base {
            dir,
            wdir: flags.wdir.as_deref(),
        };

        let lists = [body.outs, body.metrics, body.plots];
        for (path, item_flags) in lists
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|item| item.0)
        {
            if wdir_templated || is_templated(&path) {
                flags.templated = true;
                continue;
            }
            let resolved = resolve_path(base, &path).map_err(|reason| Error::UnsafePath {
                file: dvc_yaml.to_owned(),
                path: path.clone(),
                reason,
            })?;
            flags.outputs.insert(resolved, item_flags.resolve());
        }
        stages.insert(name, flags);
    }
    Ok(PipelineFlags { stages })
}

/// Parses a `dvc.lock` into the cached outputs of all its stages.
///
/// `lock_path` is the file's repository-relative path. Output paths resolve against its
/// directory joined with the stage's `wdir` from `flags`, which must come from the
/// `dvc.yaml` next to the lock. Each output takes the flags that `dvc.yaml` gives its
/// normalised path, and the defaults when `flags` is `None` or lists no such path.
pub fn parse_lock(
    lock_path: &str,
    bytes: &[u8],
    flags: Option<&PipelineFlags>,
) -> Result<Vec<Output>, Error> {
    let raw: RawLock = parse_yaml(lock_path, bytes)?;
    if raw.schema.as_deref() != Some(LOCK_SCHEMA) {
        return Err(Error::UnsupportedSchema {
            file: lock_path.to_owned(),
            schema: raw.schema,
        });
    }
    let dir = parent_dir(lock_path);

    let mut outputs = Vec::new();
    for (stage_name, stage) in raw.stages.map(|s| s.0).unwrap_or_default() {
        let stage_flags = flags.and_then(|pipeline| pipeline.stage(&stage_name));
        if flags.is_some() && stage_flags.is_none() {
            tracing::debug!(lock = lock_path, stage = %stage_name, "stage is not in dvc.yaml, so its outputs get default flags");
        }
        let wdir = stage_flags.and_then(|s| s.wdir.as_deref());
        if let Some(wdir) = wdir.filter(|wdir| is_templated(wdir)) {
            return Err(Error::TemplatedWdir {
                file: lock_path.to_owned(),
                stage: stage_name,
                wdir: wdir.to_owned(),
            });
        }
        let base = Base { dir, wdir };

        for entry in stage.outs.unwrap_or_default() {
            let Some(mut output) = build_output(lock_path, base, entry, OutputFlags::default())?
            else {
                continue;
            };
            if let Some(stage_flags) = stage_flags {
                apply_stage_flags(&mut output, stage_flags);
            }
            outputs.push(output);
        }
    }
    Ok(outputs)
}

/// Sets the flags `dvc.yaml` gives `output`, keeping defaults when it lists no such path.
fn apply_stage_flags(output: &mut Output, stage: &StageFlags) {
    if let Some(flags) = stage.outputs.get(&output.path) {
        output.flags = flags.clone();
    } else if stage.templated {
        // TODO: expand foreach/matrix items and `${…}` paths as DVC does, so that templated
        // outputs get their `cache`, `push` and `remote` flags instead of the defaults.
        tracing::debug!(path = %output.path, "output of a templated stage gets default flags");
    } else {
        tracing::debug!(path = %output.path, "output is not listed in dvc.yaml and gets default flags");
    }
}

/// Turns one `outs` entry into an output, or `None` for an entry that is not in the cache.
fn build_output(
    metafile: &str,
    base: Base<'_>,
    entry: RawOutput,
    flags: OutputFlags,
) -> Result<Option<Output>, Error> {
    if has_url_scheme(&entry.path) {
        tracing::debug!(metafile, path = %entry.path, "skipping external output");
        return Ok(None);
    }
    let Some(md5) = entry.md5 else {
        tracing::debug!(metafile, path = %entry.path, "skipping output without md5");
        return Ok(None);
    };

    let kind = match entry.hash.as_deref() {
        Some("md5") => HashKind::Md5,
        None | Some("md5-dos2unix") => HashKind::Md5Dos2Unix,
        Some(other) => {
            return Err(Error::UnsupportedHash {
                file: metafile.to_owned(),
                path: entry.path,
                hash: other.to_owned(),
            })
        }
    };
    let Ok(id) = ObjectId::parse(&md5) else {
        return Err(Error::InvalidHash {
            file: metafile.to_owned(),
            path: entry.path,
            value: md5,
        });
    };
    let path = resolve_path(base, &entry.path).map_err(|reason| Error::UnsafePath {
        file: metafile.to_owned(),
        path: entry.path.clone(),
        reason,
    })?;

    Ok(Some(Output {
        path,
        key: ObjectKey::new(kind, id),
        size: entry.size,
        nfiles: entry.nfiles,
        isexec: entry.isexec.unwrap_or(false),
        flags,
        metafile: metafile.to_owned(),
    }))
}

fn parse_yaml<T: serde::de::DeserializeOwned>(file: &str, bytes: &[u8]) -> Result<T, Error> {
    let mut options = serde_saphyr::Options::default();
    // DVC reads metafiles with ruamel.yaml, which follows YAML 1.2, so `no`, `yes`, `on` and
    // `off` are strings there too.
    options.strict_booleans = true;
    // Keeps the parser's message on one line, with the line, column and expected value.
    options.with_snippet = false;
    serde_saphyr::from_slice_with_options(bytes, options).map_err(|source| Error::Yaml {
        file: file.to_owned(),
        source: Box::new(source),
    })
}

/// Returns the directory part of a repository-relative file path, `""` at the root.
fn parent_dir(file: &str) -> &str {
    file.rfind('/').map_or("", |pos| &file[..pos])
}

/// The directory that output paths of a metafile or stage are relative to.
#[derive(Clone, Copy)]
struct Base<'a> {
    /// The metafile's repository-relative directory.
    dir: &'a str,
    /// The `wdir`, relative to `dir`.
    wdir: Option<&'a str>,
}

/// Joins `base` and `path` lexically, resolves `.` and `..`, and validates the result.
///
/// Every step of the walk must stay inside the repository, because the repository's own
/// directory name is unknown, so `a/../../repo/b` is rejected.
fn resolve_path(base: Base<'_>, path: &str) -> Result<String, &'static str> {
    let wdir = base.wdir.unwrap_or("");
    if wdir.starts_with('/') {
        return Err("the wdir is absolute");
    }
    if path.starts_with('/') {
        return Err("the path is absolute");
    }
    let mut segments: Vec<&str> = Vec::new();
    let walk = base
        .dir
        .split('/')
        .chain(wdir.split('/'))
        .chain(path.split('/'));
    for segment in walk {
        match segment {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err("the path escapes the repository root");
                }
            }
            other => segments.push(other),
        }
    }
    let resolved = segments.join("/");
    validate_relpath(&resolved)?;
    Ok(resolved)
}

/// Returns true if `path` starts with a URL scheme such as `s3://` or `remote://`.
fn has_url_scheme(path: &str) -> bool {
    let Some((scheme, _)) = path.split_once("://") else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn describe_schema(schema: &Option<String>) -> String {
    match schema {
        Some(value) => format!("unsupported schema {value:?}: expected '{LOCK_SCHEMA}'"),
        None => format!(
            "missing schema: expected '{LOCK_SCHEMA}' (lock files from DVC 1 have none and are not supported)"
        ),
    }
}

fn is_templated(value: &str) -> bool {
    value.contains("${")
}

#[cfg(test)]
mod tests;
