//! Multi-index hashing over the PDQ table: an exact Hamming-range search that reads a few
//! thousand cache lines per query instead of the whole table.
//!
//! The 256 bits of a PDQ hash are cut into `m` consecutive substrings (table `i` covers bits
//! `[start_i, start_i + len_i)`, bit 0 being the high bit of the first byte). If two hashes are
//! within distance `r`, the distances of their `m` substrings add up to at most `r`, so for
//! any radii `t_i` with `sum(t_i + 1) = r + 1` at least one substring `i` is within `t_i`
//! (otherwise the total would be at least `r + 1`). A search therefore looks up, in each table
//! `i`, every key within `t_i` of the query's substring `i` (its Hamming ball: 1 + len +
//! len·(len−1)/2 keys at radius 2), and compares the full hashes of the rows found there. An
//! entry found through several tables is reported once, by the first table whose radius it is
//! within, so no set of seen rows is kept. The result is exact: every entry within `r`, none
//! beyond, for any `r` (large radii cost more probes; [`Mih::cost`] lets the caller fall back
//! to the linear scan when that is cheaper).
//!
//! With substrings of about log2(n) bits (Norouzi, Punjani and Fleet, "Fast search in Hamming
//! space with multi-index hashing", CVPR 2012) a bucket holds about one row, so a radius-31
//! search at 10 million hashes reads about 3,000 buckets and compares about as many hashes.
//!
//! Each table is one section (kind 8, param = table number), 64-byte aligned:
//!
//! ```text
//!   0  u32 first bit of the substring
//!   4  u32 substring length in bits (1..=28)
//!   8  u32 flags: bit 0 set = the rows are the PDQ table's own rows (table 0 only, whose
//!      substring starts at bit 0: the PDQ table is sorted by hash, hence by that substring);
//!      bit 1 set = row numbers are 3 bytes (at most 2^24 rows) instead of 4
//!  12  u32 block bits b (0..=8, at most len): how the bucket starts are kept
//!  16  the bucket starts: bucket k is positions [start(k), start(k+1)), start(0) = 0,
//!      start(2^len) = the row count n, never decreasing:
//!        b = 0: (2^len + 1) u32 start(k)
//!        b > 0: (2^(len-b) + 1) u32 block starts base[j], then (2^len + 1) u8 offsets
//!               off[k] (0 for the first bucket of a block, and for k = 2^len), and
//!               start(k) = base[k >> b] + off[k]
//!      then, unless flag bit 0: n PDQ row numbers (3 or 4 bytes each, little-endian),
//!      sorted by (substring, row)
//! ```
//!
//! The tables cover the 256 bits in order, without gap or overlap. A table holding the PDQ
//! rows' own order costs only its bucket starts; the others cost 3 bytes per row (4 past
//! 2^24 rows) plus their bucket starts. The builder keeps the starts in the largest blocks,
//! of up to 256 buckets, whose buckets all start within 255 rows of their block's start:
//! about 1 byte a bucket instead of 4, and few enough block starts (64 KiB a table at 2^22
//! buckets) to stay in cache. At about one row a bucket that is blocks of 128 or 256; a
//! bucket of hundreds of rows (clustered hashes) makes its table take smaller blocks, or
//! one u32 a bucket when no block fits.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::OnceLock;

use rayon::prelude::*;

use super::format::u32_at;
use super::pdq_words;
use super::scratch::Scratch;

/// Bytes before a table's bucket starts.
const HEAD: usize = 16;
/// Thresholds whose radii an opened index keeps (0 to 64).
const RADII_KEPT: usize = 65;
/// Most tables an index may hold.
const MAX_TABLES: usize = 64;
/// Longest substring a table may use (a 1 GiB directory).
const MAX_LEN: u32 = 28;
/// Longest substring the builder chooses by itself for any row count (longer ones only past
/// 2^23 rows, see [`longest_auto`]).
const AUTO_MAX_LEN: u32 = 24;
/// Fewest PDQ rows for which the builder adds tables by itself: below that the linear scan
/// is a few microseconds.
pub(super) const AUTO_MIN_ROWS: usize = 1 << 14;
/// Cost of one random access (bucket or row) in units of one hash of the linear scan, for
/// choosing between the two searches.
const RANDOM_ACCESS: u64 = 32;
thread_local! {
    /// Item and staged-row buffers of [`Mih::search_batch`], kept by each thread.
    static BUFFERS: std::cell::Cell<[Vec<u64>; 2]> = const { std::cell::Cell::new([Vec::new(), Vec::new()]) };
    /// Row regions of [`Mih::search_batch`], kept by each thread (no fresh pages to fault in
    /// for every batch).
    static SCRATCH: std::cell::Cell<Option<Scratch>> = const { std::cell::Cell::new(None) };
}

/// Low key bits of a directory slice of a batched search: 2^14 buckets, 16 KiB of bucket
/// starts (64 KiB in the u32 layout) and, at about one row per bucket, 48 KiB of row
/// numbers, well within L2.
const DIR_SLICE_BITS: u32 = 14;
/// Rows per slice of a batched search's comparisons (log2): 4,096 rows, 128 KiB of hashes.
const ROW_SLICE_BITS: u32 = 12;
/// Most queries in one batched search: a found row is kept as its query number and its
/// place in its slice, in 32 bits.
pub(super) const MAX_BATCH: usize = 1 << (32 - ROW_SLICE_BITS);
/// Rows found a batched search stages (32 KiB) before it puts them in their regions.
const STAGE: usize = 4096;
/// Positions of a bucket a batched search writes without a branch (a bucket holds about one
/// row, more than 4 less than once in a hundred).
const UNROLL: usize = 4;
/// Flag: the table's positions are the PDQ table's rows.
const IMPLIED: u32 = 1;
/// Flag: the table's row numbers are 3 bytes.
const ROWS24: u32 = 2;
/// Largest block of a blocked directory (log2 of its buckets): 256 buckets, one u32 start
/// for them and one byte each.
const MAX_BLOCK_BITS: u32 = 8;
/// Where an item of a batched search keeps its query's substring (the high bits, up to
/// [`MAX_LEN`]), its mask group (up to 2^([`MAX_LEN`] - [`DIR_SLICE_BITS`]) of them) and
/// its query number (the low bits).
const ITEM_S: u32 = 36;
const ITEM_G: u32 = 20;
const ITEM_Q: u64 = (1 << ITEM_G) - 1;
const _: () = assert!(
    ITEM_S + MAX_LEN <= 64
        && ITEM_S - ITEM_G >= MAX_LEN - DIR_SLICE_BITS
        && MAX_BATCH <= 1 << ITEM_G
);
/// A row's place in its slice.
const ROW_MASK: u32 = (1 << ROW_SLICE_BITS) - 1;

/// A PDQ hash as four big-endian words: bit 0 of the hash is the high bit of word 0.
#[inline(always)]
pub(super) fn be_words(h: &[u8]) -> [u64; 4] {
    let mut w = [0u64; 4];
    for (w, c) in w.iter_mut().zip(h.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        *w = u64::from_be_bytes(b);
    }
    w
}

/// Bits `[start, start + len)` of a hash, `1 <= len <= 32`, `start + len <= 256`.
#[inline(always)]
fn substring(w: &[u64; 4], start: u32, len: u32) -> u32 {
    let i = (start / 64) as usize;
    let hi = w[i & 3];
    let lo = if i < 3 { w[i + 1] } else { 0 };
    let x = (u128::from(hi) << 64) | u128::from(lo);
    ((x << (start % 64)) >> (128 - len)) as u32
}

