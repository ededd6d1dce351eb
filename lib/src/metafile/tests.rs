use super::*;

/// A `dvc.yaml` written by DVC 3.67.1: one training stage with a metric kept in Git.
const FIXTURE_DVC_YAML: &str = "\
stages:
  train:
    cmd: python src/train.py
    deps:
    - data/raw
    - src/train.py
    params:
    - train
    outs:
    - model
    - predictions.csv
    metrics:
    - metrics.json:
        cache: false
";

/// The `dvc.lock` DVC 3.67.1 wrote after running that stage.
const FIXTURE_DVC_LOCK: &str = "\
schema: '2.0'
stages:
  train:
    cmd: python src/train.py
    deps:
    - path: data/raw
      hash: md5
      md5: fa261d862f0fc7f5850b6c409f4feba5.dir
      size: 8640
      nfiles: 12
    - path: src/train.py
      hash: md5
      md5: a3080f1ea0ca64a431accea8e7d9e890
      size: 660
    params:
      params.yaml:
        train:
          units: 32
          lr: 0.01
    outs:
    - path: metrics.json
      hash: md5
      md5: 87d38fb1d992feff1f1c92138825118d
      size: 14
    - path: model
      hash: md5
      md5: ae58c7a8c1d28b8eb8afd1ef2fdec350.dir
      size: 27671
      nfiles: 4
    - path: predictions.csv
      hash: md5
      md5: 57b49df475d0aab720d8806bffe9811c
      size: 240
";

/// The `data/raw.dvc` that `dvc add data/raw` wrote with DVC 3.67.1.
const FIXTURE_RAW_DVC: &str = "\
outs:
- md5: fa261d862f0fc7f5850b6c409f4feba5.dir
  size: 8640
  nfiles: 12
  hash: md5
  path: raw
";

fn md5_key(id: &str) -> ObjectKey {
    ObjectKey::new(HashKind::Md5, ObjectId::parse(id).unwrap())
}

fn legacy_key(id: &str) -> ObjectKey {
    ObjectKey::new(HashKind::Md5Dos2Unix, ObjectId::parse(id).unwrap())
}

fn flags(cache: bool, push: bool, remote: Option<&str>) -> OutputFlags {
    OutputFlags {
        cache,
        push,
        remote: remote.map(str::to_owned),
    }
}

fn lock_with_outs(outs: &str) -> String {
    format!("schema: '2.0'\nstages:\n  train:\n    cmd: sh train.sh\n    outs:\n{outs}")
}

fn dvc_error(metafile: &str, text: &str) -> Error {
    parse_dvc_file(metafile, text.as_bytes()).unwrap_err()
}

#[test]
fn fixture_lock_with_pipeline_flags() {
    let pipeline = parse_pipeline_flags("dvc.yaml", FIXTURE_DVC_YAML.as_bytes()).unwrap();
    let outputs = parse_lock("dvc.lock", FIXTURE_DVC_LOCK.as_bytes(), Some(&pipeline)).unwrap();

    let expected = vec![
        Output {
            path: "metrics.json".into(),
            key: md5_key("87d38fb1d992feff1f1c92138825118d"),
            size: Some(14),
            nfiles: None,
            isexec: false,
            flags: flags(false, true, None),
            metafile: "dvc.lock".into(),
        },
        Output {
            path: "model".into(),
            key: md5_key("ae58c7a8c1d28b8eb8afd1ef2fdec350.dir"),
            size: Some(27671),
            nfiles: Some(4),
            isexec: false,
            flags: OutputFlags::default(),
            metafile: "dvc.lock".into(),
        },
        Output {
            path: "predictions.csv".into(),
            key: md5_key("57b49df475d0aab720d8806bffe9811c"),
            size: Some(240),
            nfiles: None,
            isexec: false,
            flags: OutputFlags::default(),
            metafile: "dvc.lock".into(),
        },
    ];
    assert_eq!(outputs, expected);
    assert!(outputs[1].key.id.is_dir());
}

