use super::*;

/// The `.dvc/config` of a DVC 3.67.1 project whose default remote is the relative path `../../storage`.
const FIXTURE_CONFIG: &str =
    "[core]\n    remote = storage\n['remote \"storage\"']\n    url = ../../storage\n";

fn parse(path: &str, level: Level, text: &str) -> ConfigFile {
    ConfigFile::parse(Path::new(path), level, text).unwrap()
}

fn parse_error(text: &str) -> Error {
    ConfigFile::parse(Path::new("/p/.dvc/config"), Level::Repo, text).unwrap_err()
}

fn fake_env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
    let vars: Vec<(String, OsString)> = vars
        .iter()
        .map(|(name, value)| (name.to_string(), OsString::from(value)))
        .collect();
    move |name| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
}

fn repo_config(repo: &str, local: &str) -> Config {
    Config::from_files(vec![
        parse("/p/.dvc/config", Level::Repo, repo),
        parse("/p/.dvc/config.local", Level::Local, local),
    ])
}

fn remote_fixture(url: &str, defined_in: &str) -> RemoteConfig {
    RemoteConfig {
        name: "r".into(),
        url: url.into(),
        options: BTreeMap::new(),
        defined_in: PathBuf::from(defined_in),
    }
}

#[test]
fn fixture_config_remote() {
    let config = Config::from_files(vec![parse(
        "/work/project/.dvc/config",
        Level::Repo,
        FIXTURE_CONFIG,
    )]);
    assert_eq!(config.get("core", "remote"), Some("storage"));
    assert_eq!(config.default_remote().as_deref(), Some("storage"));

    let remote = config.remote("storage").unwrap();
    assert_eq!(remote.name, "storage");
    assert_eq!(remote.url, "../../storage");
    assert!(remote.options.is_empty());
    assert_eq!(
        remote.defined_in,
        PathBuf::from("/work/project/.dvc/config")
    );
    assert_eq!(remote.local_path(), Some(PathBuf::from("/work/storage")));
}

#[test]
fn fixture_config_round_trips() {
    let file = parse("/p/.dvc/config", Level::Repo, FIXTURE_CONFIG);
    assert_eq!(file.to_text(), FIXTURE_CONFIG);
    assert_eq!(
        file.sections().collect::<Vec<_>>(),
        ["core", "remote \"storage\""]
    );
}

#[test]
fn new_file_matches_dvc_remote_add() {
    let mut file = parse("/p/.dvc/config", Level::Repo, "");
    file.set("core", "remote", "mystore");
    file.set("remote \"mystore\"", "url", "/tmp/r");
    file.set("remote \"mystore\"", "jobs", "8");
    assert_eq!(
        file.to_text(),
        "[core]\n    remote = mystore\n['remote \"mystore\"']\n    url = /tmp/r\n    jobs = 8\n"
    );
}

#[test]
fn values_are_quoted_like_configobj() {
    // Expected lines come from ConfigObj 5.0.9 writing the same values.
    let cases = [
        ("hardlink,symlink", "\"hardlink,symlink\""),
        ("s3cr#t; x", "\"s3cr#t; x\""),
        (" lead", "\" lead\""),
        ("trail ", "\"trail \""),
        ("ab\"c", "ab\"c"),
        ("\"q", "'\"q'"),
        ("it's", "it's"),
        ("'s", "\"'s\""),
        ("", "\"\""),
        ("a'b\"c", "'''a'b\"c'''"),
        ("x=y", "x=y"),
        ("plain value", "plain value"),
    ];
    for (value, written) in cases {
        let mut file = parse("/p/.dvc/config", Level::Repo, "");
        file.set("s", "k", value);
        let text = file.to_text();
        assert_eq!(text, format!("[s]\n    k = {written}\n"), "value {value:?}");

        let reread = parse("/p/.dvc/config", Level::Repo, &text);
        assert_eq!(reread.get("s", "k"), Some(value), "value {value:?}");
    }
}

