//! Allowlists (`known`) and DCSO Bloom filters (`probable`) through the CLI: `index build
//! --allow` / `--role`, `scan --allow`, the verdicts, the summary counters, exit statuses, and
//! hostile Bloom headers.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// SHA-1s of the files in `fixtures/hashlookup/testfiles` (from the samples' MANIFEST.json).
const EMPTY_SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
const HELLO_SHA1: &str = "22596363b3de40b06f981fb85d82312e8c0ed511";
const NOTES_SHA1: &str = "7574b43275f6b8f4b1776be24ea873392f5225e7";
const SHAPES_SHA1: &str = "897d63b951a526861322444596847e0888ec6fe9";
const RESIZED_SHA1: &str = "c153f0130814aae64c378d220fddbc5f0905e332";
/// PDQ of `sub/shapes.png` (the resized JPEG is 22 bits away from it).
const SHAPES_PDQ: &str = "51a955a55199799a16a951891661ba70ee56ae766186e9d6bb58ab569a7954a9";

fn hashlookup() -> PathBuf {
    fixtures().join("hashlookup")
}

fn testfiles() -> PathBuf {
    hashlookup().join("testfiles")
}

fn bloom() -> PathBuf {
    hashlookup().join("known-sha1.dcso.bloom")
}

/// The file name of a record's path.
fn name(r: &Value) -> String {
    Path::new(r["path"].as_str().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn summary(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// items == clean + matched + known + probable + failed.
fn check_invariant(s: &Value) {
    let n = |k: &str| s[k].as_u64().unwrap();
    assert_eq!(
        n("items"),
        n("clean") + n("matched") + n("known") + n("probable") + n("failed"),
        "{s}"
    );
}

#[test]
fn bloom_sample_members_are_probable_never_match() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("known.vidx");
    let out = run(argv!["index", "build", "-o", index, bloom()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("dcso-bloom format"),
        "{}",
        stderr(&out)
    );

    let out = run(argv!["index", "info", "--verify", "--json", index]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    let b = &info["lists"][0]["bloom"];
    assert_eq!(info["lists"][0]["format"], "dcso-bloom");
    assert_eq!(b["algo"], "sha1");
    assert_eq!(b["upper"], true);
    assert_eq!(b["k"], 14);
    assert_eq!(b["m"], 19_170);
    assert_eq!(b["n"], 1000);
    assert_eq!(b["inserted"], 4);
    assert_eq!(b["fpr"], 1e-4);

    let sum = dir.path().join("s.json");
    let out = run(argv![
        "scan",
        "-q",
        "--all",
        "-i",
        index,
        "--summary",
        sum,
        testfiles()
    ]);
    // Probable items alone are not matches: exit 0.
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let recs = jsonl(&out.stdout);
    assert_eq!(recs.len(), 5, "{recs:?}");
    assert!(recs.iter().all(|r| r["verdict"] != "match"), "{recs:?}");
    let members = [
        ("empty.dat", EMPTY_SHA1),
        ("hello.txt", HELLO_SHA1),
        ("notes with space.txt", NOTES_SHA1),
        ("shapes.png", SHAPES_SHA1),
    ];
    for (file, sha1) in members {
        let r = recs.iter().find(|r| name(r) == file).unwrap();
        assert_eq!(r["verdict"], "probable", "{r}");
        assert_eq!(r["algorithm"], "sha1");
        assert_eq!(r["hash"], sha1);
        assert_eq!(r["list"], "known-sha1.dcso");
        assert_eq!(r["fpr"], 1e-4);
        // A Bloom filter is an allowlist unless told otherwise.
        assert_eq!(r["role"], "allow");
    }
    let resized = recs
        .iter()
        .find(|r| name(r) == "shapes_resized.jpg")
        .unwrap();
    assert_eq!(resized["verdict"], "clean", "{resized}");
    let s = summary(&sum);
    assert_eq!(s["probable"], 4);
    assert_eq!(s["matched"], 0);
    assert_eq!(s["known"], 0);
    assert_eq!(s["clean"], 1);
    assert_eq!(s["hits"], 4);
    check_invariant(&s);

    // Declared lower-case keys: the upper-case keys of the sample no longer answer.
    let lower = dir.path().join("lower.vidx");
    let out = run(argv![
        "index",
        "build",
        "-q",
        "-o",
        lower,
        "--bloom-case",
        "lower",
        bloom()
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(argv!["scan", "-q", "-i", lower, testfiles()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(jsonl(&out.stdout).is_empty());
}

/// An index of a sha1 blocklist (hello.txt), a PDQ blocklist (shapes.png) and an allowlist
/// (hello.txt and the resized JPEG, which is 22 bits from shapes.png: a perceptual match if
/// it were matched perceptually).
fn roles_index(dir: &Path) -> PathBuf {
    let block = dir.join("bad.sha1");
    fs::write(&block, format!("{HELLO_SHA1}\n")).unwrap();
    let pdq = dir.join("bad.te");
    fs::write(&pdq, format!("pdq {SHAPES_PDQ}\n")).unwrap();
    let allow = dir.join("nsrl.txt");
    fs::write(
        &allow,
        format!(
            "{}\n{}\n",
            HELLO_SHA1.to_uppercase(),
            RESIZED_SHA1.to_uppercase()
        ),
    )
    .unwrap();
    let index = dir.join("roles.vidx");
    let out = run(argv![
        "index",
        "build",
        "-o",
        index,
        "--label",
        "csam",
        block,
        pdq,
        "--label",
        "known-good",
        "--allow",
        allow
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("allowlist"), "{}", stderr(&out));
    index
}

#[test]
fn allowlist_hits_are_known_skip_perceptual_and_a_blocklist_hit_wins() {
    let dir = tempfile::tempdir().unwrap();
    let index = roles_index(dir.path());
    let out = run(argv!["index", "info", "--json", index]);
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    let roles: Vec<&str> = info["lists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["block", "block", "allow"]);

    let sum = dir.path().join("s.json");
    let out = run(argv![
        "scan",
        "-q",
        "--all",
        "-i",
        index,
        "--summary",
        sum,
        testfiles()
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let recs = jsonl(&out.stdout);
    let of = |file: &str| -> Vec<&Value> { recs.iter().filter(|r| name(r) == file).collect() };

    // In a blocklist and an allowlist: a match, the allowlist hit listed too.
    let hello = of("hello.txt");
    assert_eq!(hello.len(), 2, "{hello:?}");
    assert!(hello.iter().all(|r| r["verdict"] == "match"));
    let block = hello.iter().find(|r| r["role"] == "block").unwrap();
    assert_eq!(block["list"], "bad");
    assert_eq!(block["label"], "csam");
    let allow = hello.iter().find(|r| r["role"] == "allow").unwrap();
    assert_eq!(allow["list"], "nsrl");
    assert_eq!(allow["label"], "known-good");
    assert!(allow.get("fpr").is_none());

    // Allowlisted: known, and not matched perceptually (nor hashed: one image in the summary).
    let resized = of("shapes_resized.jpg");
    assert_eq!(resized.len(), 1, "{resized:?}");
    assert_eq!(resized[0]["verdict"], "known");
    assert_eq!(resized[0]["algorithm"], "sha1");
    assert_eq!(resized[0]["label"], "known-good");

    // The PDQ blocklist still matches the original image.
    let shapes = of("shapes.png");
    assert_eq!(shapes.len(), 1);
    assert_eq!(shapes[0]["verdict"], "match");
    assert_eq!(shapes[0]["algorithm"], "pdq");

    for f in ["empty.dat", "notes with space.txt"] {
        assert_eq!(of(f)[0]["verdict"], "clean");
    }
    let s = summary(&sum);
    assert_eq!(s["matched"], 2);
    assert_eq!(s["known"], 1);
    assert_eq!(s["probable"], 0);
    assert_eq!(s["clean"], 2);
    assert_eq!(s["images"], 1);
    assert_eq!(s["hits"], 4);
    check_invariant(&s);

    // Without the allowlist, the resized copy is a perceptual match: the allowlist is what
    // made it known.
    let out = run(argv![
        "scan",
        "-q",
        "-l",
        dir.path().join("bad.te"),
        testfiles()
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(jsonl(&out.stdout)
        .iter()
        .any(|r| name(r) == "shapes_resized.jpg" && r["verdict"] == "match"));
}

#[test]
fn scan_with_ad_hoc_allowlist_and_bloom_only_known_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    roles_index(dir.path());
    let sum = dir.path().join("s.json");
    // Allowlist and Bloom filter only: known and probable, exit 0; CSV carries role and fpr.
    let out = run(argv![
        "scan",
        "-q",
        "--format",
        "csv",
        "--allow",
        dir.path().join("nsrl.txt"),
        "--allow",
        bloom(),
        "--summary",
        sum,
        testfiles()
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(
        header.ends_with(
            ",matched_hash,role,fpr,md5,sha1,sha256,xxh3_128,pdq,pdq_quality,phash,dhash,\
             matched_video,query_match_pct,compared_match_pct,segments,timestamp"
        ),
        "{header}"
    );
    let rows: Vec<&str> = lines.collect();
    // hello.txt: known (allowlist) with its Bloom hit listed; resized: known; empty, notes,
    // shapes.png: probable.
    let verdict_of = |file: &str| -> Vec<&str> {
        rows.iter()
            .filter(|r| r.contains(file))
            .map(|r| r.split(',').next().unwrap())
            .collect()
    };
    assert_eq!(verdict_of("hello.txt"), ["known", "known"]);
    assert_eq!(verdict_of("shapes_resized.jpg"), ["known"]);
    for f in ["empty.dat", "notes with space.txt", "shapes.png"] {
        assert_eq!(verdict_of(f), ["probable"], "{f}");
    }
    assert!(rows
        .iter()
        .any(|r| r.starts_with("probable,") && r.contains(",allow,1e-4,")));
    let s = summary(&sum);
    assert_eq!(s["known"], 2);
    assert_eq!(s["probable"], 3);
    assert_eq!(s["matched"], 0);
    check_invariant(&s);
}

/// A copy of the sample filter with the u64 at `at` replaced.
fn hostile_bloom(dir: &Path, at: usize, value: u64) -> PathBuf {
    let mut b = fs::read(bloom()).unwrap();
    b[at..at + 8].copy_from_slice(&value.to_le_bytes());
    let p = dir.join(format!("hostile-{at}-{value}.bloom"));
    fs::write(&p, b).unwrap();
    p
}

#[test]
fn hostile_bloom_headers_are_clear_errors_naming_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("x.vidx");
    let truncated = dir.path().join("truncated.bloom");
    fs::write(&truncated, &fs::read(bloom()).unwrap()[..40]).unwrap();
    let tiny = dir.path().join("tiny.bloom");
    fs::write(&tiny, b"\x01\x00\x00").unwrap();
    let cases = [
        // m claims more bits than the file holds (19,171 bits need 2,408 bytes).
        (
            hostile_bloom(dir.path(), 32, 19_171 + 64),
            "claims m = 19235 bits",
        ),
        (
            hostile_bloom(dir.path(), 32, u64::MAX),
            "claims m = 18446744073709551615",
        ),
        (hostile_bloom(dir.path(), 32, 0), "m = 0"),
        (hostile_bloom(dir.path(), 24, 1 << 40), "probes per key"),
        (hostile_bloom(dir.path(), 24, 0), "k = 0"),
        (hostile_bloom(dir.path(), 16, 0), "p = 0"),
        (truncated, "40 bytes is shorter than the 48-byte"),
        (tiny, "3 bytes is shorter than the 48-byte"),
    ];
    for (list, want) in cases {
        for role in ["block", "allow"] {
            let out = run(argv!["index", "build", "-o", index, "--role", role, list]);
            let err = stderr(&out);
            assert_eq!(code(&out), 2, "{err}");
            assert!(err.contains(&list.display().to_string()), "{err}");
            assert!(err.contains(want), "{want}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
        // Read as an ad-hoc list too.
        let out = run(argv!["scan", "-q", "-l", list, testfiles()]);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(stderr(&out).contains(want), "{}", stderr(&out));
    }
    assert!(!index.exists());
}

#[test]
fn match_reports_known_and_probable_for_hashes_computed_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let allow = dir.path().join("nsrl.txt");
    fs::write(&allow, format!("{}\n", RESIZED_SHA1.to_uppercase())).unwrap();
    let index = dir.path().join("k.vidx");
    let out = run(argv![
        "index",
        "build",
        "-q",
        "-o",
        index,
        "--allow",
        allow,
        bloom()
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let query = dir.path().join("query.sha1");
    fs::write(
        &query,
        format!("{RESIZED_SHA1}\n{HELLO_SHA1}\n{}\n", "0".repeat(40)),
    )
    .unwrap();
    let sum = dir.path().join("s.json");
    let out = run(argv![
        "match",
        "-q",
        "--all",
        "-i",
        index,
        "--summary",
        sum,
        query
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let verdicts: Vec<(String, String)> = jsonl(&out.stdout)
        .iter()
        .map(|r| {
            let line = r["path"].as_str().unwrap().rsplit(':').next().unwrap();
            (line.to_string(), r["verdict"].as_str().unwrap().to_string())
        })
        .collect();
    let want = [("1", "known"), ("2", "probable"), ("3", "clean")];
    assert_eq!(verdicts, want.map(|(a, b)| (a.to_string(), b.to_string())));
    let s = summary(&sum);
    assert_eq!(
        (s["known"].as_u64(), s["probable"].as_u64()),
        (Some(1), Some(1))
    );
    check_invariant(&s);
}
