//! Files that change while they are read (issue 16, point 8): a file truncated while vigie
//! hashes it is a failed `read` item, and the run goes on to its summary; it used to kill the
//! process with SIGBUS (exit 135: no record, no summary).

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

/// Is `path` mapped by process `pid` (a line of /proc/PID/maps ending with it)?
fn maps_file(pid: u32, path: &Path) -> bool {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let want = path.to_str().unwrap();
    maps.lines().any(|l| l.ends_with(want))
}

/// A 4 GiB sparse file is truncated to nothing as soon as vigie has mapped it (seen in
/// /proc/PID/maps, polled every millisecond; hashing 4 GiB takes vigie seconds). No sleep
/// decides the outcome: truncated while mapped, the read faults and the guard fails the item;
/// had vigie finished first, the size check after hashing fails it all the same. Either way
/// the item is a failed `read` item naming the change, and the run ends with exit 2 and its
/// summary.
#[test]
fn file_truncated_while_hashed_is_a_failed_item_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(4 << 30).unwrap();
    let small = dir.path().join("small.txt");
    std::fs::write(&small, b"still hashed").unwrap();
    let child = vigie()
        .args(["hash", "--algo", "md5"])
        .arg(&big)
        .arg(&small)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut seen = false;
    while start.elapsed() < Duration::from_secs(60) {
        if maps_file(child.id(), &big) {
            seen = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    f.set_len(0).unwrap();
    let o = wait_within(child, 300, "vigie hash on a truncated file");
    eprintln!(
        "mapped when truncated: {seen}; {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "seen mapped: {seen}; {err}");
    let recs = jsonl(&o.stdout);
    assert_eq!(recs.len(), 2, "{recs:?}");
    let rec = recs
        .iter()
        .find(|r| r["path"] == big.to_str().unwrap())
        .expect("the big file's record");
    assert_eq!(rec["error_kind"], "read", "{rec:?}");
    assert!(
        rec.get("md5").is_none(),
        "no digest of a truncated file: {rec:?}"
    );
    let why = rec["error"].as_str().unwrap();
    assert!(
        why.contains("shrank") || why.contains("changed size"),
        "{why}"
    );
    assert!(err.contains(big.to_str().unwrap()), "{err}");
    assert!(err.contains("1 failed (read: 1)"), "summary: {err}");
    assert!(recs.iter().any(|r| r["md5"].is_string()), "{recs:?}");
}
