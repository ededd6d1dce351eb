use super::*;
use crate::test_support::unpack_fixture;

const FIRST: &str = "b53a31b91a80a1abc86d6fe6173d561a53b2dd76";
const SECOND: &str = "7030ed6e978329b3071754ce2e041241ccdfe8e0";

fn id(hex: &str) -> CommitId {
    CommitId::from_hex(hex.as_bytes()).expect("valid id")
}

fn experiment(baseline: &str, name: &str, tip: &str) -> Experiment {
    Experiment {
        exp: ExpRef::new(baseline, name).expect("valid ref"),
        tip: id(tip),
    }
}

/// The experiments of the seed-project fixture.
fn seed() -> Vec<Experiment> {
    vec![
        experiment(
            FIRST,
            "exp-lr01",
            "384fd723c4956a80a8859da14430184ca788517d",
        ),
        experiment(
            FIRST,
            "exp-units64",
            "ca65baab0e9050f4228cb51264188729ae0e9934",
        ),
        experiment(
            FIRST,
            "exp-wide",
            "5f56cb0c2be1c29a3cd33aedce5dfeeecb91e8ba",
        ),
        experiment(
            SECOND,
            "exp-units64",
            "ff223b61c58ff0396a638f4fd4e56feed81f959d",
        ),
    ]
}

#[test]
fn unique_name_resolves_from_anywhere() {
    let exps = seed();
    let found = resolve("exp-wide", &exps, None).expect("resolves");
    assert_eq!(found.name(), "exp-wide");
    assert_eq!(found.baseline(), Some(id(FIRST)));
}

#[test]
fn shared_name_picks_head_baseline() {
    let exps = seed();
    let on_second = resolve("exp-units64", &exps, Some(id(SECOND))).expect("resolves");
    assert_eq!(
        on_second.tip,
        id("ff223b61c58ff0396a638f4fd4e56feed81f959d")
    );
    let on_first = resolve("exp-units64", &exps, Some(id(FIRST))).expect("resolves");
    assert_eq!(on_first.tip, id("ca65baab0e9050f4228cb51264188729ae0e9934"));
}

#[test]
fn shared_name_elsewhere_is_ambiguous() {
    let exps = seed();
    let elsewhere = id("0000000000000000000000000000000000000001");
    for head in [None, Some(elsewhere)] {
        let error = resolve("exp-units64", &exps, head).expect_err("ambiguous");
        let Error::Ambiguous { name, candidates } = &error else {
            panic!("expected an ambiguity, got {error:?}");
        };
        assert_eq!(name, "exp-units64");
        assert_eq!(
            candidates,
            &[
                "refs/exps/70/30ed6e978329b3071754ce2e041241ccdfe8e0/exp-units64",
                "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-units64",
            ]
        );
        assert_eq!(
            error.to_string(),
            "ambiguous name 'exp-units64' refers to multiple experiments; use one of the following full refnames instead:\n\
             \n\trefs/exps/70/30ed6e978329b3071754ce2e041241ccdfe8e0/exp-units64\
             \n\trefs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-units64"
        );
    }
}

#[test]
fn full_ref_and_prefix_resolve() {
    let exps = seed();
    let full = "refs/exps/70/30ed6e978329b3071754ce2e041241ccdfe8e0/exp-units64";
    assert_eq!(
        resolve(full, &exps, Some(id(FIRST)))
            .expect("full ref")
            .refname(),
        full
    );
    let by_prefix = resolve("b53a31b/exp-units64", &exps, Some(id(SECOND))).expect("prefix");
    assert_eq!(by_prefix.baseline(), Some(id(FIRST)));
    let upper = resolve("7030ED6/exp-units64", &exps, None).expect("upper-case prefix");
    assert_eq!(upper.baseline(), Some(id(SECOND)));
}

#[test]
fn unknown_names_are_not_found() {
    let exps = seed();
    let cases = [
        "nosuch",
        "b53/exp-units64",
        "zzzz/exp-units64",
        "b53a31b/nosuch",
        "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/nosuch",
        "refs/exps/exec/EXEC_HEAD",
        "EXEC_HEAD",
    ];
    for spec in cases {
        let error = resolve(spec, &exps, Some(id(FIRST))).expect_err(spec);
        assert!(
            matches!(&error, Error::NotFound { name } if name == spec),
            "{spec}: {error:?}"
        );
    }
    assert_eq!(
        resolve("nosuch", &exps, None)
            .expect_err("unknown")
            .to_string(),
        "'nosuch' is not a valid experiment name"
    );
}

#[test]
fn internal_refs_are_never_listed() {
    let listing = vec![
        RemoteRef::Direct {
            name: "refs/exps/exec/EXEC_HEAD".into(),
            oid: SECOND.into(),
        },
        RemoteRef::Direct {
            name: "refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-wide".into(),
            oid: "5f56cb0c2be1c29a3cd33aedce5dfeeecb91e8ba".into(),
        },
        RemoteRef::Direct {
            name: "refs/exps/not/valid".into(),
            oid: SECOND.into(),
        },
        RemoteRef::Direct {
            name: "refs/heads/main".into(),
            oid: SECOND.into(),
        },
        RemoteRef::Symbolic {
            name: "HEAD".into(),
            target: "refs/heads/main".into(),
        },
    ];
    let exps = remote_experiments(&listing);
    let names: Vec<String> = exps.iter().map(Experiment::refname).collect();
    assert_eq!(
        names,
        ["refs/exps/b5/3a31b91a80a1abc86d6fe6173d561a53b2dd76/exp-wide"]
    );
}

#[test]
fn local_listing_of_fixture() {
    let dir = unpack_fixture("seed-project");
    let repo = Repo::open(&dir.path().join("seed-project/project/.git")).expect("open");
    let exps = local_experiments(&repo).expect("list");
    let mut expected = seed();
    expected.sort_by_key(Experiment::refname);
    assert_eq!(exps, expected);
}

#[test]
fn depth_selects_first_parent_ancestors() {
    let dir = unpack_fixture("seed-project");
    let repo = Repo::open(&dir.path().join("seed-project/project/.git")).expect("open");
    let head = vec!["HEAD".to_owned()];
    let cases = [
        (Depth::Commits(0), vec![]),
        (Depth::Commits(1), vec![id(SECOND)]),
        (Depth::Commits(2), vec![id(SECOND), id(FIRST)]),
        (Depth::Commits(5), vec![id(SECOND), id(FIRST)]),
        (Depth::from_num(-1), vec![id(SECOND), id(FIRST)]),
    ];
    for (depth, expected) in cases {
        assert_eq!(
            baselines(&repo, &head, depth).expect("walk"),
            expected,
            "depth {depth}"
        );
    }

    let both = vec!["HEAD".to_owned(), "main~1".to_owned(), "HEAD".to_owned()];
    assert_eq!(
        baselines(&repo, &both, Depth::Commits(1)).expect("walk"),
        vec![id(SECOND), id(FIRST)]
    );
    assert!(matches!(
        baselines(&repo, &["nosuch".to_owned()], Depth::Commits(1)),
        Err(Error::Git(_))
    ));
}

#[test]
fn selection_follows_baseline_order() {
    let exps = seed();
    let selected = select_by_baselines(&exps, &[id(SECOND), id(FIRST)]);
    let names: Vec<&str> = selected.iter().map(|e| e.name()).collect();
    assert_eq!(
        names,
        ["exp-units64", "exp-lr01", "exp-units64", "exp-wide"]
    );
    assert_eq!(selected[0].baseline(), Some(id(SECOND)));
}
