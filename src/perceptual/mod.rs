//! Perceptual hashes: digests that stay close when an image is re-encoded, resized or lightly
//! edited, compared by Hamming distance rather than equality.
//!
//! [`decode`] turns image bytes into the 8-bit RGB pixels those hashes are computed from.
//!
//! [`pdq`] is Meta's PDQ (the hash exchanged by ThreatExchange and most industry hash-sharing
//! programmes), computed bit for bit as the reference C++ core computes it from a pixel buffer.
//! [`imghash`] is the 64-bit pHash and dHash of Python ImageHash, from the same RGB pixels.
//! [`letterbox`] cuts uniform bars off the pixels before any of them is computed, when asked.
//! [`buffer`] is the checked pixel buffer both hashers take.

pub mod buffer;
pub mod decode;
pub mod imghash;
mod jpeg_scans;
pub mod letterbox;
pub mod pdq;

use std::cell::RefCell;

use buffer::PixelBuffer;
use decode::{DecodeOptions, ImageFormat};
use imghash::{ImgHash64, ImgHasher, ImgKind};
use letterbox::{Trim, Unletterbox};
use pdq::{PdqHash, PdqHasher};

/// Why an item that sniffs as an image could not be hashed perceptually; the message starts
/// with the cause: `image too large`, `corrupt image`, `unsupported image`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ImageError(String);

/// Which perceptual hashes to compute, and how to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PerceptualConfig {
    /// PDQ hash and quality.
    pub pdq: bool,
    /// The 8 dihedral PDQ hashes too (rotations and flips).
    pub dihedral: bool,
    /// 64-bit pHash (Python ImageHash's definition).
    pub phash: bool,
    /// 64-bit dHash (Python ImageHash's definition).
    pub dhash: bool,
    /// Decoding limits and EXIF orientation.
    pub decode: DecodeOptions,
    /// Images whose PDQ quality is below this are not matched on PDQ (and are counted).
    pub min_quality: u8,
    /// Cut letterbox bars off the decoded pixels before hashing ([`letterbox`]).
    pub unletterbox: Option<Unletterbox>,
    /// The hashes are a screen's (a scan's, checked against an index and computed again from
    /// a full decode when near an entry): with [`DecodeOptions::fast`] and no
    /// [`unletterbox`](Self::unletterbox), a YCbCr or grey JPEG decoded at reduced scale is
    /// decoded to its luma only ([`decode::decode_screen_as`]), faster than to RGB and further
    /// from the exact hash than Pillow's draft (within [`FAST_PDQ_DRIFT`] all the same).
    /// Off, the fast decode gives Pillow's `draft` pixels (`vigie hash --fast-decode`).
    pub luma_screen: bool,
}

impl Default for PerceptualConfig {
    fn default() -> Self {
        PerceptualConfig {
            pdq: false,
            dihedral: false,
            phash: false,
            dhash: false,
            decode: DecodeOptions::default(),
            min_quality: pdq::MIN_QUALITY,
            unletterbox: None,
            luma_screen: false,
        }
    }
}

impl ImageHashes {
    /// The image's 64-bit hash of kind `kind`, when it was computed.
    pub fn img(&self, kind: ImgKind) -> Option<ImgHash64> {
        match kind {
            ImgKind::Phash => self.phash,
            ImgKind::Dhash => self.dhash,
        }
    }
}

impl PerceptualConfig {
    /// The screen's slack for these options: [`FAST_PDQ_DRIFT`], or
    /// [`FAST_PDQ_DRIFT_UNLETTERBOX`] when images are unletterboxed.
    pub fn fast_drift(&self) -> u32 {
        if self.unletterbox.is_some() {
            FAST_PDQ_DRIFT_UNLETTERBOX
        } else {
            FAST_PDQ_DRIFT
        }
    }

    /// True when any perceptual hash is wanted.
    pub fn any(&self) -> bool {
        self.pdq || self.phash || self.dhash
    }
}

