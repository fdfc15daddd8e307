//! The exact-digest tables: per algorithm, records of (digest, provenance group) sorted by
//! digest, and over them buckets of one cache line holding the fingerprints of their first
//! rows (layout in `format.rs`, kinds 5 and 6). A lookup reads the bucket of the digest's
//! first 8 bytes and confirms a fingerprint match in one record; a bucket of more rows than
//! fingerprint slots is searched by interpolation then binary search.

use std::ops::Range;

use super::format::{u32_at, u64_at, BUCKET, SLOTS};
use super::{Index, ListRefs};
use crate::hash::{Algo, Digest};

/// Queries per group of [`Index::lookup_batch`].
pub(super) const BATCH: usize = 16;

/// Where one digest table lives in the file.
#[derive(Clone, Debug)]
pub(super) struct Table {
    pub(super) algo: Algo,
    /// Number of buckets, at least 1.
    pub(super) buckets: usize,
    /// Byte range of the buckets.
    pub(super) bkts: Range<usize>,
    /// Byte range of the records.
    pub(super) recs: Range<usize>,
    pub(super) rows: usize,
    pub(super) width: usize,
}

/// What the bucket of a key says: the bucket's rows `[first, first + count)`, and whether the
/// key may be among them (a fingerprint matched, or the bucket overflows), then at which row.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Probe {
    first: usize,
    count: usize,
    est: usize,
    maybe: bool,
}

/// The first 8 digest bytes as a big-endian integer (0 if shorter).
#[inline(always)]
pub(super) fn prefix(key: &[u8]) -> u64 {
    key.first_chunk::<8>().map_or(0, |b| u64::from_be_bytes(*b))
}

/// The fingerprint of a digest: its bytes 8..16, loaded as a little-endian integer.
#[inline(always)]
pub(super) fn fingerprint(key: &[u8]) -> u64 {
    u64_at(key, 8).unwrap_or(0)
}

/// The bucket of a digest whose prefix is `p` among `buckets` buckets, and the position of
/// the digest within the bucket as a fraction of 2^64: `p * buckets / 2^64`, split into its
/// integer and fractional parts. Monotonic in `p`, so a bucket is a run of sorted rows.
#[inline(always)]
pub(super) fn place(p: u64, buckets: usize) -> (usize, u64) {
    let x = u128::from(p) * buckets as u128;
    ((x >> 64) as usize, x as u64)
}

impl Table {
    /// Byte offset of the bucket of `key`.
    #[inline(always)]
    pub(super) fn bucket_at(&self, key: &[u8]) -> usize {
        self.bkts.start + place(prefix(key), self.buckets).0 * BUCKET
    }

    /// Reads the bucket of `key` (one cache line) and compares its fingerprints. No branch
    /// depends on the loaded values, so that the probes of several queries overlap.
    #[inline(always)]
    pub(super) fn probe(&self, all: &[u8], key: &[u8]) -> Probe {
        let (b, frac) = place(prefix(key), self.buckets);
        let at = self.bkts.start + b * BUCKET;
        let Some(line) = all
            .get(at..at + BUCKET)
            .and_then(|l| l.first_chunk::<BUCKET>())
        else {
            return Probe::default();
        };
        let head = u64_at(line, 0).unwrap_or(0);
        let first = (head & 0xFFFF_FFFF) as usize;
        let count = (head >> 32) as usize;
        let fp = fingerprint(key);
        let mut mask = 0u32;
        for j in 0..SLOTS {
            mask |= u32::from(u64_at(line, 8 + 8 * j) == Some(fp)) << j;
        }
        mask &= (1u32 << count.min(SLOTS)) - 1;
        let over = count > SLOTS;
        // An overflowing bucket: interpolate within it.
        let interp = ((count as u128 * u128::from(frac)) >> 64) as usize;
        let off = if over {
            interp
        } else {
            mask.trailing_zeros() as usize
        };
        Probe {
            first,
            count,
            est: first.wrapping_add(off),
            maybe: over | (mask != 0),
        }
    }

    /// The provenance group of `key` if the probe's candidate row (or, for an overflowing
    /// bucket or a fingerprint collision, a search of the bucket's rows) holds it.
    #[inline(always)]
    pub(super) fn confirm(&self, all: &[u8], key: &[u8], p: Probe) -> Option<u32> {
        let hi = p.first.checked_add(p.count)?;
        if !(p.maybe && self.sane(p.first, hi)) {
            return None;
        }
        self.search(all, key, p.first, hi, p.est)
    }

    /// True when `[lo, hi)` is a non-empty run of rows of the table.
    #[inline(always)]
    pub(super) fn sane(&self, lo: usize, hi: usize) -> bool {
        lo < hi && hi <= self.rows
    }

    /// Byte offset of row `row`.
    #[inline(always)]
    pub(super) fn row_at(&self, row: usize) -> usize {
        self.recs.start.wrapping_add(row.wrapping_mul(self.width))
    }

