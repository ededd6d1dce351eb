//! The params and metrics a commit records, as `dvc exp show` tabulates them.
//!
//! Params come from `params.yaml` at the repository root, whole, and from the other files
//! that `dvc.yaml` stages list under `params` (only the listed keys when keys are given).
//! Metrics come from the files that stages list under `metrics` and from the top-level
//! `metrics` list. Each file is read from the commit's tree, or from the cache when it is a
//! cached output. Nested keys are joined with `.`, as DVC names its table columns.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::cache::Cache;
use crate::collect::Collector;
use crate::git::{CommitId, Repo};

/// DVC's default params file, read whether or not a stage names it.
pub const DEFAULT_PARAMS_FILE: &str = "params.yaml";

/// Errors from reading a commit's params and metrics.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The commit's tree or a blob could not be read.
    #[error(transparent)]
    Git(#[from] crate::git::Error),
}

/// The values of one file, by flattened key, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileValues {
    /// Repository-relative path of the file.
    pub path: String,
    /// Flattened key and its value; `None` when the file could not be read or parsed.
    pub values: Option<Vec<(String, serde_json::Value)>>,
}

/// The params and metrics of one commit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// Metrics files in the order `dvc.yaml` names them.
    pub metrics: Vec<FileValues>,
    /// Params files, `params.yaml` first.
    pub params: Vec<FileValues>,
}

/// Files the `dvc.yaml` files of a commit name: metrics files, and params files with keys.
#[derive(Debug, Default)]
struct Declared {
    metrics: Vec<String>,
    /// Params file to the keys listed, or `None` for the whole file.
    params: Vec<(String, Option<Vec<String>>)>,
}

/// Reads the params and metrics recorded in `commit`.
pub fn read(repo: &Repo, cache: &Cache, commit: CommitId) -> Result<Record, Error> {
    let mut declared = Declared::default();
    for metafile in repo.metafiles(commit)? {
        let is_pipeline = metafile.path == "dvc.yaml" || metafile.path.ends_with("/dvc.yaml");
        if !is_pipeline {
            continue;
        }
        let bytes = repo.read_blob(metafile.blob)?;
        match parse_yaml(&bytes) {
            Some(document) => collect_declared(&metafile.path, &document, &mut declared),
            None => {
                tracing::warn!(file = %metafile.path, %commit, "cannot parse dvc.yaml, so its params and metrics are not shown")
            }
        }
    }

    let mut collector = Collector::new(repo);
    let mut reader = FileReader {
        repo,
        cache,
        commit,
        collector: &mut collector,
        outputs: None,
    };

    let mut record = Record::default();
    let mut seen_metrics = Vec::new();
    for path in declared.metrics {
        if seen_metrics.contains(&path) {
            continue;
        }
        seen_metrics.push(path.clone());
        let values = reader
            .read(&path)?
            .and_then(|bytes| flatten_document(&path, &bytes, None));
        record.metrics.push(FileValues { path, values });
    }

    let mut params: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
    for (file, keys) in declared.params {
        let entry = params.entry(file).or_insert_with(|| Some(Vec::new()));
        match (entry.as_mut(), keys) {
            (Some(listed), Some(keys)) => listed.extend(keys),
            (_, None) => *entry = None,
            (None, Some(_)) => {}
        }
    }
    // params.yaml is read whole, so its params show even when no stage lists them.
    // NOTE: DVC may show only the keys stages use; this has not been compared with DVC.
    params.insert(DEFAULT_PARAMS_FILE.to_owned(), None);
    let default_first = std::iter::once(DEFAULT_PARAMS_FILE.to_owned())
        .chain(params.keys().filter(|f| *f != DEFAULT_PARAMS_FILE).cloned())
        .collect::<Vec<_>>();
    for path in default_first {
        let keys = params.get(&path).cloned().flatten();
        let Some(bytes) = reader.read(&path)? else {
            if path != DEFAULT_PARAMS_FILE {
                record.params.push(FileValues { path, values: None });
            }
            continue;
        };
        let values = flatten_document(&path, &bytes, keys.as_deref());
        record.params.push(FileValues { path, values });
    }
    Ok(record)
}

/// Reads files from a commit's tree, falling back to the cache for cached outputs.
struct FileReader<'a, 'r> {
    repo: &'a Repo,
    cache: &'a Cache,
    commit: CommitId,
    collector: &'a mut Collector<'r>,
    outputs: Option<Vec<crate::metafile::Output>>,
}

impl FileReader<'_, '_> {
    fn read(&mut self, path: &str) -> Result<Option<Vec<u8>>, Error> {
        if let Some(bytes) = self.repo.read_path(self.commit, path)? {
            return Ok(Some(bytes));
        }
        if self.outputs.is_none() {
            let outputs = match self.collector.outputs(self.commit) {
                Ok(outputs) => outputs,
                Err(error) => {
                    tracing::debug!(%error, commit = %self.commit, "cannot list outputs");
                    Vec::new()
                }
            };
            self.outputs = Some(outputs);
        }
        let output = self
            .outputs
            .iter()
            .flatten()
            .find(|o| o.path == path && !o.key.id.is_dir());
        let Some(output) = output else {
            return Ok(None);
        };
        match std::fs::read(self.cache.object_path(&output.key)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) => {
                tracing::debug!(%path, %error, "cached metrics file is not in the cache");
                Ok(None)
            }
        }
    }
}

