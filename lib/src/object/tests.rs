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

/// Nine MiB of text lines with CRLF endings, then binary bytes: large enough to be read
/// ahead, with text and binary chunks for `md5-dos2unix`.
fn large_mixed_content() -> Vec<u8> {
    let mut data = Vec::with_capacity(9 << 20);
    let mut line = 0u32;
    while data.len() < 5 << 20 {
        data.extend_from_slice(format!("row {line},value {}\r\n", line * 7).as_bytes());
        line += 1;
    }
    let mut state = 0x2545_f491_u32;
    while data.len() < 9 << 20 {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        data.push(state as u8);
    }
    data
}

#[test]
fn large_files_hash_the_same_when_read_ahead() {
    let data = large_mixed_content();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("large");
    std::fs::write(&path, &data).expect("write");

    for kind in [HashKind::Md5, HashKind::Md5Dos2Unix] {
        let streamed = hash_reader(kind, &data[..]).expect("in-memory read");
        assert_eq!(
            hash_file(kind, &path).expect("hash file"),
            streamed,
            "{kind:?}"
        );
        assert_eq!(
            hash_read_ahead(kind, &data[..]).expect("read ahead"),
            streamed,
            "{kind:?}"
        );
    }
    let (digest, len) = hash_file(HashKind::Md5, &path).expect("hash file");
    assert_eq!(len, 9 << 20);
    let md5sum = std::process::Command::new("md5sum")
        .arg(&path)
        .output()
        .expect("md5sum runs");
    let printed = String::from_utf8_lossy(&md5sum.stdout);
    assert_eq!(
        printed.split_whitespace().next(),
        Some(hex::encode(digest).as_str())
    );
}

/// Yields `chunks` reads of 1000 bytes, an interrupted read before each, then `end`.
struct Scripted {
    chunks: usize,
    interrupt_next: bool,
    end: Option<io::ErrorKind>,
}

impl Read for Scripted {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        self.interrupt_next = !self.interrupt_next;
        if !self.interrupt_next {
            return Err(io::ErrorKind::Interrupted.into());
        }
        if self.chunks == 0 {
            return match self.end {
                Some(kind) => Err(io::Error::new(kind, "the disk went away")),
                None => Ok(0),
            };
        }
        self.chunks -= 1;
        let n = buffer.len().min(1000);
        buffer[..n].fill(b'a');
        Ok(n)
    }
}

#[test]
fn read_ahead_retries_interrupted_reads_and_stops_at_an_error() {
    let reader = Scripted {
        chunks: 7,
        interrupt_next: false,
        end: None,
    };
    let expected = hash_reader(HashKind::Md5, &[b'a'; 7000][..]).expect("in-memory read");
    assert_eq!(
        hash_read_ahead(HashKind::Md5, reader).expect("read ahead"),
        expected
    );

    let failing = Scripted {
        chunks: 5,
        interrupt_next: false,
        end: Some(io::ErrorKind::BrokenPipe),
    };
    let error = hash_read_ahead(HashKind::Md5, failing).expect_err("the read error ends it");
    assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    assert_eq!(error.to_string(), "the disk went away");
}
