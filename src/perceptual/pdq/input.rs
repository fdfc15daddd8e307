//! The pixel-buffer entry points of [`PdqHasher`]: a [`PixelBuffer`] of any layout becomes the
//! reference's float32 luma (step 1 of the pipeline), then the hash or the 8 dihedral hashes.

use std::sync::OnceLock;

use super::super::buffer::PixelData;
use super::{PdqDihedral, PdqHasher, PdqResult, PixelBuffer};

impl PdqHasher {
    /// The PDQ hash and quality of `px`.
    pub fn hash(&mut self, px: PixelBuffer<'_>) -> PdqResult {
        self.on_luma(px, Self::hash_checked)
    }

    /// The 8 dihedral hashes of `px` (see [`PdqDihedral`]).
    pub fn hash_dihedral(&mut self, px: PixelBuffer<'_>) -> PdqDihedral {
        self.on_luma(px, Self::dihedral_checked)
    }

    /// The float32 luma PDQ hashes for `px`: RGB through the reference's
    /// `(0.299·R + 0.587·G) + 0.114·B`, grey as is (as the reference does for greyscale
    /// sources), luma copied. Kept in the hasher's buffer, overwritten by the next image.
    pub fn luma(&mut self, px: PixelBuffer<'_>) -> &[f32] {
        self.fill_luma(px.data());
        &self.luma
    }

    /// Runs `f` on the luma of `px`: a luma buffer as given, anything else converted into the
    /// hasher's own buffer, taken out of `self` for the call since `f` borrows the rest of the
    /// hasher's scratch.
    fn on_luma<R>(
        &mut self,
        px: PixelBuffer<'_>,
        f: impl FnOnce(&mut Self, &[f32], usize, usize) -> R,
    ) -> R {
        let (width, height) = (px.width(), px.height());
        if let PixelData::Luma(luma) = px.data() {
            return f(self, luma, width, height);
        }
        self.fill_luma(px.data());
        let luma = std::mem::take(&mut self.luma);
        let r = f(self, &luma, width, height);
        self.luma = luma;
        r
    }

    /// Fills `self.luma` with the luma of `data`.
    fn fill_luma(&mut self, data: PixelData<'_>) {
        self.luma.clear();
        match data {
            PixelData::Rgb(rgb) => {
                // The three products of `luma_of` from tables of the same f32 values, summed in
                // the same order: the same luma, bit for bit, for a third of the arithmetic.
                let [tr, tg, tb] = luma_tables();
                self.luma.extend(rgb.chunks_exact(3).map(|p| {
                    (tr[usize::from(p[0])] + tg[usize::from(p[1])]) + tb[usize::from(p[2])]
                }));
            }
            PixelData::Grey(grey) => self.luma.extend(grey.iter().map(|&g| f32::from(g))),
            PixelData::Luma(luma) => self.luma.extend_from_slice(luma),
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

#[cfg(test)]
mod tests {
    use super::super::{PdqHash, PixelError};
    use super::*;

    /// The table lookup in `luma` for RGB gives `luma_of` bit for bit: every red and green,
    /// blue in steps of 15 and at every value once.
    #[test]
    fn luma_tables_equal_luma_of() {
        let mut h = PdqHasher::new();
        for b in (0..=255u8).step_by(15) {
            let rgb: Vec<u8> = (0..65536usize)
                .flat_map(|i| [(i >> 8) as u8, i as u8, b ^ (i as u8 & 0xF0)])
                .collect();
            let luma = h.luma(PixelBuffer::rgb(&rgb, 256, 256).unwrap()).to_vec();
            for (px, l) in rgb.chunks_exact(3).zip(luma) {
                assert_eq!(l.to_bits(), luma_of(px[0], px[1], px[2]).to_bits());
            }
        }
    }

    #[test]
    fn bad_sizes_are_errors_not_panics() {
        let mut h = PdqHasher::new();
        assert_eq!(
            PixelBuffer::luma(&[], 0, 0).map(|px| h.hash(px)),
            Err(PixelError::Empty {
                width: 0,
                height: 0
            })
        );
        assert!(PixelBuffer::luma(&[0.0; 10], 0, 10).is_err());
        assert!(PixelBuffer::luma(&[0.0; 10], 3, 4).is_err());
        assert!(PixelBuffer::rgb(&[0; 10], 2, 2).is_err());
        assert!(PixelBuffer::grey(&[0; 10], usize::MAX, 2).is_err());
        assert!(PixelBuffer::rgb(&[0; 10], usize::MAX / 2, 2).is_err());
        assert_eq!(
            h.hash_dihedral(PixelBuffer::luma(&[0.0; 10], 5, 2).unwrap())
                .hashes,
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
            let _ = h.hash(PixelBuffer::luma(&luma, 70, 90).unwrap());
            let _ = h.hash_dihedral(PixelBuffer::luma(&luma, 70, 90).unwrap());
            let mut luma = vec![bad; 64 * 64];
            luma[5] = 0.0;
            let _ = h.hash(PixelBuffer::luma(&luma, 64, 64).unwrap());
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
                    h.hash(PixelBuffer::grey(&px, w, ht).unwrap()),
                    h.hash_dihedral(PixelBuffer::grey(&px, w, ht).unwrap()),
                )
            } else {
                let px = pattern_rgb(w, ht);
                (
                    h.hash(PixelBuffer::rgb(&px, w, ht).unwrap()),
                    h.hash_dihedral(PixelBuffer::rgb(&px, w, ht).unwrap()),
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
            let d = h.hash_dihedral(PixelBuffer::grey(&px, 120, 90).unwrap());
            assert_eq!(d.quality, 0);
            assert_eq!(d.hashes[0].to_hex(), orig, "flat {v}");
            assert_eq!(d.hashes[1].to_hex(), rot90, "flat {v}");
            assert_eq!(h.hash(PixelBuffer::grey(&px, 120, 90).unwrap()).quality, 0);
        }
    }
}
