//! Link types: the ways a cached object is materialised in the workspace, per DVC's `cache.type`.

use std::fmt;
use std::str::FromStr;

/// One of DVC's link types, tried in the order `cache.type` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// A copy-on-write clone of the cache file; falls through when the filesystem cannot.
    Reflink,
    /// A hard link to the read-only cache file.
    Hardlink,
    /// An absolute symbolic link to the cache file.
    Symlink,
    /// An independent writable copy.
    Copy,
}

/// DVC's default when `cache.type` is unset.
pub const DEFAULT_LINK_TYPES: [LinkType; 2] = [LinkType::Reflink, LinkType::Copy];

/// Error for a `cache.type` entry that names no link type.
#[derive(Debug, thiserror::Error)]
#[error("invalid link type {0:?}: expected reflink, hardlink, symlink or copy")]
pub struct ParseLinkTypeError(pub String);

impl FromStr for LinkType {
    type Err = ParseLinkTypeError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "reflink" => Ok(LinkType::Reflink),
            "hardlink" => Ok(LinkType::Hardlink),
            "symlink" => Ok(LinkType::Symlink),
            "copy" => Ok(LinkType::Copy),
            _ => Err(ParseLinkTypeError(value.to_owned())),
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkType::Reflink => "reflink",
            LinkType::Hardlink => "hardlink",
            LinkType::Symlink => "symlink",
            LinkType::Copy => "copy",
        })
    }
}
