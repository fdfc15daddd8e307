//! List provenance (issue 20, point 7): an index records, for each list, the size and SHA-256
//! of its file as read at build time (a compressed list's compressed bytes, a list piped on
//! standard input as it came), shown by `vigie index info` (text and JSON) and in each index
//! of a scan's summary `custody`, as `sha256sum` prints them.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{code, run, stderr, vigie};
use serde_json::Value;

/// `sha256sum`'s digest and the size of `path`.
fn sha256sum(path: &str) -> (String, u64) {
    let o = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    let hex = text.split_whitespace().next().unwrap().to_string();
    (hex, std::fs::metadata(path).unwrap().len())
}

#[test]
fn each_list_file_is_recorded_by_size_and_sha256_as_read() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("l.vigie");
    let idx_s = idx.to_str().unwrap();
    let files = [
        "fixtures/example/lists/known-bad.sha256",
        "fixtures/lists/SHA256SUMS.gz",
        "fixtures/lists/RDS_sample_minimal.db",
        "fixtures/hashlookup/known-sha1.dcso.bloom",
    ];
    // One more list on standard input: its bytes as they came through the pipe.
    let piped = std::fs::read("fixtures/example/lists/partner.md5").unwrap();
    let mut c = vigie()
        .args(["index", "build", "-q", "-o", idx_s])
        .args(files)
        .args(["--name", "piped", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(&piped).unwrap();
    let o = c.wait_with_output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    let o = run(["index", "info", "--json", idx_s]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let info: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(info["version"], 7);
    let lists = info["lists"].as_array().unwrap();
    assert_eq!(lists.len(), files.len() + 1);
    let mut want: Vec<(String, u64)> = files.iter().map(|f| sha256sum(f)).collect();
    use sha2::Digest;
    want.push((
        hex::encode(sha2::Sha256::digest(&piped)),
        piped.len() as u64,
    ));
    for (l, (sha, bytes)) in lists.iter().zip(&want) {
        assert_eq!(l["source_sha256"], sha.as_str(), "{l}");
        assert_eq!(l["source_bytes"], *bytes, "{l}");
    }
    // The gzip list's digest is of its compressed bytes, not of what they hold.
    assert_ne!(
        lists[1]["source_sha256"],
        sha256sum("fixtures/lists/SHA256SUMS").0
    );

    // The text form says it under each list.
    let o = run(["index", "info", idx_s]);
    let text = String::from_utf8(o.stdout).unwrap();
    for (sha, bytes) in &want {
        assert!(
            text.contains(&format!("source: {bytes} bytes, sha256 {sha}")),
            "{text}"
        );
    }

    // `index build --dry-run --json` says what the index would record.
    let o = run([
        "index",
        "build",
        "--dry-run",
        "--json",
        "fixtures/lists/SHA256SUMS.gz",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let dry: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(dry["lists"][0]["source"]["sha256"], want[1].0.as_str());
    assert_eq!(dry["lists"][0]["source"]["bytes"], want[1].1);
    assert_eq!(
        dry["index"]["lists"][0]["source_sha256"],
        want[1].0.as_str()
    );

    // A scan's custody names each index's lists with them; lists given with --list too.
    let summary = dir.path().join("s.json");
    let o = run([
        "scan",
        "-q",
        "-i",
        idx_s,
        "--name",
        "partner-again",
        "--list",
        "fixtures/example/lists/partner.md5",
        "--summary",
        summary.to_str().unwrap(),
        "fixtures/example/dump",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let s: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    let indexes = s["custody"]["indexes"].as_array().unwrap();
    assert_eq!(indexes.len(), 2);
    assert_eq!(indexes[0]["path"], idx_s);
    assert_eq!(indexes[0]["sha256"], sha256sum(idx_s).0);
    let named = indexes[0]["lists"].as_array().unwrap();
    for (l, (sha, bytes)) in named.iter().zip(&want) {
        assert_eq!(l["sha256"], sha.as_str());
        assert_eq!(l["bytes"], *bytes);
    }
    assert_eq!(named[0]["path"], files[0]);
    assert_eq!(named[0]["name"], "known-bad");
    let mem = &indexes[1];
    assert!(mem["path"].as_str().unwrap().contains("--list"), "{mem}");
    assert_eq!(mem["lists"][0]["name"], "partner-again");
    assert_eq!(
        mem["lists"][0]["sha256"],
        sha256sum("fixtures/example/lists/partner.md5").0
    );
}

/// A list built in memory has no file: its index keeps the oldest version that holds it and
/// says nothing of a source.
#[test]
fn lists_without_a_file_have_no_source() {
    let mut b = vigie::index::IndexBuilder::new();
    let d =
        vigie::hash::Digest::from_hex(vigie::hash::Algo::Md5, "d41d8cd98f00b204e9800998ecf8427e")
            .unwrap();
    b.add_digests("mem", "mem", "generated", [d]).unwrap();
    let info = b.into_index().unwrap().info();
    assert_eq!(info.version, 3);
    assert_eq!(info.lists[0].source_sha256, None);
    let json = serde_json::to_value(&info).unwrap();
    assert!(json["lists"][0].get("source_sha256").is_none());
}
