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
//!
//! Here: the constants, a table's header ([`Mih::open`]), the radii chosen for a threshold
//! and the costs that choose between this search and the scan, [`Mih::verify`]. The bucket
//! starts and row numbers as read from the file are in `layout.rs`, the choice of lengths
//! and the writing of the tables in `build.rs`, the searches in `search.rs`.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::OnceLock;

use rayon::prelude::*;

use super::format::u32_at;
use super::pdq_words;
use super::scratch::Scratch;
use build::{ball_size, table_cost};
use layout::{Dir, Rows};

mod build;
mod layout;
mod search;
#[cfg(test)]
mod tests;

pub(super) use build::{build, plan, section_bytes};

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
