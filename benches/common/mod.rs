//! What the criterion benches share (included by `mod common;`): [`XorShift`], their one
//! deterministic generator, so every run measures the same data.
#![allow(dead_code)]

/// xorshift64 (shifts 13, 7, 17): from a nonzero seed, the same words on every run.
pub struct XorShift(pub u64);

impl XorShift {
    /// The next word.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// 32 bytes: four words, little-endian (a made-up SHA-256 or PDQ hash).
    pub fn bytes32(&mut self) -> [u8; 32] {
        let mut b = [0u8; 32];
        for c in b.chunks_mut(8) {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        b
    }
}
