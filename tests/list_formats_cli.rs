//! Every exchange format end to end: `vigie index build` on each sample list, then `vigie
//! scan` of the sample test files finds exactly the files the list names; `vigie hash
//! --format vics|te-csv|hashdeep|nsrl` output read back gives the same hashes; hostile lists
//! (truncated SQLite, JSON cut mid-record, a 10 MB CSV line) give clear errors naming the
//! list, and nothing panics.

mod common;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use vigie::lists::{read_list, ListHash};

fn list(name: &str) -> PathBuf {
    fixtures().join("lists").join(name)
}

fn testfiles() -> PathBuf {
    fixtures().join("samples/testfiles")
}

/// Files under `testfiles/` that a scan against `idx` reports, as relative paths.
fn scan_hits(idx: &Path, extra: &[&str]) -> BTreeSet<String> {
    let root = testfiles();
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("scan"),
        OsStr::new("-q"),
        OsStr::new("-i"),
        idx.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    args.push(root.as_os_str());
    let o = run(&args);
    assert!(matches!(code(&o), 0 | 1), "{}", stderr(&o));
    let prefix = format!("{}/", root.display());
    jsonl(&o.stdout)
        .iter()
        .map(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .strip_prefix(&prefix)
                .unwrap()
                .to_string()
        })
        .collect()
}

fn set(files: &[&str]) -> BTreeSet<String> {
    files.iter().map(|s| s.to_string()).collect()
}

fn build(dir: &Path, lists: &[&OsStr]) -> (PathBuf, std::process::Output) {
    let idx = dir.join("x.idx");
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("index"),
        OsStr::new("build"),
        OsStr::new("-o"),
        idx.as_os_str(),
    ];
    args.extend_from_slice(lists);
    (idx.clone(), run(&args))
}

