//! The tar reader's tests: the fixtures of `fixtures/tar` (made by `make.sh` with GNU tar,
//! bsdtar and star) read by both front ends, headers built by hand for each kind of damage,
//! and random mutations of the fixtures.

use std::io::{self, Read};

use super::header::*;
use super::*;
use crate::source::archive::Fault;
use crate::testing::XorShift;

/// Member content, as `fixtures/tar/make.sh` generates it.
fn content(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + seed * 7 + i / 251) % 256) as u8)
        .collect()
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/tar/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const LONG_DIR: &[u8] = b"d/a_fairly_long_directory_name_for_testing_the_ustar_prefix_split/";
const LONG: &[u8] = b"d/a_fairly_long_directory_name_for_testing_the_ustar_prefix_split/and_a_long_file_name_too_so_the_total_exceeds_one_hundred.bin";

/// Name, kind, (seed, length) of the content, link target.
type Want = (
    &'static [u8],
    EntryKind,
    (usize, usize),
    Option<&'static [u8]>,
);

/// What the fixtures hold, in archive order: name, kind, (seed, length) of the content,
/// link target.
fn expected(with_long: bool) -> Vec<Want> {
    use EntryKind::*;
    let mut v: Vec<Want> = vec![(b"d/", Directory, (0, 0), None)];
    if with_long {
        v.push((LONG_DIR, Directory, (0, 0), None));
        v.push((LONG, Regular, (6, 1000), None));
    }
    v.extend([
        (&b"d/caf\xe9.bin"[..], Regular, (4, 77), None),
        (b"d/empty", Regular, (0, 0), None),
        (b"d/exact512", Regular, (1, 512), None),
        (b"d/hard", Hardlink, (0, 0), Some(&b"d/exact512"[..])),
        (b"d/link", Symlink, (0, 0), Some(&b"exact512"[..])),
        (b"d/new\nline", Regular, (5, 33), None),
        (b"d/over513", Regular, (2, 513), None),
        (b"d/sub/", Directory, (0, 0), None),
        (b"d/sub/big.bin", Regular, (7, 3000), None),
        (b"d/with space.txt", Regular, (3, 100), None),
    ]);
    v
}

fn slice_members(bytes: &[u8]) -> Vec<Result<TarMember, TarError>> {
    TarSlice::new(bytes).collect()
}

/// What a stream yields, as [`TarSlice`] would: members with their data (read whole),
/// damage skipped, and the error ending the walk (a member whose data runs past the end of
/// the stream is that error, in place of the member, as [`TarSlice`] refuses it up front).
fn stream_data(r: impl Read) -> Vec<Result<(TarMember, Vec<u8>), TarError>> {
    let mut s = TarStream::new(r);
    let mut out = Vec::new();
    loop {
        match s.next_member() {
            Ok(Some(m)) => {
                let mut data = Vec::new();
                if s.data().read_to_end(&mut data).is_err() {
                    out.push(Err(s.next_member().expect_err("failed data read reported")));
                    assert!(matches!(s.next_member(), Ok(None)));
                    return out;
                }
                assert_eq!(data.len() as u64, m.size);
                out.push(Ok((m, data)));
            }
            Ok(None) => return out,
            Err(e) => {
                let resumes = e.resumes();
                out.push(Err(e));
                if !resumes {
                    assert!(matches!(s.next_member(), Ok(None)), "error reported once");
                    return out;
                }
            }
        }
    }
}

/// [`stream_data`] without the data.
fn stream_all(r: impl Read) -> Vec<Result<TarMember, TarError>> {
    stream_data(r)
        .into_iter()
        .map(|r| r.map(|(m, _)| m))
        .collect()
}

