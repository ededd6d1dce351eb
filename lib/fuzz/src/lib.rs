//! The checks behind each fuzz target: feed one input to a parser of `exp_lib`, and when the
//! parser accepts it, assert the properties its callers rely on. A check panics on a
//! violation, which libFuzzer reports as a crash.
//!
//! The library's stable test suite includes this file (`lib/tests/fuzz_corpus.rs`) and
//! replays every committed corpus file through the same functions.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use exp_lib::config::{ConfigFile, Level};
use exp_lib::helper::protocol::{self, Command};
use exp_lib::manifest::{self, Manifest};
use exp_lib::metafile::{self, Output};
use exp_lib::object::{HashKind, ObjectId, ObjectKey};
use exp_lib::refs::{self, ExpRef};
use gix::validate::path::component::Options as ComponentOptions;

/// The check of one fuzz target: it panics when `data` shows a violated property.
pub type Check = fn(&[u8]);

/// Every fuzz target by name, as the folders under `corpus/` are named.
pub const TARGETS: [(&str, Check); 9] = [
    ("manifest", manifest),
    ("relpath", relpath),
    ("dvc_file", dvc_file),
    ("lock", lock),
    ("pipeline", pipeline),
    ("config", config),
    ("exp_ref", exp_ref),
    ("object_id", object_id),
    ("helper_line", helper_line),
];

/// Separates `dvc.yaml` from `dvc.lock` in an input of [`lock`]. YAML text cannot contain it.
pub const LOCK_SEPARATOR: u8 = 0;

/// The id the manifest target parses its input under; the id only appears in messages.
const MANIFEST_ID: &str = "d751713988987e9331980363e24189ce.dir";

/// Metafiles sit one folder down, so an output path may use one `..` and stay inside.
const DVC_FILE: &str = "data/input.dvc";
const DVC_YAML: &str = "stage/dvc.yaml";
const DVC_LOCK: &str = "stage/dvc.lock";

/// Parses a `.dir` manifest. An accepted manifest has only safe, unique, sorted paths and
/// file ids, and re-serialises to ASCII bytes that parse to the same manifest and
/// serialise to the same bytes again.
pub fn manifest(data: &[u8]) {
    let id = ObjectId::parse(MANIFEST_ID).expect("the manifest target's id is valid");
    let Ok(parsed) = Manifest::parse(&id, data) else {
        return;
    };

    for entry in parsed.entries() {
        assert_safe_relpath(&entry.relpath);
        assert!(
            !entry.id.is_dir(),
            "member {:?} has a .dir id",
            entry.relpath
        );
    }
    for pair in parsed.entries().windows(2) {
        assert!(
            pair[0].relpath.as_bytes() < pair[1].relpath.as_bytes(),
            "entries {:?} and {:?} are not sorted and unique",
            pair[0].relpath,
            pair[1].relpath
        );
    }

    let bytes = parsed.to_bytes();
    assert!(bytes.is_ascii(), "serialised manifest is not ASCII");
    let reparsed = Manifest::parse(&id, &bytes).expect("a serialised manifest parses");
    assert_eq!(reparsed, parsed);
    assert_eq!(reparsed.to_bytes(), bytes);
}

/// Validates a relative path. An accepted path is not empty, not absolute, has no NUL,
/// backslash, `.` or `..` segment, and no segment that Git treats as `.git`.
pub fn relpath(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if manifest::validate_relpath(text).is_ok() {
        assert_safe_relpath(text);
    }
}

/// Parses a `.dvc` file and checks every output it declares.
pub fn dvc_file(data: &[u8]) {
    if let Ok(outputs) = metafile::parse_dvc_file(DVC_FILE, data) {
        for output in &outputs {
            assert_output(output, DVC_FILE);
        }
    }
}

/// Parses a `dvc.lock`, with the flags of a `dvc.yaml` when the input holds both as
/// `DVC_YAML`, [`LOCK_SEPARATOR`], `DVC_LOCK`, and checks every output it declares.
pub fn lock(data: &[u8]) {
    let (flags, lock) = match data.iter().position(|&b| b == LOCK_SEPARATOR) {
        Some(at) => (
            metafile::parse_pipeline_flags(DVC_YAML, &data[..at]).ok(),
            &data[at + 1..],
        ),
        None => (None, data),
    };
    if let Ok(outputs) = metafile::parse_lock(DVC_LOCK, lock, flags.as_ref()) {
        for output in &outputs {
            assert_output(output, DVC_LOCK);
        }
    }
}