#[test]
fn scan_against_each_format_finds_exactly_the_files_it_names() {
    let all = [
        "empty.dat",
        "hello.txt",
        "notes with space.txt",
        "sub/shapes.png",
        "sub/shapes_resized.jpg",
    ];
    let cases: &[(&str, &str, &[&str])] = &[
        ("NSRLFile.txt", "nsrl", &all),
        (
            "NSRLFile-format1.5.txt",
            "nsrl",
            &["empty.dat", "hello.txt"],
        ),
        ("RDS_sample_full.db", "rdsv3", &all),
        ("RDS_sample_minimal.db", "rdsv3", &all),
        (
            "vics-2.0-media.json",
            "vics",
            &["hello.txt", "sub/shapes.png", "sub/shapes_resized.jpg"],
        ),
        (
            "vics-1.3-cases.json",
            "vics",
            &["notes with space.txt", "sub/shapes.png"],
        ),
        // The MD5 row of notes is a tombstone (deleted: true).
        ("tcap_hash_list_page.json", "tcap", &["sub/shapes.png"]),
        ("stopncii_fetchhashes.json", "stopncii", &["sub/shapes.png"]),
        ("simple.HASH_PDQ.te", "te-legacy", &["sub/shapes.png"]),
        ("hma.simple.HASH_PDQ.te", "te-legacy", &["sub/shapes.png"]),
        (
            "pdq-photo-hasher.csv",
            "pdq-hasher",
            &["sub/shapes.png", "sub/shapes_resized.jpg"],
        ),
        ("sha1-hashset.txt", "xways", &all),
        ("md5-hashset.txt", "xways", &all),
        ("sample_v6.hash", "encase", &all),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, format, expected) in cases {
        let path = list(name);
        let (idx, o) = build(dir.path(), &[path.as_os_str()]);
        assert_eq!(code(&o), 0, "{name}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(&format!("{format} format")), "{name}: {err}");
        assert!(err.contains("malformed lines: 0"), "{name}: {err}");
        // Threshold 0: a PDQ entry names one image exactly (the resized copy, 22 bits away,
        // is the perceptual tests' business).
        let hits = scan_hits(&idx, &["--pdq-threshold", "0"]);
        assert_eq!(hits, set(expected), "{name}");
    }
}

#[test]
fn labels_from_the_list_reach_the_hits() {
    let dir = tempfile::tempdir().unwrap();
    let (idx, o) = build(dir.path(), &[list("vics-2.0-media.json").as_os_str()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let root = testfiles();
    let o = run(argv![
        "scan",
        "-q",
        "-i",
        idx,
        root.join("sub/shapes_resized.jpg")
    ]);
    let labels: BTreeSet<String> = jsonl(&o.stdout)
        .iter()
        .map(|r| r["label"].as_str().unwrap().to_string())
        .collect();
    // Its own MD5/SHA1 (Category 4), and the PDQ of shapes.png (Category 0) 22 bits away.
    assert_eq!(labels, set(&["category 0", "category 4"]));
}

#[test]
fn format_option_forces_a_format_per_list() {
    let dir = tempfile::tempdir().unwrap();
    let x = list("sha1-hashset.txt");
    let m = list("md5-hashset.txt");
    let (_, o) = build(
        dir.path(),
        &[
            OsStr::new("--format"),
            OsStr::new("plain"),
            x.as_os_str(),
            m.as_os_str(),
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    // Forced plain: the `SHA-1` header line is a malformed line; the next list is detected.
    assert!(
        err.contains(
            "plain format, blocklist, label \"sha1-hashset\", entries: sha1 5, pdq: 0, malformed lines: 1"
        ),
        "{err}"
    );
    assert!(err.contains("sha1-hashset.txt:1: "), "{err}");
    assert!(
        err.contains("xways format, blocklist, label \"md5-hashset\""),
        "{err}"
    );
    let (_, o) = build(
        dir.path(),
        &[OsStr::new("--format"), OsStr::new("bogus"), x.as_os_str()],
    );
    assert_eq!(code(&o), 2);
    // Refused by the argument parser, which lists the formats it knows.
    let err = stderr(&o);
    assert!(err.contains("invalid value 'bogus'"), "{err}");
    assert!(err.contains("te-csv, nsrl, rdsv3, vics"), "{err}");
}

/// The hashes a list holds, as (kind, hex) pairs.
fn read_back(path: &Path) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    read_list(
        path,
        None,
        |e| {
            out.insert(match e.hash {
                ListHash::Exact(d) => (d.algo().name().to_string(), d.to_hex()),
                ListHash::Pdq(p) => ("pdq".to_string(), p.to_string()),
                ListHash::Img(k, h) => (k.name().to_string(), h.to_hex()),
                ListHash::Vpdq(f) => {
                    let frames: Vec<String> = f.iter().map(|f| f.to_signal()).collect();
                    ("vpdq".to_string(), frames.join(" "))
                }
            });
        },
        |p| panic!("{}:{}: {}", path.display(), p.line, p.reason),
    )
    .unwrap();
    out
}

/// The hashes `vigie hash --format jsonl` gives for the test files, for `keys`.
fn computed(keys: &[&str]) -> BTreeSet<(String, String)> {
    let root = testfiles();
    let o = run(argv!["hash", "-q", "--algo", "md5,sha1,sha256,pdq", root]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mut out = BTreeSet::new();
    for r in jsonl(&o.stdout) {
        for k in keys {
            if let Some(v) = r[*k].as_str() {
                out.insert((k.to_string(), v.to_string()));
            }
        }
    }
    out
}

#[test]
fn written_lists_read_back_to_the_same_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let root = testfiles();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "vics",
            "md5,sha1,sha256,pdq",
            &["md5", "sha1", "sha256", "pdq"],
        ),
        ("te-csv", "md5,sha256,pdq", &["md5", "sha256", "pdq"]),
        ("hashdeep", "md5,sha1,sha256", &["md5", "sha1", "sha256"]),
        ("nsrl", "md5,sha1", &["md5", "sha1"]),
    ];
    for (format, algos, keys) in cases {
        let out = dir.path().join(format!("out.{format}"));
        let o = run(argv![
            "hash", "-q", "-f", format, "--algo", algos, "-o", out, root
        ]);
        assert_eq!(code(&o), 0, "{format}: {}", stderr(&o));
        let want = computed(keys);
        assert!(want.len() >= 10, "{format}: {want:?}");
        assert_eq!(read_back(&out), want, "{format}");
    }
}

#[test]
fn written_names_survive_the_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let root = testfiles();
    for format in ["vics", "nsrl"] {
        let out = dir.path().join(format!("names.{format}"));
        let o = run(argv!["hash", "-q", "-f", format, "-o", out, root]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let mut names = BTreeSet::new();
        read_list(
            &out,
            None,
            |e| {
                names.insert(String::from_utf8(e.name.unwrap().into_owned()).unwrap());
            },
            |p| panic!("{p:?}"),
        )
        .unwrap();
        assert_eq!(
            names,
            set(&[
                "empty.dat",
                "hello.txt",
                "notes with space.txt",
                "shapes.png",
                "shapes_resized.jpg"
            ]),
            "{format}"
        );
    }
}

fn assert_no_panic(o: &std::process::Output) {
    let err = stderr(o);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(code(o), 101, "{err}");
}

#[test]
fn truncated_sqlite_is_an_error_naming_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let db = fs::read(list("RDS_sample_full.db")).unwrap();
    let cut = dir.path().join("RDS_cut.db");
    fs::write(&cut, &db[..db.len() / 2]).unwrap();
    let (_, o) = build(dir.path(), &[cut.as_os_str()]);
    assert_no_panic(&o);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(err.contains(&format!("{}: ", cut.display())), "{err}");
    assert!(err.contains("SQLite"), "{err}");
}

#[test]
fn vics_cut_mid_record_names_list_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read(list("vics-2.0-media.json")).unwrap();
    let cut_at = text.len() * 2 / 3;
    let cut = dir.path().join("vics-cut.json");
    fs::write(&cut, &text[..cut_at]).unwrap();
    let line = 1 + text[..cut_at].iter().filter(|&&b| b == b'\n').count();
    let (_, o) = build(dir.path(), &[cut.as_os_str()]);
    assert_no_panic(&o);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{}:{line}: JSON: ", cut.display())),
        "{err}"
    );
    assert!(err.contains("truncated"), "{err}");
    let (_, o) = build(dir.path(), &[OsStr::new("--strict"), cut.as_os_str()]);
    assert_no_panic(&o);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("vics-cut.json"), "{}", stderr(&o));
}

