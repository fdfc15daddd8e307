//! `--sort path`: records in a fixed order (path, then offset in the file, then member), so
//! that two runs over the same input write the same bytes whatever the threads did.

mod common;
use common::{code, jsonl, run};

/// The sort key of a record, as `--sort path` orders items.
fn key(r: &serde_json::Value) -> (String, u64, String) {
    (
        r["path"].as_str().unwrap().to_string(),
        r["offset"].as_u64().unwrap(),
        r["member"].as_str().unwrap_or_default().to_string(),
    )
}

const INPUTS: [&str; 2] = ["fixtures/example/dump", "fixtures/containers"];

#[test]
fn hash_records_are_in_path_order_and_byte_identical_across_runs() {
    let runs: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            let j = ["1", "2", "4"][i];
            let mut args = vec!["hash", "--sort", "path", "-j", j];
            args.extend(INPUTS);
            let o = run(&args);
            assert!(code(&o) == 0 || code(&o) == 2, "{o:?}");
            o.stdout
        })
        .collect();
    assert_eq!(runs[0], runs[1]);
    assert_eq!(runs[0], runs[2]);
    let records = jsonl(&runs[0]);
    // Tar members, zip members and plain files: dozens of items from both inputs.
    assert!(records.len() > 30, "{}", records.len());
    assert!(records.iter().any(|r| r["member"].is_string()));
    let keys: Vec<_> = records.iter().map(key).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    // The same records as an unsorted run, in another order at most.
    let mut args = vec!["hash", "-j", "2"];
    args.extend(INPUTS);
    let mut plain = jsonl(&run(&args).stdout);
    let mut ours = records.clone();
    let by = |r: &serde_json::Value| r.to_string();
    plain.sort_by_key(by);
    ours.sort_by_key(by);
    assert_eq!(plain, ours);
}

#[test]
fn scan_records_are_in_path_order() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("ex.vigie");
    let o = run([
        "index",
        "build",
        "-q",
        "-o",
        idx.to_str().unwrap(),
        "fixtures/example/lists/known-bad.sha256",
        "fixtures/example/lists/partner.md5",
    ]);
    assert_eq!(code(&o), 0, "{o:?}");
    let scan = |j: &str| {
        let mut args = vec!["scan", "--all", "--sort", "path", "-j", j, "-i"];
        args.push(idx.to_str().unwrap());
        args.extend(INPUTS);
        run(&args).stdout
    };
    let (a, b) = (scan("1"), scan("2"));
    assert_eq!(a, b);
    let records = jsonl(&a);
    assert!(records.iter().any(|r| r["verdict"] == "match"));
    let keys: Vec<_> = records.iter().map(key).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

/// A journaled run writes records as items finish: it cannot also sort them.
#[test]
fn sort_and_journal_are_refused_together() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let journal = dir.path().join("j");
    let o = run([
        "hash",
        "--sort",
        "path",
        "--journal",
        journal.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "fixtures/example/dump",
    ]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--journal"));
}
