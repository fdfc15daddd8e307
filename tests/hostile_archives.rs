//! Compressed tars whose stream checksums fail (issue "Never silently wrong"): one flipped
//! bit in a `.tar.gz` or `.tar.zst` used to give a member a wrong MD5 with exit 0, since the
//! tar's end marker comes before the gzip trailer and the zstd frame checksum. Now every
//! member of a stream that does not verify fails (`decompress`), and a good stream, even
//! padded with zeros after its end as tape writers do, still reads clean.

mod common;

use std::io::Write;
use std::path::Path;

use common::*;
use serde_json::Value;

/// A tar of incompressible members (so that compressors store them as they are, and a flipped
/// byte changes a member's bytes without breaking the decoder).
fn tar_bytes() -> Vec<u8> {
    let mut tar = Vec::new();
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for i in 0..12 {
        let data: Vec<u8> = (0..3000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut h = [0u8; 512];
        let name = format!("m{i}.bin");
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
        h[156] = b'0';
        h[257..265].copy_from_slice(b"ustar\x0000");
        h[148..156].fill(b' ');
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        tar.extend_from_slice(&h);
        tar.extend_from_slice(&data);
        tar.resize(tar.len().next_multiple_of(512), 0);
    }
    tar.extend_from_slice(&[0u8; 1024]);
    tar
}

fn gzip(tar: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    e.write_all(tar).unwrap();
    e.finish().unwrap()
}

fn zstd_checked(tar: &[u8]) -> Vec<u8> {
    let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    e.include_checksum(true).unwrap();
    e.write_all(tar).unwrap();
    e.finish().unwrap()
}

fn hash(path: &Path) -> (i32, Vec<Value>) {
    let o = run([
        "hash".as_ref(),
        "-q".as_ref(),
        "--algo".as_ref(),
        "md5".as_ref(),
        path.as_os_str(),
    ]);
    (code(&o), jsonl(&o.stdout))
}

fn md5s(recs: &[Value]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = recs
        .iter()
        .map(|r| {
            (
                r["member"].as_str().unwrap_or_default().to_string(),
                r["md5"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn corrupt_compressed_tars_fail_every_member() {
    let dir = tempfile::tempdir().unwrap();
    let tar = tar_bytes();
    let plain = dir.path().join("a.tar");
    std::fs::write(&plain, &tar).unwrap();
    let (c, want) = hash(&plain);
    assert_eq!(c, 0);
    assert_eq!(want.len(), 12);
    let gz = gzip(&tar);
    let zst = zstd_checked(&tar);
    // Flips: a byte of member data (stored blocks: decodes, wrong bytes), the gzip CRC in the
    // trailer, the zstd frame checksum (the last 4 bytes); and the gzip trailer cut off.
    let data_at = 512 + 100;
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let gz_data = find(&gz, &tar[data_at..data_at + 16]).unwrap();
    let zst_data = find(&zst, &tar[data_at..data_at + 16]).expect("zstd stored the random bytes");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("gz-data.tar.gz", flip(&gz, gz_data + 3)),
        ("gz-crc.tar.gz", flip(&gz, gz.len() - 6)),
        ("gz-cut.tar.gz", gz[..gz.len() - 8].to_vec()),
        ("zst-data.tar.zst", flip(&zst, zst_data + 3)),
        ("zst-sum.tar.zst", flip(&zst, zst.len() - 2)),
    ];
    for (name, bytes) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let (c, recs) = hash(&p);
        assert_eq!(c, 2, "{name}: {recs:?}");
        // Every member, each failed, and the damaged stream itself.
        let members = recs.iter().filter(|r| r.get("member").is_some()).count();
        assert_eq!(members, 12, "{name}: every member is accounted for");
        assert_eq!(recs.len(), 13, "{name}: {recs:?}");
        for r in &recs {
            assert_eq!(r["error_kind"], "decompress", "{name}: {r}");
            assert!(r.get("md5").is_none(), "{name}: an unverified digest: {r}");
        }
    }
    // Good streams, also followed by tape padding, read clean and equal the plain tar.
    let mut padded = gz.clone();
    padded.resize(gz.len() + 10_240, 0);
    for (name, bytes) in [
        ("good.tar.gz", gz),
        ("padded.tar.gz", padded),
        ("good.tar.zst", zst),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let (c, recs) = hash(&p);
        assert_eq!(c, 0, "{name}: {recs:?}");
        assert_eq!(md5s(&recs), md5s(&want), "{name}");
    }
}

fn flip(b: &[u8], at: usize) -> Vec<u8> {
    let mut v = b.to_vec();
    v[at] ^= 0x10;
    v
}

/// Found by the `engine` fuzz target: a gzip stream failing its CRC whose tar holds no file
/// (two directories) read as 0 items, exit 0. The damaged stream is an item of its own.
#[test]
fn corrupt_stream_without_members_is_a_failed_item() {
    let (c, recs) = hash(&fixtures().join("hostile/fuzz-engine-crc-no-members.tar.gz"));
    assert_eq!(c, 2, "{recs:?}");
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["error_kind"], "decompress");
    assert!(recs[0].get("member").is_none(), "{:?}", recs[0]);
}
