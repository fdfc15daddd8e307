//! Chain of custody in the run summary: the build, the command line, start and end (UTC),
//! and the index by path, size, SHA-256 (as sha256sum prints it) and format version.

mod common;
use common::{code, jsonl, run};

fn utc_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
        && s.chars().filter(char::is_ascii_digit).count() == 14
}

fn read(p: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn summaries_name_the_build_the_command_the_times_and_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("ex.vigie");
    let idx_s = idx.to_str().unwrap();
    let o = run([
        "index",
        "build",
        "-q",
        "-o",
        idx_s,
        "fixtures/example/lists/known-bad.sha256",
    ]);
    assert_eq!(code(&o), 0);
    let summary = dir.path().join("s.json");
    let s_path = summary.to_str().unwrap();
    let args = [
        "scan",
        "-q",
        "-i",
        idx_s,
        "--summary",
        s_path,
        "fixtures/example/dump",
    ];
    assert_eq!(code(&run(args)), 1);
    let c = &read(&summary)["custody"];
    assert_eq!(c["vigie"], env!("CARGO_PKG_VERSION"));
    let commit = c["commit"].as_str().unwrap();
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{commit}"
    );
    assert!(c["features"].is_array());
    let command: Vec<&str> = c["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(command[0].ends_with("vigie"), "{command:?}");
    assert_eq!(command[1..], args);
    let (start, end) = (
        c["started_utc"].as_str().unwrap(),
        c["finished_utc"].as_str().unwrap(),
    );
    assert!(
        utc_ok(start) && utc_ok(end) && start <= end,
        "{start} {end}"
    );
    // The index, named as sha256sum names it.
    let sum = std::process::Command::new("sha256sum")
        .arg(&idx)
        .output()
        .unwrap();
    let want = String::from_utf8(sum.stdout).unwrap();
    assert_eq!(
        c["indexes"][0]["sha256"],
        want.split_whitespace().next().unwrap()
    );
    assert_eq!(c["indexes"][0]["path"], idx_s);
    assert_eq!(
        c["indexes"][0]["bytes"],
        std::fs::metadata(&idx).unwrap().len()
    );
    assert!(c["indexes"][0]["format_version"].as_u64().unwrap() >= 3);
    assert!(c["indexes"][0].get("verified_with_key").is_none());

    // match and hash summaries carry it too (hash: no index); so does the JSONL summary
    // record.
    let o = run([
        "match",
        "-q",
        "-i",
        idx_s,
        "--summary",
        s_path,
        "fixtures/example/lists/known-bad.sha256",
    ]);
    assert_eq!(code(&o), 1);
    assert_eq!(
        read(&summary)["custody"]["indexes"][0]["sha256"],
        c["indexes"][0]["sha256"]
    );
    let o = run([
        "hash",
        "-q",
        "--summary-record",
        "--summary",
        s_path,
        "fixtures/example/dump",
    ]);
    assert_eq!(code(&o), 0);
    let h = &read(&summary)["custody"];
    assert_eq!(h["command"][1], "hash");
    assert!(h.get("indexes").is_none());
    let last = jsonl(&o.stdout).pop().unwrap();
    assert_eq!(last["type"], "summary");
    assert_eq!(last["custody"]["command"][1], "hash");
}
