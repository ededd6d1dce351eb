use super::*;

#[test]
fn zero_and_symbolic_values_have_no_object() {
    assert_eq!(
        parse_object_id("0000000000000000000000000000000000000000"),
        None
    );
    assert_eq!(parse_object_id(&"0".repeat(64)), None);
    assert_eq!(parse_object_id("ref:refs/heads/main"), None);
    assert_eq!(parse_object_id("1234"), None);
    let id = parse_object_id("b53a31b91a80a1abc86d6fe6173d561a53b2dd76").expect("a hex id");
    assert_eq!(id.to_string(), "b53a31b91a80a1abc86d6fe6173d561a53b2dd76");
}

#[test]
fn hook_names_match_git() {
    let names: Vec<&str> = Hook::ALL.iter().map(|hook| hook.name()).collect();
    assert_eq!(
        names,
        [
            "pre-push",
            "reference-transaction",
            "post-checkout",
            "post-merge"
        ]
    );
}
