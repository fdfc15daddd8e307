//! The walk over headers that [`TarSlice`](super::TarSlice) and
//! [`TarStream`](super::TarStream) share: [`Walker::next_member`] reads headers up to a
//! member's, folding extended headers into it, and skips damage to the next valid header (see
//! the module doc of [`super`]). What it reads from is an [`Input`]: a slice or a stream.

use std::collections::TryReserveError;
use std::io;
use std::ops::Range;

use super::header::{
    header_name, header_size, not_a_header, padding, parse_pax, pax_size, until_nul, Pending,
    GNU_EXT_IS_EXTENDED, GNU_IS_EXTENDED, LINKNAME, TYPEFLAG,
};
use super::{EntryKind, TarError, TarMember, BLOCK_LEN, BLOCK_U64, MAX_META_LEN};
use crate::source::archive::Fault;

/// What the walker needs from its input: a slice or a stream.
pub(super) trait Input {
    /// Offset of the next unread byte.
    fn pos(&self) -> u64;
    /// Fills `buf` as far as the input allows; fewer than [`BLOCK_LEN`] bytes only at its end.
    fn read_block(&mut self, buf: &mut [u8; BLOCK_LEN]) -> Result<usize, InputError>;
    /// Appends up to `len` bytes to `out`; fewer only at the end of input.
    fn read_meta(&mut self, len: usize, out: &mut Vec<u8>) -> Result<(), InputError>;
    /// Skips up to `n` bytes; returns how many were skipped (fewer only at the end of input).
    fn skip(&mut self, n: u64) -> Result<u64, InputError>;
}

/// Why an [`Input`] could not give what was asked (a slice never fails).
#[derive(Debug)]
pub(super) enum InputError {
    /// The reader failed: a decompressor's error, a file that changed while it was read.
    Read(io::Error),
    /// No memory for an extended header's payload of this many bytes.
    Alloc(usize, TryReserveError),
}

/// Name, header offset and size of the member whose data comes next.
pub(super) struct Pos {
    pub(super) name: Vec<u8>,
    pub(super) header_offset: u64,
    pub(super) size: u64,
}

impl From<&TarMember> for Pos {
    fn from(m: &TarMember) -> Pos {
        Pos {
            name: m.name.clone(),
            header_offset: m.header_offset,
            size: m.size,
        }
    }
}

/// The header logic shared by [`TarSlice`](super::TarSlice) and
/// [`TarStream`](super::TarStream). Holds what outlives a member:
/// pax global header values, and a header found after damage.
#[derive(Default)]
pub(super) struct Walker {
    /// `size` from the last pax global header: per POSIX it applies to every following member
    /// that has no `size` of its own.
    global_size: Option<u64>,
    /// A valid header found by [`Walker::resync`] after damage, which was reported first: the
    /// next call starts from it (a stream cannot read it again).
    held: Option<Box<Held>>,
    /// The blocks last read where a header was expected are an end-of-archive marker, and
    /// nothing but zeros came after it (see [`TarStream::after_end_marker`](super::TarStream::after_end_marker)).
    pub(super) after_end: bool,
}

/// A header block already read, with its offset and size field.
pub(super) struct Held {
    offset: u64,
    size: u64,
    block: [u8; BLOCK_LEN],
}

