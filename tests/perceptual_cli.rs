//! Perceptual hashing through the command line: PDQ in hash records, `--format te` lists,
//! PDQ matching within a threshold (and rotated copies with `--pdq-dihedral`), quality gating,
//! and images that fail to decode.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const SHAPES_PDQ: &str = "51a955a55199799a16a951891661ba70ee56ae766186e9d6bb58ab569a7954a9";
const RESIZED_PDQ: &str = "d5a954a5519d699a962d518d9665ba706e52be7261866d96bb58ab521a7914ad";

/// A dump holding the two shapes images, a text file and a tar with the PNG inside.
fn dump() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("dump");
    fs::create_dir_all(root.join("a")).unwrap();
    let src = fixtures().join("perceptual");
    fs::copy(src.join("shapes_resized.jpg"), root.join("a/reupload.jpg")).unwrap();
    fs::write(root.join("a/notes.txt"), b"not an image\n").unwrap();
    let stage = dir.path().join("stage");
    fs::create_dir(&stage).unwrap();
    fs::copy(src.join("shapes.png"), stage.join("member.png")).unwrap();
    tool(
        "tar",
        &[
            os("-cf"),
            root.join("shard.tar").as_os_str(),
            os("-C"),
            stage.as_os_str(),
            os("member.png"),
        ],
    );
    (dir, root)
}

#[test]
fn pdq_of_files_and_tar_members_equals_the_reference() {
    let (_d, root) = dump();
    let out = run(argv!["hash", "-q", "--algo", "pdq,md5", root]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let recs = jsonl(&out.stdout);
    assert_eq!(recs.len(), 3);
    let member = recs.iter().find(|r| r["member"] == "member.png").unwrap();
    assert_eq!(member["pdq"], SHAPES_PDQ);
    assert_eq!(member["pdq_quality"], 100);
    let jpg = recs
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("reupload.jpg"))
        .unwrap();
    assert_eq!(jpg["pdq"], RESIZED_PDQ);
    let txt = recs
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("notes.txt"))
        .unwrap();
    assert!(
        txt.get("pdq").is_none() && txt.get("error").is_none(),
        "{txt}"
    );
    assert!(txt["md5"].is_string());
}

