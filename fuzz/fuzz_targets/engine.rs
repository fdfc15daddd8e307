//! The whole engine on content given in memory: container detection (tar, gzip, zstd),
//! members, exact digests, images. Every input gives items (failed ones at worst), and the
//! run always ends.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vigie::engine::Engine;
use vigie::model::Input;

fuzz_target!(|data: &[u8]| {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| {
        Engine::builder()
            .threads(1)
            .pdq(true)
            .algos("all".parse().unwrap())
            .build()
            .expect("engine")
    });
    let items = engine
        .scan_items(vec![Input::Bytes {
            name: "fuzz.bin".into(),
            bytes: data.to_vec().into(),
        }])
        .expect("a scan of bytes has no consumer to fail");
    assert!(!items.is_empty(), "every input is accounted for");
});
