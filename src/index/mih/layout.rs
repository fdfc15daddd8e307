//! A table's bucket starts and row numbers as they lie in the file, in each of their
//! layouts (see the module documentation): [`Dir`] reads a bucket's positions from u32
//! starts or from blocks of byte offsets, [`Rows`] a position's PDQ row from 3- or 4-byte
//! row numbers, or the position itself in the table whose order is the PDQ table's.

use std::ops::Range;

use super::UNROLL;
use crate::index::format::u32_at;

/// A table's row numbers as found in the file.
#[derive(Clone, Copy)]
pub(super) enum Rows<'a> {
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
    pub(super) fn at(self, pos: usize) -> u64 {
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
    pub(super) fn first(self, b: usize) -> [u64; UNROLL] {
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
    pub(super) fn bytes(self, pos: Range<usize>) -> &'a [u8] {
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
pub(super) enum Dir<'a> {
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
    pub(super) fn bucket(self, key: usize) -> (usize, usize) {
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
    pub(super) fn start(self, key: usize) -> Option<usize> {
        match self {
            Dir::Wide(d) => u32_at(d, 4 * key).map(|x| x as usize),
            Dir::Blocked { bits, bases, offs } => {
                let base = u32_at(bases, 4 * (key >> bits))? as usize;
                Some(base + usize::from(*offs.get(key)?))
            }
        }
    }

    /// The bytes that hold the starts of the buckets `keys`.
    pub(super) fn bytes(self, keys: Range<usize>) -> [&'a [u8]; 2] {
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

/// Positions `[start(key), start(key + 1))` of bucket `key` of a directory in blocks of
/// 2^`bits` buckets, from the start of its block (`base`), that of the next block (`next`)
/// and the offsets `o` of the bucket and of the one after it: when that one starts the next
/// block, its offset counts from `next`.
#[inline(always)]
pub(super) fn blocked_span(
    key: usize,
    bits: u32,
    base: usize,
    next: usize,
    o: [u8; 2],
) -> (usize, usize) {
    let last = (key + 1) & ((1 << bits) - 1) == 0;
    let end_base = if last { next } else { base };
    (base + usize::from(o[0]), end_base + usize::from(o[1]))
}