/// A table's row numbers as found in the file.
#[derive(Clone, Copy)]
enum Rows<'a> {
    /// The positions are the PDQ table's rows.
    Own,
    /// 4 bytes a row.
    Wide(&'a [u8]),
    /// 3 bytes a row.
    Narrow(&'a [u8]),
}

impl<'a> Rows<'a> {
    /// The row at position `pos`, or `u32::MAX` (never a row) past the end (damage).
    #[inline(always)]
    fn at(self, pos: usize) -> u64 {
        match self {
            Rows::Own => pos.min(u32::MAX as usize) as u64,
            Rows::Wide(b) => u64::from(u32_at(b, 4 * pos).unwrap_or(u32::MAX)),
            Rows::Narrow(b) => b
                .get(3 * pos..)
                .and_then(|x| x.first_chunk::<3>())
                .map_or(u64::from(u32::MAX), |x| {
                    u64::from(u32::from_le_bytes([x[0], x[1], x[2], 0]))
                }),
        }
    }

    /// The rows at positions `b..b + UNROLL`, as [`Rows::at`] gives them, in one read where
    /// the table has them all.
    #[inline(always)]
    fn first(self, b: usize) -> [u64; UNROLL] {
        const { assert!(UNROLL == 4) };
        let chunk = match self {
            Rows::Own => None,
            Rows::Wide(x) => x.get(4 * b..).and_then(|x| x.first_chunk::<16>()),
            Rows::Narrow(x) => x.get(3 * b..).and_then(|x| x.first_chunk::<16>()),
        };
        let Some(x) = chunk else {
            return [0, 1, 2, 3].map(|j| self.at(b + j));
        };
        let v = u128::from_le_bytes(*x);
        match self {
            Rows::Narrow(_) => [0, 24, 48, 72].map(|k| ((v >> k) as u64) & 0xff_ffff),
            _ => [0, 32, 64, 96].map(|k| u64::from((v >> k) as u32)),
        }
    }

    /// The bytes of positions `pos` (empty when the positions are the rows).
    fn bytes(self, pos: Range<usize>) -> &'a [u8] {
        let (b, w) = match self {
            Rows::Own => return &[],
            Rows::Wide(b) => (b, 4),
            Rows::Narrow(b) => (b, 3),
        };
        b.get(w * pos.start..w * pos.end).unwrap_or_default()
    }
}

/// A table's bucket starts as found in the file.
#[derive(Clone, Copy)]
enum Dir<'a> {
    /// One u32 a bucket.
    Wide(&'a [u8]),
    /// A u32 for each block of 2^`bits` buckets and a byte for each bucket.
    Blocked {
        bits: u32,
        bases: &'a [u8],
        offs: &'a [u8],
    },
}

impl<'a> Dir<'a> {
    /// Positions `[start(key), start(key + 1))` of bucket `key`, both in one or two reads;
    /// (0, 0) past the directory (damage). The end may be below the start, or past the
    /// rows, in a damaged table: callers clamp.
    #[inline(always)]
    fn bucket(self, key: usize) -> (usize, usize) {
        match self {
            Dir::Wide(d) => {
                let x = d.get(4 * key..).and_then(|d| d.first_chunk::<8>());
                let x = x.map_or(0, |x| u64::from_le_bytes(*x));
                (x as u32 as usize, (x >> 32) as usize)
            }
            Dir::Blocked { bits, bases, offs } => {
                let pair = bases
                    .get(4 * (key >> bits)..)
                    .and_then(|b| b.first_chunk::<8>());
                let pair = pair.map_or(0, |x| u64::from_le_bytes(*x));
                let o = offs.get(key..).and_then(|o| o.first_chunk::<2>());
                let o = o.map_or([0, 0], |o| *o);
                blocked_span(key, bits, pair as u32 as usize, (pair >> 32) as usize, o)
            }
        }
    }

    /// `start(key)`, `None` past the directory.
    fn start(self, key: usize) -> Option<usize> {
        match self {
            Dir::Wide(d) => u32_at(d, 4 * key).map(|x| x as usize),
            Dir::Blocked { bits, bases, offs } => {
                let base = u32_at(bases, 4 * (key >> bits))? as usize;
                Some(base + usize::from(*offs.get(key)?))
            }
        }
    }

    /// The bytes that hold the starts of the buckets `keys`.
    fn bytes(self, keys: Range<usize>) -> [&'a [u8]; 2] {
        match self {
            Dir::Wide(d) => [d.get(4 * keys.start..4 * keys.end).unwrap_or_default(), &[]],
            Dir::Blocked { bits, bases, offs } => [
                bases
                    .get(4 * (keys.start >> bits)..4 * ((keys.end >> bits) + 1))
                    .unwrap_or_default(),
                offs.get(keys.start..keys.end + 1).unwrap_or_default(),
            ],
        }
    }
}

/// Buckets per directory slice of a batched search.
const SLICE: usize = 1 << DIR_SLICE_BITS;
/// Block starts a blocked slice may need: one for each block of at least 2 buckets, and the
/// next block's.
const SLICE_BASES: usize = SLICE / 2 + 1;

/// The bucket starts of one directory slice of a blocked table, in fixed-size arrays: the
/// probes of a batched search index them with in-slice keys, with no bounds to check.
struct SliceDir<'a> {
    bits: u32,
    /// Block starts of the slice's blocks and of the next block, copied (a few hundred
    /// bytes at 128 or 256 buckets a block); the rest is unused.
    bases: &'a [u32; SLICE_BASES],
    /// Offsets of the slice's buckets and of the next slice's first (always 0).
    offs: &'a [u8; SLICE + 1],
}

impl<'a> SliceDir<'a> {
    /// The slice of `dir` that starts at key `first`, its block starts copied into `bases`;
    /// `None` unless `dir` is blocked, the slice has [`SLICE`] buckets and they are all in
    /// the table.
    fn new(
        dir: Dir<'a>,
        first: usize,
        shift: u32,
        bases: &'a mut [u32; SLICE_BASES],
    ) -> Option<Self> {
        let Dir::Blocked {
            bits,
            bases: from,
            offs,
        } = dir
        else {
            return None;
        };
        if shift != DIR_SLICE_BITS {
            return None;
        }
        let blocks = (SLICE >> bits) + 1;
        let from = from.get(4 * (first >> bits)..4 * ((first >> bits) + blocks))?;
        for (b, x) in bases.iter_mut().zip(from.chunks_exact(4)) {
            *b = u32::from_le_bytes([x[0], x[1], x[2], x[3]]);
        }
        Some(SliceDir {
            bits,
            bases,
            offs: offs.get(first..)?.first_chunk::<{ SLICE + 1 }>()?,
        })
    }

    /// Positions `[start(key), start(key + 1))` of the bucket whose low key bits are those
    /// of `key`, as [`Dir::bucket`] gives them.
    #[inline(always)]
    fn bucket(&self, key: u32) -> (usize, usize) {
        let k = key as usize & (SLICE - 1);
        // At least 2 buckets a block, so j < SLICE / 2.
        let j = (k >> self.bits) & (SLICE / 2 - 1);
        let (base, next) = (self.bases[j] as usize, self.bases[j + 1] as usize);
        blocked_span(k, self.bits, base, next, [self.offs[k], self.offs[k + 1]])
    }
}

/// Positions `[start(key), start(key + 1))` of bucket `key` of a directory in blocks of
/// 2^`bits` buckets, from the start of its block (`base`), that of the next block (`next`)
/// and the offsets `o` of the bucket and of the one after it: when that one starts the next
/// block, its offset counts from `next`.
#[inline(always)]
fn blocked_span(key: usize, bits: u32, base: usize, next: usize, o: [u8; 2]) -> (usize, usize) {
    let last = (key + 1) & ((1 << bits) - 1) == 0;
    let end_base = if last { next } else { base };
    (base + usize::from(o[0]), end_base + usize::from(o[1]))
}

/// What the probes of one table in a batched search share: the table's rows, the PDQ row
/// count, the ball's masks and their groups (by high bits).
#[derive(Clone, Copy)]
struct Probes<'a> {
    ids: Rows<'a>,
    n: usize,
    masks: &'a [u32],
    groups: &'a [(u32, Range<usize>)],
}

