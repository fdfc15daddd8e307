//! Damaged and concatenated tars (issue 16, point 4), read in place (`.tar`) and streamed
//! (`.tar.gz`), against what GNU tar lists for the same bytes.
//!
//! The archives are made here by the system `tar` (GNU format, fixed times and owners), then
//! damaged by hand: a first header with a bad checksum, a junk block between two members,
//! two archives concatenated (`cat a.tar b.tar`), junk after the end-of-archive marker.
//! vigie skips damage to the next valid header as GNU tar does, reads on after end markers as
//! `tar --ignore-zeros` does, and reports every byte it skipped as a failed `archive` item at
//! the archive (offset and size of the damage), beside the members it recovered.

mod common;

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use common::*;

/// Member content: deterministic, not compressible to nothing, never zero bytes.
fn content(seed: u64, len: usize) -> Vec<u8> {
    XorShift(0x9E37_79B9_7F4A_7C15 ^ seed).bytes(len, |w| (w as u8) | 1)
}

/// A tar made by GNU tar of `files` (name, content), in that order.
fn gnu_tar(dir: &Path, name: &str, files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let src = dir.join(format!("{name}.src"));
    std::fs::create_dir_all(&src).unwrap();
    for (n, data) in files {
        std::fs::write(src.join(n), data).unwrap();
    }
    let out = dir.join(name);
    let mut args: Vec<&OsStr> = [
        "--format=gnu",
        "--mtime=@0",
        "--owner=0",
        "--group=0",
        "--numeric-owner",
        "-cf",
    ]
    .iter()
    .map(OsStr::new)
    .collect();
    args.push(out.as_os_str());
    args.push(OsStr::new("-C"));
    args.push(src.as_os_str());
    args.extend(files.iter().map(|(n, _)| OsStr::new(*n)));
    tool("tar", &args);
    std::fs::read(out).unwrap()
}

fn abc(dir: &Path) -> (Vec<u8>, Vec<(&'static str, Vec<u8>)>) {
    let files = vec![
        ("a.txt", content(1, 700)),
        ("b.bin", content(2, 3000)),
        ("c.txt", content(3, 6)),
    ];
    (gnu_tar(dir, "abc.tar", &files), files)
}

fn gzip(tar: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(tar).unwrap();
    e.finish().unwrap()
}

/// MD5 by coreutils' `md5sum`.
fn md5_hex(data: &[u8]) -> String {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), data).unwrap();
    let out = tool("md5sum", &[f.path().as_os_str()]);
    String::from_utf8(out).unwrap()[..32].to_string()
}

/// What vigie reports for one archive.
#[derive(Debug)]
struct Report {
    code: i32,
    /// (member, md5) in archive order.
    members: Vec<(String, String)>,
    /// Failed items: (error_kind, offset, size, error).
    failures: Vec<(String, u64, u64, String)>,
}

fn hash(path: &Path) -> Report {
    let o = run([
        "hash".as_ref(),
        "-q".as_ref(),
        "--threads".as_ref(),
        "1".as_ref(),
        "--algo".as_ref(),
        "md5".as_ref(),
        path.as_os_str(),
    ]);
    let recs = jsonl(&o.stdout);
    let mut members: Vec<(u64, String, String)> = Vec::new();
    let mut failures = Vec::new();
    for r in &recs {
        let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
        let n = |k: &str| r[k].as_u64().unwrap();
        if r.get("error_kind").is_some() {
            assert!(r.get("md5").is_none(), "{r}");
            assert!(r.get("member").is_none(), "damage is at the archive: {r}");
            failures.push((s("error_kind"), n("offset"), n("size"), s("error")));
        } else {
            members.push((n("offset"), s("member"), s("md5")));
        }
    }
    members.sort();
    failures.sort();
    Report {
        code: code(&o),
        members: members.into_iter().map(|(_, m, h)| (m, h)).collect(),
        failures,
    }
}

/// Writes `tar` as NAME.tar and NAME.tar.gz, checks both read the same (the streamed walker
/// agrees with the in-place one), and returns the report.
fn scan_both(dir: &Path, name: &str, tar: &[u8]) -> Report {
    let plain = dir.join(format!("{name}.tar"));
    std::fs::write(&plain, tar).unwrap();
    let gz = dir.join(format!("{name}.tar.gz"));
    std::fs::write(&gz, gzip(tar)).unwrap();
    let a = hash(&plain);
    let b = hash(&gz);
    assert_eq!(a.code, b.code, "{name}: {a:?} {b:?}");
    assert_eq!(a.members, b.members, "{name}");
    assert_eq!(a.failures, b.failures, "{name}");
    a
}

/// GNU tar's listing of `tar` (with `-i` when `ignore_zeros`): exit code and names.
fn gnu_list(dir: &Path, tar: &[u8], ignore_zeros: bool) -> (i32, Vec<String>) {
    let p = dir.join("listed.tar");
    std::fs::write(&p, tar).unwrap();
    let mut c = Command::new("tar");
    if ignore_zeros {
        c.arg("-i");
    }
    let o = c.arg("-tf").arg(&p).output().expect("GNU tar is installed");
    let names = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    (o.status.code().unwrap(), names)
}

fn want(files: &[(&str, Vec<u8>)]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(n, d)| (n.to_string(), md5_hex(d)))
        .collect()
}

fn names(r: &Report) -> Vec<String> {
    r.members.iter().map(|(m, _)| m.clone()).collect()
}

