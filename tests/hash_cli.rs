//! `vigie hash` on plain files with awkward names: digests equal to what md5sum, sha1sum,
//! sha256sum and `xxhsum -H2` print (values recorded from those tools, and checked live).

mod common;

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// (name bytes, content, md5, sha1, sha256, xxh3_128).
type Case = (
    &'static [u8],
    Vec<u8>,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// Files and digests recorded with coreutils 9.1 and xxhsum 0.8.1.
fn corpus() -> Vec<Case> {
    vec![
        (
            b"with space.txt",
            b"hello world\n".to_vec(),
            "6f5902ac237024bdd0c176cb93063dc4",
            "22596363b3de40b06f981fb85d82312e8c0ed511",
            "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447",
            "eefac9d87100cd1336b2e733a5484425",
        ),
        (
            b"new\nline.txt",
            b"line one\nline two\n".to_vec(),
            "987929d61c9b69f0c6406b840aa77fd8",
            "97059669371ed42a72435dc0266a432db4348ccc",
            "e9024f1a07d29d52ad3aa5e1a18e94db1f3a9fd32b89e39d47c472cd99071e13",
            "d5cfe5cb481f017a04487892bf69d9d6",
        ),
        (
            b"caf\xe9 latin1.bin",
            (0..100_000u32)
                .map(|i| ((i * 31 + 7) % 256) as u8)
                .collect(),
            "7354f16d06a013232daa23cfa7a092df",
            "35ab00c96f47c268b087d40d0dcd7245809f0d5c",
            "731620161155f68e1209f22bc34a726bf5a583f40acf23ae55684b674fdbebf2",
            "8ce7a24d31cd94b1ccf90df7e7e37036",
        ),
        (
            b"empty",
            Vec::new(),
            "d41d8cd98f00b204e9800998ecf8427e",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "99aa06d3014798d86001c324468d497f",
        ),
    ]
}

fn make_tree() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tree");
    fs::create_dir_all(root.join("sub")).unwrap();
    for (i, (name, content, ..)) in corpus().into_iter().enumerate() {
        let parent = if i % 2 == 0 {
            root.clone()
        } else {
            root.join("sub")
        };
        fs::write(parent.join(OsStr::from_bytes(name)), content).unwrap();
    }
    (dir, root)
}

fn raw_path(rec: &Value) -> Vec<u8> {
    match rec.get("path_bytes").and_then(Value::as_str) {
        Some(b64) => vigie::report::wire::WireName::decode("", Some(b64)).unwrap(),
        None => rec["path"].as_str().unwrap().as_bytes().to_vec(),
    }
}

