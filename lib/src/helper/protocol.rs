//! The line format of gitremote-helpers(7): commands git sends and replies the helper writes.
//!
//! Lines are bytes, not text: ref names may be any bytes git accepts. Values that git
//! C-quotes (option values with non-ASCII bytes) are unquoted here.

/// One command line from git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `capabilities`
    Capabilities,
    /// `list` or `list for-push`
    List {
        /// True for `list for-push`.
        for_push: bool,
    },
    /// `option <name> <value>`
    Option {
        /// The option name.
        name: String,
        /// The value, unquoted.
        value: String,
    },
    /// `fetch <oid> <refname>`
    Fetch {
        /// The hex object id git wants.
        oid: String,
        /// The remote ref it came from.
        name: String,
    },
    /// `push [+]<src>:<dst>`; an empty `src` deletes `dst`.
    Push(PushSpec),
    /// An empty line: the end of a batch, or of the session outside a batch.
    Blank,
    /// A command this helper does not know.
    Unknown(String),
}

/// One `push` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSpec {
    /// True when the line started with `+`.
    pub force: bool,
    /// The source as typed: a ref name, an object id or an expression; empty for a delete.
    pub src: String,
    /// The destination ref on the remote.
    pub dst: String,
}

impl PushSpec {
    /// Returns true if and only if this spec deletes `dst`.
    pub fn is_delete(&self) -> bool {
        self.src.is_empty()
    }
}

/// Parses one line, without its trailing newline.
pub fn parse_line(line: &[u8]) -> Command {
    let line = String::from_utf8_lossy(line);
    let line = line.trim_end_matches('\r');
    if line.is_empty() {
        return Command::Blank;
    }
    if line == "capabilities" {
        return Command::Capabilities;
    }
    if line == "list" {
        return Command::List { for_push: false };
    }
    if line == "list for-push" {
        return Command::List { for_push: true };
    }
    if let Some(rest) = line.strip_prefix("option ") {
        let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
        return Command::Option {
            name: name.to_owned(),
            value: c_unquote(value),
        };
    }
    if let Some(rest) = line.strip_prefix("fetch ") {
        if let Some((oid, name)) = rest.split_once(' ') {
            return Command::Fetch {
                oid: oid.to_owned(),
                name: name.to_owned(),
            };
        }
    }
    if let Some(rest) = line.strip_prefix("push ") {
        let (force, rest) = match rest.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, rest),
        };
        // Ref names cannot contain ':', but a source expression such as `:/message` can.
        if let Some((src, dst)) = rest.rsplit_once(':') {
            return Command::Push(PushSpec {
                force,
                src: src.to_owned(),
                dst: dst.to_owned(),
            });
        }
    }
    Command::Unknown(line.to_owned())
}

/// Undoes git's C-style quoting of a value that starts with `"`; other values pass unchanged.
pub fn c_unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_owned();
    };
    let bytes = inner.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let next = bytes[i + 1];
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        if let Some(digits) = octal {
            let value = digits
                .iter()
                .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
            out.push(value as u8);
            i += 4;
            continue;
        }
        out.push(match next {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'a' => 0x07,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'v' => 0x0b,
            other => other,
        });
        i += 2;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Quotes a push error reason so that it fits on one protocol line; newlines survive as `\n`.
pub fn c_quote(reason: &str) -> String {
    if !reason.contains(['\n', '"', '\\']) {
        return reason.to_owned();
    }
    let mut out = String::with_capacity(reason.len() + 2);
    out.push('"');
    for c in reason.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests;