#[test]
fn values_configobj_would_mangle_round_trip() {
    // ConfigObj 5.0.9 would write the first four with the triple the value contains and the
    // last two unquoted, and would not read all of them back. ConfigObj reads each line
    // written here to the value.
    let cases = [
        ("a'''b\"", "\"\"\"a'''b\"\"\"\""),
        ("a\"\"\"b'", "'''a\"\"\"b''''"),
        ("x ''' y\nz", "\"\"\"x ''' y\nz\"\"\""),
        ("a''' #\"b", "\"\"\"a''' #\"b\"\"\""),
        ("form feed\u{c}", "\"form feed\u{c}\""),
        ("\u{a0}no-break space", "\"\u{a0}no-break space\""),
    ];
    for (value, written) in cases {
        let mut file = parse("/p/.dvc/config", Level::Repo, "");
        file.set("s", "k", value);
        let text = file.to_text();
        assert_eq!(text, format!("[s]\n    k = {written}\n"), "value {value:?}");
        let reread = parse("/p/.dvc/config", Level::Repo, &text);
        assert_eq!(reread.get("s", "k"), Some(value), "value {value:?}");
    }
}

#[test]
fn section_names_with_brackets_round_trip() {
    // ConfigObj 5.0.9 would write the first three bare, and could not read them back.
    let cases = [
        ("remote \"s\" ]]", "['remote \"s\" ]]']"),
        ("a ]", "[\"a ]\"]"),
        ("x]]", "[\"x]]\"]"),
        ("]]][core", "[]]][core]"),
    ];
    for (name, header) in cases {
        let mut file = parse("/p/.dvc/config", Level::Repo, "");
        file.set(name, "k", "v");
        assert!(file.check_writable().is_ok(), "name {name:?}");
        let text = file.to_text();
        assert_eq!(text, format!("{header}\n    k = v\n"), "name {name:?}");
        let reread = parse("/p/.dvc/config", Level::Repo, &text);
        assert_eq!(
            reread.sections().collect::<Vec<_>>(),
            [name],
            "name {name:?}"
        );
        assert_eq!(reread.get(name, "k"), Some("v"), "name {name:?}");
    }
}

#[test]
fn value_with_carriage_return_before_newline_is_unwritable() {
    let mut file = parse("/p/.dvc/config", Level::Repo, "");
    file.set("s", "k", "one\r\ntwo");
    assert!(file.check_writable().is_err());
    file.set("s", "k", "one\rtwo\nthree");
    assert!(file.check_writable().is_ok());
    let reread = parse("/p/.dvc/config", Level::Repo, &file.to_text());
    assert_eq!(reread.get("s", "k"), Some("one\rtwo\nthree"));
}

#[test]
fn keys_with_equals_signs_or_brackets_round_trip() {
    // ConfigObj 5.0.9 would write the first three bare, and read them back cut at the `=`
    // or as a section header.
    let cases = [
        ("a=b", "\"a=b\""),
        ("x \" =y", "'x \" =y'"),
        ("[a", "\"[a\""),
        ("plain", "plain"),
    ];
    for (key, written) in cases {
        let mut file = parse("/p/.dvc/config", Level::Repo, "");
        file.set("s", key, "v");
        assert!(file.check_writable().is_ok(), "key {key:?}");
        let text = file.to_text();
        assert_eq!(text, format!("[s]\n    {written} = v\n"), "key {key:?}");
        let reread = parse("/p/.dvc/config", Level::Repo, &text);
        assert_eq!(reread.get("s", key), Some("v"), "key {key:?}");
    }

    let mut file = parse("/p/.dvc/config", Level::Repo, "");
    file.set("s", "a'=\"b", "v");
    assert!(file.check_writable().is_err());
}

#[test]
fn section_name_that_cannot_read_back_is_unwritable() {
    let mut file = parse("/p/.dvc/config", Level::Repo, "");
    file.set("a ] # x", "k", "v");
    assert!(file.check_writable().is_err());
}

#[test]
fn multiline_value_round_trips() {
    let mut file = parse("/p/.dvc/config", Level::Repo, "");
    file.set("s", "k", "x\ny");
    let text = file.to_text();
    assert_eq!(text, "[s]\n    k = '''x\ny'''\n");
    assert_eq!(
        parse("/p/c", Level::Repo, &text).get("s", "k"),
        Some("x\ny")
    );
}

