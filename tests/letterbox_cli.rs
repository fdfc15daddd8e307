//! Unletterboxing (issue 19, point 4): `--unletterbox` cuts the same bars as
//! python-threatexchange's `--photo-preprocess unletterbox` and hashes what is left to the
//! same PDQ, on the peer's own test images and on synthetic ones (fixtures/letterbox/, whose
//! EXPECTED.tsv `scripts/gen_letterbox_expected.py` wrote from the peer, run live); a
//! letterboxed copy then matches its original, and the reduced-scale screen finds what the
//! exact decode finds, with identical records.

mod common;

use std::fs;

use common::{code, fixtures, jsonl, run, stderr};
use serde_json::Value;
use vigie::perceptual::decode::DecodeOptions;
use vigie::perceptual::letterbox::Unletterbox;
use vigie::perceptual::{hash_image, PerceptualConfig, FAST_PDQ_DRIFT_UNLETTERBOX};

struct Expected {
    file: String,
    threshold: u8,
    trim: [u64; 6],
    crop_pdq: String,
    crop_quality: u64,
    peer_pdq: String,
}

fn expected() -> Vec<Expected> {
    let text = fs::read_to_string(fixtures().join("letterbox/EXPECTED.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let n = |i: usize| f[i].parse::<u64>().unwrap();
            Expected {
                file: f[0].to_string(),
                threshold: f[1].parse().unwrap(),
                trim: [n(2), n(3), n(4), n(5), n(6), n(7)],
                crop_pdq: f[8].to_string(),
                crop_quality: n(9),
                peer_pdq: f[10].to_string(),
            }
        })
        .collect()
}

fn distance(a: &str, b: &str) -> u32 {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    (0..64)
        .map(|i| {
            let x = (a[i] as char).to_digit(16).unwrap();
            let y = (b[i] as char).to_digit(16).unwrap();
            (x ^ y).count_ones()
        })
        .sum()
}