/// Parses the output flags of a `dvc.yaml`. The parser must not panic; its result has no
/// property of its own to check, and [`lock`] checks how locks use it.
pub fn pipeline(data: &[u8]) {
    let _ = metafile::parse_pipeline_flags(DVC_YAML, data);
}

/// Parses a DVC config file. An accepted file renders unchanged lines exactly as read, and
/// reads back with the same sections and values, both as it is and after every value and
/// section header went through the writer.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("/repo/.dvc/config");
    let Ok(file) = ConfigFile::parse(path, Level::Repo, text) else {
        return;
    };

    let unchanged = file.to_text();
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let expected: String = body.lines().map(|line| format!("{line}\n")).collect();
    assert_eq!(
        unchanged, expected,
        "an unchanged file is not rendered as read"
    );

    let mut rewritten = file.clone();
    let sections: Vec<String> = file.sections().map(str::to_owned).collect();
    for section in &sections {
        rewritten.rename_section(section, section);
        for (key, value) in file.section_values(section) {
            rewritten.set(section, key, value);
        }
    }
    if rewritten.check_writable().is_err() {
        return;
    }
    let text = rewritten.to_text();
    let reparsed = ConfigFile::parse(path, Level::Repo, &text)
        .unwrap_or_else(|error| panic!("a rewritten config does not parse: {error}\n{text}"));
    assert_same_config(&file, &reparsed, &text);
}

/// Parses an experiment ref. An accepted ref is not internal, has a valid name and a full
/// lowercase baseline id, is a ref name Git accepts, and parses back from its own name.
/// Any name `validate_name` accepts also makes a ref name Git accepts.
pub fn exp_ref(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    match ExpRef::parse(text) {
        Ok(Some(exp)) => {
            let refname = exp.refname();
            assert!(!refs::is_internal(&refname), "{refname} is internal");
            assert!(
                refs::validate_name(exp.name()).is_ok(),
                "{refname} has an invalid name"
            );
            let baseline = exp.baseline();
            assert!(
                baseline.len() == 40 || baseline.len() == 64,
                "{refname}: baseline length"
            );
            assert!(
                baseline
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{refname}: baseline is not lowercase hex"
            );
            let rest = &text[refs::PREFIX.len()..];
            let mut parts = rest.splitn(3, '/');
            let (head, tail) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            let expected = format!(
                "{}{}/{}/{}",
                refs::PREFIX,
                head.to_ascii_lowercase(),
                tail.to_ascii_lowercase(),
                exp.name()
            );
            assert_eq!(refname, expected, "only the baseline is lower-cased");
            assert_git_accepts_ref(&refname);
            let again = ExpRef::parse(&refname).expect("an experiment ref parses again");
            assert_eq!(again.as_ref(), Some(&exp));
            let built = ExpRef::new(baseline, exp.name()).expect("the parts build the ref again");
            assert_eq!(built, exp);
        }
        Ok(None) => assert!(
            !text.starts_with(refs::PREFIX) || refs::is_internal(text),
            "{text:?} was skipped but is an experiment ref"
        ),
        Err(_) => assert!(
            text.starts_with(refs::PREFIX),
            "{text:?} was rejected but is not under refs/exps/"
        ),
    }

    if refs::validate_name(text).is_ok() {
        let baseline = "b53a31b91a80a1abc86d6fe6173d561a53b2dd76";
        assert_git_accepts_ref(&format!(
            "refs/exps/{}/{}/{text}",
            &baseline[..2],
            &baseline[2..]
        ));
    }
}

/// Parses an object id. The parser accepts exactly 32 hex digits with an optional `.dir`,
/// prints the id in lowercase, and places it in both layouts.
pub fn object_id(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (digits, dir) = match text.strip_suffix(".dir") {
        Some(digits) => (digits, true),
        None => (text, false),
    };
    let well_formed = digits.len() == 32 && digits.bytes().all(|b| b.is_ascii_hexdigit());

    let Ok(id) = ObjectId::parse(text) else {
        assert!(!well_formed, "{text:?} was rejected");
        return;
    };
    assert!(well_formed, "{text:?} was accepted");
    assert_eq!(id.to_string(), text.to_ascii_lowercase());
    assert_eq!(id.is_dir(), dir);
    assert_eq!(
        ObjectId::parse(&id.to_string()).expect("a printed id parses"),
        id
    );

    let hex = digits.to_ascii_lowercase();
    let suffix = if dir { ".dir" } else { "" };
    assert_eq!(
        ObjectKey::new(HashKind::Md5, id).layout_path(),
        format!("files/md5/{}/{}{suffix}", &hex[..2], &hex[2..])
    );
    assert_eq!(
        ObjectKey::new(HashKind::Md5Dos2Unix, id).layout_path(),
        format!("{}/{}{suffix}", &hex[..2], &hex[2..])
    );
}