#[test]
fn triple_quoted_value_may_end_with_a_quote() {
    // ConfigObj 5.0.9 reads both lines to the values below, and writes the second value
    // back as `'''x\n''''`.
    let text = "[a]\n    one = '''user 'x \"y\"''''\n    two = '''x\n'''' # note\n";
    let file = parse("/p/.dvc/config", Level::Repo, text);
    assert_eq!(file.get("a", "one"), Some("user 'x \"y\"'"));
    assert_eq!(file.get("a", "two"), Some("x\n'"));

    let mut edited = file.clone();
    edited.set("a", "two", "x\n'");
    let written = edited.to_text();
    assert!(
        written.contains("    two = '''x\n''''    # note\n"),
        "{written}"
    );
    assert_eq!(
        parse("/p/.dvc/config", Level::Repo, &written).get("a", "two"),
        Some("x\n'")
    );
}

#[test]
fn values_are_parsed_like_configobj() {
    let text = "\
# whole-line comment
[core]
  type = reflink, copy
  quoted = \"a,b\" # inline comment
  single = 's3cr#t'
  trailing = a,
  empty_list = ,
  empty =
  unquoted = a\"b # comment
  hash = x#y
  spaced   =   v w   
\tmixed = 'a', \"b\" , c
  multi = '''first
second''' # done
  single_line_triple = \"\"\"q\"\"\"
  \"quoted key\" = 1
";
    let file = parse("/p/.dvc/config", Level::Repo, text);
    let expected = [
        ("type", "reflink,copy"),
        ("quoted", "a,b"),
        ("single", "s3cr#t"),
        ("trailing", "a"),
        ("empty_list", ""),
        ("empty", ""),
        ("unquoted", "a\"b"),
        ("hash", "x"),
        ("spaced", "v w"),
        ("mixed", "a,b,c"),
        ("multi", "first\nsecond"),
        ("single_line_triple", "q"),
        ("quoted key", "1"),
    ];
    for (key, value) in expected {
        assert_eq!(file.get("core", key), Some(value), "key {key}");
    }
    assert_eq!(file.to_text(), text);
}

#[test]
fn unquoted_section_form() {
    let file = parse(
        "/p/.dvc/config",
        Level::Repo,
        "[remote \"backup\"]\n    url = s3://bucket/path\n",
    );
    assert_eq!(
        file.get("remote \"backup\"", "url"),
        Some("s3://bucket/path")
    );
    let config = Config::from_files(vec![file]);
    assert_eq!(config.remote("backup").unwrap().url, "s3://bucket/path");
}

#[test]
fn names_are_case_insensitive() {
    let text = "[Core]\n    Remote = MyStore\n['remote \"MyStore\"']\n    URL = /data/store\n";
    let config = Config::from_files(vec![parse("/p/.dvc/config", Level::Repo, text)]);
    assert_eq!(config.get("CORE", "remote"), Some("MyStore"));
    assert_eq!(config.default_remote().as_deref(), Some("mystore"));

    let remote = config.remote("MYSTORE").unwrap();
    assert_eq!(remote.name, "mystore");
    assert_eq!(remote.url, "/data/store");
    assert_eq!(config.remote_names(), ["mystore"]);
}

#[test]
fn split_secret_sections_merge() {
    let repo = "['remote \"s3r\"']\n    url = s3://bucket/path\n    region = us-east-1\n";
    let local = "\
['remote \"s3r\"']
    access_key_id = AKIA
['remote \"s3r\"']
    secret_access_key = s3cr3t
    region = eu-west-1
";
    let config = repo_config(repo, local);
    let remote = config.remote("s3r").unwrap();

    assert_eq!(remote.url, "s3://bucket/path");
    assert_eq!(remote.defined_in, PathBuf::from("/p/.dvc/config"));
    let options: Vec<(&str, &str)> = remote
        .options
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        options,
        [
            ("access_key_id", "AKIA"),
            ("region", "eu-west-1"),
            ("secret_access_key", "s3cr3t")
        ]
    );
    assert_eq!(remote.local_path(), None);
}

#[test]
fn url_from_local_file_sets_defined_in() {
    let repo = "['remote \"r\"']\n    url = ../../shared\n    jobs = 4\n";
    let local = "['remote \"r\"']\n    url = ../mine\n";
    let remote = repo_config(repo, local).remote("r").unwrap();
    assert_eq!(remote.url, "../mine");
    assert_eq!(remote.defined_in, PathBuf::from("/p/.dvc/config.local"));
    assert_eq!(remote.options.get("jobs").map(String::as_str), Some("4"));
    assert_eq!(remote.local_path(), Some(PathBuf::from("/p/mine")));
}

