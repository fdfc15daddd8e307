//! Image decoding for perceptual hashing: the bytes of one item become the 8-bit RGB pixels a viewer
//! shows, ready for [`PdqHasher::hash`](super::pdq::PdqHasher::hash).
//!
//! Why this module exists: a perceptual hash is only as exact as the pixels it is fed. The reference
//! hashes exchanged by ThreatExchange/GIFCT were made from libjpeg-turbo pixels (ImageMagick, Pillow),
//! so JPEG goes through libjpeg-turbo's own decoder (the `mozjpeg` crate), which gives Pillow's pixels
//! exactly. PNG, GIF, WebP, BMP and TIFF go through the `image` crate.
//!
//! # Policy
//! * **Format** is chosen by [`sniff`] from magic bytes only, never from a name. Items that are not
//!   images cost only that check.
//! * **Limits before allocation.** The header is read first. An image over
//!   [`DecodeLimits::max_pixels`], or whose buffers would exceed [`DecodeLimits::max_alloc`], fails
//!   with [`DecodeErrorKind::TooLarge`] before any pixel buffer is allocated. The `image` decoders
//!   also get the same budget as [`image::Limits`]. For a progressive JPEG, libjpeg's whole-image
//!   coefficient buffer (2 bytes a sample) is counted too; libjpeg's other working memory (a few
//!   rows) is not.
//! * **Colour.** Grey is copied into the three channels (`grey` is set in [`Decoded`] so a caller can
//!   hash the grey channel itself, as the reference CLI does). CMYK/YCCK JPEGs are converted the way
//!   Pillow converts them (see [`cmyk_to_rgb`]). Palettes are expanded.
//! * **Alpha is ignored**, as the reference does: the RGB stored under transparent pixels is kept,
//!   with no compositing on a background.
//! * **16-bit** samples keep their high byte (`v >> 8`), which is what Pillow does for 16-bit RGB(A)
//!   PNG. For 16-bit grey PNG Pillow clamps the integer value to 255 (almost everything becomes
//!   white), which no viewer shows, so grey uses the same high-byte rule. ImageMagick (the C++
//!   reference CLI) rounds `v / 257` instead; the two differ by at most one level.
//!   [`DecodeOptions::pixels`] gives Pillow's clamp, or python-threatexchange's pixels, instead.
//! * **EXIF orientation is ignored by default**, as the reference hashers ignore it: the hash
//!   describes the stored pixel grid. [`DecodeOptions::exif_orient`] applies it.
//! * **Truncated JPEG** decodes the way libjpeg (and so ImageMagick, the reference CLI's decoder)
//!   does: the missing part is filled in by the decoder (grey for a baseline file; a coarser
//!   picture for a progressive one) and [`Decoded::truncated`] is set so the caller can record it.
//!   A truncated PNG/GIF/WebP/BMP/TIFF fails with [`DecodeErrorKind::Corrupt`] (a PNG that lacks
//!   only its final IEND chunk still decodes: every pixel is there).
//! * **Panics are contained.** libjpeg reports fatal errors by unwinding, and a bug in any decoder
//!   must fail one item, not the run: every decode runs under `catch_unwind`. libjpeg's warnings are
//!   silenced by the `mozjpeg` crate's error manager; nothing is printed.
//!
//! # Speed
//! libjpeg-turbo's SIMD code is assembled only when `nasm` is on the `PATH` when `mozjpeg-sys` is
//! built; without it (the default here) the plain C decoder is used. Pixels are the same either
//! way (the tests pass in both builds); SIMD decodes JPEG about 2.4× faster (`benches/decode.rs`).
//!
//! # Allocation
//! Pixels are written into a caller-owned `Vec<u8>` that is reused from image to image (one per
//! thread): once it has grown to the largest image seen, decoding allocates no pixel buffer
//! (a buffer over 64 MiB is freed after its image, and a new one is fresh zeroed memory, made
//! resident only where the decoder writes).
//!
//! # One budget for all threads
//! Every decode reserves its pixel buffers (the bytes [`DecodeLimits::max_alloc`] counts) from
//! one process-wide budget ([`set_decode_memory`], default [`DEFAULT_DECODE_MEMORY`]) once the
//! header is read and before allocating; an image that does not fit waits for others, one
//! larger than the budget fails at once as [`DecodeErrorKind::TooLarge`]. [`decode_rgb`] gives
//! the share back when it returns; the engine keeps it until the pixels are hashed. The
//! `image` decoders write their native layout (e.g. RGBA or 16-bit) into the same buffer, which is
//! then converted to RGB in place. The decoders' own working memory is theirs (libjpeg's, `png`'s…).

use std::cell::Cell;
use std::fmt;
use std::io::{BufRead, Cursor, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};

use image::metadata::Orientation;

use super::jpeg_scans::{first_scan_cut, jpeg_is_progressive, ScanCut};
use image::{ColorType, ImageDecoder, ImageError};

/// An image container recognised by [`sniff`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// JPEG (JFIF, EXIF, Adobe…): starts `FF D8 FF`.
    Jpeg,
    /// PNG: the 8-byte PNG signature.
    Png,
    /// GIF87a / GIF89a. Only the first frame is decoded.
    Gif,
    /// WebP: `RIFF` size `WEBP`.
    WebP,
    /// Windows bitmap: `BM` and a known DIB header size.
    Bmp,
    /// TIFF: `II*\0` or `MM\0*`.
    Tiff,
}

impl ImageFormat {
    /// A short lower-case name (`"jpeg"`, `"png"`…), for reports.
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Gif => "gif",
            ImageFormat::WebP => "webp",
            ImageFormat::Bmp => "bmp",
            ImageFormat::Tiff => "tiff",
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Recognises an image container from its first bytes (at most 16 are read). Names are never
/// consulted. Cheap: a few comparisons, no allocation.
///
/// BMP's two-byte `BM` magic is weak, so it also requires a known DIB header size at offset 14.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(ImageFormat::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(ImageFormat::Png);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Some(ImageFormat::Gif);
    }
    if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        return Some(ImageFormat::WebP);
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return Some(ImageFormat::Tiff);
    }
    if bytes.len() >= 18 && bytes.starts_with(b"BM") {
        let dib = u32::from_le_bytes([bytes[14], bytes[15], bytes[16], bytes[17]]);
        if matches!(dib, 12 | 16 | 40 | 52 | 56 | 64 | 108 | 124) {
            return Some(ImageFormat::Bmp);
        }
    }
    None
}

/// Resource limits checked against the header before any pixel buffer is allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted `width * height`. Default 128 000 000 (e.g. 16 000 × 8 000).
    pub max_pixels: u64,
    /// Largest accepted size in bytes of the pixel buffer(s) this module allocates (native layout
    /// and RGB output, doubled when orientation is applied); also passed to the `image` decoders as
    /// their allocation budget. Default 1 GiB.
    pub max_alloc: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_pixels: 128_000_000,
            max_alloc: 1 << 30,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One decode-memory budget for the whole process.

/// The default of [`set_decode_memory`]: 1 GiB, the largest single image's buffers
/// ([`DecodeLimits::max_alloc`]) by default, so that any image allowed alone can decode.
pub const DEFAULT_DECODE_MEMORY: u64 = 1 << 30;

/// How long an image waits for others to release decode memory before it fails.
const BUDGET_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// Pixel buffers larger than this are freed after each image instead of being kept for the
/// next one (a per-thread buffer kept at its largest image would escape the budget).
const RETAIN_MAX: usize = 64 << 20;

