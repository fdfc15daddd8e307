//! 64-bit pHash and dHash, computed as Python ImageHash 4.3 (`imagehash.phash`,
//! `imagehash.dhash` with their defaults) computes them from the same 8-bit RGB pixels.
//!
//! Python ImageHash is what most pHash/dHash lists in the wild were made with, so the goal here
//! is the same hex string for the same pixels, not "a" pHash. Every step follows what ImageHash
//! asks of Pillow and SciPy:
//!
//! 1. grey: Pillow's `convert("L")`, ITU-R 601-2 luma in 16-bit fixed point with rounding,
//!    `L = (19595·R + 38470·G + 7471·B + 0x8000) >> 16` (a grey pixel `v,v,v` gives `v`);
//! 2. resize with Pillow's LANCZOS (`ANTIALIAS`): a separable convolution, horizontal pass then
//!    vertical pass, each pass skipped when that side keeps its size. Per output sample, the
//!    window is `center ± 3·max(scale, 1)` input samples (`center = (i + 0.5)·scale`, bounds
//!    rounded by `(int)(x + 0.5)` and clamped), the weights `sinc(t)·sinc(t/3)` at
//!    `t = (j - center + 0.5) / max(scale, 1)` are normalised to sum 1, then rounded half away
//!    from zero to 22-bit fixed point. Each output is `(2^21 + Σ pixel·weight) >> 22`, clamped
//!    to 0..=255, and stored as 8 bits before the next pass;
//! 3. pHash: resize to 32x32, DCT-II (SciPy `fftpack.dct`, unnormalised) along columns then
//!    rows, keep the top-left 8x8 (DC included), threshold at their median (mean of the two
//!    middle values): bit set iff coefficient > median;
//!    dHash: resize to 9 wide x 8 high, bit set iff the pixel is **brighter than its left
//!    neighbour** (`pixels[:, 1:] > pixels[:, :-1]` in ImageHash).
//!
//! Bit order: bit `r*8 + c` (row `r`, column `c`, row-major) is bit `63 - (r*8 + c)` of the
//! `u64`, so the first bit is the most significant one and [`ImgHash64::to_hex`] is exactly
//! ImageHash's `str(hash)` (16 lower-case hex digits). Rust `image_hasher` packs bits the other
//! way round within each byte and resizes differently: its values are not comparable with these.
//!
//! The grey conversion and the resizes are integer arithmetic, identical to Pillow's on every
//! input. The DCT is computed here as a plain f64 matrix product while SciPy uses an FFT
//! (pocketfft), so the coefficients differ in the last few ulps; a bit can then differ only
//! when a coefficient sits within rounding noise of the median, which in practice means exact
//! mathematical ties (flat or symmetric 32x32 images). See `fixtures/imghash/README.md` for the
//! measured agreement.
//!
//! [`ImgHasher`] keeps its scratch buffers and resampling coefficients between images: after the
//! first image of a given size, hashing allocates nothing.

use std::fmt;
use std::str::FromStr;

use super::buffer::PixelData;
pub use super::buffer::{PixelBuffer, PixelError};

/// Side of pHash's resized image (hash side 8 × ImageHash's `highfreq_factor` 4).
const PHASH_SIDE: usize = 32;
/// Side of the hash grid.
const HASH_SIDE: usize = 8;
/// Pillow's fixed-point precision for 8-bit resampling: 32 bits minus 8 for the pixel value and
/// 2 for the filter's overshoot.
const PRECISION_BITS: u32 = 22;
/// Pillow's LANCZOS filter support (in output-sample units, before scaling).
const LANCZOS_SUPPORT: f64 = 3.0;

/// The default match threshold of pHash and dHash, in bits of 64: a list entry within this
/// Hamming distance of an image's hash is a hit. 10 is the default of imagededup's
/// `find_duplicates` (`max_distance_threshold`), the most used duplicate finder built on
/// ImageHash, and about PDQ's tolerance scaled to 64 bits (31 of 256 is 12%; 10 of 64 is
/// 16%, with fewer bits to spare). See the README for what it means on real copies.
pub const IMG_MATCH_THRESHOLD: u32 = 10;