/// Every member and its data read through a stream, and the error ending it (damage
/// skipped is passed over).
fn stream_members(r: impl Read) -> (Vec<(TarMember, Vec<u8>)>, Option<TarError>) {
    let mut out = Vec::new();
    for r in stream_data(r) {
        match r {
            Ok(m) => out.push(m),
            Err(e) if e.resumes() => {}
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

/// What both walkers yield on `bytes` (checked equal, the stream read in short reads too).
fn walk(bytes: &[u8]) -> Vec<Result<TarMember, TarError>> {
    let all = slice_members(bytes);
    assert_eq!(stream_all(bytes), all, "stream and slice agree");
    assert_eq!(stream_all(Dribble(bytes, 0)), all, "short reads");
    all
}

fn check_fixture(name: &str, with_long: bool) {
    let bytes = fixture(name);
    assert!(is_tar_header(&bytes), "{name}: first header detected");
    let members: Vec<TarMember> = slice_members(&bytes)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let want = expected(with_long);
    let names: Vec<_> = members.iter().map(|m| escape_name(&m.name)).collect();
    assert_eq!(members.len(), want.len(), "{name}: {names:?}");
    for (m, (wname, kind, (seed, len), link)) in members.iter().zip(want) {
        let shown = escape_name(wname);
        assert_eq!(m.name, wname, "{name}");
        assert_eq!(m.kind, kind, "{name}: {shown}");
        assert_eq!(m.size, len as u64, "{name}: {shown}");
        assert_eq!(m.link.as_deref(), link, "{name}: {shown}");
        assert_eq!(m.data_offset % BLOCK_U64, 0);
        assert!(m.header_offset < m.data_offset);
        assert_eq!(
            m.data(&bytes),
            Some(&content(seed, len)[..]),
            "{name}: {shown}"
        );
    }
    // The stream agrees, member for member and byte for byte.
    let (streamed, err) = stream_members(&bytes[..]);
    assert_eq!(err, None);
    assert_eq!(streamed.len(), members.len());
    for ((sm, data), m) in streamed.iter().zip(&members) {
        assert_eq!(sm, m);
        assert_eq!(Some(&data[..]), m.data(&bytes));
    }
}

#[test]
fn reads_ustar() {
    check_fixture("ustar.tar", true);
}

#[test]
fn reads_gnu() {
    check_fixture("gnu.tar", true);
}

#[test]
fn reads_pax() {
    check_fixture("pax.tar", true);
}

#[test]
fn reads_v7() {
    check_fixture("v7.tar", false);
}

#[test]
fn compressed_streams_match_the_plain_tar() {
    let plain = fixture("pax.tar");
    let want: Vec<(TarMember, Vec<u8>)> = slice_members(&plain)
        .into_iter()
        .map(|m| {
            let m = m.unwrap();
            let data = m.data(&plain).unwrap().to_vec();
            (m, data)
        })
        .collect();
    let gz = fixture("pax.tar.gz");
    let (got, err) = stream_members(flate2::read::GzDecoder::new(&gz[..]));
    assert_eq!(err, None);
    assert_eq!(got, want);
    let zst = fixture("pax.tar.zst");
    let (got, err) = stream_members(zstd::Decoder::new(&zst[..]).unwrap());
    assert_eq!(err, None);
    assert_eq!(got, want);
}

#[test]
fn stream_skips_unread_and_partly_read_data() {
    let bytes = fixture("gnu.tar");
    let mut s = TarStream::new(&bytes[..]);
    let mut names = Vec::new();
    let mut i = 0;
    while let Some(m) = s.next_member().unwrap() {
        // Read nothing, a little, or everything, by turns.
        let mut buf = [0u8; 7];
        match i % 3 {
            0 => {}
            1 => {
                let n = s.data().read(&mut buf).unwrap();
                assert_eq!(&buf[..n], &m.data(&bytes).unwrap()[..n]);
            }
            _ => {
                let mut all = Vec::new();
                s.data().read_to_end(&mut all).unwrap();
                assert_eq!(all, m.data(&bytes).unwrap());
            }
        }
        names.push(m.name);
        i += 1;
    }
    assert_eq!(names.len(), expected(true).len());
    assert!(s.position() <= bytes.len() as u64);
}

#[test]
fn detects_headers_by_content() {
    for f in ["ustar.tar", "gnu.tar", "pax.tar", "v7.tar"] {
        assert!(is_tar_header(&fixture(f)[..BLOCK_LEN]), "{f}");
    }
    assert!(!is_tar_header(&[0u8; BLOCK_LEN]));
    assert!(!is_tar_header(&fixture("ustar.tar")[..BLOCK_LEN - 1]));
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.resize(BLOCK_LEN, 0);
    assert!(!is_tar_header(&png));
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..1000 {
        let block: Vec<u8> = (0..BLOCK_LEN).map(|_| rng.next() as u8).collect();
        assert!(!is_tar_header(&block));
    }
    // A valid checksum alone is not enough for v7: the rest must look like a header.
    let mut junk = header(b"x", b'0', 0);
    junk[MAGIC].copy_from_slice(b"junk\0\0");
    fix_checksum(&mut junk);
    assert!(!is_tar_header(&junk));
}

#[test]
fn checksum_accepts_signed_sums() {
    let mut h = header(b"caf\xe9", b'0', 0);
    let signed: i64 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if CHKSUM.contains(&i) {
                32
            } else {
                i64::from(b as i8)
            }
        })
        .sum();
    h[CHKSUM].copy_from_slice(format!("{signed:06o}\0 ").as_bytes());
    assert!(checksum_ok(&h));
    h[CHKSUM].copy_from_slice(format!("{:06o}\0 ", signed + 1).as_bytes());
    assert!(!checksum_ok(&h));
}

#[test]
fn numeric_fields() {
    assert_eq!(parse_numeric(b"00000001000\0"), Some(512));
    assert_eq!(parse_numeric(b"  1000 \0\0\0\0\0"), Some(512));
    assert_eq!(parse_numeric(b"1000        "), Some(512));
    assert_eq!(parse_numeric(b"\0\0\0\0\0\0\0\0\0\0\0\0"), Some(0));
    assert_eq!(parse_numeric(b"            "), Some(0));
    assert_eq!(parse_numeric(b"0000000100 8"), None);
    assert_eq!(parse_numeric(b"00000001009\0"), None);
    assert_eq!(parse_numeric(b"1 2\0"), None);
    assert_eq!(parse_octal(b"\0\0\0\0\0\0\0\0", false), None);
    assert_eq!(
        parse_octal(b"77777777777777777777777", true),
        None,
        "overflow"
    );
    // Base-256: 9 GiB, the largest positive value, negative values, overflow.
    let nine_gib = 9u64 << 30;
    let mut f = [0u8; 12];
    f[0] = 0x80;
    f[4..].copy_from_slice(&nine_gib.to_be_bytes());
    assert_eq!(parse_numeric(&f), Some(nine_gib));
    f[4..].copy_from_slice(&u64::MAX.to_be_bytes());
    assert_eq!(parse_numeric(&f), Some(u64::MAX));
    f[3] = 1;
    assert_eq!(parse_numeric(&f), None, "over u64");
    assert_eq!(parse_numeric(&[0xff; 12]), None, "negative");
    assert_eq!(parse_decimal(b"18446744073709551616"), None);
    assert_eq!(parse_decimal(b"-1"), None);
}

// ---- Hand-built archives -------------------------------------------------------------

fn fix_checksum(h: &mut [u8; BLOCK_LEN]) {
    h[CHKSUM].fill(b' ');
    let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
    h[CHKSUM].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

/// A ustar header with an octal size.
fn header(name: &[u8], flag: u8, size: u64) -> [u8; BLOCK_LEN] {
    let mut h = [0u8; BLOCK_LEN];
    h[..name.len()].copy_from_slice(name);
    h[MODE].copy_from_slice(b"0000644\0");
    h[SIZE].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[TYPEFLAG] = flag;
    h[MAGIC_VERSION].copy_from_slice(b"ustar\x0000");
    fix_checksum(&mut h);
    h
}

/// Appends a member: header, data, padding.
fn push(tar: &mut Vec<u8>, h: [u8; BLOCK_LEN], data: &[u8]) {
    tar.extend_from_slice(&h);
    tar.extend_from_slice(data);
    tar.resize(tar.len().next_multiple_of(BLOCK_LEN), 0);
}

fn push_file(tar: &mut Vec<u8>, name: &[u8], data: &[u8]) {
    push(tar, header(name, b'0', data.len() as u64), data);
}

fn push_pax(tar: &mut Vec<u8>, flag: u8, records: &[u8]) {
    push(
        tar,
        header(b"PaxHeader", flag, records.len() as u64),
        records,
    );
}

/// One pax record with its length computed.
fn rec(key: &str, value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3;
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    [format!("{len} {key}=").as_bytes(), value, b"\n"].concat()
}

fn finish(tar: &mut Vec<u8>) {
    tar.extend_from_slice(&[0u8; 2 * BLOCK_LEN]);
}

fn first_err(bytes: &[u8]) -> TarError {
    walk(bytes)
        .into_iter()
        .find_map(Result::err)
        .expect("an error")
}

#[test]
fn end_of_archive_variants() {
    let mut tar = Vec::new();
    push_file(&mut tar, b"a", b"hello");
    let names = |b: &[u8]| -> Vec<Vec<u8>> {
        let slice: Vec<_> = slice_members(b)
            .into_iter()
            .map(|m| m.unwrap().name)
            .collect();
        let (stream, err) = stream_members(b);
        assert_eq!(err, None);
        assert_eq!(
            stream.into_iter().map(|(m, _)| m.name).collect::<Vec<_>>(),
            slice
        );
        slice
    };
    // No end marker at all; cut in the padding; one zero block; a partial zero block.
    assert_eq!(names(&tar), [b"a"]);
    assert_eq!(names(&tar[..BLOCK_LEN + 5]), [b"a"]);
    assert_eq!(names(&tar[..BLOCK_LEN + 100]), [b"a"]);
    let mut one_zero = tar.clone();
    one_zero.extend_from_slice(&[0; BLOCK_LEN]);
    assert_eq!(names(&one_zero), [b"a"]);
    one_zero.extend_from_slice(&[0; 100]);
    assert_eq!(names(&one_zero), [b"a"]);
    // Zero padding after the end marker (tape records) is no damage.
    let mut padded = tar.clone();
    padded.resize(10_240, 0);
    assert_eq!(names(&padded), [b"a"]);
    // A lone zero block followed by a real header does not hide the members after it.
    let mut lone = tar.clone();
    lone.extend_from_slice(&[0; BLOCK_LEN]);
    push_file(&mut lone, b"b", b"world");
    finish(&mut lone);
    assert_eq!(names(&lone), [&b"a"[..], b"b"]);
    // Empty input is an empty archive.
    assert!(names(b"").is_empty());
}

/// `gnu.tar` and its member `d/sub/big.bin` (3000 bytes).
fn gnu_big() -> (Vec<u8>, TarMember) {
    let bytes = fixture("gnu.tar");
    let big = slice_members(&bytes)
        .into_iter()
        .map(Result::unwrap)
        .find(|m| m.name == b"d/sub/big.bin")
        .unwrap();
    (bytes, big)
}

#[test]
fn truncated_mid_data_names_the_member() {
    let (bytes, big) = gnu_big();
    let cut = &bytes[..big.data_offset as usize + 100];
    let all = slice_members(cut);
    assert_eq!(all.len(), expected(true).len() - 1);
    let e = first_err(cut);
    assert_eq!(e.member.as_deref(), Some(&b"d/sub/big.bin"[..]));
    assert_eq!(e.offset, big.header_offset);
    assert_eq!(
        e.reason,
        "member size 3000 runs past end of archive (only 100 bytes left)"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "at offset {} (member d/sub/big.bin): {}",
            big.header_offset, e.reason
        )
    );
}

#[test]
fn truncated_mid_header() {
    let bytes = fixture("ustar.tar");
    let m = slice_members(&bytes)[3].clone().unwrap();
    let e = first_err(&bytes[..m.header_offset as usize + 100]);
    assert_eq!(e.offset, m.header_offset);
    assert_eq!(e.member, None);
    assert!(e.reason.starts_with("truncated header"), "{e}");
}

#[test]
fn size_past_end_names_the_member() {
    let mut tar = Vec::new();
    push_file(&mut tar, b"ok", b"fine");
    let mut h = header(b"too big", b'0', 1_048_576);
    fix_checksum(&mut h);
    tar.extend_from_slice(&h);
    tar.extend_from_slice(&[7; 300]);
    let e = first_err(&tar);
    assert_eq!(e.offset, BLOCK_U64 * 2);
    assert_eq!(
        e.to_string(),
        "at offset 1024 (member too big): member size 1048576 runs past end of archive (only 300 bytes left)"
    );
}

#[test]
fn base256_sizes() {
    let mut h = header(b"small", b'0', 0);
    h[SIZE].fill(0);
    h[SIZE.start] = 0x80;
    h[SIZE.end - 1] = 5;
    fix_checksum(&mut h);
    let mut tar = Vec::new();
    push(&mut tar, h, b"12345");
    finish(&mut tar);
    let m = slice_members(&tar)[0].clone().unwrap();
    assert_eq!(m.data(&tar), Some(&b"12345"[..]));
    // A 9 GiB member (GNU writes its size in base-256) in a small archive.
    let mut h = header(b"huge.iso", b'0', 0);
    h[SIZE].fill(0);
    h[SIZE.start] = 0x80;
    h[SIZE.end - 8..SIZE.end].copy_from_slice(&(9u64 << 30).to_be_bytes());
    fix_checksum(&mut h);
    let mut tar = h.to_vec();
    tar.extend_from_slice(&[1; 2000]);
    let e = first_err(&tar);
    assert_eq!(
        e.reason,
        "member size 9663676416 runs past end of archive (only 2000 bytes left)"
    );
}

/// Offset, bytes skipped and reason of an error that resumes the walk.
fn damage(r: &Result<TarMember, TarError>) -> (u64, u64, &str) {
    let e = r.as_ref().expect_err("damage");
    assert!(e.resumes(), "{e}");
    assert_eq!(e.member, None);
    (e.offset, e.skipped, &e.reason)
}

fn names_of(all: &[Result<TarMember, TarError>]) -> Vec<&[u8]> {
    all.iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|m| &m.name[..])
        .collect()
}

