//! One DVC config file: the subset of ConfigObj's INI dialect that DVC reads and writes.
//!
//! Lines that are not changed are written back exactly as read, so comments, indentation
//! and quoting survive a rewrite. Changed and new lines are written the way ConfigObj
//! 5.0.9 writes them, which is what `dvc remote add` and `dvc config` produce.

use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use super::{Error, Level};

/// Indentation ConfigObj uses for keys when the file has no indented line yet.
const DEFAULT_INDENT: &str = "    ";

/// Returns true for a character that makes a value need quotes when it is the first or last.
///
/// ConfigObj quotes for space, `\t`, `\n`, `\v`, `\r` and both quote characters. Any other
/// whitespace, such as a form feed or a no-break space, gets quotes here too, because both
/// readers strip it from an unquoted value.
fn needs_quotes_at_edge(c: char) -> bool {
    c.is_whitespace() || c == '\'' || c == '"'
}

/// One parsed config file, editable and writable, with its path and level.
#[derive(Clone)]
pub struct ConfigFile {
    path: PathBuf,
    level: Level,
    sections: Vec<Section>,
    /// Comment and blank lines after the last key.
    trailing: Vec<String>,
    /// Indentation for new key lines, taken from the first indented key of the file.
    indent: String,
}

#[derive(Clone)]
struct Section {
    /// Lower-cased name without the brackets and outer quotes, e.g. `remote "storage"`.
    name: String,
    /// The header line as read, or `None` for a new or renamed section.
    header: Option<String>,
    /// Comment and blank lines above the header.
    comments: Vec<String>,
    entries: Vec<Entry>,
}

#[derive(Clone)]
struct Entry {
    /// Lower-cased key.
    key: String,
    /// Value with quotes removed. List items are joined with `,`.
    value: String,
    /// The line or lines as read, or `None` once the value was set.
    raw: Option<String>,
    /// Comment and blank lines above the key.
    comments: Vec<String>,
    /// Comment after the value, from `#` on.
    inline_comment: Option<String>,
}