/// Which 64-bit image hash: Python ImageHash's `phash` or `dhash`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImgKind {
    /// pHash (DCT of the 32x32 grey image, top-left 8x8 against their median).
    Phash,
    /// dHash (9x8 grey image, each pixel against its left neighbour).
    Dhash,
}

impl ImgKind {
    /// Both kinds, in id order.
    pub const ALL: [ImgKind; 2] = [ImgKind::Phash, ImgKind::Dhash];

    /// The name hits, lists and `--algo` use: `phash`, `dhash`.
    pub const fn name(self) -> &'static str {
        match self {
            ImgKind::Phash => "phash",
            ImgKind::Dhash => "dhash",
        }
    }

    /// The kind's number in an index file: 0 phash, 1 dhash.
    pub const fn id(self) -> u8 {
        match self {
            ImgKind::Phash => 0,
            ImgKind::Dhash => 1,
        }
    }

    /// The kind of number `id`.
    pub fn from_id(id: u8) -> Option<ImgKind> {
        ImgKind::ALL.into_iter().find(|k| k.id() == id)
    }

    /// The kind named `s` (either case).
    pub fn from_name(s: &str) -> Option<ImgKind> {
        ImgKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for ImgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a string is not a 64-bit image hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a 64-bit image hash is 16 hexadecimal digits")]
pub struct ImgHashHexError;

/// A 64-bit pHash or dHash. Bit `r*8 + c` of the 8x8 grid (row-major) is bit `63 - (r*8 + c)`
/// of the integer: the hex form, most significant digit first, is ImageHash's `str(hash)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ImgHash64(pub u64);

impl ImgHash64 {
    /// Bit of grid cell (`row`, `col`), both in 0..8.
    pub fn bit(&self, row: usize, col: usize) -> bool {
        debug_assert!(row < HASH_SIDE && col < HASH_SIDE);
        (self.0 >> (63 - (row * HASH_SIDE + col))) & 1 == 1
    }

    /// Hamming distance (number of differing bits, 0..=64).
    pub fn distance(&self, other: &ImgHash64) -> u32 {
        (self.0 ^ other.0).count_ones()
    }

    /// 16 lower-case hex digits, most significant first (ImageHash's text form).
    pub fn to_hex(&self) -> String {
        format!("{:016x}", self.0)
    }

    /// Alias of [`ImgHash64::to_hex`].
    pub fn hex(&self) -> String {
        self.to_hex()
    }

    /// Parses 16 hex digits (either case), as ImageHash prints them.
    pub fn from_hex(s: &str) -> Result<ImgHash64, ImgHashHexError> {
        if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ImgHashHexError);
        }
        u64::from_str_radix(s, 16)
            .map(ImgHash64)
            .map_err(|_| ImgHashHexError)
    }
}

impl fmt::Display for ImgHash64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for ImgHash64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ImgHash64({:016x})", self.0)
    }
}

impl FromStr for ImgHash64 {
    type Err = ImgHashHexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ImgHash64::from_hex(s)
    }
}

/// Pillow's LANCZOS kernel: `sinc(x)·sinc(x/3)` on `[-3, 3)`, with `sinc(x) = sin(πx)/(πx)`.
fn lanczos(x: f64) -> f64 {
    fn sinc(x: f64) -> f64 {
        if x == 0.0 {
            1.0
        } else {
            let x = x * std::f64::consts::PI;
            x.sin() / x
        }
    }
    if (-LANCZOS_SUPPORT..LANCZOS_SUPPORT).contains(&x) {
        sinc(x) * sinc(x / 3.0)
    } else {
        0.0
    }
}

/// Fixed-point weights of one resampling pass (one axis, `input` samples to `output`), as
/// Pillow's `precompute_coeffs` then `normalize_coeffs_8bpc` compute them.
#[derive(Debug, Default)]
struct Coeffs {
    input: usize,
    output: usize,
    /// Weights per output sample (the row stride of `weights`).
    ksize: usize,
    /// Per output sample: first input sample and number of input samples used.
    bounds: Vec<(usize, usize)>,
    /// `output × ksize` weights, 22-bit fixed point.
    weights: Vec<i32>,
}