#[test]
fn fixture_pipeline_flags_lookup() {
    let pipeline = parse_pipeline_flags("dvc.yaml", FIXTURE_DVC_YAML.as_bytes()).unwrap();
    assert_eq!(
        pipeline.output_flags("train", "metrics.json"),
        Some(&flags(false, true, None))
    );
    assert_eq!(
        pipeline.output_flags("train", "model"),
        Some(&OutputFlags::default())
    );
    assert_eq!(pipeline.output_flags("train", "data/raw"), None);
    assert_eq!(pipeline.output_flags("test", "model"), None);
    assert_eq!(pipeline.wdir("train"), None);
}

#[test]
fn lock_without_flags_uses_defaults() {
    let outputs = parse_lock("dvc.lock", FIXTURE_DVC_LOCK.as_bytes(), None).unwrap();
    let paths: Vec<&str> = outputs.iter().map(|o| o.path.as_str()).collect();
    assert_eq!(paths, ["metrics.json", "model", "predictions.csv"]);
    assert_eq!(outputs[0].flags, OutputFlags::default());
}

#[test]
fn fixture_dvc_file() {
    let outputs = parse_dvc_file("data/raw.dvc", FIXTURE_RAW_DVC.as_bytes()).unwrap();
    let expected = vec![Output {
        path: "data/raw".into(),
        key: md5_key("fa261d862f0fc7f5850b6c409f4feba5.dir"),
        size: Some(8640),
        nfiles: Some(12),
        isexec: false,
        flags: OutputFlags::default(),
        metafile: "data/raw.dvc".into(),
    }];
    assert_eq!(outputs, expected);
}

#[test]
fn dvc_file_legacy_entry_without_hash() {
    let text = "outs:\n- md5: a8be9e797e0f7e75b498d90413d9a7ad\n  size: 8\n  path: crlf.txt\n";
    let outputs = parse_dvc_file("crlf.txt.dvc", text.as_bytes()).unwrap();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].path, "crlf.txt");
    assert_eq!(
        outputs[0].key,
        legacy_key("a8be9e797e0f7e75b498d90413d9a7ad")
    );
    assert_eq!(outputs[0].size, Some(8));
}

#[test]
fn dvc_file_md5_dos2unix_hash_is_legacy() {
    let text =
        "outs:\n- md5: a8be9e797e0f7e75b498d90413d9a7ad\n  hash: md5-dos2unix\n  path: crlf.txt\n";
    let outputs = parse_dvc_file("crlf.txt.dvc", text.as_bytes()).unwrap();
    assert_eq!(
        outputs[0].key,
        legacy_key("a8be9e797e0f7e75b498d90413d9a7ad")
    );
}

#[test]
fn lock_legacy_entry_without_hash() {
    let text = lock_with_outs(
        "    - path: model.bin\n      md5: b1946ac92492d2347c6235b4d2611184\n      size: 6\n",
    );
    let outputs = parse_lock("dvc.lock", text.as_bytes(), None).unwrap();
    assert_eq!(
        outputs[0].key,
        legacy_key("b1946ac92492d2347c6235b4d2611184")
    );
}

#[test]
fn unsupported_hash_names_file_and_path() {
    let text = "outs:\n- md5: b1946ac92492d2347c6235b4d2611184\n  hash: sha256\n  path: foo.txt\n";
    let err = dvc_error("foo.txt.dvc", text);
    let Error::UnsupportedHash { file, path, hash } = &err else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(file, "foo.txt.dvc");
    assert_eq!(path, "foo.txt");
    assert_eq!(hash, "sha256");
    assert_eq!(
        err.to_string(),
        "foo.txt.dvc: output \"foo.txt\" has unsupported hash \"sha256\": expected md5 or md5-dos2unix"
    );
}

#[test]
fn dvc_file_key_order_does_not_matter() {
    let text =
        "outs:\n- md5: B1946AC92492D2347C6235B4D2611184\n  size: 6\n  path: foo.txt\n  hash: md5\n";
    let outputs = parse_dvc_file("foo.txt.dvc", text.as_bytes()).unwrap();
    assert_eq!(outputs[0].path, "foo.txt");
    assert_eq!(outputs[0].key, md5_key("b1946ac92492d2347c6235b4d2611184"));
    assert_eq!(
        outputs[0].key.id.to_string(),
        "b1946ac92492d2347c6235b4d2611184"
    );
    assert_eq!(outputs[0].size, Some(6));
}