impl Probes<'_> {
    /// The probes of `items` (all in one directory slice), with `bucket` giving a key's
    /// positions: each item's keys are looked up and the rows found appended to
    /// `staged[..*len]` as `row << 32 | query`, item after item until more than [`STAGE`]
    /// are there. Returns the number of items done.
    #[inline(always)]
    fn run(
        self,
        bucket: impl Fn(u32) -> (usize, usize),
        items: &[u64],
        staged: &mut Vec<u64>,
        len: &mut usize,
    ) -> usize {
        let Probes {
            ids,
            n,
            masks,
            groups,
        } = self;
        let mut l = *len;
        let mut done = 0;
        for &item in items {
            if l > STAGE {
                break;
            }
            done += 1;
            let qi = (item & ITEM_Q) as u32;
            let s = (item >> ITEM_S) as u32;
            let group = (item >> ITEM_G) as usize & ((1 << (ITEM_S - ITEM_G)) - 1);
            let Some((_, range)) = groups.get(group) else {
                continue;
            };
            let masks = masks.get(range.clone()).unwrap_or_default();
            // Room for the first UNROLL rows of every key.
            let room = UNROLL * (masks.len() + 1);
            if l + room > staged.len() {
                staged.resize(2 * (l + room), 0);
            }
            // The item's keys are distinct, so their buckets hold at most n rows in all;
            // more comes from a damaged table, whose long buckets are then cut short.
            let limit = l + n;
            for &x in masks {
                // A key past the directory, from a damaged table, is an empty bucket.
                let (b, e) = bucket(s ^ x);
                let c = e.min(n).saturating_sub(b);
                // The first UNROLL positions are written whatever the bucket's size (a row
                // past the bucket is overwritten later), so that the common small bucket
                // costs no mispredicted branch.
                let first = ids.first(b);
                if let Some(out) = staged.get_mut(l..l + UNROLL) {
                    for (o, r) in out.iter_mut().zip(first) {
                        *o = (r << 32) | u64::from(qi);
                    }
                }
                l += c.min(UNROLL);
                for pos in b + UNROLL..b + c {
                    if l >= limit {
                        break;
                    }
                    if l + room > staged.len() {
                        staged.resize(2 * staged.len(), 0);
                    }
                    staged[l] = (ids.at(pos) << 32) | u64::from(qi);
                    l += 1;
                }
            }
        }
        *len = l;
        done
    }

    /// [`Probes::run`] in a blocked slice.
    #[inline(never)]
    fn blocked(
        self,
        dir: &SliceDir<'_>,
        items: &[u64],
        staged: &mut Vec<u64>,
        len: &mut usize,
    ) -> usize {
        self.run(|k| dir.bucket(k), items, staged, len)
    }

    /// [`Probes::run`] in any directory.
    #[inline(never)]
    fn any(self, dir: Dir<'_>, items: &[u64], staged: &mut Vec<u64>, len: &mut usize) -> usize {
        self.run(|k| dir.bucket(k as usize), items, staged, len)
    }
}

/// Reads a byte of each cache line of `b`, in order: the hardware prefetcher then streams
/// the whole range into the caches, where the random reads that follow find it.
#[inline]
fn touch(b: &[u8]) {
    let mut x = 0u8;
    for line in b.chunks(64) {
        x ^= line[0];
    }
    std::hint::black_box(x);
}

/// Hamming distance of two hashes given as words.
#[inline(always)]
fn distance(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

/// C(n, k), the number of `n`-bit keys with `k` bits set (`n` is at most 32 here, so no
/// product overflows).
fn binomial(n: u32, k: u32) -> u64 {
    if k > n {
        return 0;
    }
    let k = k.min(n - k);
    // Each partial product is itself a binomial coefficient, so the division is exact.
    (0..k).fold(1u64, |c, i| {
        c.saturating_mul(u64::from(n - i)) / u64::from(i + 1)
    })
}

/// Number of keys within `radius` of a `len`-bit key.
fn ball_size(len: u32, radius: u32) -> u64 {
    (0..=radius.min(len))
        .map(|k| binomial(len, k))
        .fold(0, u64::saturating_add)
}

/// Calls `f` with every `len`-bit mask of at most `radius` set bits, by increasing weight.
#[inline]
fn for_each_mask(len: u32, radius: u32, mut f: impl FnMut(u32)) {
    f(0);
    let limit = 1u64 << len;
    for k in 1..=radius.min(len) {
        // Gosper's hack: the next larger integer with the same number of set bits.
        let mut m = (1u64 << k) - 1;
        while m < limit {
            f(m as u32);
            let low = m & m.wrapping_neg();
            let r = m + low;
            m = r | (((r ^ m) >> 2) >> low.trailing_zeros());
        }
    }
}

/// Threshold the builder shapes the tables for: the usual PDQ match threshold (HMA's and
/// ThreatExchange's default). Other thresholds search the same tables with other radii.
const PLAN_THRESHOLD: u32 = 31;
/// Shortest substring the builder chooses by itself.
const AUTO_MIN_LEN: u32 = 8;
/// Largest radius the builder gives a table by itself.
const AUTO_MAX_RADIUS: u32 = 4;

/// Substring lengths for `rows` PDQ hashes: `Some(lengths)` adds multi-index tables, `None`
/// keeps the linear scan alone. `forced` sets the number of tables (tests and benchmarks),
/// which then split the 256 bits evenly.
pub(super) fn plan(rows: usize, forced: Option<usize>) -> Option<Vec<u32>> {
    let m = match forced {
        Some(m) => m.clamp((256 / MAX_LEN as usize) + 1, MAX_TABLES),
        None if rows < AUTO_MIN_ROWS => return None,
        None => return Some(cheapest_lengths(rows, PLAN_THRESHOLD, 256)),
    };
    let base = 256 / m as u32;
    let extra = 256 % m as u32;
    Some((0..m as u32).map(|i| base + u32::from(i < extra)).collect())
}

/// Expected cost of searching one table of `len` bits within `radius` over `rows` hashes:
/// its keys, each a bucket to look up holding `rows / 2^len` rows to compare, scaled by
/// 2^32 to stay exact (`len` is at most [`MAX_LEN`]). The unit [`Mih::cheapest_radii`] and
/// [`cheapest_lengths`] both weigh tables in.
fn table_cost(len: u32, radius: u32, rows: usize) -> u128 {
    (u128::from(ball_size(len, radius)) * ((1u128 << len) + rows as u128)) << (32 - len.min(32))
}

/// Longest substring the builder chooses for `rows` hashes: [`AUTO_MAX_LEN`], or one bit
/// past log2(rows) (at most [`MAX_LEN`]), so that a directory never has more than about
/// two buckets a row (at 100M rows the cheapest tables have 25 and 28 bits).
fn longest_auto(rows: usize) -> u32 {
    let log2 = usize::BITS - rows.saturating_sub(1).leading_zeros(); // ceil(log2(rows))
    (log2 + 1).clamp(AUTO_MAX_LEN, MAX_LEN)
}

/// The substring lengths, `bits` in all (256 for PDQ), whose search within `threshold` over
/// `rows` hashes costs least, radii included. Substrings of about log2(rows) bits (Norouzi
/// et al.) are close, but the cheapest set mixes lengths: at 10M rows one 20-bit table
/// searched at radius 1 and ten of 23 and 24 bits at radius 2 cost 4% less than three of 24
/// bits and eight of 23, at 1M 7% less. A dynamic program over (bits used, radius units
/// `t + 1` covered) finds them exactly, among lengths [`AUTO_MIN_LEN`] to [`longest_auto`]
/// and radii up to [`AUTO_MAX_RADIUS`]; the tables come longest first.
fn cheapest_lengths(rows: usize, threshold: u32, bits: usize) -> Vec<u32> {
    let units = threshold.min(256) as usize + 1;
    let lens = AUTO_MIN_LEN..=longest_auto(rows);
    // best[b][u]: the least cost of tables using b bits that cover u units (u capped at
    // `units`), the last table's length and the units before it, to rebuild them.
    let mut best = vec![vec![(u128::MAX, 0u32, 0usize); units + 1]; bits + 1];
    best[0][0].0 = 0;
    for b in 0..=bits {
        for u in 0..=units {
            let here = best[b][u].0;
            if here == u128::MAX {
                continue;
            }
            for len in lens.clone() {
                for t in 0..=AUTO_MAX_RADIUS {
                    let (nb, nu) = (b + len as usize, (u + t as usize + 1).min(units));
                    if nb > bits {
                        continue;
                    }
                    let c = here.saturating_add(table_cost(len, t, rows));
                    if c < best[nb][nu].0 {
                        best[nb][nu] = (c, len, u);
                    }
                }
            }
        }
    }
    // Tables cover all the bits (more bits never cost more), which some set of lengths can
    // whenever `bits` is 0 or at least AUTO_MIN_LEN (256 is 32 of 8 bits).
    let (mut b, mut u) = (bits, units);
    let mut lengths = Vec::new();
    while b > 0 && best[b][u].0 != u128::MAX {
        let (_, len, before) = best[b][u];
        lengths.push(len);
        b -= len as usize;
        u = before;
    }
    lengths.sort_unstable_by(|a, b| b.cmp(a));
    lengths
}

/// Most bytes the sections for `rows` rows and these substring lengths take (one u32 a
/// bucket and 4 bytes a row), alignment included.
pub(super) fn section_bytes(rows: usize, lengths: &[u32]) -> usize {
    lengths
        .iter()
        .enumerate()
        .map(|(i, &len)| HEAD + 4 * ((1usize << len) + 1) + if i == 0 { 0 } else { 4 * rows } + 64)
        .sum()
}

/// Builds the tables for the PDQ rows `hashes` (big-endian words, sorted, distinct): calls
/// `emit(table number, section bytes)` for each table in order.
pub(super) fn build(hashes: &[[u64; 4]], lengths: &[u32], emit: impl FnMut(u32, Vec<u8>)) {
    build_with(hashes, lengths, None, emit);
}

/// [`build`], with the layout of the non-own tables forced (tests): `Some((block bits,
/// 3-byte rows))`, the block bits taken only where they fit.
fn build_with(
    hashes: &[[u64; 4]],
    lengths: &[u32],
    force: Option<(u32, bool)>,
    mut emit: impl FnMut(u32, Vec<u8>),
) {
    let n = hashes.len();
    let mut start = 0u32;
    for (i, &len) in lengths.iter().enumerate() {
        let implied = i == 0;
        // Keys with their rows, sorted by (key, row); table 0 is already in that order.
        let keyed: Vec<u64> = if implied {
            Vec::new()
        } else {
            let mut k: Vec<u64> = hashes
                .par_iter()
                .enumerate()
                .map(|(row, h)| (u64::from(substring(h, start, len)) << 32) | row as u64)
                .collect();
            k.par_sort_unstable();
            k
        };
        let key_at = |p: usize| -> u32 {
            if implied {
                substring(&hashes[p], start, len)
            } else {
                (keyed[p] >> 32) as u32
            }
        };
        let mut starts: Vec<u32> = Vec::with_capacity((1 << len) + 1);
        let mut p = 0usize;
        for bucket in 0..(1u64 << len) {
            starts.push(p as u32);
            while p < n && u64::from(key_at(p)) == bucket {
                p += 1;
            }
        }
        starts.push(n as u32);
        // The largest blocks whose buckets all start within 255 rows of the block.
        let fits = |b: u32| starts.chunks(1 << b).all(|c| c[c.len() - 1] - c[0] <= 255);
        let mut bits = (1..=MAX_BLOCK_BITS.min(len))
            .rev()
            .find(|&b| fits(b))
            .unwrap_or(0);
        let mut narrow = !implied && n <= 1 << 24;
        if let Some((b, w)) = force.filter(|_| !implied) {
            if b <= MAX_BLOCK_BITS.min(len) && fits(b) {
                bits = b;
            }
            narrow = w && n <= 1 << 24;
        }
        let flags = if implied { IMPLIED } else { 0 } | if narrow { ROWS24 } else { 0 };
        let mut out = Vec::with_capacity(HEAD + 4 * starts.len() + 4 * n);
        for v in [start, len, flags, bits] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        if bits == 0 {
            for x in &starts {
                out.extend_from_slice(&x.to_le_bytes());
            }
        } else {
            for x in starts.iter().step_by(1 << bits) {
                out.extend_from_slice(&x.to_le_bytes());
            }
            for (k, x) in starts.iter().enumerate() {
                let base = starts[k >> bits << bits];
                // At most 255 by the choice of `bits`; the last start is a block's first.
                out.push((x - base) as u8);
            }
        }
        for k in &keyed {
            let row = (*k as u32).to_le_bytes();
            out.extend_from_slice(if narrow { &row[..3] } else { &row });
        }
        emit(i as u32, out);
        start += len;
    }
}

/// One table as found in the file.
#[derive(Clone, Debug)]
struct Table {
    start: u32,
    len: u32,
    /// Block bits of the bucket starts (0: one u32 a bucket).
    bits: u32,
    /// Byte range of the bucket starts (block starts, then offsets, when blocked).
    dir: Range<usize>,
    /// Byte range of the row numbers and their width, `None` when the positions are the rows.
    rows: Option<(Range<usize>, usize)>,
}

impl Table {
    /// The table's directory and rows within the file's bytes `all`; `None` when they are
    /// not there (never for an opened index).
    #[inline]
    fn view<'a>(&self, all: &'a [u8]) -> Option<(Dir<'a>, Rows<'a>)> {
        let d = all.get(self.dir.clone())?;
        let dir = if self.bits == 0 {
            Dir::Wide(d)
        } else {
            let (bases, offs) = d.split_at_checked(4 * ((1 << (self.len - self.bits)) + 1))?;
            Dir::Blocked {
                bits: self.bits,
                bases,
                offs,
            }
        };
        let rows = match &self.rows {
            None => Rows::Own,
            Some((r, 3)) => Rows::Narrow(all.get(r.clone())?),
            Some((r, _)) => Rows::Wide(all.get(r.clone())?),
        };
        Some((dir, rows))
    }
}

