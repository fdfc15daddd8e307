//! How fast the exact linear PDQ search is: an index of 100,000 and 1,000,000 random PDQ
//! hashes (plus one near-duplicate of each query, so every search reports a match), searched
//! at the match threshold 31 with one query ([`Index::pdq_search`]) and with a batch of 8
//! ([`Index::pdq_search_many`], the 8 dihedral variants of an image). Throughput is in
//! queries, so criterion's `elem/s` is queries/s.
//!
//! `VIGIE_BENCH_PDQ_SIZES` (comma-separated) changes the index sizes.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vigie::index::{Index, IndexBuilder};
use vigie::lists::ListHash;
use vigie::perceptual::pdq::{PdqHash, MATCH_THRESHOLD};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn pdq(&mut self) -> PdqHash {
        let mut b = [0u8; 32];
        for c in b.chunks_mut(8) {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        PdqHash(b)
    }
}

fn sizes() -> Vec<usize> {
    std::env::var("VIGIE_BENCH_PDQ_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100_000, 1_000_000])
}

/// An index of `n` random hashes and a near-duplicate (10 bits flipped) of each query.
fn setup(n: usize, queries: &[PdqHash], rng: &mut XorShift) -> Index {
    let mut hashes: Vec<ListHash> = (0..n).map(|_| ListHash::Pdq(rng.pdq())).collect();
    for q in queries {
        let mut near = *q;
        for k in 0..10 {
            near.0[k * 3] ^= 1 << (k % 8);
        }
        hashes.push(ListHash::Pdq(near));
    }
    let mut b = IndexBuilder::new();
    b.add_hashes("bench", "bench", "generated", hashes)
        .unwrap_or_else(|e| panic!("{e}"));
    b.into_index().unwrap_or_else(|e| panic!("{e}"))
}

fn bench(c: &mut Criterion) {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let queries: Vec<PdqHash> = (0..8).map(|_| rng.pdq()).collect();
    let mut g = c.benchmark_group("pdq_search");
    g.sample_size(20);
    for n in sizes() {
        let idx = setup(n, &queries, &mut rng);
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::new("single", n), &idx, |b, idx| {
            b.iter(|| {
                let mut found = 0u32;
                idx.pdq_search(black_box(&queries[0]), MATCH_THRESHOLD, |m| {
                    found += m.distance;
                });
                black_box(found)
            })
        });
        g.throughput(Throughput::Elements(queries.len() as u64));
        g.bench_with_input(BenchmarkId::new("batch8", n), &idx, |b, idx| {
            b.iter(|| {
                let mut found = 0u32;
                idx.pdq_search_many(black_box(&queries), MATCH_THRESHOLD, |i, m| {
                    found += m.distance + i as u32;
                });
                black_box(found)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
