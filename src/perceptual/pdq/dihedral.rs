//! What PDQ does after the DCT: the quality score of the 64x64 image, the Torben median
//! threshold that turns the 16x16 block into bits, and the 7 dihedral variants (rotations and
//! flips) read off the same block by sign patterns and transposes.

use super::{PdqHash, PdqHasher, PdqResult, KEEP, MIN_HASHABLE_DIM, SIDE};

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

impl PdqHasher {
    /// `pdqDihedralHash256esFromFloatLuma`: sizes already checked.
    pub(super) fn dihedral_checked(
        &mut self,
        luma: &[f32],
        width: usize,
        height: usize,
    ) -> PdqDihedral {
        if width < MIN_HASHABLE_DIM || height < MIN_HASHABLE_DIM {
            return PdqDihedral {
                hashes: [PdqHash::ZERO; 8],
                quality: 0,
            };
        }
        self.blur.downsample(luma, width, height, &mut self.a64);
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
}

/// `pdqImageDomainQualityMetric`: each float32 gradient `((u − v)·100)/255` truncated toward
/// zero to an integer, absolute values summed, `/ 90`, capped at 100.
pub(super) fn quality(a: &[f32; SIDE * SIDE]) -> u8 {
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
pub(super) fn bits_of(b: &[f32; KEEP * KEEP]) -> PdqHash {
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
}
