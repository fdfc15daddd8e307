//! Image decoding (`vigie::perceptual::decode`): pixels against Pillow on small generated fixtures,
//! full-resolution PDQ against the reference C++ core, and hostile input (truncation, garbage,
//! decompression bombs) that must fail one item cleanly and never panic.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::XorShift;

use vigie::hash::{hash_bytes, Algo, AlgoSet};
use vigie::perceptual::decode::{
    decode_rgb, jpeg_fast_scale, sniff, DecodeErrorKind, DecodeLimits, DecodeOptions, ImageFormat,
};
use vigie::perceptual::pdq::{PdqDihedral, PdqHash, PdqHasher, PixelBuffer};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `fixtures/images/EXPECTED.tsv`: file → (Pillow mode, width, height).
fn expected_images() -> Vec<(String, String, u32, u32)> {
    let text = std::fs::read_to_string(root().join("images/EXPECTED.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].to_string(),
                f[1].to_string(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect()
}

fn max_diff(a: &[u8], b: &[u8]) -> (u8, usize) {
    assert_eq!(a.len(), b.len());
    let mut max = 0;
    let mut n = 0;
    for (x, y) in a.iter().zip(b) {
        let d = x.abs_diff(*y);
        if d > 0 {
            n += 1;
        }
        max = max.max(d);
    }
    (max, n)
}

/// Every generated fixture decodes to Pillow's `convert("RGB")` pixels exactly, except 16-bit grey,
/// where Pillow clamps the integer value to 255 and we keep the high byte (module docs).
#[test]
fn generated_fixtures_match_pillow() {
    let opts = DecodeOptions::default();
    let mut buf = Vec::new();
    let mut checked = 0;
    for (name, mode, w, h) in expected_images() {
        let bytes = read(&format!("images/{name}"));
        let want = read(&format!("images/{name}.rgb"));
        let d = decode_rgb(&bytes, &opts, &mut buf).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((d.width, d.height), (w, h), "{name}");
        assert_eq!(buf.len(), (w * h * 3) as usize, "{name}");
        assert!(!d.truncated, "{name}");
        assert_eq!(
            d.grey,
            matches!(mode.as_str(), "L" | "LA" | "I;16"),
            "{name} ({mode})"
        );
        if name == "grey16.png" {
            // Pillow: min(v, 255). Ours: v >> 8. Check ours against the 16-bit source directly.
            let img = image::load_from_memory(&bytes).unwrap().into_luma16();
            for (px, v) in buf.chunks(3).zip(img.as_raw()) {
                assert_eq!(px, [(v >> 8) as u8; 3], "{name}");
            }
        } else {
            let (max, n) = max_diff(&buf, &want);
            assert_eq!(
                (max, n),
                (0, 0),
                "{name} ({mode}): differs from Pillow in {n} samples, by up to {max}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 13);
}

#[test]
fn cmyk_jpeg_is_inverted_and_converted_like_pillow() {
    let bytes = read("images/cmyk.jpg");
    let mut buf = Vec::new();
    let d = decode_rgb(&bytes, &DecodeOptions::default(), &mut buf).unwrap();
    assert_eq!(d.format, ImageFormat::Jpeg);
    assert!(!d.grey);
    assert_eq!(buf, read("images/cmyk.jpg.rgb"));
}

/// A 16-bit RGB PNG written here (Pillow cannot write one): samples keep their high byte, which is
/// Pillow's `RGB;16B` unpacking.
#[test]
fn rgb16_png_keeps_high_byte() {
    let (w, h) = (7u32, 5u32);
    let mut img = image::ImageBuffer::<image::Rgb<u16>, Vec<u16>>::new(w, h);
    for (x, y, p) in img.enumerate_pixels_mut() {
        *p = image::Rgb([
            (x * 9000 + y * 13) as u16,
            (y * 12000 + 255) as u16,
            0xFFFF - (x * y * 1500) as u16,
        ]);
    }
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb16(img.clone())
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let mut buf = Vec::new();
    let d = decode_rgb(&png, &DecodeOptions::default(), &mut buf).unwrap();
    assert_eq!((d.width, d.height, d.grey), (w, h, false));
    let want: Vec<u8> = img.as_raw().iter().map(|v| (v >> 8) as u8).collect();
    assert_eq!(buf, want);
}

/// Alpha is dropped and the RGB stored under fully transparent pixels is kept (no compositing).
#[test]
fn alpha_is_ignored_not_composited() {
    let bytes = read("images/rgba.png");
    let img = image::load_from_memory(&bytes).unwrap().into_rgba8();
    assert!(
        img.pixels().any(|p| p[3] == 0 && p[0] != 0),
        "fixture has transparent pixels with colour"
    );
    let mut buf = Vec::new();
    decode_rgb(&bytes, &DecodeOptions::default(), &mut buf).unwrap();
    let want: Vec<u8> = img.pixels().flat_map(|p| [p[0], p[1], p[2]]).collect();
    assert_eq!(buf, want);
}

/// The buffer is reused: decoding a smaller image after a larger one does not reallocate.
#[test]
fn buffer_is_reused() {
    let big = read("images/rgba.png");
    let mut buf = Vec::new();
    decode_rgb(&big, &DecodeOptions::default(), &mut buf).unwrap();
    let cap = buf.capacity();
    let ptr = buf.as_ptr();
    for name in ["rgb.jpg", "grey.png", "palette.png", "rgb.gif", "cmyk.jpg"] {
        decode_rgb(
            &read(&format!("images/{name}")),
            &DecodeOptions::default(),
            &mut buf,
        )
        .unwrap();
        assert_eq!((buf.capacity(), buf.as_ptr()), (cap, ptr), "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile input.

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A valid PNG header claiming `w`×`h` RGB, with a tiny IDAT: the classic decompression bomb.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, RGB, deflate, no filter, no interlace
    png_chunk(&mut png, b"IHDR", &ihdr);
    // zlib stream of a few zero bytes (stored block).
    png_chunk(
        &mut png,
        b"IDAT",
        &[
            0x78, 0x01, 0x01, 0x04, 0x00, 0xFB, 0xFF, 0, 0, 0, 0, 0, 4, 0, 1,
        ],
    );
    png_chunk(&mut png, b"IEND", &[]);
    png
}

#[test]
fn png_bomb_fails_fast_as_too_large() {
    assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    let png = png_bomb(100_000, 100_000);
    let mut buf = Vec::new();
    let t = Instant::now();
    let err = decode_rgb(&png, &DecodeOptions::default(), &mut buf).unwrap_err();
    let took = t.elapsed();
    assert_eq!(err.kind(), DecodeErrorKind::TooLarge, "{err}");
    assert!(err.to_string().starts_with("image too large"), "{err}");
    assert!(took < Duration::from_millis(500), "took {took:?}");
    // Nothing was allocated for pixels.
    assert!(buf.capacity() < 1 << 20, "capacity {}", buf.capacity());

    // Under max_pixels but over max_alloc: also refused before allocating.
    let opts = DecodeOptions {
        limits: DecodeLimits {
            max_pixels: u64::MAX,
            max_alloc: 64 << 20,
        },
        ..DecodeOptions::default()
    };
    let err = decode_rgb(&png_bomb(10_000, 10_000), &opts, &mut buf).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::TooLarge, "{err}");
    assert!(buf.capacity() < 1 << 20);
}

#[test]
fn jpeg_over_the_limit_fails_before_decoding() {
    let bytes = read("images/rgb.jpg");
    let opts = DecodeOptions {
        limits: DecodeLimits {
            max_pixels: 1000,
            ..DecodeLimits::default()
        },
        ..DecodeOptions::default()
    };
    let mut buf = Vec::new();
    let err = decode_rgb(&bytes, &opts, &mut buf).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::TooLarge, "{err}");
    assert!(err.message().contains("64x48"), "{err}");
    assert_eq!(buf.capacity(), 0);
}

/// A JPEG whose SOF claims 60000x60000: refused from the header, quickly, nothing allocated.
#[test]
fn jpeg_dimension_bomb_fails_fast() {
    let mut bytes = read("images/rgb.jpg");
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline SOF0");
    // FFC0, length (2), precision (1), height (2), width (2).
    bytes[sof + 5..sof + 7].copy_from_slice(&60_000u16.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&60_000u16.to_be_bytes());
    let mut buf = Vec::new();
    let t = Instant::now();
    let err = decode_rgb(&bytes, &DecodeOptions::default(), &mut buf).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::TooLarge, "{err}");
    assert!(t.elapsed() < Duration::from_millis(500));
    assert_eq!(buf.capacity(), 0);
}

/// libjpeg's whole-image coefficient buffer for progressive files counts towards `max_alloc`.
#[test]
fn progressive_jpeg_memory_is_counted() {
    let opts = DecodeOptions {
        limits: DecodeLimits {
            max_alloc: 64 * 48 * 3 * 2,
            ..DecodeLimits::default()
        },
        ..DecodeOptions::default()
    };
    let mut buf = Vec::new();
    assert!(decode_rgb(&read("images/truncated.jpg"), &opts, &mut buf).is_ok());
    let err = decode_rgb(&read("images/truncated_progressive.jpg"), &opts, &mut buf).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::TooLarge, "{err}");
}

/// Truncated JPEG: decoded as libjpeg (and ImageMagick) decode it — the missing rest is filled in
/// by the decoder — and flagged `truncated`. The part that was present is intact.
#[test]
fn truncated_jpeg_decodes_partially_and_is_flagged() {
    let mut buf = Vec::new();
    let opts = DecodeOptions::default();
    for name in ["truncated.jpg", "truncated_progressive.jpg"] {
        let d = decode_rgb(&read(&format!("images/{name}")), &opts, &mut buf)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((d.width, d.height), (64, 48), "{name}");
        assert!(d.truncated, "{name}");
    }
    // Baseline: the first rows are exactly those of the complete file.
    decode_rgb(&read("images/truncated.jpg"), &opts, &mut buf).unwrap();
    let full = read("images/rgb.jpg.rgb");
    assert_eq!(buf[..64 * 3 * 8], full[..64 * 3 * 8]);
    // Every cut of a complete file: no panic, either a flagged partial decode or a clean error.
    let whole = read("images/rgb.jpg");
    for cut in 3..whole.len() {
        match decode_rgb(&whole[..cut], &opts, &mut buf) {
            Ok(d) => assert!(d.truncated || cut >= whole.len() - 2, "cut {cut}"),
            Err(e) => assert_eq!(e.kind(), DecodeErrorKind::Corrupt, "cut {cut}: {e}"),
        }
    }
    // Complete files are not flagged, and trailing bytes after EOI don't count as truncation.
    let mut padded = whole.clone();
    padded.extend_from_slice(b"trailing junk");
    assert!(!decode_rgb(&padded, &opts, &mut buf).unwrap().truncated);
}

/// Every format, cut at 60 points: a clean result either way, never an unwinding panic. Only JPEG
/// may come back `Ok` from a cut file, and then it is flagged `truncated`.
#[test]
fn truncated_files_of_every_format_fail_cleanly() {
    let opts = DecodeOptions::default();
    let mut buf = Vec::new();
    for (name, _, _, _) in expected_images() {
        let whole = read(&format!("images/{name}"));
        let step = (whole.len() / 60).max(1);
        let mut ok = 0;
        for cut in (1..whole.len()).step_by(step) {
            match decode_rgb(&whole[..cut], &opts, &mut buf) {
                Ok(d) => {
                    ok += 1;
                    assert_eq!(buf.len(), (d.width * d.height * 3) as usize);
                    if d.format == ImageFormat::Jpeg {
                        assert!(d.truncated, "{name} cut at {cut}");
                    }
                }
                Err(e) => assert!(
                    buf.is_empty() && !e.message().is_empty(),
                    "{name} cut {cut}: {e:?} {}",
                    buf.len()
                ),
            }
        }
        eprintln!("{name}: {ok} of the cuts decoded");
    }
}

/// Deterministic garbage.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    XorShift(seed | 1).bytes(len, |w| (w >> 24) as u8)
}

#[test]
fn garbage_with_magic_fails_cleanly() {
    let mut buf = Vec::new();
    let opts = DecodeOptions::default();
    let magics: [&[u8]; 7] = [
        b"\xFF\xD8\xFF",
        b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00",
        b"\x89PNG\r\n\x1a\n",
        b"GIF89a",
        b"RIFF\x00\x01\x00\x00WEBPVP8 ",
        b"II*\x00",
        b"MM\x00*",
    ];
    for (i, magic) in magics.iter().enumerate() {
        for seed in 0..40u64 {
            let mut data = magic.to_vec();
            data.extend(garbage(
                seed * 7 + i as u64,
                16 + (seed as usize * 97) % 4000,
            ));
            assert!(sniff(&data).is_some());
            if let Err(e) = decode_rgb(&data, &opts, &mut buf) {
                assert!(!e.message().is_empty());
                assert!(buf.is_empty());
            }
        }
    }
    // A real JPEG with its entropy-coded data scrambled: no panic either way.
    let whole = read("images/rgb.jpg");
    for seed in 0..50u64 {
        let mut data = whole.clone();
        let g = garbage(seed, data.len());
        for (k, b) in data.iter_mut().enumerate().skip(200) {
            if g[k] < 8 {
                *b = g[k.wrapping_mul(31) % g.len()];
            }
        }
        let _ = decode_rgb(&data, &opts, &mut buf);
    }
    // Not an image at all.
    let err = decode_rgb(b"just some text", &opts, &mut buf).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::Unsupported);
}

// ---------------------------------------------------------------------------------------------
// EXIF orientation.

/// `orient6.jpg` carries EXIF orientation 6. Default: ignored (stored grid, as the reference).
/// With `exif_orient`: equals Pillow's `ImageOps.exif_transpose(...).convert("RGB")`.
#[test]
fn exif_orientation_is_opt_in() {
    let bytes = read("images/orient6.jpg");
    let mut buf = Vec::new();
    let d = decode_rgb(&bytes, &DecodeOptions::default(), &mut buf).unwrap();
    assert_eq!((d.width, d.height, d.orientation), (64, 48, None));
    assert_eq!(buf, read("images/rgb.jpg.rgb"));
    let opts = DecodeOptions {
        exif_orient: true,
        ..DecodeOptions::default()
    };
    let d = decode_rgb(&bytes, &opts, &mut buf).unwrap();
    assert_eq!((d.width, d.height, d.orientation), (48, 64, Some(6)));
    assert_eq!(buf, read("images/orient6.jpg.transposed.rgb"));
    // No EXIF: nothing to apply.
    let d = decode_rgb(&read("images/rgb.jpg"), &opts, &mut buf).unwrap();
    assert_eq!((d.width, d.height, d.orientation), (64, 48, None));
}

// ---------------------------------------------------------------------------------------------
// Full resolution against the reference C++ core.

fn fullres_manifest() -> BTreeMap<String, ([PdqHash; 8], u8)> {
    let text =
        std::fs::read_to_string(root().join("pdq/fullres/MANIFEST-cpp-core-fullres.tsv")).unwrap();
    let mut out: BTreeMap<String, ([Option<PdqHash>; 8], u8)> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        let v = PdqDihedral::NAMES.iter().position(|n| *n == f[1]).unwrap();
        let q: u8 = f[3].parse().unwrap();
        let e = out.entry(f[0].to_string()).or_insert(([None; 8], q));
        e.0[v] = Some(PdqHash::from_hex(f[2]).unwrap());
    }
    out.into_iter()
        .map(|(k, (h, q))| (k, (h.map(|h| h.unwrap()), q)))
        .collect()
}

#[test]
fn fullres_pdq_matches_reference_core() {
    let manifest = fullres_manifest();
    assert_eq!(manifest.len(), 44);
    let mut hasher = PdqHasher::new();
    let mut buf = Vec::new();
    let opts = DecodeOptions::default();
    let mut exact = 0;
    let mut grey = 0;
    for (file, (want, want_q)) in &manifest {
        let bytes = read(&format!("pdq/fullres/{file}"));
        let d = decode_rgb(&bytes, &opts, &mut buf).unwrap_or_else(|e| panic!("{file}: {e}"));
        let (w, h) = (d.width as usize, d.height as usize);
        let got = hasher.hash_dihedral(PixelBuffer::rgb(&buf, w, h).unwrap());
        let orig = hasher.hash(PixelBuffer::rgb(&buf, w, h).unwrap());
        assert_eq!(orig.hash, got.hashes[0]);
        let dist: Vec<u32> = (0..8).map(|k| got.hashes[k].distance(&want[k])).collect();
        let worst = *dist.iter().max().unwrap();
        // No decode here is allowed to differ: measured 44/44 bit-exact, CMYK, WebP and grey PNG
        // included (see fixtures/pdq/fullres/README.md).
        assert!(
            worst == 0 && got.quality == *want_q,
            "{file}: distances {dist:?}, quality {} vs {want_q}",
            got.quality
        );
        exact += 1;
        // The grey path: hashing the one grey channel as luma is what the reference does.
        if d.grey {
            let plane: Vec<u8> = buf.chunks(3).map(|p| p[0]).collect();
            let g = hasher.hash_dihedral(PixelBuffer::grey(&plane, w, h).unwrap());
            let gd: Vec<u32> = (0..8).map(|k| g.hashes[k].distance(&want[k])).collect();
            assert_eq!(gd, [0; 8], "{file}: grey channel as luma");
            grey += 1;
        }
    }
    eprintln!(
        "fullres: {exact}/{} exact ({grey} grey, also exact as grey luma)",
        manifest.len()
    );
    assert_eq!(exact, 44);
}

// ---------------------------------------------------------------------------------------------
// Reduced-scale JPEG decoding (`DecodeOptions::fast`) against Pillow's `draft` and pdqhash.

struct FastCase {
    file: String,
    size: (u32, u32),
    scale: u8,
    draft_size: (u32, u32),
    draft_sha256: String,
    draft_pdq: (PdqHash, u8),
    full_pdq: (PdqHash, u8),
}

/// `fixtures/fastdecode/EXPECTED.tsv` (see the README there).
fn fast_cases() -> Vec<FastCase> {
    let text = std::fs::read_to_string(root().join("fastdecode/EXPECTED.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let n = |i: usize| f[i].parse::<u32>().unwrap();
            FastCase {
                file: f[0].to_string(),
                size: (n(1), n(2)),
                scale: f[3].parse().unwrap(),
                draft_size: (n(4), n(5)),
                draft_sha256: f[6].to_string(),
                draft_pdq: (PdqHash::from_hex(f[7]).unwrap(), f[8].parse().unwrap()),
                full_pdq: (PdqHash::from_hex(f[9]).unwrap(), f[10].parse().unwrap()),
            }
        })
        .collect()
}

/// The fast path gives Pillow's `draft("RGB", (512, 512))` pixels exactly (so PyPI pdqhash's
/// hash of them bit for bit), stays within 6 bits of the full-resolution PDQ on every fixture
/// (the bound the default of `vigie scan` was shipped under), and the exact path still gives
/// the full-resolution reference hash.
#[test]
fn fast_decode_is_pillow_draft_and_close_to_exact() {
    let cases = fast_cases();
    assert_eq!(cases.len(), 7);
    let fast = DecodeOptions {
        fast: true,
        ..DecodeOptions::default()
    };
    let exact = DecodeOptions::default();
    let mut hasher = PdqHasher::new();
    let mut buf = Vec::new();
    let mut scales = Vec::new();
    for c in &cases {
        let bytes = read(&format!("fastdecode/{}", c.file));
        assert_eq!(jpeg_fast_scale(c.size.0, c.size.1), c.scale, "{}", c.file);

        let d = decode_rgb(&bytes, &fast, &mut buf).unwrap_or_else(|e| panic!("{}: {e}", c.file));
        assert_eq!((d.width, d.height), c.draft_size, "{}", c.file);
        assert_eq!(d.scale, c.scale, "{}", c.file);
        let sha = hash_bytes(AlgoSet::from_iter([Algo::Sha256]), &buf);
        assert_eq!(
            sha.get(Algo::Sha256).unwrap().to_hex(),
            c.draft_sha256,
            "{}: pixels differ from Pillow's draft",
            c.file
        );
        let f = hasher.hash(PixelBuffer::rgb(&buf, d.width as usize, d.height as usize).unwrap());
        assert_eq!((f.hash, f.quality), c.draft_pdq, "{}", c.file);

        let d = decode_rgb(&bytes, &exact, &mut buf).unwrap();
        assert_eq!((d.width, d.height, d.scale), (c.size.0, c.size.1, 1));
        let e = hasher.hash(PixelBuffer::rgb(&buf, d.width as usize, d.height as usize).unwrap());
        assert_eq!((e.hash, e.quality), c.full_pdq, "{}", c.file);

        let dist = f.hash.distance(&e.hash);
        assert!(dist <= 6, "{}: fast PDQ {dist} bits from exact", c.file);
        assert_eq!(dist == 0, c.scale == 1, "{}: distance {dist}", c.file);
        scales.push(c.scale);
    }
    scales.sort_unstable();
    scales.dedup();
    assert_eq!(scales, [1, 2, 4, 8], "every scale is exercised");
}

/// Small JPEGs and other formats are decoded in full by the fast path too: the same pixels.
#[test]
fn fast_decode_leaves_small_images_and_other_formats_alone() {
    let fast = DecodeOptions {
        fast: true,
        ..DecodeOptions::default()
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut n = 0;
    for (name, _, w, h) in expected_images() {
        let bytes = read(&format!("images/{name}"));
        let Ok(d) = decode_rgb(&bytes, &fast, &mut a) else {
            continue;
        };
        decode_rgb(&bytes, &DecodeOptions::default(), &mut b).unwrap();
        assert_eq!((d.width, d.height, d.scale), (w, h, 1), "{name}");
        assert_eq!(a, b, "{name}");
        n += 1;
    }
    assert!(n >= 10);
    assert_eq!(jpeg_fast_scale(1023, 4000), 1);
    assert_eq!(jpeg_fast_scale(1024, 1024), 2);
    assert_eq!(jpeg_fast_scale(2047, 4096), 2);
    assert_eq!(jpeg_fast_scale(4095, 4096), 4);
    assert_eq!(jpeg_fast_scale(65_000, 65_000), 8);
}

/// Limits are checked on the full size even when the decode is reduced.
#[test]
fn fast_decode_keeps_the_full_size_limits() {
    let bytes = read("fastdecode/scale8.jpg");
    let opts = DecodeOptions {
        fast: true,
        limits: DecodeLimits {
            max_pixels: 4096 * 4000,
            ..DecodeLimits::default()
        },
        ..DecodeOptions::default()
    };
    let mut buf = Vec::new();
    let e = decode_rgb(&bytes, &opts, &mut buf).unwrap_err();
    assert_eq!(e.kind(), DecodeErrorKind::TooLarge);
    assert!(buf.is_empty());
}
