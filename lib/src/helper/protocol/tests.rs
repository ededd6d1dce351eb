use super::*;

#[test]
fn parses_session_commands() {
    assert_eq!(parse_line(b"capabilities"), Command::Capabilities);
    assert_eq!(
        parse_line(b"list for-push"),
        Command::List { for_push: true }
    );
    assert_eq!(parse_line(b"list"), Command::List { for_push: false });
    assert_eq!(parse_line(b""), Command::Blank);
    assert_eq!(
        parse_line(b"option dry-run true"),
        Command::Option {
            name: "dry-run".into(),
            value: "true".into()
        }
    );
    assert_eq!(
        parse_line(b"fetch 7030ed6e978329b3071754ce2e041241ccdfe8e0 refs/heads/main"),
        Command::Fetch {
            oid: "7030ed6e978329b3071754ce2e041241ccdfe8e0".into(),
            name: "refs/heads/main".into()
        }
    );
    assert_eq!(
        parse_line(b"stateless-connect x"),
        Command::Unknown("stateless-connect x".into())
    );
}

#[test]
fn parses_push_specs() {
    assert_eq!(
        parse_line(b"push +refs/exps/b5/x/e:refs/exps/b5/x/e"),
        Command::Push(PushSpec {
            force: true,
            src: "refs/exps/b5/x/e".into(),
            dst: "refs/exps/b5/x/e".into()
        })
    );
    let delete = parse_line(b"push :refs/exps/b5/x/e");
    match delete {
        Command::Push(spec) => {
            assert!(spec.is_delete());
            assert_eq!(spec.dst, "refs/exps/b5/x/e");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        parse_line(b"push :/n2:refs/exps/x"),
        Command::Push(PushSpec {
            force: false,
            src: ":/n2".into(),
            dst: "refs/exps/x".into()
        })
    );
}

#[test]
fn unquotes_option_values() {
    assert_eq!(
        c_unquote("\"msg=hello world \\303\\251\""),
        "msg=hello world é"
    );
    assert_eq!(c_unquote("plain value"), "plain value");
    assert_eq!(c_unquote("\"a\\\"b\\\\c\\n\""), "a\"b\\c\n");
}

#[test]
fn quotes_multi_line_reasons() {
    assert_eq!(c_quote("simple reason"), "simple reason");
    assert_eq!(
        c_quote("data upload failed:\nbucket denied"),
        "\"data upload failed:\\nbucket denied\""
    );
}
