//! `vigie index build` / `index info` / `scan`: round trips through vigie's own list
//! formats, interop with the real hashdeep, the record schema, summary and exit statuses.

mod common;

use std::ffi::OsStr;
use std::fs;
use std::path::PathBuf;

use common::*;
use serde_json::Value;

/// A dump: a directory tree with a tar and a compressed tar inside.
fn dump() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("dump");
    fs::create_dir_all(root.join("a/b")).unwrap();
    fs::write(root.join("a/one.txt"), b"one\n").unwrap();
    fs::write(root.join("a/b/two words.txt"), b"two\n").unwrap();
    fs::write(root.join("big.bin"), vec![7u8; 300_000]).unwrap();
    fs::copy(fixtures().join("tar/pax.tar"), root.join("a/shard.tar")).unwrap();
    fs::copy(fixtures().join("tar/gnu.tar"), root.join("a/b/shard2.bin")).unwrap();
    fs::copy(
        fixtures().join("tar/pax.tar.zst"),
        root.join("shard3.tar.zst"),
    )
    .unwrap();
    (dir, root)
}

#[test]
fn hash_list_index_scan_round_trip_finds_every_item() {
    let (dir, root) = dump();
    let list = dir.path().join("all.sha256");
    let out = run(argv![
        "hash",
        "-q",
        "--format",
        "sha256sum",
        "-o",
        list,
        root
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let items = fs::read(&list)
        .unwrap()
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    // 3 plain files + 9 members in each of the three archives.
    assert!(items >= 3 + 3 * 8, "{items}");

    let index = dir.path().join("all.vigie");
    let out = run(argv![
        "index", "build", "-o", index, "--name", "case-42", "--label", "seized", list
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let summary = dir.path().join("summary.json");
    let out = run(argv![
        "scan",
        "-q",
        "--index",
        index,
        "--summary",
        summary,
        root
    ]);
    assert_eq!(code(&out), 1, "matches found → exit 1: {}", stderr(&out));
    let hits = jsonl(&out.stdout);
    let s: Value = serde_json::from_slice(&fs::read(&summary).unwrap()).unwrap();
    assert_eq!(s["items"].as_u64().unwrap() as usize, items);
    assert_eq!(
        s["matched"].as_u64().unwrap() as usize,
        items,
        "every item matches"
    );
    assert_eq!(s["clean"], 0);
    assert_eq!(s["failed"], 0);
    // Identical contents (the same fixture in three archives) each produce their own hit.
    assert_eq!(hits.len(), items);
    for h in &hits {
        assert_eq!(h["verdict"], "match");
        assert_eq!(h["algorithm"], "sha256");
        assert_eq!(h["list"], "case-42");
        assert_eq!(h["label"], "seized");
        assert_eq!(h["distance"], 0);
        assert_eq!(h["hash"].as_str().unwrap().len(), 64);
    }
}

#[test]
fn scan_reports_which_list_and_label_and_all_verdicts() {
    let (dir, root) = dump();
    // Two lists: one sha256 (plain), one md5sum file; "one.txt" is in both.
    let l1 = dir.path().join("terror.txt");
    let one_sha = String::from_utf8(tool("sha256sum", &[root.join("a/one.txt").as_os_str()]))
        .unwrap()[..64]
        .to_string();
    let one_md5 = String::from_utf8(tool("md5sum", &[root.join("a/one.txt").as_os_str()])).unwrap()
        [..32]
        .to_string();
    fs::write(&l1, format!("# known items\n{one_sha}\n")).unwrap();
    let l2 = dir.path().join("partner.md5");
    fs::write(&l2, format!("{one_md5}  whatever/name.txt\n")).unwrap();
    let index = dir.path().join("i.vigie");
    let out = run(argv![
        "index",
        "build",
        "-q",
        "-o",
        index,
        l1,
        "--label",
        "partner-feed",
        l2
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let out = run(argv![
        "scan",
        "-q",
        "--all",
        "-i",
        index,
        root,
        "/nonexistent/x"
    ]);
    assert_eq!(
        code(&out),
        1,
        "a match wins over a failed item → exit 1 (the summary counts the failure)"
    );
    let recs = jsonl(&out.stdout);
    let hits: Vec<&Value> = recs.iter().filter(|r| r["verdict"] == "match").collect();
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert!(hits
        .iter()
        .any(|h| h["list"] == "terror" && h["label"] == "terror" && h["algorithm"] == "sha256"));
    assert!(hits.iter().any(|h| h["list"] == "partner"
        && h["label"] == "partner-feed"
        && h["algorithm"] == "md5"
        && h["hash"] == one_md5.as_str()));
    assert!(hits
        .iter()
        .all(|h| h["path"].as_str().unwrap().ends_with("a/one.txt") && h.get("member").is_none()));
    let failed: Vec<&Value> = recs.iter().filter(|r| r["verdict"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["error_kind"], "open");
    let clean = recs.iter().filter(|r| r["verdict"] == "clean").count();
    assert!(clean > 20);

    // CSV: same records, fixed header.
    let out = run(argv![
        "scan", "-q", "--all", "--format", "csv", "-i", index, root
    ]);
    assert_eq!(code(&out), 1);
    let mut rdr = csv::Reader::from_reader(&out.stdout[..]);
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        vigie::report::wire::SCAN_CSV_HEADER.to_vec()
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.iter().filter(|r| &r[0] == "match").count(), 2);
    assert_eq!(rows.len(), 2 + clean);
}

#[test]
fn clean_scan_exits_zero_and_scan_list_compiles_in_memory() {
    let (dir, root) = dump();
    let l = dir.path().join("nothing.sha1");
    fs::write(&l, "0000000000000000000000000000000000000000\n").unwrap();
    let out = run(argv!["scan", "-q", "--list", l, root]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn index_build_reports_malformed_lines_and_strict_makes_them_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let l = dir.path().join("mixed.txt");
    let mut text = String::from("6f5902ac237024bdd0c176cb93063dc4\n");
    for i in 0..25 {
        text.push_str(&format!("bad line {i}\n"));
    }
    fs::write(&l, &text).unwrap();
    let index = dir.path().join("i.vigie");
    let out = run(argv!["index", "build", "-o", index, l]);
    assert_eq!(code(&out), 0);
    let err = stderr(&out);
    let prefix = format!("vigie: {}:", l.display());
    let shown: Vec<&str> = err
        .lines()
        .filter(|line| {
            line.strip_prefix(&prefix)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    assert_eq!(shown.len(), 20, "the first 20 are shown: {err}");
    assert!(shown[0].contains(&format!("{}:2: ", l.display())), "{err}");
    assert!(err.contains("malformed lines: 25"), "{err}");
    assert!(err.contains("5 more malformed lines not shown"), "{err}");
    let info = run(argv!["index", "info", "--json", "--verify", index]);
    assert_eq!(code(&info), 0);
    let v: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(v["lists"][0]["malformed"], 25);
    assert_eq!(v["lists"][0]["entries"]["md5"], 1);

    let strict = dir.path().join("s.vigie");
    let out = run(argv!["index", "build", "--strict", "-o", strict, l]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains(&format!("{}:2: ", l.display())));
    assert!(!strict.exists(), "no index is written on a strict failure");
}

#[test]
fn corrupt_index_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("x.vigie");
    fs::write(&index, b"VIGIEIDX but far too short").unwrap();
    let out = run(argv!["scan", "-q", "-i", index, dir.path()]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("cannot open index"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn hashdeep_file_written_by_vigie_audits_clean_with_real_hashdeep() {
    let (dir, root) = dump();
    let known = dir.path().join("known.hashdeep");
    let out = run(argv![
        "hash",
        "-q",
        "--no-archives",
        "--format",
        "hashdeep",
        "--algo",
        "md5,sha1,sha256",
        "-o",
        known,
        root
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = fs::read_to_string(&known).unwrap();
    assert!(
        text.starts_with("%%%% HASHDEEP-1.0\n%%%% size,md5,sha1,sha256,filename\n"),
        "{text}"
    );
    let audit = std::process::Command::new("hashdeep")
        .args([
            OsStr::new("-a"),
            OsStr::new("-vv"),
            OsStr::new("-k"),
            known.as_os_str(),
            OsStr::new("-r"),
            root.as_os_str(),
        ])
        .output()
        .expect("hashdeep must be installed (scripts/test.sh installs it)");
    let said = String::from_utf8_lossy(&audit.stdout);
    assert!(
        audit.status.success() && said.contains("Audit passed"),
        "{said}{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    assert!(said.contains("Files matched: 6"), "{said}");

    // The same file read back as a list by vigie matches every file.
    let out = run(argv!["scan", "-q", "--no-archives", "--list", known, root]);
    assert_eq!(code(&out), 1);
    let hits = jsonl(&out.stdout);
    // md5, sha1 and sha256 each hit for each of the 6 files.
    assert_eq!(hits.len(), 18);
}
