//! The tables searched by Hamming distance: the PDQ hashes (kind 7, 32 bytes a row) and
//! Python ImageHash's 64-bit pHashes and dHashes (kind 11, 8 bytes a row), each a sorted
//! column of hashes then a column of provenance groups. A PDQ search goes through the
//! multi-index tables (`mih/`) when the index has them and they cost less than a scan at the
//! threshold asked; otherwise, and for pHash and dHash always, the table is scanned in tiles
//! that stay in cache while each group of eight queries is compared with them (an XOR and a
//! SWAR bit count per pair, which vectorizes over the group).

use std::ops::Range;

use super::format::{u64_at, IMG_LEN, KIND_PDQ, KIND_PDQ_MIH, PDQ_LEN};
use super::mih::{self, Mih};
use super::{Index, ListRefs};
use crate::perceptual::imghash::{ImgHash64, ImgKind};
use crate::perceptual::pdq::PdqHash;

/// PDQ hashes scanned per tile by [`Index::pdq_search_many`] (128 KiB: stays in L2 while
/// every group of queries scans it).
pub(super) const PDQ_TILE: usize = 4096;
/// Queries compared with each hash in one pass.
pub(super) const PDQ_GROUP: usize = 8;
/// Fewest queries searched as one multi-index batch (slice by slice) rather than one by one.
pub(super) const MIH_BATCH_MIN: usize = 64;
/// Candidate rows a multi-index batch may collect (4 bytes each, a sixteenth more reserved):
/// the 8 dihedral variants of a scan's 1,024 images at 10M hashes (about 24M), and a
/// directory stream shared by about 11,000 queries.
pub(super) const MIH_BATCH_PAIRS: u64 = 1 << 25;
/// 64-bit image hashes scanned per tile by [`Index::img_search_many`] (32 KiB: stays in L1
/// while every group of queries scans it).
pub(super) const IMG_TILE: usize = 4096;

/// One PDQ entry within a search's distance of a query.
#[derive(Clone, Debug)]
pub struct PdqMatch<'a> {
    /// The entry's hash (not the query).
    pub hash: PdqHash,
    /// Hamming distance between the query and the entry (0..=256).
    pub distance: u32,
    /// The (list, label) pairs the entry was listed with.
    pub hits: ListRefs<'a>,
}

/// One 64-bit image hash entry within a search's distance of a query.
#[derive(Clone, Debug)]
pub struct ImgMatch<'a> {
    /// The entry's hash (not the query).
    pub hash: ImgHash64,
    /// Hamming distance between the query and the entry (0..=64).
    pub distance: u32,
    /// The (list, label) pairs the entry was listed with.
    pub hits: ListRefs<'a>,
}

/// A table of 32-byte hashes in a file (sorted, as the PDQ and vPDQ frame sections hold
/// them) with its multi-index tables when it has some: what a radius search reads.
#[derive(Clone, Copy)]
pub(crate) struct HashRows<'a> {
    /// The whole file.
    pub(super) all: &'a [u8],
    /// The hashes, 32 bytes each.
    pub(super) hashes: &'a [u8],
    pub(super) rows: usize,
    pub(super) mih: Option<&'a Mih>,
}

