//! Zip members packed with deflate64, bzip2, LZMA (with and without its end marker), zstd and
//! xz are decoded and hashed (issue 18 point 2), each member's CRC-32 verified: their digests
//! are those 7-Zip's extraction and coreutils give (EXPECTED.tsv), a member whose packed bytes
//! are damaged is a failed item with no digest, and a member expanding far past its packed
//! bytes stops at the limits, under every method. Fixtures: `fixtures/containers/`
//! (`scripts/make_container_fixtures.sh`: 7-Zip, Info-ZIP zip, the zstd CLI).
mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::*;

/// Every zip of a method vigie decodes, with the method of its packed members.
const METHOD_ZIPS: [(&str, &str); 7] = [
    ("deflate64.zip", "deflate64"),
    ("bzip2.zip", "bzip2"),
    ("bzip2-7z.zip", "bzip2"),
    ("lzma.zip", "lzma"),
    ("lzma-noeos.zip", "lzma"),
    ("xz.zip", "xz"),
    ("zstd.zip", "zstd"),
];

/// The 4 MiB of zeros every method zip holds.
const ZEROS_MD5: &str = "b5cfa9d6c8febd618f91ac2843d50a1c";

/// Each member's digests equal 7-Zip's extraction + coreutils, whatever its method; the
/// zeros (4 MiB from under 1 KiB: over the default 1100:1 ratio except in deflate64, which
/// 7-Zip packs at 277:1) are a failed `limit` item naming --max-ratio, and with the ratio
/// raised they are decoded too, to the digests 7-Zip gives.
#[test]
fn every_method_reads_to_the_digests_7zip_gives() {
    for (z, method) in METHOD_ZIPS {
        let want = expected_members(z);
        assert!(want.len() >= 2, "{z}");
        let (recs, status, _) = hash_md5_sha256(argv![container(z)]);
        for (m, md5, sha) in &want {
            let r = member(&recs, m);
            if m == "zeros" && method != "deflate64" {
                assert_eq!(r["error_kind"], "limit", "{z}: {r}");
                assert!(r["error"].as_str().unwrap().contains("--max-ratio"), "{r}");
                assert!(r.get("md5").is_none());
                continue;
            }
            assert_eq!(r["md5"].as_str(), Some(md5.as_str()), "{z}/{m}: {r}");
            assert_eq!(r["sha256"].as_str(), Some(sha.as_str()), "{z}/{m}");
        }
        let has_zeros = recs.iter().any(|r| r["member"] == "zeros");
        let want_status = if has_zeros && method != "deflate64" {
            2
        } else {
            0
        };
        assert_eq!(status, want_status, "{z}: {recs:?}");
        // The zip's own record, last.
        assert!(recs.last().unwrap().get("member").is_none(), "{z}");

        let (recs, status, _) = hash_md5_sha256(argv!["--max-ratio", "100000", container(z)]);
        assert_eq!(status, 0, "{z}: {recs:?}");
        if has_zeros {
            assert_eq!(member(&recs, "zeros")["md5"], ZEROS_MD5, "{z}");
        }
    }
}

/// Bytes of `zip` holding member `name`'s local header fields and packed data: (offset of the
/// local header, offset of the data, packed size). The method zips carry sizes in their local
/// headers (no data descriptors).
fn local_member(zip: &[u8], name: &str) -> (usize, usize, usize) {
    let mut at = 0;
    while zip[at..].starts_with(b"PK\x03\x04") {
        let u16_at = |o: usize| u16::from_le_bytes([zip[at + o], zip[at + o + 1]]) as usize;
        let csize = u32::from_le_bytes(zip[at + 18..at + 22].try_into().unwrap()) as usize;
        let (n, x) = (u16_at(26), u16_at(28));
        let data = at + 30 + n + x;
        if &zip[at + 30..at + 30 + n] == name.as_bytes() {
            return (at, data, csize);
        }
        at = data + csize;
    }
    panic!("no local header for {name}");
}

/// A byte flipped in the middle of a member's packed data, under each method: the member is
/// a failed item (its decoder fails, or it decodes to other bytes than its CRC-32 and size
/// say) with no digest, never reported clean; the other members are read.
#[test]
fn a_corrupted_member_is_a_failed_item_with_no_digest() {
    let dir = tempfile::tempdir().unwrap();
    for (z, _) in METHOD_ZIPS {
        let mut bytes = fs::read(container(z)).unwrap();
        let (_, data, csize) = local_member(&bytes, "c.txt");
        bytes[data + csize / 2] ^= 0x55;
        let p = dir.path().join(z);
        fs::write(&p, &bytes).unwrap();
        let (recs, status, _) = hash_md5_sha256(argv![p]);
        assert_eq!(status, 2, "{z}");
        let c = member(&recs, "c.txt");
        let kind = c["error_kind"].as_str().unwrap_or_default();
        assert!(kind == "decompress" || kind == "archive", "{z}: {c}");
        assert!(
            c.get("md5").is_none(),
            "{z}: no digest of damaged bytes: {c}"
        );
        assert_eq!(
            member(&recs, "a.txt")["md5"],
            "6f5902ac237024bdd0c176cb93063dc4"
        );
    }
}