impl Coeffs {
    /// Makes `self` the weights for `input → output`, reusing the buffers; a no-op when they
    /// already are.
    fn prepare(&mut self, input: usize, output: usize) {
        if self.input == input && self.output == output && !self.bounds.is_empty() {
            return;
        }
        // Pillow passes the box edges as C floats: `(double)(in1 - in0) / outSize`.
        let scale = f64::from(input as f32) / output as f64;
        let filterscale = scale.max(1.0);
        let support = LANCZOS_SUPPORT * filterscale;
        let ksize = support.ceil() as usize * 2 + 1;
        let ss = 1.0 / filterscale;
        self.input = input;
        self.output = output;
        self.ksize = ksize;
        self.bounds.clear();
        self.weights.clear();
        self.weights.resize(output * ksize, 0);
        let mut row = vec![0f64; ksize];
        for (xx, k) in self.weights.chunks_exact_mut(ksize).enumerate() {
            let center = (xx as f64 + 0.5) * scale;
            // `(int)(v + 0.5)`: truncation toward zero, then clamping.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(input as i64) as usize;
            let n = xmax.saturating_sub(xmin);
            let mut ww = 0.0;
            for (x, w) in row[..n].iter_mut().enumerate() {
                *w = lanczos(((x + xmin) as f64 - center + 0.5) * ss);
                ww += *w;
            }
            for (w, out) in row[..n].iter().zip(k.iter_mut()) {
                let w = if ww != 0.0 { w / ww } else { *w };
                let fixed = w * f64::from(1u32 << PRECISION_BITS);
                *out = if w < 0.0 {
                    (-0.5 + fixed) as i32
                } else {
                    (0.5 + fixed) as i32
                };
            }
            self.bounds.push((xmin, n));
        }
    }
}

/// Pillow's rounding and clamping of a fixed-point accumulator to 8 bits.
#[inline]
fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// The accumulator's starting value: one half, so that the final shift rounds.
const HALF: i32 = 1 << (PRECISION_BITS - 1);

/// Fixed-point dot product of 8-bit samples with weights.
#[inline]
fn dot(samples: &[u8], weights: &[i32]) -> i32 {
    samples
        .iter()
        .zip(weights)
        .fold(HALF, |acc, (&p, &k)| acc + i32::from(p) * k)
}

/// Which Pillow's resize to reproduce. The two differ only in the order of the two passes
/// (each pass rounds to 8 bits, so the order can move a pixel by one level).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PillowResize {
    /// Pillow 3.4 to 12.x before python-pillow/Pillow#9524: horizontal pass, then vertical
    /// pass, always. What ImageHash lists made before 2026 carry.
    #[default]
    Classic,
    /// Pillow 12.3 (measured; python-pillow/Pillow#9524, in Python): the vertical pass runs
    /// first when the image is more than 100 times taller than wide (`h > 100·w`) and the
    /// height shrinks; otherwise as [`PillowResize::Classic`].
    Pillow12_3,
    /// Pillow 13 (python-pillow/Pillow#9549): the vertical pass runs first when the height
    /// shrinks by more than twice as many pixels as the width, `h - oh > 2·(w - ow)` with
    /// `h > oh`; otherwise as [`PillowResize::Classic`].
    Pillow13,
}

impl PillowResize {
    /// Whether the vertical pass runs first for `w × h → ow × oh` (both passes needed).
    fn vertical_first(self, w: usize, h: usize, ow: usize, oh: usize) -> bool {
        let dh = h as i128 - oh as i128;
        let dw = w as i128 - ow as i128;
        match self {
            PillowResize::Classic => false,
            PillowResize::Pillow12_3 => h as u128 > w as u128 * 100 && oh < h,
            PillowResize::Pillow13 => dh > 0 && dh > 2 * dw,
        }
    }
}

