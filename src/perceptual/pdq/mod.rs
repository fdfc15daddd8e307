//! PDQ, bit for bit as Meta's reference C++ core (ThreatExchange `pdq/cpp/hashing`) computes it.
//!
//! The input is a decoded pixel buffer: 8-bit RGB, 8-bit grey, or float32 luma, row-major, with
//! no padding. Decoding, EXIF orientation and any pre-resize (the reference CLI resizes images
//! with a side over 512 to 512x512 by nearest neighbour) are the caller's business.
//!
//! The pipeline, every step in float32 and in the reference's order of operations:
//!
//! 1. luma `Y = (0.299·R + 0.587·G) + 0.114·B` (a grey raster is its own luma);
//! 2. two passes of [horizontal box blur, vertical box blur], window `ceil(side / 128)`, each a
//!    float32 running sum that renormalises at the edges;
//! 3. point sampling of the blurred image at the 64x64 cell centres;
//! 4. quality from the truncated gradients of that 64x64 image (0..=100);
//! 5. DCT frequencies 1..=16 in each axis, as two products with a 16x64 float32 matrix;
//! 6. bit `i*16+j` set iff coefficient `[i][j]` is strictly above the Torben (lower) median.
//!
//! Inputs with a side under 5 give the all-zero hash with quality 0, as the reference does. A
//! 64x64 input skips the blur in [`PdqHasher::hash_luma`] (the reference's shortcut for
//! pre-scaled video frames) but not in [`PdqHasher::hash_luma_dihedral`], which, like the
//! reference's dihedral entry point, always filters.
//!
//! [`PdqHasher`] keeps its scratch buffers between images: after the first image of a given
//! size, hashing allocates nothing.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// The reference's smallest hashable side: below it the hash is all zeros, quality 0.
pub const MIN_HASHABLE_DIM: usize = 5;

/// Hamming distance at or under which two PDQ hashes are taken to match (ThreatExchange's
/// recommendation, also python-threatexchange's and HMA's default).
pub const MATCH_THRESHOLD: u32 = 31;

/// Quality under which the reference tooling discards a hash (python-threatexchange drops
/// hashes with quality < 50).
pub const MIN_QUALITY: u8 = 50;

/// Side of the decimated image.
const SIDE: usize = 64;
/// Side of the kept DCT block.
const KEEP: usize = 16;
/// Rows hashed together by the horizontal blur: independent running sums hide the latency.
const LANES: usize = 8;

/// Why a buffer could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdqError {
    /// Width or height is zero.
    #[error("empty image ({width}x{height})")]
    Empty {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
    },
    /// The buffer length is not width × height × channels (or that product overflows).
    #[error("buffer of {len} values for a {width}x{height} image with {channels} channel(s)")]
    BufferSize {
        /// Length of the buffer given.
        len: usize,
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
        /// Values per pixel expected.
        channels: usize,
    },
}

/// Why a string is not a PDQ hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a PDQ hash is 64 hexadecimal digits")]
pub struct PdqHexError;

/// A 256-bit PDQ hash.
///
/// The bytes are the big-endian representation of the 256-bit integer `Σ bit_k · 2^k`, where bit
/// `k = i*16 + j` is DCT coefficient row `i`, column `j`: byte `b` holds bits `8*(31-b)` to
/// `8*(31-b)+7`. Printed as hex, this is exactly the reference's text form (its 16-bit words
/// from `w[15]` down to `w[0]`, `%04hx` each).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PdqHash(pub [u8; 32]);

impl PdqHash {
    /// The all-zero hash (what the reference returns for images with a side under 5).
    pub const ZERO: PdqHash = PdqHash([0; 32]);

    /// Bit `k` (0..256), `k = row*16 + column` of the DCT block.
    pub fn bit(&self, k: usize) -> bool {
        k < 256 && (self.0[31 - k / 8] >> (k % 8)) & 1 == 1
    }

    fn set_bit(&mut self, k: usize) {
        self.0[31 - k / 8] |= 1 << (k % 8);
    }

    /// Hamming distance: the number of differing bits (0..=256).
    pub fn distance(&self, other: &PdqHash) -> u32 {
        let mut d = 0;
        for (a, b) in self.0.chunks_exact(8).zip(other.0.chunks_exact(8)) {
            let mut x = [0u8; 8];
            for ((x, a), b) in x.iter_mut().zip(a).zip(b) {
                *x = a ^ b;
            }
            d += u64::from_ne_bytes(x).count_ones();
        }
        d
    }

    /// The number of set bits (128 for a hash of an image whose coefficients are distinct).
    pub fn weight(&self) -> u32 {
        self.distance(&PdqHash::ZERO)
    }

    /// The 64 lowercase hex digits the reference prints.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// Parses 64 hex digits (either case), as the reference's text form.
    pub fn from_hex(s: &str) -> Result<PdqHash, PdqHexError> {
        let s = s.as_bytes();
        if s.len() != 64 {
            return Err(PdqHexError);
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
            *o = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
        }
        Ok(PdqHash(out))
    }
}

fn hex_digit(c: u8) -> Result<u8, PdqHexError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(PdqHexError),
    }
}

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({self})")
    }
}

impl FromStr for PdqHash {
    type Err = PdqHexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PdqHash::from_hex(s)
    }
}

/// A hash and the reference's quality score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PdqResult {
    /// The hash.
    pub hash: PdqHash,
    /// 0..=100: the reference's gradient-based quality. Hashes under [`MIN_QUALITY`] are
    /// customarily discarded.
    pub quality: u8,
}

/// The 8 dihedral hashes derived from one DCT, and their shared quality.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PdqDihedral {
    /// In the reference's order: [`PdqDihedral::NAMES`].
    pub hashes: [PdqHash; 8],
    /// 0..=100, as [`PdqResult::quality`].
    pub quality: u8,
}

impl PdqDihedral {
    /// The names of the variants, in the order of [`PdqDihedral::hashes`]: original, rotations
    /// by 90, 180, 270 degrees counter-clockwise, top-bottom flip, left-right mirror, transpose
    /// (reflection about the main diagonal), and reflection about the anti-diagonal.
    pub const NAMES: [&'static str; 8] = [
        "orig",
        "rot90",
        "rot180",
        "rot270",
        "flipx",
        "flipy",
        "flipplus1",
        "flipminus1",
    ];

