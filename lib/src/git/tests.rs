use super::*;

#[test]
fn porcelain_maps_each_destination() {
    let stdout = "To /tmp/origin.git\n\
        *\trefs/exps/b5/x/exp-a:refs/exps/b5/x/exp-a\t[new reference]\n\
        !\t0123:refs/exps/b5/x/exp-b\t[rejected] (non-fast-forward)\n\
        =\trefs/heads/main:refs/heads/main\t[up to date]\n\
        Done\n";
    let statuses = parse_porcelain(stdout);
    assert_eq!(statuses.len(), 3);
    assert_eq!(statuses[0].dst, "refs/exps/b5/x/exp-a");
    assert_eq!(statuses[0].flag, '*');
    assert_eq!(statuses[1].dst, "refs/exps/b5/x/exp-b");
    assert_eq!(statuses[1].flag, '!');
    assert_eq!(statuses[1].summary, "[rejected] (non-fast-forward)");
    assert_eq!(statuses[2].flag, '=');
}

#[test]
fn metafile_names() {
    assert!(is_metafile_name(b"dvc.lock"));
    assert!(is_metafile_name(b"dvc.yaml"));
    assert!(is_metafile_name(b"raw.dvc"));
    assert!(!is_metafile_name(b".dvc"));
    assert!(!is_metafile_name(b"dvc.yml"));
    assert!(!is_metafile_name(b"params.yaml"));
}

#[test]
fn shown_args_hide_url_passwords() {
    let args = [
        "ls-remote",
        "--symref",
        "--",
        "https://me:pass-1234@127.0.0.1:9/repo.git",
        "refs/exps/*",
    ];
    assert_eq!(
        shown_args(&args),
        "ls-remote --symref -- https://me:***@127.0.0.1:9/repo.git refs/exps/*"
    );
}