impl Walker {
    /// Reads headers up to and including the next member's, leaving `input` at its data.
    /// `Ok(None)` at the end of the archive.
    pub(super) fn next_member(
        &mut self,
        input: &mut impl Input,
    ) -> Result<Option<TarMember>, TarError> {
        let mut pending = Pending::default();
        let mut block = [0u8; BLOCK_LEN];
        loop {
            let (offset, header_size) = match self.held.take() {
                Some(held) => {
                    block = held.block;
                    (held.offset, held.size)
                }
                None => {
                    let offset = input.pos();
                    let n = read_header_block(input, &mut block)?;
                    // The hot path: one checksum and one size parse per header. Anything else
                    // (the end marker, damage) is handled out of line.
                    match header_size(&block, n) {
                        Some(size) => (offset, size),
                        None => match self.resync(input, &mut block, offset, n, &pending)? {
                            Some(found) => found,
                            None => return Ok(None),
                        },
                    }
                }
            };
            let flag = block[TYPEFLAG];
            let what = match flag {
                b'L' => "GNU long name",
                b'K' => "GNU long link name",
                // Solaris tar wrote `X` for what POSIX later named `x`.
                b'x' | b'X' => "pax extended header",
                b'g' => "pax global header",
                _ => {
                    return self
                        .member(input, &block, offset, header_size, pending)
                        .map(Some)
                }
            };
            let payload = read_meta(input, offset, header_size, what)?;
            let malformed =
                |r: String| TarError::new(offset, None, format!("malformed {what}: {r}"));
            match flag {
                b'L' => pending.long_name = Some(until_nul(&payload).to_vec()),
                b'K' => pending.long_link = Some(until_nul(&payload).to_vec()),
                b'g' => parse_pax(&payload, |k, v| {
                    if k == b"size" {
                        self.global_size = pax_size(v)?;
                    }
                    Ok(())
                })
                .map_err(malformed)?,
                _ => parse_pax(&payload, |k, v| pending.apply_pax(k, v)).map_err(malformed)?,
            }
            if flag != b'g' {
                pending.first_offset.get_or_insert(offset);
            }
        }
    }

    /// Called with the `n` bytes of `block` read at `offset` where a header was expected and
    /// none is: reads on block by block to the next valid header ([`header_size`]), as GNU tar
    /// does after "Skipping to next header", and past end-of-archive markers, as
    /// `tar --ignore-zeros` does (a second archive concatenated to the first is content too).
    ///
    /// Zero blocks are padding and end markers, not damage. Non-zero bytes skipped are damage,
    /// and so are `pending` extended headers, which lose their member: then `Err` with
    /// [`TarError::skipped`] covering the damage (from the first damaged byte to the end of the
    /// last damaged block), the header found after it held for the next call. Without damage,
    /// `Ok` with the header found (in `block`: offset and size), or `None` at the end of input.
    /// A read error ends the walk (`Err` with nothing skipped).
    #[cold]
    fn resync(
        &mut self,
        input: &mut impl Input,
        block: &mut [u8; BLOCK_LEN],
        mut at: u64,
        mut n: usize,
        pending: &Pending,
    ) -> Result<Option<(u64, u64)>, TarError> {
        let mut damage: Option<Range<u64>> = pending.first_offset.map(|first| first..at);
        let mut why = pending
            .first_offset
            .map(|_| "an extended header is not followed by a member header".to_string());
        // Zero blocks met before any damage, and where they start: an end-of-archive marker
        // (two or more) or a lone zero block.
        let (mut zeros, mut zeros_at) = (0u64, at);
        let found = loop {
            if n == 0 {
                break None;
            }
            if let Some(size) = header_size(block, n) {
                break Some((at, size));
            }
            if block[..n].iter().all(|&b| b == 0) {
                if damage.is_none() {
                    if zeros == 0 {
                        zeros_at = at;
                    }
                    zeros += 1;
                    self.after_end = zeros >= 2;
                }
            } else {
                self.after_end = false;
                let end = at.saturating_add(n as u64);
                damage.get_or_insert(at..end).end = end;
                why.get_or_insert_with(|| not_a_header(block, n));
            }
            at = input.pos();
            n = read_header_block(input, block)?;
        };
        self.after_end = found.is_none() && self.after_end;
        let (Some(range), Some(why)) = (damage, why) else {
            return Ok(found);
        };
        let len = range.end - range.start;
        let after = match zeros {
            0 => String::new(),
            1 => format!(" after a lone zero block at offset {zeros_at}"),
            _ => format!(" after the end-of-archive marker at offset {zeros_at}"),
        };
        let reason = match found {
            Some((h, size)) => {
                self.held = Some(Box::new(Held {
                    offset: h,
                    size,
                    block: *block,
                }));
                if zeros == 0 {
                    format!("skipped {len} bytes of damaged headers ({why}) up to the next valid header, at offset {h}")
                } else {
                    format!("skipped {len} bytes of junk{after} up to the next valid header, at offset {h}")
                }
            }
            // A header cut short by the end of the archive, and nothing else wrong.
            None if zeros == 0 && len < BLOCK_U64 && pending.first_offset.is_none() => why,
            None if zeros == 0 => format!("{len} bytes of damaged headers ({why}) with no valid header after them up to the end of the archive: not read"),
            None => format!("{len} bytes of trailing data{after} hold no valid header: not read"),
        };
        Err(TarError {
            offset: range.start,
            member: None,
            reason,
            skipped: len,
            fault: Fault::Malformed,
        })
    }

