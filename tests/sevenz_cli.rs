//! 7z archives are opened (issue 18 point 5): every member is an item whose digests equal
//! what `7z x` extracts hashed by coreutils (`fixtures/containers/EXPECTED.tsv`), solid or
//! not, whatever the method vigie decodes; what it cannot read is a failed item naming the
//! member and the reason (encrypted, a method, a CRC, a bomb), never a digest. Fixtures made by
//! 7-Zip (`scripts/make_container_fixtures.sh`).
mod common;

use std::ffi::OsString;
use std::fs;
use std::path::Path;

use common::*;
use serde_json::Value;

/// Every method vigie decodes (LZMA2 solid and not, LZMA, BZip2, PPMd, Deflate, Copy, BCJ
/// before LZMA2): each member's digests are those `7z x` + md5sum/sha256sum give; the empty
/// file is an item of 0 bytes, the empty directory none; the archive's own record is its
/// coreutils digest. These archives were failed `unsupported` items.
#[test]
fn members_have_the_digests_7z_extracts() {
    for z in [
        "archive.7z",
        "solid.7z",
        "nonsolid.7z",
        "lzma.7z",
        "bzip2.7z",
        "ppmd.7z",
        "deflate.7z",
        "copy.7z",
        "bcj.7z",
    ] {
        let path = container(z);
        let (recs, status, err) = hash_md5_sha256(argv![path]);
        assert_eq!(status, 0, "{z}: {err}");
        let want = expected_members(z);
        assert!(want.len() >= 2, "{z}");
        assert_eq!(recs.len(), want.len() + 1, "{z}: {recs:?}");
        for (m, md5, sha) in &want {
            let r = member(&recs, m);
            assert_eq!(r["md5"].as_str(), Some(md5.as_str()), "{z}/{m}");
            assert_eq!(r["sha256"].as_str(), Some(sha.as_str()), "{z}/{m}");
        }
        let own = recs.iter().find(|r| r.get("member").is_none()).unwrap();
        assert_eq!(own["sha256"].as_str().unwrap(), sha256_of(&path), "{z}");
    }
    let (recs, _, _) = hash_md5_sha256(argv![container("solid.7z")]);
    assert_eq!(member(&recs, "empty.txt")["size"], 0);
    assert!(!recs.iter().any(|r| r["member"] == "emptydir"));
}

/// An image in a solid block is hashed perceptually as the same file on disk is.
#[test]
fn images_inside_a_7z_are_hashed_perceptually() {
    let photo = fixtures().join("images/rgb.jpg");
    let pdq = |p: &Path| {
        let out = run(argv!["hash", "-q", "--algo", "pdq,md5", p,]);
        jsonl(&out.stdout)
    };
    let want = pdq(&photo)[0]["pdq"].clone();
    assert!(want.is_string(), "{want}");
    for z in ["solid.7z", "nonsolid.7z"] {
        let recs = pdq(&container(z));
        assert_eq!(member(&recs, "dir/photo.jpg")["pdq"], want, "{z}");
    }
}

/// What vigie cannot read in a 7z is a failed item naming it: encrypted members
/// (`encrypted`), an encrypted header (the archive itself, its own digests kept), a method it
/// does not decode (`unsupported`, named), a member whose CRC fails (`decompress`, no digest;
/// the member before it reported), an archive cut short (`archive`).
#[test]
fn members_not_read_are_failed_items_naming_them() {
    let (recs, status, _) = hash_md5_sha256(argv![container("encrypted.7z")]);
    assert_eq!(status, 2);
    for m in ["a.txt", "c.txt"] {
        let r = member(&recs, m);
        assert_eq!(r["error_kind"], "encrypted", "{r}");
        assert!(r["error"].as_str().unwrap().contains(m), "{r}");
        assert!(r.get("md5").is_none(), "{r}");
    }
    let path = container("encrypted-header.7z");
    let (recs, status, _) = hash_md5_sha256(argv![path]);
    assert_eq!((recs.len(), status), (1, 2), "{recs:?}");
    assert_eq!(recs[0]["error_kind"], "encrypted", "{}", recs[0]);
    assert!(recs[0]["error"].as_str().unwrap().contains("header"));
    assert_eq!(recs[0]["sha256"].as_str().unwrap(), sha256_of(&path));

    let (recs, status, _) = hash_md5_sha256(argv![container("deflate64.7z")]);
    assert_eq!(status, 2);
    for m in ["a.txt", "c.txt"] {
        let r = member(&recs, m);
        assert_eq!(r["error_kind"], "unsupported", "{r}");
        assert!(r["error"].as_str().unwrap().contains("Deflate64"), "{r}");
    }

    let (recs, status, _) = hash_md5_sha256(argv![container("badcrc.7z")]);
    assert_eq!(status, 2);
    let c = member(&recs, "c.txt");
    assert_eq!(c["error_kind"], "decompress", "{c}");
    assert!(c["error"].as_str().unwrap().contains("CRC-32"), "{c}");
    assert!(c.get("md5").is_none(), "{c}");
    let (_, md5, _) = &expected_members("badcrc.7z")[0];
    assert_eq!(member(&recs, "a.txt")["md5"].as_str(), Some(md5.as_str()));

    let (recs, status, _) = hash_md5_sha256(argv![container("cut.7z")]);
    assert_eq!((recs.len(), status), (1, 2), "{recs:?}");
    assert_eq!(recs[0]["error_kind"], "archive", "{}", recs[0]);
    assert!(recs[0]["error"].as_str().unwrap().contains("cut short"));
}