impl HashRows<'_> {
    /// Calls `out(query, row, distance)` for every row within `threshold` of each of
    /// `queries`, each row at most once per query, in no particular order; `force_mih` as
    /// [`Index::pdq_search_by`] takes it.
    pub(super) fn search(
        &self,
        queries: &[PdqHash],
        threshold: u32,
        force_mih: Option<bool>,
        mut out: impl FnMut(usize, usize, u32),
    ) {
        if queries.is_empty() {
            return;
        }
        let (all, hashes) = (self.all, self.hashes);
        let qs: Vec<[u64; 4]> = queries.iter().map(|q| pdq_words(&q.0)).collect();
        let mut emit = |row: usize, q: usize, distance: u32| out(q, row, distance);
        let use_mih = |m: &Mih| force_mih.unwrap_or_else(|| m.cost(threshold) < self.rows as u64);
        if let Some(mih) = self.mih.filter(|m| use_mih(m)) {
            let words: Vec<[u64; 4]> = queries.iter().map(|q| mih::be_words(&q.0)).collect();
            if words.len() < MIH_BATCH_MIN {
                mih.search(all, hashes, &words, threshold, |qi, row, d| {
                    emit(row, qi, d)
                });
                return;
            }
            // Batches of even size whose candidate rows stay within MIH_BATCH_PAIRS.
            let per_query = mih.candidates(threshold).max(1);
            let most =
                ((MIH_BATCH_PAIRS / per_query) as usize).clamp(1, words.len().min(mih::MAX_BATCH));
            let batch = words.len().div_ceil(words.len().div_ceil(most));
            for (b, chunk) in words.chunks(batch).enumerate() {
                mih.search_batch(all, hashes, chunk, threshold, |qi, row, d| {
                    emit(row, b * batch + qi, d)
                });
            }
            return;
        }
        if let [q] = qs[..] {
            scan::<1>(hashes, 0, &transpose(&[q]), 0, 1, threshold, &mut emit);
            return;
        }
        // Groups of eight queries, the last one padded with its first query (the padding
        // never reports), transposed for the scan.
        let groups: Vec<[[u64; PDQ_GROUP]; 4]> = qs
            .chunks(PDQ_GROUP)
            .map(|group| {
                let mut qg = [group[0]; PDQ_GROUP];
                qg[..group.len()].copy_from_slice(group);
                transpose(&qg)
            })
            .collect();
        for (tile_no, tile) in hashes.chunks(PDQ_TILE * PDQ_LEN).enumerate() {
            for (g, (qt, group)) in groups.iter().zip(qs.chunks(PDQ_GROUP)).enumerate() {
                scan::<PDQ_GROUP>(
                    tile,
                    tile_no * PDQ_TILE,
                    qt,
                    g * PDQ_GROUP,
                    group.len(),
                    threshold,
                    &mut emit,
                );
            }
        }

        /// `K` queries as words, word-major: `[i][j]` is word `i` of query `j`, so that the
        /// comparison of one hash with the `K` queries is a loop over lanes that vectorizes.
        fn transpose<const K: usize>(qs: &[[u64; 4]; K]) -> [[u64; K]; 4] {
            std::array::from_fn(|i| std::array::from_fn(|j| qs[j][i]))
        }

        /// Compares every hash of `hashes` (row numbers from `first_row`) with the `K`
        /// queries of `qt` (transposed; query numbers from `first_q`, the first `live` of
        /// them real).
        #[inline(always)]
        fn scan<const K: usize>(
            hashes: &[u8],
            first_row: usize,
            qt: &[[u64; K]; 4],
            first_q: usize,
            live: usize,
            threshold: u32,
            emit: &mut impl FnMut(usize, usize, u32),
        ) {
            for (i, h) in hashes.chunks_exact(PDQ_LEN).enumerate() {
                let Some(h) = h.first_chunk::<PDQ_LEN>() else {
                    continue;
                };
                let w = pdq_words(h);
                let mut bytes = [0u64; K];
                for (wi, qi) in w.iter().zip(qt) {
                    for (b, q) in bytes.iter_mut().zip(qi) {
                        *b += byte_counts(wi ^ q);
                    }
                }
                let mut d = [0u32; K];
                let mut any = false;
                for (d, b) in d.iter_mut().zip(bytes) {
                    *d = byte_sum(b);
                    any |= *d <= threshold;
                }
                if any {
                    for (j, &d) in d.iter().enumerate().take(live) {
                        if d <= threshold {
                            emit(first_row + i, first_q + j, d);
                        }
                    }
                }
            }
        }
    }
}

/// Where the PDQ table (or a table of 64-bit image hashes) lives in the file.
#[derive(Clone, Debug)]
pub(super) struct PdqTable {
    /// Byte range of the hashes (32 bytes each; 8 in a table of image hashes).
    pub(super) hashes: Range<usize>,
    /// Byte range of the provenance groups (`width` bytes each).
    pub(super) groups: Range<usize>,
    /// Bytes of a provenance group: 0 (every row in group 0), 1, 2 or 4.
    pub(super) width: usize,
    pub(super) rows: usize,
}

impl PdqTable {
    /// The provenance group of `row`, `None` past the table (damage).
    #[inline]
    pub(super) fn group(&self, all: &[u8], row: usize) -> Option<u32> {
        if self.width == 0 {
            return (row < self.rows).then_some(0);
        }
        let at = self.groups.start + row * self.width;
        let b = all.get(at..at + self.width)?;
        Some(b.iter().rev().fold(0, |g, &x| (g << 8) | u32::from(x)))
    }
}

/// A PDQ hash as four 64-bit words (little-endian loads: only the XOR's bit count matters).
#[inline(always)]
pub(crate) fn pdq_words(h: &[u8; PDQ_LEN]) -> [u64; 4] {
    let mut w = [0u64; 4];
    for (w, c) in w.iter_mut().zip(h.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        *w = u64::from_le_bytes(b);
    }
    w
}

