//! Object ids, hash kinds and the content-addressed layout DVC uses in caches and storage.
//!
//! DVC 3 outputs (`hash: md5` in the metafile) hash the raw bytes and live under
//! `files/md5/XX/REST`. DVC 2 outputs (no `hash:` key) use `md5-dos2unix` and live
//! at the root, `XX/REST`. Directory objects carry a `.dir` suffix in both layouts.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::mpsc;

use md5::{Digest, Md5};

/// Size of the chunks that `md5-dos2unix` classifies as text or binary one by one.
const DOS2UNIX_CHUNK: usize = 1 << 20;

/// Number of leading bytes of a chunk that decide whether it is text.
const TEXT_SNIFF_LEN: usize = 512;

/// Read buffer for hashing; MD5 throughput stops improving above about 256 KiB.
const READ_BUFFER: usize = 256 * 1024;

/// Files at least this large are read on a second thread while the calling thread hashes,
/// which takes the read calls off MD5's path: 8% of the time for a 256 MiB file in the page
/// cache.
const READ_AHEAD_MIN: u64 = 8 << 20;

/// Buffers that circulate between the reading and the hashing thread.
const READ_AHEAD_BUFFERS: usize = 3;

/// Errors from parsing object ids.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The value is not 32 hex digits, optionally followed by `.dir`.
    #[error("invalid object id {value:?}: expected 32 hex digits, optionally followed by .dir")]
    InvalidId {
        /// The rejected text.
        value: String,
    },
}

/// The hash algorithm of an output, which also picks its place in the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashKind {
    /// DVC 3: MD5 of the raw bytes, stored under `files/md5/`.
    Md5,
    /// DVC 2: MD5 after CRLF to LF conversion of text chunks, stored at the root.
    Md5Dos2Unix,
}

impl HashKind {
    /// Returns the folder, relative to a cache or storage root, that contains objects of this kind.
    pub fn layout_prefix(self) -> &'static str {
        match self {
            HashKind::Md5 => "files/md5",
            HashKind::Md5Dos2Unix => "",
        }
    }

    /// Returns the name DVC gives this algorithm in metafiles.
    pub fn name(self) -> &'static str {
        match self {
            HashKind::Md5 => "md5",
            HashKind::Md5Dos2Unix => "md5-dos2unix",
        }
    }
}

impl fmt::Display for HashKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An MD5 digest naming a file object, or a `.dir` manifest when `dir` is set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    digest: [u8; 16],
    dir: bool,
}

impl ObjectId {
    /// Builds the id of a file object from a raw digest.
    pub fn from_digest(digest: [u8; 16]) -> Self {
        ObjectId { digest, dir: false }
    }

    /// Parses `H` or `H.dir`, where `H` is 32 hex digits in either case.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidId {
            value: value.to_owned(),
        };
        let (hex_part, dir) = match value.strip_suffix(".dir") {
            Some(rest) => (rest, true),
            None => (value, false),
        };
        if hex_part.len() != 32 {
            return Err(invalid());
        }
        let mut digest = [0u8; 16];
        hex::decode_to_slice(hex_part, &mut digest).map_err(|_| invalid())?;
        Ok(ObjectId { digest, dir })
    }

    /// Returns true if and only if this id names a `.dir` manifest.
    pub fn is_dir(&self) -> bool {
        self.dir
    }

    /// Returns the same digest marked as a directory manifest.
    pub fn as_dir(self) -> Self {
        ObjectId { dir: true, ..self }
    }

    /// Returns the raw digest.
    pub fn digest(&self) -> [u8; 16] {
        self.digest
    }

    /// Returns the 32 lowercase hex digits without the `.dir` suffix.
    pub fn hex(&self) -> String {
        hex::encode(self.digest)
    }

    /// Returns true if and only if `digest` is this object's digest, ignoring the `.dir` flag.
    pub fn matches_digest(&self, digest: [u8; 16]) -> bool {
        self.digest == digest
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())?;
        if self.dir {
            f.write_str(".dir")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({self})")
    }
}

/// An object together with the hash kind that places it in the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// The algorithm the id was computed with.
    pub kind: HashKind,
    /// The object's id.
    pub id: ObjectId,
}

impl ObjectKey {
    /// Pairs a kind and an id.
    pub fn new(kind: HashKind, id: ObjectId) -> Self {
        ObjectKey { kind, id }
    }

    /// Returns the object's path relative to a cache or storage root, with `/` separators.
    ///
    /// Examples: `files/md5/b1/946ac92492d2347c6235b4d2611184` and `a8/be9e797e0f7e75b498d90413d9a7ad.dir`.
    pub fn layout_path(&self) -> String {
        let hex = self.id.hex();
        let suffix = if self.id.is_dir() { ".dir" } else { "" };
        let prefix = self.kind.layout_prefix();
        if prefix.is_empty() {
            format!("{}/{}{}", &hex[..2], &hex[2..], suffix)
        } else {
            format!("{}/{}/{}{}", prefix, &hex[..2], &hex[2..], suffix)
        }
    }

    /// Returns the object's path under `root` in the local filesystem.
    pub fn path_under(&self, root: &std::path::Path) -> PathBuf {
        root.join(self.layout_path())
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            HashKind::Md5 => write!(f, "{}", self.id),
            HashKind::Md5Dos2Unix => write!(f, "{} (md5-dos2unix)", self.id),
        }
    }
}

/// Incremental hasher for either kind, fed with a byte stream of any chunking.
pub struct Hasher {
    md5: Md5,
    kind: HashKind,
    /// Bytes of the current 1 MiB chunk not yet fed to MD5 (dos2unix only).
    pending: Vec<u8>,
    len: u64,
}

