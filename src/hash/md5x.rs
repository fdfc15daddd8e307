//! Multi-buffer MD5: the MD5 steps of [`LANES`] independent messages run side by side.
//!
//! MD5 is one serial dependency chain per message, so a single message cannot go faster than
//! the latency of that chain. Many independent items can: each MD5 state word is kept as
//! SIMD values of [`wide`] (safe SIMD types), one lane per message, and every step runs on
//! all lanes at once (`paddd`, `pxor`, `pand`/`pandn`, `pslld`/`psrld` by immediates on the
//! baseline SSE2 target). This is
//! the "mb" technique of Intel's isa-l_crypto, in safe Rust.
//!
//! Each block's words are loaded 16 bytes per lane and transposed 4×4 in registers. [`md5_many`]
//! schedules the messages longest first and refills a lane with the next message
//! as soon as its message ends, so the lanes stay busy until the last few long messages.

/// Messages hashed side by side: two SSE2 registers of 4 lanes ([`wide::u32x4`]) per MD5 word,
/// so every step has two independent chains to hide its latency. Measured against 4 (one
/// register) and 16 (four registers, which spills on SSE2's 16 registers) and against one
/// `u32x8`: 8 lanes of `u32x4` were fastest on the baseline x86_64 target.
pub const LANES: usize = 8;

const IV: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// The 64 additive constants `floor(abs(sin(i + 1)) * 2^32)`.
const K: [u32; 64] = [
    0xd76a_a478,
    0xe8c7_b756,
    0x2420_70db,
    0xc1bd_ceee,
    0xf57c_0faf,
    0x4787_c62a,
    0xa830_4613,
    0xfd46_9501,
    0x6980_98d8,
    0x8b44_f7af,
    0xffff_5bb1,
    0x895c_d7be,
    0x6b90_1122,
    0xfd98_7193,
    0xa679_438e,
    0x49b4_0821,
    0xf61e_2562,
    0xc040_b340,
    0x265e_5a51,
    0xe9b6_c7aa,
    0xd62f_105d,
    0x0244_1453,
    0xd8a1_e681,
    0xe7d3_fbc8,
    0x21e1_cde6,
    0xc337_07d6,
    0xf4d5_0d87,
    0x455a_14ed,
    0xa9e3_e905,
    0xfcef_a3f8,
    0x676f_02d9,
    0x8d2a_4c8a,
    0xfffa_3942,
    0x8771_f681,
    0x6d9d_6122,
    0xfde5_380c,
    0xa4be_ea44,
    0x4bde_cfa9,
    0xf6bb_4b60,
    0xbebf_bc70,
    0x289b_7ec6,
    0xeaa1_27fa,
    0xd4ef_3085,
    0x0488_1d05,
    0xd9d4_d039,
    0xe6db_99e5,
    0x1fa2_7cf8,
    0xc4ac_5665,
    0xf429_2244,
    0x432a_ff97,
    0xab94_23a7,
    0xfc93_a039,
    0x655b_59c3,
    0x8f0c_cc92,
    0xffef_f47d,
    0x8584_5dd1,
    0x6fa8_7e4f,
    0xfe2c_e6e0,
    0xa301_4314,
    0x4e08_11a1,
    0xf753_7e82,
    0xbd3a_f235,
    0x2ad7_d2bb,
    0xeb86_d391,
];

/// A SIMD vector of `u32` lanes (or a plain `u32`) with the operations MD5 needs.
pub trait Word: Copy {
    /// Lanes in one value.
    const LANES: usize;
    /// Every lane `x`.
    fn splat(x: u32) -> Self;
    /// Lanes from `x[..LANES]`.
    fn load(x: &[u32]) -> Self;
    /// Lanes into `out[..LANES]`.
    fn store(self, out: &mut [u32]);
    /// Lane-wise wrapping addition.
    fn add(self, o: Self) -> Self;
    /// Lane-wise `self & o`.
    fn and(self, o: Self) -> Self;
    /// Lane-wise `self | o`.
    fn or(self, o: Self) -> Self;
    /// Lane-wise `self ^ o`.
    fn xor(self, o: Self) -> Self;
    /// Lane-wise rotation left by `S` bits.
    fn rotl<const S: i32>(self) -> Self;
    /// The 16 little-endian words of one 64-byte block per lane, `blocks[lane]`, as
    /// `m[word]`.
    fn gather(blocks: &[&[u8]], m: &mut [Self; 16]) {
        let mut col = [[0u32; 16]; 16];
        for (l, block) in blocks.iter().enumerate() {
            for (w, word) in block[..64].chunks_exact(4).enumerate() {
                col[w][l] = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
            }
        }
        for w in 0..16 {
            m[w] = Self::load(&col[w]);
        }
    }
}