#[test]
fn unquoted_numeric_md5_stays_a_string() {
    let text = "outs:\n- md5: 12345678901234567890123456789012\n  hash: md5\n  path: digits.bin\n";
    let outputs = parse_dvc_file("digits.bin.dvc", text.as_bytes()).unwrap();
    assert_eq!(
        outputs[0].key.id.to_string(),
        "12345678901234567890123456789012"
    );
}

#[test]
fn yaml_boolean_words_stay_strings() {
    let text = "outs:\n- md5: b1946ac92492d2347c6235b4d2611184\n  hash: md5\n  path: no\n";
    let outputs = parse_dvc_file("no.dvc", text.as_bytes()).unwrap();
    assert_eq!(outputs[0].path, "no");

    let pipeline =
        "stages:\n  s:\n    cmd: x\n    outs:\n    - yes\n    - off:\n        push: false\n";
    let pipeline = parse_pipeline_flags("dvc.yaml", pipeline.as_bytes()).unwrap();
    assert_eq!(
        pipeline.output_flags("s", "yes"),
        Some(&OutputFlags::default())
    );
    assert_eq!(
        pipeline.output_flags("s", "off"),
        Some(&flags(true, false, None))
    );
}

#[test]
fn dvc_file_entry_flags() {
    let text = "\
outs:
- md5: b1946ac92492d2347c6235b4d2611184
  size: 6
  isexec: true
  hash: md5
  path: run.sh
  remote: Loc2
  push: false
- md5: 87d38fb1d992feff1f1c92138825118d
  hash: md5
  path: metrics.json
  cache: false
";
    let outputs = parse_dvc_file("tools/run.dvc", text.as_bytes()).unwrap();
    assert_eq!(outputs.len(), 2);
    assert_eq!(outputs[0].path, "tools/run.sh");
    assert!(outputs[0].isexec);
    assert_eq!(outputs[0].flags, flags(true, false, Some("loc2")));
    assert_eq!(outputs[1].path, "tools/metrics.json");
    assert!(!outputs[1].isexec);
    assert_eq!(outputs[1].flags, flags(false, true, None));
}

#[test]
fn dvc_file_wdir() {
    let text = "wdir: ../shared\nouts:\n- md5: b1946ac92492d2347c6235b4d2611184\n  hash: md5\n  path: ./data/../foo.txt\n";
    let outputs = parse_dvc_file("sub/foo.dvc", text.as_bytes()).unwrap();
    assert_eq!(outputs[0].path, "shared/foo.txt");

    let text =
        "wdir: .\nouts:\n- md5: b1946ac92492d2347c6235b4d2611184\n  hash: md5\n  path: foo.txt\n";
    let outputs = parse_dvc_file("sub/foo.dvc", text.as_bytes()).unwrap();
    assert_eq!(outputs[0].path, "sub/foo.txt");
}

#[test]
fn lock_uses_stage_wdir_and_flags() {
    let pipeline = "\
vars:
- params.yaml
stages:
  prepare:
    wdir: work
    cmd: sh prepare.sh
    outs:
    - ../routed.bin:
        remote: Loc2
        persist: true
    - private.bin:
        push: false
    plots:
    - plot.csv:
        x: step
        y: [loss]
        cache: false
plots:
- loss:
    x: step
    y:
      work/plot.csv: loss
metrics:
- work/metrics.json
artifacts:
  model:
    path: model.pkl
    type: model
";
    let lock = "\
schema: '2.0'
stages:
  prepare:
    cmd: sh prepare.sh
    outs:
    - path: ../routed.bin
      hash: md5
      md5: b1946ac92492d2347c6235b4d2611184
      size: 6
    - path: plot.csv
      hash: md5
      md5: 57b49df475d0aab720d8806bffe9811c
      size: 240
    - path: private.bin
      hash: md5
      md5: 87d38fb1d992feff1f1c92138825118d
      size: 14
";
    let pipeline = parse_pipeline_flags("sub/dvc.yaml", pipeline.as_bytes()).unwrap();
    assert_eq!(pipeline.wdir("prepare"), Some("work"));
    let outputs = parse_lock("sub/dvc.lock", lock.as_bytes(), Some(&pipeline)).unwrap();

    let summary: Vec<(&str, &OutputFlags)> = outputs
        .iter()
        .map(|o| (o.path.as_str(), &o.flags))
        .collect();
    assert_eq!(
        summary,
        [
            ("sub/routed.bin", &flags(true, true, Some("loc2"))),
            ("sub/work/plot.csv", &flags(false, true, None)),
            ("sub/work/private.bin", &flags(true, false, None)),
        ]
    );
    assert!(outputs.iter().all(|o| o.metafile == "sub/dvc.lock"));
}