/// The perceptual hashes of one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageHashes {
    /// The container decoded.
    pub format: ImageFormat,
    /// Width in pixels as hashed (after unletterboxing).
    pub width: u32,
    /// Height in pixels as hashed (after unletterboxing).
    pub height: u32,
    /// With [`PerceptualConfig::unletterbox`]: what was cut from each side (in pixels of the
    /// decode, so of a reduced-scale one when `decode_scale` > 1).
    pub trim: Option<Trim>,
    /// PDQ hash.
    pub pdq: Option<PdqHash>,
    /// PDQ quality, 0–100.
    pub pdq_quality: Option<u8>,
    /// The 8 dihedral PDQ hashes, in [`pdq::PdqDihedral::NAMES`] order (the first is `pdq`).
    pub pdq_dihedral: Option<Box<[PdqHash; 8]>>,
    /// pHash, MSB-first as ImageHash prints it.
    pub phash: Option<ImgHash64>,
    /// dHash, MSB-first as ImageHash prints it.
    pub dhash: Option<ImgHash64>,
    /// With a pHash or dHash: the contrast of the grid they were computed from
    /// ([`ImgHasher::contrast`]). Under [`FAST_FLAT_CONTRAST`], a reduced-scale decode's
    /// pHash and dHash are not trusted by the screen.
    pub img_contrast: Option<u8>,
    /// The JPEG was decoded at `1/decode_scale` of its size ([`DecodeOptions::fast`]): 1
    /// (every pixel, the reference's hashes), 2, 4 or 8 (hashes up to
    /// [`FAST_PDQ_DRIFT`] bits from the reference's).
    pub decode_scale: u8,
}

/// The most a PDQ hash (or any of its dihedral variants) of a reduced-scale decode
/// ([`DecodeOptions::fast`]) lies from the full decode's, in bits, with a margin: a scan
/// searches such hashes within the threshold plus this, and decodes the images it finds
/// again at full size to match on their exact hashes, so that the fast path never misses
/// what the reference would find.
///
/// Measured by `benches/fast_drift.sh` (every variant of every image of a corpus hashed
/// both ways): 12 bits at most over 2,400 photo-like JPEGs and transformed copies (596
/// reduced, 19,200 variant pairs; 10 at most over the 2,000-photo benchmark corpus), so 16
/// keeps a margin of 4. See the README's fast-decode paragraph for the corpus.
///
/// The same bound holds for a scan's luma-only screen ([`PerceptualConfig::luma_screen`]),
/// measured by `bash benches/fast_drift.sh --screen DIR...`: 12 bits at most over the same
/// 2,400 (`/tmp/drift/photos /tmp/drift/variants`: `images_corpus.py gen --png-share 0
/// --seed 777` and its `variants --every 2`; 19,200 pairs: 0 bits 15,056, 2: 1,878,
/// 4: 1,574, 6: 512, 8: 144, 10: 32, 12: 4), 10 over `benches/images_large.sh`'s large
/// photos (`large-200` and its two variant sets, 280 images, 2,240 pairs) and over its mixed
/// corpus (`photos-200` and its variants, 320 images, 2,560 pairs), 10 over
/// `fixtures/fastdecode` (48 pairs); so 16 keeps a margin of 4 there too.
///
/// A progressive JPEG's screen reads only its first scans (`decode::decode_screen_as`), whose
/// luma coefficients lack up to 2 bits. Measured on copies of the same corpora made
/// progressive by `jpegtran -progressive` (lossless: the same exact hashes), each screened on
/// its first scans: 12 bits at most over the 2,400 (19,200 pairs: 0 bits 14,988, 2: 1,868,
/// 4: 1,570, 6: 570, 8: 160, 10: 40, 12: 4), 10 over the large photos and the mixed corpus:
/// the same bound. mozjpeg's progression (`optimize_scans`: every scan at `Al = 0`, the
/// luma's AC in two bands before the chroma's, so the screen skips the chroma's scans), on
/// the large photos and 800 of the photos re-encoded by it at quality 85: 10 bits at most
/// over 8,000 pairs. A screen never decodes below 1/4 ([`decode::SCREEN_MAX_SCALE`]): at 1/8
/// the same corpora drifted up to 38 bits.
pub const FAST_PDQ_DRIFT: u32 = 16;

