//! `.dir` manifests: the JSON list of `{"md5", "relpath"}` entries that describes a tracked directory.
//!
//! DVC writes them with Python's `json.dumps(entries, sort_keys=True)`: entries sorted by
//! relpath, `", "` and `": "` separators, non-ASCII escaped as `\uXXXX`, no trailing newline.
//! The manifest's own MD5 is the directory's id, so serialising must be byte-identical.

use std::fmt::Write as _;

use serde::Deserialize;

use crate::object::ObjectId;

/// Errors from reading a manifest or validating one of its paths.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not a JSON list of entries.
    #[error("directory manifest {id} is not a JSON list of {{\"md5\", \"relpath\"}} entries")]
    Malformed {
        /// The manifest's id.
        id: String,
        /// The JSON parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// An entry's hash is not a valid file object id.
    #[error("directory manifest {id} lists {relpath:?} with invalid hash {md5:?}")]
    InvalidEntryHash {
        /// The manifest's id.
        id: String,
        /// The entry's path.
        relpath: String,
        /// The rejected hash.
        md5: String,
    },
    /// An entry's path could escape the output directory or is otherwise unusable.
    #[error("directory manifest {id} lists unsafe path {relpath:?}: {reason}")]
    UnsafePath {
        /// The manifest's id.
        id: String,
        /// The rejected path.
        relpath: String,
        /// The rule the path breaks.
        reason: &'static str,
    },
    /// Two entries name the same path, or one names a file inside another.
    #[error("directory manifest {id} lists {relpath:?} twice or as both a file and a folder")]
    Conflict {
        /// The manifest's id.
        id: String,
        /// The conflicting path.
        relpath: String,
    },
}

/// One file of a tracked directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file's path inside the directory, `/`-separated and validated.
    pub relpath: String,
    /// The file's object id, under the output's hash kind.
    pub id: ObjectId,
}

/// A parsed, validated `.dir` manifest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
struct RawEntry {
    md5: String,
    relpath: String,
}

impl Manifest {
    /// Builds a manifest from entries in any order; they are sorted the way DVC sorts them.
    pub fn new(mut entries: Vec<Entry>) -> Self {
        entries.sort_by(|a, b| a.relpath.as_bytes().cmp(b.relpath.as_bytes()));
        Manifest { entries }
    }

    /// Parses the manifest `id` from `bytes` and validates every relpath.
    ///
    /// Unknown keys in entries are ignored, as DVC ignores them.
    pub fn parse(id: &ObjectId, bytes: &[u8]) -> Result<Self, Error> {
        let raw: Vec<RawEntry> =
            serde_json::from_slice(bytes).map_err(|source| Error::Malformed {
                id: id.to_string(),
                source,
            })?;

        let mut entries = Vec::with_capacity(raw.len());
        for entry in raw {
            if let Err(reason) = validate_relpath(&entry.relpath) {
                return Err(Error::UnsafePath {
                    id: id.to_string(),
                    relpath: entry.relpath,
                    reason,
                });
            }
            let member = match ObjectId::parse(&entry.md5) {
                Ok(member) if !member.is_dir() => member,
                _ => {
                    return Err(Error::InvalidEntryHash {
                        id: id.to_string(),
                        relpath: entry.relpath,
                        md5: entry.md5,
                    })
                }
            };
            entries.push(Entry {
                relpath: entry.relpath,
                id: member,
            });
        }

        let manifest = Manifest::new(entries);
        manifest.check_conflicts(id)?;
        Ok(manifest)
    }

    /// Rejects duplicate paths and a file that is also the parent folder of another entry.
    fn check_conflicts(&self, id: &ObjectId) -> Result<(), Error> {
        let mut files = std::collections::HashSet::with_capacity(self.entries.len());
        for entry in &self.entries {
            if !files.insert(entry.relpath.as_str()) {
                return Err(Error::Conflict {
                    id: id.to_string(),
                    relpath: entry.relpath.clone(),
                });
            }
        }
        for entry in &self.entries {
            let mut rest = entry.relpath.as_str();
            while let Some(pos) = rest.rfind('/') {
                rest = &rest[..pos];
                if files.contains(rest) {
                    return Err(Error::Conflict {
                        id: id.to_string(),
                        relpath: rest.to_owned(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Returns the entries sorted by relpath.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Serialises the manifest exactly as DVC does.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(self.entries.len() * 72 + 2);
        out.push('[');
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str("{\"md5\": \"");
            out.push_str(&entry.id.hex());
            out.push_str("\", \"relpath\": ");
            push_python_json_string(&mut out, &entry.relpath);
            out.push('}');
        }
        out.push(']');
        out.into_bytes()
    }
}

/// Appends `value` as a JSON string the way Python's `json.dumps` writes it with `ensure_ascii`.
fn push_python_json_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7f => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    // `fmt::Write` for `String` never returns an error.
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Checks a relative path from a manifest or metafile before anything is written with it.
///
/// Rejects empty paths, absolute paths, backslashes, NUL, empty, `.` and `..` segments,
/// and any segment that names `.git` on some file system. Returns the reason on failure.
pub fn validate_relpath(relpath: &str) -> Result<(), &'static str> {
    if relpath.is_empty() {
        return Err("the path is empty");
    }
    if relpath.starts_with('/') {
        return Err("the path is absolute");
    }
    if relpath.contains('\0') {
        return Err("the path contains a NUL byte");
    }
    if relpath.contains('\\') {
        return Err("the path contains a backslash");
    }
    for segment in relpath.split('/') {
        match segment {
            "" => return Err("the path has an empty segment"),
            "." | ".." => return Err("the path has a . or .. segment"),
            s if s.eq_ignore_ascii_case(".git") => return Err("the path has a .git segment"),
            s if opens_as_git_dir(s) => {
                return Err("the path has a segment that NTFS or HFS+ opens as .git")
            }
            _ => {}
        }
    }
    Ok(())
}

/// Returns true if `segment` is a name such as `.git.`, `git~1` or `.g\u{200c}it` that NTFS
/// or HFS+ resolve to `.git`.
///
/// These are the rules of Git's `core.protectNTFS` and `core.protectHFS`; Git 2.47 on Linux
/// refuses to check out `git~1` too.
fn opens_as_git_dir(segment: &str) -> bool {
    let options = gix::validate::path::component::Options {
        protect_windows: false,
        protect_hfs: true,
        protect_ntfs: true,
    };
    matches!(
        gix::validate::path::component(segment.into(), None, options),
        Err(gix::validate::path::component::Error::DotGitDir)
    )
}

#[cfg(test)]
mod tests;