    /// The provenance group of `key` among rows `[lo, hi)`, searching from row `est`: a short
    /// walk from the estimate (a few rows on evenly spread digests), then a binary search of
    /// what is left, so a skewed bucket costs O(log n) and not O(n).
    #[inline(always)]
    pub(super) fn search(
        &self,
        all: &[u8],
        key: &[u8],
        lo: usize,
        hi: usize,
        est: usize,
    ) -> Option<u32> {
        use std::cmp::Ordering::{Equal, Greater, Less};
        const WALK: usize = 8;
        let klen = key.len();
        let kp = key.first_chunk::<8>().map_or(0, |b| u64::from_be_bytes(*b));
        // Compares row `r` with the key: the first 8 bytes as an integer settle almost every
        // comparison; the rest only when they are equal.
        let cmp = |r: usize| -> Option<(std::cmp::Ordering, &[u8])> {
            let s = self.row_at(r);
            let rb = all.get(s..s + self.width)?;
            let rp = rb.first_chunk::<8>().map_or(0, |b| u64::from_be_bytes(*b));
            let o = if rp != kp {
                rp.cmp(&kp)
            } else {
                rb[..klen].cmp(key)
            };
            Some((o, rb))
        };
        let group = |r: &[u8]| u32_at(r, klen);
        let (mut lo, mut hi) = (lo, hi);
        match cmp(est)? {
            (Equal, r) => return group(r),
            (Less, _) => {
                let mut i = est + 1;
                while i < hi && i <= est + WALK {
                    match cmp(i)? {
                        (Equal, r) => return group(r),
                        (Greater, _) => return None,
                        (Less, _) => i += 1,
                    }
                }
                lo = i;
            }
            (Greater, _) => {
                let mut i = est;
                while i > lo && i + WALK >= est {
                    match cmp(i - 1)? {
                        (Equal, r) => return group(r),
                        (Less, _) => return None,
                        (Greater, _) => i -= 1,
                    }
                }
                hi = i;
            }
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match cmp(mid)? {
                (Equal, r) => return group(r),
                (Less, _) => lo = mid + 1,
                (Greater, _) => hi = mid,
            }
        }
        None
    }
}

impl Index {
    /// Looks `d` up: `None` when absent, else the (list, label) pairs it was listed with.
    #[inline]
    pub fn lookup(&self, d: &Digest) -> Option<ListRefs<'_>> {
        let t = self.tables[usize::from(d.algo().id())].as_ref()?;
        let all = self.data.bytes();
        let key = d.as_bytes();
        let group = t.confirm(all, key, t.probe(all, key))?;
        Some(self.hits(all, group))
    }

    /// Looks up every digest of `queries`, calling `on_hit(i, hits)` for each `queries[i]`
    /// found, in order. Faster than [`Index::lookup`] in a loop: a software pipeline over
    /// groups of queries touches the buckets of one group while it scans the buckets of the
    /// previous one (touching their candidate records) and confirms the candidates of the one
    /// before, so that many cache misses are in flight at once instead of one at a time.
    pub fn lookup_batch(&self, queries: &[Digest], on_hit: impl FnMut(usize, ListRefs<'_>)) {
        self.pipeline::<BATCH>(queries, on_hit);
    }

    /// [`Index::lookup_batch`] with groups of `K` queries.
    fn pipeline<const K: usize>(
        &self,
        queries: &[Digest],
        mut on_hit: impl FnMut(usize, ListRefs<'_>),
    ) {
        let all = self.data.bytes();
        let table = |q: &Digest| self.tables[usize::from(q.algo().id())].as_ref();
        // Touches the buckets of a group: the addresses first (no load from the index), then
        // a tight loop of loads, so that the reorder buffer holds all of them at once.
        let touch_buckets = |group: &[Digest]| {
            let mut at = [0usize; K];
            for (q, a) in group.iter().zip(at.iter_mut()) {
                *a = table(q).map_or(0, |t| t.bucket_at(q.as_bytes()));
            }
            let mut touch = 0u8;
            for &a in &at[..group.len()] {
                touch ^= all.get(a).copied().unwrap_or(0);
            }
            std::hint::black_box(touch);
        };
        // Scans the buckets of a group (cached or on their way) and touches the candidate
        // records (the file's first byte, always cached, when there is none).
        let probe = |group: &[Digest], probes: &mut [Probe; K]| {
            let mut at = [0usize; K];
            for ((q, p), a) in group.iter().zip(probes.iter_mut()).zip(at.iter_mut()) {
                *p = Probe::default();
                if let Some(t) = table(q) {
                    *p = t.probe(all, q.as_bytes());
                    *a = if p.maybe { t.row_at(p.est) } else { 0 };
                }
            }
            let mut touch = 0u8;
            for &a in &at[..group.len()] {
                touch ^= all.get(a).copied().unwrap_or(0);
            }
            std::hint::black_box(touch);
        };
        // Confirms the candidates of group `c`.
        let mut confirm = |c: usize, group: &[Digest], probes: &[Probe; K]| {
            for (j, (q, p)) in group.iter().zip(probes).enumerate() {
                if !p.maybe {
                    continue;
                }
                let Some(t) = table(q) else { continue };
                if let Some(g) = t.confirm(all, q.as_bytes(), *p) {
                    on_hit(c * K + j, self.hits(all, g));
                }
            }
        };
        let mut groups = queries.chunks(K).enumerate();
        let mut probes = [[Probe::default(); K]; 2];
        // (group number, queries) of the group whose candidates await confirmation.
        let mut pending: Option<(usize, &[Digest])> = None;
        let mut next = groups.next();
        if let Some((_, g)) = next {
            touch_buckets(g);
        }
        while let Some((c, group)) = next {
            next = groups.next();
            if let Some((_, g)) = next {
                touch_buckets(g);
            }
            probe(group, &mut probes[c % 2]);
            if let Some((p, g)) = pending {
                confirm(p, g, &probes[p % 2]);
            }
            pending = Some((c, group));
        }
        if let Some((p, g)) = pending {
            confirm(p, g, &probes[p % 2]);
        }
    }
}
