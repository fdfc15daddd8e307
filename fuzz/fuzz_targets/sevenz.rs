//! The 7z reader (`vigie::source::sevenz`) on any bytes, under small limits: the header
//! parser must end without panicking or allocating past the bytes it was given; every block it
//! yields lies inside the bytes and names members that exist; a block's reader, read member by
//! member as the pipeline reads it, never gives more than the block declares.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use vigie::source::sevenz;
use vigie::source::Limits;

/// Blocks declaring more than this are not decoded here (the pipeline refuses them by
/// --max-ratio and --max-scan from the header; the fuzzer wants speed).
const MAX_DECODED: u64 = 4 << 20;

fuzz_target!(|data: &[u8]| {
    let mut limits = Limits::default();
    limits.max_members = 4096;
    limits.max_ratio = 1100;
    let a = match sevenz::open(data, &limits) {
        Ok(a) => a,
        Err(e) => {
            assert!(!e.reason.is_empty());
            return;
        }
    };
    assert!(sevenz::is_7z(data));
    assert!(a.entries.len() as u64 <= limits.max_members);
    for f in &a.folders {
        assert!(f.packed.start <= f.packed.end && f.packed.end <= data.len() as u64);
        let sizes: u64 = f.members.iter().map(|&m| a.entries[m].size).sum();
        assert!(sizes <= f.unpack_size, "{sizes} > {}", f.unpack_size);
        for &m in &f.members {
            assert!(a.entries[m].folder.is_some_and(|x| x < a.folders.len()));
        }
        if f.unpack_size > MAX_DECODED {
            continue;
        }
        let mut r = match f.reader(data) {
            Ok(r) => r,
            // Refused before decoding: encrypted, a method not decoded, a limit; or a
            // decoder that cannot start on these bytes.
            Err(e) => {
                if let Some(p) = f.problem() {
                    assert_eq!(p, e);
                }
                continue;
            }
        };
        let mut total = 0u64;
        for &m in &f.members {
            let e = &a.entries[m];
            let mut buf = Vec::new();
            match (&mut r).take(e.size).read_to_end(&mut buf) {
                Ok(n) => {
                    assert!(n as u64 <= e.size);
                    total += n as u64;
                }
                Err(_) => break,
            }
        }
        assert!(total <= f.unpack_size);
    }
});