impl ConfigFile {
    /// Parses `text` as the config file at `path` on `level`.
    ///
    /// Section and key names are lower-cased. Two sections with the same name merge, and a
    /// later key overrides an earlier one. Errors name the path and the 1-based line.
    pub fn parse(path: &Path, level: Level, text: &str) -> Result<ConfigFile, Error> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let lines: Vec<&str> = text.lines().collect();
        let syntax = |line: usize, reason: &'static str| Error::Syntax {
            path: path.to_owned(),
            line,
            reason,
        };

        let mut file = ConfigFile {
            path: path.to_owned(),
            level,
            sections: Vec::new(),
            trailing: Vec::new(),
            indent: DEFAULT_INDENT.to_owned(),
        };
        let mut found_indent = false;
        let mut comments = Vec::new();
        let mut index = 0;
        while index < lines.len() {
            let line = lines[index];
            let number = index + 1;
            let trimmed = line.trim();
            index += 1;

            if trimmed.is_empty() || trimmed.starts_with('#') {
                comments.push(line.to_owned());
                continue;
            }
            if trimmed.starts_with('[') {
                let name = parse_header(trimmed).map_err(|reason| syntax(number, reason))?;
                file.sections.push(Section {
                    name: name.to_lowercase(),
                    header: Some(line.to_owned()),
                    comments: std::mem::take(&mut comments),
                    entries: Vec::new(),
                });
                continue;
            }

            if file.sections.is_empty() {
                return Err(syntax(number, "key outside any [section]"));
            }
            let (key, rest) = split_key(line).map_err(|reason| syntax(number, reason))?;
            let (value, inline_comment, used) =
                parse_value(rest, &lines[index..]).map_err(|reason| syntax(number, reason))?;
            let raw = lines[index - 1..index + used].join("\n");
            index += used;

            let indent = &line[..line.len() - line.trim_start().len()];
            if !found_indent && !indent.is_empty() {
                file.indent = indent.to_owned();
                found_indent = true;
            }
            let Some(section) = file.sections.last_mut() else {
                continue;
            };
            section.entries.push(Entry {
                key: key.to_lowercase(),
                value,
                raw: Some(raw),
                comments: std::mem::take(&mut comments),
                inline_comment,
            });
        }
        file.trailing = comments;
        Ok(file)
    }

    /// Reads and parses the config file at `path`. A missing file gives an empty config.
    pub fn load(path: &Path, level: Level) -> Result<ConfigFile, Error> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(source) => {
                return Err(Error::Read {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        let text = String::from_utf8(bytes).map_err(|source| Error::NotUtf8 {
            path: path.to_owned(),
            source,
        })?;
        ConfigFile::parse(path, level, &text)
    }

    /// Returns the path this file was read from and is saved to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the level of this file.
    pub fn level(&self) -> Level {
        self.level
    }

    /// Returns the value of `key` in `section`, comparing names case-insensitively.
    ///
    /// `section` is written without brackets and outer quotes, e.g. `remote "storage"`.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        let key = key.to_lowercase();
        self.sections_named(section.to_lowercase())
            .flat_map(|s| s.entries.iter())
            .filter(|entry| entry.key == key)
            .last()
            .map(|entry| entry.value.as_str())
    }

    /// Returns every key of `section` with its value, in the order the keys first appear.
    pub fn section_values(&self, section: &str) -> Vec<(&str, &str)> {
        let mut values: Vec<(&str, &str)> = Vec::new();
        for entry in self
            .sections_named(section.to_lowercase())
            .flat_map(|s| s.entries.iter())
        {
            match values.iter_mut().find(|(key, _)| *key == entry.key) {
                Some(slot) => slot.1 = &entry.value,
                None => values.push((&entry.key, &entry.value)),
            }
        }
        values
    }

    /// Returns true if the file has a section named `section`.
    pub fn has_section(&self, section: &str) -> bool {
        self.sections_named(section.to_lowercase()).next().is_some()
    }

    /// Sets `key` in `section` to `value`, adding the key or the section when missing.
    ///
    /// An existing key keeps its place, its comments and its inline comment. Copies of the
    /// key in other sections of the same name are removed. A new key goes after the last
    /// key of the last section of that name, and a new section goes after all sections.
    pub fn set(&mut self, section: &str, key: &str, value: &str) {
        let (section, key) = (section.to_lowercase(), key.to_lowercase());
        let positions = self.positions(&section, &key);

        if let Some((&(last_section, last_entry), earlier)) = positions.split_last() {
            let entry = &mut self.sections[last_section].entries[last_entry];
            entry.value = value.to_owned();
            entry.raw = None;
            for &(s, e) in earlier.iter().rev() {
                self.sections[s].entries.remove(e);
            }
            return;
        }

        let index = match self.sections.iter().rposition(|s| s.name == section) {
            Some(index) => index,
            None => {
                self.sections.push(Section {
                    name: section,
                    header: None,
                    comments: Vec::new(),
                    entries: Vec::new(),
                });
                self.sections.len() - 1
            }
        };
        self.sections[index].entries.push(Entry {
            key,
            value: value.to_owned(),
            raw: None,
            comments: Vec::new(),
            inline_comment: None,
        });
    }

    /// Sets `key` like [`ConfigFile::set`], but a new section other than `remote "…"` and
    /// `machine "…"` goes before the first of those, where DVC's writer puts it.
    pub fn set_in_dvc_order(&mut self, section: &str, key: &str, value: &str) {
        let name = section.to_lowercase();
        if self.has_section(&name) || is_named_section(&name) {
            self.set(&name, key, value);
            return;
        }
        let index = self
            .sections
            .iter()
            .position(|s| is_named_section(&s.name))
            .unwrap_or(self.sections.len());
        self.sections.insert(
            index,
            Section {
                name,
                header: None,
                comments: Vec::new(),
                entries: Vec::new(),
            },
        );
        self.set(section, key, value);
    }

    /// Removes `key` from every section named `section`. Returns true if it was there.
    pub fn unset(&mut self, section: &str, key: &str) -> bool {
        let (section, key) = (section.to_lowercase(), key.to_lowercase());
        let positions = self.positions(&section, &key);
        for &(s, e) in positions.iter().rev() {
            self.sections[s].entries.remove(e);
        }
        !positions.is_empty()
    }

    /// Removes every section named `section` with its keys and comments. Returns true if
    /// one was there.
    pub fn remove_section(&mut self, section: &str) -> bool {
        let section = section.to_lowercase();
        let before = self.sections.len();
        self.sections.retain(|s| s.name != section);
        self.sections.len() != before
    }

    /// Renames every section named `from` to `to`, keeping its place, keys and comments.
    ///
    /// Returns false and changes nothing when `from` is missing or `to` already exists.
    /// Renaming a remote does not update `core.remote`, so the caller updates it.
    pub fn rename_section(&mut self, from: &str, to: &str) -> bool {
        let (from, to) = (from.to_lowercase(), to.to_lowercase());
        if !self.has_section(&from) || (from != to && self.has_section(&to)) {
            return false;
        }
        for section in self.sections.iter_mut().filter(|s| s.name == from) {
            section.name = to.clone();
            section.header = None;
        }
        true
    }

    /// Returns the section names in the order they first appear, each once.
    pub fn sections(&self) -> impl Iterator<Item = &str> {
        self.sections
            .iter()
            .enumerate()
            .filter(|(i, s)| !self.sections[..*i].iter().any(|p| p.name == s.name))
            .map(|(_, s)| s.name.as_str())
    }

    /// Renders the file. Unchanged lines come out as read, changed ones as ConfigObj writes them.
    ///
    /// A name or value that ConfigObj cannot quote is written unquoted here, and `save`
    /// rejects it.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for section in &self.sections {
            push_lines(&mut out, &section.comments);
            match &section.header {
                Some(header) => out.push_str(header),
                None => {
                    out.push('[');
                    out.push_str(
                        &quote_section_name(&section.name).unwrap_or_else(|_| section.name.clone()),
                    );
                    out.push(']');
                }
            }
            out.push('\n');

            for entry in &section.entries {
                push_lines(&mut out, &entry.comments);
                match &entry.raw {
                    Some(raw) => out.push_str(raw),
                    None => out.push_str(&self.render_entry(entry)),
                }
                out.push('\n');
            }
        }
        push_lines(&mut out, &self.trailing);
        out
    }

    /// Writes the file atomically: a temporary file in the same directory, then a rename.
    ///
    /// Creates the parent directory when missing. The file keeps its permissions, and a new
    /// file gets mode 0644 on Unix. On failure the old file is unchanged.
    pub fn save(&self) -> Result<(), Error> {
        self.check_writable()?;
        let write_error = |source| Error::Write {
            path: self.path.clone(),
            source,
        };

        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        fs::create_dir_all(dir).map_err(write_error)?;
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(write_error)?;
        temp.write_all(self.to_text().as_bytes())
            .map_err(write_error)?;

        let permissions = match fs::metadata(&self.path) {
            Ok(metadata) => Some(metadata.permissions()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => new_file_permissions(),
            Err(source) => return Err(write_error(source)),
        };
        if let Some(permissions) = permissions {
            temp.as_file()
                .set_permissions(permissions)
                .map_err(write_error)?;
        }
        temp.as_file().sync_all().map_err(write_error)?;
        temp.persist(&self.path).map_err(|e| write_error(e.error))?;
        Ok(())
    }

    /// Returns the sections named `name`, which must be lower-cased.
    fn sections_named(&self, name: String) -> impl Iterator<Item = &Section> + '_ {
        self.sections.iter().filter(move |s| s.name == name)
    }

    /// Returns the (section, entry) indexes of `key` in sections named `section`, in file order.
    fn positions(&self, section: &str, key: &str) -> Vec<(usize, usize)> {
        let mut positions = Vec::new();
        for (s, candidate) in self.sections.iter().enumerate() {
            if candidate.name != section {
                continue;
            }
            for (e, entry) in candidate.entries.iter().enumerate() {
                if entry.key == key {
                    positions.push((s, e));
                }
            }
        }
        positions
    }

    fn render_entry(&self, entry: &Entry) -> String {
        let key = quote_key(&entry.key).unwrap_or_else(|_| entry.key.clone());
        let value = quote_value(&entry.value).unwrap_or_else(|_| entry.value.clone());
        let mut line = format!("{}{key} = {value}", self.indent);
        if let Some(comment) = &entry.inline_comment {
            line.push_str(&self.indent);
            line.push_str(comment);
        }
        line
    }

    /// Checks that every new or changed name and value can be quoted in ConfigObj's syntax,
    /// as [`ConfigFile::save`] does before it writes anything.
    pub fn check_writable(&self) -> Result<(), Error> {
        let unwritable = |section: &str, key: &str, reason| Error::Unwritable {
            path: self.path.clone(),
            section: section.to_owned(),
            key: key.to_owned(),
            reason,
        };
        for section in &self.sections {
            if section.header.is_none() {
                quote_section_name(&section.name)
                    .map_err(|reason| unwritable(&section.name, "", reason))?;
            }
            for entry in section.entries.iter().filter(|e| e.raw.is_none()) {
                quote_key(&entry.key)
                    .map_err(|reason| unwritable(&section.name, &entry.key, reason))?;
                quote_value(&entry.value)
                    .map_err(|reason| unwritable(&section.name, &entry.key, reason))?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for ConfigFile {
    /// Shows the path, level and section names only, because values may be secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigFile")
            .field("path", &self.path)
            .field("level", &self.level)
            .field("sections", &self.sections().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Returns true for sections DVC writes after all others: `remote "…"` and `machine "…"`.
fn is_named_section(name: &str) -> bool {
    ["remote", "machine"].iter().any(|kind| {
        name.strip_prefix(kind)
            .is_some_and(|rest| rest.trim_start().starts_with('"'))
    })
}

fn push_lines(out: &mut String, lines: &[String]) {
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
}

#[cfg(unix)]
fn new_file_permissions() -> Option<fs::Permissions> {
    use std::os::unix::fs::PermissionsExt as _;
    Some(fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn new_file_permissions() -> Option<fs::Permissions> {
    None
}

/// Parses a trimmed `[name]` header line and returns the name without outer quotes.
fn parse_header(line: &str) -> Result<&str, &'static str> {
    let mut rest = line;
    let mut depth = 0;
    while let Some(after) = rest.strip_prefix('[') {
        depth += 1;
        rest = after.trim_start();
    }

    // The name ends at the first run of `]` that only whitespace or a comment follows.
    let mut found = None;
    for (position, _) in rest.char_indices() {
        let mut tail = &rest[position..];
        let mut closing = 0;
        while let Some(after) = tail.trim_start().strip_prefix(']') {
            closing += 1;
            tail = after;
        }
        let tail = tail.trim_start();
        if closing > 0 && (tail.is_empty() || tail.starts_with('#')) {
            found = Some((&rest[..position], closing));
            break;
        }
    }
    let Some((name, closing)) = found else {
        return Err("invalid section header: expected [name]");
    };
    if closing != depth {
        return Err("invalid section header: the brackets do not match");
    }
    if depth > 1 {
        return Err("nested sections such as [[name]] are not supported");
    }

    let name = unquote(name.trim_end());
    if name.is_empty() {
        return Err("invalid section header: the name is empty");
    }
    Ok(name)
}

/// Strips one pair of matching outer quotes.
fn unquote(text: &str) -> &str {
    for quote in ['"', '\''] {
        if text.len() >= 2 && text.starts_with(quote) && text.ends_with(quote) {
            return &text[1..text.len() - 1];
        }
    }
    text
}

/// Splits `key = rest` and returns the key without quotes and the text after `=`.
fn split_key(line: &str) -> Result<(&str, &str), &'static str> {
    const INVALID: &str = "invalid line: expected `key = value`, a [section] header or a # comment";
    let line = line.trim_start();

    let (key, after_key) = match line.chars().next() {
        Some(quote @ ('"' | '\'')) => {
            let Some(end) = line[1..].find(quote) else {
                return Err("invalid line: the quoted key is not closed");
            };
            (&line[1..end + 1], &line[end + 2..])
        }
        _ => {
            let Some(equals) = line.find('=') else {
                return Err(INVALID);
            };
            (line[..equals].trim_end(), &line[equals..])
        }
    };
    let Some(rest) = after_key.trim_start().strip_prefix('=') else {
        return Err(INVALID);
    };
    if key.is_empty() {
        return Err("invalid line: the key is empty");
    }
    Ok((key, rest.trim_start()))
}

/// Parses the text after `=`, reading on into `following` for a triple-quoted value.
///
/// Returns the value, the inline comment and the number of following lines used.
fn parse_value(
    text: &str,
    following: &[&str],
) -> Result<(String, Option<String>, usize), &'static str> {
    for triple in ["'''", "\"\"\""] {
        if let Some(body) = text.strip_prefix(triple) {
            return parse_triple_quoted(body, triple, following);
        }
    }
    let (value, comment) = parse_list(text)?;
    Ok((value, comment, 0))
}

fn parse_triple_quoted(
    body: &str,
    triple: &str,
    following: &[&str],
) -> Result<(String, Option<String>, usize), &'static str> {
    if body.contains(triple) {
        let (value, comment) = split_at_closing(body, triple)?;
        return Ok((value.to_owned(), comment, 0));
    }

    let mut value = body.to_owned();
    for (used, line) in following.iter().enumerate() {
        value.push('\n');
        if line.contains(triple) {
            let (last_part, comment) = split_at_closing(line, triple)?;
            value.push_str(last_part);
            return Ok((value, comment, used + 1));
        }
        value.push_str(line);
    }
    Err("the triple-quoted value is not closed")
}

/// Splits `text` at the first closing `triple` that only whitespace or a comment follows,
/// as ConfigObj does, so a value may itself contain the closing quotes.
fn split_at_closing<'a>(
    text: &'a str,
    triple: &str,
) -> Result<(&'a str, Option<String>), &'static str> {
    // Candidates overlap: in `x''''` the closing quotes start at the second quote, so the
    // value ends with a quote, as ConfigObj's non-greedy pattern reads it.
    let candidates = text
        .char_indices()
        .map(|(index, _)| index)
        .filter(|&index| text[index..].starts_with(triple));
    for end in candidates {
        if let Ok(comment) = comment_after(&text[end + triple.len()..]) {
            return Ok((&text[..end], comment));
        }
    }
    Err("invalid value: unexpected text after the closing quotes")
}

/// Returns the comment in `rest`, which may only contain whitespace and a `#` comment.
fn comment_after(rest: &str) -> Result<Option<String>, &'static str> {
    let rest = rest.trim();
    if rest.is_empty() {
        Ok(None)
    } else if rest.starts_with('#') {
        Ok(Some(rest.to_owned()))
    } else {
        Err("invalid value: unexpected text after the closing quote")
    }
}

/// Parses a single value or a comma-separated list, each item quoted or not.
///
/// An unquoted `#` starts a comment. A list comes back as its items joined with `,`, and
/// the empty list `,` as an empty string.
fn parse_list(text: &str) -> Result<(String, Option<String>), &'static str> {
    let mut items: Vec<&str> = Vec::new();
    let mut rest = text.trim_start();
    let mut comment = None;

    if let Some(after) = rest.strip_prefix(',') {
        let comment =
            comment_after(after).map_err(|_| "invalid value: a list has an empty item")?;
        return Ok((String::new(), comment));
    }
    loop {
        if rest.is_empty() {
            break;
        }
        if rest.starts_with('#') {
            comment = Some(rest.trim_end().to_owned());
            break;
        }
        let item;
        match rest.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let Some(end) = rest[1..].find(quote) else {
                    return Err("invalid value: the quote is not closed");
                };
                item = &rest[1..end + 1];
                rest = rest[end + 2..].trim_start();
            }
            _ => {
                let end = rest.find([',', '#']).unwrap_or(rest.len());
                item = rest[..end].trim_end();
                rest = &rest[end..];
                if item.is_empty() {
                    return Err("invalid value: a list has an empty item");
                }
            }
        }
        items.push(item);

        if let Some(after) = rest.strip_prefix(',') {
            rest = after.trim_start();
        } else if !rest.is_empty() && !rest.starts_with('#') {
            return Err("invalid value: unexpected text after the closing quote");
        }
    }
    Ok((items.join(","), comment))
}