/// The multi-index tables of an index.
#[derive(Clone, Debug)]
pub(super) struct Mih {
    tables: Vec<Table>,
    /// PDQ row count.
    rows: usize,
    /// The radii of each threshold below [`RADII_KEPT`], worked out on first use.
    radii: [OnceLock<Vec<Option<u32>>>; RADII_KEPT],
}

/// What `vigie index info` says about the tables.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MihInfo {
    /// Number of tables.
    pub tables: usize,
    /// Substring length of each table, in bits.
    pub lengths: Vec<u32>,
    /// Block bits of each table's bucket starts (0: one u32 a bucket).
    pub block_bits: Vec<u32>,
    /// Bytes of each table's row numbers (0: the table holds the PDQ rows' own order).
    pub row_bytes: Vec<u32>,
    /// Bytes of all the tables.
    pub bytes: u64,
}

impl Mih {
    /// Reads the tables' headers: `sections` are the (param, byte range) of the kind-8
    /// sections, `rows` the PDQ row count. Checks the layout, not the contents (see
    /// [`Mih::verify`]), so it costs the same at any size.
    pub(super) fn open(
        all: &[u8],
        mut sections: Vec<(u32, Range<usize>)>,
        rows: usize,
    ) -> Result<Option<Mih>, String> {
        if sections.is_empty() {
            return Ok(None);
        }
        if rows == 0 {
            return Err("multi-index tables without PDQ hashes".into());
        }
        if sections.len() > MAX_TABLES {
            return Err(format!("{} multi-index tables", sections.len()));
        }
        sections.sort_by_key(|s| s.0);
        let mut tables = Vec::with_capacity(sections.len());
        let mut next = 0u32;
        for (i, (param, r)) in sections.into_iter().enumerate() {
            let bad = |what: &str| format!("multi-index table {i}: {what}");
            if param != i as u32 {
                return Err(bad("tables are not numbered 0, 1, 2, ..."));
            }
            let field = |k: usize| u32_at(all, r.start + 4 * k).filter(|_| r.len() >= HEAD);
            let (Some(start), Some(len), Some(flags), Some(bits)) =
                (field(0), field(1), field(2), field(3))
            else {
                return Err(bad("bad header"));
            };
            if start != next
                || len == 0
                || len > MAX_LEN
                || start + len > 256
                || flags > (IMPLIED | ROWS24)
                || bits > MAX_BLOCK_BITS.min(len)
            {
                return Err(bad(&format!(
                    "bad substring (bits {start}+{len}, flags {flags}, blocks of 2^{bits})"
                )));
            }
            let implied = flags & IMPLIED != 0;
            if implied && start != 0 {
                return Err(bad("own-order rows on a substring that is not the first"));
            }
            let width = if flags & ROWS24 != 0 { 3 } else { 4 };
            if width == 3 && (implied || rows > 1 << 24) {
                return Err(bad(&format!("3-byte row numbers for {rows} rows")));
            }
            let dir_len = if bits == 0 {
                4 * ((1usize << len) + 1)
            } else {
                4 * ((1usize << (len - bits)) + 1) + (1usize << len) + 1
            };
            let want = HEAD + dir_len + if implied { 0 } else { width * rows };
            if r.len() != want {
                return Err(bad(&format!("{} bytes, expected {want}", r.len())));
            }
            let dir = r.start + HEAD..r.start + HEAD + dir_len;
            let rows_range = (!implied).then_some((dir.end..r.end, width));
            tables.push(Table {
                start,
                len,
                bits,
                dir,
                rows: rows_range,
            });
            next = start + len;
        }
        if next != 256 {
            return Err(format!("multi-index tables cover {next} bits, not 256"));
        }
        Ok(Some(Mih::new(tables, rows)))
    }