    /// The original (untransformed) hash and the quality.
    pub fn original(&self) -> PdqResult {
        PdqResult {
            hash: self.hashes[0],
            quality: self.quality,
        }
    }
}

/// Reusable scratch space and tables for PDQ hashing: keep one per thread.
///
/// After the first image of a given size, no method allocates.
pub struct PdqHasher {
    /// Luma made from RGB or grey input.
    luma: Vec<f32>,
    /// Blur scratch: a ring of first-pass rows, a block of second-pass rows, the sampled
    /// columns, and one running-sum row.
    ring1: Vec<f32>,
    ring2: Vec<f32>,
    narrow_a: Vec<f32>,
    narrow_b: Vec<f32>,
    sums: Vec<f32>,
    tiles: Tiles,
    /// The decimated 64x64 image, row-major.
    a64: Box<[f32; SIDE * SIDE]>,
    /// `D · A`, 16x64.
    t16x64: Box<[f32; KEEP * SIDE]>,
    /// The 16x16 DCT block and one variant of it.
    b16: [f32; KEEP * KEEP],
    aux16: [f32; KEEP * KEEP],
    /// The 16x64 DCT matrix, row-major, and its transpose (64x16).
    dct: Box<[f32; KEEP * SIDE]>,
    dct_t: Box<[f32; SIDE * KEEP]>,
}

impl Default for PdqHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for PdqHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PdqHasher")
            .field("luma_capacity", &self.luma.capacity())
            .finish_non_exhaustive()
    }
}

