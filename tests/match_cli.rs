//! `vigie match`: hashes computed elsewhere, matched against an index without the content.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use common::{argv, code, jsonl, run, stderr, XorShift};

fn hex(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// `h` with its first `k` bits flipped.
fn flipped(h: &[u8; 32], k: usize) -> [u8; 32] {
    let mut out = *h;
    for bit in 0..k {
        out[bit / 8] ^= 0x80 >> (bit % 8);
    }
    out
}

fn build(dir: &Path, name: &str, list: &Path, how: &str) -> std::path::PathBuf {
    let index = dir.join(name);
    let out = run(argv![
        "index",
        "build",
        "-q",
        "--pdq-search",
        how,
        "-o",
        index,
        "--label",
        "known",
        list
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    index
}

/// (path, hash, matched_hash, distance) of every hit.
fn hits(out: &[u8]) -> BTreeSet<(String, String, String, u64)> {
    jsonl(out)
        .into_iter()
        .map(|r| {
            assert_eq!(r["verdict"], "match");
            assert_eq!(r["list"], "known");
            (
                r["path"].as_str().unwrap().to_string(),
                r["hash"].as_str().unwrap().to_string(),
                r["matched_hash"]
                    .as_str()
                    .or(r["hash"].as_str())
                    .unwrap()
                    .to_string(),
                r["distance"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_partner_list_matches_within_the_threshold_with_multi_index_tables() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = XorShift(0x0123_4567_89AB_CDEF);
    // 20,000 PDQ hashes: enough for the builder to add multi-index tables by itself.
    let entries: Vec<[u8; 32]> = (0..20_000).map(|_| w.bytes32()).collect();
    let mut text = String::new();
    for e in &entries {
        text.push_str(&format!("pdq {}\n", hex(e)));
    }
    text.push_str("md5 6f5902ac237024bdd0c176cb93063dc4\n");
    let list = dir.path().join("known.txt");
    fs::write(&list, text).unwrap();
    let auto = build(dir.path(), "auto.vigie", &list, "auto");
    let linear = build(dir.path(), "linear.vigie", &list, "linear");
    let info = run(argv!["index", "info", "--verify", auto]);
    let info_text = String::from_utf8_lossy(&info.stdout);
    assert!(info_text.contains("multi-index hashing"), "{info_text}");
    let info = run(argv!["index", "info", linear]);
    assert!(String::from_utf8_lossy(&info.stdout).contains("linear scan"));

    // Queries: near copies of entries at distances around the threshold, a random hash,
    // the md5, in a partner's signal file.
    let near = [
        (17usize, 0usize),
        (4_000, 20),
        (9_999, 31),
        (12_345, 32),
        (19_999, 5),
    ];
    let mut q = String::new();
    for (e, k) in near {
        q.push_str(&format!("pdq {}\n", hex(&flipped(&entries[e], k))));
    }
    let random = w.bytes32();
    q.push_str(&format!("pdq {}\n", hex(&random)));
    q.push_str("md5 6f5902ac237024bdd0c176cb93063dc4\n");
    let queries = dir.path().join("partner.te");
    fs::write(&queries, q).unwrap();
    let qpath = queries.display().to_string();

    let mut expected = BTreeSet::new();
    for (line, (e, k)) in near.iter().enumerate() {
        // The random hashes are ~128 bits apart: only the planted entry is near.
        if *k <= 31 {
            expected.insert((
                format!("{qpath}:{}", line + 1),
                hex(&flipped(&entries[*e], *k)),
                hex(&entries[*e]),
                *k as u64,
            ));
        }
    }
    let md5 = "6f5902ac237024bdd0c176cb93063dc4".to_string();
    expected.insert((format!("{qpath}:7"), md5.clone(), md5, 0));
    for index in [&auto, &linear] {
        let out = run(argv!["match", "-q", "-i", index, queries]);
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        assert_eq!(hits(&out.stdout), expected);
    }

    // A lower threshold drops the hits beyond it.
    let out = run(argv![
        "match",
        "-q",
        "--pdq-threshold",
        "20",
        "-i",
        auto,
        queries
    ]);
    let mut got: Vec<u64> = hits(&out.stdout).iter().map(|h| h.3).collect();
    got.sort();
    assert_eq!(got, vec![0, 0, 5, 20]);

    // A malformed record and a missing list are failed items, the rest still matched: exit 1
    // (a match wins over failures), the summary counting both.
    let bad = dir.path().join("bad.te");
    fs::write(&bad, format!("pdq xyz\npdq {}\n", hex(&entries[3]))).unwrap();
    let missing = dir.path().join("missing.te");
    let summary = dir.path().join("s.json");
    let out = run(argv![
        "match",
        "-q",
        "--all",
        "--summary",
        summary,
        "-i",
        auto,
        bad,
        missing
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let recs = jsonl(&out.stdout);
    let verdicts: Vec<(&str, &str)> = recs
        .iter()
        .map(|r| (r["verdict"].as_str().unwrap(), r["path"].as_str().unwrap()))
        .collect();
    let b = bad.display().to_string();
    let m = missing.display().to_string();
    assert_eq!(
        verdicts,
        vec![
            ("failed", format!("{b}:1").as_str()),
            ("match", format!("{b}:2").as_str()),
            ("failed", m.as_str()),
        ]
    );
    let s: serde_json::Value = serde_json::from_slice(&fs::read(&summary).unwrap()).unwrap();
    assert_eq!(s["items"], 3);
    assert_eq!(s["matched"], 1);
    assert_eq!(s["failed"], 2);

    // Nothing near: exit 0.
    let clean = dir.path().join("clean.te");
    fs::write(&clean, format!("pdq {}\n", hex(&random))).unwrap();
    let out = run(argv!["match", "-q", "-i", auto, clean]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}