    fn new(tables: Vec<Table>, rows: usize) -> Mih {
        Mih {
            tables,
            rows,
            radii: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// [`Mih::cheapest_radii`] for this index's rows, kept for the usual thresholds (a few
    /// hundred cost evaluations, a microsecond, against some tens of microseconds for a
    /// search).
    fn radii(&self, threshold: u32) -> Cow<'_, [Option<u32>]> {
        match self.radii.get(threshold as usize) {
            Some(kept) => {
                Cow::Borrowed(kept.get_or_init(|| self.cheapest_radii(threshold, self.rows)))
            }
            None => Cow::Owned(self.cheapest_radii(threshold, self.rows)),
        }
    }

    /// The radius of each table for a search within `threshold` over `rows` hashes, `None`
    /// for a table not searched: radii `t_i` with `sum(t_i + 1) = r + 1` (r at most 256,
    /// the greatest distance) and the least
    /// expected cost. Raising a table's radius from `t` to `t + 1` adds C(len, t + 1) keys
    /// to probe, each holding `rows / 2^len` rows on average. That cost grows with `t` while
    /// `t < len / 2` (every useful search: radius 2 or 3 of 20-odd bits), and there taking
    /// the cheapest raise `r + 1` times gives the cheapest radii. A long substring
    /// has more keys at each radius but fewer rows in each: which one should take the larger
    /// radius depends on the row count (at 10M rows, radius 1 goes to a 23-bit table, not a
    /// 24-bit one; at 1M, radius 2 goes to the 22-bit tables, not the 21-bit ones).
    fn cheapest_radii(&self, threshold: u32, rows: usize) -> Vec<Option<u32>> {
        // The keys a raise adds, each a lookup of rows / 2^len rows.
        let raise = |len: u32, t: Option<u32>| match t {
            None => table_cost(len, 0, rows),
            Some(t) => table_cost(len, t + 1, rows) - table_cost(len, t, rows),
        };
        let mut radii = vec![None; self.tables.len()];
        // Two hashes are at most 256 bits apart: radii adding up to 257 find every row.
        for _ in 0..=threshold.min(256) {
            let cheapest = (self.tables.iter().zip(&radii).enumerate())
                .min_by_key(|(_, (t, r))| raise(t.len, **r))
                .map(|(i, _)| i);
            if let Some(r) = cheapest.and_then(|i| radii.get_mut(i)) {
                *r = Some(r.map_or(0, |t| t + 1));
            }
        }
        radii
    }

    /// Expected cost of one search within `threshold` over `rows` hashes, in units of one
    /// hash of the linear scan (which costs `rows`).
    pub(super) fn cost(&self, threshold: u32) -> u64 {
        let rows = self.rows;
        self.tables
            .iter()
            .zip(self.radii(threshold).iter().copied())
            .filter_map(|(t, r)| Some((t, r?)))
            .map(|(t, r)| {
                let probes = ball_size(t.len, r);
                let found = probes.saturating_mul(rows as u64) >> t.len;
                probes.saturating_add(found).saturating_mul(RANDOM_ACCESS)
            })
            .fold(0u64, u64::saturating_add)
    }

    /// Calls `emit(query, row, distance)` once for every PDQ row within `threshold` of each
    /// of `queries` (big-endian words), one query after the other: for a few queries, where
    /// [`Mih::search_batch`] would read whole slices for a few probes. `hashes` are the PDQ
    /// table's hash bytes. Each table is searched in three passes, the buckets' bounds, their
    /// rows, then the rows' hashes, so that the reads of a pass (random, in caches or DRAM)
    /// do not wait for one another. A damaged table never panics: positions or rows out of
    /// range are skipped, and every reported distance is computed from the row's own hash.
    pub(super) fn search(
        &self,
        all: &[u8],
        hashes: &[u8],
        queries: &[[u64; 4]],
        threshold: u32,
        mut emit: impl FnMut(usize, usize, u32),
    ) {
        let n = hashes.len() / 32;
        let radii = self.radii(threshold);
        let (mut subs, mut spans, mut rows) = (Vec::new(), Vec::new(), Vec::new());
        for (qi, query) in queries.iter().enumerate() {
            subs.clear();
            subs.extend(self.tables.iter().map(|t| substring(query, t.start, t.len)));
            for (i, t) in self.tables.iter().enumerate() {
                let Some(radius) = radii[i] else { continue };
                let Some((dir, ids)) = t.view(all) else {
                    continue;
                };
                spans.clear();
                for_each_mask(t.len, radius, |mask| {
                    spans.push(dir.bucket((subs[i] ^ mask) as usize));
                });
                // The keys are distinct, so their buckets hold at most n rows in all; more
                // comes from a damaged table, whose rows are then cut short.
                rows.clear();
                for &(s, e) in &spans {
                    let c = e.min(n).saturating_sub(s).min(n - rows.len());
                    rows.extend((s..s + c).map(|pos| ids.at(pos) as usize));
                }
                for &row in &rows {
                    let Some(h) = hashes.get(row * 32..).and_then(|h| h.first_chunk::<32>()) else {
                        continue;
                    };
                    let h = be_words(h);
                    let d = distance(query, &h);
                    if d <= threshold && !self.found_earlier(&h, i, &radii, &subs) {
                        emit(qi, row, d);
                    }
                }
            }
        }
    }

    /// [`Mih::search`] for many queries at once (at most [`MAX_BATCH`]), calling `emit(query,
    /// row, distance)`. The tables and the hashes are far larger than the caches, and a random
    /// read of them costs a DRAM access and a page walk, so the batch is worked through in
    /// slices that are first read in order (the hardware streams them into the caches) and
    /// then read at random from L2:
    ///
    /// - each table's directory is cut into slices of [`DIR_SLICE_BITS`] low key bits. The
    ///   ball's masks are grouped by their high bits, so that the probes of one query and
    ///   one mask group all fall in one slice; the (query, group) items, a few tens per
    ///   query instead of hundreds of probes, are put in slice order by one counting sort;
    /// - the rows found go, a few thousand at a time, to the region of their slice of
    ///   2^[`ROW_SLICE_BITS`] rows, one 4-byte word each; when the probes are done (or a
    ///   region is full), each region is compared with its slice of hashes. An entry found
    ///   through several tables is reported once: the batch keeps the few (query, row)
    ///   pairs within the threshold it reported.
    pub(super) fn search_batch(
        &self,
        all: &[u8],
        hashes: &[u8],
        queries: &[[u64; 4]],
        threshold: u32,
        mut emit: impl FnMut(usize, usize, u32),
    ) {
        debug_assert!(
            queries.len() <= MAX_BATCH,
            "a query number must fit its 20 bits"
        );
        let n = hashes.len() / 32;
        let m = self.tables.len();
        let radii = self.radii(threshold);
        let subs: Vec<u32> = queries
            .iter()
            .flat_map(|q| self.tables.iter().map(|t| substring(q, t.start, t.len)))
            .collect();
        // (group << 32 | query) items of one table, and (row << 32 | query) rows found and
        // not yet put in their regions. Kept by the thread from batch to batch.
        let mut bufs = BUFFERS.with(|b| b.take());
        let [items, staged] = &mut bufs;
        staged.resize(STAGE + UNROLL, 0); // the length a batch starts with, whatever the last grew to
        let mut regions = Regions::new(self.candidates(threshold), queries, hashes, threshold);
        let mut len = 0; // staged[..len] are the rows found and not yet in their regions
        let mut masks = Vec::new();
        let mut groups: Vec<(u32, Range<usize>)> = Vec::new();
        let mut counts = Vec::new();
        let mut slice_bases = Box::new([0u32; SLICE_BASES]);
        for (i, (t, radius)) in self.tables.iter().zip(radii.iter()).enumerate() {
            let Some(radius) = *radius else { continue };
            let Some((dir, ids)) = t.view(all) else {
                continue;
            };
            let shift = t.len.min(DIR_SLICE_BITS);
            // The ball's masks grouped by their high bits (the slice they move a key to).
            masks.clear();
            for_each_mask(t.len, radius, |x| masks.push(x));
            masks.sort_by_key(|x| x >> shift);
            groups.clear();
            for (j, &x) in masks.iter().enumerate() {
                match groups.last_mut() {
                    Some((high, r)) if *high == x >> shift => r.end = j + 1,
                    _ => groups.push((x >> shift, j..j + 1)),
                }
            }
            // The (query, group) items in slice order: counted, then placed.
            let slice_of = |qi: usize, g: u32| ((subs[qi * m + i] >> shift) ^ g) as usize;
            counts.clear();
            counts.resize((1usize << (t.len - shift)) + 1, 0usize);
            for qi in 0..queries.len() {
                for (g, _) in &groups {
                    counts[slice_of(qi, *g) + 1] += 1;
                }
            }
            for k in 1..counts.len() {
                counts[k] += counts[k - 1];
            }
            items.clear();
            items.resize(queries.len() * groups.len(), 0);
            for qi in 0..queries.len() {
                let s = u64::from(subs[qi * m + i]);
                for (gi, (g, _)) in groups.iter().enumerate() {
                    let at = &mut counts[slice_of(qi, *g)];
                    items[*at] = (s << ITEM_S) | ((gi as u64) << ITEM_G) | qi as u64;
                    *at += 1;
                }
            }
            // counts[v] is now where slice v's items end.
            let probes = Probes {
                ids,
                n,
                masks: &masks,
                groups: &groups,
            };
            let mut from = 0;
            for (v, &to) in counts[..counts.len() - 1].iter().enumerate() {
                let slice = &items[from..to];
                from = to;
                if slice.is_empty() {
                    continue;
                }
                let keys = v << shift..(v + 1) << shift;
                let [d0, d1] = dir.bytes(keys.clone());
                touch(d0);
                touch(d1);
                let b = dir.start(keys.start).unwrap_or(0);
                let e = dir.start(keys.end).unwrap_or(0);
                touch(ids.bytes(b..e.max(b)));
                let fast = SliceDir::new(dir, keys.start, shift, &mut slice_bases);
                let mut done = 0;
                while done < slice.len() {
                    let rest = &slice[done..];
                    done += match &fast {
                        Some(d) => probes.blocked(d, rest, staged, &mut len),
                        None => probes.any(dir, rest, staged, &mut len),
                    };
                    if len > STAGE {
                        regions.place(&staged[..len], &mut emit);
                        len = 0;
                    }
                }
            }
        }
        regions.place(&staged[..len], &mut emit);
        regions.compare(&mut emit);
        regions.keep();
        BUFFERS.with(|b| b.replace(bufs));
    }

    /// True when the entry `h` is within the radius of a table before table `i` (radii
    /// `radii`, the query's substrings `subs`): that table found it and reported it, so table
    /// `i` must not report it again.
    #[inline]
    fn found_earlier(&self, h: &[u64; 4], i: usize, radii: &[Option<u32>], subs: &[u32]) -> bool {
        self.tables[..i]
            .iter()
            .zip(radii)
            .zip(subs)
            .any(|((u, r), &q)| {
                r.is_some_and(|r| (substring(h, u.start, u.len) ^ q).count_ones() <= r)
            })
    }

    /// Expected rows a search within `threshold` compares (for sizing batches).
    pub(super) fn candidates(&self, threshold: u32) -> u64 {
        let rows = self.rows;
        self.tables
            .iter()
            .zip(self.radii(threshold).iter().copied())
            .filter_map(|(t, r)| Some(ball_size(t.len, r?).saturating_mul(rows as u64) >> t.len))
            .fold(0u64, u64::saturating_add)
    }

    /// What the tables are, for `index info`.
    pub(super) fn info(&self) -> MihInfo {
        MihInfo {
            tables: self.tables.len(),
            lengths: self.tables.iter().map(|t| t.len).collect(),
            block_bits: self.tables.iter().map(|t| t.bits).collect(),
            row_bytes: self
                .tables
                .iter()
                .map(|t| t.rows.as_ref().map_or(0, |r| r.1 as u32))
                .collect(),
            bytes: self
                .tables
                .iter()
                .map(|t| (HEAD + t.dir.len() + t.rows.as_ref().map_or(0, |r| r.0.len())) as u64)
                .sum(),
        }
    }

    /// Checks every bucket and row of every table against the PDQ hashes: bucket starts
    /// from 0 to the row count, never decreasing; each table holds every row once, in the
    /// bucket of its substring, rows ascending within a bucket.
    pub(super) fn verify(&self, all: &[u8], hashes: &[u8]) -> Result<(), String> {
        let n = hashes.len() / 32;
        for (i, t) in self.tables.iter().enumerate() {
            let bad = |what: String| format!("multi-index table {i}: {what}");
            let Some((dir, ids)) = t.view(all) else {
                return Err(bad("out of the file".into()));
            };
            let mut seen = vec![false; if t.rows.is_some() { n } else { 0 }];
            let buckets = 1usize << t.len;
            let mut prev = 0usize;
            if dir.start(0) != Some(0) || dir.start(buckets) != Some(n) {
                return Err(bad(
                    "bucket starts do not run from 0 to the row count".into()
                ));
            }
            for key in 0..buckets {
                let s = dir.start(key).unwrap_or(usize::MAX);
                let e = dir.start(key + 1).unwrap_or(usize::MAX);
                if s != prev || e < s || e > n {
                    return Err(bad(format!("bucket {key} out of order")));
                }
                prev = e;
                let mut last: Option<usize> = None;
                for pos in s..e {
                    let row = ids.at(pos) as usize;
                    if row >= n || last.is_some_and(|l| l >= row) {
                        return Err(bad(format!("position {pos}: bad row {row}")));
                    }
                    last = Some(row);
                    if let Some(seen) = seen.get_mut(row) {
                        if std::mem::replace(seen, true) {
                            return Err(bad(format!("row {row} twice")));
                        }
                    }
                    let h = be_words(&hashes[row * 32..row * 32 + 32]);
                    if substring(&h, t.start, t.len) as usize != key {
                        return Err(bad(format!("row {row} is not in bucket {key}")));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The rows found by a batched search, in one region per slice of 2^[`ROW_SLICE_BITS`]
/// rows, and what comparing them needs.
struct Regions<'a> {
    scratch: Scratch,
    /// Words in each region.
    fill: Vec<u32>,
    /// Words a region holds.
    cap: usize,
    cmp: Compare<'a>,
}

/// Compares the rows of the regions with their queries.
struct Compare<'a> {
    hashes: &'a [u8],
    /// The queries as little-endian words (the distance does not depend on the bits' order).
    le: Vec<[u64; 4]>,
    threshold: u32,
    /// (query << 32 | row) reported in this batch: a row found through several tables is
    /// in its region once per table, and may be compared in two passes when a region fills.
    reported: std::collections::HashSet<u64>,
}

impl<'a> Regions<'a> {
    /// Regions for `queries` that each find about `per_query` rows among `hashes`: a
    /// sixteenth more than the mean plus 256 words each (with uniform hashes a region's
    /// count varies by about its square root, so filling up, and all the regions being
    /// compared early, is rare); clustered hashes only cost more comparison passes. Every
    /// word reserved is a fresh page to fault in once, so the margin is kept small.
    fn new(per_query: u64, queries: &[[u64; 4]], hashes: &'a [u8], threshold: u32) -> Self {
        let slices = (hashes.len() / 32).div_ceil(1 << ROW_SLICE_BITS).max(1);
        let mean = per_query.saturating_mul(queries.len() as u64) / slices as u64;
        let cap = (mean.saturating_add(mean / 16).saturating_add(256)).min(1 << 26) as usize;
        let cap = cap.next_multiple_of(16); // whole cache lines
        let scratch = SCRATCH
            .with(|s| s.take())
            .filter(|s| s.len() >= slices * cap)
            .unwrap_or_else(|| Scratch::new(slices * cap));
        Regions {
            scratch,
            fill: vec![0; slices],
            cap,
            cmp: Compare {
                hashes,
                le: queries.iter().map(|q| q.map(u64::swap_bytes)).collect(),
                threshold,
                reported: Default::default(),
            },
        }
    }

    /// Puts the `(row << 32 | query)` rows `staged` in their regions (rows past the table,
    /// from a damaged table, are dropped); when a region fills up, every region is compared
    /// and emptied.
    fn place(&mut self, staged: &[u64], emit: &mut impl FnMut(usize, usize, u32)) {
        let n = self.cmp.hashes.len() / 32;
        let cap = self.cap;
        let words = self.scratch.words();
        for &p in staged {
            let row = (p >> 32) as usize;
            if row >= n {
                continue;
            }
            let s = row >> ROW_SLICE_BITS;
            let f = self.fill[s] as usize;
            words[s * cap + f] = ((p as u32) << ROW_SLICE_BITS) | (row as u32 & ROW_MASK);
            self.fill[s] = f as u32 + 1;
            if f + 1 == cap {
                self.cmp.all(words, &mut self.fill, cap, emit);
            }
        }
    }

    /// Compares every region and empties it.
    fn compare(&mut self, emit: &mut impl FnMut(usize, usize, u32)) {
        let words = self.scratch.words();
        self.cmp.all(words, &mut self.fill, self.cap, emit);
    }

    /// Gives the scratch memory back to the thread.
    fn keep(self) {
        SCRATCH.with(|s| s.set(Some(self.scratch)));
    }
}

impl Compare<'_> {
    /// Compares the rows of every region (`fill[s]` words from `s * cap`) with their
    /// queries, reports those within the threshold once each, and empties the regions.
    fn all(
        &mut self,
        words: &[u32],
        fill: &mut [u32],
        cap: usize,
        emit: &mut impl FnMut(usize, usize, u32),
    ) {
        let n = self.hashes.len() / 32;
        for (s, f) in fill.iter_mut().enumerate() {
            let region = &words[s * cap..s * cap + *f as usize];
            *f = 0;
            if region.is_empty() {
                continue;
            }
            let base = s << ROW_SLICE_BITS;
            let rows = base * 32..(base + (1 << ROW_SLICE_BITS)).min(n) * 32;
            touch(self.hashes.get(rows).unwrap_or_default());
            for &w in region {
                let row = base + (w & ROW_MASK) as usize;
                let qi = (w >> ROW_SLICE_BITS) as usize;
                let (Some(h), Some(q)) = (
                    self.hashes
                        .get(row * 32..)
                        .and_then(|h| h.first_chunk::<32>()),
                    self.le.get(qi),
                ) else {
                    continue;
                };
                // The first half alone rules out almost every candidate (a random row is
                // about 64 bits away there), at half the cost of the whole.
                let w = pdq_words(h);
                let half = (w[0] ^ q[0]).count_ones() + (w[1] ^ q[1]).count_ones();
                if half > self.threshold {
                    continue;
                }
                let d = half + (w[2] ^ q[2]).count_ones() + (w[3] ^ q[3]).count_ones();
                if d <= self.threshold && self.reported.insert(((qi as u64) << 32) | row as u64) {
                    emit(qi, row, d);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::XorShift;
    use std::collections::BTreeSet;

    #[test]
    fn substrings_take_bits_in_order() {
        let mut h = [0u8; 32];
        h[0] = 0b1010_0000;
        h[31] = 0b0000_0101;
        let w = be_words(&h);
        assert_eq!(substring(&w, 0, 3), 0b101);
        assert_eq!(substring(&w, 0, 4), 0b1010);
        assert_eq!(substring(&w, 253, 3), 0b101);
        assert_eq!(substring(&w, 250, 6), 0b000101);
        // Across a word boundary.
        let mut h = [0u8; 32];
        h[7] = 0x01;
        h[8] = 0x80;
        let w = be_words(&h);
        assert_eq!(substring(&w, 60, 8), 0b0001_1000);
    }

    #[test]
    fn masks_enumerate_the_ball_once_each() {
        for (len, r) in [(5u32, 0u32), (5, 2), (8, 3), (6, 6), (4, 9)] {
            let mut seen = std::collections::HashSet::new();
            for_each_mask(len, r, |m| {
                assert!(m < (1 << len) && m.count_ones() <= r);
                assert!(seen.insert(m));
            });
            assert_eq!(seen.len() as u64, ball_size(len, r), "len {len} r {r}");
        }
    }

    /// `h` with `k` random bits flipped (some may flip back).
    fn flipped(rng: &mut XorShift, mut h: [u64; 4], k: u64) -> [u64; 4] {
        for _ in 0..k {
            let b = rng.next() % 256;
            h[(b / 64) as usize] ^= 1 << (b % 64);
        }
        h
    }

    /// `count` queries, each an entry of `set` with up to 40 bits flipped.
    fn near(rng: &mut XorShift, set: &[[u64; 4]], count: usize) -> Vec<[u64; 4]> {
        (0..count)
            .map(|_| {
                let (row, k) = (rng.next() as usize % set.len(), rng.next() % 40);
                flipped(rng, set[row], k)
            })
            .collect()
    }

    /// Builds the tables of the sorted, distinct `set` (`force` as [`build_with`]), checks
    /// them, and checks that single and batched searches find exactly what brute force
    /// finds; returns the tables.
    fn check_tables(set: &[[u64; 4]], queries: &[[u64; 4]], force: Option<(u32, bool)>) -> Mih {
        let hashes: Vec<u8> = set.iter().flatten().flat_map(|x| x.to_be_bytes()).collect();
        let lengths = plan(set.len(), Some(16)).unwrap();
        let (mut all, mut sections) = (Vec::new(), Vec::new());
        build_with(set, &lengths, force, |i, bytes| {
            let at = all.len();
            all.extend_from_slice(&bytes);
            sections.push((i, at..all.len()));
        });
        let mih = Mih::open(&all, sections, set.len()).unwrap().unwrap();
        mih.verify(&all, &hashes).unwrap();
        // The one-read paths of the searches agree with the checked ones.
        for t in &mih.tables {
            let (dir, rows) = t.view(&all).unwrap();
            for key in 0..1usize << t.len {
                let (s, e) = (dir.start(key).unwrap(), dir.start(key + 1).unwrap());
                assert_eq!(dir.bucket(key), (s, e), "bucket {key}");
            }
            for b in 0..set.len() {
                assert_eq!(
                    rows.first(b),
                    [0, 1, 2, 3].map(|j| rows.at(b + j)),
                    "at {b}"
                );
            }
        }
        for t in [0, 9, 31, 50] {
            let want: Vec<BTreeSet<(usize, u32)>> = queries
                .iter()
                .map(|q| {
                    let d = |h: &[u64; 4]| distance(q, h);
                    let near = set.iter().enumerate().filter(|(_, h)| d(h) <= t);
                    near.map(|(row, h)| (row, d(h))).collect()
                })
                .collect();
            let mut got = vec![BTreeSet::new(); queries.len()];
            mih.search_batch(&all, &hashes, queries, t, |qi, row, d| {
                assert!(got[qi].insert((row, d)), "reported twice");
            });
            assert_eq!(got, want, "batch, threshold {t}, layout {force:?}");
            let few = &queries[..8.min(queries.len())];
            let mut got = vec![BTreeSet::new(); few.len()];
            mih.search(&all, &hashes, few, t, |qi, row, d| {
                assert!(got[qi].insert((row, d)), "reported twice");
            });
            assert_eq!(
                got,
                want[..few.len()],
                "single, threshold {t}, layout {force:?}"
            );
        }
        mih
    }

    /// Every layout (blocks of 2 to 256 buckets or none, 3- or 4-byte rows) finds what
    /// brute force finds.
    #[test]
    fn every_layout_equals_brute_force() {
        let mut rng = XorShift(0x1234_5678_9ABC_DEF1);
        let centres: Vec<[u64; 4]> = (0..20)
            .map(|_| [rng.next(), rng.next(), rng.next(), rng.next()])
            .collect();
        let mut set: Vec<[u64; 4]> = (0..2000)
            .map(|i| {
                let k = rng.next() % 24;
                flipped(&mut rng, centres[i % 20], k)
            })
            .collect();
        set.sort_unstable();
        set.dedup();
        let queries = near(&mut rng, &set, 150);
        for bits in 0..=MAX_BLOCK_BITS {
            for narrow in [false, true] {
                let mih = check_tables(&set, &queries, Some((bits, narrow)));
                for t in &mih.tables[1..] {
                    assert_eq!(t.bits, bits);
                    assert_eq!(t.rows.as_ref().unwrap().1, if narrow { 3 } else { 4 });
                }
            }
        }
    }

    /// A bucket of more than 255 rows makes its table take the largest blocks it ends, one
    /// u32 a bucket when it ends none; the other tables keep blocks of 256.
    #[test]
    fn crowded_buckets_take_smaller_blocks() {
        let mut rng = XorShift(0xC0FF_EE00_0000_0007);
        // 600 hashes that share their first 64 bits: tables 1 to 3 (bits 16 to 63) hold them
        // all in one bucket.
        let first = rng.next();
        let mut set: Vec<[u64; 4]> = (0..600)
            .map(|_| [first, rng.next(), rng.next(), rng.next()])
            .collect();
        set.sort_unstable();
        set.dedup();
        let queries = near(&mut rng, &set, 100);
        let mih = check_tables(&set, &queries, None);
        for (i, t) in mih.tables.iter().enumerate().skip(1) {
            if i < 4 {
                // Every row is in bucket c: the buckets after it in its block start 600
                // rows on, so only blocks that end with c fit.
                let c = substring(&set[0], t.start, t.len);
                assert_eq!(
                    t.bits,
                    (c + 1).trailing_zeros().min(MAX_BLOCK_BITS),
                    "table {i}"
                );
            } else {
                assert_eq!(t.bits, MAX_BLOCK_BITS, "table {i}");
            }
        }
    }

    /// Tables of these substring lengths, with no directory or rows (for the radii).
    fn shape(lengths: &[u32]) -> Mih {
        let mut start = 0;
        let tables = lengths
            .iter()
            .map(|&len| {
                let t = Table {
                    start,
                    len,
                    bits: 0,
                    dir: 0..0,
                    rows: None,
                };
                start += len;
                t
            })
            .collect();
        Mih::new(tables, 0)
    }

    #[test]
    fn radii_add_up_to_the_threshold_plus_one() {
        // (u32::MAX must not take four billion steps.)
        for rows in [1 << 14, 1 << 20, 10_000_000, 1 << 28] {
            let mih = shape(&plan(rows, None).unwrap());
            for r in (0..300).chain([u32::MAX]) {
                let sum: u32 = mih
                    .cheapest_radii(r, rows)
                    .iter()
                    .map(|t| t.map_or(0, |t| t + 1))
                    .sum();
                // Past 256 (every row), the radii stop growing.
                assert_eq!(sum, r.min(256) + 1, "rows {rows} threshold {r}");
            }
        }
    }

    #[test]
    fn radii_are_the_cheapest() {
        // Every choice of radii for four tables up to half their lengths, against the one
        // taken. (Past that, where no search goes, probing one table's every key can be the
        // cheapest.)
        let mih = shape(&[13, 12, 10, 9]);
        for rows in [1usize << 10, 1 << 16, 1 << 20] {
            for r in 0..14u32 {
                let chosen = mih.cheapest_radii(r, rows);
                let cost = |radii: &[Option<u32>]| {
                    (mih.tables.iter().zip(radii))
                        .filter_map(|(t, r)| Some(table_cost(t.len, (*r)?, rows)))
                        .sum::<u128>()
                };
                let options = || (0..=r + 1).map(|t| t.checked_sub(1));
                let half = |radii: &[Option<u32>; 4]| {
                    (radii.iter().zip(&mih.tables)).all(|(r, t)| r.map_or(0, |r| 2 * r) <= t.len)
                };
                let mut best = u128::MAX;
                for a in options() {
                    for b in options() {
                        for c in options() {
                            for d in options() {
                                let radii = [a, b, c, d];
                                let sum: u32 = radii.iter().map(|t| t.map_or(0, |t| t + 1)).sum();
                                if sum == r + 1 && half(&radii) {
                                    best = best.min(cost(&radii));
                                }
                            }
                        }
                    }
                }
                assert_eq!(cost(&chosen), best, "rows {rows} threshold {r}: {chosen:?}");
            }
        }
        // At 10M rows (3 tables of 24 bits, 8 of 23), radius 1 goes to a 23-bit table; at
        // 1M (4 of 22, 8 of 21), radius 2 goes to every 22-bit table.
        let radii_of = |lengths: &[u32], rows| shape(lengths).cheapest_radii(31, rows);
        let mut lengths = vec![24; 3];
        lengths.extend([23; 8]);
        let radii = radii_of(&lengths, 10_000_000);
        let one: Vec<u32> = (lengths.iter().zip(&radii))
            .filter(|(_, r)| **r == Some(1))
            .map(|(l, _)| *l)
            .collect();
        assert_eq!(one, [23]);
        let mut lengths = vec![22; 4];
        lengths.extend([21; 8]);
        let radii = radii_of(&lengths, 1_000_000);
        for (l, r) in lengths.iter().zip(&radii) {
            if *l == 22 {
                assert_eq!(*r, Some(2));
            }
        }
    }

    /// The cost of `lengths` searched with the radii that cost least: every table at a
    /// radius up to AUTO_MAX_RADIUS, the units `t + 1` adding up to `units` or more.
    fn best_cost(lengths: &[u32], units: u32, rows: usize) -> u128 {
        let u = units as usize;
        // cost[k]: the least cost of the tables so far covering k units (u or more at u).
        let mut cost = vec![u128::MAX; u + 1];
        cost[0] = 0;
        for &len in lengths {
            let mut next = vec![u128::MAX; u + 1];
            for (k, &c) in cost.iter().enumerate().filter(|(_, c)| **c != u128::MAX) {
                for t in 0..=AUTO_MAX_RADIUS {
                    let to = (k + t as usize + 1).min(u);
                    next[to] = next[to].min(c + table_cost(len, t, rows));
                }
            }
            cost = next;
        }
        cost[u]
    }

    #[test]
    fn lengths_are_the_cheapest() {
        // Every set of lengths (AUTO_MIN_LEN to AUTO_MAX_LEN) that covers `bits`, each with
        // its cheapest radii, against the set the builder takes.
        fn sets(bits: u32, min: u32, out: &mut Vec<u32>, all: &mut Vec<Vec<u32>>) {
            if bits == 0 {
                all.push(out.clone());
            }
            for len in min.max(AUTO_MIN_LEN)..=AUTO_MAX_LEN.min(bits) {
                // (No row count below runs past AUTO_MAX_LEN.)
                out.push(len);
                sets(bits - len, len, out, all);
                out.pop();
            }
        }
        for bits in [40u32, 57, 64] {
            let mut all = Vec::new();
            sets(bits, AUTO_MIN_LEN, &mut Vec::new(), &mut all);
            for rows in [1usize << 10, 1 << 16, 1 << 20] {
                for threshold in 0..8u32 {
                    let chosen = cheapest_lengths(rows, threshold, bits as usize);
                    assert_eq!(chosen.iter().sum::<u32>(), bits);
                    assert!(chosen.windows(2).all(|w| w[0] >= w[1]), "{chosen:?}");
                    let best = all.iter().map(|s| best_cost(s, threshold + 1, rows)).min();
                    assert_eq!(
                        Some(best_cost(&chosen, threshold + 1, rows)),
                        best,
                        "bits {bits} rows {rows} threshold {threshold}: {chosen:?}"
                    );
                }
            }
        }
        // At PDQ's size, the plan covers the 256 bits and beats the even split of about
        // log2(rows) bits (at least 11 tables), which it was before.
        for rows in [1usize << 14, 1 << 20, 10_000_000, 1 << 27] {
            let lengths = plan(rows, None).unwrap();
            assert_eq!(lengths.iter().sum::<u32>(), 256, "{lengths:?}");
            assert!(lengths.iter().all(|&l| l <= MAX_LEN));
            let units = PLAN_THRESHOLD + 1;
            let m = (256.0 / (rows as f64).log2().clamp(8.0, 24.0)).floor() as usize;
            let even = plan(rows, Some(m.max(11))).unwrap();
            assert!(best_cost(&lengths, units, rows) <= best_cost(&even, units, rows));
            // The radii a search takes cost what the plan counted on.
            let radii = shape(&lengths).cheapest_radii(PLAN_THRESHOLD, rows);
            let taken: u128 = (lengths.iter().zip(&radii))
                .filter_map(|(&l, r)| Some(table_cost(l, (*r)?, rows)))
                .sum();
            assert_eq!(
                taken,
                best_cost(&lengths, units, rows),
                "rows {rows}: {lengths:?}"
            );
        }
    }
}