/// The reference's DCT matrix: `D[i][j] = (float)((double)(float)sqrt(2/64) ·
/// cos((π/2/64)·(i+1)·(2j+1)))`, 16x64 row-major. Frequency 0 is skipped.
pub fn dct_matrix() -> [f32; KEEP * SIDE] {
    let scale = f64::from((2.0f64 / 64.0).sqrt() as f32);
    let mut d = [0f32; KEEP * SIDE];
    for i in 0..KEEP {
        for j in 0..SIDE {
            let angle = (std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64;
            d[i * SIDE + j] = (scale * angle.cos()) as f32;
        }
    }
    d
}

impl PdqHasher {
    /// A hasher with empty scratch buffers (they grow to the largest image seen).
    pub fn new() -> Self {
        let dct = Box::new(dct_matrix());
        let mut dct_t = Box::new([0f32; SIDE * KEEP]);
        for i in 0..KEEP {
            for k in 0..SIDE {
                dct_t[k * KEEP + i] = dct[i * SIDE + k];
            }
        }
        PdqHasher {
            luma: Vec::new(),
            ring1: Vec::new(),
            ring2: Vec::new(),
            narrow_a: Vec::new(),
            narrow_b: Vec::new(),
            sums: Vec::new(),
            tiles: Tiles::default(),
            a64: Box::new([0f32; SIDE * SIDE]),
            t16x64: Box::new([0f32; KEEP * SIDE]),
            b16: [0f32; KEEP * KEEP],
            aux16: [0f32; KEEP * KEEP],
            dct,
            dct_t,
        }
    }

    /// Fills the hasher's luma buffer from packed 8-bit RGB (3 bytes a pixel, row-major) with
    /// the reference's float32 `(0.299·R + 0.587·G) + 0.114·B`, and returns it.
    pub fn luma_from_rgb(
        &mut self,
        rgb: &[u8],
        width: usize,
        height: usize,
    ) -> Result<&mut [f32], PdqError> {
        let n = check_size(rgb.len(), width, height, 3)?;
        // The three products of `luma_of` from tables of the same f32 values, summed in the
        // same order: the same luma, bit for bit, for a third of the arithmetic.
        let [tr, tg, tb] = luma_tables();
        self.luma.clear();
        self.luma.extend(
            rgb.chunks_exact(3)
                .map(|p| (tr[usize::from(p[0])] + tg[usize::from(p[1])]) + tb[usize::from(p[2])]),
        );
        Ok(&mut self.luma[..n])
    }

    /// Fills the hasher's luma buffer from 8-bit grey (the grey value is the luma, as the
    /// reference does for greyscale sources), and returns it.
    pub fn luma_from_grey(
        &mut self,
        grey: &[u8],
        width: usize,
        height: usize,
    ) -> Result<&mut [f32], PdqError> {
        let n = check_size(grey.len(), width, height, 1)?;
        self.luma.clear();
        self.luma.extend(grey.iter().map(|&g| f32::from(g)));
        Ok(&mut self.luma[..n])
    }

    /// Hashes a float32 luma buffer (row-major, `width * height` values, nominally 0..=255).
    pub fn hash_luma(
        &mut self,
        luma: &[f32],
        width: usize,
        height: usize,
    ) -> Result<PdqResult, PdqError> {
        check_size(luma.len(), width, height, 1)?;
        Ok(self.hash_checked(luma, width, height))
    }

    /// The 8 dihedral hashes of a float32 luma buffer (see [`PdqDihedral`]).
    pub fn hash_luma_dihedral(
        &mut self,
        luma: &[f32],
        width: usize,
        height: usize,
    ) -> Result<PdqDihedral, PdqError> {
        check_size(luma.len(), width, height, 1)?;
        Ok(self.dihedral_checked(luma, width, height))
    }

    /// Hashes packed 8-bit RGB (3 bytes a pixel, row-major).
    pub fn hash_rgb(
        &mut self,
        rgb: &[u8],
        width: usize,
        height: usize,
    ) -> Result<PdqResult, PdqError> {
        self.luma_from_rgb(rgb, width, height)?;
        Ok(self.on_own_luma(width, height, Self::hash_checked))
    }

    /// The 8 dihedral hashes of packed 8-bit RGB.
    pub fn hash_rgb_dihedral(
        &mut self,
        rgb: &[u8],
        width: usize,
        height: usize,
    ) -> Result<PdqDihedral, PdqError> {
        self.luma_from_rgb(rgb, width, height)?;
        Ok(self.on_own_luma(width, height, Self::dihedral_checked))
    }

    /// Hashes 8-bit grey, used directly as luma.
    pub fn hash_grey(
        &mut self,
        grey: &[u8],
        width: usize,
        height: usize,
    ) -> Result<PdqResult, PdqError> {
        self.luma_from_grey(grey, width, height)?;
        Ok(self.on_own_luma(width, height, Self::hash_checked))
    }

    /// The 8 dihedral hashes of 8-bit grey.
    pub fn hash_grey_dihedral(
        &mut self,
        grey: &[u8],
        width: usize,
        height: usize,
    ) -> Result<PdqDihedral, PdqError> {
        self.luma_from_grey(grey, width, height)?;
        Ok(self.on_own_luma(width, height, Self::dihedral_checked))
    }

    /// Runs `f` on the luma buffer filled by `luma_from_*` (taken out of `self` for the call,
    /// since `f` borrows the rest of the hasher's scratch).
    fn on_own_luma<R>(
        &mut self,
        width: usize,
        height: usize,
        f: impl FnOnce(&mut Self, &[f32], usize, usize) -> R,
    ) -> R {
        let luma = std::mem::take(&mut self.luma);
        let r = f(self, &luma, width, height);
        self.luma = luma;
        r
    }

    /// `pdqHash256FromFloatLuma`: sizes already checked.
    fn hash_checked(&mut self, luma: &[f32], width: usize, height: usize) -> PdqResult {
        if width < MIN_HASHABLE_DIM || height < MIN_HASHABLE_DIM {
            return PdqResult {
                hash: PdqHash::ZERO,
                quality: 0,
            };
        }
        if width == SIDE && height == SIDE {
            // The reference's shortcut for frames already scaled to 64x64: no blur.
            self.a64.copy_from_slice(luma);
        } else {
            self.downsample(luma, width, height);
        }
        let quality = quality(&self.a64);
        self.dct();
        PdqResult {
            hash: bits_of(&self.b16),
            quality,
        }
    }

    /// `pdqDihedralHash256esFromFloatLuma`: sizes already checked.
    fn dihedral_checked(&mut self, luma: &[f32], width: usize, height: usize) -> PdqDihedral {
        if width < MIN_HASHABLE_DIM || height < MIN_HASHABLE_DIM {
            return PdqDihedral {
                hashes: [PdqHash::ZERO; 8],
                quality: 0,
            };
        }
        self.downsample(luma, width, height);
        let quality = quality(&self.a64);
        self.dct();
        let mut hashes = [PdqHash::ZERO; 8];
        hashes[0] = bits_of(&self.b16);
        for (v, h) in hashes.iter_mut().enumerate().skip(1) {
            dihedral_variant(v, &self.b16, &mut self.aux16);
            *h = bits_of(&self.aux16);
        }
        PdqDihedral { hashes, quality }
    }

    /// Two passes of [horizontal, vertical] box blur, then point sampling into `a64`.
    ///
    /// Exactly the reference's values, computed row-streaming: the first horizontal pass fills a
    /// ring of rows as the first vertical pass needs them, each vertical output row goes straight
    /// through the second horizontal pass, which keeps only the 64 sampled columns, and the
    /// second vertical pass runs on those columns alone. No full-size plane is stored; every
    /// running sum sees the same sequence of float operations as in the reference.
    fn downsample(&mut self, luma: &[f32], width: usize, height: usize) {
        let (cols, rows) = (width, height);
        let win_h = window(cols);
        let win_v = window(rows);
        let col_idx: [usize; SIDE] = std::array::from_fn(|j| sample_index(j, cols));
        let row_idx: [usize; SIDE] = std::array::from_fn(|i| sample_index(i, rows));

        // Ring of first-pass rows: the vertical sum reads rows li..=ri (ri - li <= win_v) while
        // the horizontal pass may be up to LANES - 1 rows ahead. A multiple of LANES, so that a
        // block of LANES rows (which starts at a multiple of LANES) never wraps.
        let ring_rows = (win_v + LANES + 1).div_ceil(LANES) * LANES;
        resize(&mut self.ring1, ring_rows * cols);
        resize(&mut self.ring2, LANES * cols);
        resize(&mut self.narrow_a, rows * SIDE);
        resize(&mut self.narrow_b, rows * SIDE);
        resize(&mut self.sums, cols.max(SIDE));
        self.tiles.resize(cols);
        let ring1 = &mut self.ring1[..ring_rows * cols];
        let ring2 = &mut self.ring2[..LANES * cols];
        let narrow_a = &mut self.narrow_a[..rows * SIDE];
        let narrow_b = &mut self.narrow_b[..rows * SIDE];
        let sums = &mut self.sums[..cols];
        let tiles = &mut self.tiles;
        sums.fill(0.0);

        let tail_start = rows - rows % LANES;
        let mut h1_done = 0usize;
        let (p1, p2, p3, p4) = phases(rows, win_v);
        let mut count = 0usize;
        let (mut ri, mut li, mut o) = (0usize, 0usize, 0usize);
        for step in 0..p1 + p2 + p3 + p4 {
            let add = step < p1 + p2 + p3;
            let sub = step >= p1 + p2;
            if add {
                // First horizontal pass, up to row ri.
                while h1_done <= ri {
                    let slot = h1_done % ring_rows;
                    if rows - h1_done >= LANES {
                        let ins = row_array::<LANES>(&luma[h1_done * cols..], cols);
                        let outs = row_array_mut::<LANES>(&mut ring1[slot * cols..], cols);
                        hbox_full::<LANES>(ins, outs, win_h, tiles);
                        h1_done += LANES;
                    } else {
                        let ins = row_array::<1>(&luma[h1_done * cols..], cols);
                        let outs = row_array_mut::<1>(&mut ring1[slot * cols..], cols);
                        hbox_full::<1>(ins, outs, win_h, tiles);
                        h1_done += 1;
                    }
                }
            }
            match (add, sub) {
                (true, false) => count += 1,
                (false, true) => count -= 1,
                _ => {}
            }
            if step < p1 {
                let x = &ring1[(ri % ring_rows) * cols..][..cols];
                for (s, &x) in sums.iter_mut().zip(x) {
                    *s += x;
                }
                ri += 1;
                continue;
            }
            // First vertical pass, output row o, into ring2.
            let c = count as f32;
            let out = &mut ring2[(o % LANES) * cols..][..cols];
            match (add, sub) {
                (true, false) => {
                    let x = &ring1[(ri % ring_rows) * cols..][..cols];
                    for ((s, &x), out) in sums.iter_mut().zip(x).zip(out) {
                        *s += x;
                        *out = *s / c;
                    }
                }
                (true, true) => {
                    let x = &ring1[(ri % ring_rows) * cols..][..cols];
                    let y = &ring1[(li % ring_rows) * cols..][..cols];
                    for (((s, &x), &y), out) in sums.iter_mut().zip(x).zip(y).zip(out) {
                        *s += x;
                        *s -= y;
                        *out = *s / c;
                    }
                }
                _ => {
                    let y = &ring1[(li % ring_rows) * cols..][..cols];
                    for ((s, &y), out) in sums.iter_mut().zip(y).zip(out) {
                        *s -= y;
                        *out = *s / c;
                    }
                }
            }
            ri += usize::from(add);
            li += usize::from(sub);
            // Second horizontal pass, sampled columns only, LANES rows at a time.
            if o >= tail_start {
                let ins = row_array::<1>(&ring2[(o % LANES) * cols..], cols);
                let outs = row_array_mut::<1>(&mut narrow_a[o * SIDE..], SIDE);
                hbox_sampled::<1>(ins, &col_idx, outs, win_h, tiles);
            } else if o % LANES == LANES - 1 {
                let first = o + 1 - LANES;
                let ins = row_array::<LANES>(ring2, cols);
                let outs = row_array_mut::<LANES>(&mut narrow_a[first * SIDE..], SIDE);
                hbox_sampled::<LANES>(ins, &col_idx, outs, win_h, tiles);
            }
            o += 1;
        }
        // Second vertical pass on the sampled columns.
        box_cols(narrow_a, narrow_b, SIDE, win_v, &mut self.sums[..SIDE]);

        for (out_row, &r) in self.a64.chunks_exact_mut(SIDE).zip(&row_idx) {
            out_row.copy_from_slice(&narrow_b[r * SIDE..(r + 1) * SIDE]);
        }
    }

    /// `dct64To16`: `T = D·A` then `B = T·Dᵀ`, every inner product a sequential float32 sum
    /// over k = 0..63 (the loops are reordered so that the independent sums run side by side,
    /// each still accumulating in the reference's order).
    fn dct(&mut self) {
        let a = &*self.a64;
        let d = &*self.dct;
        let t = &mut *self.t16x64;
        for (i, t_row) in t.chunks_exact_mut(SIDE).enumerate() {
            t_row.fill(0.0);
            let d_row = &d[i * SIDE..(i + 1) * SIDE];
            for (&dik, a_row) in d_row.iter().zip(a.chunks_exact(SIDE)) {
                for (t, &akj) in t_row.iter_mut().zip(a_row) {
                    *t += dik * akj;
                }
            }
        }
        let dt = &*self.dct_t;
        for (b_row, t_row) in self.b16.chunks_exact_mut(KEEP).zip(t.chunks_exact(SIDE)) {
            b_row.fill(0.0);
            for (&tik, dt_row) in t_row.iter().zip(dt.chunks_exact(KEEP)) {
                for (b, &djk) in b_row.iter_mut().zip(dt_row) {
                    *b += tik * djk;
                }
            }
        }
    }
}

/// `0.299 * v`, `0.587 * v` and `0.114 * v` in f32 for every byte `v`: the terms of
/// [`luma_of`], computed once.
fn luma_tables() -> &'static [[f32; 256]; 3] {
    static TABLES: OnceLock<[[f32; 256]; 3]> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = [[0f32; 256]; 3];
        for v in 0..=255u8 {
            let i = usize::from(v);
            t[0][i] = 0.299f32 * f32::from(v);
            t[1][i] = 0.587f32 * f32::from(v);
            t[2][i] = 0.114f32 * f32::from(v);
        }
        t
    })
}

