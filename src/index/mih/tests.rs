//! Tests of the multi-index tables: bit order of the substrings, the masks of a ball, every
//! layout against brute force, the choice of block sizes, radii and lengths.

use super::build::*;
use super::search::*;
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