#[test]
fn pipeline_item_with_several_paths() {
    let text = "stages:\n  s:\n    cmd: x\n    outs:\n    - a.bin:\n        cache: false\n      b.bin:\n    - c.bin: {remote: R}\n";
    let pipeline = parse_pipeline_flags("dvc.yaml", text.as_bytes()).unwrap();
    assert_eq!(
        pipeline.output_flags("s", "a.bin"),
        Some(&flags(false, true, None))
    );
    assert_eq!(
        pipeline.output_flags("s", "b.bin"),
        Some(&OutputFlags::default())
    );
    assert_eq!(
        pipeline.output_flags("s", "c.bin"),
        Some(&flags(true, true, Some("r")))
    );
}

#[test]
fn foreach_stage_flags_found_under_base_name() {
    let pipeline = "\
stages:
  build:
    foreach: [us, eu]
    do:
      cmd: sh build.sh ${item}
      outs:
      - shared.bin:
          push: false
      - out-${item}.bin:
          cache: false
";
    let lock = "\
schema: '2.0'
stages:
  build@us:
    cmd: sh build.sh us
    outs:
    - path: out-us.bin
      hash: md5
      md5: b1946ac92492d2347c6235b4d2611184
    - path: shared.bin
      hash: md5
      md5: 87d38fb1d992feff1f1c92138825118d
";
    let pipeline = parse_pipeline_flags("dvc.yaml", pipeline.as_bytes()).unwrap();
    let outputs = parse_lock("dvc.lock", lock.as_bytes(), Some(&pipeline)).unwrap();
    assert_eq!(outputs[0].path, "out-us.bin");
    // The templated path is not expanded, so the output falls back to the defaults.
    assert_eq!(outputs[0].flags, OutputFlags::default());
    assert_eq!(outputs[1].path, "shared.bin");
    assert_eq!(outputs[1].flags, flags(true, false, None));
}

#[test]
fn matrix_stage_flags_found_under_base_name() {
    let pipeline = "\
stages:
  train:
    matrix:
      lr: [0.1, 0.01]
    cmd: python train.py ${item.lr}
    outs:
    - log.txt:
        cache: false
";
    let lock = lock_with_outs(
        "    - path: log.txt\n      hash: md5\n      md5: b1946ac92492d2347c6235b4d2611184\n",
    )
    .replace("  train:", "  train@0.1:");
    let pipeline = parse_pipeline_flags("dvc.yaml", pipeline.as_bytes()).unwrap();
    let outputs = parse_lock("dvc.lock", lock.as_bytes(), Some(&pipeline)).unwrap();
    assert_eq!(outputs[0].flags, flags(false, true, None));
}

#[test]
fn templated_wdir_is_rejected_in_lock() {
    let pipeline = "stages:\n  build:\n    foreach: [a]\n    do:\n      wdir: ${item}\n      cmd: make\n      outs: [out.bin]\n";
    let lock = lock_with_outs(
        "    - path: out.bin\n      hash: md5\n      md5: b1946ac92492d2347c6235b4d2611184\n",
    )
    .replace("  train:", "  build@a:");
    let pipeline = parse_pipeline_flags("dvc.yaml", pipeline.as_bytes()).unwrap();
    let err = parse_lock("dvc.lock", lock.as_bytes(), Some(&pipeline)).unwrap_err();
    let Error::TemplatedWdir { file, stage, wdir } = &err else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(file, "dvc.lock");
    assert_eq!(stage, "build@a");
    assert_eq!(wdir, "${item}");
}