#[test]
fn local_default_remote_overrides_repo() {
    let config = repo_config("[core]\n    remote = a\n", "[core]\n    remote = B\n");
    assert_eq!(config.default_remote().as_deref(), Some("b"));
}

#[test]
fn unknown_remote_lists_known_names() {
    let config = repo_config(
        "['remote \"storage\"']\n    url = /s\n",
        "['remote \"backup\"']\n    url = /b\n",
    );
    let err = config.remote("Missing").unwrap_err();
    let Error::UnknownRemote { name, known } = &err else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(name, "missing");
    assert_eq!(known, &["backup", "storage"]);
    assert_eq!(
        err.to_string(),
        "remote \"missing\" is not defined in any DVC config file (known remotes: backup, storage)"
    );

    let empty = Config::from_files(vec![]);
    assert_eq!(
        empty.remote("x").unwrap_err().to_string(),
        "remote \"x\" is not defined in any DVC config file (no remotes are defined)"
    );
}

#[test]
fn remote_without_url() {
    let config = repo_config(
        "['remote \"ok\"']\n    url = /ok\n",
        "['remote \"half\"']\n    password = pw\n",
    );
    let err = config.remote("half").unwrap_err();
    assert!(
        matches!(&err, Error::MissingUrl { name } if name == "half"),
        "{err:?}"
    );
    let names: Vec<String> = config.remotes().into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["ok"]);
    assert_eq!(config.remote_names(), ["half", "ok"]);
}

#[test]
fn debug_redacts_secrets() {
    let mut remote = remote_fixture("ssh://user:pw@host/path", "/p/.dvc/config");
    remote.options.insert("jobs".into(), "8".into());
    remote.options.insert("password".into(), "hunter2".into());
    assert_eq!(
        format!("{remote:?}"),
        "RemoteConfig { name: \"r\", url: \"ssh://user:***@host/path\", \
         options: {\"jobs\": \"8\", \"password\": \"***\"}, defined_in: \"/p/.dvc/config\" }"
    );
}

#[test]
fn debug_redacts_every_secret_option() {
    let mut remote = remote_fixture("azure://container/path", "/p/.dvc/config");
    for key in SECRET_OPTIONS {
        remote
            .options
            .insert(key.to_string(), format!("secret-{key}"));
    }
    let debug = format!("{remote:?}");
    assert!(!debug.contains("secret-"), "{debug}");
    assert_eq!(
        debug.matches("\"***\"").count(),
        SECRET_OPTIONS.len(),
        "{debug}"
    );
}

#[test]
fn config_file_debug_hides_values() {
    let file = parse(
        "/p/.dvc/config.local",
        Level::Local,
        "['remote \"r\"']\n    password = hunter2\n",
    );
    let debug = format!("{file:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("remote \\\"r\\\""), "{debug}");
}

#[test]
fn redacted_url_hides_password_and_signatures() {
    let cases = [
        ("ssh://user:pw@host/path", "ssh://user:***@host/path"),
        ("ssh://user@host/path", "ssh://user@host/path"),
        (
            "https://u:p%40ss@example.com:8443/dav?x=1#frag",
            "https://u:***@example.com:8443/dav?x=1#frag",
        ),
        (
            "https://host/c?sv=2020&sig=abc%3D&se=1",
            "https://host/c?sv=2020&sig=***&se=1",
        ),
        ("s3://bucket/path", "s3://bucket/path"),
        ("../../storage", "../../storage"),
        ("webdavs://me:s3cr@t@host/x", "webdavs://me:***@host/x"),
    ];
    for (url, expected) in cases {
        assert_eq!(
            remote_fixture(url, "/p/.dvc/config").redacted_url(),
            expected,
            "url {url}"
        );
    }
}

