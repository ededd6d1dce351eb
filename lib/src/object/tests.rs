use super::*;

fn md5_hex(kind: HashKind, data: &[u8]) -> String {
    let (digest, len) = hash_reader(kind, data).expect("in-memory read");
    assert_eq!(len, data.len() as u64);
    hex::encode(digest)
}

#[test]
fn md5_of_known_contents() {
    assert_eq!(
        md5_hex(HashKind::Md5, b""),
        "d41d8cd98f00b204e9800998ecf8427e"
    );
    assert_eq!(
        md5_hex(HashKind::Md5, b"hello\n"),
        "b1946ac92492d2347c6235b4d2611184"
    );
    assert_eq!(
        md5_hex(HashKind::Md5, b"l1\r\nl2\r\n"),
        "4041ef51b49d603630919f4ecb5a645b"
    );
}

#[test]
fn dos2unix_converts_crlf_in_text() {
    assert_eq!(
        md5_hex(HashKind::Md5Dos2Unix, b"line1\r\nline2\r\n"),
        "4fcc82a88ee38e0aa16c17f512c685c9"
    );
    assert_eq!(
        md5_hex(HashKind::Md5Dos2Unix, b"l1\r\nl2\r\n"),
        "a8be9e797e0f7e75b498d90413d9a7ad"
    );
    assert_eq!(
        md5_hex(HashKind::Md5Dos2Unix, b"hello\n"),
        "b1946ac92492d2347c6235b4d2611184"
    );
}

#[test]
fn dos2unix_decides_per_megabyte_chunk() {
    // First chunk: binary (starts with NUL) and ends with a lone CR; second chunk: text
    // that starts with the LF completing that CR, so the pair is not converted.
    let mut data = Vec::with_capacity(2 << 20);
    data.push(0u8);
    data.extend(std::iter::repeat_n(b'x', (1 << 20) - 2));
    data.push(b'\r');
    data.push(b'\n');
    for _ in 0..174_762 {
        data.extend_from_slice(b"line\r\n");
    }
    data.resize(2 << 20, b'y');
    assert_eq!(
        md5_hex(HashKind::Md5Dos2Unix, &data),
        "41d44480f06eb667fc22300899aeb983"
    );

    // Feeding the same bytes in odd-sized pieces gives the same digest.
    let mut hasher = Hasher::new(HashKind::Md5Dos2Unix);
    for piece in data.chunks(7919) {
        hasher.update(piece);
    }
    assert_eq!(
        hex::encode(hasher.finish()),
        "41d44480f06eb667fc22300899aeb983"
    );
}

#[test]
fn object_id_parses_and_formats() {
    let id = ObjectId::parse("055303E043F057F23BDF0F08F469A797.dir").expect("valid id");
    assert!(id.is_dir());
    assert_eq!(id.to_string(), "055303e043f057f23bdf0f08f469a797.dir");
    let file = ObjectId::parse("b1946ac92492d2347c6235b4d2611184").expect("valid id");
    assert!(!file.is_dir());
}

#[test]
fn object_id_rejects_bad_values() {
    for bad in [
        "",
        "abc",
        "b1946ac92492d2347c6235b4d261118g",
        "b1946ac92492d2347c6235b4d2611184.dirx",
        "../946ac92492d2347c6235b4d2611184",
    ] {
        assert!(ObjectId::parse(bad).is_err(), "{bad:?} was accepted");
    }
}

#[test]
fn layout_paths_follow_dvc() {
    let id = ObjectId::parse("b1946ac92492d2347c6235b4d2611184").expect("valid id");
    assert_eq!(
        ObjectKey::new(HashKind::Md5, id).layout_path(),
        "files/md5/b1/946ac92492d2347c6235b4d2611184"
    );
    assert_eq!(
        ObjectKey::new(HashKind::Md5Dos2Unix, id.as_dir()).layout_path(),
        "b1/946ac92492d2347c6235b4d2611184.dir"
    );
}
