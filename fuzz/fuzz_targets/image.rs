//! The image path (sniff, decode under limits, PDQ with its dihedral variants, pHash, dHash)
//! on any bytes: a bad image is an error for its item, never a panic that escapes, and never
//! an allocation past the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigie::perceptual::decode::{DecodeLimits, DecodeOptions};
use vigie::perceptual::{hash_image, PerceptualConfig};

fuzz_target!(|data: &[u8]| {
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
        },
        min_quality: 0,
    };
    let _ = hash_image(data, &cfg);
    cfg.decode.fast = true;
    let _ = hash_image(data, &cfg);
});