#[test]
fn local_path_resolution() {
    let home = Some(Path::new("/home/me"));
    let defined_in = Path::new("/p/.dvc/config");
    let cases = [
        ("../../storage", Some("/storage")),
        ("/abs/./dir/../store", Some("/abs/store")),
        ("file:///srv/dvc", Some("/srv/dvc")),
        ("file://localhost/srv/dvc", Some("/srv/dvc")),
        ("file://otherhost/srv/dvc", None),
        ("~", Some("/home/me")),
        ("~/dvc-store", Some("/home/me/dvc-store")),
        ("s3://bucket/path", None),
        ("ssh://host/path", None),
        ("https://host/path", None),
        ("webdav://host/path", None),
        ("gs://bucket", None),
        ("azure://container/path", None),
        ("store", Some("/p/.dvc/store")),
    ];
    for (url, expected) in cases {
        assert_eq!(
            resolve_local(url, defined_in, home),
            expected.map(PathBuf::from),
            "url {url}"
        );
    }
}

#[test]
fn relative_dvc_dir_keeps_leading_parents() {
    assert_eq!(
        resolve_local("../../storage", Path::new(".dvc/config"), None),
        Some(PathBuf::from("../storage"))
    );
}

#[test]
fn global_dir_override() {
    let dvc_dir = Path::new("/p/.dvc");
    let env = fake_env(&[
        ("DVC_GLOBAL_CONFIG_DIR", "/custom/global"),
        ("XDG_CONFIG_HOME", "/xdg"),
        ("HOME", "/home/me"),
    ]);
    assert_eq!(
        file_path_with_env(Level::Global, dvc_dir, &env),
        PathBuf::from("/custom/global/config")
    );

    let env = fake_env(&[("XDG_CONFIG_HOME", "/xdg"), ("HOME", "/home/me")]);
    assert_eq!(
        file_path_with_env(Level::Global, dvc_dir, &env),
        PathBuf::from("/xdg/dvc/config")
    );

    let env = fake_env(&[("XDG_CONFIG_HOME", ""), ("HOME", "/home/me")]);
    assert_eq!(
        file_path_with_env(Level::Global, dvc_dir, &env),
        PathBuf::from("/home/me/.config/dvc/config")
    );
}

#[test]
fn system_and_repo_paths() {
    let dvc_dir = Path::new("/p/.dvc");
    let env = fake_env(&[("DVC_SYSTEM_CONFIG_DIR", "/custom/system")]);
    assert_eq!(
        file_path_with_env(Level::System, dvc_dir, &env),
        PathBuf::from("/custom/system/config")
    );

    let env = fake_env(&[("XDG_CONFIG_DIRS", "/xdg1:/xdg2")]);
    assert_eq!(
        file_path_with_env(Level::System, dvc_dir, &env),
        PathBuf::from("/xdg1/dvc/config")
    );

    let env = fake_env(&[]);
    assert_eq!(
        file_path_with_env(Level::System, dvc_dir, &env),
        PathBuf::from("/etc/xdg/dvc/config")
    );
    assert_eq!(
        file_path_with_env(Level::Repo, dvc_dir, &env),
        PathBuf::from("/p/.dvc/config")
    );
    assert_eq!(
        file_path_with_env(Level::Local, dvc_dir, &env),
        PathBuf::from("/p/.dvc/config.local")
    );
}

#[test]
fn load_merges_all_levels() {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    let dvc_dir = root.join("repo/.dvc");
    std::fs::create_dir_all(&dvc_dir).unwrap();
    std::fs::create_dir_all(root.join("global")).unwrap();
    std::fs::write(
        root.join("global/config"),
        "[core]\n    remote = fromglobal\n[cache]\n    type = symlink\n",
    )
    .unwrap();
    std::fs::write(dvc_dir.join("config"), FIXTURE_CONFIG).unwrap();

    let env = fake_env(&[
        (
            "DVC_SYSTEM_CONFIG_DIR",
            root.join("missing-system").to_str().unwrap(),
        ),
        (
            "DVC_GLOBAL_CONFIG_DIR",
            root.join("global").to_str().unwrap(),
        ),
    ]);
    let config = Config::load_with_env(&dvc_dir, &env).unwrap();

    let levels: Vec<Level> = config.files().iter().map(ConfigFile::level).collect();
    assert_eq!(levels, Level::ALL);
    assert_eq!(config.default_remote().as_deref(), Some("storage"));
    assert_eq!(config.link_types().unwrap(), [LinkType::Symlink]);
    assert_eq!(
        config.remote("storage").unwrap().local_path(),
        Some(root.join("storage"))
    );
}

