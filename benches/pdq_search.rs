//! How fast the exact PDQ search is: indexes of 100,000 and 1,000,000 random PDQ hashes (plus
//! a near-duplicate of each query, 10 bits away, so every search reports a match), written to
//! a file and opened as a scan opens them, searched at the match threshold 31:
//!
//! * `linear/*`: the index without multi-index tables (`--pdq-search linear`), one query
//!   ([`Index::pdq_search`]) and a batch of 8 (the dihedral variants of an image);
//! * `mih/*`: the default index (multi-index tables), one query, a batch of 8, and a batch of
//!   2,048 queries (`vigie match` on a list: probes and rows slice by slice);
//! * `open`: [`Index::open`] of the default index file.
//!
//! Throughput is in queries, so criterion's `elem/s` is queries/s. `VIGIE_BENCH_PDQ_SIZES`
//! (comma-separated) changes the sizes, e.g. `1000000,10000000`; `benches/pdq_scale.sh` runs
//! the same comparison end to end against faiss.

mod common;

use common::XorShift;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vigie::index::{Index, IndexBuilder, PdqSearch};
use vigie::lists::ListHash;
use vigie::perceptual::pdq::{PdqHash, MATCH_THRESHOLD};

/// A made-up hash from the generator.
fn pdq(rng: &mut XorShift) -> PdqHash {
    PdqHash(rng.bytes32())
}

fn sizes() -> Vec<usize> {
    std::env::var("VIGIE_BENCH_PDQ_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100_000, 1_000_000])
}

/// An index file of `n` random hashes and a near-duplicate (10 bits flipped) of each query,
/// built with `search`, and the index opened from it.
fn setup(
    dir: &std::path::Path,
    n: usize,
    queries: &[PdqHash],
    search: PdqSearch,
    seed: u64,
) -> (std::path::PathBuf, Index) {
    let mut rng = XorShift(seed);
    let mut hashes: Vec<ListHash> = (0..n).map(|_| ListHash::Pdq(pdq(&mut rng))).collect();
    for q in queries {
        let mut near = *q;
        for k in 0..10 {
            near.0[k * 3] ^= 1 << (k % 8);
        }
        hashes.push(ListHash::Pdq(near));
    }
    let mut b = IndexBuilder::new();
    b.set_pdq_search(search);
    b.add_hashes("bench", "bench", "generated", hashes)
        .unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(format!("pdq-{n}-{search:?}.vigie"));
    b.write(&path).unwrap_or_else(|e| panic!("{e}"));
    let idx = Index::open(&path).unwrap_or_else(|e| panic!("{e}"));
    (path, idx)
}

fn bench(c: &mut Criterion) {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let queries: Vec<PdqHash> = (0..2048).map(|_| pdq(&mut rng)).collect();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut g = c.benchmark_group("pdq_search");
    g.sample_size(10);
    for n in sizes() {
        for (name, search) in [("linear", PdqSearch::Linear), ("mih", PdqSearch::Auto)] {
            let (path, idx) = setup(dir.path(), n, &queries[..8], search, n as u64);
            let mut batches: Vec<usize> = vec![1, 8];
            if search == PdqSearch::Auto {
                batches.push(queries.len());
                g.bench_with_input(BenchmarkId::new("open", n), &path, |b, path| {
                    b.iter(|| Index::open(black_box(path)).unwrap_or_else(|e| panic!("{e}")))
                });
            }
            for batch in batches {
                g.throughput(Throughput::Elements(batch as u64));
                let id = BenchmarkId::new(format!("{name}/batch{batch}"), n);
                g.bench_with_input(id, &idx, |b, idx| {
                    b.iter(|| {
                        let mut found = 0u32;
                        idx.pdq_search_many(
                            black_box(&queries[..batch]),
                            MATCH_THRESHOLD,
                            |i, m| {
                                found += m.distance + i as u32;
                            },
                        );
                        black_box(found)
                    })
                });
            }
            g.throughput(Throughput::Elements(1));
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