/// Damage anywhere never yields a wrong digest: every prefix of a solid archive and many
/// single-byte corruptions of it (header, packed data) are read in one run; each member
/// reported without an error has exactly the digest `7z x` gives for that name, and nothing
/// panics.
#[test]
fn damaged_archives_never_report_an_unverified_member() {
    let dir = tempfile::tempdir().unwrap();
    let z = fs::read(container("solid.7z")).unwrap();
    let mut paths = Vec::new();
    for cut in (0..z.len()).step_by(97) {
        let p = dir.path().join(format!("cut{cut}.7z"));
        fs::write(&p, &z[..cut]).unwrap();
        paths.push(p);
    }
    for i in (0..z.len()).step_by(13) {
        let mut c = z.clone();
        c[i] ^= 0x55;
        let p = dir.path().join(format!("flip{i}.7z"));
        fs::write(&p, &c).unwrap();
        paths.push(p);
    }
    let (recs, status, _) = hash_md5_sha256(paths.iter().map(OsString::from).collect());
    assert_eq!(status, 2);
    let want = expected_members("solid.7z");
    let mut clean_members = 0;
    for r in recs.iter().filter(|r| r.get("error").is_none()) {
        let Some(m) = r["member"].as_str() else {
            continue;
        };
        let (_, md5, _) = want
            .iter()
            .find(|w| w.0 == m)
            .unwrap_or_else(|| panic!("{r}"));
        assert_eq!(r["md5"].as_str(), Some(md5.as_str()), "{r}");
        clean_members += 1;
    }
    // Flips in a member's packed bytes leave the members before it readable.
    assert!(clean_members > 0);
    for p in &paths {
        let name = p.to_str().unwrap();
        assert!(recs.iter().any(|r| r["path"] == name), "{name}: no record");
    }
}

/// A 7z bomb (256 MiB of zeros in 39 KB) stops at the limit from its header, fast, nothing
/// decoded; with a ratio limit that lets it through, `--max-expanded` stops the member.
#[test]
fn a_7z_bomb_stops_at_the_limit() {
    let start = std::time::Instant::now();
    let path = container("bomb.7z");
    let (recs, status, _) = hash_md5_sha256(argv![path]);
    assert_eq!(status, 2);
    let r = member(&recs, "zeros.bin");
    assert_eq!(r["error_kind"], "limit", "{r}");
    assert!(r["error"].as_str().unwrap().contains("--max-ratio"), "{r}");
    assert!(start.elapsed().as_secs() < 10);
    let (recs, status, _) = hash_md5_sha256(argv![
        "--max-ratio",
        "100000",
        "--max-expanded",
        "1000000",
        path,
    ]);
    assert_eq!(status, 2);
    let r = member(&recs, "zeros.bin");
    assert_eq!(r["error_kind"], "limit", "{r}");
    assert!(
        r["error"].as_str().unwrap().contains("--max-expanded"),
        "{r}"
    );
    let (recs, _, _) = hash_md5_sha256(argv!["--max-members", "2", container("solid.7z"),]);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["error_kind"], "limit");
    assert!(recs[0]["error"].as_str().unwrap().contains("--max-members"));
}

