//! Image decoding to RGB (`perceptual::decode::decode_rgb`) from memory, one reused output buffer:
//! a 1600x1004 (1.6 MP) baseline JPEG through libjpeg-turbo (`mozjpeg`), and ~1 MP PNGs through the
//! `image` crate (RGBA 1432x812, palette and 8-bit grey 1600x1004). Throughput is in pixels, so
//! criterion's `Melem/s` reads as megapixels per second.
//!
//! libjpeg-turbo's SIMD is compiled in only when `nasm` is on the PATH at build time; without it
//! the JPEG figure is the plain-C decoder's. Measured 2026-11-23 on the 2-core box under load
//! (load average ~6): JPEG 74 MP/s without nasm, 178 MP/s with; PNG RGBA 89, palette 153, grey
//! 91 MP/s.
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vigie::perceptual::decode::{decode_rgb, DecodeOptions};

fn bench_decode(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pdq/fullres");
    let mut group = c.benchmark_group("decode");
    group.sample_size(20);
    let opts = DecodeOptions::default();
    let mut out = Vec::new();
    for name in [
        "bridge-mods/aaa-orig.jpg",
        "misc-images/c.png",
        "misc-images/modes/P.png",
        "misc-images/modes/L.png",
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let d = decode_rgb(&bytes, &opts, &mut out).unwrap();
        group.throughput(Throughput::Elements(
            u64::from(d.width) * u64::from(d.height),
        ));
        let label = format!("{name} {}x{}", d.width, d.height);
        group.bench_with_input(BenchmarkId::new("decode_rgb", label), &bytes, |b, bytes| {
            b.iter(|| decode_rgb(bytes, &opts, &mut out).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
