//! The reduced-scale decode is a screen, never the answer (issue 19, point 1): for JPEGs the
//! fast path decodes at 1/2 or 1/4, entries planted at distance 31 of the exact hash
//! (and beyond 31 of the screen's) are found, entries at 32 of the exact hash (and within 31
//! of the screen's) are not, and `vigie scan`'s records equal `--exact-decode`'s.

mod common;

use std::fs;
use std::path::Path;

use common::{code, fixtures, run, stderr};
use vigie::perceptual::decode::{
    decode_rgb_as, decode_screen_as, decode_screen_rgb_as, DecodeOptions, ImageFormat,
    SCREEN_MAX_SCALE,
};
use vigie::perceptual::pdq::PdqHash;
use vigie::perceptual::{hash_image, PerceptualConfig, FAST_PDQ_DRIFT};

/// The PDQ hashes of `bytes` as a scan's screen computes them (`fast`: the luma-only reduced
/// decode) or as the exact path does, and the decode's scale.
fn pdq_of(bytes: &[u8], fast: bool, dihedral: bool) -> (Vec<PdqHash>, u8) {
    let cfg = PerceptualConfig {
        pdq: true,
        dihedral,
        decode: DecodeOptions {
            fast,
            ..DecodeOptions::default()
        },
        luma_screen: fast,
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

/// The screen decodes a reduced YCbCr or grey JPEG to its luma only, and every other JPEG as
/// the RGB screen does: a CMYK one (Adobe, inverted) to Pillow draft's RGB, one decoded in
/// full to the exact pixels, whose hashes the scan trusts as exact (scale 1). Neither
/// decodes below 1/4, where Pillow's draft goes to 1/8. The luma is JPEG's Y, close to the
/// luma of the RGB pixels (of a progressive file's first scans, whose coefficients lack up to
/// 2 bits, a little further), and the screen's hashes stay within the drift bound of the
/// exact ones.
#[test]
fn screen_decodes_luma_only_where_it_can() {
    let fast = DecodeOptions {
        fast: true,
        ..DecodeOptions::default()
    };
    let (mut rgb, mut luma) = (Vec::new(), Vec::new());
    for (file, want_luma, mean_off) in [
        ("scale2.jpg", true, 1),
        ("scale2_progressive.jpg", true, 2),
        ("scale4_grey.jpg", true, 1),
        ("scale4_grey_progressive.jpg", true, 2),
        ("scale8.jpg", true, 1),
        ("scale2_cmyk.jpg", false, 0),
        ("noscale.jpg", false, 0),
    ] {
        let bytes = fs::read(fixtures().join("fastdecode").join(file)).unwrap();
        let draft = decode_rgb_as(&bytes, ImageFormat::Jpeg, &fast, &mut rgb).unwrap();
        let r = decode_screen_rgb_as(&bytes, ImageFormat::Jpeg, &fast, &mut rgb).unwrap();
        let l = decode_screen_as(&bytes, ImageFormat::Jpeg, &fast, &mut luma).unwrap();
        assert_eq!(r.scale, draft.scale.min(SCREEN_MAX_SCALE), "{file}");
        assert!(!r.luma, "{file}");
        assert_eq!(l.luma, want_luma, "{file}");
        assert_eq!(
            (l.width, l.height, l.scale, l.grey),
            (r.width, r.height, r.scale, r.grey),
            "{file}"
        );
        if want_luma {
            assert_eq!(luma.len(), rgb.len() / 3, "{file}");
            // JPEG's Y against the RGB pixels' luma: off by rounding (and by clamping where
            // a colour saturates), never by more on average than a grey level.
            let diff: u64 = rgb
                .chunks_exact(3)
                .zip(&luma)
                .map(|(p, &y)| {
                    let l = (299 * u32::from(p[0])
                        + 587 * u32::from(p[1])
                        + 114 * u32::from(p[2])
                        + 500)
                        / 1000;
                    u64::from(l.abs_diff(u32::from(y)))
                })
                .sum();
            assert!(
                diff <= mean_off * luma.len() as u64,
                "{file}: mean |Y - luma| over {mean_off}"
            );
        } else {
            assert_eq!(luma, rgb, "{file}: the RGB fast path's pixels");
        }
        let (screen, scale) = pdq_of(&bytes, true, true);
        let (exact, _) = pdq_of(&bytes, false, true);
        assert_eq!(scale, l.scale, "{file}");
        for (s, e) in screen.iter().zip(&exact) {
            let d = s.distance(e);
            assert!(d <= FAST_PDQ_DRIFT, "{file}: {d} bits");
            if scale == 1 {
                assert_eq!(d, 0, "{file}: a full decode is the exact hash");
            }
        }
    }
}