impl Hasher {
    /// Starts hashing with the algorithm of `kind`.
    pub fn new(kind: HashKind) -> Self {
        let pending = match kind {
            HashKind::Md5 => Vec::new(),
            HashKind::Md5Dos2Unix => Vec::with_capacity(DOS2UNIX_CHUNK),
        };
        Hasher {
            md5: Md5::new(),
            kind,
            pending,
            len: 0,
        }
    }

    /// Feeds the next bytes of the stream.
    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.kind == HashKind::Md5 {
            self.md5.update(data);
            return;
        }
        while !data.is_empty() {
            let room = DOS2UNIX_CHUNK - self.pending.len();
            let take = room.min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() == DOS2UNIX_CHUNK {
                self.flush_chunk();
            }
        }
    }

    fn flush_chunk(&mut self) {
        if is_text_chunk(&self.pending) {
            let converted = crlf_to_lf(&self.pending);
            self.md5.update(&converted);
        } else {
            self.md5.update(&self.pending);
        }
        self.pending.clear();
    }

    /// Returns the number of bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Returns true if and only if no byte was fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Finishes the stream and returns the digest.
    pub fn finish(mut self) -> [u8; 16] {
        if self.kind == HashKind::Md5Dos2Unix && !self.pending.is_empty() {
            self.flush_chunk();
        }
        self.md5.finalize().into()
    }
}

/// Decides DVC's text-or-binary question for one chunk from its first 512 bytes.
fn is_text_chunk(chunk: &[u8]) -> bool {
    let sniff = &chunk[..chunk.len().min(TEXT_SNIFF_LEN)];
    if sniff.is_empty() {
        return true;
    }
    if sniff.contains(&0) {
        return false;
    }
    let non_text = sniff
        .iter()
        .filter(|&&b| !matches!(b, 0x20..=0x7e | b'\n' | b'\r' | b'\t' | 0x0c | 0x08))
        .count();
    (non_text as f64) / (sniff.len() as f64) <= 0.30
}

fn crlf_to_lf(chunk: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(chunk.len());
    let mut i = 0;
    while i < chunk.len() {
        if chunk[i] == b'\r' && chunk.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(chunk[i]);
        i += 1;
    }
    out
}

/// Hashes everything `reader` yields and returns the digest and the byte count.
pub fn hash_reader(kind: HashKind, mut reader: impl Read) -> io::Result<([u8; 16], u64)> {
    let mut hasher = Hasher::new(kind);
    let mut buffer = vec![0u8; READ_BUFFER];
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buffer[..n]);
    }
    let len = hasher.len();
    Ok((hasher.finish(), len))
}

/// Hashes the file at `path`.
pub fn hash_file(kind: HashKind, path: &std::path::Path) -> io::Result<([u8; 16], u64)> {
    hash_open_file(kind, File::open(path)?)
}

/// Hashes an open file from its current position, reading ahead on a second thread when
/// the file is large.
pub fn hash_open_file(kind: HashKind, file: File) -> io::Result<([u8; 16], u64)> {
    let large = file
        .metadata()
        .is_ok_and(|metadata| metadata.len() >= READ_AHEAD_MIN);
    if large {
        hash_read_ahead(kind, file)
    } else {
        hash_reader(kind, file)
    }
}

/// Hashes everything `reader` yields, like [`hash_reader`], with the reads on a scoped
/// thread of their own so that they overlap the hashing.
///
/// Memory stays at [`READ_AHEAD_BUFFERS`] buffers: the hashing thread hands each buffer
/// back once it is hashed. A read error ends the hash with that error.
fn hash_read_ahead(kind: HashKind, reader: impl Read + Send) -> io::Result<([u8; 16], u64)> {
    std::thread::scope(|scope| {
        let (filled_tx, filled_rx) =
            mpsc::sync_channel::<io::Result<(Vec<u8>, usize)>>(READ_AHEAD_BUFFERS);
        let (empty_tx, empty_rx) = mpsc::sync_channel::<Vec<u8>>(READ_AHEAD_BUFFERS);
        scope.spawn(move || read_into_buffers(reader, &filled_tx, &empty_rx));

        // Returning drops both channel ends, which stops the reader at its next send or
        // receive, so the scope can join it.
        let mut hasher = Hasher::new(kind);
        loop {
            let (buffer, n) = match filled_rx.recv() {
                Ok(read) => read?,
                Err(mpsc::RecvError) => {
                    return Err(io::Error::other(
                        "the read-ahead thread stopped before the end of the file",
                    ))
                }
            };
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            // The reader has stopped when this fails, and the next receive reports it.
            let _ = empty_tx.send(buffer);
        }
        let len = hasher.len();
        Ok((hasher.finish(), len))
    })
}

/// Fills buffers from `reader` and sends them with their byte counts, then a count of 0
/// at the end, or the first error. Stops early when the hashing side hangs up.
fn read_into_buffers(
    mut reader: impl Read,
    filled: &mpsc::SyncSender<io::Result<(Vec<u8>, usize)>>,
    empty: &mpsc::Receiver<Vec<u8>>,
) {
    let mut unused = READ_AHEAD_BUFFERS;
    loop {
        let mut buffer = if unused > 0 {
            unused -= 1;
            vec![0u8; READ_BUFFER]
        } else {
            match empty.recv() {
                Ok(buffer) => buffer,
                Err(mpsc::RecvError) => return,
            }
        };
        let read = loop {
            match reader.read(&mut buffer) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let last = !matches!(read, Ok(n) if n > 0);
        if filled.send(read.map(|n| (buffer, n))).is_err() || last {
            return;
        }
    }
}

#[cfg(test)]
mod tests;
