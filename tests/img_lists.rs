//! pHash and dHash lists (issue 19, point 3): ImageHash's hex in a list given `--type phash`
//! or `--type dhash` is indexed, matched by Hamming distance within `--phash-threshold` /
//! `--dhash-threshold`, by `scan` (whose fast path screens them as it screens PDQ, so its
//! records equal `--exact-decode`'s) and by `match`; `index info` counts them.

mod common;

use std::fs;
use std::path::Path;

use common::{code, fixtures, jsonl, run, stderr};
use vigie::perceptual::decode::DecodeOptions;
use vigie::perceptual::imghash::ImgHash64;
use vigie::perceptual::{hash_image, PerceptualConfig};

/// pHash and dHash of `bytes` (`fast`: as a scan's luma-only screen computes them), and the
/// decode scale.
fn img_of(bytes: &[u8], fast: bool) -> (ImgHash64, ImgHash64, u8) {
    let cfg = PerceptualConfig {
        phash: true,
        dhash: true,
        decode: DecodeOptions {
            fast,
            ..DecodeOptions::default()
        },
        luma_screen: fast,
        ..PerceptualConfig::default()
    };
    let i = hash_image(bytes, &cfg).unwrap().unwrap();
    (i.phash.unwrap(), i.dhash.unwrap(), i.decode_scale)
}

/// `exact` with `n` bits flipped: first those where `screen` differs from it when `toward`,
/// else only bits where they agree.
fn plant(exact: u64, screen: u64, n: u32, toward: bool) -> u64 {
    let differ = exact ^ screen;
    let mut out = exact;
    let mut left = n;
    let order: Vec<u32> = if toward {
        (0..64)
            .filter(|i| differ >> i & 1 == 1)
            .chain((0..64).filter(|i| differ >> i & 1 == 0))
            .collect()
    } else {
        (0..64).filter(|i| differ >> i & 1 == 0).collect()
    };
    for i in order {
        if left == 0 {
            break;
        }
        out ^= 1 << i;
        left -= 1;
    }
    out
}

