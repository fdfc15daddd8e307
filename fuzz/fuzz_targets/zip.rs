//! The zip directory reader (`vigie::source::zip`) on any bytes: finding the end record,
//! the ZIP64 records and the central directory, and cross-checking each local header, must end
//! without panicking; every member it yields lies inside the bytes, before the central
//! directory, and every error that does not end the walk names its member. Read through owned
//! copies (as a file read at positions is), the same members come out. Then each member's data
//! goes through its method's decoder (`zip::unpacker`: deflate, deflate64, bzip2, LZMA, zstd,
//! xz), at most its declared size plus one byte (capped), which must end without panicking or
//! hanging.
#![no_main]

use std::borrow::Cow;
use std::io::{self, Read};

use libfuzzer_sys::fuzz_target;
use vigie::source::zip::{self, ZipBytes};

/// The same bytes, handed out as owned copies: the path a file read at positions takes.
struct Owned<'a>(&'a [u8]);

impl ZipBytes for Owned<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn get(&self, at: u64, len: usize) -> io::Result<Cow<'_, [u8]>> {
        let b = ZipBytes::get(self.0, at, len)?;
        Ok(Cow::Owned(b.into_owned()))
    }
}

/// Most bytes decoded from one member: the search stays fast (the fixtures' 4 MiB members
/// of zeros would take most of its time).
const DECODE_CAP: u64 = 64 << 10;

fuzz_target!(|data: &[u8]| {
    let owned = zip::find(&Owned(data)).map(|d| d.entries().collect::<Vec<_>>());
    let Ok(dir) = zip::find(data) else {
        assert!(owned.is_err());
        return;
    };
    assert!(zip::is_zip(data));
    let mut n = 0u64;
    let mut members = Vec::new();
    for m in dir.entries() {
        n += 1;
        match &m {
            Ok(m) => {
                let r = m.data_range().expect("a member's range fits in memory");
                assert!(r.end <= data.len(), "{m:?}");
                assert!(m.data_offset >= dir.shift());
            }
            Err(e) => assert!(!e.resumes || e.member.is_some(), "{e}"),
        }
        members.push(m);
    }
    assert!(n <= dir.len());
    assert_eq!(owned.expect("owned copies find it too"), members);
    let mut out = Vec::new();
    for m in members.into_iter().flatten() {
        if m.encrypted || !m.method.decodes() {
            continue;
        }
        let raw = &data[m.data_range().unwrap()];
        let Ok(dec) = zip::unpacker(m.method, m.size, raw) else {
            continue;
        };
        out.clear();
        let _ = dec
            .take(m.size.saturating_add(1).min(DECODE_CAP))
            .read_to_end(&mut out);
    }
});