/// Quotes a value as ConfigObj does.
///
/// Values that are empty, contain `,` or `#`, or start or end with whitespace or a quote
/// get double quotes, or single quotes when they contain `"`. Values with both quote
/// characters or a newline get triple quotes.
fn quote_value(value: &str) -> Result<String, &'static str> {
    if value.is_empty() {
        return Ok("\"\"".to_owned());
    }
    // Both readers strip carriage returns from the end of each line, ConfigObj all of them
    // and this one a single `\r` before `\n`, so such a value would lose them.
    if value.contains("\r\n") {
        return Err("the value has a carriage return before a line break");
    }
    let has_both_quotes = value.contains('\'') && value.contains('"');
    if has_both_quotes || value.contains('\n') {
        // The quotes are the triple the value does not contain, ''' when it has neither.
        // ConfigObj 5.0.9 picks the triple the value contains, which its own reader and
        // this one read back wrongly when the value spans lines or has `''' #` inside.
        let has_single_triple = value.contains("'''");
        let has_double_triple = value.contains("\"\"\"");
        return match (has_single_triple, has_double_triple) {
            (false, _) => Ok(format!("'''{value}'''")),
            (true, false) => Ok(format!("\"\"\"{value}\"\"\"")),
            (true, true) => Err("the value contains both ''' and \"\"\""),
        };
    }
    Ok(quote_single_line(value))
}

