use super::*;
use crate::object::{hash_reader, HashKind};

fn entry(relpath: &str, md5: &str) -> Entry {
    Entry {
        relpath: relpath.to_owned(),
        id: ObjectId::parse(md5).expect("valid member id"),
    }
}

fn dir_id(bytes: &[u8]) -> String {
    let (digest, _) = hash_reader(HashKind::Md5, bytes).expect("in-memory read");
    ObjectId::from_digest(digest).as_dir().to_string()
}

#[test]
fn serialises_like_python_json_dumps() {
    let manifest = Manifest::new(vec![
        entry("sub/b.txt", "3b5d5c3712955042212316173ccf37be"),
        entry("sub.txt", "9dd4e461268c8034f5c8564e155c67a6"),
        entry("c.bin", "4a8a08f09d37b73795649038408b5f33"),
        entry("a.txt", "60b725f10c9c85c70d97880dfe8191b3"),
    ]);
    let bytes = manifest.to_bytes();
    assert_eq!(
        String::from_utf8(bytes.clone()).expect("ascii"),
        r#"[{"md5": "60b725f10c9c85c70d97880dfe8191b3", "relpath": "a.txt"}, {"md5": "4a8a08f09d37b73795649038408b5f33", "relpath": "c.bin"}, {"md5": "9dd4e461268c8034f5c8564e155c67a6", "relpath": "sub.txt"}, {"md5": "3b5d5c3712955042212316173ccf37be", "relpath": "sub/b.txt"}]"#
    );
    assert_eq!(bytes.len(), 266);
    assert_eq!(dir_id(&bytes), "055303e043f057f23bdf0f08f469a797.dir");
}

#[test]
fn escapes_non_ascii_and_controls() {
    let empty = "d41d8cd98f00b204e9800998ecf8427e";
    let manifest = Manifest::new(vec![
        entry("ü/😀.txt", empty),
        entry("a\"b\\c", empty),
        entry("tab\there", empty),
    ]);
    let bytes = manifest.to_bytes();
    assert_eq!(
        String::from_utf8(bytes.clone()).expect("ascii"),
        r#"[{"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": "a\"b\\c"}, {"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": "tab\there"}, {"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": "\u00fc/\ud83d\ude00.txt"}]"#
    );
    assert_eq!(dir_id(&bytes), "c59254cbdb3be1c73f3b0f6940343acd.dir");
}

#[test]
fn empty_manifest_has_dvc_id() {
    let bytes = Manifest::default().to_bytes();
    assert_eq!(bytes, b"[]");
    assert_eq!(dir_id(&bytes), "d751713988987e9331980363e24189ce.dir");
}

#[test]
fn parse_round_trips_dvc_bytes() {
    let text = r#"[{"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": "a\"b c"}, {"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": "tab\there"}, {"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": "\u00fc/\ud83d\ude00.txt"}]"#;
    let id = ObjectId::parse("c59254cbdb3be1c73f3b0f6940343acd.dir").expect("valid id");
    let manifest = Manifest::parse(&id, text.as_bytes()).expect("valid manifest");
    assert_eq!(manifest.entries()[0].relpath, "a\"b c");
    assert_eq!(manifest.entries()[2].relpath, "ü/😀.txt");
    assert_eq!(manifest.to_bytes(), text.as_bytes());
}

#[test]
fn parse_rejects_unsafe_paths() {
    let id = ObjectId::parse("c59254cbdb3be1c73f3b0f6940343acd.dir").expect("valid id");
    let cases = [
        ("../escape.txt", "the path has a . or .. segment"),
        ("/etc/passwd", "the path is absolute"),
        ("a/../../b", "the path has a . or .. segment"),
        ("a\\b", "the path contains a backslash"),
        ("a\u{0}b", "the path contains a NUL byte"),
        ("x/.git/config", "the path has a .git segment"),
        ("x/.GIT/config", "the path has a .git segment"),
        (
            ".git./hooks/post-checkout",
            "the path has a segment that NTFS or HFS+ opens as .git",
        ),
        (
            ".git /config",
            "the path has a segment that NTFS or HFS+ opens as .git",
        ),
        (
            "git~1/config",
            "the path has a segment that NTFS or HFS+ opens as .git",
        ),
        (
            ".g\u{200c}it/config",
            "the path has a segment that NTFS or HFS+ opens as .git",
        ),
        (
            ".git::$INDEX_ALLOCATION/config",
            "the path has a segment that NTFS or HFS+ opens as .git",
        ),
        ("", "the path is empty"),
        ("a//b", "the path has an empty segment"),
    ];
    for (relpath, expected) in cases {
        let text = serde_json::to_string(
            &serde_json::json!([{"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": relpath}]),
        )
        .expect("serialisable");
        match Manifest::parse(&id, text.as_bytes()) {
            Err(Error::UnsafePath { reason, .. }) => assert_eq!(reason, expected, "{relpath:?}"),
            other => panic!("{relpath:?} gave {other:?}"),
        }
    }
}

#[test]
fn git_like_names_that_are_not_git_dirs_pass() {
    for relpath in [
        ".gitignore",
        "git",
        ".git-x/a",
        "a.git",
        ".gitmodules",
        "git~2/a",
    ] {
        assert_eq!(validate_relpath(relpath), Ok(()), "{relpath:?}");
    }
}

#[test]
fn parse_rejects_bad_hash_and_conflicts() {
    let id = ObjectId::parse("c59254cbdb3be1c73f3b0f6940343acd.dir").expect("valid id");
    let bad_hash = br#"[{"md5": "xyz", "relpath": "a"}]"#;
    assert!(matches!(
        Manifest::parse(&id, bad_hash),
        Err(Error::InvalidEntryHash { .. })
    ));
    let nested_dir = br#"[{"md5": "d41d8cd98f00b204e9800998ecf8427e.dir", "relpath": "a"}]"#;
    assert!(matches!(
        Manifest::parse(&id, nested_dir),
        Err(Error::InvalidEntryHash { .. })
    ));
    let twice = br#"[{"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": "a"}, {"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": "a"}]"#;
    assert!(matches!(
        Manifest::parse(&id, twice),
        Err(Error::Conflict { .. })
    ));
    let file_and_dir = br#"[{"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": "a"}, {"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": "a/b"}]"#;
    assert!(matches!(
        Manifest::parse(&id, file_and_dir),
        Err(Error::Conflict { .. })
    ));
    assert!(matches!(
        Manifest::parse(&id, b"{}"),
        Err(Error::Malformed { .. })
    ));
}