#[test]
fn bad_checksum_is_skipped_to_the_next_header() {
    let clean = fixture("ustar.tar");
    let all = walk(&clean);
    let third = all[2].clone().unwrap();
    let fourth = all[3].clone().unwrap();
    let mut bytes = clean.clone();
    bytes[third.header_offset as usize + 3] ^= 1;
    let got = walk(&bytes);
    // The damaged header and its data, up to the next header, are one error in place of
    // the member; everything else is as in the clean archive.
    assert_eq!(got.len(), all.len());
    assert_eq!(got[..2], all[..2]);
    assert_eq!(got[3..], all[3..]);
    let data_end = (third.data_offset + third.size).next_multiple_of(BLOCK_U64);
    assert_eq!(
        damage(&got[2]),
        (
            third.header_offset,
            data_end - third.header_offset,
            &*format!(
                "skipped {} bytes of damaged headers (bad header checksum) up to the next valid header, at offset {}",
                data_end - third.header_offset,
                fourth.header_offset
            )
        )
    );
    // A corrupt pax header (and its records, skipped): the member header it was for is
    // found, named by its own field; the other members are untouched.
    let clean = walk(&fixture("pax.tar"));
    let first = clean[0].clone().unwrap();
    let mut bytes = fixture("pax.tar");
    bytes[3] ^= 1;
    let got = walk(&bytes);
    assert_eq!(damage(&got[0]).0..damage(&got[0]).1, 0..first.header_offset);
    assert_eq!(got[1].as_ref().unwrap().header_offset, first.header_offset);
    assert_eq!(got[2..], clean[1..]);
    // A corrupt first header: the other members are found.
    let mut bytes = fixture("v7.tar");
    bytes[0] = b'X';
    assert!(!is_tar_header(&bytes) && looks_like_tar(&bytes));
    let got = walk(&bytes);
    assert_eq!(damage(&got[0]).0, 0);
    assert!(damage(&got[0]).2.contains("(bad header checksum)"));
    assert_eq!(got[1..], walk(&fixture("v7.tar"))[1..]);
}

