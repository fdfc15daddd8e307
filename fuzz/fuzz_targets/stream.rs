//! Single compressed streams (`vigie::source::stream`) on any bytes: the gzip header's name
//! and every decoder (gzip members, zstd, xz, bzip2) must end without panicking; a name taken
//! from a header is never empty, never a path and never longer than its bound, and a decoder
//! never gives more than it is asked for.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use vigie::source::open::Compression;
use vigie::source::stream::{gzip_name, inner_name, single_decoder, MAX_NAME_LEN};

fuzz_target!(|data: &[u8]| {
    if let Some(n) = gzip_name(data) {
        assert!(!n.is_empty() && n.len() <= MAX_NAME_LEN && !n.contains(&b'/'));
    }
    for c in [
        Compression::Gzip,
        Compression::Zstd,
        Compression::Xz,
        Compression::Bzip2,
    ] {
        assert!(!inner_name(c, data, std::path::Path::new("f.gz")).is_empty());
        let Ok(d) = single_decoder(c, data) else {
            continue;
        };
        let mut out = Vec::new();
        let _ = d.take(1 << 20).read_to_end(&mut out);
        assert!(out.len() <= 1 << 20);
    }
});
