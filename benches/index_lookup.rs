//! How fast the compiled index answers: lookups of random sha256 digests in an index of 10
//! million entries, one at a time and in batches, for half present and half absent queries
//! (`mixed`), all present (`hits`) and all absent (`misses`, the usual scan); and the time to
//! build, write and open that index. The target is 20 M lookups/s per core.
//!
//! `VIGIE_BENCH_ENTRIES` changes the index size (default 10,000,000), `VIGIE_BENCH_BITS`
//! forces 2^bits buckets (default: chosen by the builder).

mod common;

use common::XorShift;
use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vigie::hash::{Algo, Digest};
use vigie::index::{Index, IndexBuilder};

/// Lookups per criterion iteration.
const QUERIES: usize = 1 << 20;

/// A made-up hash from the generator.
fn sha256(rng: &mut XorShift) -> Digest {
    Digest::new(Algo::Sha256, &rng.bytes32()).unwrap_or_else(|| unreachable!())
}

fn entries() -> usize {
    std::env::var("VIGIE_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000)
}

/// Query sets, each with the number of its queries present in the index.
struct Queries {
    mixed: Vec<Digest>,
    hits: Vec<Digest>,
    misses: Vec<Digest>,
}

/// The index and the queries.
fn setup() -> (Index, Queries) {
    let n = entries();
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let digests: Vec<Digest> = (0..n).map(|_| sha256(&mut rng)).collect();
    let mut q = Queries {
        mixed: Vec::with_capacity(QUERIES),
        hits: Vec::with_capacity(QUERIES),
        misses: Vec::with_capacity(QUERIES),
    };
    for i in 0..QUERIES {
        let hit = digests[(rng.next() % n as u64) as usize];
        let miss = sha256(&mut rng);
        q.mixed.push(if i % 2 == 0 { hit } else { miss });
        q.hits.push(hit);
        q.misses.push(miss);
    }
    let t = Instant::now();
    let mut b = IndexBuilder::new();
    b.set_bucket_bits(
        std::env::var("VIGIE_BENCH_BITS")
            .ok()
            .and_then(|v| v.parse().ok()),
    );
    b.add_digests("bench", "bench", "generated", digests)
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("bench.vidx");
    b.write(&path).unwrap_or_else(|e| panic!("{e}"));
    let built = t.elapsed();
    let t = Instant::now();
    let idx = Index::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let opened = t.elapsed();
    let info = idx.info();
    eprintln!(
        "built and wrote an index of {n} sha256 entries in {:.2} s: {} bytes ({:.1} per entry), \
         {} buckets; opened in {} us",
        built.as_secs_f64(),
        info.file_size,
        info.file_size as f64 / n as f64,
        info.tables[0].buckets,
        opened.as_micros()
    );
    // Fault the map in, so that the first benchmark does not pay for it.
    let mut found = 0;
    idx.lookup_batch(&q.hits, |_, _| found += 1);
    assert_eq!(found, QUERIES);
    (idx, q)
}

fn bench(c: &mut Criterion) {
    let (idx, q) = setup();
    let mut g = c.benchmark_group("index_lookup");
    g.throughput(Throughput::Elements(QUERIES as u64));
    g.sample_size(20);
    for (name, queries, present) in [
        ("mixed", &q.mixed, QUERIES / 2),
        ("hits", &q.hits, QUERIES),
        ("misses", &q.misses, 0),
    ] {
        g.bench_function(format!("lookup/{name}"), |b| {
            b.iter(|| {
                let mut found = 0usize;
                for q in queries {
                    if idx.lookup(black_box(q)).is_some() {
                        found += 1;
                    }
                }
                assert_eq!(found, present);
                found
            })
        });
        g.bench_function(format!("lookup_batch/{name}"), |b| {
            b.iter(|| {
                let mut found = 0usize;
                idx.lookup_batch(black_box(queries), |_, _| found += 1);
                assert_eq!(found, present);
                found
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
