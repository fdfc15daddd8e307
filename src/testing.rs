//! Helpers for the crate's unit tests (compiled only for them): [`XorShift`], the one
//! deterministic generator the randomized tests draw from, so they need no extra crate and
//! give the same values on every run.

/// xorshift64 (shifts 13, 7, 17): from a nonzero seed, the same words on every run.
pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    /// The next word.
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `n` (0 when `n` is 0), for picking a position or a choice.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
