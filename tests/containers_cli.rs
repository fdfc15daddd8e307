//! Containers vigie does not open are never reported clean (issue 18): a 7z, a RAR, an xz,
//! bzip2, gzip or zstd stream holding no tar, or any of these met as a tar member, is a failed
//! `unsupported` item naming its format, with its own exact digests (an exact hit on the
//! container still counts). Fixtures: `fixtures/containers/` (`scripts/make_container_fixtures.sh`).

mod common;

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

fn fixture(name: &str) -> PathBuf {
    fixtures().join("containers").join(name)
}

/// `vigie hash --algo md5,sha256 ARGS...`: its records and exit code.
fn hash(args: &[&OsStr]) -> (Vec<Value>, i32, String) {
    let mut a = vec![os("hash"), os("-q"), os("--algo"), os("md5,sha256")];
    a.extend_from_slice(args);
    let out = run(a);
    (jsonl(&out.stdout), code(&out), stderr(&out))
}

fn sha256_of(path: &Path) -> String {
    let out = tool("sha256sum", &[path.as_os_str()]);
    String::from_utf8(out).unwrap()[..64].to_string()
}

/// Each format vigie cannot open is a failed `unsupported` item naming it, whose digests are
/// the file's own (as coreutils compute them); the run exits 2. These were clean records.
#[test]
fn unopened_containers_are_failed_unsupported_items_with_their_own_digests() {
    let cases = [
        ("archive.7z", "7z archive: not opened"),
        ("v4.rar", "RAR archive: not opened"),
        ("v5.rar", "RAR 5 archive: not opened"),
        ("c.txt.xz", "xz stream: not decompressed"),
        ("c.txt.bz2", "bzip2 stream: not decompressed"),
        ("c.txt.gz", "gzip stream: not decompressed"),
        ("c.txt.zst", "zstd stream: not decompressed"),
    ];
    for (name, why) in cases {
        let path = fixture(name);
        let (recs, status, err) = hash(&[path.as_os_str()]);
        assert_eq!(recs.len(), 1, "{name}: {recs:?}");
        let r = &recs[0];
        assert_eq!(r["error_kind"], "unsupported", "{name}: {r}");
        let msg = r["error"].as_str().unwrap();
        assert!(msg.starts_with(why), "{name}: {msg}");
        assert_eq!(r["sha256"].as_str().unwrap(), sha256_of(&path), "{name}");
        assert_eq!(status, 2, "{name}: {err}");
        assert!(err.contains("unsupported"), "{name}: {err}");
    }
}

/// A copy named like a text file is still recognised (by content, never by name), and
/// `--no-archives` (every file one item, by request) reports it as a plain record.
#[test]
fn recognised_by_content_and_no_archives_opts_out() {
    let dir = tempfile::tempdir().unwrap();
    let disguised = dir.path().join("notes.txt");
    fs::copy(fixture("archive.7z"), &disguised).unwrap();
    let (recs, status, _) = hash(&[disguised.as_os_str()]);
    assert_eq!(recs[0]["error_kind"], "unsupported");
    assert_eq!(status, 2);
    let (recs, status, err) = hash(&[os("--no-archives"), disguised.as_os_str()]);
    assert!(recs[0].get("error").is_none(), "{:?}", recs[0]);
    assert_eq!(status, 0, "{err}");
    // Text that merely starts like a bzip2 header is no container.
    let text = dir.path().join("bzh.txt");
    fs::write(&text, "BZh9 is how a bzip2 stream starts\n").unwrap();
    let (recs, status, _) = hash(&[text.as_os_str()]);
    assert!(recs[0].get("error").is_none(), "{:?}", recs[0]);
    assert_eq!(status, 0);
}

/// Containers met as tar members are not opened (nesting is not read yet): each is a failed
/// `unsupported` member with its own digests; the tar's other members are read as before.
#[test]
fn containers_inside_a_tar_are_failed_unsupported_members() {
    let (recs, status, _) = hash(&[fixture("nested.tar").as_os_str()]);
    let by_member = |m: &str| {
        recs.iter()
            .find(|r| r["member"] == m)
            .unwrap_or_else(|| panic!("{m}: {recs:?}"))
    };
    assert!(by_member("a.txt").get("error").is_none());
    for (m, fmt) in [
        ("inner.zip", "zip archive"),
        ("inner.gz", "gzip stream"),
        ("inner.7z", "7z archive"),
    ] {
        let r = by_member(m);
        assert_eq!(r["error_kind"], "unsupported", "{r}");
        assert!(r["error"].as_str().unwrap().starts_with(fmt), "{r}");
        let want = sha256_of(&fixture(match m {
            "inner.zip" => "deflated.zip",
            "inner.gz" => "c.txt.gz",
            _ => "archive.7z",
        }));
        assert_eq!(r["sha256"].as_str().unwrap(), want, "{m}");
    }
    assert_eq!(status, 2);
}

/// An exact hit on an unopened container still counts: the scan reports the match (exit 1);
/// without a hit, the summary counts it as failed, by reason `unsupported`.
#[test]
fn a_hit_on_the_container_itself_is_a_match_and_the_summary_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let seven = fixture("archive.7z");
    let list = dir.path().join("bad.sha256");
    fs::write(&list, format!("{}  archive.7z\n", sha256_of(&seven))).unwrap();
    let index = dir.path().join("bad.vigie");
    let out = run([
        os("index"),
        os("build"),
        os("-o"),
        index.as_os_str(),
        list.as_os_str(),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let summary = dir.path().join("summary.json");
    let xz = fixture("c.txt.xz");
    let out = run([
        os("scan"),
        os("-q"),
        os("--index"),
        index.as_os_str(),
        os("--summary"),
        summary.as_os_str(),
        seven.as_os_str(),
        xz.as_os_str(),
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let recs = jsonl(&out.stdout);
    let hit = recs
        .iter()
        .find(|r| r["verdict"] == "match")
        .expect("the 7z's own hit");
    assert!(hit["path"].as_str().unwrap().ends_with("archive.7z"));
    let s: Value = serde_json::from_slice(&fs::read(&summary).unwrap()).unwrap();
    assert_eq!(s["matched"], 1, "{s}");
    assert_eq!(s["failed"], 1, "{s}");
    assert_eq!(s["clean"], 0, "{s}");
    assert_eq!(s["failed_by_reason"]["unsupported"], 1, "{s}");
}