/// SWAR masks of the bit count.
const M1: u64 = 0x5555_5555_5555_5555;
const M2: u64 = 0x3333_3333_3333_3333;
const M4: u64 = 0x0F0F_0F0F_0F0F_0F0F;
const M8: u64 = 0x00FF_00FF_00FF_00FF;

/// The bit counts of the bytes of `x`, each byte holding its own count (0..=8).
#[inline(always)]
pub(super) fn byte_counts(x: u64) -> u64 {
    let x = x - ((x >> 1) & M1);
    let x = (x & M2) + ((x >> 2) & M2);
    (x + (x >> 4)) & M4
}

/// The sum of the bytes of `bytes`, each at most 32 (the total, up to 256, needs 9 bits).
/// Shifts and adds only, so that it vectorizes on SSE2 (no 64-bit multiply there).
#[inline(always)]
pub(super) fn byte_sum(bytes: u64) -> u32 {
    let x = (bytes & M8) + ((bytes >> 8) & M8);
    let x = x + (x >> 16);
    let x = x + (x >> 32);
    (x & 0x1FF) as u32
}

/// Hamming distance between two hashes given as words: the bits of the four XORs, counted
/// together (SWAR: the per-byte counts of the four words are added before one horizontal
/// sum). The scan of [`Index::pdq_search_many`] does this arithmetic for several queries at
/// once; the default x86-64 target has no POPCNT, and it is faster than `count_ones` there.
#[cfg(test)]
pub(super) fn pdq_distance(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    let mut bytes = 0u64;
    for i in 0..4 {
        bytes += byte_counts(a[i] ^ b[i]);
    }
    byte_sum(bytes)
}

impl Index {
    /// Maps every page of the PDQ hashes and their multi-index tables into the process in
    /// one call (`MADV_POPULATE_READ` on Linux), instead of one page fault per 4 KiB page
    /// touched: worth it before searching a large batch (`vigie match` on a list), not for a
    /// few queries. The bytes come from the page cache, or are read from the file.
    pub fn pdq_prefault(&self) {
        if let Some(t) = &self.pdq {
            let end = self
                .sections
                .iter()
                .filter(|s| s.kind == KIND_PDQ || s.kind == KIND_PDQ_MIH)
                .map(|s| (s.offset + s.len) as usize)
                .max()
                .unwrap_or(t.groups.end);
            self.data.populate(t.hashes.start..end);
        }
        for t in self.img.iter().flatten() {
            self.data.populate(t.hashes.start..t.groups.end);
        }
    }

    /// Distinct PDQ hashes in the index.
    pub fn pdq_len(&self) -> usize {
        self.pdq.as_ref().map_or(0, |t| t.rows)
    }

    /// Distinct 64-bit image hashes of kind `kind` in the index.
    pub fn img_len(&self, kind: ImgKind) -> usize {
        self.img[usize::from(kind.id())]
            .as_ref()
            .map_or(0, |t| t.rows)
    }