/// Parses one line of the remote-helper protocol. Every parsed command reassembles to the
/// line, and quoting any line for an `error` reply keeps it on one line and unquotes back.
pub fn helper_line(data: &[u8]) {
    let lossy = String::from_utf8_lossy(data);
    let line = lossy.trim_end_matches('\r');

    match protocol::parse_line(data) {
        Command::Blank => assert!(line.is_empty()),
        Command::Capabilities => assert_eq!(line, "capabilities"),
        Command::List { for_push } => {
            assert_eq!(line, if for_push { "list for-push" } else { "list" })
        }
        Command::Option { name, .. } => {
            assert!(!name.contains(' '), "option name {name:?} has a space");
            assert!(line.starts_with(&format!("option {name}")));
        }
        Command::Fetch { oid, name } => {
            assert!(!oid.contains(' '), "fetch oid {oid:?} has a space");
            assert_eq!(line, format!("fetch {oid} {name}"));
        }
        Command::Push(spec) => {
            assert!(
                !spec.dst.contains(':'),
                "push destination {:?} has a colon",
                spec.dst
            );
            let force = if spec.force { "+" } else { "" };
            assert_eq!(line, format!("push {force}{}:{}", spec.src, spec.dst));
        }
        Command::Unknown(text) => assert_eq!(text, line),
    }

    let quoted = protocol::c_quote(line);
    assert!(
        !quoted.contains('\n'),
        "quoted reason {quoted:?} spans lines"
    );
    assert_eq!(protocol::c_unquote(&quoted), line);
}

/// Asserts the properties of an output read from `metafile`.
fn assert_output(output: &Output, metafile: &str) {
    assert_safe_relpath(&output.path);
    assert_eq!(output.metafile, metafile);
    let id = output.key.id;
    assert_eq!(
        ObjectId::parse(&id.to_string()).expect("an output id parses again"),
        id
    );
    if let Some(remote) = &output.flags.remote {
        assert_eq!(
            remote,
            &remote.to_lowercase(),
            "remote names are lower-cased"
        );
    }
}

/// Asserts that `path` is a safe relative path, checked without `validate_relpath`.
pub fn assert_safe_relpath(path: &str) {
    assert!(!path.is_empty(), "an empty path was accepted");
    assert!(
        !Path::new(path).is_absolute() && !path.starts_with('/'),
        "{path:?} is absolute"
    );
    assert!(!path.contains('\0'), "{path:?} contains NUL");
    assert!(!path.contains('\\'), "{path:?} contains a backslash");
    for component in Path::new(path).components() {
        assert!(
            matches!(component, Component::Normal(_)),
            "{path:?} has component {component:?}"
        );
    }
    // Git's own checks with core.protectHFS and core.protectNTFS, which also catch names
    // such as `.GIT`, `.git.`, `git~1` and `.g\u{200c}it` that some file systems open as `.git`.
    let options = ComponentOptions {
        protect_windows: false,
        protect_hfs: true,
        protect_ntfs: true,
    };
    for segment in path.split('/') {
        assert!(
            !matches!(segment, "" | "." | ".."),
            "{path:?} has segment {segment:?}"
        );
        if let Err(error) = gix::validate::path::component(segment.into(), None, options) {
            panic!("{path:?} has segment {segment:?} that Git rejects: {error}");
        }
    }
}

/// Asserts that Git would accept `refname` as the full name of a ref.
fn assert_git_accepts_ref(refname: &str) {
    if let Err(error) = gix::validate::reference::name(refname.into()) {
        panic!("{refname:?} is not a valid Git ref name: {error}");
    }
}

/// Asserts that two config files have the same sections with the same values. The order of
/// keys is not compared, because setting a duplicated key keeps only its last place.
fn assert_same_config(expected: &ConfigFile, actual: &ConfigFile, text: &str) {
    let sections: Vec<&str> = expected.sections().collect();
    assert_eq!(
        actual.sections().collect::<Vec<_>>(),
        sections,
        "sections differ after:\n{text}"
    );
    for section in sections {
        let values = |file: &ConfigFile| -> BTreeMap<String, String> {
            file.section_values(section)
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .collect()
        };
        assert_eq!(
            values(actual),
            values(expected),
            "values of [{section}] differ after:\n{text}"
        );
    }
}