static DECODE_MEMORY: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(DEFAULT_DECODE_MEMORY);
/// The process's budget.
static BUDGET: Budget = Budget::new();

/// Sets the decode-memory budget of the process: the bytes of pixel buffers (as counted by
/// [`DecodeLimits::max_alloc`]) that all threads together may hold while decoding. An image
/// reserves its share from its header before any buffer is allocated, and releases it when its
/// pixels are freed; one that does not fit waits for others (up to 10 minutes), and one larger
/// than the whole budget fails at once ([`DecodeErrorKind::TooLarge`]). One budget for the
/// process, whatever the number of threads or engines (the last value set applies).
pub fn set_decode_memory(bytes: u64) {
    DECODE_MEMORY.store(bytes, std::sync::atomic::Ordering::Relaxed);
}

/// The decode-memory budget (see [`set_decode_memory`]).
pub fn decode_memory() -> u64 {
    DECODE_MEMORY.load(std::sync::atomic::Ordering::Relaxed)
}

/// Bytes reserved by images being decoded (and hashed) now, all threads together.
struct Budget {
    in_use: std::sync::Mutex<u64>,
    released: std::sync::Condvar,
}

impl Budget {
    const fn new() -> Budget {
        Budget {
            in_use: std::sync::Mutex::new(0),
            released: std::sync::Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, u64> {
        self.in_use
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes `bytes` of `cap`, waiting at most `wait` for room; `Err(())` when there was none
    /// in time. The caller checked `bytes <= cap`.
    fn take(
        &'static self,
        bytes: u64,
        cap: u64,
        wait: std::time::Duration,
    ) -> Result<Reservation, ()> {
        let start = std::time::Instant::now();
        let mut used = self.lock();
        while used.saturating_add(bytes) > cap {
            let left = wait.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(());
            }
            used = self
                .released
                .wait_timeout(used, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        *used += bytes;
        Ok(Reservation(self, bytes))
    }
}

/// Bytes of a budget held by one image; released on drop.
struct Reservation(&'static Budget, u64);

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut used = self.0.lock();
        *used = used.saturating_sub(self.1);
        drop(used);
        self.0.released.notify_all();
    }
}

thread_local! {
    /// The reservation of the image this thread decoded last, while its pixels are in use.
    static HELD: std::cell::RefCell<Option<Reservation>> = const { std::cell::RefCell::new(None) };
    /// Inside [`budget_scope`]: the reservation outlives the decode (the caller hashes the
    /// pixels), released when the scope ends.
    static SCOPED: Cell<bool> = const { Cell::new(false) };
}

/// Reserves `bytes` of decode memory for a `w`×`h` image, waiting for other threads to release
/// theirs when the budget is full; held by this thread until [`release_held`].
fn reserve(bytes: u64, w: u64, h: u64) -> Result<(), DecodeError> {
    // This thread's previous image is done with: its share goes back first, so a thread never
    // waits for itself.
    release_held();
    let cap = decode_memory();
    if bytes > cap {
        return Err(DecodeError::new(
            DecodeErrorKind::TooLarge,
            format!(
                "{w}x{h} needs {bytes} bytes of pixel buffers, over the decode memory budget of \
                 {cap} bytes shared by all threads (--decode-memory)"
            ),
        ));
    }
    let r = BUDGET.take(bytes, cap, BUDGET_WAIT).map_err(|()| {
        DecodeError::new(
            DecodeErrorKind::TooLarge,
            format!(
                "{w}x{h} needs {bytes} bytes of pixel buffers: waited {} s for other images to \
                 release the decode memory budget of {cap} bytes",
                BUDGET_WAIT.as_secs()
            ),
        )
    })?;
    HELD.with(|h| *h.borrow_mut() = Some(r));
    Ok(())
}

/// Gives back this thread's reservation, if any.
fn release_held() {
    // Taken out first: the drop locks the budget, never while the cell is borrowed.
    let held = HELD.with(|h| h.borrow_mut().take());
    drop(held);
}

/// Frees a pixel buffer too large to keep for the next image (see [`RETAIN_MAX`]).
fn trim(out: &mut Vec<u8>) {
    if out.capacity() > RETAIN_MAX {
        *out = Vec::new();
    }
}

/// Runs `f`, which decodes into `out` and then uses the pixels, keeping the image's share of
/// the decode budget until `f` returns; then frees `out` if it is too large to keep, and gives
/// the share back. Outside such a scope, [`decode_rgb`] releases the share when it returns.
pub(crate) fn budget_scope<T>(out: &mut Vec<u8>, f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    let was = SCOPED.with(|s| s.replace(true));
    let r = f(out);
    SCOPED.with(|s| s.set(was));
    trim(out);
    release_held();
    r
}

/// The side [`DecodeOptions::fast`] keeps a reduced JPEG decode at or above, in pixels
/// (Pillow's `draft("RGB", (512, 512))`). Measured on the benchmark corpus
/// (`benches/images_e2e.sh`, see the README): PDQ drifts a few bits from the full-resolution
/// hash at this bound, and matching at the usual threshold finds the same originals.
pub const FAST_MIN_SIDE: u32 = 512;

/// How to decode. The default matches the reference hashers: every pixel decoded, EXIF
/// orientation ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Resource limits.
    pub limits: DecodeLimits,
    /// Apply the EXIF orientation tag (1–8) to the pixels, as a viewer does. Off by default
    /// because the reference PDQ hashers hash the stored pixel grid.
    pub exif_orient: bool,
    /// Reduced-scale JPEG decoding: a JPEG whose both sides are at least twice
    /// [`FAST_MIN_SIDE`] is decoded by libjpeg at 1/2, 1/4 or 1/8 of its size (the smallest
    /// that keeps both sides ≥ [`FAST_MIN_SIDE`]; see [`jpeg_fast_scale`]), in the DCT domain,
    /// which costs a fraction of a full decode. The pixels are those of Pillow's
    /// `draft("RGB", (512, 512))`; perceptual hashes of them are close to, not equal to, the
    /// full-resolution ones. Other formats, and smaller JPEGs, decode in full. Off by default.
    pub fast: bool,
    /// Whose pixels to give where decoders disagree on purpose ([`Pixels`]). Default: a
    /// viewer's.
    pub pixels: Pixels,
}

/// Whose pixels to reproduce for the few kinds of image whose 8-bit RGB pixels are not the
/// same in every decoder. Every other image (8-bit JPEG, PNG, WebP, BMP, 16-bit RGB PNG…)
/// decodes to the same pixels whatever this says. Measured against Pillow 13.0.0,
/// python-threatexchange 1.2.17 and pdqhash 0.2.8 (`scripts/gen_pixels_fixtures.py`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Pixels {
    /// What a viewer shows (the default): 16-bit grey keeps its high byte, CMYK is converted
    /// to RGB, palettes are expanded.
    #[default]
    Viewer,
    /// What Pillow's `Image.open(...).convert("RGB")` gives, as a pdqhash user feeds it:
    /// 16-bit grey ("I;16") is clamped to 255, so a picture brighter than 255/65535 turns
    /// white (16-bit grey with alpha, RGB and RGBA keep their high byte, as a viewer's do).
    Pillow,
    /// What python-threatexchange's PDQ hasher feeds pdqhash (`pdq_from_bytes`, which HMA
    /// calls too, so the hashes its banks hold): Pillow's pixels, and, since it hands
    /// pdqhash Pillow's array without converting it to RGB, a CMYK JPEG's C, M and Y
    /// channels as red, green and blue, a 1-bit PNG's samples as 0 and 1, and a palette
    /// PNG's palette indices as grey levels.
    ThreatExchange,
}

impl Pixels {
    /// The lower-case name (`viewer`, `pillow`, `threatexchange`).
    pub fn name(self) -> &'static str {
        match self {
            Pixels::Viewer => "viewer",
            Pixels::Pillow => "pillow",
            Pixels::ThreatExchange => "threatexchange",
        }
    }
}