impl Word for u32 {
    const LANES: usize = 1;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        x
    }
    #[inline(always)]
    fn load(x: &[u32]) -> Self {
        x[0]
    }
    #[inline(always)]
    fn store(self, out: &mut [u32]) {
        out[0] = self;
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        self & o
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        self | o
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        self ^ o
    }
    #[inline(always)]
    fn rotl<const S: i32>(self) -> Self {
        self.rotate_left(S as u32)
    }
    #[inline(always)]
    fn gather(blocks: &[&[u8]], m: &mut [Self; 16]) {
        for (w, word) in blocks[0][..64].chunks_exact(4).enumerate() {
            m[w] = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        }
    }
}

macro_rules! wide_word {
    ($t:ty, $n:literal, $gather:ident) => {
        impl Word for $t {
            const LANES: usize = $n;
            #[inline(always)]
            fn splat(x: u32) -> Self {
                <$t>::splat(x)
            }
            #[inline(always)]
            fn load(x: &[u32]) -> Self {
                let mut a = [0u32; $n];
                a.copy_from_slice(&x[..$n]);
                <$t>::from(a)
            }
            #[inline(always)]
            fn store(self, out: &mut [u32]) {
                out[..$n].copy_from_slice(&self.to_array());
            }
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                self + o
            }
            #[inline(always)]
            fn and(self, o: Self) -> Self {
                self & o
            }
            #[inline(always)]
            fn or(self, o: Self) -> Self {
                self | o
            }
            #[inline(always)]
            fn xor(self, o: Self) -> Self {
                self ^ o
            }
            #[inline(always)]
            fn rotl<const S: i32>(self) -> Self {
                (self << S) | (self >> (32 - S))
            }
            #[inline(always)]
            fn gather(blocks: &[&[u8]], m: &mut [Self; 16]) {
                $gather(blocks, m)
            }
        }
    };
}
wide_word!(wide::u32x4, 4, gather4);
wide_word!(wide::u32x8, 8, gather8);

/// Four bytes of `b` at `at`, little-endian.
#[inline(always)]
fn le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Words `4c..4c + 4` of 4 lanes' blocks: one 16-byte load per lane and a 4×4 transpose.
#[inline(always)]
fn gather4_chunk(blocks: &[&[u8]], c: usize) -> [wide::u32x4; 4] {
    let row = |l: usize| {
        let b = &blocks[l][16 * c..16 * c + 16];
        wide::u32x4::from([le(b, 0), le(b, 4), le(b, 8), le(b, 12)])
    };
    wide::u32x4::transpose([row(0), row(1), row(2), row(3)])
}

#[inline(always)]
fn gather4(blocks: &[&[u8]], m: &mut [wide::u32x4; 16]) {
    for c in 0..4 {
        m[4 * c..4 * c + 4].copy_from_slice(&gather4_chunk(blocks, c));
    }
}

#[inline(always)]
fn gather8(blocks: &[&[u8]], m: &mut [wide::u32x8; 16]) {
    for c in 0..4 {
        let lo = gather4_chunk(blocks, c);
        let hi = gather4_chunk(&blocks[4..], c);
        for j in 0..4 {
            let (lo, hi) = (lo[j].to_array(), hi[j].to_array());
            m[4 * c + j] =
                wide::u32x8::from([lo[0], lo[1], lo[2], lo[3], hi[0], hi[1], hi[2], hi[3]]);
        }
    }
}