fn hash_record(file: &str, extra: &[&str]) -> Value {
    let path = fixtures().join("letterbox").join(file);
    let mut args = vec!["hash", "-q", "--algo", "pdq"];
    args.extend(extra);
    args.push(path.to_str().unwrap());
    let o = run(&args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    jsonl(&o.stdout).remove(0)
}

/// The bars and the PDQ of every fixture, at the peer's default threshold and at 25, are the
/// peer's: the crop equals the peer's crop pixel for pixel, so the PDQ of its pixels is equal
/// bit for bit. The peer's CLI re-encodes a JPEG crop before hashing it (PNG is lossless):
/// its printed PDQ is then at most a few bits away.
#[test]
fn unletterbox_reproduces_python_threatexchange() {
    let rows = expected();
    assert_eq!(rows.len(), 12);
    let mut cut = 0;
    for e in &rows {
        let t = e.threshold.to_string();
        let r = hash_record(&e.file, &["--unletterbox", "--letterbox-threshold", &t]);
        let trim = &r["trim"];
        let got: Vec<u64> = ["top", "bottom", "left", "right", "width", "height"]
            .iter()
            .map(|k| trim[k].as_u64().unwrap())
            .collect();
        assert_eq!(got, e.trim, "{} at {}", e.file, e.threshold);
        cut += usize::from(e.trim[..4].iter().any(|&x| x > 0));
        assert_eq!(
            r["pdq"],
            e.crop_pdq.as_str(),
            "{} at {}",
            e.file,
            e.threshold
        );
        assert_eq!(r["pdq_quality"], e.crop_quality);
        let d = distance(&e.crop_pdq, &e.peer_pdq);
        if e.file.ends_with(".png") {
            assert_eq!(d, 0, "{}", e.file);
        } else {
            assert!(
                d <= 6,
                "{} at {}: {d} bits from the peer's CLI",
                e.file,
                e.threshold
            );
        }
    }
    assert!(cut >= 5, "the fixtures must have bars to cut");
    // Without the flag, no trim is reported and the bars are hashed.
    let r = hash_record("letterbox.png", &[]);
    assert!(r.get("trim").is_none());
    assert!(distance(r["pdq"].as_str().unwrap(), &rows[0].crop_pdq) > 31);
}

/// White bars are the peer's business only with --unletterbox-white.
#[test]
fn white_bars_only_when_asked() {
    let plain = hash_record("synthetic_white.png", &["--unletterbox"]);
    assert_eq!(plain["trim"]["width"], 378);
    let white = hash_record(
        "synthetic_white.png",
        &["--unletterbox", "--unletterbox-white"],
    );
    assert_eq!(
        (
            &white["trim"]["left"],
            &white["trim"]["right"],
            &white["trim"]["width"]
        ),
        (&Value::from(37), &Value::from(41), &Value::from(300))
    );
    assert_ne!(white["pdq"], plain["pdq"]);
}

fn scan_lines(list: &std::path::Path, dir: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["scan", "-q", "--list", list.to_str().unwrap()];
    args.extend(extra);
    args.push(dir.to_str().unwrap());
    let o = run(&args);
    assert!(matches!(code(&o), 0 | 1), "{}", stderr(&o));
    let mut v: Vec<String> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// A letterboxed copy matches its original's hash only with --unletterbox; the default scan
/// (reduced-scale screen, full re-decode of what it finds) writes the same records as
/// --exact-decode, for letterboxed JPEGs large enough to be screened at 1/2.
#[test]
fn letterboxed_copies_match_and_the_screen_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    fs::create_dir(&images).unwrap();
    for f in [
        "letterbox.png",
        "letterboxed_sample-b.jpg",
        "synthetic_fast.jpg",
    ] {
        fs::copy(fixtures().join("letterbox").join(f), images.join(f)).unwrap();
    }
    // The originals: clean.png, sample-b.jpg, and the synthetic picture without its bars
    // (the peer's crop at threshold 25).
    let rows = expected();
    let want = |file: &str, t: u8| {
        rows.iter()
            .find(|e| e.file == file && e.threshold == t)
            .unwrap()
            .crop_pdq
            .clone()
    };
    let list = dir.path().join("originals.te");
    fs::write(
        &list,
        format!(
            "pdq {}\npdq {}\npdq {}\n",
            want("clean.png", 15),
            want("sample-b.jpg", 15),
            want("synthetic_fast.jpg", 25)
        ),
    )
    .unwrap();
    assert!(
        scan_lines(&list, &images, &[]).is_empty(),
        "bars hide the copies"
    );
    for extra in [&[][..], &["--pdq-dihedral"][..]] {
        let fast = scan_lines(&list, &images, &[extra, &["--unletterbox"]].concat());
        let exact = scan_lines(
            &list,
            &images,
            &[extra, &["--unletterbox", "--exact-decode"]].concat(),
        );
        assert_eq!(fast, exact);
        for f in [
            "letterbox.png",
            "letterboxed_sample-b.jpg",
            "synthetic_fast.jpg",
        ] {
            assert!(
                fast.iter()
                    .any(|l| l.contains(f) && l.contains("\"verdict\":\"match\"")),
                "{f} not found: {fast:#?}"
            );
        }
    }
}

/// Trimming at reduced scale cuts nearly the same bars as at full scale (to within a block of
/// the reduced decode), so the screen's hash stays within FAST_PDQ_DRIFT_UNLETTERBOX of the
/// exact one (the corpus measurement is benches/fast_drift.sh --unletterbox).
#[test]
fn reduced_scale_trim_stays_within_the_screen_bound() {
    let mut screened = 0;
    for f in [
        "letterboxed_sample-b.jpg",
        "synthetic_fast.jpg",
        "sample-b.jpg",
    ] {
        let bytes = fs::read(fixtures().join("letterbox").join(f)).unwrap();
        for threshold in [15, 25] {
            let cfg = |fast| PerceptualConfig {
                pdq: true,
                dihedral: true,
                decode: DecodeOptions {
                    fast,
                    ..DecodeOptions::default()
                },
                unletterbox: Some(Unletterbox {
                    threshold,
                    white: false,
                }),
                ..PerceptualConfig::default()
            };
            let exact = hash_image(&bytes, &cfg(false)).unwrap().unwrap();
            let fast = hash_image(&bytes, &cfg(true)).unwrap().unwrap();
            assert_eq!(exact.decode_scale, 1);
            if fast.decode_scale == 1 {
                continue;
            }
            screened += 1;
            let (e, t) = (exact.trim.unwrap(), fast.trim.unwrap());
            let s = u32::from(fast.decode_scale);
            for (a, b) in [
                (e.top, t.top),
                (e.bottom, t.bottom),
                (e.left, t.left),
                (e.right, t.right),
            ] {
                assert!(a.abs_diff(b * s) <= 2 * s, "{f}: {e:?} vs {t:?} at 1/{s}");
            }
            let (ed, fd) = (exact.pdq_dihedral.unwrap(), fast.pdq_dihedral.unwrap());
            for (a, b) in ed.iter().zip(fd.iter()) {
                let d = distance(&a.to_hex(), &b.to_hex());
                assert!(d <= FAST_PDQ_DRIFT_UNLETTERBOX, "{f}: {d} bits");
            }
        }
    }
    assert!(screened >= 4);
}

/// Entries 31 bits from a letterboxed JPEG's exact (cut at full size) hash and 31 + k from
/// its screen's (cut on the reduced decode), which the screen alone would miss: the default
/// scan finds them, as --exact-decode does, with identical records.
#[test]
fn screen_finds_entries_only_the_exact_cut_reaches() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    fs::create_dir(&images).unwrap();
    let mut list = String::new();
    let mut drifted = 0;
    for f in ["letterboxed_sample-b.jpg", "synthetic_fast.jpg"] {
        let bytes = fs::read(fixtures().join("letterbox").join(f)).unwrap();
        fs::write(images.join(f), &bytes).unwrap();
        let cfg = |fast| PerceptualConfig {
            pdq: true,
            decode: DecodeOptions {
                fast,
                ..DecodeOptions::default()
            },
            unletterbox: Some(Unletterbox::default()),
            ..PerceptualConfig::default()
        };
        let exact = hash_image(&bytes, &cfg(false))
            .unwrap()
            .unwrap()
            .pdq
            .unwrap();
        let fast = hash_image(&bytes, &cfg(true)).unwrap().unwrap();
        assert!(fast.decode_scale > 1, "{f} is screened");
        let (e, s) = (exact.to_hex(), fast.pdq.unwrap().to_hex());
        let k = distance(&e, &s);
        drifted += usize::from(k > 0);
        // Flip 31 bits where the screen agrees with the exact hash: 31 from the exact hash,
        // 31 + k from the screen's.
        let mut bits: Vec<u32> = (0..64)
            .map(|i| u32::from_str_radix(&e[i..i + 1], 16).unwrap())
            .collect();
        let sb: Vec<u32> = (0..64)
            .map(|i| u32::from_str_radix(&s[i..i + 1], 16).unwrap())
            .collect();
        let mut left = 31;
        for i in 0..256 {
            let (n, b) = (i / 4, 3 - i % 4);
            if left > 0 && (bits[n] ^ sb[n]) >> b & 1 == 0 {
                bits[n] ^= 1 << b;
                left -= 1;
            }
        }
        let planted: String = bits.iter().map(|v| format!("{v:x}")).collect();
        assert_eq!(distance(&planted, &e), 31);
        assert_eq!(distance(&planted, &s), 31 + k);
        list.push_str(&format!("pdq {planted}\n"));
    }
    assert!(drifted >= 1, "some fixture must drift on the fast path");
    let list_path = dir.path().join("planted.te");
    fs::write(&list_path, list).unwrap();
    let fast = scan_lines(&list_path, &images, &["--unletterbox"]);
    let exact = scan_lines(&list_path, &images, &["--unletterbox", "--exact-decode"]);
    assert_eq!(fast, exact);
    assert_eq!(
        fast.iter()
            .filter(|l| l.contains("\"distance\":31"))
            .count(),
        2,
        "{fast:#?}"
    );
}