/// What went wrong, coarsely: enough to count and report failures by cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The header announces more pixels or bytes than [`DecodeLimits`] allows (or the buffer could
    /// not be allocated).
    TooLarge,
    /// The data is not a valid image of its format (including truncated non-JPEG files).
    Corrupt,
    /// A valid image using a feature or layout this module does not decode.
    Unsupported,
}

/// A failure to decode one item. It never aborts a run: the caller records it and goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    kind: DecodeErrorKind,
    message: String,
}

impl DecodeError {
    fn new(kind: DecodeErrorKind, message: impl Into<String>) -> Self {
        DecodeError {
            kind,
            message: message.into(),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }

    /// The decoder's own words, without the kind prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            DecodeErrorKind::TooLarge => "image too large",
            DecodeErrorKind::Corrupt => "corrupt image",
            DecodeErrorKind::Unsupported => "unsupported image",
        };
        write!(f, "{what}: {}", self.message)
    }
}

impl std::error::Error for DecodeError {}

/// Facts about a successful decode. The pixels are in the caller's buffer:
/// `width * height * 3` bytes, row-major RGB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Width in pixels (after orientation, if applied).
    pub width: u32,
    /// Height in pixels (after orientation, if applied).
    pub height: u32,
    /// The container that was decoded.
    pub format: ImageFormat,
    /// The source had a single grey channel (with or without alpha). The RGB buffer then has
    /// R = G = B, and a caller wanting the reference CLI's grey path can hash that one channel.
    pub grey: bool,
    /// JPEG only: the data ended before the image was complete, and libjpeg filled in the rest.
    pub truncated: bool,
    /// With [`DecodeOptions::exif_orient`]: the EXIF orientation found and applied (2–8), or
    /// `None` when there was none, it was 1, or the option is off.
    pub orientation: Option<u8>,
    /// The image was decoded at `1/scale` of its size ([`DecodeOptions::fast`]): 1, 2, 4 or 8.
    /// `width` and `height` are those of the decoded pixels.
    pub scale: u8,
    /// Only from [`decode_screen_as`]: the buffer holds `width * height` bytes of the JPEG's
    /// own luma (its Y samples, or its grey ones), not RGB.
    pub luma: bool,
}

/// The DCT scale divisor [`DecodeOptions::fast`] picks for a `width`×`height` JPEG: the
/// largest of 8, 4, 2 with both `width / s` and `height / s` at least [`FAST_MIN_SIDE`], else
/// 1 (Pillow's `draft` rule: `s ≤ min(width / 512, height / 512)`, integer division).
pub fn jpeg_fast_scale(width: u32, height: u32) -> u8 {
    let room = (width / FAST_MIN_SIDE).min(height / FAST_MIN_SIDE);
    [8u8, 4, 2]
        .into_iter()
        .find(|&s| room >= u32::from(s))
        .unwrap_or(1)
}

/// Decodes `bytes` (any format [`sniff`] recognises) into `out` as 8-bit RGB, row-major,
/// `width * height * 3` bytes. `out` is cleared first and reused: keep one per thread.
///
/// # Errors
/// [`DecodeErrorKind::Unsupported`] if the format is not recognised or uses an unsupported
/// layout; [`DecodeErrorKind::TooLarge`] if the header exceeds `opts.limits` (checked before
/// allocating); [`DecodeErrorKind::Corrupt`] for invalid data. On error `out` is left empty.
///
/// # Threading
/// No shared state: call it from any number of threads, each with its own `out`.
pub fn decode_rgb(
    bytes: &[u8],
    opts: &DecodeOptions,
    out: &mut Vec<u8>,
) -> Result<Decoded, DecodeError> {
    match sniff(bytes) {
        Some(format) => decode_rgb_as(bytes, format, opts, out),
        None => {
            out.clear();
            Err(DecodeError::new(
                DecodeErrorKind::Unsupported,
                "not a recognised image format",
            ))
        }
    }
}

/// [`decode_rgb`] for a format already known (e.g. from an earlier [`sniff`]).
///
/// # Errors
/// As [`decode_rgb`].
pub fn decode_rgb_as(
    bytes: &[u8],
    format: ImageFormat,
    opts: &DecodeOptions,
    out: &mut Vec<u8>,
) -> Result<Decoded, DecodeError> {
    decode_as(bytes, format, opts, out, Mode::Rgb)
}

/// The least scale a screen decodes a JPEG at: with [`DecodeOptions::fast`], a screen decodes
/// at [`jpeg_fast_scale`]'s scale, but never below 1/4 of the size. At 1/8 libjpeg keeps one
/// pixel a block, its mean, and hashes drift further than the screen's bound
/// ([`FAST_PDQ_DRIFT`](super::FAST_PDQ_DRIFT)) was measured for: 14 bits (median) and up to
/// 38 over the 4000x3000-and-smaller photos of `benches/fast_drift.sh` decoded at 1/8, against
/// at most 12 at 1/2 and 1/4 (images of both sides ≥ 4,096, which Pillow's draft decodes at
/// 1/8, are screened at 1/4).
pub const SCREEN_MAX_SCALE: u8 = 4;

/// [`decode_rgb_as`] for a screen: with [`DecodeOptions::fast`], a YCbCr or grey JPEG that is
/// decoded at reduced scale ([`Decoded::scale`] > 1) and not reoriented is decoded to its own
/// luma only ([`Decoded::luma`]: one byte a pixel, JPEG's Y), which spares the chroma's IDCT,
/// upsampling and colour conversion and the hashers' RGB → luma pass. JPEG's Y
/// (`0.299·R + 0.587·G + 0.114·B` of the pixels before rounding to RGB) is close to, not equal
/// to, the luma the hashers compute from the RGB pixels: the screen's drift bound
/// ([`FAST_PDQ_DRIFT`](super::FAST_PDQ_DRIFT)) is measured on these pixels. Every other image
/// (CMYK and YCCK JPEGs, other formats, JPEGs decoded in full) decodes as
/// [`decode_screen_rgb_as`] decodes it, to RGB.
///
/// A progressive JPEG is read only as far as its luma's coefficients are known to within 2
/// bits, where libjpeg's progression (Pillow's, `jpegtran -progressive`'s) has sent a fifth
/// of its data: the refinement scans that make most of its decoding are skipped, when the
/// rest of the file is well formed (see `first_scan_cut`).
///
/// # Errors
/// As [`decode_rgb`].
pub fn decode_screen_as(
    bytes: &[u8],
    format: ImageFormat,
    opts: &DecodeOptions,
    out: &mut Vec<u8>,
) -> Result<Decoded, DecodeError> {
    decode_as(bytes, format, opts, out, Mode::ScreenLuma)
}

/// [`decode_rgb_as`] for a screen in RGB (a scan's with unletterboxing, which looks for bars
/// in RGB): as [`decode_rgb_as`] with [`DecodeOptions::fast`], except that a JPEG is never
/// decoded below [`SCREEN_MAX_SCALE`].
///
/// # Errors
/// As [`decode_rgb`].
pub fn decode_screen_rgb_as(
    bytes: &[u8],
    format: ImageFormat,
    opts: &DecodeOptions,
    out: &mut Vec<u8>,
) -> Result<Decoded, DecodeError> {
    decode_as(bytes, format, opts, out, Mode::ScreenRgb)
}