/// The reference's float32 luma of one RGB pixel.
#[inline]
pub fn luma_of(r: u8, g: u8, b: u8) -> f32 {
    (0.299f32 * f32::from(r) + 0.587f32 * f32::from(g)) + 0.114f32 * f32::from(b)
}

/// Checks dimensions against a buffer; returns the pixel count.
fn check_size(len: usize, width: usize, height: usize, channels: usize) -> Result<usize, PdqError> {
    if width == 0 || height == 0 {
        return Err(PdqError::Empty { width, height });
    }
    let n = width.checked_mul(height);
    match n.and_then(|n| n.checked_mul(channels)) {
        Some(expected) if expected == len => Ok(width * height),
        _ => Err(PdqError::BufferSize {
            len,
            width,
            height,
            channels,
        }),
    }
}

/// Grows a scratch vector to at least `n` values (never shrinks it).
fn resize(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
}

/// The reference's Jarosz window for a side: `(old + 2·64 − 1) / (2·64)`, i.e. `ceil(old/128)`.
fn window(old: usize) -> usize {
    old.div_ceil(2 * SIDE)
}

/// The reference's decimation index: `(int)((i + 0.5) · old / 64)`, in double.
fn sample_index(i: usize, old: usize) -> usize {
    let x = ((i as f64 + 0.5) * old as f64 / SIDE as f64) as usize;
    x.min(old - 1)
}

/// The phases of the reference's running-sum box filter (`box1DFloat`) for window `w` over `n`
/// values: `(adds without output, growing outputs, steady outputs, shrinking outputs)`.
fn phases(n: usize, w: usize) -> (usize, usize, usize, usize) {
    let half = (w + 2) / 2;
    (half - 1, w - half + 1, n - w, half - 1)
}

/// The count the reference divides the running sum by at output `k` of a `box1DFloat` of
/// window `w` over `n` values.
fn count_at(k: usize, n: usize, w: usize) -> usize {
    let (p1, p2, p3, _) = phases(n, w);
    if k < p2 {
        p1 + k + 1
    } else if k < p2 + p3 {
        w
    } else {
        w - (k - p2 - p3 + 1)
    }
}

/// The first `L` rows of length `len` of `buf`.
#[inline(always)]
fn row_array<const L: usize>(buf: &[f32], len: usize) -> [&[f32]; L] {
    let mut rows = buf.chunks_exact(len);
    std::array::from_fn(|_| rows.next().unwrap_or_default())
}

/// The first `L` rows of length `len` of `buf`, mutable.
#[inline(always)]
fn row_array_mut<const L: usize>(buf: &mut [f32], len: usize) -> [&mut [f32]; L] {
    let mut rows = buf.chunks_exact_mut(len);
    std::array::from_fn(|_| rows.next().unwrap_or_default())
}