#[test]
fn te_list_from_a_folder_then_scan_matches_within_the_threshold() {
    let (dir, root) = dump();
    // A list built from the original image only.
    let originals = dir.path().join("originals");
    fs::create_dir(&originals).unwrap();
    fs::copy(
        fixtures().join("perceptual/shapes.png"),
        originals.join("shapes.png"),
    )
    .unwrap();
    let list = dir.path().join("known.te");
    let out = run(argv!["hash", "-q", "--format", "te", "-o", list, originals]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        fs::read_to_string(&list).unwrap(),
        format!("pdq {SHAPES_PDQ}\n")
    );
    let index = dir.path().join("known.vigie");
    let out = run(argv![
        "index",
        "build",
        "-q",
        "-o",
        index,
        "--label",
        "propaganda",
        list
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let summary = dir.path().join("s.json");
    let out = run(argv!["scan", "-q", "-i", index, "--summary", summary, root]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let hits = jsonl(&out.stdout);
    assert_eq!(hits.len(), 2, "{hits:?}");
    let exact = hits.iter().find(|h| h["member"] == "member.png").unwrap();
    assert_eq!(exact["algorithm"], "pdq");
    assert_eq!(exact["distance"], 0);
    let resized = hits
        .iter()
        .find(|h| h["path"].as_str().unwrap().ends_with("reupload.jpg"))
        .unwrap();
    assert_eq!(resized["distance"], 22);
    assert_eq!(resized["hash"], RESIZED_PDQ);
    assert_eq!(resized["matched_hash"], SHAPES_PDQ);
    assert_eq!(resized["label"], "propaganda");
    let s: Value = serde_json::from_slice(&fs::read(&summary).unwrap()).unwrap();
    assert_eq!(s["images"], 2);
    assert_eq!(s["matched"], 2);
    assert_eq!(s["clean"], 1);

    // Tighter than 22 bits: only the identical image matches.
    let out = run(argv![
        "scan",
        "-q",
        "-i",
        index,
        "--pdq-threshold",
        "21",
        root
    ]);
    let hits = jsonl(&out.stdout);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["member"], "member.png");
}

#[test]
fn rotated_copies_match_only_with_dihedral() {
    let dir = tempfile::tempdir().unwrap();
    let img = image::open(fixtures().join("perceptual/shapes.png")).unwrap();
    let rotated = dir.path().join("rotated.png");
    img.rotate90().save(&rotated).unwrap();
    let list = dir.path().join("l.te");
    fs::write(&list, format!("pdq {SHAPES_PDQ}\n")).unwrap();
    let out = run(argv!["scan", "-q", "--list", list, rotated]);
    assert_eq!(
        code(&out),
        0,
        "a 90° rotation is far from the original: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = run(argv![
        "scan",
        "-q",
        "--pdq-dihedral",
        "--list",
        list,
        rotated
    ]);
    assert_eq!(code(&out), 1);
    let hits = jsonl(&out.stdout);
    assert_eq!(hits.len(), 1);
    assert!(hits[0]["distance"].as_u64().unwrap() <= 31);
    assert_eq!(hits[0]["matched_hash"], SHAPES_PDQ);
}

#[test]
fn low_quality_images_are_counted_and_not_matched() {
    let dir = tempfile::tempdir().unwrap();
    let flat = dir.path().join("flat.png");
    image::GrayImage::from_pixel(200, 200, image::Luma([128]))
        .save(&flat)
        .unwrap();
    let out = run(argv!["hash", "-q", "--algo", "pdq", flat]);
    let rec = &jsonl(&out.stdout)[0];
    assert_eq!(rec["pdq_quality"], 0);
    let list = dir.path().join("l.te");
    fs::write(&list, format!("pdq {}\n", rec["pdq"].as_str().unwrap())).unwrap();
    let summary = dir.path().join("s.json");
    let out = run(argv![
        "scan",
        "-q",
        "--summary",
        summary,
        "--list",
        list,
        flat
    ]);
    assert_eq!(
        code(&out),
        0,
        "a quality-0 image is not matched, even against its own hash"
    );
    let s: Value = serde_json::from_slice(&fs::read(&summary).unwrap()).unwrap();
    assert_eq!(s["low_quality"], 1);
    let out = run(argv![
        "scan",
        "-q",
        "--pdq-min-quality",
        "0",
        "--list",
        list,
        flat
    ]);
    assert_eq!(code(&out), 1);
}

/// CRC-32 (IEEE), for a hand-made PNG chunk.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn bomb_png(path: &Path) {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut png = Vec::new();
    png.extend([0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]);
    png.extend(13u32.to_be_bytes());
    png.extend(&ihdr);
    png.extend(crc32(&ihdr).to_be_bytes());
    // A tiny IDAT (an empty zlib stream): the decoder reaches the pixel data, so only the
    // size check can stop it before it allocates 30 GB.
    let idat = [
        &b"IDAT"[..],
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ]
    .concat();
    png.extend(8u32.to_be_bytes());
    png.extend(&idat);
    png.extend(crc32(&idat).to_be_bytes());
    png.extend(0u32.to_be_bytes());
    png.extend(b"IEND");
    png.extend(crc32(b"IEND").to_be_bytes());
    fs::write(path, png).unwrap();
}

#[test]
fn images_that_cannot_decode_fail_cleanly_and_keep_their_exact_digests() {
    let (dir, root) = dump();
    bomb_png(&root.join("bomb.png"));
    let jpg = fs::read(fixtures().join("perceptual/shapes_resized.jpg")).unwrap();
    fs::write(root.join("cut.jpg"), &jpg[..jpg.len() / 3]).unwrap();
    fs::write(
        root.join("garbage.jpg"),
        [&[0xff, 0xd8, 0xff, 0xe0][..], &[0x55; 300][..]].concat(),
    )
    .unwrap();
    let summary = dir.path().join("s.json");
    let start = Instant::now();
    let out = run(argv![
        "hash",
        "-q",
        "--algo",
        "pdq,sha256",
        "--summary",
        summary,
        root
    ]);
    assert!(start.elapsed() < Duration::from_secs(60));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let recs = jsonl(&out.stdout);
    let bomb = recs
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("bomb.png"))
        .unwrap();
    assert_eq!(bomb["error_kind"], "image");
    assert!(
        bomb["error"]
            .as_str()
            .unwrap()
            .starts_with("image too large"),
        "{bomb}"
    );
    assert_eq!(
        bomb["sha256"].as_str().unwrap().len(),
        64,
        "exact digests are kept: {bomb}"
    );
    let garbage = recs
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("garbage.jpg"))
        .unwrap();
    assert_eq!(garbage["error_kind"], "image", "{garbage}");
    // The run went on: the good images are hashed.
    assert!(recs.iter().any(|r| r["pdq"] == RESIZED_PDQ));
    let s: Value = serde_json::from_slice(&fs::read(&summary).unwrap()).unwrap();
    assert_eq!(s["items"].as_u64().unwrap(), recs.len() as u64);
    assert_eq!(
        s["items"].as_u64().unwrap(),
        s["hashed"].as_u64().unwrap() + s["failed"].as_u64().unwrap()
    );
    assert!(s["failed_by_reason"]["image"].as_u64().unwrap() >= 2);
}

