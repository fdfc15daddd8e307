//! The whole engine on content given in memory: container detection (tar, zip, gzip, zstd,
//! xz, bzip2; nested containers), members, exact digests, images. Every input gives items
//! (failed ones at worst), and the run always ends.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vigie::engine::Engine;
use vigie::model::Input;
use vigie::source::open::Compression;
use vigie::source::tar::looks_like_tar;
use vigie::source::Limits;

fuzz_target!(|data: &[u8]| {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| {
        // What one input may decode is bounded (1 MiB a member or stream, 4 MiB in all), as
        // the zip target's decoding is: a few KB of deflate otherwise expand to megabytes,
        // which under ASan (its quarantine keeps every buffer fresh memory) cost minutes of
        // page faults, not a hang of vigie, and the search stalls on them.
        let mut limits = Limits::default();
        limits.max_expanded = 1 << 20;
        limits.max_scan = 4 << 20;
        Engine::builder()
            .threads(1)
            .pdq(true)
            .algos("all".parse().unwrap())
            .archive_limits(limits)
            .build()
            .expect("engine")
    });
    let items = engine
        .scan_items(vec![Input::Bytes {
            name: "fuzz.bin".into(),
            bytes: data.to_vec().into(),
        }])
        .expect("a scan of bytes has no consumer to fail");
    // Anything but a tar is at least one item. A tar holding no file (only directories, or
    // only zero blocks after its end marker) has none; junk after the end marker, or damaged
    // headers, are a failed item of their own.
    let tar = looks_like_tar(data);
    // A compressed tar holding no file has none either (any of the four compressions).
    let compressed = Compression::of(data).is_some();
    assert!(
        !items.is_empty() || tar || compressed,
        "every input is accounted for"
    );
});