/// Scratch for the horizontal passes: a block of rows transposed (column-major), and its
/// output.
#[derive(Default)]
struct Tiles {
    input: Vec<f32>,
    output: Vec<f32>,
}

impl Tiles {
    fn resize(&mut self, cols: usize) {
        resize(&mut self.input, cols * LANES);
        resize(&mut self.output, cols * LANES);
    }
}

/// Horizontal box filter (window `w`) of `L` rows at once, every output kept.
///
/// The rows go through a transposed tile, so that the `L` running sums and their divisions
/// are one vector operation each; every lane sees exactly the sequence of float operations
/// the reference applies to its row.
#[inline(always)]
fn hbox_full<const L: usize>(
    ins: [&[f32]; L],
    mut outs: [&mut [f32]; L],
    w: usize,
    tiles: &mut Tiles,
) {
    let cols = ins[0].len();
    let tin = &mut tiles.input[..cols * L];
    let tout = &mut tiles.output[..cols * L];
    transpose_in::<L>(&ins, tin);
    box_lanes::<L, true>(tin, tout, cols, w);
    transpose_out::<L>(tout, &mut outs);
}

/// Horizontal box filter (window `w`) of `L` rows at once, keeping only the columns `idx`
/// (so only those are divided): `outs[l][j]` is column `idx[j]` of row `l`.
#[inline(always)]
fn hbox_sampled<const L: usize>(
    ins: [&[f32]; L],
    idx: &[usize; SIDE],
    outs: [&mut [f32]; L],
    w: usize,
    tiles: &mut Tiles,
) {
    let cols = ins[0].len();
    let tin = &mut tiles.input[..cols * L];
    let tout = &mut tiles.output[..cols * L];
    transpose_in::<L>(&ins, tin);
    box_lanes::<L, false>(tin, tout, cols, w);
    // tout holds the running sums: divide the sampled ones only.
    for (l, dst) in outs.into_iter().enumerate() {
        for (d, &c) in dst.iter_mut().zip(idx.iter()) {
            *d = tout[c * L + l] / count_at(c, cols, w) as f32;
        }
    }
}

/// `tin[k*L + l] = rows[l][k]`. (Plain strided loops: measured faster here than 8x8 blocks.)
#[inline(always)]
fn transpose_in<const L: usize>(rows: &[&[f32]; L], tin: &mut [f32]) {
    for l in 0..L {
        for (t, &x) in tin.chunks_exact_mut(L).zip(rows[l]) {
            t[l] = x;
        }
    }
}

/// `rows[l][k] = tout[k*L + l]`, the inverse of [`transpose_in`].
#[inline(always)]
fn transpose_out<const L: usize>(tout: &[f32], rows: &mut [&mut [f32]; L]) {
    for l in 0..L {
        for (o, t) in rows[l].iter_mut().zip(tout.chunks_exact(L)) {
            *o = t[l];
        }
    }
}

/// The reference's running-sum box filter of `L` interleaved vectors (`tin[k*L + l]` is value
/// `k` of vector `l`), into `tout` in the same layout: the means, or with `DIVIDE == false`
/// the running sums before division.
#[inline(always)]
fn box_lanes<const L: usize, const DIVIDE: bool>(
    tin: &[f32],
    tout: &mut [f32],
    n: usize,
    w: usize,
) {
    let (p1, p2, p3, p4) = phases(n, w);
    let at = |k: usize| -> &[f32; L] { tin[k * L..(k + 1) * L].try_into().unwrap_or(&[0.0; L]) };
    let mut sum = [0f32; L];
    let mut count = 0usize;
    let (mut ri, mut li) = (0usize, 0usize);
    let mut outs = tout.chunks_exact_mut(L);
    for _ in 0..p1 {
        let x = at(ri);
        for l in 0..L {
            sum[l] += x[l];
        }
        ri += 1;
        count += 1;
    }
    for _ in 0..p2 {
        count += 1;
        let c = if DIVIDE { count as f32 } else { 1.0 };
        let x = at(ri);
        let o = outs.next().unwrap_or_default();
        for l in 0..L {
            sum[l] += x[l];
        }
        for (o, s) in o.iter_mut().zip(sum) {
            *o = s / c;
        }
        ri += 1;
    }
    let c = if DIVIDE { count as f32 } else { 1.0 };
    for _ in 0..p3 {
        let (x, y) = (at(ri), at(li));
        let o = outs.next().unwrap_or_default();
        for l in 0..L {
            sum[l] += x[l];
            sum[l] -= y[l];
        }
        for (o, s) in o.iter_mut().zip(sum) {
            *o = s / c;
        }
        ri += 1;
        li += 1;
    }
    for _ in 0..p4 {
        count -= 1;
        let c = if DIVIDE { count as f32 } else { 1.0 };
        let y = at(li);
        let o = outs.next().unwrap_or_default();
        for l in 0..L {
            sum[l] -= y[l];
        }
        for (o, s) in o.iter_mut().zip(sum) {
            *o = s / c;
        }
        li += 1;
    }
}

/// Vertical box filter of every column of `input` (rows of `cols` values) into `out`: the
/// running sums of all columns advance together, one row at a time.
fn box_cols(input: &[f32], out: &mut [f32], cols: usize, w: usize, sum: &mut [f32]) {
    let rows = input.len() / cols;
    let (p1, p2, p3, p4) = phases(rows, w);
    let row = |r: usize| &input[r * cols..(r + 1) * cols];
    sum.fill(0.0);
    let mut count = 0usize;
    let (mut ri, mut li) = (0usize, 0usize);
    let mut out_rows = out.chunks_exact_mut(cols);
    for _ in 0..p1 {
        for (s, &x) in sum.iter_mut().zip(row(ri)) {
            *s += x;
        }
        ri += 1;
        count += 1;
    }
    for _ in 0..p2 {
        count += 1;
        let c = count as f32;
        let o = out_rows.next().unwrap_or_default();
        for ((s, &x), o) in sum.iter_mut().zip(row(ri)).zip(o) {
            *s += x;
            *o = *s / c;
        }
        ri += 1;
    }
    let c = count as f32;
    for _ in 0..p3 {
        let o = out_rows.next().unwrap_or_default();
        for (((s, &x), &y), o) in sum.iter_mut().zip(row(ri)).zip(row(li)).zip(o) {
            *s += x;
            *s -= y;
            *o = *s / c;
        }
        ri += 1;
        li += 1;
    }
    for _ in 0..p4 {
        count -= 1;
        let c = count as f32;
        let o = out_rows.next().unwrap_or_default();
        for ((s, &y), o) in sum.iter_mut().zip(row(li)).zip(o) {
            *s -= y;
            *o = *s / c;
        }
        li += 1;
    }
}

