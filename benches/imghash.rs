//! pHash/dHash on a 1000x1000 RGB buffer already in memory: grey conversion, Pillow LANCZOS
//! resize, DCT. One reused `ImgHasher`, so no allocation inside the timed loop. Criterion
//! reports the time per image.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vigie::perceptual::imghash::{ImgHasher, ImgKind, PixelBuffer};

/// A deterministic, textured RGB image (gradients plus pseudo-random noise).
fn rgb(width: usize, height: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9u32;
    let mut out = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let base = (x * 255 / width + y * 255 / height) / 2;
            out.push(((base as u32 + (state >> 27)) % 256) as u8);
            out.push((x * 255 / width) as u8);
            out.push(((state >> 8) % 256) as u8);
        }
    }
    out
}

fn bench_imghash(c: &mut Criterion) {
    let mut group = c.benchmark_group("imghash");
    group.sample_size(30);
    group.throughput(Throughput::Elements(1));
    let (w, h) = (1000usize, 1000usize);
    let buf = rgb(w, h);
    let mut hasher = ImgHasher::new();
    group.bench_function("phash_rgb/1000x1000", |b| {
        b.iter(|| {
            hasher
                .hash(PixelBuffer::rgb(&buf, w, h).unwrap(), &[ImgKind::Phash])
                .unwrap()
        })
    });
    group.bench_function("dhash_rgb/1000x1000", |b| {
        b.iter(|| {
            hasher
                .hash(PixelBuffer::rgb(&buf, w, h).unwrap(), &[ImgKind::Dhash])
                .unwrap()
        })
    });
    group.bench_function("both_rgb/1000x1000", |b| {
        b.iter(|| {
            hasher
                .hash(PixelBuffer::rgb(&buf, w, h).unwrap(), &ImgKind::ALL)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_imghash);
criterion_main!(benches);
