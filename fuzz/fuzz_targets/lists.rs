//! Every hash-list reader (plain, coreutils, hashdeep, ThreatExchange with its vPDQ signals,
//! NSRL 2.x, VICS, TCAP, StopNCII and the JSON tokenizer under them, PDQ hasher CSV, X-Ways,
//! EnCase, vPDQ frame files...), plain or gzip, zstd or xz-compressed, on any bytes: the
//! first byte picks a forced format (or detection), the rest is the list. A bad list is an
//! error or malformed lines, never a panic or an unbounded allocation.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use vigie::lists::{read_list_from_as, ListFormat};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, list)) = data.split_first() else {
        return;
    };
    // RDSv3 is SQLite (read from a file only) and a Bloom filter is not read as a list.
    let formats: Vec<ListFormat> = ListFormat::ALL
        .into_iter()
        .filter(|f| !matches!(f, ListFormat::Rdsv3 | ListFormat::DcsoBloom))
        .collect();
    let forced = formats.get(pick as usize % (formats.len() + 1)).copied();
    let mut entries = 0u64;
    let mut problems = 0u64;
    let _ = read_list_from_as(
        list,
        Path::new("fuzz.list"),
        None,
        forced,
        |_| entries += 1,
        |_| problems += 1,
    );
});
