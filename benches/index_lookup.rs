//! How fast the compiled index answers: lookups of random sha256 digests (half present, half
//! absent) in an index of 10 million entries, one at a time and in batches, and the time to
//! build that index. The target is 20 M lookups/s per core.
//!
//! `VIGIE_BENCH_ENTRIES` changes the index size (default 10,000,000), `VIGIE_BENCH_BITS`
//! forces the directory's bucket bits (default: chosen by the builder).

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vigie::hash::{Algo, Digest};
use vigie::index::{Index, IndexBuilder};

/// Lookups per criterion iteration.
const QUERIES: usize = 1 << 20;

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

    fn sha256(&mut self) -> Digest {
        let mut b = [0u8; 32];
        for c in b.chunks_mut(8) {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        Digest::new(Algo::Sha256, &b).unwrap_or_else(|| unreachable!())
    }
}

fn entries() -> usize {
    std::env::var("VIGIE_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000)
}

/// The index and the queries (every even query present, every odd one absent).
fn setup() -> (Index, Vec<Digest>) {
    let n = entries();
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let digests: Vec<Digest> = (0..n).map(|_| rng.sha256()).collect();
    let mut queries = Vec::with_capacity(QUERIES);
    for i in 0..QUERIES {
        if i % 2 == 0 {
            queries.push(digests[(rng.next() % n as u64) as usize]);
        } else {
            queries.push(rng.sha256());
        }
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
    let idx = b.into_index().unwrap_or_else(|e| panic!("{e}"));
    let info = idx.info();
    eprintln!(
        "built an index of {n} sha256 entries ({} bytes, {} bucket bits) in {:.2} s",
        info.file_size,
        info.tables[0].bucket_bits,
        t.elapsed().as_secs_f64()
    );
    (idx, queries)
}

fn bench(c: &mut Criterion) {
    let (idx, queries) = setup();
    let mut g = c.benchmark_group("index_lookup");
    g.throughput(Throughput::Elements(QUERIES as u64));
    g.sample_size(20);
    g.bench_function("lookup", |b| {
        b.iter(|| {
            let mut found = 0usize;
            for q in &queries {
                if idx.lookup(black_box(q)).is_some() {
                    found += 1;
                }
            }
            assert_eq!(found, QUERIES / 2);
            found
        })
    });
    g.bench_function("lookup_batch", |b| {
        b.iter(|| {
            let mut found = 0usize;
            idx.lookup_batch(black_box(&queries), |_, _| found += 1);
            assert_eq!(found, QUERIES / 2);
            found
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
