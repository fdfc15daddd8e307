//! Evidence in every record (issue 19, point 2): each hit record and each `--all` record
//! carries every digest computed for its item (`hashes` in JSON Lines, the last columns in
//! CSV), equal to what coreutils print; a hash of a reduced-scale decode, which only screened,
//! is not evidence and is left out.

mod common;

use std::fs;

use common::{argv, code, fixtures, jsonl, run, stderr, tool};

#[test]
fn hit_and_clean_records_carry_every_digest() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.bin");
    let ok = dir.path().join("ok.bin");
    fs::write(&bad, b"known bad content\n").unwrap();
    fs::write(&ok, b"something else\n").unwrap();
    let md5 = String::from_utf8(tool("md5sum", &[bad.as_os_str()])).unwrap()[..32].to_string();
    let sha256_of = |p: &std::path::Path| {
        String::from_utf8(tool("sha256sum", &[p.as_os_str()])).unwrap()[..64].to_string()
    };
    let list = dir.path().join("list.md5");
    fs::write(&list, format!("{md5}  bad.bin\n")).unwrap();
    let scan = |format: &str| {
        run(argv![
            "scan", "-q", "--all", "--algo", "sha256", "-f", format, "--list", list, bad, ok
        ])
    };
    let o = scan("jsonl");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let recs = jsonl(&o.stdout);
    assert_eq!(recs.len(), 2);
    for r in &recs {
        let p = std::path::PathBuf::from(r["path"].as_str().unwrap());
        assert_eq!(r["hashes"]["sha256"], sha256_of(&p), "{r}");
        assert_eq!(r["hashes"]["md5"].as_str().unwrap().len(), 32);
        if p == bad {
            assert_eq!(r["verdict"], "match");
            assert_eq!(r["hashes"]["md5"], md5);
            assert_eq!(r["hash"], md5);
        } else {
            assert_eq!(r["verdict"], "clean");
        }
    }

    let o = scan("csv");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header = rows.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let p = std::path::PathBuf::from(&row[col("path")]);
        assert_eq!(&row[col("sha256")], sha256_of(&p));
        assert_eq!(row[col("md5")].len(), 32);
    }
}

/// An image hit carries the item's exact PDQ; a clean image decoded at reduced scale (the
/// screen found nothing near) carries none: its hash is not the reference's.
#[test]
fn perceptual_evidence_is_only_the_reference_hash() {
    let src = fixtures().join("fastdecode/scale2.jpg");
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("scale2.jpg");
    fs::copy(&src, &img).unwrap();
    let exact = run(argv!["hash", "-q", "--algo", "pdq", img]);
    assert_eq!(code(&exact), 0, "{}", stderr(&exact));
    let pdq = jsonl(&exact.stdout)[0]["pdq"].as_str().unwrap().to_string();
    // A list holding the image's exact hash, and one holding an unrelated hash.
    let hit = dir.path().join("hit.te");
    fs::write(&hit, format!("pdq {pdq}\n")).unwrap();
    let far: String = pdq
        .chars()
        .map(|c| {
            let v = c.to_digit(16).unwrap() ^ 0xf;
            char::from_digit(v, 16).unwrap()
        })
        .collect();
    let miss = dir.path().join("miss.te");
    fs::write(&miss, format!("pdq {far}\n")).unwrap();

    let scan = |list: &std::path::Path| {
        let o = run(argv!["scan", "-q", "--all", "--list", list, img]);
        assert!(matches!(code(&o), 0 | 1), "{}", stderr(&o));
        jsonl(&o.stdout)
    };
    let recs = scan(&hit);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["verdict"], "match");
    assert_eq!(recs[0]["hashes"]["pdq"], pdq.as_str());
    assert_eq!(recs[0]["distance"], 0);
    let recs = scan(&miss);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["verdict"], "clean");
    assert!(recs[0]["hashes"].get("pdq").is_none(), "{}", recs[0]);
}