/// [`FAST_PDQ_DRIFT`] for images cut by [`PerceptualConfig::unletterbox`]: the bars are found
/// on the reduced decode, where a block that mixes bar and picture, or the ringing JPEG
/// leaves in a bar, puts the cut up to a block of the reduced scale away from the full
/// decode's (11 pixels at most measured), which moves the hash further.
///
/// Measured by `benches/fast_drift.sh --unletterbox` over `benches/letterbox_corpus.py`'s
/// copies of 300 photo-like JPEGs (`images_corpus.py gen --count 300 --png-share 0 --seed
/// 777`) in black bars: 22 bits at most over 2,400 variant pairs (p99 16), so 32 keeps a
/// margin of 10. A wider screen costs only searches (radius 63 instead of 47 at threshold
/// 31) and the second decodes of the images it lets through.
pub const FAST_PDQ_DRIFT_UNLETTERBOX: u32 = 32;
/// The most a pHash of a reduced-scale decode lies from the full decode's, in bits, with a
/// margin (see [`FAST_PDQ_DRIFT`]).
///
/// Measured by `bash benches/fast_drift.sh PHOTOS VARIANTS` over the same 800 photo-like
/// JPEGs (`images_corpus.py gen --png-share 0 --seed 777`) and 1,600 transformed copies
/// (`images_corpus.py variants PHOTOS VARIANTS --every 2`): 23 of 2,400 pHashes moved, by 2
/// bits (22) and 4 (1), so 8 keeps a margin of 4 (a pHash is 64 bits, a tenth of a
/// threshold of 10 each way). Near-flat images drift further (22 pHash and 13 dHash bits on
/// a 2048x1536 JPEG of grey 128 plus noise of sigma 0.8): the screen does not trust a
/// reduced decode's pHash and dHash under [`FAST_FLAT_CONTRAST`].
///
/// The luma-only screen ([`PerceptualConfig::luma_screen`], `bash benches/fast_drift.sh
/// --screen`, corpora as in [`FAST_PDQ_DRIFT`]): 23 of the 2,400 moved, by 2 (22) and 4 (1);
/// 16 of the 280 large photos and copies by 2, 2 of the mixed 320 by 2: 4 at most, margin 4.
/// Progressive copies screened on their first scans (see [`FAST_PDQ_DRIFT`]): 45 of the 2,400
/// moved, by 2; 2 at most over the large and mixed ones.
pub const FAST_PHASH_DRIFT: u32 = 8;

/// The most a dHash of a reduced-scale decode lies from the full decode's, in bits, with a
/// margin (see [`FAST_PHASH_DRIFT`] for the corpus): 30 of 2,400 dHashes moved, each by 1
/// bit (RGB screen).
///
/// The luma-only screen ([`PerceptualConfig::luma_screen`]) moves them further: `bash
/// benches/fast_drift.sh --screen` (corpora as in [`FAST_PDQ_DRIFT`]) moved 32 of the 2,400
/// (31 by 1 bit, 1 by 2), 31 of the 280 large photos and copies (27 by 1, 3 by 2, 1 by 3)
/// and 4 of the mixed 320 (by 1): 3 at most. Progressive copies screened on their first scans
/// (see [`FAST_PDQ_DRIFT`]) moved further: 186 of the 2,400 (155 by 1, 23 by 2, 7 by 3, 1 by
/// 4), 3 at most over the large and mixed ones; so 7 keeps a margin of 3 (it was 4 for the
/// RGB screen's 1, and 6 before progressive files were screened on their first scans).
pub const FAST_DHASH_DRIFT: u32 = 7;

/// The least contrast ([`ImageHashes::img_contrast`], grey levels across the grid hashed) at
/// which the screen trusts a reduced-scale decode's pHash and dHash; a flatter image that
/// could match a pHash or dHash entry is decoded again in full whatever its hashes.
///
/// Measured with the corpus of [`FAST_PHASH_DRIFT`] (a debug print of the contrast beside
/// `vigie hash --algo phash,dhash --fast-decode`, since removed): every reduced photo and
/// copy had a contrast of 93 or more; 29 synthetic near-flat 2048x1536 JPEGs (constant, grey
/// plus faint noise, soft blurred noise, shallow gradients) had 7 or less, and only they
/// drifted past the photos' 4 bits (22 at most, at contrast 1). 32 is far from both.
pub const FAST_FLAT_CONTRAST: u8 = 32;

/// How far each perceptual hash of a screen may lie from the exact hash, in bits: the slack
/// of [`crate::matcher::Matcher::near`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Drift {
    /// PDQ (and each of its dihedral variants).
    pub pdq: u32,
    /// pHash.
    pub phash: u32,
    /// dHash.
    pub dhash: u32,
}

impl Drift {
    /// The slack of a 64-bit image hash kind.
    pub fn img(&self, kind: ImgKind) -> u32 {
        match kind {
            ImgKind::Phash => self.phash,
            ImgKind::Dhash => self.dhash,
        }
    }
}