#[test]
fn malformed_size_is_damage() {
    let mut tar = Vec::new();
    let mut h = header(b"bad size", b'0', 0);
    h[SIZE].copy_from_slice(b"0000000009x\0");
    fix_checksum(&mut h);
    push(&mut tar, h, b"");
    push_file(&mut tar, b"b", b"bee");
    finish(&mut tar);
    let got = walk(&tar);
    assert_eq!(
        damage(&got[0]),
        (0, 512, "skipped 512 bytes of damaged headers (malformed size field) up to the next valid header, at offset 512")
    );
    assert_eq!(names_of(&got), [b"b"]);
}

#[test]
fn junk_between_members_is_skipped() {
    let mut tar = Vec::new();
    push_file(&mut tar, b"a", b"alpha");
    let junk_at = tar.len() as u64;
    tar.extend_from_slice(&[0xAA; 2 * BLOCK_LEN]);
    // Zero blocks after the junk are padding: not counted as damage.
    tar.extend_from_slice(&[0; 2 * BLOCK_LEN]);
    let b_at = tar.len() as u64;
    push_file(&mut tar, b"b", b"beta");
    finish(&mut tar);
    let got = walk(&tar);
    assert_eq!(names_of(&got), [&b"a"[..], b"b"]);
    assert_eq!(
        damage(&got[1]),
        (junk_at, 1024, &*format!("skipped 1024 bytes of damaged headers (bad header checksum) up to the next valid header, at offset {b_at}"))
    );
    assert_eq!(got[2].as_ref().unwrap().data(&tar), Some(&b"beta"[..]));
    // Junk to the end of the archive, with no end marker.
    let mut cut = tar[..b_at as usize].to_vec();
    cut.truncate(junk_at as usize + 700);
    let got = walk(&cut);
    assert_eq!(
        damage(&got[1]),
        (junk_at, 700, "700 bytes of damaged headers (bad header checksum) with no valid header after them up to the end of the archive: not read")
    );
    assert_eq!(got.len(), 2);
}