#[test]
fn digests_equal_recorded_coreutils_values() {
    let (_d, root) = make_tree();
    let out = run(argv!["hash", "--algo", "all", "-q", root]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let recs = jsonl(&out.stdout);
    assert_eq!(recs.len(), 4);
    for (name, content, md5, sha1, sha256, xxh) in corpus() {
        let rec = recs
            .iter()
            .find(|r| {
                Path::new(OsStr::from_bytes(&raw_path(r)))
                    .file_name()
                    .unwrap()
                    .as_bytes()
                    == name
            })
            .unwrap_or_else(|| panic!("no record for {:?}", String::from_utf8_lossy(name)));
        assert_eq!(rec["md5"], md5);
        assert_eq!(rec["sha1"], sha1);
        assert_eq!(rec["sha256"], sha256);
        assert_eq!(rec["xxh3_128"], xxh);
        assert_eq!(rec["size"], content.len() as u64);
        assert_eq!(rec["offset"], 0);
        assert!(rec.get("member").is_none());
        // The path round-trips exactly, non-UTF-8 bytes included.
        assert!(fs::read(OsStr::from_bytes(&raw_path(rec))).unwrap() == content);
        if std::str::from_utf8(name).is_err() {
            assert!(
                rec.get("path_bytes").is_some(),
                "non-UTF-8 name needs path_bytes: {rec}"
            );
            assert!(rec["path"].as_str().unwrap().contains('\u{fffd}'));
        } else {
            assert!(rec.get("path_bytes").is_none());
        }
    }
}

#[test]
fn sum_formats_equal_live_coreutils_output() {
    let (_d, root) = make_tree();
    for (fmt, tool_name) in [
        ("md5sum", "md5sum"),
        ("sha1sum", "sha1sum"),
        ("sha256sum", "sha256sum"),
    ] {
        let out = run(argv!["hash", "-q", "--format", fmt, root]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let mut ours: Vec<Vec<u8>> = out
            .stdout
            .split_inclusive(|&b| b == b'\n')
            .map(<[u8]>::to_vec)
            .collect();
        ours.sort();
        // The same files in the same spelling through the real tool.
        let mut paths: Vec<PathBuf> = Vec::new();
        for e in walk(&root) {
            paths.push(e);
        }
        let args: Vec<&OsStr> = paths.iter().map(|p| p.as_os_str()).collect();
        let theirs_raw = tool(tool_name, &args);
        let mut theirs: Vec<Vec<u8>> = theirs_raw
            .split_inclusive(|&b| b == b'\n')
            .map(<[u8]>::to_vec)
            .collect();
        theirs.sort();
        assert_eq!(ours, theirs, "{fmt} output differs from {tool_name}");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn csv_has_header_and_one_row_per_item() {
    let (_d, root) = make_tree();
    let out = run(argv![
        "hash",
        "-q",
        "--format",
        "csv",
        "--algo",
        "md5,sha256",
        root
    ]);
    assert_eq!(code(&out), 0);
    let mut rdr = csv::Reader::from_reader(&out.stdout[..]);
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(headers, csv_header(&["md5", "sha256"]));
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4);
    assert!(rows
        .iter()
        .any(|r| &r[6] == "987929d61c9b69f0c6406b840aa77fd8" && r[0].ends_with("new\nline.txt")));
}

#[test]
fn unreadable_and_missing_items_fail_and_the_run_goes_on() {
    let (_d, root) = make_tree();
    let summary = root.parent().unwrap().join("summary.json");
    // /proc/self/mem opens fine and then fails to read at offset 0: a real unreadable file,
    // even for root.
    let out = run(argv![
        "hash",
        "--summary",
        summary,
        "/proc/self/mem",
        "/nonexistent/vigie-test",
        root
    ]);
    assert_eq!(code(&out), 2, "an incomplete run exits 2: {}", stderr(&out));
    let recs = jsonl(&out.stdout);
    assert_eq!(recs.len(), 6);
    let mem = recs.iter().find(|r| r["path"] == "/proc/self/mem").unwrap();
    assert_eq!(mem["error_kind"], "read", "{mem}");
    assert!(
        mem["error"]
            .as_str()
            .unwrap()
            .contains("Input/output error"),
        "{mem}"
    );
    let missing = recs
        .iter()
        .find(|r| r["path"] == "/nonexistent/vigie-test")
        .unwrap();
    assert_eq!(missing["error_kind"], "open");
    assert!(missing["error"].as_str().unwrap().contains("not found"));
    let s: Value = serde_json::from_slice(&fs::read(&summary).unwrap()).unwrap();
    assert_eq!(s["items"], 6);
    assert_eq!(s["hashed"], 4);
    assert_eq!(s["failed"], 2);
    assert_eq!(s["failed_by_reason"]["read"], 1);
    assert_eq!(s["failed_by_reason"]["open"], 1);
    assert!(stderr(&out).contains("6 items"), "{}", stderr(&out));
}

#[test]
fn files_from_stdin_nul_separated() {
    let (_d, root) = make_tree();
    let mut list = Vec::new();
    for p in walk(&root) {
        list.extend_from_slice(p.as_os_str().as_bytes());
        list.push(0);
    }
    let mut child = vigie()
        .args(["hash", "-q", "--algo", "md5", "--files-from", "-", "-0"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&list).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0);
    let recs = jsonl(&out.stdout);
    assert_eq!(recs.len(), 4);
    assert!(recs
        .iter()
        .any(|r| r["md5"] == "987929d61c9b69f0c6406b840aa77fd8"));
}

#[test]
fn output_file_is_written_whole_and_no_temp_left() {
    let (d, root) = make_tree();
    let dest = d.path().join("out.jsonl");
    let out = run(argv!["hash", "-q", "-o", dest, root]);
    assert_eq!(code(&out), 0);
    assert!(out.stdout.is_empty());
    assert_eq!(jsonl(&fs::read(&dest).unwrap()).len(), 4);
    let leftovers: Vec<_> = fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn symlinks_skipped_unless_follow_and_counted() {
    let (d, root) = make_tree();
    std::os::unix::fs::symlink(root.join("with space.txt"), root.join("link")).unwrap();
    let summary = d.path().join("s.json");
    let out = run(argv!["hash", "-q", "--summary", summary, root]);
    assert_eq!(jsonl(&out.stdout).len(), 4);
    let s: Value = serde_json::from_slice(&fs::read(&summary).unwrap()).unwrap();
    assert_eq!(s["skipped"]["symlink"], 1);
    let out = run(argv!["hash", "-q", "--follow", root]);
    assert_eq!(jsonl(&out.stdout).len(), 5);
}

#[test]
fn output_to_a_device_writes_in_place_and_never_replaces_it() {
    let (_d, root) = make_tree();
    let before = fs::metadata("/dev/null").unwrap();
    let out = run(argv!["hash", "-q", "-o", "/dev/null", root]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let after = fs::metadata("/dev/null").unwrap();
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    assert!(after.file_type().is_char_device());
    assert_eq!(before.ino(), after.ino());
    // And a named pipe stays a pipe: read it while vigie writes.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(&fifo).unwrap())
    };
    let out = run(argv!["hash", "-q", "-o", fifo, root]);
    assert_eq!(code(&out), 0);
    assert_eq!(jsonl(&reader.join().unwrap()).len(), 4);
    assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
}
