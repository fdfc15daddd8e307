//! The PDQ hasher: its scratch space and tables, and the pipeline in the reference's order
//! (downsample, quality, DCT, threshold) on a float luma plane whose size is already checked.

use std::fmt;

use super::blur::Blur;
use super::{bits_of, quality, PdqHash, PdqResult, KEEP, MIN_HASHABLE_DIM, SIDE};

/// Reusable scratch space and tables for PDQ hashing: keep one per thread.
///
/// After the first image of a given size, no method allocates.
pub struct PdqHasher {
    /// Luma made from RGB or grey input.
    pub(super) luma: Vec<f32>,
    /// The downsampling's scratch.
    pub(super) blur: Blur,
    /// The decimated 64x64 image, row-major.
    pub(super) a64: Box<[f32; SIDE * SIDE]>,
    /// `D · A`, 16x64.
    pub(super) t16x64: Box<[f32; KEEP * SIDE]>,
    /// The 16x16 DCT block and one variant of it.
    pub(super) b16: [f32; KEEP * KEEP],
    pub(super) aux16: [f32; KEEP * KEEP],
    /// The 16x64 DCT matrix, row-major, and its transpose (64x16).
    pub(super) dct: Box<[f32; KEEP * SIDE]>,
    pub(super) dct_t: Box<[f32; SIDE * KEEP]>,
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
            blur: Blur::default(),
            a64: Box::new([0f32; SIDE * SIDE]),
            t16x64: Box::new([0f32; KEEP * SIDE]),
            b16: [0f32; KEEP * KEEP],
            aux16: [0f32; KEEP * KEEP],
            dct,
            dct_t,
        }
    }

    /// `pdqHash256FromFloatLuma`: sizes already checked.
    pub(super) fn hash_checked(&mut self, luma: &[f32], width: usize, height: usize) -> PdqResult {
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
            self.blur.downsample(luma, width, height, &mut self.a64);
        }
        let quality = quality(&self.a64);
        self.dct();
        PdqResult {
            hash: bits_of(&self.b16),
            quality,
        }
    }

    /// `dct64To16`: `T = D·A` then `B = T·Dᵀ`, every inner product a sequential float32 sum
    /// over k = 0..63 (the loops are reordered so that the independent sums run side by side,
    /// each still accumulating in the reference's order).
    pub(super) fn dct(&mut self) {
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

#[cfg(test)]
mod tests {
    use super::super::blur::{sample_index, window};
    use super::*;

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
        let mut rng = crate::testing::XorShift(12345);
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
                .map(|_| (rng.next() >> 40) as f32 / 65793.0) // 0..255, not integers
                .collect();
            h.blur.downsample(&luma, w, ht, &mut h.a64);
            let want = literal_downsample(&luma, w, ht);
            let got: Vec<u32> = h.a64.iter().map(|x| x.to_bits()).collect();
            let want: Vec<u32> = want.iter().map(|x| x.to_bits()).collect();
            assert!(got == want, "{w}x{ht}");
        }
    }
}