/// One MD5 step on every lane: `a = b + rotl(a + f(b, c, d) + m + k, s)`.
#[inline(always)]
fn step<W: Word, const S: i32, const N: usize>(
    a: [W; N],
    b: [W; N],
    c: [W; N],
    d: [W; N],
    m: &[W; N],
    k: u32,
    f: impl Fn(W, W, W) -> W,
) -> [W; N] {
    let k = W::splat(k);
    let mut r = a;
    for n in 0..N {
        let t = a[n].add(f(b[n], c[n], d[n])).add(m[n].add(k));
        r[n] = b[n].add(t.rotl::<S>());
    }
    r
}

#[inline(always)]
fn f_f<W: Word>(b: W, c: W, d: W) -> W {
    c.xor(d).and(b).xor(d)
}
#[inline(always)]
fn f_g<W: Word>(b: W, c: W, d: W) -> W {
    b.xor(c).and(d).xor(c)
}
#[inline(always)]
fn f_h<W: Word>(b: W, c: W, d: W) -> W {
    b.xor(c).xor(d)
}
#[inline(always)]
fn f_i<W: Word>(b: W, c: W, d: W) -> W {
    c.xor(b.or(d.xor(W::splat(!0))))
}

/// One 64-byte block of every lane; `m[w][lane]` is little-endian word `w` of that lane's block.
#[inline(never)]
fn compress<W: Word, const N: usize>(state: &mut [[W; N]; 4], m: &[[W; N]; 16]) {
    let [mut a, mut b, mut c, mut d] = *state;
    // Fully unrolled: message word, constant and rotation are literals in every step.
    macro_rules! st {
        ($a:ident, $b:ident, $c:ident, $d:ident, $f:ident, $i:literal, $w:literal, $s:literal) => {
            $a = step::<W, $s, N>($a, $b, $c, $d, &m[$w], K[$i], $f);
        };
    }
    st!(a, b, c, d, f_f, 0, 0, 7);
    st!(d, a, b, c, f_f, 1, 1, 12);
    st!(c, d, a, b, f_f, 2, 2, 17);
    st!(b, c, d, a, f_f, 3, 3, 22);
    st!(a, b, c, d, f_f, 4, 4, 7);
    st!(d, a, b, c, f_f, 5, 5, 12);
    st!(c, d, a, b, f_f, 6, 6, 17);
    st!(b, c, d, a, f_f, 7, 7, 22);
    st!(a, b, c, d, f_f, 8, 8, 7);
    st!(d, a, b, c, f_f, 9, 9, 12);
    st!(c, d, a, b, f_f, 10, 10, 17);
    st!(b, c, d, a, f_f, 11, 11, 22);
    st!(a, b, c, d, f_f, 12, 12, 7);
    st!(d, a, b, c, f_f, 13, 13, 12);
    st!(c, d, a, b, f_f, 14, 14, 17);
    st!(b, c, d, a, f_f, 15, 15, 22);
    st!(a, b, c, d, f_g, 16, 1, 5);
    st!(d, a, b, c, f_g, 17, 6, 9);
    st!(c, d, a, b, f_g, 18, 11, 14);
    st!(b, c, d, a, f_g, 19, 0, 20);
    st!(a, b, c, d, f_g, 20, 5, 5);
    st!(d, a, b, c, f_g, 21, 10, 9);
    st!(c, d, a, b, f_g, 22, 15, 14);
    st!(b, c, d, a, f_g, 23, 4, 20);
    st!(a, b, c, d, f_g, 24, 9, 5);
    st!(d, a, b, c, f_g, 25, 14, 9);
    st!(c, d, a, b, f_g, 26, 3, 14);
    st!(b, c, d, a, f_g, 27, 8, 20);
    st!(a, b, c, d, f_g, 28, 13, 5);
    st!(d, a, b, c, f_g, 29, 2, 9);
    st!(c, d, a, b, f_g, 30, 7, 14);
    st!(b, c, d, a, f_g, 31, 12, 20);
    st!(a, b, c, d, f_h, 32, 5, 4);
    st!(d, a, b, c, f_h, 33, 8, 11);
    st!(c, d, a, b, f_h, 34, 11, 16);
    st!(b, c, d, a, f_h, 35, 14, 23);
    st!(a, b, c, d, f_h, 36, 1, 4);
    st!(d, a, b, c, f_h, 37, 4, 11);
    st!(c, d, a, b, f_h, 38, 7, 16);
    st!(b, c, d, a, f_h, 39, 10, 23);
    st!(a, b, c, d, f_h, 40, 13, 4);
    st!(d, a, b, c, f_h, 41, 0, 11);
    st!(c, d, a, b, f_h, 42, 3, 16);
    st!(b, c, d, a, f_h, 43, 6, 23);
    st!(a, b, c, d, f_h, 44, 9, 4);
    st!(d, a, b, c, f_h, 45, 12, 11);
    st!(c, d, a, b, f_h, 46, 15, 16);
    st!(b, c, d, a, f_h, 47, 2, 23);
    st!(a, b, c, d, f_i, 48, 0, 6);
    st!(d, a, b, c, f_i, 49, 7, 10);
    st!(c, d, a, b, f_i, 50, 14, 15);
    st!(b, c, d, a, f_i, 51, 5, 21);
    st!(a, b, c, d, f_i, 52, 12, 6);
    st!(d, a, b, c, f_i, 53, 3, 10);
    st!(c, d, a, b, f_i, 54, 10, 15);
    st!(b, c, d, a, f_i, 55, 1, 21);
    st!(a, b, c, d, f_i, 56, 8, 6);
    st!(d, a, b, c, f_i, 57, 15, 10);
    st!(c, d, a, b, f_i, 58, 6, 15);
    st!(b, c, d, a, f_i, 59, 13, 21);
    st!(a, b, c, d, f_i, 60, 4, 6);
    st!(d, a, b, c, f_i, 61, 11, 10);
    st!(c, d, a, b, f_i, 62, 2, 15);
    st!(b, c, d, a, f_i, 63, 9, 21);
    for (s, x) in state.iter_mut().zip([a, b, c, d]) {
        for n in 0..N {
            s[n] = s[n].add(x[n]);
        }
    }
}