/// What a decode is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// RGB pixels, at the scale [`DecodeOptions::fast`] says (Pillow's draft rule when set).
    Rgb,
    /// A screen's RGB pixels ([`decode_screen_rgb_as`]).
    ScreenRgb,
    /// A screen's luma where it can ([`decode_screen_as`]).
    ScreenLuma,
}

fn decode_as(
    bytes: &[u8],
    format: ImageFormat,
    opts: &DecodeOptions,
    out: &mut Vec<u8>,
    mode: Mode,
) -> Result<Decoded, DecodeError> {
    // Not cleared: `prepare` reuses the previous image's bytes without zeroing them.
    let result = contained(|| match format {
        ImageFormat::Jpeg => decode_jpeg(bytes, opts, out, mode),
        _ => decode_with_image(bytes, format, opts, out),
    });
    let result = match result {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("decoder panicked");
            Err(DecodeError::new(DecodeErrorKind::Corrupt, msg))
        }
    };
    let result = result.and_then(|mut decoded| {
        if let Some(o) = decoded.orientation {
            let (w, h) =
                apply_orientation(out, decoded.width as usize, decoded.height as usize, o)?;
            // Both sides were u32 before the swap.
            decoded.width = w as u32;
            decoded.height = h as u32;
        }
        Ok(decoded)
    });
    if result.is_err() {
        out.clear();
        trim(out);
        release_held();
    } else if !SCOPED.with(Cell::get) {
        release_held();
    }
    result
}