/// Pillow's `ImagingResample` with LANCZOS for an 8-bit grey image, into `out` (`ow × oh`).
#[derive(Debug, Default)]
struct Resizer {
    horiz: Coeffs,
    vert: Coeffs,
    /// Output of the horizontal pass (only the rows the vertical pass reads).
    tmp: Vec<u8>,
    /// Vertical-pass accumulators, one per output column.
    acc: Vec<i32>,
}

impl Resizer {
    #[allow(clippy::too_many_arguments)]
    fn resize(
        &mut self,
        order: PillowResize,
        grey: &[u8],
        w: usize,
        h: usize,
        ow: usize,
        oh: usize,
        out: &mut [u8],
    ) {
        debug_assert_eq!(grey.len(), w * h);
        debug_assert_eq!(out.len(), ow * oh);
        let need_h = ow != w;
        let need_v = oh != h;
        if need_h {
            self.horiz.prepare(w, ow);
        }
        if need_v {
            self.vert.prepare(h, oh);
        }
        match (need_h, need_v) {
            (false, false) => out.copy_from_slice(grey),
            (true, false) => horizontal(&self.horiz, grey, w, 0..h, out),
            (false, true) => vertical(&self.vert, grey, w, 0, out, &mut self.acc),
            (true, true) if order.vertical_first(w, h, ow, oh) => {
                self.tmp.clear();
                self.tmp.resize(w * oh, 0);
                vertical(&self.vert, grey, w, 0, &mut self.tmp, &mut self.acc);
                horizontal(&self.horiz, &self.tmp, w, 0..oh, out);
            }
            (true, true) => {
                // Only the rows the vertical pass reads go through the horizontal pass.
                let first = self.vert.bounds[0].0;
                let (lmin, ln) = self.vert.bounds[oh - 1];
                let last = lmin + ln;
                self.tmp.clear();
                self.tmp.resize(ow * (last - first), 0);
                horizontal(&self.horiz, grey, w, first..last, &mut self.tmp);
                vertical(&self.vert, &self.tmp, ow, first, out, &mut self.acc);
            }
        }
    }
}

/// Horizontal pass over input rows `rows`, written contiguously to `out`.
fn horizontal(c: &Coeffs, src: &[u8], w: usize, rows: std::ops::Range<usize>, out: &mut [u8]) {
    let ow = c.output;
    for (y, out_row) in rows.zip(out.chunks_exact_mut(ow)) {
        let row = &src[y * w..][..w];
        for (xx, o) in out_row.iter_mut().enumerate() {
            let (xmin, n) = c.bounds[xx];
            *o = clip8(dot(&row[xmin..xmin + n], &c.weights[xx * c.ksize..][..n]));
        }
    }
}

/// Vertical pass: `src` holds input rows `row0..`, `w` samples each; `out` gets `c.output` rows.
fn vertical(c: &Coeffs, src: &[u8], w: usize, row0: usize, out: &mut [u8], acc: &mut Vec<i32>) {
    acc.clear();
    acc.resize(w, 0);
    for (yy, out_row) in out.chunks_exact_mut(w).enumerate() {
        let (ymin, n) = c.bounds[yy];
        acc.fill(HALF);
        for (y, &ky) in c.weights[yy * c.ksize..][..n].iter().enumerate() {
            let row = &src[(ymin + y - row0) * w..][..w];
            for (a, &p) in acc.iter_mut().zip(row) {
                *a += i32::from(p) * ky;
            }
        }
        for (o, &a) in out_row.iter_mut().zip(acc.iter()) {
            *o = clip8(a);
        }
    }
}

/// What [`ImgHasher::hash`] computed: the kinds asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImgHashes {
    /// pHash, when asked for.
    pub phash: Option<ImgHash64>,
    /// dHash, when asked for.
    pub dhash: Option<ImgHash64>,
}

impl ImgHashes {
    /// The hash of kind `kind`, when it was computed.
    pub fn get(&self, kind: ImgKind) -> Option<ImgHash64> {
        match kind {
            ImgKind::Phash => self.phash,
            ImgKind::Dhash => self.dhash,
        }
    }
}