/// `pdqImageDomainQualityMetric`: each float32 gradient `((u − v)·100)/255` truncated toward
/// zero to an integer, absolute values summed, `/ 90`, capped at 100.
fn quality(a: &[f32; SIDE * SIDE]) -> u8 {
    let term = |u: f32, v: f32| i64::from((((u - v) * 100.0) / 255.0) as i32).unsigned_abs();
    let mut sum = 0u64;
    for i in 0..SIDE - 1 {
        for j in 0..SIDE {
            sum += term(a[i * SIDE + j], a[(i + 1) * SIDE + j]);
        }
    }
    for i in 0..SIDE {
        for j in 0..SIDE - 1 {
            sum += term(a[i * SIDE + j], a[i * SIDE + j + 1]);
        }
    }
    (sum / 90).min(100) as u8
}

/// Torben's selection-free median of the reference (`torben.cpp`): the lower median, i.e. the
/// value of rank `(n+1)/2`.
fn torben(m: &[f32]) -> f32 {
    let n = m.len();
    let Some(&first) = m.first() else {
        return 0.0;
    };
    let half = n.div_ceil(2);
    let (mut min, mut max) = (first, first);
    for &x in &m[1..] {
        if x < min {
            min = x;
        }
        if x > max {
            max = x;
        }
    }
    // Each round that does not stop drops at least one distinct value out of [min, max], so
    // finite inputs take at most n rounds; the bound only guards against NaN-laden input.
    let mut rounds = 0;
    let (guess, less, equal, max_lt, min_gt) = loop {
        let guess = (min + max) / 2.0;
        let (mut less, mut greater, mut equal) = (0usize, 0usize, 0usize);
        let (mut max_lt, mut min_gt) = (min, max);
        for &x in m {
            if x < guess {
                less += 1;
                if x > max_lt {
                    max_lt = x;
                }
            } else if x > guess {
                greater += 1;
                if x < min_gt {
                    min_gt = x;
                }
            } else {
                equal += 1;
            }
        }
        rounds += 1;
        if (less <= half && greater <= half) || rounds > 4 * n + 8 {
            break (guess, less, equal, max_lt, min_gt);
        }
        if less > greater {
            max = max_lt;
        } else {
            min = min_gt;
        }
    };
    if less >= half {
        max_lt
    } else if less + equal >= half {
        guess
    } else {
        min_gt
    }
}

/// `pdqBuffer16x16ToBits`: bit `i*16+j` iff `B[i][j] > median`.
fn bits_of(b: &[f32; KEEP * KEEP]) -> PdqHash {
    let median = torben(b);
    let mut h = PdqHash::ZERO;
    for (k, &x) in b.iter().enumerate() {
        if x > median {
            h.set_bit(k);
        }
    }
    h
}