#[test]
fn cache_type_list() {
    let config = repo_config("[cache]\n    type = \"hardlink,symlink\"\n", "");
    assert_eq!(
        config.link_types().unwrap(),
        [LinkType::Hardlink, LinkType::Symlink]
    );

    let config = repo_config("[cache]\n    type = reflink, copy\n", "");
    assert_eq!(
        config.link_types().unwrap(),
        [LinkType::Reflink, LinkType::Copy]
    );

    let config = repo_config("", "");
    assert_eq!(config.link_types().unwrap(), DEFAULT_LINK_TYPES);
}

#[test]
fn invalid_cache_type_names_file_and_value() {
    let config = repo_config(
        "[cache]\n    type = hardlink\n",
        "[cache]\n    type = magic\n",
    );
    let err = config.link_types().unwrap_err();
    let Error::InvalidLinkType { path, value, .. } = &err else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(path, Path::new("/p/.dvc/config.local"));
    assert_eq!(value, "magic");
    assert_eq!(
        err.to_string(),
        "/p/.dvc/config.local: invalid cache.type \"magic\""
    );
}

#[test]
fn cache_dir_resolves_against_its_file() {
    let config = repo_config("[cache]\n    dir = ../../shared-cache\n", "");
    assert_eq!(config.cache_dir(), Some(PathBuf::from("/shared-cache")));

    let config = repo_config("", "[cache]\n    dir = /abs/cache\n");
    assert_eq!(config.cache_dir(), Some(PathBuf::from("/abs/cache")));

    let config = repo_config("[cache]\n    dir = s3://bucket/cache\n", "");
    assert_eq!(config.cache_dir(), None);
    assert_eq!(repo_config("", "").cache_dir(), None);
}

#[test]
fn edits_keep_unrelated_lines() {
    let text = "\
# project settings
[core]
  # default storage
  remote = old  # inline
  autostage = true

['remote \"old\"']
    url = /old
[cache]
    type = reflink, copy
# end of file
";
    let mut file = parse("/p/.dvc/config", Level::Repo, text);
    file.set("core", "remote", "new");
    file.set("core", "checksum_jobs", "4");
    assert!(file.rename_section("remote \"old\"", "remote \"new\""));
    file.set("remote \"new\"", "password", "s3cr#t; x");
    assert!(file.unset("core", "autostage"));
    assert!(!file.unset("core", "autostage"));
    file.set("exp", "auto_push", "true");

    let expected = "\
# project settings
[core]
  # default storage
  remote = new  # inline
  checksum_jobs = 4

['remote \"new\"']
    url = /old
  password = \"s3cr#t; x\"
[cache]
    type = reflink, copy
[exp]
  auto_push = true
# end of file
";
    assert_eq!(file.to_text(), expected);
}

#[test]
fn remove_and_rename_sections() {
    let text = "[a]\n    x = 1\n# about b\n[b]\n    y = 2\n[a]\n    z = 3\n";
    let mut file = parse("/p/c", Level::Repo, text);
    assert_eq!(file.get("a", "z"), Some("3"));
    assert!(!file.rename_section("a", "b"));
    assert!(!file.rename_section("missing", "c"));
    assert!(file.remove_section("b"));
    assert!(!file.remove_section("b"));
    assert!(file.rename_section("A", "c"));
    assert_eq!(file.sections().collect::<Vec<_>>(), ["c"]);
    assert_eq!(file.to_text(), "[c]\n    x = 1\n[c]\n    z = 3\n");
}

#[test]
fn set_replaces_duplicate_keys() {
    let text = "['remote \"r\"']\n    url = /a\n['remote \"r\"']\n    url = /b\n";
    let mut file = parse("/p/c", Level::Repo, text);
    assert_eq!(file.get("remote \"r\"", "url"), Some("/b"));
    file.set("remote \"r\"", "url", "/c");
    assert_eq!(
        file.to_text(),
        "['remote \"r\"']\n['remote \"r\"']\n    url = /c\n"
    );
    assert_eq!(file.section_values("remote \"r\""), [("url", "/c")]);
}