/// Containers inside a 7z are opened (a `.tar.gz`), and a 7z inside a zip: member chains,
/// the digests of `7z x` (+ `tar -xzO`) + coreutils; `--max-depth 0` leaves the inner 7z a
/// failed `limit` member with its own digests.
#[test]
fn nested_7z_containers_are_opened_in_turn() {
    for z in ["nested.7z", "sevenz.zip"] {
        let (recs, status, err) = hash_md5_sha256(argv![container(z)]);
        assert_eq!(status, 0, "{z}: {err}");
        let want = expected_members(z);
        assert!(!want.is_empty());
        for (m, md5, sha) in &want {
            let r = member(&recs, m);
            assert_eq!(r["md5"].as_str(), Some(md5.as_str()), "{z}/{m}");
            assert_eq!(r["sha256"].as_str(), Some(sha.as_str()), "{z}/{m}");
            let chain: Vec<&str> = m.splitn(2, '/').collect();
            assert_eq!(r["members"], serde_json::json!(chain), "{r}");
        }
    }
    let (recs, status, _) = hash_md5_sha256(argv!["--max-depth", "0", container("sevenz.zip"),]);
    assert_eq!(status, 2);
    let r = member(&recs, "inner7.7z");
    assert_eq!(r["error_kind"], "limit", "{r}");
    assert_eq!(
        r["sha256"].as_str().unwrap(),
        sha256_of(&container("solid.7z"))
    );
}

/// A 7z read as a stream, from standard input or as a large file with `--no-mmap`, is
/// copied aside and read as from a file: the same members and digests, never one unopened
/// item.
#[test]
fn a_7z_on_stdin_or_without_mmap_is_read_too() {
    let path = container("solid.7z");
    let sorted = |recs: &[Value]| {
        let mut v: Vec<(String, String)> = recs
            .iter()
            .filter_map(|r| Some((r["member"].as_str()?.to_string(), r["md5"].to_string())))
            .collect();
        v.sort();
        v
    };
    let (file, _, _) = hash_md5_sha256(argv![path]);
    let (piped, status) = hash_stdin(&["--algo", "md5,sha256"], &fs::read(&path).unwrap());
    assert_eq!(status, 0);
    assert_eq!(sorted(&piped), sorted(&file));
    assert_eq!(piped.len(), file.len());
    // Over 64 MiB with --no-mmap, a file is read as a stream: padding after the archive (its
    // header is found from the start header, so it stays valid) takes it there.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.7z");
    let mut padded = fs::read(&path).unwrap();
    padded.resize(65 << 20, 0);
    fs::write(&big, &padded).unwrap();
    let (streamed, status, err) = hash_md5_sha256(argv!["--no-mmap", big]);
    assert_eq!(status, 0, "{err}");
    assert_eq!(sorted(&streamed), sorted(&file));
    let own = streamed.iter().find(|r| r.get("member").is_none()).unwrap();
    assert_eq!(own["sha256"].as_str().unwrap(), sha256_of(&big));
}

/// RAR (either version) stays a failed `unsupported` item naming its format, counted by the
/// summary by that reason; the 7z beside it is read.
#[test]
fn rar_stays_unsupported_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let index = sha256_index(dir.path(), &format!("{}  x\n", "0".repeat(64)));
    let (out, s) = run_with_summary(
        dir.path(),
        argv![
            "scan",
            "-q",
            "--index",
            index,
            container("v4.rar"),
            container("v5.rar"),
            container("archive.7z"),
        ],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    // A scan writes matches to standard output and failures to standard error.
    let err = stderr(&out);
    for (rar, what) in [("v4.rar", "RAR archive"), ("v5.rar", "RAR 5 archive")] {
        let line = err
            .lines()
            .find(|l| l.contains(rar))
            .unwrap_or_else(|| panic!("{rar}: {err}"));
        assert!(
            line.contains(&format!("unsupported: {what}: not opened")),
            "{line}"
        );
    }
    assert_eq!(s["failed_by_reason"]["unsupported"], 2, "{s}");
    assert_eq!(s["failed"], 2, "{s}");
    assert_eq!(s["clean"], 3, "the 7z and its two members: {s}");
}
