//! The zip directory reader (`vigie::source::zip`) on any bytes: finding the end record,
//! the ZIP64 records and the central directory, and cross-checking each local header, must end
//! without panicking; every member it yields lies inside the bytes, before the central
//! directory, and every error that does not end the walk names its member.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigie::source::zip;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = zip::find(data) else { return };
    assert!(zip::is_zip(data));
    let mut n = 0u64;
    for m in dir.entries() {
        n += 1;
        match m {
            Ok(m) => {
                let r = m.data_range().expect("a member's range fits in memory");
                assert!(r.end <= data.len(), "{m:?}");
                assert!(m.data_offset >= dir.shift());
            }
            Err(e) => assert!(!e.resumes || e.member.is_some(), "{e}"),
        }
    }
    assert!(n <= dir.len());
});