    /// Finds every entry of kind `kind` within Hamming distance `threshold` of each of
    /// `queries`, calling `out(i, match)` for each entry within `threshold` of `queries[i]`,
    /// in no particular order, each entry once per query.
    ///
    /// # Algorithm
    /// An exact linear scan, as the PDQ table's without multi-index tables: the table is read
    /// in tiles of `IMG_TILE` hashes (32 KiB) that stay in cache while every group of eight
    /// queries is compared with them (an XOR and a SWAR bit count per pair, which vectorizes
    /// over the group). 8 bytes an entry stream from memory, and the compare is a handful of
    /// instructions: the README gives the measured rate at 1M entries.
    pub fn img_search_many(
        &self,
        kind: ImgKind,
        queries: &[ImgHash64],
        threshold: u32,
        mut out: impl FnMut(usize, ImgMatch<'_>),
    ) {
        let Some(t) = &self.img[usize::from(kind.id())] else {
            return;
        };
        if queries.is_empty() {
            return;
        }
        let all = self.data.bytes();
        let Some(hashes) = all.get(t.hashes.clone()) else {
            return;
        };
        let mut emit = |row: usize, q: usize, distance: u32| {
            let hash = ImgHash64(u64_at(hashes, row * IMG_LEN).unwrap_or(0));
            let g = t.group(all, row).unwrap_or(u32::MAX);
            out(
                q,
                ImgMatch {
                    hash,
                    distance,
                    hits: self.hits(all, g),
                },
            );
        };
        // Groups of eight queries, the last one padded with its first query (the padding
        // never reports).
        let groups: Vec<[u64; PDQ_GROUP]> = queries
            .chunks(PDQ_GROUP)
            .map(|group| {
                let mut qg = [group[0].0; PDQ_GROUP];
                for (q, h) in qg.iter_mut().zip(group) {
                    *q = h.0;
                }
                qg
            })
            .collect();
        let mut words = vec![0u64; IMG_TILE];
        for (tile_no, tile) in hashes.chunks(IMG_TILE * IMG_LEN).enumerate() {
            // The tile's hashes as words, once for every group of queries.
            let n = tile.len() / IMG_LEN;
            for (w, h) in words.iter_mut().zip(tile.chunks_exact(IMG_LEN)) {
                *w = u64_at(h, 0).unwrap_or(0);
            }
            for (g, (qg, group)) in groups.iter().zip(queries.chunks(PDQ_GROUP)).enumerate() {
                img_scan(
                    &words[..n],
                    tile_no * IMG_TILE,
                    qg,
                    g * PDQ_GROUP,
                    group.len(),
                    threshold,
                    &mut emit,
                );
            }
        }

        /// Compares every hash of `tile` (row numbers from `first_row`) with the eight
        /// queries of `qg` (query numbers from `first_q`, the first `live` of them real).
        #[inline(always)]
        fn img_scan(
            tile: &[u64],
            first_row: usize,
            qg: &[u64; PDQ_GROUP],
            first_q: usize,
            live: usize,
            threshold: u32,
            emit: &mut impl FnMut(usize, usize, u32),
        ) {
            for (i, &h) in tile.iter().enumerate() {
                let mut d = [0u32; PDQ_GROUP];
                for (d, q) in d.iter_mut().zip(qg) {
                    *d = byte_sum(byte_counts(h ^ q));
                }
                if d.iter().any(|&d| d <= threshold) {
                    for (j, &d) in d.iter().enumerate().take(live) {
                        if d <= threshold {
                            emit(first_row + i, first_q + j, d);
                        }
                    }
                }
            }
        }
    }

    /// Finds every PDQ entry within Hamming distance `threshold` of `query` (inclusive: 31 is
    /// ThreatExchange's match threshold), calling `out` for each, in no particular order.
    /// Exact, whichever search [`Index::pdq_search_many`] chooses.
    pub fn pdq_search(&self, query: &PdqHash, threshold: u32, mut out: impl FnMut(PdqMatch<'_>)) {
        self.pdq_search_many(std::slice::from_ref(query), threshold, |_, m| out(m));
    }

    /// Finds every PDQ entry within `threshold` of each of `queries`, calling
    /// `out(i, match)` for each entry within `threshold` of `queries[i]`, in no particular
    /// order, each entry at most once per query.
    ///
    /// When the index has multi-index tables and their expected cost at this threshold is
    /// below a linear scan's, each query reads only the buckets its pigeonhole radii reach
    /// (see the `mih` module). Otherwise the table is read once from memory for the whole
    /// batch: it is scanned in tiles that stay in cache while each group of eight queries is
    /// compared with them.
    pub fn pdq_search_many(
        &self,
        queries: &[PdqHash],
        threshold: u32,
        out: impl FnMut(usize, PdqMatch<'_>),
    ) {
        self.pdq_search_by(queries, threshold, None, out);
    }

    /// [`Index::pdq_search_many`] with the search forced: `Some(true)` the multi-index
    /// tables (when there are some), `Some(false)` the linear scan, `None` the cheaper.
    pub(super) fn pdq_search_by(
        &self,
        queries: &[PdqHash],
        threshold: u32,
        force_mih: Option<bool>,
        mut out: impl FnMut(usize, PdqMatch<'_>),
    ) {
        let Some(t) = &self.pdq else { return };
        let all = self.data.bytes();
        let Some(hashes) = all.get(t.hashes.clone()) else {
            return;
        };
        let table = HashRows {
            all,
            hashes,
            rows: t.rows,
            mih: self.mih.as_ref(),
        };
        table.search(queries, threshold, force_mih, |q, row, distance| {
            let at = row * PDQ_LEN;
            let mut hash = PdqHash::ZERO;
            hash.0.copy_from_slice(&hashes[at..at + PDQ_LEN]);
            let g = t.group(all, row).unwrap_or(u32::MAX);
            out(
                q,
                PdqMatch {
                    hash,
                    distance,
                    hits: self.hits(all, g),
                },
            );
        });
    }
}
