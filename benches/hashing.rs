//! The one-pass hasher: each algorithm alone, md5+sha1+sha256 together, and all four, over a
//! buffer that stays in memory (the page-cache case of a scan).
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vigie::hash::{hash_bytes, hash_many, AlgoSet};

fn bench_hashing(c: &mut Criterion) {
    let data: Vec<u8> = (0..(64u32 << 20))
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let mut group = c.benchmark_group("one_pass");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.sample_size(10);
    for algos in [
        "md5",
        "sha1",
        "sha256",
        "xxh3_128",
        "md5,sha1,sha256",
        "all",
    ] {
        let set: AlgoSet = algos.parse().unwrap();
        group.bench_with_input(BenchmarkId::from_parameter(algos), &set, |b, set| {
            b.iter(|| hash_bytes(*set, &data))
        });
    }
    group.finish();

    // Small items (38 KiB, the benchmark corpus's mean member) in groups of 32, as the
    // pipeline hashes tar members and small files: MD5 runs multi-buffer.
    let items: Vec<&[u8]> = data.chunks(38 << 10).take(32 * 50).collect();
    let bytes: usize = items.iter().map(|i| i.len()).sum();
    let mut group = c.benchmark_group("small_items_38k");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    for algos in ["md5", "md5,sha1,sha256"] {
        let set: AlgoSet = algos.parse().unwrap();
        group.bench_with_input(BenchmarkId::new("one_by_one", algos), &set, |b, set| {
            b.iter(|| {
                items
                    .iter()
                    .map(|i| hash_bytes(*set, i))
                    .collect::<Vec<_>>()
            })
        });
        group.bench_with_input(BenchmarkId::new("groups_of_32", algos), &set, |b, set| {
            b.iter(|| {
                items
                    .chunks(32)
                    .map(|g| hash_many(*set, g).len())
                    .sum::<usize>()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_hashing);
criterion_main!(benches);
