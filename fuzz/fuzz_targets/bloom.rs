//! The DCSO Bloom filter reader (`BloomFile::from_bytes`, as `BloomFile::open` reads a file
//! given to `vigie index build`) on any bytes: a bad header is an error naming the field,
//! never a panic, and nothing is allocated from the sizes it claims; a filter that opens has
//! exactly the bits its header says, and every query (digest keys of each algorithm in both
//! hex cases, raw bytes) stays in bounds.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use vigie::hash::hash_bytes;
use vigie::lists::bloom::{self, BloomFile, BloomKey};

fuzz_target!(|data: &[u8]| {
    let _ = bloom::sniff(data);
    let Ok(f) = BloomFile::from_bytes(data.to_vec(), Path::new("fuzz.bloom")) else {
        return;
    };
    let p = f.params;
    assert!(
        bloom::check(&p).is_ok(),
        "an opened filter passes the index's check"
    );
    assert_eq!(
        Some(f.bits().len() as u64),
        p.bits_len(),
        "the bits are all inside the file"
    );
    let fpr = p.fpr();
    assert!(
        fpr >= p.p && fpr <= 1.0,
        "fpr {fpr} outside [p = {}, 1]",
        p.p
    );
    // The queries the index makes (digest hex, upper or lower case) and raw keys.
    for d in hash_bytes("all".parse().unwrap(), data).iter() {
        for upper in [true, false] {
            let key = BloomKey {
                algo: d.algo(),
                upper,
            };
            if let Some(k) = key.key(d) {
                f.contains(k.as_bytes());
            }
        }
    }
    f.contains(b"");
    f.contains(data.get(..40).unwrap_or(data));
});
