//! PDQ, bit for bit as Meta's reference C++ core (ThreatExchange `pdq/cpp/hashing`) computes it.
//!
//! The input is a decoded pixel buffer, a [`PixelBuffer`]: 8-bit RGB, 8-bit grey, or float32 luma,
//! row-major, with no padding. Decoding, EXIF orientation and any pre-resize (the reference CLI resizes images
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
//! 64x64 input skips the blur in [`PdqHasher::hash`] (the reference's shortcut for
//! pre-scaled video frames) but not in [`PdqHasher::hash_dihedral`], which, like the
//! reference's dihedral entry point, always filters.
//!
//! [`PdqHasher`] keeps its scratch buffers between images: after the first image of a given
//! size, hashing allocates nothing.
//!
//! Where to look: this file holds the hash type and its text form; `input.rs` the entry points
//! (pixels to luma, step 1); `hasher.rs` the hasher's state and the pipeline's order, with the
//! DCT (step 5); `blur.rs` the downsampling (steps 2 and 3); `dihedral.rs` the quality, the
//! median threshold and the dihedral variants (steps 4 and 6).

use std::fmt;
use std::str::FromStr;

mod blur;
mod dihedral;
mod hasher;
mod input;

pub use super::buffer::{PixelBuffer, PixelError};
pub use dihedral::PdqDihedral;
use dihedral::{bits_of, quality};
pub use hasher::{dct_matrix, PdqHasher};
pub use input::luma_of;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