/// A member that declares 1000 bytes but decodes to 4 MiB (a bomb that lies about its size,
/// under the ratio check) is decoded no further than its declared size plus one byte, under
/// each method, and fails; with --max-expanded under its declared size, it is not decoded at
/// all (`limit`). Both fast.
#[test]
fn a_bomb_like_member_stops_at_the_limit_under_every_method() {
    let dir = tempfile::tempdir().unwrap();
    for (z, _) in METHOD_ZIPS {
        let mut bytes = fs::read(container(z)).unwrap();
        if !bytes.windows(5).any(|w| w == b"zeros") {
            continue;
        }
        let (local, _, _) = local_member(&bytes, "zeros");
        bytes[local + 22..local + 26].copy_from_slice(&1000u32.to_le_bytes());
        // Its central entry: the header whose name is `zeros`.
        let cd = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        let mut at = cd;
        loop {
            let n = u16::from_le_bytes([bytes[at + 28], bytes[at + 29]]) as usize;
            let x = u16::from_le_bytes([bytes[at + 30], bytes[at + 31]]) as usize;
            let c = u16::from_le_bytes([bytes[at + 32], bytes[at + 33]]) as usize;
            if &bytes[at + 46..at + 46 + n] == b"zeros" {
                bytes[at + 24..at + 28].copy_from_slice(&1000u32.to_le_bytes());
                break;
            }
            at += 46 + n + x + c;
        }
        let p = dir.path().join(z);
        fs::write(&p, &bytes).unwrap();
        let start = Instant::now();
        let (recs, status, _) = hash_md5_sha256(argv![p]);
        assert_eq!(status, 2, "{z}");
        let r = member(&recs, "zeros");
        let kind = r["error_kind"].as_str().unwrap_or_default();
        assert!(kind == "archive" || kind == "decompress", "{z}: {r}");
        assert!(r.get("md5").is_none(), "{z}: {r}");
        assert!(start.elapsed() < Duration::from_secs(20), "{z}");

        let (recs, status, _) = hash_md5_sha256(argv![
            "--max-expanded",
            "1048576",
            "--max-ratio",
            "100000",
            container(z),
        ]);
        assert_eq!(status, 2, "{z}");
        let r = member(&recs, "zeros");
        assert_eq!(r["error_kind"], "limit", "{z}: {r}");
        assert!(
            r["error"].as_str().unwrap().contains("--max-expanded"),
            "{r}"
        );
    }
}

/// Containers packed with LZMA inside a zip are opened as deflated ones are: the `.tar.gz`'s
/// and the `.xz`'s members have the digests `outer.zip`'s give (unzip, tar, xz + coreutils).
#[test]
fn containers_inside_lzma_members_are_opened() {
    let (recs, status, _) = hash_md5_sha256(argv![container("outer-lzma.zip")]);
    assert_eq!(status, 0, "{recs:?}");
    let want = expected_members("outer.zip");
    assert_eq!(want.len(), 3);
    for (m, md5, sha) in &want {
        let r = member(&recs, m);
        assert_eq!(r["md5"].as_str(), Some(md5.as_str()), "{m}");
        assert_eq!(r["sha256"].as_str(), Some(sha.as_str()), "{m}");
    }
    assert_eq!(recs.len(), 6, "{recs:?}");
}

/// A zip piped on standard input is spooled and opened (it was one item, failed
/// `unsupported`): the records of the same file, path `-`, with --no-mmap too; one over
/// --max-scan is hashed whole and fails `limit`; one cut short fails `archive`; a
/// self-extracting zip (a stub first) is told by its end and fails `unsupported`, never
/// clean.
#[test]
fn a_zip_piped_on_stdin_is_spooled_and_opened() {
    for z in ["lzma.zip", "deflated.zip", "zstd.zip", "zip64.zip"] {
        let bytes = fs::read(container(z)).unwrap();
        let (file, file_status, _) = hash_md5_sha256(argv![container(z)]);
        for extra in [&[][..], &["--no-mmap"][..]] {
            let (piped, status) = hash_stdin(&[&["--algo", "md5"], extra].concat(), &bytes);
            assert_eq!(status, file_status, "{z}");
            assert_eq!(piped.len(), file.len(), "{z}: {piped:?}");
            for (p, f) in piped.iter().zip(&file) {
                assert_eq!(p["path"], "-");
                assert_eq!(p["member"], f["member"], "{z}");
                assert_eq!(p["md5"], f["md5"], "{z}");
                assert_eq!(p["error_kind"], f["error_kind"], "{z}");
            }
        }
    }
    let bytes = fs::read(container("deflated.zip")).unwrap();
    let (piped, status) = hash_stdin(&["--algo", "md5", "--max-scan", "1000"], &bytes);
    assert_eq!(status, 2);
    assert_eq!(piped.len(), 1, "{piped:?}");
    assert_eq!(piped[0]["error_kind"], "limit", "{}", piped[0]);
    assert!(piped[0]["error"].as_str().unwrap().contains("--max-scan"));
    let md5 = String::from_utf8(tool("md5sum", &[container("deflated.zip").as_os_str()])).unwrap();
    assert_eq!(piped[0]["md5"], &md5[..32]);
    assert_eq!(piped[0]["size"], bytes.len());

    let (piped, status) = hash_stdin(
        &["--algo", "md5"],
        &fs::read(container("truncated.zip")).unwrap(),
    );
    assert_eq!(status, 2);
    assert_eq!(piped[0]["error_kind"], "archive", "{piped:?}");

    let mut sfx = b"#!/bin/sh\necho a stub\nexit 0\n".to_vec();
    sfx.extend_from_slice(&bytes);
    let (piped, status) = hash_stdin(&["--algo", "md5"], &sfx);
    assert_eq!(status, 2);
    assert_eq!(piped.len(), 1, "{piped:?}");
    assert_eq!(piped[0]["error_kind"], "unsupported", "{}", piped[0]);
    assert!(piped[0]["error"]
        .as_str()
        .unwrap()
        .contains("self-extracting"));
    assert!(piped[0]["md5"].is_string());
}
