//! The reduced-scale decode is a screen, never the answer (issue 19, point 1): for JPEGs the
//! fast path decodes at 1/2, 1/4 or 1/8, entries planted at distance 31 of the exact hash
//! (and beyond 31 of the screen's) are found, entries at 32 of the exact hash (and within 31
//! of the screen's) are not, and `vigie scan`'s records equal `--exact-decode`'s.

mod common;

use std::fs;
use std::path::Path;

use common::{code, fixtures, run, stderr};
use vigie::perceptual::decode::{DecodeOptions, ImageFormat};
use vigie::perceptual::pdq::PdqHash;
use vigie::perceptual::{hash_image, PerceptualConfig};

fn pdq_of(bytes: &[u8], fast: bool, dihedral: bool) -> (Vec<PdqHash>, u8) {
    let cfg = PerceptualConfig {
        pdq: true,
        dihedral,
        decode: DecodeOptions {
            fast,
            ..DecodeOptions::default()
        },
        ..PerceptualConfig::default()
    };
    let i = hash_image(bytes, &cfg).unwrap().unwrap();
    assert_eq!(i.format, ImageFormat::Jpeg);
    let hashes = match i.pdq_dihedral {
        Some(all) => all.to_vec(),
        None => vec![i.pdq.unwrap()],
    };
    (hashes, i.decode_scale)
}

fn bits(h: &PdqHash) -> [u8; 32] {
    let hex = h.to_hex();
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fn from_bits(b: &[u8; 32]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn distance(a: &[u8; 32], b: &[u8; 32]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// `exact` with `n` bits flipped: first those where `screen` differs from it when `toward`,
/// then others in order (never those when not `toward`).
fn plant(exact: &[u8; 32], screen: &[u8; 32], n: u32, toward: bool) -> [u8; 32] {
    let mut out = *exact;
    let mut left = n;
    let differs = |i: usize| (exact[i / 8] ^ screen[i / 8]) >> (7 - i % 8) & 1 == 1;
    let order: Vec<usize> = if toward {
        (0..256)
            .filter(|&i| differs(i))
            .chain((0..256).filter(|&i| !differs(i)))
            .collect()
    } else {
        (0..256).filter(|&i| !differs(i)).collect()
    };
    for i in order {
        if left == 0 {
            break;
        }
        out[i / 8] ^= 0x80 >> (i % 8);
        left -= 1;
    }
    out
}

fn scan_records(dir: &Path, list: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "scan".as_ref(),
        "-q".as_ref(),
        "--list".as_ref(),
        list.as_os_str(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.push(dir.as_os_str());
    let o = run(args);
    assert!(matches!(code(&o), 0 | 1), "{}", stderr(&o));
    let mut lines: Vec<String> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn screened_fast_path_finds_what_exact_decoding_finds() {
    let src = fixtures().join("fastdecode");
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    fs::create_dir(&images).unwrap();
    for dihedral in [false, true] {
        // Entries only the exact hashes find, and entries only the screen's find: in two
        // lists, so that a screen hit of one kind cannot make up for a miss of the other.
        let (mut missed, mut false_hits) = (String::new(), String::new());
        let mut drifted = 0;
        for e in fs::read_dir(&src).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "jpg") {
                continue;
            }
            let bytes = fs::read(&p).unwrap();
            let (fast, scale) = pdq_of(&bytes, true, dihedral);
            if scale == 1 {
                continue;
            }
            fs::copy(&p, images.join(p.file_name().unwrap())).unwrap();
            let (exact, _) = pdq_of(&bytes, false, dihedral);
            for (e, f) in exact.iter().zip(&fast) {
                let (e, f) = (bits(e), bits(f));
                let k = distance(&e, &f);
                if k == 0 {
                    continue;
                }
                drifted += 1;
                // At 31 of the exact hash, 31 + k of the screen's: only the exact hash finds it.
                let x = plant(&e, &f, 31, false);
                assert_eq!(distance(&x, &f), 31 + k);
                // At 32 of the exact hash, 32 - k of the screen's: only the screen finds it.
                let y = plant(&e, &f, 32, true);
                assert_eq!(distance(&y, &f), 32 - k);
                missed.push_str(&format!("pdq {}\n", from_bits(&x)));
                false_hits.push_str(&format!("pdq {}\n", from_bits(&y)));
            }
        }
        assert!(
            drifted >= 3,
            "the fixtures must drift under the fast decode"
        );
        let flag: &[&str] = if dihedral { &["--pdq-dihedral"] } else { &[] };
        for (name, list, want_hits) in [("missed", &missed, true), ("false", &false_hits, false)] {
            let list_path = dir.path().join(format!("{name}-{dihedral}.te"));
            fs::write(&list_path, list).unwrap();
            let exact = scan_records(&images, &list_path, &[flag, &["--exact-decode"]].concat());
            let fast = scan_records(&images, &list_path, flag);
            assert_eq!(fast, exact, "{name} entries, dihedral {dihedral}");
            if want_hits {
                assert!(
                    exact.iter().any(|l| l.contains("\"distance\":31")),
                    "{exact:#?}"
                );
            } else {
                assert!(exact.is_empty(), "{exact:#?}");
            }
        }
        for f in fs::read_dir(&images).unwrap() {
            fs::remove_file(f.unwrap().path()).unwrap();
        }
    }
}
