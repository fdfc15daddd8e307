//! EnCase (v3 to v6) legacy `.hash` files: a fixed 0x480-byte header, then MD5 records of
//! 18 bytes (16-byte digest, 2 bytes of padding) back to back.
//!
//! | offset | content |
//! |---|---|
//! | 0x000 | magic `HASH\r\n\xFF\0` |
//! | 0x008 | u32 LE version, u32 LE 1 |
//! | 0x010 | u32 LE number of records |
//! | 0x408 | hash-set name, UTF-16LE, zero padded |
//! | 0x458 | category, UTF-16LE, zero padded |
//! | 0x480 | records |
//!
//! The record count is untrusted: records are read one by one (nothing is allocated from
//! it), and a file that ends early is reported at the first missing record.

use std::borrow::Cow;
use std::io::Read;

use super::{ListEntry, ListProblem, ListSummary, ListType, ReadError};
use crate::hash::{Algo, Digest};
use crate::lists::ListHash;
use crate::source::open::read_full;

/// The first 8 bytes of an EnCase legacy hash file.
pub(super) const MAGIC: &[u8] = b"HASH\r\n\xFF\0";

const HEADER_LEN: usize = 0x480;
const RECORD_LEN: usize = 18;

/// UTF-16LE text up to its first NUL.
fn utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// Reads an EnCase hash file. Every entry is an MD5; the category (when set) is its label,
/// and the set name goes to the notes.
pub(super) fn read(
    r: &mut dyn Read,
    declared: Option<ListType>,
    summary: &mut ListSummary,
    on_entry: &mut impl FnMut(ListEntry<'_>),
    on_problem: &mut impl FnMut(ListProblem),
) -> Result<(), ReadError> {
    if let Some(d) = declared.filter(|&d| d != ListType::Exact(Algo::Md5)) {
        return Err(ReadError::Format(format!(
            "{d} was declared but EnCase hash files hold md5 only"
        )));
    }
    let mut header = vec![0u8; HEADER_LEN];
    let n = read_full(&mut *r, &mut header).map_err(ReadError::Io)?;
    if n < HEADER_LEN || !header.starts_with(MAGIC) {
        return Err(ReadError::Format(format!(
            "EnCase hash file header is {n} bytes where it has {HEADER_LEN} (truncated?)"
        )));
    }
    let u32_at =
        |o: usize| u32::from_le_bytes([header[o], header[o + 1], header[o + 2], header[o + 3]]);
    let (version, count) = (u32_at(8), u32_at(0x10));
    let set = utf16(&header[0x408..0x458]);
    let category = utf16(&header[0x458..HEADER_LEN]);
    summary.notes.push(format!(
        "EnCase hash set {set:?} (file version {version}, category {category:?}, {count} records)"
    ));
    let label = (!category.is_empty()).then_some(category);
    let mut rec = [0u8; RECORD_LEN];
    for i in 1..=u64::from(count) {
        let got = read_full(&mut *r, &mut rec).map_err(ReadError::Io)?;
        if got < RECORD_LEN {
            on_problem(ListProblem {
                line: i,
                reason: format!(
                    "file ends inside record {i} of the {count} its header declares (truncated?)"
                ),
            });
            return Ok(());
        }
        summary.lines = i;
        // 16 bytes always make an MD5.
        if let Some(d) = Digest::new(Algo::Md5, &rec[..16]) {
            on_entry(
                ListEntry::new(ListHash::Exact(d), i)
                    .with_label(label.as_deref().map(Cow::Borrowed)),
            );
        }
    }
    let mut rest = [0u8; 1];
    if read_full(&mut *r, &mut rest).map_err(ReadError::Io)? > 0 {
        summary
            .notes
            .push(format!("bytes after the {count} declared records ignored"));
    }
    Ok(())
}