/// Variant `v` (1..8, in [`PdqDihedral::NAMES`] order) of the 16x16 DCT block: a sign pattern
/// and, for the rotations by 90/270 and the diagonal flips, a transpose.
fn dihedral_variant(v: usize, a: &[f32; KEEP * KEEP], out: &mut [f32; KEEP * KEEP]) {
    for i in 0..KEEP {
        for j in 0..KEEP {
            let x = a[i * KEEP + j];
            let (i_odd, j_odd, ij_even) = (i & 1 == 1, j & 1 == 1, (i + j) & 1 == 0);
            let (keep, transpose) = match v {
                1 => (j_odd, true),
                2 => (ij_even, false),
                3 => (i_odd, true),
                4 => (i_odd, false),
                5 => (j_odd, false),
                6 => (true, true),
                7 => (ij_even, true),
                _ => (true, false),
            };
            let y = if keep { x } else { -x };
            if transpose {
                out[j * KEEP + i] = y;
            } else {
                out[i * KEEP + j] = y;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table lookup in `luma_from_rgb` gives `luma_of` bit for bit: every red and green,
    /// blue in steps of 15 and at every value once.
    #[test]
    fn luma_tables_equal_luma_of() {
        let mut h = PdqHasher::new();
        for b in (0..=255u8).step_by(15) {
            let rgb: Vec<u8> = (0..65536usize)
                .flat_map(|i| [(i >> 8) as u8, i as u8, b ^ (i as u8 & 0xF0)])
                .collect();
            let luma = h.luma_from_rgb(&rgb, 256, 256).unwrap().to_vec();
            for (px, l) in rgb.chunks_exact(3).zip(luma) {
                assert_eq!(l.to_bits(), luma_of(px[0], px[1], px[2]).to_bits());
            }
        }
    }

    #[test]
    fn window_sizes_match_the_reference() {
        for (old, w) in [
            (512, 4),
            (1004, 8),
            (1600, 13),
            (256, 2),
            (64, 1),
            (5, 1),
            (4032, 32),
        ] {
            assert_eq!(window(old), w, "{old}");
        }
    }

    #[test]
    fn phases_cover_every_value() {
        for n in 1..40 {
            for w in 1..=n {
                let (p1, p2, p3, p4) = phases(n, w);
                assert_eq!(p1 + p2 + p3, n);
                assert_eq!(p2 + p3 + p4, n);
            }
        }
    }

    #[test]
    fn torben_is_the_lower_median() {
        let v: Vec<f32> = (0..256).map(|i| ((i * 37) % 256) as f32 - 100.5).collect();
        let mut s = v.clone();
        s.sort_by(f32::total_cmp);
        assert_eq!(torben(&v), s[127]);
        assert_eq!(torben(&[1.0, 1.0, 1.0, 2.0]), 1.0);
        assert_eq!(torben(&[3.0, 1.0, 2.0]), 2.0);
        // No hang and no panic on NaN.
        let mut nan = v.clone();
        nan[3] = f32::NAN;
        nan[0] = f32::NAN;
        let _ = torben(&nan);
        let _ = torben(&[f32::INFINITY, f32::NEG_INFINITY, 0.0]);
    }

    #[test]
    fn hex_round_trip_and_distance() {
        let s = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
        let h = PdqHash::from_hex(s).unwrap();
        assert_eq!(h.to_hex(), s);
        assert_eq!(h.to_string(), s);
        assert_eq!(PdqHash::from_hex(&s.to_uppercase()), Ok(h));
        assert_eq!(h.distance(&h), 0);
        assert_eq!(h.distance(&PdqHash::ZERO), h.weight());
        assert!(PdqHash::from_hex(&s[1..]).is_err());
        assert!(PdqHash::from_hex(&format!("{}g", &s[1..])).is_err());
        assert!(PdqHash::from_hex("é").is_err());
        // Bit 0 is DCT row 0 column 0: the last hex digit's low bit. Bit 255: the first digit's
        // high bit.
        let mut b = PdqHash::ZERO;
        b.set_bit(0);
        assert!(b.to_hex().ends_with("01") && b.bit(0));
        let mut b = PdqHash::ZERO;
        b.set_bit(255);
        assert!(b.to_hex().starts_with("80") && b.bit(255) && !b.bit(256));
        let mut b = PdqHash::ZERO;
        b.set_bit(16 + 4); // row 1, column 4: word w[1], printed second to last
        assert_eq!(&b.to_hex()[56..], "00100000");
    }

    #[test]
    fn bad_sizes_are_errors_not_panics() {
        let mut h = PdqHasher::new();
        assert_eq!(
            h.hash_luma(&[], 0, 0),
            Err(PdqError::Empty {
                width: 0,
                height: 0
            })
        );
        assert!(h.hash_luma(&[0.0; 10], 0, 10).is_err());
        assert!(h.hash_luma(&[0.0; 10], 3, 4).is_err());
        assert!(h.hash_rgb(&[0; 10], 2, 2).is_err());
        assert!(h.hash_grey(&[0; 10], usize::MAX, 2).is_err());
        assert!(h.hash_rgb(&[0; 10], usize::MAX / 2, 2).is_err());
        assert_eq!(
            h.hash_luma_dihedral(&[0.0; 10], 5, 2).unwrap().hashes,
            [PdqHash::ZERO; 8]
        );
    }

    #[test]
    fn non_finite_luma_does_not_panic() {
        let mut h = PdqHasher::new();
        for bad in [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
        ] {
            let mut luma = vec![10.0f32; 70 * 90];
            luma[123] = bad;
            luma[4000] = -bad;
            let _ = h.hash_luma(&luma, 70, 90).unwrap();
            let _ = h.hash_luma_dihedral(&luma, 70, 90).unwrap();
            let mut luma = vec![bad; 64 * 64];
            luma[5] = 0.0;
            let _ = h.hash_luma(&luma, 64, 64).unwrap();
        }
    }

    /// Test pattern shared with the numpy model that produced the expectations below
    /// (`shared/pdq/model/pdq_model.py`): grey `(7x + 13y + (x·y mod 11)) mod 256`.
    fn pattern_grey(w: usize, h: usize) -> Vec<u8> {
        (0..h)
            .flat_map(|y| (0..w).map(move |x| ((x * 7 + y * 13 + (x * y) % 11) % 256) as u8))
            .collect()
    }

    /// RGB `(v, (3v + 17) mod 256, 255 − v)` of the grey pattern.
    fn pattern_rgb(w: usize, h: usize) -> Vec<u8> {
        pattern_grey(w, h)
            .into_iter()
            .flat_map(|v| [v, ((v as usize * 3 + 17) % 256) as u8, 255 - v])
            .collect()
    }

    #[test]
    fn small_and_odd_sizes_match_the_model() {
        // (kind, width, height, hash_* hex, quality, *_dihedral original hex, quality), from
        // the bit-exact numpy model. Sides under 64 upsample by point sampling; under 5 give
        // zeros; 64x64 takes the reference's no-blur shortcut in hash_* only.
        let cases = [
            (
                "grey",
                100,
                80,
                "a955d175691753b5bc1d6ab5ac1f22b57fe0894ae8e03a4a6d20d14a3fe1594a",
                100,
                "a955d175691753b5bc1d6ab5ac1f22b57fe0894ae8e03a4a6d20d14a3fe1594a",
                100,
            ),
            (
                "grey",
                34,
                20,
                "c747153db12d0567ec7003dfba5482f76f80283f1fe0520fdbf89c1375762540",
                100,
                "c747153db12d0567ec7003dfba5482f76f80283f1fe0520fdbf89c1375762540",
                100,
            ),
            (
                "grey",
                5,
                5,
                "94a5695a6b5a94a56cdb9e27248d61d89b26695a94a5685a6b5a96a56cd99e27",
                21,
                "94a5695a6b5a94a56cdb9e27248d61d89b26695a94a5685a6b5a96a56cd99e27",
                21,
            ),
            (
                "grey",
                4,
                100,
                "0000000000000000000000000000000000000000000000000000000000000000",
                0,
                "0000000000000000000000000000000000000000000000000000000000000000",
                0,
            ),
            (
                "grey",
                100,
                4,
                "0000000000000000000000000000000000000000000000000000000000000000",
                0,
                "0000000000000000000000000000000000000000000000000000000000000000",
                0,
            ),
            (
                "grey",
                63,
                200,
                "ee18b432df987c229198c37219983c33e950ffc2b9f857638ed883d2a1d2cdd2",
                100,
                "ee18b432df987c229198c37219983c33e950ffc2b9f857638ed883d2a1d2cdd2",
                100,
            ),
            (
                "grey",
                64,
                64,
                "296554fc416feed0e985eced2b05efed2087eead5fd85412f1988c427b984142",
                100,
                "296554fc416feed0e985eced2b05efed2087eead5fd85412f1988c427b984142",
                100,
            ),
            (
                "rgb",
                64,
                64,
                "89f57c440b7ee9d0bb8d4cc503072909230ffcad5bb87c42b1fa8c524bbae553",
                100,
                "89f57c440b7ee9d0bb8d4cc503072909230ffcad5bb87c42b1fa8c524bbae553",
                100,
            ),
            (
                "rgb",
                130,
                70,
                "7afb6882c08217d5c16b957d51d11169bad59f94f32e1a86ff384e91ca3a1287",
                100,
                "7afb6882c08217d5c16b957d51d11169bad59f94f32e1a86ff384e91ca3a1287",
                100,
            ),
            (
                "rgb",
                7,
                300,
                "ded1358a6d2992d2b2de92763a7430de1b24387c6ed1b18e3a906f816ad53cd8",
                100,
                "ded1358a6d2992d2b2de92763a7430de1b24387c6ed1b18e3a906f816ad53cd8",
                100,
            ),
            (
                "grey",
                1000,
                3,
                "0000000000000000000000000000000000000000000000000000000000000000",
                0,
                "0000000000000000000000000000000000000000000000000000000000000000",
                0,
            ),
        ];
        let mut h = PdqHasher::new();
        for (kind, w, ht, hex, q, dhex, dq) in cases {
            let (r, d) = if kind == "grey" {
                let px = pattern_grey(w, ht);
                (
                    h.hash_grey(&px, w, ht).unwrap(),
                    h.hash_grey_dihedral(&px, w, ht).unwrap(),
                )
            } else {
                let px = pattern_rgb(w, ht);
                (
                    h.hash_rgb(&px, w, ht).unwrap(),
                    h.hash_rgb_dihedral(&px, w, ht).unwrap(),
                )
            };
            assert_eq!(
                (r.hash.to_hex().as_str(), r.quality),
                (hex, q),
                "{kind} {w}x{ht}"
            );
            assert_eq!(
                (d.hashes[0].to_hex().as_str(), d.quality),
                (dhex, dq),
                "{kind} {w}x{ht}"
            );
        }
    }

    #[test]
    fn flat_images_have_quality_zero() {
        // The DCT of a flat image is rounding noise, and the reference thresholds that noise
        // all the same: the hashes below come from the bit-exact model. Quality is 0.
        let mut h = PdqHasher::new();
        for (v, orig, rot90) in [
            (
                0u8,
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0000000000000000000000000000000000000000000000000000000000000000",
            ),
            (
                128,
                "000000002c4b11342c4b2c4b0000554b00002c4b113411342c4b585e2c4b017e",
                "000000012c4a2c4b2c4e103500002c4e0000103010312c4a2d4f2c4a2d4f1035",
            ),
            (
                255,
                "00001134000011342c4b00002c4b1134000000002c4b2c4b00002c4b8200554b",
                "000200020a340a360a34510200020a360000510251000a340a350a340a355102",
            ),
        ] {
            let px = vec![v; 120 * 90];
            let d = h.hash_grey_dihedral(&px, 120, 90).unwrap();
            assert_eq!(d.quality, 0);
            assert_eq!(d.hashes[0].to_hex(), orig, "flat {v}");
            assert_eq!(d.hashes[1].to_hex(), rot90, "flat {v}");
            assert_eq!(h.hash_grey(&px, 120, 90).unwrap().quality, 0);
        }
    }

    #[test]
    fn dct_matrix_is_the_reference_table() {
        // sha256 of the 1024 float32 values (little-endian) of the model's table, which was
        // checked bit-exact against the reference's outputs.
        use sha2::Digest as _;
        let mut bytes = Vec::new();
        for x in dct_matrix() {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&bytes)),
            "db354678fc6c99b7d442c35d8e89b002b71cb35eff6ae436c5f36392277a83c8"
        );
    }

    /// The reference's downsampling written literally (full planes, one 1-D filter at a time,
    /// per row then per column), to check the streaming version against.
    fn literal_downsample(luma: &[f32], cols: usize, rows: usize) -> Vec<f32> {
        fn box1d(x: &[f32], w: usize) -> Vec<f32> {
            let n = x.len();
            let half = (w + 2) / 2;
            let mut out = vec![0f32; n];
            let (mut s, mut cnt, mut ri, mut li, mut oi) = (0f32, 0usize, 0, 0, 0);
            for _ in 0..half - 1 {
                s += x[ri];
                cnt += 1;
                ri += 1;
            }
            for _ in 0..w - half + 1 {
                s += x[ri];
                cnt += 1;
                out[oi] = s / cnt as f32;
                ri += 1;
                oi += 1;
            }
            for _ in 0..n - w {
                s += x[ri];
                s -= x[li];
                out[oi] = s / cnt as f32;
                ri += 1;
                li += 1;
                oi += 1;
            }
            for _ in 0..half - 1 {
                s -= x[li];
                cnt -= 1;
                out[oi] = s / cnt as f32;
                li += 1;
                oi += 1;
            }
            out
        }
        let (wh, wv) = (window(cols), window(rows));
        let mut a = luma.to_vec();
        for _ in 0..2 {
            for r in 0..rows {
                let row = box1d(&a[r * cols..(r + 1) * cols], wh);
                a[r * cols..(r + 1) * cols].copy_from_slice(&row);
            }
            for c in 0..cols {
                let col: Vec<f32> = (0..rows).map(|r| a[r * cols + c]).collect();
                for (r, v) in box1d(&col, wv).into_iter().enumerate() {
                    a[r * cols + c] = v;
                }
            }
        }
        let mut out = Vec::with_capacity(SIDE * SIDE);
        for i in 0..SIDE {
            for j in 0..SIDE {
                out.push(a[sample_index(i, rows) * cols + sample_index(j, cols)]);
            }
        }
        out
    }

    #[test]
    fn streaming_blur_equals_the_literal_one() {
        let mut h = PdqHasher::new();
        let mut state = 12345u32;
        for (w, ht) in [
            (5, 5),
            (6, 200),
            (200, 6),
            (1300, 9),
            (9, 1300),
            (257, 129),
            (129, 257),
            (64, 64),
            (63, 65),
            (777, 555),
            (8, 8),
            (17, 23),
            (2000, 40),
        ] {
            let luma: Vec<f32> = (0..w * ht)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    (state >> 8) as f32 / 65793.0 // 0..255, not integers
                })
                .collect();
            h.downsample(&luma, w, ht);
            let want = literal_downsample(&luma, w, ht);
            let got: Vec<u32> = h.a64.iter().map(|x| x.to_bits()).collect();
            let want: Vec<u32> = want.iter().map(|x| x.to_bits()).collect();
            assert!(got == want, "{w}x{ht}");
        }
    }
}