/// Reusable pHash/dHash state: grey buffer, resize buffers and coefficients, DCT table.
#[derive(Debug)]
pub struct ImgHasher {
    resize: PillowResize,
    grey: Vec<u8>,
    phash_resizer: Resizer,
    dhash_resizer: Resizer,
    /// `dct[k][n] = 2·cos(π·k·(2n+1) / 64)` for the 8 kept frequencies.
    dct: [[f64; PHASH_SIDE]; HASH_SIDE],
    /// The least contrast of the resized grids hashed since the last image was loaded.
    contrast: u8,
}

impl Default for ImgHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl ImgHasher {
    /// A hasher with empty scratch buffers, resizing as Pillow up to 12.x does.
    pub fn new() -> Self {
        Self::with_resize(PillowResize::Classic)
    }

    /// A hasher resizing as the given Pillow does.
    pub fn with_resize(resize: PillowResize) -> Self {
        let mut dct = [[0f64; PHASH_SIDE]; HASH_SIDE];
        for (k, row) in dct.iter_mut().enumerate() {
            for (n, v) in row.iter_mut().enumerate() {
                let angle =
                    std::f64::consts::PI * (k * (2 * n + 1)) as f64 / (2 * PHASH_SIDE) as f64;
                *v = 2.0 * angle.cos();
            }
        }
        ImgHasher {
            resize,
            grey: Vec::new(),
            phash_resizer: Resizer::default(),
            dhash_resizer: Resizer::default(),
            dct,
            contrast: u8::MAX,
        }
    }

    /// ImageHash's hashes of `px`, one for each kind in `kinds` (the others `None`): `phash`
    /// and `dhash` with their defaults, from 8-bit RGB (Pillow's `convert("L")` first, once
    /// for both) or 8-bit grey (Pillow mode "L", e.g. a grey PNG).
    ///
    /// # Errors
    /// [`PixelError::Layout`] for float32 luma: ImageHash is defined on 8-bit pixels.
    pub fn hash(
        &mut self,
        px: PixelBuffer<'_>,
        kinds: &[ImgKind],
    ) -> Result<ImgHashes, PixelError> {
        let (w, h) = (px.width(), px.height());
        self.contrast = u8::MAX;
        let rgb = match px.data() {
            PixelData::Grey(grey) => return Ok(self.hashes_of(grey, w, h, kinds)),
            PixelData::Rgb(rgb) => rgb,
            PixelData::Luma(_) => {
                return Err(PixelError::Layout {
                    hash: "pHash/dHash",
                    layout: px.data().layout(),
                })
            }
        };
        self.load_rgb(rgb);
        let grey = std::mem::take(&mut self.grey);
        let hashes = self.hashes_of(&grey, w, h, kinds);
        self.grey = grey;
        Ok(hashes)
    }

    /// Pillow's `convert("L")` of packed RGB into `self.grey`.
    fn load_rgb(&mut self, rgb: &[u8]) {
        self.grey.clear();
        self.grey.extend(rgb.chunks_exact(3).map(|p| {
            let l = u32::from(p[0]) * 19595 + u32::from(p[1]) * 38470 + u32::from(p[2]) * 7471;
            ((l + 0x8000) >> 16) as u8
        }));
    }

    /// The contrast of the last image hashed: grey levels between the darkest and the
    /// brightest pixel of the resized grid a hash was computed from (32x32 for pHash, 9x8
    /// for dHash; the lesser when both were). A near-flat grid (a few levels) makes bits that
    /// rounding noise decides, which a reduced-scale decode may flip.
    pub fn contrast(&self) -> u8 {
        self.contrast
    }

    /// The hashes of `kinds` of a grey buffer whose size is checked.
    fn hashes_of(&mut self, grey: &[u8], w: usize, h: usize, kinds: &[ImgKind]) -> ImgHashes {
        let mut out = ImgHashes::default();
        for &kind in kinds {
            match kind {
                ImgKind::Phash => out.phash = Some(self.phash_of(grey, w, h)),
                ImgKind::Dhash => out.dhash = Some(self.dhash_of(grey, w, h)),
            }
        }
        out
    }

