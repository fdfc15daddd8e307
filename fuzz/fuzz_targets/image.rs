//! The image path (sniff, decode under limits, PDQ with its dihedral variants, pHash, dHash)
//! on any bytes: a bad image is an error for its item, never a panic that escapes, and never
//! an allocation past the limits. Each input runs exactly and at reduced scale, and the last
//! byte chooses the pixel rule and whether letterbox bars are cut. A scan's luma screen, which
//! reads a progressive JPEG's first scans only, must succeed and fail where a whole decode
//! does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigie::perceptual::decode::{DecodeLimits, DecodeOptions, Pixels};
use vigie::perceptual::letterbox::Unletterbox;
use vigie::perceptual::{hash_image, PerceptualConfig};

fuzz_target!(|data: &[u8]| {
    let knob = data.last().copied().unwrap_or(0);
    let pixels = match knob % 3 {
        0 => Pixels::Viewer,
        1 => Pixels::Pillow,
        _ => Pixels::ThreatExchange,
    };
    let unletterbox = (knob & 4 != 0).then(|| Unletterbox {
        threshold: 15,
        white: knob & 8 != 0,
    });
    let mut cfg = PerceptualConfig {
        pdq: true,
        dihedral: true,
        phash: true,
        dhash: true,
        decode: DecodeOptions {
            limits: DecodeLimits {
                max_pixels: 4_000_000,
                max_alloc: 64 << 20,
            },
            exif_orient: true,
            fast: false,
            pixels,
        },
        unletterbox,
        min_quality: 0,
        luma_screen: false,
    };
    let _ = hash_image(data, &cfg);
    cfg.decode.fast = true;
    let _ = hash_image(data, &cfg);
    cfg.luma_screen = true;
    let _ = hash_image(data, &cfg);
    // Without reorientation and bars, the luma screen of a progressive JPEG reads its first
    // scans only: it must fail exactly where a decode of every scan fails.
    if cfg.unletterbox.is_none() {
        cfg.decode.exif_orient = false;
        let screen = hash_image(data, &cfg).map(|r| r.is_ok());
        cfg.luma_screen = false;
        let whole = hash_image(data, &cfg).map(|r| r.is_ok());
        assert_eq!(screen, whole, "the screen and a whole decode disagree");
    }
});