#[test]
fn external_outputs_are_skipped() {
    let text = "\
deps:
- path: https://example.com/data.csv
  checksum: '\"abc\"'
outs:
- path: s3://bucket/data.csv
  etag: 0123abcd
- path: remote.csv
  checksum: 5d41402abc4b2a76b9719d911017c592
- md5: b1946ac92492d2347c6235b4d2611184
  hash: md5
  path: local.txt
";
    let outputs = parse_dvc_file("import.dvc", text.as_bytes()).unwrap();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].path, "local.txt");
}

#[test]
fn dvc_file_without_outs() {
    let text = "md5: 0123456789abcdef0123456789abcdef\ncmd: echo\ndeps:\n- md5: b1946ac92492d2347c6235b4d2611184\n  path: in.txt\n";
    assert_eq!(parse_dvc_file("stage.dvc", text.as_bytes()).unwrap(), []);
}

#[test]
fn unsafe_paths_are_rejected() {
    let cases = [
        ("../../etc", "the path escapes the repository root"),
        ("/abs", "the path is absolute"),
        ("a/.git/x", "the path has a .git segment"),
        ("..", "the path is empty"),
        ("a\\b", "the path contains a backslash"),
    ];
    for (bad, expected_reason) in cases {
        let text = format!(
            "outs:\n- md5: b1946ac92492d2347c6235b4d2611184\n  hash: md5\n  path: '{bad}'\n"
        );
        let err = dvc_error("sub/bad.dvc", &text);
        match err {
            Error::UnsafePath { file, path, reason } => {
                assert_eq!(file, "sub/bad.dvc");
                assert_eq!(path, bad);
                assert_eq!(reason, expected_reason, "path {bad:?}");
            }
            other => panic!("path {bad:?}: unexpected error {other:?}"),
        }
    }
}

#[test]
fn unsafe_path_message() {
    let text = "outs:\n- md5: b1946ac92492d2347c6235b4d2611184\n  hash: md5\n  path: ../../etc\n";
    let err = dvc_error("sub/bad.dvc", text);
    assert_eq!(
        err.to_string(),
        "sub/bad.dvc: unsafe output path \"../../etc\": the path escapes the repository root"
    );
}

#[test]
fn unsafe_wdir_is_rejected() {
    let text =
        "wdir: /abs\nouts:\n- md5: b1946ac92492d2347c6235b4d2611184\n  hash: md5\n  path: x\n";
    let err = dvc_error("x.dvc", text);
    assert!(
        matches!(
            err,
            Error::UnsafePath {
                reason: "the wdir is absolute",
                ..
            }
        ),
        "{err:?}"
    );

    let text =
        "wdir: ../..\nouts:\n- md5: b1946ac92492d2347c6235b4d2611184\n  hash: md5\n  path: x\n";
    let err = dvc_error("sub/x.dvc", text);
    assert!(matches!(
        err,
        Error::UnsafePath {
            reason: "the path escapes the repository root",
            ..
        }
    ));
}

#[test]
fn unsafe_path_in_pipeline_is_rejected() {
    let text = "stages:\n  s:\n    cmd: x\n    outs:\n    - ../outside.bin\n";
    let err = parse_pipeline_flags("dvc.yaml", text.as_bytes()).unwrap_err();
    let Error::UnsafePath { file, path, reason } = &err else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(file, "dvc.yaml");
    assert_eq!(path, "../outside.bin");
    assert_eq!(*reason, "the path escapes the repository root");
}

#[test]
fn invalid_md5_names_value() {
    let text = "outs:\n- md5: not-a-hash\n  hash: md5\n  path: foo.txt\n";
    let err = dvc_error("foo.txt.dvc", text);
    let Error::InvalidHash { file, path, value } = &err else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(file, "foo.txt.dvc");
    assert_eq!(path, "foo.txt");
    assert_eq!(value, "not-a-hash");
    assert_eq!(
        err.to_string(),
        "foo.txt.dvc: output \"foo.txt\" has invalid md5 \"not-a-hash\": \
         expected 32 hex digits, optionally followed by .dir"
    );
}