#[test]
fn phash_and_dhash_equal_python_imagehash() {
    // Values from Python ImageHash 4.3 (shared/formats/samples/MANIFEST.json); the resized
    // JPEG copy has the same pHash and dHash as the PNG original.
    let out = run(argv![
        "hash",
        "-q",
        "--algo",
        "phash,dhash",
        fixtures().join("perceptual")
    ]);
    assert_eq!(code(&out), 0);
    let recs = jsonl(&out.stdout);
    let images: Vec<&Value> = recs.iter().filter(|r| r.get("phash").is_some()).collect();
    assert_eq!(images.len(), 2);
    for r in images {
        assert_eq!(r["phash"], "a25acfa58d3530a7", "{r}");
        assert_eq!(r["dhash"], "b1898d95979d8da9", "{r}");
        assert!(r.get("pdq").is_none(), "only what was asked: {r}");
    }
}

#[test]
fn csv_carries_the_perceptual_columns() {
    let out = run(argv![
        "hash",
        "-q",
        "--format",
        "csv",
        "--algo",
        "md5,pdq,phash,dhash",
        fixtures().join("perceptual")
    ]);
    assert_eq!(code(&out), 0);
    let mut rdr = csv::Reader::from_reader(&out.stdout[..]);
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        headers,
        csv_header(&["md5", "pdq", "pdq_quality", "phash", "dhash"])
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let png = rows.iter().find(|r| r[0].ends_with("shapes.png")).unwrap();
    assert_eq!(&png[7], SHAPES_PDQ);
    assert_eq!(&png[8], "100");
    assert_eq!(&png[9], "a25acfa58d3530a7");
    assert_eq!(&png[10], "b1898d95979d8da9");
    let txt = rows.iter().find(|r| r[0].ends_with("README.md")).unwrap();
    assert_eq!(&txt[7], "");
}

