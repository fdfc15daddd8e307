//! `vigie index build --dry-run`: what lists hold and what their index would, without writing it.

mod common;
use common::{code, run};

/// Each list's format, entries per type and malformed lines on stderr; the would-be index as
/// `index info` prints it on stdout; nothing written.
#[test]
fn dry_run_reports_lists_and_the_index_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("mixed.txt");
    std::fs::write(
        &bad,
        "d41d8cd98f00b204e9800998ecf8427e\nnot a hash\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nzz\n",
    )
    .unwrap();
    let o = run([
        "index",
        "build",
        "--dry-run",
        bad.to_str().unwrap(),
        "fixtures/lists/SHA256SUMS",
    ]);
    assert_eq!(code(&o), 0, "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("plain format"), "{err}");
    assert!(err.contains("coreutils format"), "{err}");
    assert!(err.contains("malformed lines: 2"), "{err}");
    assert!(err.contains("mixed.txt:2:"), "{err}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("vigie index v"), "{out}");
    assert!(out.contains("2 list(s)"), "{out}");
    // Nothing but the list in the directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    // The same as JSON, and its counts are those of the index a build writes.
    let j = run([
        "index",
        "build",
        "--dry-run",
        "--json",
        "-q",
        bad.to_str().unwrap(),
        "fixtures/lists/SHA256SUMS",
    ]);
    assert_eq!(code(&j), 0);
    let doc: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    let lists = doc["lists"].as_array().unwrap();
    assert_eq!(lists.len(), 2);
    assert_eq!(lists[0]["format"], "plain");
    assert_eq!(lists[0]["malformed"], 2);
    assert_eq!(lists[0]["entries"]["md5"], 1);
    assert_eq!(lists[0]["entries"]["sha256"], 1);
    let idx = dir.path().join("real.vigie");
    let b = run([
        "index",
        "build",
        "-q",
        "-o",
        idx.to_str().unwrap(),
        bad.to_str().unwrap(),
        "fixtures/lists/SHA256SUMS",
    ]);
    assert_eq!(code(&b), 0);
    let info = run(["index", "info", "--json", idx.to_str().unwrap()]);
    let written: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(doc["index"]["distinct"], written["distinct"]);
    assert_eq!(doc["index"]["file_size"], written["file_size"]);
}

/// --strict makes a malformed line fatal in a dry run as in a build; -o and --dry-run
/// exclude each other.
#[test]
fn dry_run_keeps_strict_and_refuses_an_output() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "d41d8cd98f00b204e9800998ecf8427e\nnot a hash\n").unwrap();
    let o = run([
        "index",
        "build",
        "--dry-run",
        "--strict",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.txt:2"));
    let o = run([
        "index",
        "build",
        "--dry-run",
        "-o",
        dir.path().join("x").to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);
    assert!(!dir.path().join("x").exists());
}
