//! The tar header walker, in place (`TarSlice`) and streamed (`TarStream`), on any bytes: it
//! must end (an error at worst) without panicking, and both walkers must agree on everything
//! they yield: members, damage skipped (the walk goes on) and the error ending the walk.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use vigie::source::tar::{TarSlice, TarStream};

type Item = Result<(Vec<u8>, u64, u64), (String, u64)>;

fuzz_target!(|data: &[u8]| {
    let mut sliced: Vec<Item> = Vec::new();
    for m in TarSlice::new(data) {
        match m {
            Ok(m) => {
                assert!(m.data(data).is_some(), "a member lies within its slice");
                sliced.push(Ok((m.name, m.size, m.data_offset)));
            }
            Err(e) => {
                let end = e.offset.checked_add(e.skipped);
                assert!(end.is_some_and(|end| end <= data.len() as u64), "{e}");
                sliced.push(Err((e.to_string(), e.skipped)));
            }
        }
    }
    let mut streamed: Vec<Item> = Vec::new();
    let mut tar = TarStream::new(data);
    loop {
        match tar.next_member() {
            Ok(Some(m)) => {
                let mut sink = Vec::new();
                if tar.data().read_to_end(&mut sink).is_err() {
                    // A member whose data runs past the end: the slice walker refuses it up
                    // front with the same error, which the stream reports next.
                    let e = tar.next_member().expect_err("a failed data read is reported");
                    streamed.push(Err((e.to_string(), e.skipped)));
                    break;
                }
                assert_eq!(sink.len() as u64, m.size);
                streamed.push(Ok((m.name, m.size, m.data_offset)));
            }
            Ok(None) => break,
            Err(e) => {
                let resumes = e.resumes();
                streamed.push(Err((e.to_string(), e.skipped)));
                if !resumes {
                    break;
                }
            }
        }
    }
    assert_eq!(sliced, streamed);
});