#[test]
fn save_writes_atomically_and_creates_dir() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("new/.dvc/config.local");
    let mut file = ConfigFile::load(&path, Level::Local).unwrap();
    assert_eq!(file.to_text(), "");
    file.set("remote \"r\"", "password", "pw");
    file.save().unwrap();

    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "['remote \"r\"']\n    password = pw\n"
    );
    let entries: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(entries.len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    let reloaded = ConfigFile::load(&path, Level::Local).unwrap();
    assert_eq!(reloaded.get("remote \"r\"", "password"), Some("pw"));
}

#[test]
fn save_rejects_unquotable_value() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("config");
    let mut file = ConfigFile::load(&path, Level::Repo).unwrap();
    file.set("core", "k", "a''' and \"\"\"");
    let err = file.save().unwrap_err();
    let Error::Unwritable {
        section,
        key,
        reason,
        ..
    } = &err
    else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(section, "core");
    assert_eq!(key, "k");
    assert_eq!(*reason, "the value contains both ''' and \"\"\"");
    assert!(!path.exists());
}

#[test]
fn syntax_errors_name_path_and_line() {
    let cases = [
        (
            "[core]\n    remote = \"a\" b\n",
            2,
            "invalid value: unexpected text after the closing quote",
        ),
        ("remote = x\n", 1, "key outside any [section]"),
        (
            "[core]\n    k = '''open\nstill open\n",
            2,
            "the triple-quoted value is not closed",
        ),
        (
            "[core]\n[[sub]]\n",
            2,
            "nested sections such as [[name]] are not supported",
        ),
        ("[core\n", 1, "invalid section header: expected [name]"),
        (
            "[core]\n    just text\n",
            2,
            "invalid line: expected `key = value`, a [section] header or a # comment",
        ),
        (
            "[core]\n    k = \"open\n",
            2,
            "invalid value: the quote is not closed",
        ),
        (
            "[core]\n    k = a,,b\n",
            2,
            "invalid value: a list has an empty item",
        ),
        ("[]\n", 1, "invalid section header: the name is empty"),
    ];
    for (text, expected_line, expected_reason) in cases {
        match parse_error(text) {
            Error::Syntax { path, line, reason } => {
                assert_eq!(path, Path::new("/p/.dvc/config"), "{text:?}");
                assert_eq!(line, expected_line, "{text:?}");
                assert_eq!(reason, expected_reason, "{text:?}");
            }
            other => panic!("{text:?}: unexpected error {other:?}"),
        }
    }
    assert_eq!(
        parse_error("[core]\n    remote = \"a\" b\n").to_string(),
        "/p/.dvc/config:2: invalid value: unexpected text after the closing quote"
    );
}

#[test]
fn load_rejects_non_utf8() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("config");
    std::fs::write(&path, b"[core]\n    remote = \xff\n").unwrap();
    let err = ConfigFile::load(&path, Level::Repo).unwrap_err();
    assert!(matches!(err, Error::NotUtf8 { .. }), "{err:?}");
}

#[test]
fn command_line_paths_are_rebased_on_the_config_dir() {
    let cwd = Path::new("/repo");
    let local = Path::new("/repo/.dvc/config.local");
    assert_eq!(path_for_config_file("../r2", cwd, local), "../../r2");
    assert_eq!(path_for_config_file("store", cwd, local), "../store");
    assert_eq!(path_for_config_file(".dvc/cache", cwd, local), "cache");
    assert_eq!(path_for_config_file("./.dvc", cwd, local), ".");
    assert_eq!(
        path_for_config_file("x", Path::new("/repo/sub"), local),
        "../sub/x"
    );
    for kept in ["/abs/r", "~/r", "s3://bucket/p", "file:///tmp/r", ""] {
        assert_eq!(path_for_config_file(kept, cwd, local), kept);
    }
}

#[test]
fn dvc_order_puts_plain_sections_before_remotes() {
    let text = "['remote \"a\"']\n    url = /a\n";
    let mut file = parse("/p/.dvc/config", Level::Repo, text);
    file.set_in_dvc_order("core", "remote", "b");
    file.set_in_dvc_order("remote \"b\"", "url", "/b");
    file.set_in_dvc_order("core", "autostage", "true");
    assert_eq!(
        file.to_text(),
        "[core]\n    remote = b\n    autostage = true\n['remote \"a\"']\n    url = /a\n['remote \"b\"']\n    url = /b\n"
    );
}