/// Where a lane reads its next block from.
#[derive(Clone, Copy)]
struct Lane {
    /// Index of the message in the caller's slice, `usize::MAX` for an idle lane.
    msg: usize,
    /// Byte offset of the next block in the message while `pos < full`.
    pos: usize,
    /// Length of the message rounded down to whole blocks.
    full: usize,
    /// Tail blocks (the last partial block and the padding) left: 0, 1 or 2.
    tail_left: usize,
    /// Tail blocks in all: 1 or 2.
    tail_blocks: usize,
}

const IDLE: Lane = Lane {
    msg: usize::MAX,
    pos: 0,
    full: 0,
    tail_left: 1,
    tail_blocks: 1,
};

/// The last partial block of `msg` followed by MD5's padding: 0x80, zeros, and the length in
/// bits as a 64-bit little-endian number. Returns the number of 64-byte blocks written (1 or 2).
fn pad_tail(msg: &[u8], tail: &mut [u8; 128]) -> usize {
    let rest = &msg[msg.len() / 64 * 64..];
    let blocks = if rest.len() < 56 { 1 } else { 2 };
    tail.fill(0);
    tail[..rest.len()].copy_from_slice(rest);
    tail[rest.len()] = 0x80;
    let bits = (msg.len() as u64).wrapping_mul(8);
    tail[blocks * 64 - 8..blocks * 64].copy_from_slice(&bits.to_le_bytes());
    blocks
}

/// MD5 digests of `messages`, in input order, computed [`LANES`] messages at a time.
///
/// Any number of messages of any lengths (including empty ones). The result equals hashing
/// each message alone with MD5.
pub fn md5_many(messages: &[&[u8]]) -> Vec<[u8; 16]> {
    md5_many_with::<wide::u32x4, 2, LANES>(messages)
}