fn parse_yaml(bytes: &[u8]) -> Option<Node> {
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    options.with_snippet = false;
    serde_saphyr::from_slice_with_options(bytes, options).ok()
}

/// Adds what the `dvc.yaml` at `file` names to `declared`.
fn collect_declared(file: &str, document: &Node, declared: &mut Declared) {
    let dir = file.rsplit_once('/').map_or("", |(dir, _)| dir);
    for item in document
        .get("metrics")
        .and_then(Node::as_list)
        .into_iter()
        .flatten()
    {
        for path in item_paths(item) {
            if let Some(path) = join(dir, None, &path) {
                declared.metrics.push(path);
            }
        }
    }
    for item in document
        .get("params")
        .and_then(Node::as_list)
        .into_iter()
        .flatten()
    {
        if let Node::Text(name) = item {
            if let Some(path) = join(dir, None, name) {
                declared.params.push((path, None));
            }
        }
    }

    let Some(Node::Map(stages)) = document.get("stages") else {
        return;
    };
    for (_, stage) in stages {
        let body = stage.get("do").unwrap_or(stage);
        let wdir = match body.get("wdir") {
            Some(Node::Text(wdir)) => Some(wdir.as_str()),
            _ => None,
        };
        for item in body
            .get("metrics")
            .and_then(Node::as_list)
            .into_iter()
            .flatten()
        {
            for path in item_paths(item) {
                if let Some(path) = join(dir, wdir, &path) {
                    declared.metrics.push(path);
                }
            }
        }
        for item in body
            .get("params")
            .and_then(Node::as_list)
            .into_iter()
            .flatten()
        {
            match item {
                // A bare key names a key of params.yaml, which is read whole anyway.
                Node::Text(_) => {}
                Node::Map(files) => {
                    for (name, keys) in files {
                        let keys = keys.as_list().map(|keys| {
                            keys.iter()
                                .filter_map(|key| match key {
                                    Node::Text(key) => Some(key.clone()),
                                    _ => None,
                                })
                                .collect()
                        });
                        if let Some(path) = join(dir, wdir, name) {
                            declared.params.push((path, keys));
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// Returns the paths of a `metrics` item: a plain path or a map from paths to flags.
fn item_paths(item: &Node) -> Vec<String> {
    match item {
        Node::Text(path) => vec![path.clone()],
        Node::Map(entries) => entries.iter().map(|(path, _)| path.clone()).collect(),
        _ => Vec::new(),
    }
}

/// Joins `dir`, `wdir` and `path` lexically; `None` when the result leaves the repository
/// or contains `${…}` templating.
fn join(dir: &str, wdir: Option<&str>, path: &str) -> Option<String> {
    if path.contains("${") || wdir.is_some_and(|w| w.contains("${")) || path.starts_with('/') {
        return None;
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in dir
        .split('/')
        .chain(wdir.unwrap_or("").split('/'))
        .chain(path.split('/'))
    {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop()?;
            }
            other => segments.push(other),
        }
    }
    (!segments.is_empty()).then(|| segments.join("/"))
}

/// Parses a JSON or YAML file and flattens it; keeps only `keys` (and keys below them) when given.
fn flatten_document(
    path: &str,
    bytes: &[u8],
    keys: Option<&[String]>,
) -> Option<Vec<(String, serde_json::Value)>> {
    let document = if path.ends_with(".json") {
        serde_json::from_slice(bytes).ok()
    } else {
        parse_yaml(bytes)
    };
    let Some(document) = document else {
        tracing::warn!(file = %path, "cannot parse the file as JSON or YAML");
        return None;
    };
    let mut values = Vec::new();
    flatten("", &document, &mut values);
    if let Some(keys) = keys.filter(|keys| !keys.is_empty()) {
        values.retain(|(key, _)| {
            keys.iter()
                .any(|wanted| key == wanted || key.starts_with(&format!("{wanted}.")))
        });
    }
    Some(values)
}

fn flatten(prefix: &str, value: &Node, out: &mut Vec<(String, serde_json::Value)>) {
    match value {
        Node::Map(entries) if !entries.is_empty() => {
            for (key, inner) in entries {
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&key, inner, out);
            }
        }
        other if !prefix.is_empty() => out.push((prefix.to_owned(), other.to_json())),
        _ => {}
    }
}

/// Formats a commit time as the "Created" column of `dvc exp show`, such as `Jan 02, 2026`
/// (UTC), or as ISO 8601 (`2026-01-02T00:00:00`) when `iso` is set.
pub fn format_created(seconds: i64, iso: bool) -> String {
    let format = if iso {
        "%Y-%m-%dT%H:%M:%S"
    } else {
        "%b %d, %Y"
    };
    gix::date::Time::new(seconds, 0).format_or_unix(gix::date::time::CustomFormat::new(format))
}

/// Returns `value` as a table cell: strings without quotes, everything else as JSON.
pub fn cell_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A parsed JSON or YAML value that keeps mappings in file order.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Map(Vec<(String, Node)>),
    List(Vec<Node>),
    Text(String),
    /// A number as Rust prints it.
    Number(String),
    Bool(bool),
    Null,
}

impl Node {
    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Text(text) => Value::String(text.clone()),
            Node::Number(number) => match number.parse::<i64>() {
                Ok(integer) => Value::from(integer),
                Err(_) => number
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or_else(|| Value::String(number.clone()), Value::Number),
            },
            Node::Bool(value) => Value::Bool(*value),
            Node::Null => Value::Null,
            Node::List(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Node::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(key, value)| (key.clone(), value.to_json()))
                    .collect(),
            ),
        }
    }

    fn as_list(&self) -> Option<&Vec<Node>> {
        match self {
            Node::List(items) => Some(items),
            _ => None,
        }
    }
}

impl fmt::Display for Node {
    /// Writes scalars as they read in a table cell, and lists and maps in JSON-like form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Text(text) => f.write_str(text),
            Node::Number(number) => f.write_str(number),
            Node::Bool(value) => write!(f, "{value}"),
            Node::Null => f.write_str("null"),
            Node::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Node::Map(entries) => {
                f.write_str("{")?;
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key}: {value}")?;
                }
                f.write_str("}")
            }
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NodeVisitor;

        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON or YAML value")
            }

            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Node, E> {
                Ok(Node::Bool(value))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Node, E> {
                Ok(Node::Number(value.to_string()))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Node, E> {
                Ok(Node::Number(value.to_string()))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Node, E> {
                Ok(Node::Number(value.to_string()))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Node, E> {
                Ok(Node::Text(value.to_owned()))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }

            fn visit_none<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }

            fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
                Node::deserialize(deserializer)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::List(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries: Vec<(String, Node)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<Node, Node>()? {
                    let key = key.to_string();
                    // A repeated key keeps its first place and its last value.
                    match entries.iter_mut().find(|(k, _)| *k == key) {
                        Some(slot) => slot.1 = value,
                        None => entries.push((key, value)),
                    }
                }
                Ok(Node::Map(entries))
            }
        }

        deserializer.deserialize_any(NodeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_values_flatten_with_dots() {
        let bytes = b"train:\n  units: 32\n  lr: 0.01\n  layers: [1, 2]\nname: base\n";
        let values = flatten_document("params.yaml", bytes, None).expect("parses");
        let expected = [
            ("train.units", "32"),
            ("train.lr", "0.01"),
            ("train.layers", "[1,2]"),
            ("name", "base"),
        ];
        let shown: Vec<(String, String)> = values
            .iter()
            .map(|(k, v)| (k.clone(), cell_text(v)))
            .collect();
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(shown, expected);
        assert_eq!(values[0].1, serde_json::json!(32));
        assert_eq!(values[3].1, serde_json::json!("base"));
    }

    #[test]
    fn created_dates_format_like_dvc() {
        assert_eq!(format_created(1_767_312_000, false), "Jan 02, 2026");
        assert_eq!(format_created(1_767_312_000, true), "2026-01-02T00:00:00");
    }

    #[test]
    fn listed_keys_filter_values() {
        let bytes = br#"{"a": {"x": 1, "y": 2}, "b": 3, "ab": 4}"#;
        let keys = vec!["a".to_owned(), "b".to_owned()];
        let values = flatten_document("custom.json", bytes, Some(&keys)).expect("parses");
        let names: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["a.x", "a.y", "b"]);
    }

    #[test]
    fn declared_files_resolve_against_dvc_yaml() {
        let yaml = "metrics:\n- top.json\nstages:\n  train:\n    wdir: sub\n    params:\n    - train\n    - other.yaml:\n      - lr\n    metrics:\n    - m.json:\n        cache: false\n    - ../up.json\n";
        let document = parse_yaml(yaml.as_bytes()).expect("parses");
        let mut declared = Declared::default();
        collect_declared("nested/dvc.yaml", &document, &mut declared);
        assert_eq!(
            declared.metrics,
            ["nested/top.json", "nested/sub/m.json", "nested/up.json"]
        );
        assert_eq!(
            declared.params,
            [(
                "nested/sub/other.yaml".to_owned(),
                Some(vec!["lr".to_owned()])
            )]
        );
    }

    #[test]
    fn paths_outside_the_repository_are_dropped() {
        assert_eq!(join("", None, "../x.json"), None);
        assert_eq!(join("a", Some("${dir}"), "x.json"), None);
        assert_eq!(
            join("a", Some("b"), "../x.json"),
            Some("a/x.json".to_owned())
        );
    }
}
