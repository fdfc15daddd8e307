//! PDQ core on float luma already in memory: `hash` of a `PixelBuffer::luma` on a 1000x1000 (1 MP)
//! and a 512x512 buffer (the reference CLI's size after its pre-resize), and `hash_dihedral` on
//! both (the benchmark ids keep their first names, `hash_luma` and `hash_luma_dihedral`, so that
//! criterion compares with earlier runs).
//! One reused `PdqHasher`, so no allocation inside the timed loop. Criterion reports the time
//! per image.
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vigie::perceptual::pdq::{PdqHasher, PixelBuffer};

/// A deterministic, textured luma plane (gradients plus pseudo-random noise, 0..255).
fn luma(width: usize, height: usize) -> Vec<f32> {
    let mut state = 0x9e37_79b9u32;
    (0..width * height)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let (x, y) = (i % width, i / width);
            let base = ((x * 255 / width) + (y * 255 / height)) / 2;
            ((base as u32 + (state >> 27)) % 256) as f32
        })
        .collect()
}

fn bench_pdq(c: &mut Criterion) {
    let mut group = c.benchmark_group("pdq");
    group.sample_size(20);
    let mut hasher = PdqHasher::new();
    for (w, h) in [(1000usize, 1000usize), (512, 512)] {
        let buf = luma(w, h);
        group.throughput(Throughput::Elements(1));
        let size = format!("{w}x{h}");
        group.bench_with_input(BenchmarkId::new("hash_luma", &size), &buf, |b, buf| {
            b.iter(|| hasher.hash(PixelBuffer::luma(buf, w, h).unwrap()))
        });
        group.bench_with_input(
            BenchmarkId::new("hash_luma_dihedral", &size),
            &buf,
            |b, buf| b.iter(|| hasher.hash_dihedral(PixelBuffer::luma(buf, w, h).unwrap())),
        );
    }
    group.finish();
}

criterion_group!(benches, bench_pdq);
criterion_main!(benches);