/// [`md5_many`] with `L = N * W::LANES` lanes kept in `N` values of `W`; public so that
/// benchmarks can compare lane layouts.
#[doc(hidden)]
pub fn md5_many_with<W: Word, const N: usize, const L: usize>(messages: &[&[u8]]) -> Vec<[u8; 16]> {
    assert_eq!(N * W::LANES, L, "lanes");
    let mut out = vec![[0u8; 16]; messages.len()];
    // Longest first: the short messages fill the lanes while the long ones finish.
    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(messages[i].len()));
    let mut next = order.into_iter();

    let mut lanes = [IDLE; L];
    let mut tails = [[0u8; 128]; L];
    let mut words = [[0u32; L]; 4];
    let mut active = 0;

    // Puts the next message (or nothing) in lane `l`, with MD5's initial state.
    let mut load = |l: usize,
                    lanes: &mut [Lane; L],
                    tails: &mut [[u8; 128]; L],
                    words: &mut [[u32; L]; 4]|
     -> bool {
        for (w, iv) in IV.iter().enumerate() {
            words[w][l] = *iv;
        }
        match next.next() {
            Some(i) => {
                let msg = messages[i];
                let tail_blocks = pad_tail(msg, &mut tails[l]);
                lanes[l] = Lane {
                    msg: i,
                    pos: 0,
                    full: msg.len() / 64 * 64,
                    tail_left: tail_blocks,
                    tail_blocks,
                };
                true
            }
            None => {
                lanes[l] = IDLE;
                tails[l] = [0; 128];
                false
            }
        }
    };
    for l in 0..L {
        if load(l, &mut lanes, &mut tails, &mut words) {
            active += 1;
        }
    }
    let mut state = to_state::<W, N, L>(&words);

    let zero = [0u8; 64];
    let mut m = [[W::splat(0); N]; 16];
    let mut g = [W::splat(0); 16];
    while active > 0 {
        // Blocks every active lane can take straight from its message before any lane reaches
        // its tail: the hot loop below reads them without per-block bookkeeping.
        let run = lanes
            .iter()
            .filter(|lane| lane.msg != usize::MAX)
            .map(|lane| (lane.full - lane.pos) / 64)
            .min()
            .unwrap_or(0);
        if run > 0 {
            for _ in 0..run {
                let mut blocks: [&[u8]; L] = [&zero; L];
                for l in 0..L {
                    let lane = &mut lanes[l];
                    if lane.msg != usize::MAX {
                        blocks[l] = &messages[lane.msg][lane.pos..lane.pos + 64];
                        lane.pos += 64;
                    }
                }
                for n in 0..N {
                    W::gather(&blocks[n * W::LANES..], &mut g);
                    for w in 0..16 {
                        m[w][n] = g[w];
                    }
                }
                compress(&mut state, &m);
            }
            continue;
        }
        // At least one lane is in its tail: one block with per-lane choices.
        let mut blocks: [&[u8]; L] = [&zero; L];
        for l in 0..L {
            let lane = &mut lanes[l];
            if lane.pos < lane.full {
                blocks[l] = &messages[lane.msg][lane.pos..lane.pos + 64];
                lane.pos += 64;
            } else {
                let t = lane.tail_blocks - lane.tail_left;
                if lane.msg != usize::MAX {
                    lane.tail_left -= 1;
                }
                blocks[l] = &tails[l][t * 64..t * 64 + 64];
            }
        }
        for n in 0..N {
            W::gather(&blocks[n * W::LANES..], &mut g);
            for w in 0..16 {
                m[w][n] = g[w];
            }
        }
        compress(&mut state, &m);
        let mut reloaded = false;
        for l in 0..L {
            let lane = lanes[l];
            if lane.msg != usize::MAX && lane.pos >= lane.full && lane.tail_left == 0 {
                if !reloaded {
                    words = from_state::<W, N, L>(&state);
                    reloaded = true;
                }
                let digest = &mut out[lane.msg];
                for w in 0..4 {
                    digest[w * 4..w * 4 + 4].copy_from_slice(&words[w][l].to_le_bytes());
                }
                if !load(l, &mut lanes, &mut tails, &mut words) {
                    active -= 1;
                }
            }
        }
        if reloaded {
            state = to_state::<W, N, L>(&words);
        }
    }
    out
}

fn to_state<W: Word, const N: usize, const L: usize>(words: &[[u32; L]; 4]) -> [[W; N]; 4] {
    let mut state = [[W::splat(0); N]; 4];
    for w in 0..4 {
        for n in 0..N {
            state[w][n] = W::load(&words[w][n * W::LANES..]);
        }
    }
    state
}