    fn phash_of(&mut self, grey: &[u8], w: usize, h: usize) -> ImgHash64 {
        let mut small = [0u8; PHASH_SIDE * PHASH_SIDE];
        self.phash_resizer
            .resize(self.resize, grey, w, h, PHASH_SIDE, PHASH_SIDE, &mut small);
        // DCT along columns (axis 0) first, keeping the 8 lowest frequencies ...
        let mut cols = [[0f64; PHASH_SIDE]; HASH_SIDE];
        let mut x = [0f64; PHASH_SIDE];
        for c in 0..PHASH_SIDE {
            for (n, v) in x.iter_mut().enumerate() {
                *v = f64::from(small[n * PHASH_SIDE + c]);
            }
            for (k, v) in self.dct8(&x).into_iter().enumerate() {
                cols[k][c] = v;
            }
        }
        // ... then along rows (axis 1).
        let mut coeffs = [0f64; HASH_SIDE * HASH_SIDE];
        for (r, row) in cols.iter().enumerate() {
            coeffs[r * HASH_SIDE..][..HASH_SIDE].copy_from_slice(&self.dct8(row));
        }
        self.note_contrast(&small);
        let mut sorted = coeffs;
        sorted.sort_unstable_by(f64::total_cmp);
        let mid = HASH_SIDE * HASH_SIDE / 2;
        let median = (sorted[mid - 1] + sorted[mid]) / 2.0;
        pack(coeffs.iter().map(|&v| v > median))
    }

    /// The 8 lowest DCT-II coefficients of 32 samples, on SciPy's unnormalised scale
    /// (`2·Σ x[n]·cos(πk(2n+1)/64)`). Folding the input around its centre and measuring even
    /// frequencies from the first folded sample makes every coefficient that is zero by
    /// symmetry (flat, mirror-symmetric or antisymmetric input) exactly 0.0, as SciPy's FFT
    /// gives it: those exact ties with the median decide bits.
    fn dct8(&self, x: &[f64; PHASH_SIDE]) -> [f64; HASH_SIDE] {
        const HALF_N: usize = PHASH_SIDE / 2;
        let mut sum = [0f64; HALF_N];
        let mut diff = [0f64; HALF_N];
        for n in 0..HALF_N {
            sum[n] = x[n] + x[PHASH_SIDE - 1 - n];
            diff[n] = x[n] - x[PHASH_SIDE - 1 - n];
        }
        let mut out = [0f64; HASH_SIDE];
        out[0] = 2.0 * sum.iter().sum::<f64>();
        for (k, o) in out.iter_mut().enumerate().skip(1) {
            let basis = &self.dct[k][..HALF_N];
            *o = if k % 2 == 0 {
                // Σ basis = 0 over the half period for even k ≥ 2.
                sum.iter().zip(basis).map(|(s, b)| (s - sum[0]) * b).sum()
            } else {
                diff.iter().zip(basis).map(|(d, b)| d * b).sum()
            };
        }
        out
    }