#[test]
fn concatenated_archives_are_read_whole() {
    let mut a = Vec::new();
    push_file(&mut a, b"a1", b"one");
    push_file(&mut a, b"a2", b"two");
    finish(&mut a);
    a.resize(10_240, 0);
    let mut b = Vec::new();
    push_file(&mut b, b"b1", b"three");
    finish(&mut b);
    let cat = [&a[..], &b[..], &a[..]].concat();
    let got = walk(&cat);
    assert_eq!(names_of(&got), [&b"a1"[..], b"a2", b"b1", b"a1", b"a2"]);
    assert!(got.iter().all(Result::is_ok));
    let second = got[2].as_ref().unwrap();
    assert_eq!(second.header_offset, 10_240);
    assert_eq!(second.data(&cat), Some(&b"three"[..]));
}

#[test]
fn trailing_data_after_the_end_marker() {
    let mut tar = Vec::new();
    push_file(&mut tar, b"a", b"hello");
    finish(&mut tar);
    let end = tar.len() as u64;
    // Junk holding no header: every member, then the unread junk as damage.
    let mut junk = tar.clone();
    junk.extend_from_slice(b"not a tar header, and no more");
    let got = walk(&junk);
    assert_eq!(names_of(&got), [b"a"]);
    assert_eq!(
        damage(&got[1]),
        (end, 29, "29 bytes of trailing data after the end-of-archive marker at offset 1024 hold no valid header: not read")
    );
    // After a lone zero block, and with zeros after the junk: the junk alone is counted.
    let mut lone = tar[..2 * BLOCK_LEN + BLOCK_LEN].to_vec();
    lone.extend_from_slice(&[0xAA; BLOCK_LEN]);
    lone.extend_from_slice(&[0; 3 * BLOCK_LEN]);
    let got = walk(&lone);
    assert_eq!(
        damage(&got[1]),
        (1536, 512, "512 bytes of trailing data after a lone zero block at offset 1024 hold no valid header: not read")
    );
    // Junk then a hidden archive: both reported.
    let mut hidden = junk.clone();
    hidden.resize(hidden.len().next_multiple_of(BLOCK_LEN), 0);
    let hidden_at = hidden.len();
    push_file(&mut hidden, b"hidden", b"secret");
    let got = walk(&hidden);
    assert_eq!(names_of(&got), [&b"a"[..], b"hidden"]);
    assert_eq!(
        damage(&got[1]),
        (end, 512, &*format!("skipped 512 bytes of junk after the end-of-archive marker at offset 1024 up to the next valid header, at offset {hidden_at}"))
    );
    assert_eq!(got[2].as_ref().unwrap().data(&hidden), Some(&b"secret"[..]));
}

#[test]
fn recognition_window() {
    let mut tar = Vec::new();
    push_file(&mut tar, b"a", b"x");
    finish(&mut tar);
    assert!(looks_like_tar(&tar));
    for (lead, found) in [
        (BLOCK_LEN, true),
        (RECOGNITION_WINDOW - BLOCK_LEN, true),
        (RECOGNITION_WINDOW, false),
    ] {
        let mut junk = vec![0x5A; lead];
        junk.extend_from_slice(&tar);
        assert_eq!(looks_like_tar(&junk), found, "header at {lead}");
        // Not at a block boundary: never.
        junk.insert(0, 0);
        assert!(!looks_like_tar(&junk));
    }
    // Zero blocks first (a lone zero block then a tar) count too; random bytes never do,
    // nor a checksum-valid block that is not a ustar/GNU/v7 header.
    let zeros = [&[0u8; BLOCK_LEN][..], &tar].concat();
    assert!(looks_like_tar(&zeros));
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let random: Vec<u8> = (0..RECOGNITION_WINDOW).map(|_| rng.next() as u8).collect();
    assert!(!looks_like_tar(&random));
    let mut odd = header(b"x", b'0', 0);
    odd[MAGIC].copy_from_slice(b"junk\0\0");
    fix_checksum(&mut odd);
    assert!(!looks_like_tar(&[&[1u8; BLOCK_LEN][..], &odd].concat()));
    assert!(!looks_like_tar(b""));
}