/// Quotes a section or key name as ConfigObj does, which never uses triple quotes for names.
fn quote_name(name: &str) -> Result<String, &'static str> {
    if name.contains('\n') || name.contains('\r') {
        return Err("the name contains a line break");
    }
    if name.contains('\'') && name.contains('"') {
        return Err("the name contains both ' and \"");
    }
    if name.is_empty() {
        return Err("the name is empty");
    }
    Ok(quote_single_line(name))
}

/// Quotes a section name for its `[name]` header as [`quote_name`] does, or with quotes
/// where the bare name would not read back.
///
/// ConfigObj 5.0.9 leaves a name such as `a ]]` bare, and then neither it nor this reader
/// can tell the name's brackets from the header's. Quoted, both read the name back.
fn quote_section_name(name: &str) -> Result<String, &'static str> {
    let bare = quote_name(name)?;
    if parse_header(&format!("[{bare}]")) == Ok(name) {
        return Ok(bare);
    }
    let quoted = if name.contains('"') {
        format!("'{name}'")
    } else {
        format!("\"{name}\"")
    };
    if parse_header(&format!("[{quoted}]")) == Ok(name) {
        Ok(quoted)
    } else {
        Err("the name does not read back from a section header")
    }
}

/// Quotes a key as [`quote_name`] does, or with quotes where the bare key would not read
/// back.
///
/// ConfigObj 5.0.9 leaves a key such as `a=b` or `[a` bare, and then both readers end the
/// key at its `=` or take the line for a section header. Quoted, both read the key back.
fn quote_key(key: &str) -> Result<String, &'static str> {
    // The reader takes a line that starts with `[` for a section header and one that starts
    // with `#` for a comment before it looks for a key.
    let reads_back = |written: &str| {
        !written.starts_with(['[', '#'])
            && split_key(&format!("{written} = x")).is_ok_and(|(read, _)| read == key)
    };
    let bare = quote_name(key)?;
    if reads_back(&bare) {
        return Ok(bare);
    }
    let quoted = if key.contains('"') {
        format!("'{key}'")
    } else {
        format!("\"{key}\"")
    };
    if reads_back(&quoted) {
        Ok(quoted)
    } else {
        Err("the key does not read back from a `key = value` line")
    }
}

/// Applies ConfigObj's single-line quoting to text without a newline or both quote characters.
fn quote_single_line(text: &str) -> String {
    let needs_quotes = text.starts_with(needs_quotes_at_edge)
        || text.ends_with(needs_quotes_at_edge)
        || text.contains(',')
        || text.contains('#');
    if !needs_quotes {
        text.to_owned()
    } else if text.contains('"') {
        format!("'{text}'")
    } else {
        format!("\"{text}\"")
    }
}
