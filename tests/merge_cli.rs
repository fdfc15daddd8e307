//! Several indexes at once (issue 20, point 1): `vigie index merge -o OUT A B` gives the
//! same answers as an index built from A's and B's lists directly, and so does `vigie scan
//! -i A -i B` (and `match -i A -i B`): exact digests, PDQ, pHash and dHash by distance,
//! known videos, a Bloom filter and an allowlist of one index that applies to the other's
//! lists. The lists are real fixture lists, and perceptual lists made by `vigie hash` from
//! the fixture images (a few bits flipped, so that distances are not all 0).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{code, jsonl, run, stderr};
use serde_json::Value;

const IMAGES: &str = "fixtures/images";

/// Each fixture image's hashes of `kind` (pdq, phash, dhash), by path.
fn image_hashes(kind: &str) -> Vec<(String, String)> {
    let o = run(["hash", "-q", "--algo", "sha256,pdq,phash,dhash", IMAGES]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mut v: Vec<(String, String)> = jsonl(&o.stdout)
        .iter()
        .filter_map(|r| {
            Some((
                r["path"].as_str()?.to_string(),
                r[kind].as_str()?.to_string(),
            ))
        })
        .collect();
    v.sort();
    v
}

/// `hex` with `n` bits flipped (the lowest bits of its last digits).
fn flip(hex: &str, n: usize) -> String {
    let mut digits: Vec<u32> = hex.chars().map(|c| c.to_digit(16).unwrap()).collect();
    for i in 0..n {
        let at = digits.len() - 1 - i / 4;
        digits[at] ^= 1 << (i % 4);
    }
    digits
        .iter()
        .map(|d| std::char::from_digit(*d, 16).unwrap())
        .collect()
}

/// Writes `lines` to `dir/name`.
fn list(dir: &Path, name: &str, lines: &[String]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p.to_str().unwrap().to_string()
}

/// `vigie index build -o dir/name ARGS`.
fn build(dir: &Path, name: &str, args: &[String]) -> String {
    let idx = dir.join(name);
    let mut cmd = vec![
        "index".to_string(),
        "build".into(),
        "-q".into(),
        "--strict".into(),
    ];
    cmd.extend(args.iter().cloned());
    cmd.extend(["-o".into(), idx.to_str().unwrap().to_string()]);
    let o = run(&cmd);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    idx.to_str().unwrap().to_string()
}

/// The two sides' list arguments, and the sha256 of the image B's allowlist holds (which
/// A's PDQ list blocks).
struct Fixture {
    _dir: tempfile::TempDir,
    a: Vec<String>,
    b: Vec<String>,
    allowed: String,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (pdq, phash, dhash) = (
        image_hashes("pdq"),
        image_hashes("phash"),
        image_hashes("dhash"),
    );
    assert!(pdq.len() >= 8 && phash.len() >= 8, "{pdq:?}");
    // A: PDQ of every other image (a few bits off), dHash of the first ones; B: PDQ of the
    // others, pHash of every image but the first.
    let pdq_a: Vec<String> = pdq
        .iter()
        .step_by(2)
        .enumerate()
        .map(|(i, (_, h))| flip(h, i * 3))
        .collect();
    let pdq_b: Vec<String> = pdq
        .iter()
        .skip(1)
        .step_by(2)
        .enumerate()
        .map(|(i, (_, h))| flip(h, 5 + i))
        .collect();
    let dhash_a: Vec<String> = dhash
        .iter()
        .take(4)
        .enumerate()
        .map(|(i, (_, h))| flip(h, i))
        .collect();
    let phash_b: Vec<String> = phash
        .iter()
        .skip(1)
        .enumerate()
        .map(|(i, (_, h))| flip(h, i % 6))
        .collect();
    // B allows the image A's PDQ list lists first.
    let sha = image_hashes("sha256");
    let allowed = sha.iter().find(|(p, _)| *p == pdq[0].0).unwrap().1.clone();
    let s = |x: &str| x.to_string();
    let a = vec![
        s("fixtures/example/lists/known-bad.sha256"),
        s("--type"),
        s("pdq"),
        list(d, "pdq-a.txt", &pdq_a),
        s("--type"),
        s("dhash"),
        s("--label"),
        s("dh"),
        list(d, "dhash-a.txt", &dhash_a),
        s("fixtures/video/known/doorknob-hd-no-bar.txt"),
    ];
    let b = vec![
        s("--name"),
        s("partner-feed"),
        s("fixtures/example/lists/partner.md5"),
        s("--type"),
        s("pdq"),
        list(d, "pdq-b.txt", &pdq_b),
        s("--type"),
        s("phash"),
        list(d, "phash-b.txt", &phash_b),
        s("fixtures/video/te-vpdq.txt"),
        s("fixtures/hashlookup/known-sha1.dcso.bloom"),
        // Entries with their own labels (the dataset's categories), under a given label.
        s("--label"),
        s("te"),
        s("fixtures/lists/dataset_export.csv"),
        s("--allow"),
        list(d, "allowed.sha256", std::slice::from_ref(&allowed)),
    ];
    Fixture {
        _dir: dir,
        a,
        b,
        allowed,
    }
}

/// The records of `vigie ARGS` (stdout, JSON lines), sorted: an item's hits come from each
/// index in turn, in an order that may differ from one layout to another.
fn records(args: &[String]) -> BTreeSet<String> {
    let o = run(args);
    assert!(code(&o) <= 1, "{args:?}: {}", stderr(&o));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn scan(indexes: &[&str]) -> Vec<String> {
    let mut v = vec!["scan".to_string(), "-q".into(), "--all".into()];
    for i in indexes {
        v.extend(["-i".into(), i.to_string()]);
    }
    v.extend(
        [
            IMAGES,
            "fixtures/example/dump",
            "fixtures/hashlookup/testfiles",
            "fixtures/video/test-padded-dimensions.mp4",
        ]
        .map(String::from),
    );
    v
}

fn match_(indexes: &[&str], queries: &[String]) -> Vec<String> {
    let mut v = vec!["match".to_string(), "-q".into(), "--all".into()];
    for i in indexes {
        v.extend(["-i".into(), i.to_string()]);
    }
    v.extend(queries.iter().cloned());
    v
}

fn info(idx: &str) -> Value {
    let o = run(["index", "info", "--json", idx]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn merged_and_several_indexes_answer_as_one_built_from_all_the_lists() {
    let f = fixture();
    let out = tempfile::tempdir().unwrap();
    let d = out.path();
    let a = build(d, "a.vigie", &f.a);
    let b = build(d, "b.vigie", &f.b);
    let both: Vec<String> = f.a.iter().chain(&f.b).cloned().collect();
    let ab = build(d, "ab.vigie", &both);
    let merged = d.join("m.vigie");
    let m = merged.to_str().unwrap();
    let o = run(["index", "merge", "-q", "-o", m, &a, &b]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(["index", "info", "--verify", m]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("checksums: ok"));

    // The same lists, each with its name, label, role, format, counts and source; the same
    // tables.
    let (want, got) = (info(&ab), info(m));
    for key in [
        "version",
        "lists",
        "tables",
        "distinct",
        "pdq",
        "phash",
        "dhash",
        "videos",
        "vpdq_frames",
        "provenance_groups",
    ] {
        assert_eq!(got[key], want[key], "{key}");
    }
    let lists = got["lists"].as_array().unwrap();
    assert_eq!(lists.len(), 11);
    assert!(
        lists.iter().all(|l| l["source_sha256"].is_string()),
        "{lists:?}"
    );

    // Scans: every record (hits with their lists, labels, distances, roles) the same.
    let want = records(&scan(&[&ab]));
    assert!(want.len() > 20, "{want:?}");
    for (what, hits) in [
        ("merged", records(&scan(&[m]))),
        ("a + b", records(&scan(&[&a, &b]))),
    ] {
        assert_eq!(hits, want, "{what}");
    }
    let want: Vec<Value> = want
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let algos: BTreeSet<&str> = want
        .iter()
        .filter_map(|r| r["algorithm"].as_str())
        .collect();
    for algo in ["sha256", "md5", "pdq", "phash", "dhash", "sha1"] {
        assert!(algos.contains(algo), "no {algo} hit: {algos:?}");
    }
    assert!(want.iter().any(|r| r["distance"].as_u64() > Some(0)));
    // B's allowlist applies to A's PDQ list: the image is known, not matched.
    let allowed: Vec<&Value> = want
        .iter()
        .filter(|r| r["hashes"]["sha256"] == f.allowed.as_str())
        .collect();
    assert!(!allowed.is_empty());
    assert!(
        allowed
            .iter()
            .all(|r| r["verdict"] == "known" && r["algorithm"] == "sha256"),
        "{allowed:?}"
    );
    let alone = records(&scan(&[&a]));
    assert!(alone
        .iter()
        .any(|l| l.contains(&f.allowed) && l.contains("\"verdict\":\"match\"")));

    // match: exact, PDQ, pHash and vPDQ queries.
    let queries: Vec<String> = [
        "fixtures/example/lists/partner.md5",
        "fixtures/example/lists/known-bad.sha256",
        "fixtures/video/te-vpdq.txt",
        "fixtures/lists/dataset_export.csv",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(["--type".into(), "pdq".into(), f.a[3].clone()])
    .chain(["--type".into(), "phash".into(), f.b[8].clone()])
    .collect();
    let want = records(&match_(&[&ab], &queries));
    for (what, hits) in [
        ("merged", records(&match_(&[m], &queries))),
        ("a + b", records(&match_(&[&a, &b], &queries))),
    ] {
        assert_eq!(hits, want, "{what}");
    }
    assert!(
        want.iter().any(|l| l.contains("\"algorithm\":\"vpdq\"")),
        "{want:?}"
    );
    assert!(want.iter().any(|l| l.contains("\"algorithm\":\"phash\"")));
    assert!(
        want.iter()
            .any(|l| l.contains("\"label\":\"te/POSITIVE_CLASS\"")),
        "{want:?}"
    );
}

#[test]
fn same_list_names_are_refused_or_qualified() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let one = build(
        d,
        "one.vigie",
        &["fixtures/example/lists/known-bad.sha256".into()],
    );
    let sub = d.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let two = build(
        &sub,
        "two.vigie",
        &["fixtures/example/lists/known-bad.sha256".into()],
    );
    let out = d.join("m.vigie");
    let m = out.to_str().unwrap();
    // Both hold a list named known-bad: a hit could not say which it is from.
    for args in [
        vec!["index", "merge", "-o", m, &one, &two],
        vec!["scan", "-i", &one, "-i", &two, "fixtures/example/dump"],
        vec![
            "scan",
            "-i",
            &one,
            "--list",
            "fixtures/example/lists/known-bad.sha256",
            "fixtures/example/dump",
        ],
        vec![
            "match",
            "-i",
            &one,
            "-i",
            &two,
            "fixtures/example/lists/partner.md5",
        ],
    ] {
        let o = run(&args);
        assert_eq!(code(&o), 2, "{args:?}");
        let err = stderr(&o);
        assert!(err.contains("a list named \"known-bad\""), "{err}");
        assert!(err.contains("--qualify"), "{err}");
    }
    assert!(!out.exists());
    // The same index twice is said so.
    let o = run(["scan", "-i", &one, "-i", &one, "fixtures/example/dump"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("given twice"), "{}", stderr(&o));
    // --qualify names each list STEM/NAME; --name on scan --list tells them apart too.
    let o = run(["index", "merge", "-q", "--qualify", "-o", m, &one, &two]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let names: Vec<String> = info(m)["lists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["one/known-bad", "two/known-bad"]);
    let o = run(["scan", "-q", "-i", m, "fixtures/example/dump"]);
    assert_eq!(code(&o), 1);
    let lists: BTreeSet<String> = jsonl(&o.stdout)
        .iter()
        .map(|r| r["list"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        lists.into_iter().collect::<Vec<_>>(),
        ["one/known-bad", "two/known-bad"]
    );
    // A per-list option with no list after it is refused, not ignored.
    let o = run([
        "scan",
        "-i",
        &one,
        "--name",
        "again",
        "fixtures/example/dump",
    ]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("not followed by a list"),
        "{}",
        stderr(&o)
    );
    let o = run([
        "scan",
        "-q",
        "-i",
        &one,
        "--name",
        "again",
        "--list",
        "fixtures/example/lists/known-bad.sha256",
        "fixtures/example/dump",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
}

/// A damaged input is refused (named), not copied; under --trusted-key every input's
/// signature is checked, for merge as for scan.
#[test]
fn damaged_and_unsigned_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = build(
        d,
        "a.vigie",
        &["fixtures/example/lists/known-bad.sha256".into()],
    );
    let b = build(d, "b.vigie", &["fixtures/example/lists/partner.md5".into()]);
    let out: PathBuf = d.join("m.vigie");
    let m = out.to_str().unwrap();
    // A flipped byte in b's last section (its records or sources), checksums not resealed.
    let mut bytes = std::fs::read(&b).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 0x40;
    let bad = d.join("bad.vigie");
    std::fs::write(&bad, &bytes).unwrap();
    let bad = bad.to_str().unwrap();
    let o = run(["index", "merge", "-o", m, &a, bad]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains("bad.vigie") && err.contains("checksum"),
        "{err}"
    );
    assert!(!out.exists());
    let o = run(["scan", "-i", &a, "-i", bad, "fixtures/example/dump"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("checksum"), "{}", stderr(&o));

    // Signed inputs: both signed, merged; one unsigned, refused.
    let key = d.join("k.key");
    let public = d.join("k.pub");
    let o = std::process::Command::new("minisign")
        .args(["-G", "-W", "-p"])
        .arg(&public)
        .arg("-s")
        .arg(&key)
        .output()
        .expect("minisign (Debian package minisign; scripts/test.sh installs it)");
    assert!(o.status.success(), "{o:?}");
    let (key, public) = (key.to_str().unwrap(), public.to_str().unwrap());
    // Merging and scanning both indexes under the trusted key, before and after b is signed.
    let merge = || {
        run([
            "index",
            "merge",
            "-q",
            "--trusted-key",
            public,
            "-o",
            m,
            &a,
            &b,
        ])
    };
    let scan = || {
        run([
            "scan",
            "-q",
            "--trusted-key",
            public,
            "-i",
            &a,
            "-i",
            &b,
            "fixtures/example/dump",
        ])
    };
    let o = run(["index", "sign", "--key", key, &a]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = merge();
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("b.vigie.minisig"), "{}", stderr(&o));
    let o = scan();
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("b.vigie"), "{}", stderr(&o));
    let o = run(["index", "sign", "--key", key, &b]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = merge();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = scan();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    // --signature names one file: refused with several indexes.
    let o = run([
        "scan",
        "--trusted-key",
        public,
        "--signature",
        "x.minisig",
        "-i",
        &a,
        "-i",
        &b,
        "fixtures/example/dump",
    ]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("--signature names one index"),
        "{}",
        stderr(&o)
    );
    // --list under --trusted-key: not signed, refused.
    let o = run([
        "scan",
        "--trusted-key",
        public,
        "-i",
        &a,
        "--list",
        "fixtures/example/lists/partner.md5",
        "fixtures/example/dump",
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("not signed"), "{}", stderr(&o));
}