#[test]
fn pax_headers() {
    let mut tar = Vec::new();
    // Global: `path` is meaningless and ignored, `size` applies to what follows.
    push_pax(
        &mut tar,
        b'g',
        &[rec("comment", b"vigie"), rec("path", b"ignored/name")].concat(),
    );
    push_pax(&mut tar, b'x', &rec("path", b"long/\xe9name\nwith nl"));
    push_file(&mut tar, b"short", b"data");
    push_pax(&mut tar, b'X', &rec("linkpath", b"target"));
    push(&mut tar, header(b"sym", b'2', 0), b"");
    // `size` overrides the header's.
    push_pax(&mut tar, b'x', b"9 size=3\n");
    push(&mut tar, header(b"sized", b'0', 0), b"abc");
    push_pax(&mut tar, b'g', b"9 size=2\n");
    push(&mut tar, header(b"gsized", b'0', 0), b"xy");
    // A per-member size beats the global one, and an empty global size removes it.
    push_pax(&mut tar, b'x', b"9 size=4\n");
    push(&mut tar, header(b"both", b'0', 0), b"wxyz");
    push_pax(&mut tar, b'g', b"8 size=\n");
    push_file(&mut tar, b"plain", b"p");
    // GNU sparse 1.0: real name from the pax header, kind Other('S').
    push_pax(
        &mut tar,
        b'x',
        &[
            rec("GNU.sparse.major", b"1"),
            rec("GNU.sparse.name", b"real.img"),
        ]
        .concat(),
    );
    push(
        &mut tar,
        header(b"./GNUSparseFile.1/real.img", b'0', 0),
        b"",
    );
    finish(&mut tar);
    let ms: Vec<_> = slice_members(&tar)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let got: Vec<_> = ms
        .iter()
        .map(|m| {
            (
                m.name.as_slice(),
                m.kind,
                m.data(&tar).unwrap(),
                m.link.as_deref(),
            )
        })
        .collect();
    use EntryKind::*;
    type Seen<'a> = (&'a [u8], EntryKind, &'a [u8], Option<&'a [u8]>);
    let want: Vec<Seen> = vec![
        (b"long/\xe9name\nwith nl", Regular, b"data", None),
        (b"sym", Symlink, b"", Some(b"target")),
        (b"sized", Regular, b"abc", None),
        (b"gsized", Regular, b"xy", None),
        (b"both", Regular, b"wxyz", None),
        (b"plain", Regular, b"p", None),
        (b"real.img", Other(b'S'), b"", None),
    ];
    assert_eq!(got, want);
    let (streamed, err) = stream_members(&tar[..]);
    assert_eq!(err, None);
    assert_eq!(streamed.into_iter().map(|(m, _)| m).collect::<Vec<_>>(), ms);
}

#[test]
fn malformed_pax_records() {
    let cases: &[(&[u8], &str)] = &[
        (b"99 path=x\n", "runs past the end"),
        (b"path=x\n", "decimal length"),
        (b"7 path=x\n", "does not end with a newline"),
        (b"3 a\n", "too short"),
        (b"8 pathx\n", "no '='"),
        (b"5 =x\n", "empty key"),
        (b"10 size=x\n", "not a decimal number"),
        (b"99999999999999999999999 a=b\n", "too large"),
    ];
    for (records, why) in cases {
        let mut tar = Vec::new();
        push_file(&mut tar, b"before", b"1");
        push_pax(&mut tar, b'x', records);
        push_file(&mut tar, b"after", b"2");
        finish(&mut tar);
        let e = first_err(&tar);
        assert_eq!(e.offset, 2 * BLOCK_U64);
        assert!(
            e.reason.starts_with("malformed pax extended header: "),
            "{e}"
        );
        assert!(e.reason.contains(why), "{e}");
        assert_eq!(slice_members(&tar).len(), 2);
    }
    // NUL padding after the records is tolerated.
    let mut tar = Vec::new();
    push_pax(&mut tar, b'x', &[rec("path", b"ok"), vec![0; 3]].concat());
    push_file(&mut tar, b"x", b"");
    assert_eq!(slice_members(&tar)[0].clone().unwrap().name, b"ok");
}

#[test]
fn gnu_long_names_and_links() {
    let name = [b'n'; 300];
    let mut long_name = name.to_vec();
    long_name.push(0);
    let mut tar = Vec::new();
    push(
        &mut tar,
        header(b"././@LongLink", b'L', long_name.len() as u64),
        &long_name,
    );
    push(&mut tar, header(b"././@LongLink", b'K', 6), b"t\0rash");
    push(&mut tar, header(b"truncated name", b'1', 0), b"");
    finish(&mut tar);
    let m = slice_members(&tar)[0].clone().unwrap();
    assert_eq!(m.name, name);
    assert_eq!(m.kind, EntryKind::Hardlink);
    assert_eq!(m.link.as_deref(), Some(&b"t"[..]));
    assert_eq!(m.header_offset, 4 * BLOCK_U64);
}

#[test]
fn oversized_extended_headers_are_refused_before_reading() {
    for (flag, what) in [
        (b'L', "GNU long name"),
        (b'K', "GNU long link name"),
        (b'x', "pax extended header"),
        (b'g', "pax global header"),
    ] {
        let mut tar = header(b"././@LongLink", flag, MAX_META_LEN + 1).to_vec();
        tar.extend_from_slice(&[b'a'; 100]);
        let e = first_err(&tar);
        assert_eq!(
            e.reason,
            format!("{what} of 1048577 bytes exceeds the limit of 1048576 bytes")
        );
    }
    let mut tar = header(b"././@LongLink", b'L', 1000).to_vec();
    tar.extend_from_slice(&[b'a'; 100]);
    assert_eq!(
        first_err(&tar).reason,
        "GNU long name of 1000 bytes runs past end of archive (only 100 bytes left)"
    );
}

#[test]
fn extended_header_without_member() {
    let mut tar = Vec::new();
    push_file(&mut tar, b"a", b"1");
    push_pax(&mut tar, b'x', &rec("path", b"ok"));
    finish(&mut tar);
    // The extended header lost its member: it is the damage.
    let e = first_err(&tar);
    assert_eq!((e.offset, e.skipped), (BLOCK_U64 * 2, BLOCK_U64 * 2));
    assert!(
        e.reason
            .contains("(an extended header is not followed by a member header)"),
        "{e}"
    );
    // Followed by junk, then a member: the member is read, without the pax path.
    let mut tar = Vec::new();
    push_pax(&mut tar, b'x', &rec("path", b"lost"));
    tar.extend_from_slice(&[1; BLOCK_LEN]);
    push_file(&mut tar, b"b", b"bee");
    let got = walk(&tar);
    assert_eq!(damage(&got[0]).0..damage(&got[0]).1, 0..3 * BLOCK_U64);
    assert_eq!(names_of(&got), [b"b"]);
    // A global header alone is fine.
    let mut tar = Vec::new();
    push_pax(&mut tar, b'g', &rec("path", b"ok"));
    finish(&mut tar);
    assert!(slice_members(&tar).is_empty());
}