    /// Builds the member whose header is `block`, applying `pending` extended headers.
    fn member(
        &self,
        input: &mut impl Input,
        block: &[u8; BLOCK_LEN],
        header_offset: u64,
        header_size: u64,
        pending: Pending,
    ) -> Result<TarMember, TarError> {
        let flag = block[TYPEFLAG];
        let name = match pending.sparse_name.or(pending.path).or(pending.long_name) {
            Some(name) => name,
            None => header_name(block),
        };
        let mut kind = EntryKind::from_header(flag, &name);
        if pending.sparse {
            kind = EntryKind::Other(b'S');
        }
        let link = matches!(kind, EntryKind::Symlink | EntryKind::Hardlink).then(|| {
            pending
                .linkpath
                .or(pending.long_link)
                .unwrap_or_else(|| until_nul(&block[LINKNAME]).to_vec())
        });
        let size = pending.size.or(self.global_size).unwrap_or(header_size);
        if flag == b'S' && block[GNU_IS_EXTENDED] != 0 {
            // Old GNU sparse map continued in extension blocks before the data.
            let mut ext = [0u8; BLOCK_LEN];
            loop {
                let at = input.pos();
                let n = input
                    .read_block(&mut ext)
                    .map_err(|e| TarError::input(at, Some(name.clone()), e))?;
                if n < BLOCK_LEN {
                    return Err(TarError::new(
                        at,
                        Some(name),
                        "truncated header: the archive ends inside a GNU sparse extension header",
                    ));
                }
                if ext[GNU_EXT_IS_EXTENDED] == 0 {
                    break;
                }
            }
        }
        Ok(TarMember {
            name,
            link,
            kind,
            header_offset,
            data_offset: input.pos(),
            size,
        })
    }
}

/// Reads the next block where a header is expected.
fn read_header_block(
    input: &mut impl Input,
    block: &mut [u8; BLOCK_LEN],
) -> Result<usize, TarError> {
    let at = input.pos();
    input
        .read_block(block)
        .map_err(|e| TarError::input(at, None, e))
}

/// Reads the payload of an extended header (`what`) of `size` bytes and skips its padding.
fn read_meta(
    input: &mut impl Input,
    offset: u64,
    size: u64,
    what: &str,
) -> Result<Vec<u8>, TarError> {
    let len = usize::try_from(size)
        .ok()
        .filter(|_| size <= MAX_META_LEN)
        .ok_or_else(|| {
            TarError::new(
                offset,
                None,
                format!("{what} of {size} bytes exceeds the limit of {MAX_META_LEN} bytes"),
            )
        })?;
    let mut payload = Vec::new();
    input
        .read_meta(len, &mut payload)
        .map_err(|e| TarError::input(offset, None, e))?;
    if payload.len() < len {
        return Err(TarError::new(
            offset,
            None,
            format!(
                "{what} of {len} bytes runs past end of archive (only {} bytes left)",
                payload.len()
            ),
        ));
    }
    // A short padding means the archive ends here; the next read says so.
    input
        .skip(padding(size))
        .map_err(|e| TarError::input(offset, None, e))?;
    Ok(payload)
}