/// The drift of a reduced-scale decode ([`DecodeOptions::fast`]) for every hash.
pub const FAST_DRIFT: Drift = Drift {
    pdq: FAST_PDQ_DRIFT,
    phash: FAST_PHASH_DRIFT,
    dhash: FAST_DHASH_DRIFT,
};

/// Per-thread buffers: decoded pixels and the hashers' scratch, reused from image to image.
#[derive(Default)]
struct Scratch {
    rgb: Vec<u8>,
    pdq: PdqHasher,
    img: ImgHasher,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Computes the perceptual hashes of `bytes` when they sniff as an image: `None` for anything
/// else (the only cost then is the sniff). Decoding runs under `cfg.decode.limits`; the
/// pixels are decoded once and shared by every hash.
///
/// # Errors
/// An [`ImageError`] for an image that cannot be hashed.
pub fn hash_image(bytes: &[u8], cfg: &PerceptualConfig) -> Option<Result<ImageHashes, ImageError>> {
    if !cfg.any() {
        return None;
    }
    let format = decode::sniff(bytes)?;
    Some(SCRATCH.with(|s| {
        let s = &mut *s.borrow_mut();
        let Scratch { rgb, pdq, img } = s;
        // The image's share of the decode budget is held while its pixels are hashed.
        decode::budget_scope(rgb, |rgb| hash_decoded(bytes, format, cfg, rgb, pdq, img))
    }))
}

/// Decodes `bytes` into `rgb` and hashes the pixels (see [`hash_image`]).
fn hash_decoded(
    bytes: &[u8],
    format: ImageFormat,
    cfg: &PerceptualConfig,
    rgb: &mut Vec<u8>,
    pdq: &mut PdqHasher,
    img: &mut ImgHasher,
) -> Result<ImageHashes, ImageError> {
    {
        let fail = ImageError;
        // A screen decodes a JPEG to its luma where it can (`decode_screen_as`); unletterboxing
        // looks for bars in RGB, so it keeps the RGB screen (and its own drift bound). A screen
        // never decodes below `SCREEN_MAX_SCALE`, where its drift bound was measured.
        let d = if cfg.luma_screen && cfg.decode.fast && cfg.unletterbox.is_none() {
            decode::decode_screen_as(bytes, format, &cfg.decode, rgb)
        } else if cfg.luma_screen && cfg.decode.fast {
            decode::decode_screen_rgb_as(bytes, format, &cfg.decode, rgb)
        } else {
            decode::decode_rgb_as(bytes, format, &cfg.decode, rgb)
        }
        .map_err(|e| fail(e.to_string()))?;
        let (mut w, mut h) = (d.width as usize, d.height as usize);
        let trim = cfg.unletterbox.map(|u| {
            let t = u.find(rgb, w, h);
            letterbox::crop_in_place(rgb, w, &t);
            (w, h) = (t.width as usize, t.height as usize);
            t
        });
        let px = if d.luma {
            PixelBuffer::grey(rgb, w, h)
        } else {
            PixelBuffer::rgb(rgb, w, h)
        }
        .map_err(|e| fail(format!("unsupported image: {e}")))?;
        let mut out = ImageHashes {
            format,
            width: w as u32,
            height: h as u32,
            trim,
            pdq: None,
            pdq_quality: None,
            pdq_dihedral: None,
            phash: None,
            dhash: None,
            img_contrast: None,
            decode_scale: d.scale,
        };
        if cfg.pdq && cfg.dihedral {
            let r = pdq.hash_dihedral(px);
            out.pdq = Some(r.hashes[0]);
            out.pdq_quality = Some(r.quality);
            out.pdq_dihedral = Some(Box::new(r.hashes));
        } else if cfg.pdq {
            let r = pdq.hash(px);
            out.pdq = Some(r.hash);
            out.pdq_quality = Some(r.quality);
        }
        let kinds: &[ImgKind] = match (cfg.phash, cfg.dhash) {
            (true, true) => &ImgKind::ALL,
            (true, false) => &[ImgKind::Phash],
            (false, true) => &[ImgKind::Dhash],
            (false, false) => &[],
        };
        if !kinds.is_empty() {
            let r = img
                .hash(px, kinds)
                .map_err(|e| fail(format!("unsupported image: {e}")))?;
            (out.phash, out.dhash) = (r.phash, r.dhash);
        }
        if cfg.phash || cfg.dhash {
            out.img_contrast = Some(img.contrast());
        }
        Ok(out)
    }
}