#[test]
fn old_gnu_sparse_is_other_and_skipped() {
    let mut h = header(b"sparse.img", b'S', 3);
    h[MAGIC_VERSION].copy_from_slice(b"ustar  \0");
    h[GNU_IS_EXTENDED] = 1;
    fix_checksum(&mut h);
    let mut tar = h.to_vec();
    let mut ext = [0u8; BLOCK_LEN];
    ext[GNU_EXT_IS_EXTENDED] = 1;
    tar.extend_from_slice(&ext);
    tar.extend_from_slice(&[0u8; BLOCK_LEN]);
    tar.extend_from_slice(b"abc");
    tar.resize(4 * BLOCK_LEN, 0);
    push_file(&mut tar, b"next", b"n");
    finish(&mut tar);
    let ms: Vec<_> = slice_members(&tar)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ms[0].kind, EntryKind::Other(b'S'));
    assert_eq!(ms[0].data_offset, 3 * BLOCK_U64);
    assert_eq!(ms[0].data(&tar), Some(&b"abc"[..]));
    assert_eq!(ms[1].name, b"next");
    // Extension blocks cut short.
    let e = first_err(&tar[..2 * BLOCK_LEN]);
    assert!(e.reason.contains("sparse extension"), "{e}");
    assert_eq!(e.member.as_deref(), Some(&b"sparse.img"[..]));
}

#[test]
fn gnu_tar_sparse_members() {
    for (f, data_offset) in [
        ("sparse.gnu.tar", 2 * BLOCK_U64),
        ("sparse.pax.tar", 3 * BLOCK_U64),
    ] {
        let bytes = fixture(f);
        let all = slice_members(&bytes);
        assert_eq!(all.len(), 1, "{f}");
        let m = all[0].clone().unwrap();
        assert_eq!(m.name, b"s.img", "{f}");
        assert_eq!(m.kind, EntryKind::Other(b'S'), "{f}");
        // Old GNU: header, one sparse extension block. pax 1.0: x header (one block of
        // records), header; the data starts with the sparse map, in decimal.
        assert_eq!(m.data_offset, data_offset, "{f}");
        let data = m.data(&bytes).unwrap();
        if f == "sparse.gnu.tar" {
            assert_eq!(&data[..100], content(8, 100));
        } else {
            assert!(data.starts_with(b"14\n0\n4096\n"), "{f}");
        }
        let (streamed, err) = stream_members(&bytes[..]);
        assert_eq!(err, None);
        assert_eq!(streamed, [(m, data.to_vec())]);
    }
}

#[test]
fn kinds_from_type_flags() {
    use EntryKind::*;
    let mut tar = Vec::new();
    for (name, flag) in [
        (&b"c"[..], b'3'),
        (b"b", b'4'),
        (b"f", b'6'),
        (b"contig", b'7'),
        (b"bsd-dir/", 0),
        (b"dump", b'D'),
        (b"vol", b'V'),
    ] {
        push(&mut tar, header(name, flag, 0), b"");
    }
    finish(&mut tar);
    let kinds: Vec<_> = slice_members(&tar)
        .into_iter()
        .map(|m| m.unwrap().kind)
        .collect();
    assert_eq!(
        kinds,
        [
            CharDevice,
            BlockDevice,
            Fifo,
            Regular,
            Directory,
            Directory,
            Other(b'V')
        ]
    );
}

#[test]
fn ustar_and_star_prefixes() {
    let mut h = header(b"name", b'0', 0);
    h[PREFIX.start..PREFIX.start + 3].copy_from_slice(b"pre");
    fix_checksum(&mut h);
    assert_eq!(header_name(&h), b"pre/name");
    // star: a 131-byte prefix, then times; `tar\0` at the end says so.
    h[PREFIX.start..STAR_PREFIX.end].fill(b'p');
    h[STAR_PREFIX.end..STAR_PREFIX.end + 12].copy_from_slice(b"00000000000\0");
    h[STAR_TRAILER].copy_from_slice(b"tar\0");
    let mut want = vec![b'p'; STAR_PREFIX.len()];
    want.extend_from_slice(b"/name");
    assert_eq!(header_name(&h), want);
    // Old GNU headers have no prefix: those bytes are times.
    h[MAGIC_VERSION].copy_from_slice(b"ustar  \0");
    assert_eq!(header_name(&h), b"name");
}

#[test]
fn error_display_escapes_names() {
    let e = TarError::new(7, Some(b"a\nb\xe9".to_vec()), "boom");
    assert_eq!(e.to_string(), "at offset 7 (member a\\nb\\xE9): boom");
    assert_eq!(TarError::new(0, None, "x").to_string(), "at offset 0: x");
}

#[test]
fn stream_data_error_is_reported_once() {
    let (bytes, big) = gnu_big();
    let cut = &bytes[..big.data_offset as usize + 10];
    let mut s = TarStream::new(cut);
    while let Some(m) = s.next_member().unwrap() {
        if m.name == b"d/sub/big.bin" {
            break;
        }
    }
    let mut data = Vec::new();
    let err = s.data().read_to_end(&mut data).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    assert_eq!(data.len(), 10);
    assert!(s.data().read(&mut [0; 4]).is_err());
    let e = s.next_member().unwrap_err();
    assert_eq!(
        e.reason,
        "member size 3000 runs past end of archive (only 10 bytes left)"
    );
    assert!(matches!(s.next_member(), Ok(None)));
    assert_eq!(s.data().read(&mut [0; 4]).unwrap(), 0);
}