fn from_state<W: Word, const N: usize, const L: usize>(state: &[[W; N]; 4]) -> [[u32; L]; 4] {
    let mut words = [[0u32; L]; 4];
    for w in 0..4 {
        for n in 0..N {
            state[w][n].store(&mut words[w][n * W::LANES..]);
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::XorShift;
    use md5::Digest;

    fn reference(msg: &[u8]) -> [u8; 16] {
        md5::Md5::digest(msg).into()
    }

    fn data(len: usize, seed: u64) -> Vec<u8> {
        let mut rng = XorShift(seed | 1);
        (0..len).map(|_| rng.next() as u8).collect()
    }

    fn check(messages: &[Vec<u8>]) {
        let refs: Vec<&[u8]> = messages.iter().map(|m| m.as_slice()).collect();
        let got = md5_many(&refs);
        assert_eq!(got.len(), messages.len());
        for (i, m) in messages.iter().enumerate() {
            assert_eq!(got[i], reference(m), "message {i} of length {}", m.len());
        }
    }

    #[test]
    fn rfc1321_vectors() {
        let vectors: [(&str, &str); 7] = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        let msgs: Vec<&[u8]> = vectors.iter().map(|(m, _)| m.as_bytes()).collect();
        let got = md5_many(&msgs);
        for ((_, want), got) in vectors.iter().zip(&got) {
            assert_eq!(hex::encode(got), *want);
        }
        // One at a time too: a group with idle lanes.
        for (m, want) in vectors {
            assert_eq!(hex::encode(md5_many(&[m.as_bytes()])[0]), want);
        }
    }

    #[test]
    fn empty_input() {
        assert!(md5_many(&[]).is_empty());
    }

    #[test]
    fn every_short_length() {
        let messages: Vec<Vec<u8>> = (0..=200).map(|n| data(n, n as u64 + 7)).collect();
        check(&messages);
        // Reversed and alone, so each length meets other lane positions and neighbours.
        let reversed: Vec<Vec<u8>> = messages.iter().rev().cloned().collect();
        check(&reversed);
        for n in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 121, 127, 128, 129] {
            check(&[data(n, 3)]);
        }
    }

    #[test]
    fn padding_boundaries_in_every_lane_count() {
        let lens = [55usize, 56, 63, 64, 119, 120, 0, 1, 128, 183, 184];
        for count in 1..=2 * LANES + 1 {
            let messages: Vec<Vec<u8>> = (0..count)
                .map(|i| data(lens[i % lens.len()] + (i / lens.len()) * 64, i as u64))
                .collect();
            check(&messages);
        }
    }

    #[test]
    fn random_lengths() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for round in 0..20 {
            let count = (rng.next() % 300) as usize;
            let messages: Vec<Vec<u8>> = (0..count)
                .map(|i| {
                    let len = match rng.next() % 4 {
                        0 => rng.next() % 300,
                        1 => rng.next() % 5_000,
                        2 => rng.next() % 40_000,
                        _ => rng.next() % 300_000,
                    } as usize;
                    // Large messages are rarer, to keep the test quick.
                    let len = if len > 40_000 && i % 8 != 0 {
                        len / 16
                    } else {
                        len
                    };
                    data(len, round * 1000 + i as u64)
                })
                .collect();
            check(&messages);
        }
    }

    #[test]
    fn other_lane_counts() {
        let messages: Vec<Vec<u8>> = (0..70usize)
            .map(|i| data(i * 97 % 700 + (i % 3) * 3000, i as u64))
            .collect();
        let refs: Vec<&[u8]> = messages.iter().map(|m| m.as_slice()).collect();
        let want: Vec<[u8; 16]> = messages.iter().map(|m| reference(m)).collect();
        assert_eq!(md5_many_with::<u32, 1, 1>(&refs), want);
        assert_eq!(md5_many_with::<u32, 4, 4>(&refs), want);
        assert_eq!(md5_many_with::<wide::u32x4, 1, 4>(&refs), want);
        assert_eq!(md5_many_with::<wide::u32x4, 4, 16>(&refs), want);
        assert_eq!(md5_many_with::<wide::u32x8, 1, 8>(&refs), want);
        assert_eq!(md5_many_with::<wide::u32x8, 2, 16>(&refs), want);
    }

    #[test]
    fn identical_messages_identical_digests() {
        let m = data(5000, 42);
        let refs: Vec<&[u8]> = (0..3 * LANES + 2).map(|_| m.as_slice()).collect();
        let want = reference(&m);
        assert!(md5_many(&refs).iter().all(|d| *d == want));
    }
}