    /// Keeps the least contrast of the grids hashed for this image.
    fn note_contrast(&mut self, grid: &[u8]) {
        let (lo, hi) = grid
            .iter()
            .fold((u8::MAX, 0u8), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        self.contrast = self.contrast.min(hi.saturating_sub(lo));
    }

    fn dhash_of(&mut self, grey: &[u8], w: usize, h: usize) -> ImgHash64 {
        const W: usize = HASH_SIDE + 1;
        let mut small = [0u8; W * HASH_SIDE];
        self.dhash_resizer
            .resize(self.resize, grey, w, h, W, HASH_SIDE, &mut small);
        self.note_contrast(&small);
        pack(
            small
                .chunks_exact(W)
                .flat_map(|row| row.windows(2).map(|p| p[1] > p[0])),
        )
    }
}

/// Packs 64 bits, first one most significant.
fn pack(bits: impl Iterator<Item = bool>) -> ImgHash64 {
    ImgHash64(bits.fold(0u64, |acc, b| (acc << 1) | u64::from(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_distance() {
        let h = ImgHash64::from_hex("a25acfa58d3530a7").unwrap();
        assert_eq!(h.to_hex(), "a25acfa58d3530a7");
        assert_eq!(h.to_string(), "a25acfa58d3530a7");
        assert_eq!("A25ACFA58D3530A7".parse::<ImgHash64>().unwrap(), h);
        assert!(h.bit(0, 0)); // 0xa = 1010
        assert!(!h.bit(0, 1));
        assert!(h.bit(7, 7)); // ...7 = 0111
        assert_eq!(h.distance(&h), 0);
        assert_eq!(h.distance(&ImgHash64(!h.0)), 64);
        assert!(ImgHash64::from_hex("a25acfa58d3530a").is_err());
        assert!(ImgHash64::from_hex("+25acfa58d3530a7").is_err());
        assert!(ImgHash64::from_hex("g25acfa58d3530a7").is_err());
    }

    #[test]
    fn bad_buffers_are_errors() {
        let mut h = ImgHasher::new();
        let (p, d, both) = (&[ImgKind::Phash], &[ImgKind::Dhash], &ImgKind::ALL);
        assert!(matches!(
            PixelBuffer::rgb(&[], 0, 5).map(|px| h.hash(px, p)),
            Err(PixelError::Empty { .. })
        ));
        assert!(matches!(
            PixelBuffer::rgb(&[0; 11], 2, 2).map(|px| h.hash(px, d)),
            Err(PixelError::BufferSize { .. })
        ));
        assert!(matches!(
            PixelBuffer::rgb(&[0; 3], usize::MAX, 2).map(|px| h.hash(px, both)),
            Err(PixelError::BufferSize { .. })
        ));
        assert!(PixelBuffer::grey(&[0; 5], 2, 2).is_err());
        assert!(h.hash(PixelBuffer::grey(&[0; 4], 2, 2).unwrap(), d).is_ok());
        assert_eq!(
            h.hash(PixelBuffer::luma(&[0.0; 4], 2, 2).unwrap(), both),
            Err(PixelError::Layout {
                hash: "pHash/dHash",
                layout: "float32 luma"
            })
        );
    }

    #[test]
    fn grey_matches_pillow_l() {
        let mut h = ImgHasher::new();
        // grey pixels stay themselves; Pillow gives 76 for red, 150 for green, 29 for blue
        h.load_rgb(&[7, 7, 7, 255, 0, 0, 0, 255, 0, 0, 0, 255]);
        assert_eq!(h.grey, [7, 76, 150, 29]);
    }

    #[test]
    fn same_size_resize_is_a_copy_and_flat_stays_flat() {
        let mut r = Resizer::default();
        let src: Vec<u8> = (0..=255).collect();
        let mut out = vec![0u8; 256];
        r.resize(PillowResize::Classic, &src, 16, 16, 16, 16, &mut out);
        assert_eq!(out, src);
        let flat = vec![200u8; 37 * 53];
        let mut out = vec![0u8; 9 * 8];
        r.resize(PillowResize::Pillow13, &flat, 37, 53, 9, 8, &mut out);
        assert!(out.iter().all(|&v| v == 200));
    }

    #[test]
    fn both_equals_separate_calls() {
        let (w, h) = (41, 67);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
        let px = PixelBuffer::rgb(&rgb, w, h).unwrap();
        let mut hasher = ImgHasher::new();
        let both = hasher.hash(px, &ImgKind::ALL).unwrap();
        let phash = hasher.hash(px, &[ImgKind::Phash]).unwrap();
        let dhash = hasher.hash(px, &[ImgKind::Dhash]).unwrap();
        assert_eq!((phash.dhash, dhash.phash), (None, None));
        assert_eq!(both.phash, phash.phash);
        assert_eq!(both.dhash, dhash.dhash);
        assert!(both.phash.is_some() && both.dhash.is_some());
    }
}