thread_local! {
    /// True while this thread runs a decoder under [`contained`].
    static CONTAINED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` (a decoder) catching its panics, which then fail the item only. A decoder's panic
/// is the item's error, nothing more: the process-wide panic hook (installed once, and
/// handing every other panic to the hook it replaced) prints nothing for a panic raised while
/// this thread is inside `contained`, where the default hook would print its message (and a
/// backtrace under `RUST_BACKTRACE`) to stderr for every such file.
fn contained<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CONTAINED.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    let was = CONTAINED.with(|c| c.replace(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    CONTAINED.with(|c| c.set(was));
    r
}

/// Checks the header size against the limits; returns the byte length of the working buffer
/// (`max(native, rgb)`). `decoder_bytes_per_pixel` is what the decoder itself holds per pixel on
/// top of that (libjpeg's whole-image coefficient buffer for a progressive JPEG).
fn check_size(
    w: u64,
    h: u64,
    native_bytes_per_pixel: u64,
    decoder_bytes_per_pixel: u64,
    opts: &DecodeOptions,
) -> Result<usize, DecodeError> {
    if w == 0 || h == 0 {
        return Err(DecodeError::new(
            DecodeErrorKind::Corrupt,
            format!("zero-sized image ({w}x{h})"),
        ));
    }
    let limits = &opts.limits;
    let pixels = w.saturating_mul(h);
    if pixels > limits.max_pixels {
        return Err(DecodeError::new(
            DecodeErrorKind::TooLarge,
            format!(
                "{w}x{h} = {pixels} pixels, over the limit of {}",
                limits.max_pixels
            ),
        ));
    }
    let working = pixels.saturating_mul(native_bytes_per_pixel.max(3));
    let peak = if opts.exif_orient {
        working.max(pixels.saturating_mul(6))
    } else {
        working
    }
    .saturating_add(pixels.saturating_mul(decoder_bytes_per_pixel));
    if peak > limits.max_alloc {
        return Err(DecodeError::new(
            DecodeErrorKind::TooLarge,
            format!(
                "{w}x{h} needs {peak} bytes of pixel buffers, over the limit of {}",
                limits.max_alloc
            ),
        ));
    }
    // Before any buffer: this image's share of the budget all threads decode within.
    reserve(peak, w, h)?;
    usize::try_from(working).map_err(|_| {
        DecodeError::new(
            DecodeErrorKind::TooLarge,
            "pixel buffer exceeds address space",
        )
    })
}

/// Sizes `out` to `len` bytes, reusing its capacity; fails cleanly instead of aborting. The
/// bytes a previous image left are kept, not zeroed (the decoders overwrite every byte they
/// report, and on error the caller empties `out`); only newly grown room is zeroed.
fn prepare(out: &mut Vec<u8>, len: usize) -> Result<(), DecodeError> {
    if out.len() >= len {
        out.truncate(len);
        return Ok(());
    }
    if out.capacity() >= len {
        out.resize(len, 0);
        return Ok(());
    }
    // Too small: a new buffer rather than a grown one (nothing to copy over). Fresh zeroed
    // memory comes from the system as untouched zero pages, so an image that fails early (a
    // header promising 11000² pixels over 20 bytes of data) never makes them resident. The
    // allocation is tried first so that a refusal is this image's error, not an abort.
    *out = Vec::new();
    let mut probe: Vec<u8> = Vec::new();
    probe.try_reserve_exact(len).map_err(|e| {
        DecodeError::new(
            DecodeErrorKind::TooLarge,
            format!("cannot allocate {len} bytes: {e}"),
        )
    })?;
    drop(probe);
    *out = vec![0u8; len];
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// JPEG: libjpeg-turbo through the `mozjpeg` crate.

/// A `BufRead` over the item's bytes that notes whether libjpeg asked for data past the end: a
/// complete JPEG stops at its EOI marker, so asking for more means the file was cut short (the
/// `mozjpeg` source manager then feeds libjpeg a fake EOI, as libjpeg's own does).
///
/// `tail` is served after `data`, before the end is noted: the EOI marker that closes a JPEG
/// cut after its first scan ([`first_scan_cut`]), or nothing.
struct EofWatch<'a> {
    data: &'a [u8],
    tail: &'static [u8],
    hit_eof: &'a Cell<bool>,
}

impl EofWatch<'_> {
    /// The bytes still to serve, `tail` once `data` is spent; notes the end when both are.
    fn rest(&mut self) -> &[u8] {
        if self.data.is_empty() {
            self.data = std::mem::take(&mut self.tail);
            if self.data.is_empty() {
                self.hit_eof.set(true);
            }
        }
        self.data
    }
}

impl Read for EofWatch<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let rest = self.rest();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for EofWatch<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        Ok(self.rest())
    }

    fn consume(&mut self, amt: usize) {
        self.data = &self.data[amt.min(self.data.len())..];
    }
}

fn jpeg_err(e: std::io::Error) -> DecodeError {
    DecodeError::new(DecodeErrorKind::Corrupt, format!("jpeg: {e}"))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum JpegLayout {
    Grey,
    Rgb,
    Cmyk,
}

/// The EOI marker that closes a JPEG cut after its first scan.
const EOI: [u8; 2] = [0xFF, 0xD9];

fn decode_jpeg(
    bytes: &[u8],
    opts: &DecodeOptions,
    out: &mut Vec<u8>,
    mode: Mode,
) -> Result<Decoded, DecodeError> {
    // A screen of a progressive JPEG reads its first scans only, when they hold the luma's
    // coefficients to within a few bits (`first_scan_cut`); an image that turns out not
    // to suit (not YCbCr or grey) is decoded as any other.
    // A failure of that decode (libjpeg unwinds on fatal errors) leaves the answer, success
    // or the reason of a failure, to the whole file's decode.
    if mode == Mode::ScreenLuma && opts.fast && !opts.exif_orient {
        if let Some(cut) = first_scan_cut(bytes) {
            if let Ok(Ok(Some(d))) =
                contained(|| decode_jpeg_part(bytes, Some(cut), opts, out, mode))
            {
                return Ok(d);
            }
        }
    }
    decode_jpeg_part(bytes, None, opts, out, mode)?
        .ok_or_else(|| DecodeError::new(DecodeErrorKind::Corrupt, "jpeg: decoder gave no image"))
}

/// Decodes `bytes`, or with `cut` the bytes before it closed by an EOI marker as a luma screen
/// at its scale: `Ok(None)` then when the image does not suit such a screen.
fn decode_jpeg_part(
    bytes: &[u8],
    cut: Option<ScanCut>,
    opts: &DecodeOptions,
    out: &mut Vec<u8>,
    mode: Mode,
) -> Result<Option<Decoded>, DecodeError> {
    use mozjpeg::{ColorSpace, Decompress, Marker};

    let hit_eof = Cell::new(false);
    let reader = EofWatch {
        data: cut.and_then(|c| bytes.get(..c.end)).unwrap_or(bytes),
        tail: if cut.is_some() { &EOI } else { &[] },
        hit_eof: &hit_eof,
    };
    let markers: &[Marker] = if opts.exif_orient {
        &[Marker::APP(1)]
    } else {
        &[]
    };
    // Reads the header (markers up to SOS) only: no pixel buffer yet.
    let mut dec = Decompress::builder()
        .with_markers(markers)
        .from_reader(reader)
        .map_err(jpeg_err)?;
    let (w, h) = dec.size();
    let color_space = dec.color_space();
    if cut.is_some()
        && !matches!(
            color_space,
            ColorSpace::JCS_YCbCr | ColorSpace::JCS_GRAYSCALE
        )
    {
        return Ok(None);
    }
    let layout = match color_space {
        ColorSpace::JCS_GRAYSCALE => JpegLayout::Grey,
        ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK => JpegLayout::Cmyk,
        _ => JpegLayout::Rgb,
    };
    let native_bpp = match layout {
        JpegLayout::Grey => 1,
        JpegLayout::Rgb => 3,
        JpegLayout::Cmyk => 4,
    };
    // A progressive (multi-scan) JPEG makes libjpeg keep every DCT coefficient of the image:
    // 2 bytes per sample, counted here without the chroma subsampling discount.
    let coefficients = if jpeg_is_progressive(bytes) {
        2 * native_bpp
    } else {
        0
    };
    let len = check_size(w as u64, h as u64, native_bpp, coefficients, opts)?;
    let orientation = if opts.exif_orient {
        dec.markers()
            .filter(|m| m.marker == Marker::APP(1))
            .find_map(|m| {
                m.data
                    .strip_prefix(b"Exif\0\0")
                    .and_then(Orientation::from_exif_chunk)
            })
            .map(Orientation::to_exif)
            .filter(|&o| o != 1)
    } else {
        None
    };

    // The limits were checked on the full size (libjpeg's coefficient buffer of a progressive
    // file is full-size whatever the output scale); the pixel buffer is the scaled one's.
    let scale = if let Some(c) = cut {
        // No smoothing to guess the AC terms that were not read: a block's pixels are those
        // of the terms read.
        dec.do_block_smoothing(false);
        c.scale
    } else if opts.fast {
        // Both sides fit u32 (libjpeg's limit is 65,500).
        let s = jpeg_fast_scale(w as u32, h as u32);
        if mode == Mode::Rgb {
            s
        } else {
            s.min(SCREEN_MAX_SCALE)
        }
    } else {
        1
    };
    if scale > 1 {
        dec.scale(8 / scale);
    }
    // Luma only for a screen (`decode_screen_as`), from Y (or grey) samples libjpeg hands over
    // as they are: not from Adobe RGB, CMYK or YCCK, which it would have to convert.
    let luma = mode == Mode::ScreenLuma
        && scale > 1
        && orientation.is_none()
        && matches!(
            color_space,
            ColorSpace::JCS_YCbCr | ColorSpace::JCS_GRAYSCALE
        );
    let out_bpp = if luma { 1 } else { native_bpp as usize };
    let mut started = match layout {
        _ if luma => dec.grayscale(),
        JpegLayout::Grey => dec.grayscale(),
        JpegLayout::Rgb => dec.rgb(),
        // libjpeg converts YCCK to CMYK; the Adobe inversion is handled below.
        JpegLayout::Cmyk => dec.to_colorspace(ColorSpace::JCS_CMYK),
    }
    .map_err(jpeg_err)?;
    let s = usize::from(scale);
    let (w, h) = (w.div_ceil(s), h.div_ceil(s));
    if (started.width(), started.height()) != (w, h) {
        return Err(DecodeError::new(
            DecodeErrorKind::Corrupt,
            "jpeg: output size differs from header",
        ));
    }
    let pixels = w * h;
    let len = if luma {
        pixels
    } else if scale > 1 {
        pixels * native_bpp.max(3) as usize
    } else {
        len
    };
    prepare(out, len)?;
    started
        .read_scanlines_into::<u8>(&mut out[..pixels * out_bpp])
        .map_err(jpeg_err)?;
    started.finish().map_err(jpeg_err)?;

    match layout {
        _ if luma => {}
        JpegLayout::Grey => expand_grey(out, pixels, 1),
        JpegLayout::Rgb => {}
        // python-threatexchange hands pdqhash Pillow's CMYK samples (inverted: `CMYK;I`),
        // whose first three it reads as R, G, B.
        JpegLayout::Cmyk if opts.pixels == Pixels::ThreatExchange => {
            compact(out, pixels, 4, |p| [255 - p[0], 255 - p[1], 255 - p[2]]);
        }
        JpegLayout::Cmyk => {
            compact(out, pixels, 4, |p| {
                let [r, g, b] = cmyk_to_rgb(255 - p[0], 255 - p[1], 255 - p[2], 255 - p[3]);
                [r, g, b]
            });
        }
    }
    out.truncate(pixels * if luma { 1 } else { 3 });
    Ok(Some(Decoded {
        width: w as u32,
        height: h as u32,
        format: ImageFormat::Jpeg,
        grey: layout == JpegLayout::Grey,
        truncated: hit_eof.get(),
        orientation,
        scale,
        luma,
    }))
}

/// Pillow's CMYK → RGB (`cmyk2rgb` in `libImaging/Convert.c`), on CMYK as Pillow holds it:
/// `R = (255 - K) - round((255 - K) * C / 255)`, likewise G from M and B from Y, with Pillow's
/// integer rounding of the product. Pillow opens every 4-channel JPEG with the `CMYK;I` raw mode
/// (it assumes the Adobe convention of inverted samples), so the JPEG path passes `255 - sample`.
pub fn cmyk_to_rgb(c: u8, m: u8, y: u8, k: u8) -> [u8; 3] {
    let nk = 255 - u32::from(k);
    let f = |v: u8| -> u8 {
        let t = u32::from(v) * nk + 128;
        let muldiv = ((t >> 8) + t) >> 8;
        // nk >= muldiv because v <= 255; the result fits a byte.
        (nk - muldiv) as u8
    };
    [f(c), f(m), f(y)]
}

// ---------------------------------------------------------------------------------------------
// Other formats: the `image` crate.

fn image_format(format: ImageFormat) -> image::ImageFormat {
    match format {
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Gif => image::ImageFormat::Gif,
        ImageFormat::WebP => image::ImageFormat::WebP,
        ImageFormat::Bmp => image::ImageFormat::Bmp,
        ImageFormat::Tiff => image::ImageFormat::Tiff,
    }
}

fn image_err(format: ImageFormat, e: ImageError) -> DecodeError {
    let kind = match &e {
        ImageError::Limits(_) => DecodeErrorKind::TooLarge,
        ImageError::Unsupported(_) => DecodeErrorKind::Unsupported,
        _ => DecodeErrorKind::Corrupt,
    };
    DecodeError::new(kind, format!("{format}: {e}"))
}

/// A PNG's bit depth and colour type, from its IHDR (always the first chunk; `None` when the
/// bytes are too short to hold it).
fn png_ihdr(bytes: &[u8]) -> Option<(u8, u8)> {
    (bytes.get(12..16) == Some(b"IHDR")).then_some(())?;
    Some((*bytes.get(24)?, *bytes.get(25)?))
}

fn decode_with_image(
    bytes: &[u8],
    format: ImageFormat,
    opts: &DecodeOptions,
    out: &mut Vec<u8>,
) -> Result<Decoded, DecodeError> {
    let ihdr = (format == ImageFormat::Png)
        .then(|| png_ihdr(bytes))
        .flatten();
    if opts.pixels == Pixels::ThreatExchange && matches!(ihdr, Some((_, 3))) {
        return decode_png_indices(bytes, opts, out);
    }
    let limits = &opts.limits;
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), image_format(format));
    let mut il = image::Limits::default();
    let side = u32::try_from(limits.max_pixels).unwrap_or(u32::MAX);
    il.max_image_width = Some(side);
    il.max_image_height = Some(side);
    il.max_alloc = Some(limits.max_alloc);
    reader.limits(il);
    // Reads the header only.
    let mut decoder = reader.into_decoder().map_err(|e| image_err(format, e))?;
    let (w, h) = decoder.dimensions();
    let color = decoder.color_type();
    let native_bpp = u64::from(color.bytes_per_pixel());
    let len = check_size(u64::from(w), u64::from(h), native_bpp, 0, opts)?;
    let pixels = w as usize * h as usize;
    let native_len = pixels * native_bpp as usize;
    if decoder.total_bytes() != native_len as u64 {
        return Err(DecodeError::new(
            DecodeErrorKind::Unsupported,
            format!("{format}: unexpected buffer size for {color:?}"),
        ));
    }
    let grey = match color {
        ColorType::L8 | ColorType::La8 | ColorType::L16 | ColorType::La16 => true,
        ColorType::Rgb8
        | ColorType::Rgba8
        | ColorType::Rgb16
        | ColorType::Rgba16
        | ColorType::Rgb32F
        | ColorType::Rgba32F => false,
        other => {
            return Err(DecodeError::new(
                DecodeErrorKind::Unsupported,
                format!("{format}: colour type {other:?}"),
            ))
        }
    };
    let orientation = if opts.exif_orient {
        decoder
            .orientation()
            .ok()
            .map(Orientation::to_exif)
            .filter(|&o| o != 1)
    } else {
        None
    };
    prepare(out, len)?;
    decoder
        .read_image(&mut out[..native_len])
        .map_err(|e| image_err(format, e))?;
    to_rgb_in_place(out, pixels, color, opts.pixels);
    if opts.pixels == Pixels::ThreatExchange && ihdr == Some((1, 0)) {
        // Pillow opens a 1-bit grey PNG as mode "1", whose array holds 0 and 1.
        for v in &mut out[..pixels * 3] {
            *v = u8::from(*v != 0);
        }
    }
    out.truncate(pixels * 3);
    Ok(Decoded {
        width: w,
        height: h,
        format,
        grey,
        truncated: false,
        orientation,
        scale: 1,
        luma: false,
    })
}

fn hi(lo: u8, hi: u8) -> u8 {
    // Native-endian u16 → its high byte.
    (u16::from_ne_bytes([lo, hi]) >> 8) as u8
}

/// Native-endian u16 → its value clamped to 255 (Pillow's "I;16" → "L"/"RGB").
fn clamped(lo: u8, hi: u8) -> u8 {
    u16::from_ne_bytes([lo, hi]).min(255) as u8
}

/// A palette PNG as python-threatexchange hashes it: Pillow opens it as mode "P", and the
/// array handed to pdqhash holds the palette indices, copied into R, G and B.
fn decode_png_indices(
    bytes: &[u8],
    opts: &DecodeOptions,
    out: &mut Vec<u8>,
) -> Result<Decoded, DecodeError> {
    let corrupt =
        |e: png::DecodingError| DecodeError::new(DecodeErrorKind::Corrupt, format!("png: {e}"));
    let budget = usize::try_from(opts.limits.max_alloc).unwrap_or(usize::MAX);
    let mut dec = png::Decoder::new_with_limits(Cursor::new(bytes), png::Limits { bytes: budget });
    dec.set_transformations(png::Transformations::IDENTITY);
    let info = dec.read_header_info().map_err(corrupt)?;
    let (w, h) = (info.width, info.height);
    let bits = info.bit_depth as usize;
    let len = check_size(u64::from(w), u64::from(h), 1, 0, opts)?;
    let mut reader = dec.read_info().map_err(corrupt)?;
    let (w, h) = (w as usize, h as usize);
    let stride = (w * bits).div_ceil(8);
    let packed = reader
        .output_buffer_size()
        .filter(|&n| n == stride * h && n <= len)
        .ok_or_else(|| DecodeError::new(DecodeErrorKind::Unsupported, "png: palette layout"))?;
    prepare(out, len)?;
    reader.next_frame(&mut out[..packed]).map_err(corrupt)?;
    // Unpacked backwards, in place: pixel (x, y) lands at or after the byte it comes from.
    let mask = ((1u16 << bits) - 1) as u8;
    for y in (0..h).rev() {
        for x in (0..w).rev() {
            let bit = x * bits;
            let shift = 8 - bits - bit % 8;
            let v = (out[y * stride + bit / 8] >> shift) & mask;
            let d = (y * w + x) * 3;
            out[d..d + 3].copy_from_slice(&[v, v, v]);
        }
    }
    out.truncate(w * h * 3);
    Ok(Decoded {
        width: w as u32,
        height: h as u32,
        format: ImageFormat::Png,
        grey: true,
        truncated: false,
        orientation: None,
        scale: 1,
        luma: false,
    })
}

fn unit_f32(b: &[u8]) -> u8 {
    let v = f32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
    // NaN → 0 (`as` saturates and maps NaN to 0).
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Converts `pixels` pixels of the decoder's native layout at the start of `buf` to RGB8, in place.
/// `buf` must hold `pixels * max(native, 3)` bytes.
fn to_rgb_in_place(buf: &mut [u8], pixels: usize, color: ColorType, compat: Pixels) {
    match color {
        ColorType::L8 => expand_grey(buf, pixels, 1),
        ColorType::La8 => expand_grey(buf, pixels, 2),
        ColorType::L16 if compat != Pixels::Viewer => {
            expand(buf, pixels, 2, |p| {
                let g = clamped(p[0], p[1]);
                [g, g, g]
            });
        }
        ColorType::L16 => {
            expand(buf, pixels, 2, |p| {
                let g = hi(p[0], p[1]);
                [g, g, g]
            });
        }
        ColorType::Rgb8 => {}
        ColorType::Rgba8 => compact(buf, pixels, 4, |p| [p[0], p[1], p[2]]),
        ColorType::La16 => compact(buf, pixels, 4, |p| {
            let g = hi(p[0], p[1]);
            [g, g, g]
        }),
        ColorType::Rgb16 => compact(buf, pixels, 6, |p| {
            [hi(p[0], p[1]), hi(p[2], p[3]), hi(p[4], p[5])]
        }),
        ColorType::Rgba16 => compact(buf, pixels, 8, |p| {
            [hi(p[0], p[1]), hi(p[2], p[3]), hi(p[4], p[5])]
        }),
        ColorType::Rgb32F => compact(buf, pixels, 12, |p| {
            [unit_f32(&p[0..4]), unit_f32(&p[4..8]), unit_f32(&p[8..12])]
        }),
        ColorType::Rgba32F => compact(buf, pixels, 16, |p| {
            [unit_f32(&p[0..4]), unit_f32(&p[4..8]), unit_f32(&p[8..12])]
        }),
        // Rejected before decoding.
        _ => {}
    }
}

/// Grey (first byte of each `bpp`-byte pixel) → RGB, in place, `bpp` < 3: walks backwards so
/// that no source pixel is overwritten before it is read.
fn expand_grey(buf: &mut [u8], pixels: usize, bpp: usize) {
    expand(buf, pixels, bpp, |p| [p[0], p[0], p[0]]);
}

fn expand(buf: &mut [u8], pixels: usize, bpp: usize, f: impl Fn(&[u8]) -> [u8; 3]) {
    debug_assert!(bpp < 3);
    for i in (0..pixels).rev() {
        let rgb = f(&buf[i * bpp..i * bpp + bpp]);
        buf[i * 3..i * 3 + 3].copy_from_slice(&rgb);
    }
}

/// `bpp`-byte pixels → RGB, in place, `bpp` ≥ 3: walks forwards (the output never passes the
/// input).
fn compact(buf: &mut [u8], pixels: usize, bpp: usize, f: impl Fn(&[u8]) -> [u8; 3]) {
    debug_assert!(bpp >= 3);
    for i in 0..pixels {
        let rgb = f(&buf[i * bpp..i * bpp + bpp]);
        buf[i * 3..i * 3 + 3].copy_from_slice(&rgb);
    }
}

// ---------------------------------------------------------------------------------------------
// EXIF orientation.

/// Applies EXIF orientation `o` (2–8) to the `w`×`h` RGB image in `buf`, using the buffer's spare
/// room as scratch (no allocation once warmed). Returns the new `(width, height)`.
fn apply_orientation(
    buf: &mut Vec<u8>,
    w: usize,
    h: usize,
    o: u8,
) -> Result<(usize, usize), DecodeError> {
    let len = w * h * 3;
    debug_assert_eq!(buf.len(), len);
    let (nw, nh) = if o >= 5 { (h, w) } else { (w, h) };
    buf.try_reserve(len).map_err(|e| {
        DecodeError::new(
            DecodeErrorKind::TooLarge,
            format!("cannot allocate {len} bytes: {e}"),
        )
    })?;
    buf.resize(2 * len, 0);
    let (src, dst) = buf.split_at_mut(len);
    for y in 0..nh {
        for x in 0..nw {
            let (sx, sy) = match o {
                2 => (w - 1 - x, y),
                3 => (w - 1 - x, h - 1 - y),
                4 => (x, h - 1 - y),
                5 => (y, x),
                6 => (y, h - 1 - x),
                7 => (w - 1 - y, h - 1 - x),
                8 => (w - 1 - y, x),
                _ => (x, y),
            };
            let s = (sy * w + sx) * 3;
            let d = (y * nw + x) * 3;
            dst[d..d + 3].copy_from_slice(&src[s..s + 3]);
        }
    }
    buf.copy_within(len.., 0);
    buf.truncate(len);
    Ok((nw, nh))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The decode budget is one pool for every thread: a reservation that does not fit waits
    /// until another is released (never for itself), and gives up after its bound.
    #[test]
    fn budget_is_shared_and_waits_for_room() {
        use std::time::Duration;
        let budget: &'static Budget = Box::leak(Box::new(Budget::new()));
        let a = budget.take(60, 100, Duration::ZERO).expect("room");
        assert!(budget.take(60, 100, Duration::from_millis(10)).is_err());
        let b = budget.take(40, 100, Duration::ZERO).expect("the rest");
        let waiter =
            std::thread::spawn(move || budget.take(60, 100, Duration::from_secs(600)).map(|r| r.1));
        drop(a);
        assert_eq!(waiter.join().unwrap(), Ok(60));
        drop(b);
        assert_eq!(*budget.lock(), 0, "every reservation given back");
    }

    #[test]
    fn sniff_magic() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Some(ImageFormat::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(ImageFormat::Png));
        assert_eq!(sniff(b"GIF89a..."), Some(ImageFormat::Gif));
        assert_eq!(sniff(b"GIF87a..."), Some(ImageFormat::Gif));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageFormat::WebP));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"II*\0\x08\0\0\0"), Some(ImageFormat::Tiff));
        assert_eq!(sniff(b"MM\0*\0\0\0\x08"), Some(ImageFormat::Tiff));
        let mut bmp = b"BM".to_vec();
        bmp.extend_from_slice(&[0; 12]);
        bmp.extend_from_slice(&40u32.to_le_bytes());
        assert_eq!(sniff(&bmp), Some(ImageFormat::Bmp));
        assert_eq!(sniff(b"BMW is a car brand, not a bitmap"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\xFF\xD8"), None);
        assert_eq!(sniff(b"hello world"), None);
    }

    /// A fixture of `fixtures/fastdecode`.
    fn fixture(name: &str) -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fastdecode");
        std::fs::read(dir.join(name)).expect("fixture")
    }

    /// Each scan of a JPEG as (offset of its SOS marker, end of its data, Ss, Se, Ah, Al): a
    /// plain walk, for checking `first_scan_cut` against.
    fn scans(b: &[u8]) -> Vec<(usize, usize, u8, u8, u8, u8)> {
        let mut out = Vec::new();
        let mut i = 2;
        while i + 4 <= b.len() && b[i + 1] != 0xD9 {
            let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
            if b[i + 1] != 0xDA {
                i += 2 + len;
                continue;
            }
            let n = usize::from(b[i + 4]);
            let (ss, se, a) = (b[i + 5 + 2 * n], b[i + 6 + 2 * n], b[i + 7 + 2 * n]);
            let mut j = i + 2 + len;
            while !(b[j] == 0xFF && b[j + 1] != 0 && !(0xD0..=0xD7).contains(&b[j + 1])) {
                j += 1;
            }
            out.push((i, j, ss, se, a >> 4, a & 15));
            i = j;
        }
        out
    }

    fn screen() -> DecodeOptions {
        DecodeOptions {
            fast: true,
            ..DecodeOptions::default()
        }
    }

    /// libjpeg's progression sends every luma coefficient to within 2 bits by its fifth scan
    /// (DC at Al 1, AC 1-5 and 6-63 at Al 2, the chroma's in between): the screen reads up to
    /// there, and its luma is that of those scans, a little off the whole file's.
    #[test]
    fn first_scans_cut_where_the_luma_is_known() {
        let b = fixture("scale2_progressive.jpg");
        let s = scans(&b);
        assert_eq!(s.len(), 10);
        assert_eq!(s[4].2..=s[4].3, 6..=63);
        let cut = first_scan_cut(&b).expect("cut");
        assert_eq!(
            cut,
            ScanCut {
                end: s[4].1,
                scale: 2
            }
        );
        let mut part = Vec::new();
        let d = decode_jpeg(&b, &screen(), &mut part, Mode::ScreenLuma).unwrap();
        assert!(d.luma && d.scale == 2 && !d.truncated);
        assert_eq!((d.width, d.height), (550, 515));
        let mut whole = Vec::new();
        let w = decode_jpeg_part(&b, None, &screen(), &mut whole, Mode::ScreenLuma)
            .unwrap()
            .unwrap();
        assert_eq!((w.width, w.height, w.luma), (550, 515, true));
        assert_ne!(part, whole, "the cut was decoded");
        let diff: u64 = part
            .iter()
            .zip(&whole)
            .map(|(&a, &b)| u64::from(a.abs_diff(b)))
            .sum();
        assert!(diff <= 2 * part.len() as u64, "mean difference {diff}");
        // The Pillow-draft decode and the RGB screen read every scan.
        for mode in [Mode::Rgb, Mode::ScreenRgb] {
            let mut rgb = Vec::new();
            let r = decode_jpeg(&b, &screen(), &mut rgb, mode).unwrap();
            assert!(!r.luma && r.scale == 2);
        }
    }

    /// No cut for a baseline file, one decoded in full, a file cut short, or a file whose
    /// later segments libjpeg would refuse, and the screen then fails where a whole decode
    /// does.
    #[test]
    fn first_scans_not_cut_where_the_rest_is_not_sound() {
        assert_eq!(first_scan_cut(&fixture("scale2.jpg")), None);
        assert_eq!(first_scan_cut(&fixture("noscale.jpg")), None);
        let b = fixture("scale2_progressive.jpg");
        assert_eq!(first_scan_cut(&b[..b.len() - 2]), None, "no EOI");
        let s = scans(&b);
        let (last, at) = (s[9].0, s[9].0 + 4);
        let patch = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut c = b.clone();
            f(&mut c);
            c
        };
        // The last scan (one component): Se 64, Ah without Al = Ah - 1, an unknown
        // component, its AC table undefined.
        let bad = [
            patch(&|c| c[at + 4] = 64),
            patch(&|c| c[at + 5] = 0x31),
            patch(&|c| c[at + 1] = 9),
            patch(&|c| c[at + 2] = 0x03),
            // A second frame header before it.
            patch(&|c| c.splice(last..last, [0xFF, 0xC0, 0, 2]).for_each(drop)),
            // An over-full Huffman table defined before it (17 codes of length 4).
            patch(&|c| {
                let mut dht = vec![0xFF, 0xC4, 0, 19 + 17, 0x11];
                dht.extend([0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
                dht.extend(1..=17u8);
                c.splice(last..last, dht).for_each(drop);
            }),
        ];
        for (k, c) in bad.iter().enumerate() {
            assert_eq!(first_scan_cut(c), None, "case {k}");
            let (mut a, mut r) = (Vec::new(), Vec::new());
            let screen_ok = decode_as(c, ImageFormat::Jpeg, &screen(), &mut a, Mode::ScreenLuma);
            let rgb_ok = decode_as(c, ImageFormat::Jpeg, &screen(), &mut r, Mode::Rgb);
            assert_eq!(
                screen_ok.as_ref().map(|_| ()).map_err(DecodeError::message),
                rgb_ok.as_ref().map(|_| ()).map_err(DecodeError::message),
                "case {k}"
            );
        }
        // A well-formed extra segment after the cut (a comment) keeps it.
        let c = patch(&|c| {
            c.splice(last..last, [0xFF, 0xFE, 0, 4, b'h', b'i'])
                .for_each(drop)
        });
        assert_eq!(first_scan_cut(&c).map(|c| c.end), Some(s[4].1));
    }

    #[test]
    fn cmyk_formula_endpoints() {
        assert_eq!(cmyk_to_rgb(0, 0, 0, 0), [255, 255, 255]);
        assert_eq!(cmyk_to_rgb(255, 255, 255, 0), [0, 0, 0]);
        assert_eq!(cmyk_to_rgb(0, 0, 0, 255), [0, 0, 0]);
        assert_eq!(cmyk_to_rgb(128, 0, 255, 0), [127, 255, 0]);
    }

    #[test]
    fn in_place_conversions() {
        let mut b = vec![1, 2, 0, 0, 0, 0];
        to_rgb_in_place(&mut b, 2, ColorType::L8, Pixels::Viewer);
        assert_eq!(b, [1, 1, 1, 2, 2, 2]);
        let mut b = vec![1, 9, 2, 9, 0, 0];
        to_rgb_in_place(&mut b, 2, ColorType::La8, Pixels::Viewer);
        assert_eq!(b, [1, 1, 1, 2, 2, 2]);
        let mut b = vec![1, 2, 3, 4, 5, 6, 7, 8];
        to_rgb_in_place(&mut b, 2, ColorType::Rgba8, Pixels::Viewer);
        assert_eq!(&b[..6], [1, 2, 3, 5, 6, 7]);
        let mut b = Vec::new();
        for v in [0x1234u16, 0xFFFF, 0x00FF] {
            b.extend_from_slice(&v.to_ne_bytes());
        }
        let rgb16 = b.clone();
        to_rgb_in_place(&mut b, 1, ColorType::Rgb16, Pixels::Viewer);
        assert_eq!(&b[..3], [0x12, 0xFF, 0x00]);
        // 16-bit RGB: every decoder keeps the high byte.
        let mut b = rgb16;
        to_rgb_in_place(&mut b, 1, ColorType::Rgb16, Pixels::Pillow);
        assert_eq!(&b[..3], [0x12, 0xFF, 0x00]);
        // 16-bit grey: high byte for a viewer, clamped to 255 for Pillow.
        for (v, viewer, pillow) in [(0x1234u16, 0x12, 0xFF), (0x00FE, 0x00, 0xFE)] {
            for (compat, want) in [(Pixels::Viewer, viewer), (Pixels::Pillow, pillow)] {
                let mut b = v.to_ne_bytes().to_vec();
                b.resize(3, 0);
                to_rgb_in_place(&mut b, 1, ColorType::L16, compat);
                assert_eq!(b, [want; 3], "{v:#x} {compat:?}");
            }
        }
        // 16-bit grey with alpha: Pillow opens it as RGBA, high bytes, as a viewer does.
        let mut b = [0x1234u16, 0xFFFF]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect::<Vec<_>>();
        to_rgb_in_place(&mut b, 1, ColorType::La16, Pixels::ThreatExchange);
        assert_eq!(&b[..3], [0x12; 3]);
    }

    #[test]
    fn orientation_transforms() {
        // 3x2 image, pixel value = index.
        let img: Vec<u8> = (0..6u8).flat_map(|i| [i, i, i]).collect();
        let run = |o| {
            let mut b = img.clone();
            let (w, h) = apply_orientation(&mut b, 3, 2, o).unwrap();
            (w, h, b.chunks(3).map(|p| p[0]).collect::<Vec<_>>())
        };
        // 0 1 2
        // 3 4 5
        assert_eq!(run(2), (3, 2, vec![2, 1, 0, 5, 4, 3]));
        assert_eq!(run(3), (3, 2, vec![5, 4, 3, 2, 1, 0]));
        assert_eq!(run(4), (3, 2, vec![3, 4, 5, 0, 1, 2]));
        assert_eq!(run(5), (2, 3, vec![0, 3, 1, 4, 2, 5]));
        assert_eq!(run(6), (2, 3, vec![3, 0, 4, 1, 5, 2]));
        assert_eq!(run(7), (2, 3, vec![5, 2, 4, 1, 3, 0]));
        assert_eq!(run(8), (2, 3, vec![2, 5, 1, 4, 0, 3]));
    }
}