#[test]
fn first_header_with_a_bad_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let (mut tar, files) = abc(dir.path());
    // One flipped bit in the first member's name: its checksum no longer holds.
    tar[3] ^= 1;
    let r = scan_both(dir.path(), "first", &tar);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.members, want(&files[1..]), "the other members are found");
    // The damaged header and a.txt's data (700 bytes, two blocks) up to b.bin's header.
    assert_eq!(r.failures.len(), 1, "{r:?}");
    let (kind, offset, size, msg) = &r.failures[0];
    assert_eq!((kind.as_str(), *offset, *size), ("archive", 0, 3 * 512));
    assert_eq!(
        msg,
        "at offset 0: skipped 1536 bytes of damaged headers (bad header checksum) up to the next valid header, at offset 1536"
    );
    // GNU tar lists the same members, and fails too.
    let (code, gnu) = gnu_list(dir.path(), &tar, false);
    assert_eq!((code, gnu), (2, names(&r)));
}

#[test]
fn junk_block_between_members() {
    let dir = tempfile::tempdir().unwrap();
    let (clean, files) = abc(dir.path());
    // After a.txt (header and two data blocks), one block of junk.
    let at = 3 * 512;
    let tar = [&clean[..at], &[0xAA; 512], &clean[at..]].concat();
    let r = scan_both(dir.path(), "junk", &tar);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.members, want(&files));
    assert_eq!(r.failures.len(), 1, "{r:?}");
    let (kind, offset, size, msg) = &r.failures[0];
    assert_eq!((kind.as_str(), *offset, *size), ("archive", at as u64, 512));
    assert!(
        msg.contains("skipped 512 bytes of damaged headers"),
        "{msg}"
    );
    let (code, gnu) = gnu_list(dir.path(), &tar, false);
    assert_eq!((code, gnu), (2, names(&r)));
}

#[test]
fn concatenated_archives() {
    let dir = tempfile::tempdir().unwrap();
    let (a, files_a) = abc(dir.path());
    let files_b = vec![("d.txt", content(4, 100)), ("e.bin", content(5, 5000))];
    let b = gnu_tar(dir.path(), "de.tar", &files_b);
    // `cat a.tar b.tar`: GNU tar pads each to its 10 KiB record, so zeros lie between them.
    let cat = [&a[..], &b[..]].concat();
    let r = scan_both(dir.path(), "cat", &cat);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.failures.is_empty(), "{r:?}");
    let mut all = want(&files_a);
    all.extend(want(&files_b));
    assert_eq!(r.members, all, "the second archive is read too");
    // GNU tar lists only the first archive, unless told to ignore zero blocks (-i).
    let (code, gnu) = gnu_list(dir.path(), &cat, false);
    assert_eq!((code, gnu), (0, names(&r)[..3].to_vec()));
    let (code, gnu) = gnu_list(dir.path(), &cat, true);
    assert_eq!((code, gnu), (0, names(&r)));
    // `cat a.tar.gz b.tar.gz`: one multi-member gzip stream holding both archives.
    let p = dir.path().join("cat-gz.tar.gz");
    std::fs::write(&p, [gzip(&a), gzip(&b)].concat()).unwrap();
    let gz = hash(&p);
    assert_eq!((gz.code, gz.members, gz.failures), (0, all, vec![]));
}

#[test]
fn junk_after_the_end_marker() {
    let dir = tempfile::tempdir().unwrap();
    let (tar, files) = abc(dir.path());
    let junk = b"trailing junk that is no tar header\n";
    let with_junk = [&tar[..], junk].concat();
    let r = scan_both(dir.path(), "trailing", &with_junk);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.members, want(&files));
    // The unread junk is a failed item naming its range; nothing in it was read as content.
    assert_eq!(r.failures.len(), 1, "{r:?}");
    let (kind, offset, size, msg) = &r.failures[0];
    assert_eq!(
        (kind.as_str(), *offset, *size),
        ("archive", tar.len() as u64, junk.len() as u64)
    );
    assert!(
        msg.contains("bytes of trailing data after the end-of-archive marker at offset")
            && msg.ends_with("hold no valid header: not read"),
        "{msg}"
    );
    // GNU tar lists the members and says nothing of the junk (exit 0): here vigie differs.
    let (code, gnu) = gnu_list(dir.path(), &with_junk, false);
    assert_eq!((code, gnu), (0, names(&r)));
    // Zero padding after the marker (tape records) is normal: a clean archive.
    let padded = [&tar[..], &[0u8; 20_480]].concat();
    let r = scan_both(dir.path(), "padded", &padded);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.failures.is_empty(), "{r:?}");
    assert_eq!(r.members, want(&files));
}

/// A file that merely holds a checksum-valid header past the recognition window, or random
/// bytes, stays one opaque item: recovery does not make every blob a "damaged tar".
#[test]
fn blobs_stay_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let (tar, _) = abc(dir.path());
    let far = [&content(9, 64 << 10)[..], &tar].concat();
    let p = dir.path().join("far.bin");
    std::fs::write(&p, &far).unwrap();
    let r = hash(&p);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.members, [(String::new(), md5_hex(&far))]);
    // Within the window, the same bytes are a tar whose first header is damaged.
    let near = [&content(9, 4096)[..], &tar].concat();
    let r = scan_both(dir.path(), "near", &near);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(names(&r), ["a.txt", "b.bin", "c.txt"]);
    assert_eq!(r.failures.len(), 1);
    assert_eq!((r.failures[0].1, r.failures[0].2), (0, 4096));
}
