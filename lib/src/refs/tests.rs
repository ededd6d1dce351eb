use super::*;

const BASELINE: &str = "b53a31b91a80a1abc86d6fe6173d561a53b2dd76";

#[test]
fn parses_experiment_ref() {
    let parsed = ExpRef::parse("refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-lr01")
        .expect("valid")
        .expect("an experiment");
    assert_eq!(parsed.baseline(), BASELINE);
    assert_eq!(parsed.name(), "exp-lr01");
    assert_eq!(
        parsed.refname(),
        "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-lr01"
    );
}

#[test]
fn formats_from_baseline_and_name() {
    let exp = ExpRef::new(BASELINE, "exp-wide").expect("valid");
    assert_eq!(
        exp.to_string(),
        "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-wide"
    );
}

#[test]
fn internal_refs_are_skipped() {
    for refname in [
        "refs/exps/exec/EXEC_HEAD",
        "refs/exps/exec/EXEC_APPLY",
        "refs/exps/apply/ORIG_HEAD",
        "refs/exps/apply/stash",
        "refs/exps/celery/stash",
        "refs/exps/temp/x",
        "refs/exps/stash",
    ] {
        assert!(
            ExpRef::parse(refname).expect("not an error").is_none(),
            "{refname}"
        );
        assert!(is_hidden(refname), "{refname}");
    }
    assert!(!is_hidden("refs/heads/main"));
}

#[test]
fn non_experiment_refs_are_none() {
    assert!(ExpRef::parse("refs/heads/main")
        .expect("not an error")
        .is_none());
    assert!(ExpRef::parse("refs/tags/v1")
        .expect("not an error")
        .is_none());
}

#[test]
fn malformed_experiment_refs_are_errors() {
    for refname in [
        "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76",
        "refs/exps/b5/3a31/exp",
        "refs/exps/zz/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp",
        "refs/exps/b53/a31b91a80a1abc86d6fe6173d561a53b2dd76/exp",
        "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/a/b",
        "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/bad name",
    ] {
        assert!(
            matches!(ExpRef::parse(refname), Err(Error::InvalidRef { .. })),
            "{refname} was accepted"
        );
    }
}

#[test]
fn names_follow_check_ref_format() {
    for good in ["exp-alpha", "picky-aria", "ün+ic#o,de@x%20"] {
        assert!(validate_name(good).is_ok(), "{good}");
    }
    for bad in [
        "",
        "a/b",
        ".hidden",
        "x.lock",
        "a..b",
        "with space",
        "tab\t",
        "q?",
        "a:b",
        "@",
        "x@{1}",
    ] {
        assert!(validate_name(bad).is_err(), "{bad:?} was accepted");
    }
}