// ---- Fuzz-style robustness -----------------------------------------------------------

/// A stream that returns short reads, to exercise the read loops.
struct Dribble<'a>(&'a [u8], usize);

impl Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.1 = self.1 % 700 + 1;
        let n = buf.len().min(self.0.len()).min(self.1);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn random_mutations_never_panic() {
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let sources: Vec<Vec<u8>> = [
        "gnu.tar",
        "pax.tar",
        "ustar.tar",
        "v7.tar",
        "sparse.gnu.tar",
    ]
    .iter()
    .map(|f| {
        let b = fixture(f);
        // The part before the end marker, plus the marker: mutations land on content.
        let end = b.len() - b.iter().rev().take_while(|&&x| x == 0).count();
        b[..(end + 2 * BLOCK_LEN)
            .next_multiple_of(BLOCK_LEN)
            .min(b.len())]
            .to_vec()
    })
    .collect();
    // VIGIE_TAR_FUZZ_ROUNDS=200000 cargo test random_mutations, for a longer run.
    let rounds = std::env::var("VIGIE_TAR_FUZZ_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    for round in 0..rounds {
        let mut t = sources[round % sources.len()].clone();
        for _ in 0..1 + rng.below(6) {
            if t.is_empty() {
                break;
            }
            let i = rng.below(t.len());
            match rng.below(4) {
                0 => t[i] ^= 1 << rng.below(8),
                1 => t[i] = rng.next() as u8,
                // Header fields that matter, with special values.
                2 => {
                    let h = i / BLOCK_LEN * BLOCK_LEN;
                    let field = [SIZE.start, TYPEFLAG, SIZE.start + 11, 0, PREFIX.start];
                    let at = h + field[rng.below(field.len())];
                    let v = [0u8, 0x80, 0xff, b'7', b' ', b'x', b'g', b'L', b'S', b'\n'];
                    if at < t.len() {
                        t[at] = v[rng.below(v.len())];
                    }
                }
                _ => t.truncate(i),
            }
        }
        // Make most mutated headers pass the checksum so the deeper code runs.
        if rng.below(4) != 0 {
            for h in t.chunks_exact_mut(BLOCK_LEN) {
                let h: &mut [u8; BLOCK_LEN] = h.try_into().unwrap();
                if h.iter().any(|&b| b != 0) && !checksum_ok(h) {
                    fix_checksum(h);
                }
            }
        }
        let all = slice_members(&t);
        for (k, r) in all.iter().enumerate() {
            match r {
                Ok(m) => assert!(m.data(&t).is_some(), "round {round}"),
                Err(e) if e.resumes() => {
                    let end = e.offset + e.skipped;
                    assert!(end <= t.len() as u64, "round {round}: {e}");
                }
                Err(_) => assert_eq!(k, all.len() - 1, "round {round}: error is last"),
            }
        }
        assert_eq!(stream_all(Dribble(&t, round)), all, "round {round}");
    }
}

/// A reader that gives `n` bytes of `bytes`, then fails with an error of `kind`.
struct FailsAfter<'a> {
    bytes: &'a [u8],
    n: usize,
    kind: io::ErrorKind,
}

impl Read for FailsAfter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.n == 0 {
            return Err(io::Error::new(self.kind, "boom"));
        }
        let k = buf.len().min(self.n).min(self.bytes.len());
        buf[..k].copy_from_slice(&self.bytes[..k]);
        self.bytes = &self.bytes[k..];
        self.n -= k;
        Ok(k)
    }
}

/// A read error ends the walk with the error's kind as its fault, wherever it strikes: in a
/// header, in data skipped, in data read through `data()` (reported once, by the next call).
#[test]
fn read_errors_carry_their_kind() {
    let (bytes, big) = gnu_big();
    let kind = io::ErrorKind::PermissionDenied;
    let failing = |n| FailsAfter {
        bytes: &bytes,
        n,
        kind,
    };
    let walk_err = |n| {
        let mut s = TarStream::new(failing(n));
        loop {
            match s.next_member() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("no error at {n}"),
                Err(e) => break e,
            }
        }
    };
    // In the first header, then in the middle of big.bin's data (skipped).
    for n in [100, big.data_offset as usize + 1000] {
        let e = walk_err(n);
        assert_eq!(e.fault, Fault::Io(kind), "{n}: {e}");
        assert_eq!(e.reason, "read error: boom", "{n}");
        assert!(!e.resumes());
    }
    assert_eq!(walk_err(100).member, None);
    assert_eq!(
        walk_err(big.data_offset as usize + 1000).member.as_deref(),
        Some(&b"d/sub/big.bin"[..])
    );
    // Read through data(): the reader's own error, then the same as a TarError, once.
    let mut s = TarStream::new(failing(big.data_offset as usize + 1000));
    while s.next_member().unwrap().unwrap().name != b"d/sub/big.bin" {}
    let err = s.data().read_to_end(&mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), kind);
    let e = s.next_member().unwrap_err();
    assert_eq!(e.fault, Fault::Io(kind), "{e}");
    assert_eq!(e.offset, big.data_offset + 1000);
    assert!(matches!(s.next_member(), Ok(None)));
    // Malformed input is not a read error.
    let mut s = TarStream::new(&bytes[..big.data_offset as usize + 100]);
    let e = loop {
        if let Err(e) = s.next_member() {
            break e;
        }
    };
    assert_eq!(e.fault, Fault::Malformed, "{e}");
}
