//! The tar header walker, in place (`TarSlice`) and streamed (`TarStream`), on any bytes: it
//! must end (an error at worst) without panicking, and both walkers must agree.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use vigie::source::tar::{TarSlice, TarStream};

fuzz_target!(|data: &[u8]| {
    let mut sliced = Vec::new();
    for m in TarSlice::new(data) {
        match m {
            Ok(m) => {
                let _ = m.data(data);
                sliced.push(Ok((m.name, m.size, m.data_offset)));
            }
            Err(e) => sliced.push(Err(e.to_string())),
        }
    }
    let mut streamed = Vec::new();
    let mut tar = TarStream::new(data);
    loop {
        match tar.next_member() {
            Ok(Some(m)) => {
                let mut sink = Vec::new();
                if tar.data().read_to_end(&mut sink).is_err() {
                    break;
                }
                streamed.push(Ok((m.name, m.size, m.data_offset)));
            }
            Ok(None) => break,
            Err(e) => {
                streamed.push(Err(e.to_string()));
                break;
            }
        }
    }
    // The members both walkers accept are the same ones (a stream may stop at a truncated
    // member the slice walker refuses up front, so only the common prefix is compared).
    let ok = |v: &[Result<(Vec<u8>, u64, u64), String>]| {
        v.iter().take_while(|r| r.is_ok()).count()
    };
    let n = ok(&sliced).min(ok(&streamed));
    assert_eq!(sliced[..n], streamed[..n]);
});
