//! Searching the tables: [`Mih::search`] one query after the other, in three passes a table
//! (bucket bounds, rows, hashes), and [`Mih::search_batch`] for many queries at once, slice
//! by slice of each directory so that the buckets and hashes a slice reads stay in cache.

use super::layout::{blocked_span, Dir, Rows};
use super::*;

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
pub(super) fn touch(b: &[u8]) {
    let mut x = 0u8;
    for line in b.chunks(64) {
        x ^= line[0];
    }
    std::hint::black_box(x);
}

/// Hamming distance of two hashes given as words.
#[inline(always)]
pub(super) fn distance(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

/// Calls `f` with every `len`-bit mask of at most `radius` set bits, by increasing weight.
#[inline]
pub(super) fn for_each_mask(len: u32, radius: u32, mut f: impl FnMut(u32)) {
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

impl Mih {
    /// Calls `emit(query, row, distance)` once for every PDQ row within `threshold` of each
    /// of `queries` (big-endian words), one query after the other: for a few queries, where
    /// [`Mih::search_batch`] would read whole slices for a few probes. `hashes` are the PDQ
    /// table's hash bytes. Each table is searched in three passes, the buckets' bounds, their
    /// rows, then the rows' hashes, so that the reads of a pass (random, in caches or DRAM)
    /// do not wait for one another. A damaged table never panics: positions or rows out of
    /// range are skipped, and every reported distance is computed from the row's own hash.
    pub(in crate::index) fn search(
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
    pub(in crate::index) fn search_batch(
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
