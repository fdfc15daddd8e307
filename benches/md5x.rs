//! Multi-buffer MD5 against scalar `md-5` on the same messages, one thread: sizes 4 KiB,
//! 38 KiB (the mean item of a scan), 200 KiB, and a log-uniform mix of 1–200 KiB.
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use md5::Digest;
use vigie::hash::md5x::{md5_many, md5_many_with};

/// About 16 MiB of messages per set: large enough that batches of 256 are realistic.
const TOTAL: usize = 16 << 20;

fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn sets() -> Vec<(String, Vec<Vec<u8>>)> {
    let mut sets = Vec::new();
    for (name, size) in [
        ("4KiB", 4 << 10),
        ("38KiB", 38 << 10),
        ("200KiB", 200 << 10),
    ] {
        let n = TOTAL / size;
        sets.push((
            name.to_string(),
            (0..n).map(|i| bytes(size, i as u64)).collect(),
        ));
    }
    // Log-uniform 1 KiB..200 KiB.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut mix = Vec::new();
    let mut total = 0;
    while total < TOTAL {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let u = (x >> 11) as f64 / (1u64 << 53) as f64;
        let len = (1024.0 * 200f64.powf(u)) as usize;
        total += len;
        mix.push(bytes(len, x));
    }
    sets.push(("mix1-200KiB".to_string(), mix));
    sets
}

fn bench_md5x(c: &mut Criterion) {
    let mut group = c.benchmark_group("md5x");
    group.sample_size(10);
    for (name, messages) in sets() {
        let refs: Vec<&[u8]> = messages.iter().map(|m| m.as_slice()).collect();
        let total: usize = refs.iter().map(|m| m.len()).sum();
        group.throughput(Throughput::Bytes(total as u64));
        group.bench_with_input(BenchmarkId::new("scalar_md5", &name), &refs, |b, refs| {
            b.iter(|| {
                refs.iter()
                    .map(|m| <[u8; 16]>::from(md5::Md5::digest(m)))
                    .collect::<Vec<_>>()
            })
        });
        // In batches of 256, as the tar reader hands them over.
        group.bench_with_input(BenchmarkId::new("md5_many", &name), &refs, |b, refs| {
            b.iter(|| {
                refs.chunks(256)
                    .flat_map(|batch| md5_many(black_box(batch)))
                    .collect::<Vec<_>>()
            })
        });
        if std::env::var_os("MD5X_LANES").is_some() {
            macro_rules! variant {
                ($($name:literal: $w:ty, $n:literal, $l:literal;)*) => {$(
                    group.bench_with_input(BenchmarkId::new($name, &name), &refs, |b, refs| {
                        b.iter(|| {
                            refs.chunks(256)
                                .flat_map(|batch| md5_many_with::<$w, $n, $l>(black_box(batch)))
                                .collect::<Vec<_>>()
                        })
                    });
                )*};
            }
            variant! {
                "u32x1_4": u32, 4, 4;
                "u32x4_1": wide::u32x4, 1, 4;
                "u32x4_2": wide::u32x4, 2, 8;
                "u32x4_4": wide::u32x4, 4, 16;
                "u32x8_1": wide::u32x8, 1, 8;
                "u32x8_2": wide::u32x8, 2, 16;
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench_md5x);
criterion_main!(benches);
