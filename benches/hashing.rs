//! The one-pass hasher: each algorithm alone, md5+sha1+sha256 together, and all four, over a
//! buffer that stays in memory (the page-cache case of a scan).
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vigie::hash::{hash_bytes, AlgoSet};

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
}

criterion_group!(benches, bench_hashing);
criterion_main!(benches);