#[test]
fn lock_schema_must_be_2_0() {
    let text = FIXTURE_DVC_LOCK.replace("schema: '2.0'", "schema: '1.0'");
    let err = parse_lock("dvc.lock", text.as_bytes(), None).unwrap_err();
    let Error::UnsupportedSchema { file, schema } = &err else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(file, "dvc.lock");
    assert_eq!(schema.as_deref(), Some("1.0"));
    assert_eq!(
        err.to_string(),
        "dvc.lock: unsupported schema \"1.0\": expected '2.0'"
    );

    let text = "train:\n  cmd: x\n";
    let err = parse_lock("dvc.lock", text.as_bytes(), None).unwrap_err();
    assert!(matches!(err, Error::UnsupportedSchema { schema: None, .. }));
    assert_eq!(
        err.to_string(),
        "dvc.lock: missing schema: expected '2.0' (lock files from DVC 1 have none and are not supported)"
    );
}

#[test]
fn empty_dvc_file_has_no_outputs() {
    assert_eq!(parse_dvc_file("empty.dvc", b"").unwrap(), []);
}

#[test]
fn malformed_yaml_names_file() {
    let cases = [
        ("outs: [unclosed\n", "foo.dvc"),
        (
            "outs:\n- md5: b1946ac92492d2347c6235b4d2611184\n  size: notanumber\n  path: foo\n",
            "foo.dvc",
        ),
        ("outs: foo.txt\n", "foo.dvc"),
        (
            "outs:\n- md5: b1946ac92492d2347c6235b4d2611184\n  hash: md5\n",
            "foo.dvc",
        ),
    ];
    for (text, file) in cases {
        let err = dvc_error(file, text);
        assert!(matches!(&err, Error::Yaml { .. }), "{text:?}: {err:?}");
        assert_eq!(err.to_string(), "invalid metafile foo.dvc");
        assert!(std::error::Error::source(&err).is_some());
    }
}

#[test]
fn missing_path_error_mentions_field() {
    let text = "outs:\n- md5: b1946ac92492d2347c6235b4d2611184\n  hash: md5\n";
    let err = dvc_error("foo.dvc", text);
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains("path"), "{source}");
}

#[test]
fn malformed_lock_and_pipeline_name_file() {
    let err = parse_lock("sub/dvc.lock", b"schema: '2.0'\nstages: [a]\n", None).unwrap_err();
    assert_eq!(err.to_string(), "invalid metafile sub/dvc.lock");

    let err =
        parse_pipeline_flags("dvc.yaml", b"stages:\n  s:\n    outs:\n    - 2024\n").unwrap_err();
    assert_eq!(err.to_string(), "invalid metafile dvc.yaml");
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains("integer `2024`"), "{source}");

    let err = parse_pipeline_flags(
        "dvc.yaml",
        b"stages:\n  s:\n    outs:\n    - a:\n        cache: maybe\n",
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "invalid metafile dvc.yaml");
}

#[test]
fn lock_output_without_md5_is_skipped() {
    let text = lock_with_outs("    - path: pending.bin\n      hash: md5\n");
    assert_eq!(parse_lock("dvc.lock", text.as_bytes(), None).unwrap(), []);
}

#[test]
fn lock_output_not_in_pipeline_uses_defaults() {
    let pipeline = parse_pipeline_flags("dvc.yaml", FIXTURE_DVC_YAML.as_bytes()).unwrap();
    let text = lock_with_outs(
        "    - path: stale.bin\n      hash: md5\n      md5: b1946ac92492d2347c6235b4d2611184\n",
    );
    let outputs = parse_lock("dvc.lock", text.as_bytes(), Some(&pipeline)).unwrap();
    assert_eq!(outputs[0].flags, OutputFlags::default());

    let text = text.replace("  train:", "  other:");
    let outputs = parse_lock("dvc.lock", text.as_bytes(), Some(&pipeline)).unwrap();
    assert_eq!(outputs[0].flags, OutputFlags::default());
}

#[test]
fn lock_directory_with_nfiles() {
    let text = lock_with_outs(
        "    - path: data\n      hash: md5\n      md5: d751713988987e9331980363e24189ce.dir\n      size: 0\n      nfiles: 0\n",
    );
    let outputs = parse_lock("dvc.lock", text.as_bytes(), None).unwrap();
    assert!(outputs[0].key.id.is_dir());
    assert_eq!(outputs[0].size, Some(0));
    assert_eq!(outputs[0].nfiles, Some(0));
}
