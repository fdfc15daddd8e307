//! Making the tables: the substring lengths chosen for a row count (the cheapest set at the
//! usual threshold, by a dynamic program over the expected cost of each table), and the
//! tables' section bytes, each in the most compact layout its buckets allow.

use super::*;

/// C(n, k), the number of `n`-bit keys with `k` bits set (`n` is at most 32 here, so no
/// product overflows).
pub(super) fn binomial(n: u32, k: u32) -> u64 {
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
pub(super) fn ball_size(len: u32, radius: u32) -> u64 {
    (0..=radius.min(len))
        .map(|k| binomial(len, k))
        .fold(0, u64::saturating_add)
}

/// Threshold the builder shapes the tables for: the usual PDQ match threshold (HMA's and
/// ThreatExchange's default). Other thresholds search the same tables with other radii.
pub(super) const PLAN_THRESHOLD: u32 = 31;

/// Shortest substring the builder chooses by itself.
pub(super) const AUTO_MIN_LEN: u32 = 8;

/// Largest radius the builder gives a table by itself.
pub(super) const AUTO_MAX_RADIUS: u32 = 4;

/// Substring lengths for `rows` PDQ hashes: `Some(lengths)` adds multi-index tables, `None`
/// keeps the linear scan alone. `forced` sets the number of tables (tests and benchmarks),
/// which then split the 256 bits evenly.
pub(in crate::index) fn plan(rows: usize, forced: Option<usize>) -> Option<Vec<u32>> {
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
pub(super) fn table_cost(len: u32, radius: u32, rows: usize) -> u128 {
    (u128::from(ball_size(len, radius)) * ((1u128 << len) + rows as u128)) << (32 - len.min(32))
}

/// Longest substring the builder chooses for `rows` hashes: [`AUTO_MAX_LEN`], or one bit
/// past log2(rows) (at most [`MAX_LEN`]), so that a directory never has more than about
/// two buckets a row (at 100M rows the cheapest tables have 25 and 28 bits).
pub(super) fn longest_auto(rows: usize) -> u32 {
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
pub(super) fn cheapest_lengths(rows: usize, threshold: u32, bits: usize) -> Vec<u32> {
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
pub(in crate::index) fn section_bytes(rows: usize, lengths: &[u32]) -> usize {
    lengths
        .iter()
        .enumerate()
        .map(|(i, &len)| HEAD + 4 * ((1usize << len) + 1) + if i == 0 { 0 } else { 4 * rows } + 64)
        .sum()
}

/// Builds the tables for the PDQ rows `hashes` (big-endian words, sorted, distinct): calls
/// `emit(table number, section bytes)` for each table in order.
pub(in crate::index) fn build(
    hashes: &[[u64; 4]],
    lengths: &[u32],
    emit: impl FnMut(u32, Vec<u8>),
) {
    build_with(hashes, lengths, None, emit);
}

/// [`build`], with the layout of the non-own tables forced (tests): `Some((block bits,
/// 3-byte rows))`, the block bits taken only where they fit.
pub(super) fn build_with(
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