fn build(dir: &Path, name: &str, lists: &[(&str, &str)]) -> std::path::PathBuf {
    let idx = dir.join(format!("{name}.vidx"));
    let mut args: Vec<String> = vec!["index".into(), "build".into(), "-q".into()];
    for (kind, text) in lists {
        let p = dir.join(format!("{name}-{kind}.txt"));
        fs::write(&p, text).unwrap();
        args.extend(["--type".into(), kind.to_string(), p.display().to_string()]);
    }
    args.extend(["-o".into(), idx.display().to_string()]);
    let o = run(&args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    idx
}

fn scan(idx: &Path, dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["scan", "-q", "-i", idx.to_str().unwrap()];
    args.extend(extra);
    args.push(dir.to_str().unwrap());
    let o = run(&args);
    assert!(matches!(code(&o), 0 | 1), "{}", stderr(&o));
    let mut lines: Vec<String> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// A near-flat 2048x1536 JPEG whose pHash and dHash move by 22 and 13 bits under the
/// reduced decode: entries planted at the threshold of the exact hashes (and far from the
/// screen's) are found by `scan` as by `--exact-decode`, entries one bit past it (and near
/// the screen's) are not, with identical records.
#[test]
fn fast_scan_finds_what_exact_decoding_finds() {
    let src = fixtures().join("imghash_lists/nearflat.jpg");
    let bytes = fs::read(&src).unwrap();
    let (ep, ed, _) = img_of(&bytes, false);
    let (fp, fd, scale) = img_of(&bytes, true);
    assert!(scale > 1);
    let (kp, kd) = ((ep.0 ^ fp.0).count_ones(), (ed.0 ^ fd.0).count_ones());
    assert!(kp > 10 && kd > 10, "the fixture must drift: {kp} {kd}");
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    fs::create_dir(&images).unwrap();
    fs::copy(&src, images.join("nearflat.jpg")).unwrap();
    for (t, flag_p, flag_d) in [(10u32, "10", "10"), (6, "6", "6")] {
        let hex = |h: u64| format!("{h:016x}\n");
        let missed = build(
            dir.path(),
            &format!("missed{t}"),
            &[
                ("phash", &hex(plant(ep.0, fp.0, t, false))),
                ("dhash", &hex(plant(ed.0, fd.0, t, false))),
            ],
        );
        let false_hits = build(
            dir.path(),
            &format!("false{t}"),
            &[
                ("phash", &hex(plant(ep.0, fp.0, t + 1, true))),
                ("dhash", &hex(plant(ed.0, fd.0, t + 1, true))),
            ],
        );
        let flags = ["--phash-threshold", flag_p, "--dhash-threshold", flag_d];
        let exact_flags = [&flags[..], &["--exact-decode"]].concat();
        let want = scan(&missed, &images, &exact_flags);
        assert_eq!(scan(&missed, &images, &flags), want, "threshold {t}");
        let hits: Vec<_> = want.iter().flat_map(|l| jsonl(l.as_bytes())).collect();
        let mut algos: Vec<(&str, u64)> = hits
            .iter()
            .map(|h| {
                (
                    h["algorithm"].as_str().unwrap(),
                    h["distance"].as_u64().unwrap(),
                )
            })
            .collect();
        algos.sort();
        assert_eq!(algos, vec![("dhash", t.into()), ("phash", t.into())]);
        assert_eq!(hits[0]["hashes"]["phash"], ep.to_hex());
        assert!(scan(&false_hits, &images, &exact_flags).is_empty());
        assert!(scan(&false_hits, &images, &flags).is_empty());
    }
}

/// `vigie match` answers pHash and dHash queries; `index info` counts the entries; a query
/// type the index does not hold is refused.
#[test]
fn match_and_info_know_phash_and_dhash() {
    let dir = tempfile::tempdir().unwrap();
    // shapes.png: pHash a25acfa58d3530a7, dHash b1898d95979d8da9 (ImageHash 4.3.2).
    let idx = build(
        dir.path(),
        "shapes",
        &[
            ("phash", "a25acfa58d3530a7\nffffffffffffffff\n"),
            ("dhash", "b1898d95979d8da9\n"),
        ],
    );
    let o = run(["index", "info", idx.to_str().unwrap()]);
    let info = String::from_utf8(o.stdout).unwrap();
    // Version 7: the lists were read from files, whose sources the index records.
    assert!(info.contains("vigie index v7"), "{info}");
    assert!(info.contains("table phash: 2 hashes"), "{info}");
    assert!(info.contains("table dhash: 1 hashes"), "{info}");
    let q = dir.path().join("q.txt");
    fs::write(&q, "a25acfa58d3530a6\n0000000000000000\n").unwrap();
    let o = run([
        "match",
        "-i",
        idx.to_str().unwrap(),
        "--type",
        "phash",
        q.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let recs = jsonl(&o.stdout);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["algorithm"], "phash");
    assert_eq!(recs[0]["distance"], 1);
    assert_eq!(recs[0]["matched_hash"], "a25acfa58d3530a7");
    // A threshold of 0 finds nothing.
    let o = run([
        "match",
        "-i",
        idx.to_str().unwrap(),
        "--type",
        "phash",
        "--phash-threshold",
        "0",
        q.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The scan of the image itself hits both, at distance 0.
    let recs = jsonl(
        &run([
            "scan",
            "-q",
            "-i",
            idx.to_str().unwrap(),
            fixtures().join("perceptual/shapes.png").to_str().unwrap(),
        ])
        .stdout,
    );
    let algos: Vec<_> = recs
        .iter()
        .map(|r| r["algorithm"].as_str().unwrap())
        .collect();
    assert_eq!(algos, ["phash", "dhash"]);
    assert!(recs.iter().all(|r| r["distance"] == 0));
    // PDQ queries against it are refused.
    fs::write(
        &q,
        "pdq 51a955a55199799a16a951891661ba70ee56ae766186e9d6bb58ab569a7954a9\n",
    )
    .unwrap();
    let o = run(["match", "-i", idx.to_str().unwrap(), q.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("phash, dhash"), "{}", stderr(&o));
}
