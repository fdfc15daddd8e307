//! Lists and indexes that yield nothing are errors, not "all clean" (issue 16): `index
//! build`, `scan --list` and `scan --index` refuse them unless `--allow-empty`, and `vigie
//! match` refuses a query list whose hash type the index holds none of.

mod common;

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};

use common::*;

const HELLO_MD5: &str = "6f5902ac237024bdd0c176cb93063dc4";
/// 64 hex digits (made up): a PDQ hash on a `pdq` signal line, a sha256 on a bare line.
const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

/// Writes the lists none of whose lines give a hash, as people meet them: an `xxhsum --tag`
/// list of XXH3 (64-bit) hashes, the same gzipped (a compressed list is read as it is, issue
/// 20 point 2: still nothing), an `MD5,FileName` CSV, an empty file, random bytes, and a
/// vigie index given as a list.
fn bad_lists(dir: &Path) -> Vec<PathBuf> {
    let w = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"XXH3 (hello.txt) = 0123456789abcdef\n")
        .unwrap();
    // The same "random" bytes every run.
    let random = XorShift(0x9E37_79B9_7F4A_7C15).bytes(4096, |w| (w >> 24) as u8);
    let good = w("good.md5", format!("{HELLO_MD5}  hello.txt\n").as_bytes());
    let index = dir.join("good.vigie");
    let o = run(argv!["index", "build", "-q", "-o", index, good]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    vec![
        w("hashes.xxh3", b"XXH3 (hello.txt) = 0123456789abcdef\n"),
        w("hashes.xxh3.gz", &gz.finish().unwrap()),
        w(
            "hashes.csv",
            format!("MD5,FileName\n{HELLO_MD5},hello.txt\n").as_bytes(),
        ),
        w("empty.txt", b""),
        w("random.bin", &random),
        index,
    ]
}

#[test]
fn index_build_and_scan_list_refuse_a_list_that_yields_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let target = d.join("hello.txt");
    std::fs::write(&target, b"hello\n").unwrap();
    let out = d.join("out.vigie");
    for list in bad_lists(d) {
        let l = list.as_os_str();
        let o = run(argv!["index", "build", "-o", out, l]);
        let err = stderr(&o);
        assert_eq!(code(&o), 2, "{}: {err}", list.display());
        assert!(
            err.contains(&format!("{}: no hash found", list.display())),
            "{err}"
        );
        assert!(err.contains("--allow-empty"), "{err}");
        assert!(!out.exists(), "{}", list.display());
        for flag in ["--list", "--allow"] {
            let o = run(argv!["scan", "-q", flag, l, target]);
            assert_eq!(code(&o), 2, "{flag} {}: {}", list.display(), stderr(&o));
            assert!(stderr(&o).contains("no hash found"), "{}", stderr(&o));
            assert!(o.stdout.is_empty());
        }
        // Said to be fine.
        let o = run(argv!["index", "build", "-q", "--allow-empty", "-o", out, l]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert!(out.exists());
        std::fs::remove_file(&out).unwrap();
        let o = run(argv!["scan", "-q", "--allow-empty", "--list", l, target]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
}

#[test]
fn scan_refuses_an_index_that_holds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let target = d.join("hello.txt");
    std::fs::write(&target, b"hello\n").unwrap();
    let empty = d.join("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    let index = d.join("empty.vigie");
    let o = run(argv![
        "index",
        "build",
        "-q",
        "--allow-empty",
        "-o",
        index,
        empty
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(argv!["scan", "-q", "--index", index, target]);
    let err = stderr(&o);
    assert_eq!(code(&o), 2, "{err}");
    assert!(
        err.contains(&format!("{}: the index holds no entry", index.display())),
        "{err}"
    );
    assert!(o.stdout.is_empty());
    let o = run(argv![
        "scan",
        "-q",
        "--allow-empty",
        "--index",
        index,
        target
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn match_refuses_hashes_the_index_cannot_match_and_empty_lists() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A PDQ-only index, from a ThreatExchange signal file.
    let signals = d.join("signals.txt");
    std::fs::write(&signals, format!("pdq {PDQ}\n")).unwrap();
    let index = d.join("pdq.vigie");
    let o = run(argv!["index", "build", "-q", "-o", index, signals]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The partner's bare PDQ hashes, read as sha256 unless declared.
    let queries = d.join("queries.txt");
    std::fs::write(&queries, format!("{PDQ}\n")).unwrap();
    let m = |extra: &[&OsStr], list: &Path| {
        let mut a: Vec<&OsStr> = vec!["match".as_ref(), "-q".as_ref(), "--index".as_ref()];
        a.push(index.as_os_str());
        a.extend_from_slice(extra);
        a.push(list.as_os_str());
        run(a)
    };
    let o = m(&[], &queries);
    let err = stderr(&o);
    assert_eq!(code(&o), 2, "{err}");
    assert!(
        err.contains(&format!(
            "{}: its sha256 hashes cannot match: the index holds no sha256 entry (it holds: pdq)",
            queries.display()
        )),
        "{err}"
    );
    assert!(o.stdout.is_empty());
    let o = m(&["--type".as_ref(), "pdq".as_ref()], &queries);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(jsonl(&o.stdout).len(), 1);
    // A query list that yields nothing.
    for list in bad_lists(d) {
        let o = m(&["--type".as_ref(), "pdq".as_ref()], &list);
        let err = stderr(&o);
        assert_eq!(code(&o), 2, "{}: {err}", list.display());
        assert!(
            err.contains(&format!("{}: no hash found", list.display())),
            "{err}"
        );
    }
}