#[test]
fn seventeen_megabyte_csv_line_is_reported_and_the_rest_read() {
    // (A ThreatExchange CSV line may hold a long vPDQ signal: its bound is 16 MiB.)
    let dir = tempfile::tempdir().unwrap();
    let mut text = fs::read(list("dataset_export.csv")).unwrap();
    text.extend(std::iter::repeat_n(b'A', 17 << 20));
    text.extend_from_slice(b"\r\nvideo_md5,6f5902ac237024bdd0c176cb93063dc4,c,POSITIVE_CLASS,\r\n");
    let p = dir.path().join("big.csv");
    fs::write(&p, &text).unwrap();
    let (idx, o) = build(dir.path(), &[p.as_os_str()]);
    assert_no_panic(&o);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("malformed lines: 1"), "{err}");
    assert!(
        err.contains(&format!("{}:5: record longer than 16 MiB", p.display())),
        "{err}"
    );
    assert!(scan_hits(&idx, &[]).contains("hello.txt"));
}

/// A list read from a pipe (`/dev/stdin`, `<(...)`) keeps its first bytes: `index build`
/// used to read 8 of them to tell a Bloom filter, and the list reader then saw the line
/// without its first 8 hex digits (found while seeding the fuzz corpus, fuzz/seed.sh).
#[test]
fn index_build_reads_a_list_from_a_pipe_whole() {
    use std::io::Write;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("piped.vigie");
    let mut child = vigie()
        .args([
            OsStr::new("index"),
            OsStr::new("build"),
            OsStr::new("-q"),
            OsStr::new("-o"),
        ])
        .arg(&index)
        .arg("/dev/stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"6f5902ac237024bdd0c176cb93063dc4  hello.txt\n")
        .unwrap();
    let out = wait_within(child, 60, "index build from a pipe");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(argv!["index", "info", "--json", index]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["lists"][0]["entries"]["md5"], 1, "{info}");
}