/// `fixtures/fastdecode/EXPECTED.tsv`: file → (draft PDQ, full-resolution PDQ), for the
/// fixtures under 3 MP (the test binary hashes them unoptimised; `tests/decode.rs` covers the
/// 1/4 and 1/8 scales).
fn fast_expected() -> Vec<(String, String, String)> {
    fs::read_to_string(fixtures().join("fastdecode/EXPECTED.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect::<Vec<&str>>())
        .filter(|f| f[1].parse::<u64>().unwrap() * f[2].parse::<u64>().unwrap() < 3_000_000)
        .map(|f| (f[0].to_string(), f[7].to_string(), f[9].to_string()))
        .collect()
}

fn pdq_by_name(out: &std::process::Output) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = jsonl(&out.stdout)
        .iter()
        .map(|r| {
            let p = Path::new(r["path"].as_str().unwrap());
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            (name, r["pdq"].as_str().unwrap().to_string())
        })
        .collect();
    v.sort();
    v
}

/// `hash` is exact by default (the full-resolution reference hash, bit for bit) and fast with
/// `--fast-decode` (Pillow draft's hash); `scan` decodes fast by default only to screen: its
/// hits are `--exact-decode`'s, the exact hashes at distance 0.
#[test]
fn hash_is_exact_by_default_and_scan_is_fast_unless_exact_decode() {
    let dir = tempfile::tempdir().unwrap();
    let imgs = dir.path().join("imgs");
    fs::create_dir(&imgs).unwrap();
    let want = fast_expected();
    for (name, _, _) in &want {
        fs::copy(fixtures().join("fastdecode").join(name), imgs.join(name)).unwrap();
    }
    let exact = run(argv!["hash", "-q", "--algo", "pdq", imgs]);
    assert_eq!(code(&exact), 0, "{}", stderr(&exact));
    let fast = run(argv!["hash", "-q", "--algo", "pdq", "--fast-decode", imgs]);
    assert_eq!(code(&fast), 0, "{}", stderr(&fast));
    let full: Vec<_> = want
        .iter()
        .map(|(n, _, f)| (n.clone(), f.clone()))
        .collect();
    let draft: Vec<_> = want
        .iter()
        .map(|(n, d, _)| (n.clone(), d.clone()))
        .collect();
    let mut full_sorted = full.clone();
    full_sorted.sort();
    let mut draft_sorted = draft.clone();
    draft_sorted.sort();
    assert_eq!(pdq_by_name(&exact), full_sorted);
    assert_eq!(pdq_by_name(&fast), draft_sorted);

    // A list of the exact hashes; scan reports each image's own hash and the distance.
    let list = dir.path().join("exact.te");
    let text: String = full.iter().map(|(_, h)| format!("pdq {h}\n")).collect();
    fs::write(&list, text).unwrap();
    let scan = |extra: &[&str]| {
        let mut args = vec![os("scan"), os("-q"), os("--list"), list.as_os_str()];
        args.extend(extra.iter().map(|s| os(s)));
        args.push(imgs.as_os_str());
        let out = run(args);
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        let mut hits: Vec<(String, String, u64)> = jsonl(&out.stdout)
            .iter()
            .map(|h| {
                let p = Path::new(h["path"].as_str().unwrap());
                let name = p.file_name().unwrap().to_str().unwrap().to_string();
                (
                    name,
                    h["hash"].as_str().unwrap().to_string(),
                    h["distance"].as_u64().unwrap(),
                )
            })
            .collect();
        hits.sort();
        hits
    };
    let exact_hits = scan(&["--exact-decode", "--pdq-threshold", "0"]);
    assert_eq!(
        exact_hits,
        full_sorted
            .iter()
            .map(|(n, h)| (n.clone(), h.clone(), 0))
            .collect::<Vec<_>>()
    );
    // The reduced decode is only a screen (issue 19): an image it brings near an entry is
    // decoded again in full, so scan's hits are the exact decode's, hash and distance.
    let fast_hits = scan(&[]);
    assert_eq!(fast_hits, scan(&["--exact-decode"]));
    for (name, hash) in &full_sorted {
        assert!(
            fast_hits.contains(&(name.clone(), hash.clone(), 0)),
            "{name}: {fast_hits:?}"
        );
    }
}

/// `hash --format te|te-csv` leave out PDQ hashes under quality 50, as `threatexchange hash`
/// does (it printed only shapes.png's line for shapes.png, a constant JPEG and a quality-24
/// one, python-threatexchange 1.2.17), count them in the summary, and keep them with
/// `--keep-low-quality`; under te a non-image is not counted as hashed.
#[test]
fn shared_lists_leave_out_low_quality_pdq() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir(&input).unwrap();
    fs::copy(
        fixtures().join("perceptual/shapes.png"),
        input.join("shapes.png"),
    )
    .unwrap();
    fs::copy(
        fixtures().join("imghash/000_const_9x8.png"),
        input.join("flat.png"),
    )
    .unwrap();
    fs::write(input.join("notes.txt"), "not an image\n").unwrap();
    let summary = dir.path().join("s.json");
    let hash = |format: &str, keep: bool| {
        let mut args = vec![
            os("hash"),
            os("-q"),
            os("--format"),
            os(format),
            os("--summary"),
            summary.as_os_str(),
        ];
        if keep {
            args.push(os("--keep-low-quality"));
        }
        args.push(input.as_os_str());
        let out = run(args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let s: Value = serde_json::from_slice(&fs::read(&summary).unwrap()).unwrap();
        (String::from_utf8(out.stdout).unwrap(), s)
    };
    let (te, s) = hash("te", false);
    assert_eq!(te, format!("pdq {SHAPES_PDQ}\n"));
    assert_eq!(
        (s["items"].as_u64(), s["hashed"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(s["pdq_left_out"], 1);
    let (te, s) = hash("te", true);
    assert_eq!(te.lines().count(), 2, "{te}");
    assert_eq!(
        (s["hashed"].as_u64(), s["pdq_left_out"].as_u64()),
        (Some(2), Some(0))
    );
    let (csv, s) = hash("te-csv", false);
    assert_eq!(csv.matches("\npdq,").count(), 1, "{csv}");
    assert_eq!(s["pdq_left_out"], 1);
    let (csv, _) = hash("te-csv", true);
    assert_eq!(csv.matches("\npdq,").count(), 2, "{csv}");
    // Other formats leave nothing out and say nothing of it.
    let (_, s) = hash("jsonl", false);
    assert!(s.get("pdq_left_out").is_none(), "{s}");
}
