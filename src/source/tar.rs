//! Our own tar reader: walks headers and says where each member's bytes are, never copies them.
//!
//! Why not the `tar` crate: a dump scanner needs exact offsets (members are hashed in place
//! from a memory map), one clear error per broken archive naming the member at fault, hard
//! bounds on what a hostile header can make us allocate, and no panic on any input.
//!
//! Two front ends share one header walker:
//! - [`TarSlice`] iterates a tar held in memory (a mapped file); each [`TarMember`] gives the
//!   range of its data in that slice.
//! - [`TarStream`] reads a tar from any [`Read`] (a `.tar.gz` or `.tar.zst` decoder): after
//!   [`TarStream::next_member`], [`TarStream::data`] reads that member's bytes.
//!
//! Formats: v7, ustar (with its `prefix` field), old GNU (long names `L`/`K`, base-256 sizes,
//! sparse `S` reported as [`EntryKind::Other`]), pax (`x` per-member and `g` global headers,
//! Solaris `X` read as `x`; keys `path`, `linkpath`, `size`; GNU `GNU.sparse.*` keys mark the
//! member sparse).
//!
//! # Errors and recovery
//! A block where a header is expected that is not one (bad checksum, malformed size, junk) is
//! skipped block by block up to the next valid header, as GNU tar does ("Skipping to next
//! header"): the walk yields one [`TarError`] whose [`TarError::skipped`] bytes from
//! [`TarError::offset`] were not read, then goes on with the members after them. The walk also
//! goes on after an end-of-archive marker: the members of concatenated archives
//! (`cat a.tar b.tar`, what `tar --ignore-zeros` reads) are members too, and trailing bytes
//! after the marker that hold no valid header are such an error unless they are all zero
//! (padding). Errors with nothing skipped (a member running past the end, a malformed pax
//! record, an oversized extended header, a read error) end the walk.

use std::fmt;
use std::io::{self, Read};
use std::ops::Range;

use super::archive::Fault;

/// Size of a tar header and the unit of data padding.
pub const BLOCK_LEN: usize = 512;

/// Largest GNU long name, long link name or pax header payload we accept, in bytes. Larger
/// ones are rejected before anything is allocated.
pub const MAX_META_LEN: u64 = 1 << 20;

const BLOCK_U64: u64 = BLOCK_LEN as u64;

// Header field positions (POSIX ustar; old GNU shares the first 345 bytes).
const NAME: Range<usize> = 0..100;
const MODE: Range<usize> = 100..108;
const SIZE: Range<usize> = 124..136;
const CHKSUM: Range<usize> = 148..156;
const TYPEFLAG: usize = 156;
const LINKNAME: Range<usize> = 157..257;
const MAGIC: Range<usize> = 257..263;
const MAGIC_VERSION: Range<usize> = 257..265;
/// `devmajor` and `devminor`, 8 bytes each.
const DEVICES: Range<usize> = 329..345;
const PREFIX: Range<usize> = 345..500;
/// star's prefix is shorter: its header ends with `tar\0` at 508.
const STAR_PREFIX: Range<usize> = 345..476;
const STAR_TRAILER: Range<usize> = 508..512;
/// Old GNU sparse header: set when extension blocks of sparse map follow.
const GNU_IS_EXTENDED: usize = 482;
/// Same flag in each sparse extension block.
const GNU_EXT_IS_EXTENDED: usize = 504;

/// What a member is, from its type flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A regular file (`0`, NUL, or `7` contiguous file).
    Regular,
    /// A directory (`5`; GNU dumpdir `D`; or a regular type whose name ends with `/`, the old
    /// BSD convention).
    Directory,
    /// A symbolic link (`2`); its target is in [`TarMember::link`].
    Symlink,
    /// A hard link to an earlier member (`1`); its target is in [`TarMember::link`].
    Hardlink,
    /// A character device (`3`).
    CharDevice,
    /// A block device (`4`).
    BlockDevice,
    /// A named pipe (`6`).
    Fifo,
    /// Anything else, with its type flag byte. GNU sparse members, old (`S`) and pax
    /// (`GNU.sparse.*` keys), are `Other(b'S')`: their stored bytes are not the file's content.
    Other(u8),
}

impl EntryKind {
    fn from_header(flag: u8, name: &[u8]) -> EntryKind {
        match flag {
            0 | b'0' | b'7' if name.ends_with(b"/") => EntryKind::Directory,
            0 | b'0' | b'7' => EntryKind::Regular,
            b'1' => EntryKind::Hardlink,
            b'2' => EntryKind::Symlink,
            b'3' => EntryKind::CharDevice,
            b'4' => EntryKind::BlockDevice,
            b'5' | b'D' => EntryKind::Directory,
            b'6' => EntryKind::Fifo,
            other => EntryKind::Other(other),
        }
    }
}

/// One member of a tar: its name, kind and where its bytes are. No data is copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TarMember {
    /// Full path as raw bytes: the pax `path`, else the GNU long name, else the header name
    /// joined to the ustar `prefix` by `/`. Directories usually end with `/`.
    pub name: Vec<u8>,
    /// Link target of a [`EntryKind::Symlink`] or [`EntryKind::Hardlink`] (pax `linkpath`,
    /// GNU long link or header field); `None` for other kinds.
    pub link: Option<Vec<u8>>,
    /// What the member is.
    pub kind: EntryKind,
    /// Offset of the member's own header block (after any pax or GNU long-name headers).
    pub header_offset: u64,
    /// Offset of the member's first data byte.
    pub data_offset: u64,
    /// Number of data bytes (pax `size` when present, else the header's size field).
    pub size: u64,
}

impl TarMember {
    /// The member's data as a range of the archive, or `None` when it does not fit in `usize`.
    /// Members from [`TarSlice`] always fit in the slice they came from.
    pub fn data_range(&self) -> Option<Range<usize>> {
        let start = usize::try_from(self.data_offset).ok()?;
        let end = start.checked_add(usize::try_from(self.size).ok()?)?;
        Some(start..end)
    }

    /// The member's data within `archive`, or `None` when out of bounds.
    pub fn data<'b>(&self, archive: &'b [u8]) -> Option<&'b [u8]> {
        archive.get(self.data_range()?)
    }
}

/// What is wrong with a tar: damage skipped (the walk goes on), or why it could not be read
/// further. Displays as `at offset N (member NAME): reason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TarError {
    /// Archive offset (of the decompressed stream for [`TarStream`]) of the header or member
    /// at fault, or of the first damaged byte skipped.
    pub offset: u64,
    /// The member at fault, when its name is known.
    pub member: Option<Vec<u8>>,
    /// What is wrong.
    pub reason: String,
    /// Bytes from `offset` skipped without being read as a header or member data (damaged
    /// headers, junk, trailing data after the end-of-archive marker): the walk went on after
    /// them, and may yield more members. 0 when this error ended the walk.
    pub skipped: u64,
    /// Whether the archive is malformed or could not be read (the reader of a [`TarStream`]
    /// failed: a decoder's error, a file that changed while it was read).
    pub fault: Fault,
}

impl TarError {
    fn new(offset: u64, member: Option<Vec<u8>>, reason: impl Into<String>) -> TarError {
        TarError {
            offset,
            member,
            reason: reason.into(),
            skipped: 0,
            fault: Fault::Malformed,
        }
    }

    /// True when the walk goes on after this error (damage was skipped), false when it ended
    /// the walk.
    pub fn resumes(&self) -> bool {
        self.skipped > 0
    }

    fn past_end(member: &Pos, left: u64) -> TarError {
        TarError::new(
            member.header_offset,
            Some(member.name.clone()),
            format!(
                "member size {} runs past end of archive (only {left} bytes left)",
                member.size
            ),
        )
    }
}

impl fmt::Display for TarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at offset {}", self.offset)?;
        if let Some(name) = &self.member {
            write!(f, " (member {})", escape_name(name))?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for TarError {}

/// A raw name made printable on one line: valid UTF-8 is kept (control characters escaped),
/// other bytes are shown as `\xNN`.
fn escape_name(name: &[u8]) -> String {
    let mut out = String::new();
    for chunk in name.utf8_chunks() {
        out.extend(chunk.valid().chars().flat_map(char::escape_debug));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// True when `block` (first 512 bytes of a file) is a tar header: valid checksum (signed and
/// unsigned sums both accepted) and a plausible ustar, GNU or v7 header. Detection is by
/// content, not by file name. Shorter input is never a header.
pub fn is_tar_header(block: &[u8]) -> bool {
    let Some(block) = block
        .get(..BLOCK_LEN)
        .and_then(|b| <&[u8; BLOCK_LEN]>::try_from(b).ok())
    else {
        return false;
    };
    if !checksum_ok(block) || parse_numeric(&block[SIZE]).is_none() {
        return false;
    }
    if &block[MAGIC] == b"ustar\0" || &block[MAGIC_VERSION] == b"ustar  \0" {
        return true;
    }
    // v7 has no magic: after the link name everything is zero (GNU tar fills the device
    // fields with octal zeros), the name is not empty, the type flag is one v7-era writers
    // use and the mode is octal.
    block[0] != 0
        && block[MAGIC.start..DEVICES.start].iter().all(|&b| b == 0)
        && block[DEVICES.end..].iter().all(|&b| b == 0)
        && block[DEVICES]
            .chunks(8)
            .all(|f| parse_octal(f, true) == Some(0))
        && matches!(block[TYPEFLAG], 0 | b'0'..=b'7')
        && parse_octal(&block[MODE], true).is_some()
}

/// How far into its content a file is searched for a tar header when its first block is not
/// one (a tar whose first header is damaged; see [`looks_like_tar`]).
///
/// Why 64 KiB (128 blocks): a damaged first header is followed by its member's data, so the
/// next header is as far as that member is large; 64 KiB covers the small members typical of
/// dump shards, and the pax or GNU long-name header that often comes first (its own member
/// header is in the next blocks). Every file that is not a tar pays this search, so it is
/// bounded: each candidate block costs one 8-byte octal parse of its checksum field before
/// anything else (random bytes fail there), and the window is already read to hash the file.
/// Searching a whole file would turn any large file holding a tar at some 512-byte boundary
/// (a disk image, another container) into a "damaged tar" whose own digest is not computed.
/// Beyond the window such a file is hashed whole, as it was before recovery existed.
pub const RECOGNITION_WINDOW: usize = 64 << 10;

/// True when `bytes` (the start of a file: its first [`RECOGNITION_WINDOW`] bytes, or all of
/// it when shorter) hold a tar: the first block is a header ([`is_tar_header`]), or, for a tar
/// whose first header is damaged, a later block at a 512-byte boundary within the window is
/// one (valid checksum and a ustar, GNU or plausible v7 header: random bytes never pass).
pub fn looks_like_tar(bytes: &[u8]) -> bool {
    is_tar_header(bytes)
        || bytes[..bytes.len().min(RECOGNITION_WINDOW)]
            .chunks_exact(BLOCK_LEN)
            .skip(1)
            .any(is_tar_header)
}

/// The size field of `block` (the first `n` bytes of it read) when it is a header the walker
/// reads: a whole block with a valid checksum and a well-formed size. GNU tar resynchronises
/// on the same test.
fn header_size(block: &[u8; BLOCK_LEN], n: usize) -> Option<u64> {
    if n == BLOCK_LEN && checksum_ok(block) {
        parse_numeric(&block[SIZE])
    } else {
        None
    }
}

/// Why the first `n` bytes of `block` are not a header (not all zero, not [`header_size`]).
fn not_a_header(block: &[u8; BLOCK_LEN], n: usize) -> String {
    if n < BLOCK_LEN {
        format!("truncated header: the archive ends {n} bytes into a {BLOCK_LEN}-byte header")
    } else if !checksum_ok(block) {
        "bad header checksum".into()
    } else {
        "malformed size field".into()
    }
}

/// Verifies the header checksum: the sum of all bytes with the checksum field read as spaces.
/// Both the unsigned sum (POSIX) and the signed one (some old writers) are accepted.
fn checksum_ok(block: &[u8; BLOCK_LEN]) -> bool {
    let Some(stored) = parse_octal(&block[CHKSUM], false) else {
        return false;
    };
    let (mut unsigned, mut signed) = (0u64, 0i64);
    for (i, &b) in block.iter().enumerate() {
        let b = if CHKSUM.contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(i8::from_ne_bytes([b]));
    }
    stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed)
}

/// A numeric header field: GNU base-256 (high bit of the first byte set; negative values are
/// rejected) or octal. `None` when malformed or over `u64::MAX`.
fn parse_numeric(field: &[u8]) -> Option<u64> {
    let (&first, rest) = field.split_first()?;
    if first & 0x80 == 0 {
        return parse_octal(field, true);
    }
    if first & 0x40 != 0 {
        return None;
    }
    rest.iter().try_fold(u64::from(first & 0x3f), |v, &b| {
        v.checked_mul(256)?.checked_add(u64::from(b))
    })
}

/// An octal field: optional leading spaces, digits, then only spaces and NULs. A field with no
/// digits at all is 0 when `allow_empty`, else malformed.
fn parse_octal(field: &[u8], allow_empty: bool) -> Option<u64> {
    let rest = field.trim_ascii_start();
    let digits = rest
        .iter()
        .take_while(|b| (b'0'..=b'7').contains(b))
        .count();
    let (number, tail) = rest.split_at(digits);
    if !tail.iter().all(|&b| b == 0 || b == b' ') {
        return None;
    }
    if number.is_empty() {
        return allow_empty.then_some(0);
    }
    number.iter().try_fold(0u64, |v, &d| {
        v.checked_mul(8)?.checked_add(u64::from(d - b'0'))
    })
}

/// A decimal number as found in pax records: digits only.
fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u64, |v, &d| {
        v.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// The bytes of a NUL-terminated field, up to the first NUL.
fn until_nul(field: &[u8]) -> &[u8] {
    field.split(|&b| b == 0).next().unwrap_or(field)
}

/// Bytes of padding after `size` data bytes.
fn padding(size: u64) -> u64 {
    (BLOCK_U64 - size % BLOCK_U64) % BLOCK_U64
}

/// Walks pax records `LEN key=value\n`, calling `f` on each; `LEN` counts the whole record.
/// NUL padding after the last record is tolerated.
fn parse_pax(
    mut data: &[u8],
    mut f: impl FnMut(&[u8], &[u8]) -> Result<(), String>,
) -> Result<(), String> {
    while !data.iter().all(|&b| b == 0) {
        let digits = data.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || data.get(digits) != Some(&b' ') {
            return Err("record does not start with a decimal length and a space".into());
        }
        let len = parse_decimal(&data[..digits])
            .and_then(|n| usize::try_from(n).ok())
            .ok_or("record length is too large")?;
        if len > data.len() {
            return Err(format!(
                "record length {len} runs past the end of the header ({} bytes left)",
                data.len()
            ));
        }
        // Shortest record: length, space, one-byte key, '=', newline.
        if len < digits + 4 {
            return Err(format!("record length {len} is too short"));
        }
        let (record, rest) = data.split_at(len);
        let Some((b'\n', body)) = record.split_last() else {
            return Err(format!(
                "record of length {len} does not end with a newline"
            ));
        };
        let kv = &body[digits + 1..];
        let eq = kv
            .iter()
            .position(|&b| b == b'=')
            .ok_or("record has no '='")?;
        if eq == 0 {
            return Err("record has an empty key".into());
        }
        f(&kv[..eq], &kv[eq + 1..])?;
        data = rest;
    }
    Ok(())
}

fn pax_size(value: &[u8]) -> Result<Option<u64>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    parse_decimal(value)
        .map(Some)
        .ok_or_else(|| format!("size {:?} is not a decimal number", escape_name(value)))
}

/// What the reader needs from its input: a slice or a stream. I/O errors are reasons.
trait Input {
    /// Offset of the next unread byte.
    fn pos(&self) -> u64;
    /// Fills `buf` as far as the input allows; fewer than [`BLOCK_LEN`] bytes only at its end.
    fn read_block(&mut self, buf: &mut [u8; BLOCK_LEN]) -> Result<usize, String>;
    /// Appends up to `len` bytes to `out`; fewer only at the end of input.
    fn read_meta(&mut self, len: usize, out: &mut Vec<u8>) -> Result<(), String>;
    /// Skips up to `n` bytes; returns how many were skipped (fewer only at the end of input).
    fn skip(&mut self, n: u64) -> Result<u64, String>;
}

/// Name, header offset and size of the member whose data comes next.
struct Pos {
    name: Vec<u8>,
    header_offset: u64,
    size: u64,
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

/// What extended headers said about the member that follows them.
#[derive(Default)]
struct Pending {
    /// Offset of the first extended header of the member.
    first_offset: Option<u64>,
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    path: Option<Vec<u8>>,
    linkpath: Option<Vec<u8>>,
    size: Option<u64>,
    sparse_name: Option<Vec<u8>>,
    sparse: bool,
}

impl Pending {
    fn apply_pax(&mut self, key: &[u8], value: &[u8]) -> Result<(), String> {
        let text = |v: &[u8]| (!v.is_empty()).then(|| v.to_vec());
        match key {
            b"path" => self.path = text(value),
            b"linkpath" => self.linkpath = text(value),
            b"size" => self.size = pax_size(value)?,
            b"GNU.sparse.name" => {
                self.sparse = true;
                self.sparse_name = text(value);
            }
            _ if key.starts_with(b"GNU.sparse.") => self.sparse = true,
            _ => {}
        }
        Ok(())
    }
}

/// The header logic shared by [`TarSlice`] and [`TarStream`]. Holds what outlives a member:
/// pax global header values, and a header found after damage.
#[derive(Default)]
struct Walker {
    /// `size` from the last pax global header: per POSIX it applies to every following member
    /// that has no `size` of its own.
    global_size: Option<u64>,
    /// A valid header found by [`Walker::resync`] after damage, which was reported first: the
    /// next call starts from it (a stream cannot read it again).
    held: Option<Box<Held>>,
    /// The blocks last read where a header was expected are an end-of-archive marker, and
    /// nothing but zeros came after it (see [`TarStream::after_end_marker`]).
    after_end: bool,
}

/// A header block already read, with its offset and size field.
struct Held {
    offset: u64,
    size: u64,
    block: [u8; BLOCK_LEN],
}

impl Walker {
    /// Reads headers up to and including the next member's, leaving `input` at its data.
    /// `Ok(None)` at the end of the archive.
    fn next_member(&mut self, input: &mut impl Input) -> Result<Option<TarMember>, TarError> {
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
                    .map_err(|r| TarError::new(at, Some(name.clone()), r))?;
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
        .map_err(|r| TarError::new(at, None, r))
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
        .map_err(|r| TarError::new(offset, None, r))?;
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
        .map_err(|r| TarError::new(offset, None, r))?;
    Ok(payload)
}

/// The name in the header itself: `name`, joined to a non-empty ustar `prefix` by `/`.
fn header_name(block: &[u8; BLOCK_LEN]) -> Vec<u8> {
    let name = until_nul(&block[NAME]);
    if &block[MAGIC] == b"ustar\0" {
        let field = if &block[STAR_TRAILER] == b"tar\0" {
            &block[STAR_PREFIX]
        } else {
            &block[PREFIX]
        };
        let prefix = until_nul(field);
        if !prefix.is_empty() {
            return [prefix, b"/", name].concat();
        }
    }
    name.to_vec()
}

/// A tar held in memory, read in place.
struct SliceInput<'a> {
    bytes: &'a [u8],
    /// Never more than `bytes.len()`.
    pos: usize,
}

impl SliceInput<'_> {
    fn rest(&self) -> &[u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }
}

impl Input for SliceInput<'_> {
    fn pos(&self) -> u64 {
        self.pos as u64
    }

    fn read_block(&mut self, buf: &mut [u8; BLOCK_LEN]) -> Result<usize, String> {
        let rest = self.rest();
        let n = rest.len().min(BLOCK_LEN);
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }

    fn read_meta(&mut self, len: usize, out: &mut Vec<u8>) -> Result<(), String> {
        let rest = self.rest();
        let n = rest.len().min(len);
        out.extend_from_slice(&rest[..n]);
        self.pos += n;
        Ok(())
    }

    fn skip(&mut self, n: u64) -> Result<u64, String> {
        let k = usize::try_from(n)
            .unwrap_or(usize::MAX)
            .min(self.rest().len());
        self.pos += k;
        Ok(k as u64)
    }
}

/// Iterates the members of a tar held in memory (typically a memory map), without copying
/// their data: each [`TarMember`] says where its bytes are in the slice.
///
/// Yields `Err` for damage skipped ([`TarError::resumes`]) and goes on; any other `Err` is
/// the last item.
///
/// # Algorithm
/// Reads one 512-byte header at a time, folding pax and GNU long-name headers into the member
/// that follows them, then jumps over the member's data rounded up to 512 bytes. A member
/// whose data does not fit in the slice is an error naming it. Where a header is expected and
/// none is, blocks are skipped up to the next valid header (see the module doc): zero blocks
/// (end markers, padding) silently, anything else as one error. So the walk ends only at the
/// end of the slice, and the members of concatenated archives are all found.
///
/// # Example
/// ```
/// use vigie::source::tar::{EntryKind, TarSlice};
///
/// let archive = std::fs::read("fixtures/tar/ustar.tar")?;
/// for member in TarSlice::new(&archive) {
///     let member = member?;
///     if member.kind == EntryKind::Regular {
///         let bytes = member.data(&archive).expect("TarSlice members fit their slice");
///         println!("{} bytes", bytes.len());
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TarSlice<'a> {
    input: SliceInput<'a>,
    walker: Walker,
    done: bool,
}

impl<'a> TarSlice<'a> {
    /// Starts reading the tar in `bytes`, from its first header.
    pub fn new(bytes: &'a [u8]) -> TarSlice<'a> {
        TarSlice {
            input: SliceInput { bytes, pos: 0 },
            walker: Walker::default(),
            done: false,
        }
    }

    /// Offset of the next header to read.
    pub fn position(&self) -> u64 {
        self.input.pos()
    }
}

impl Iterator for TarSlice<'_> {
    type Item = Result<TarMember, TarError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let member = match self.walker.next_member(&mut self.input) {
            Ok(Some(member)) => member,
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = !e.resumes();
                return Some(Err(e));
            }
        };
        let left = self.input.rest().len() as u64;
        if member.size > left {
            self.done = true;
            return Some(Err(TarError::past_end(&Pos::from(&member), left)));
        }
        // Data then padding; padding cut short by the end of the slice is the end of archive.
        let skip = member.size.saturating_add(padding(member.size));
        // Infallible on a slice.
        let _ = self.input.skip(skip);
        Some(Ok(member))
    }
}

impl std::iter::FusedIterator for TarSlice<'_> {}

/// A tar read from a stream, counting its position.
struct StreamInput<R> {
    inner: R,
    pos: u64,
    /// Kind of the last error the reader returned.
    error_kind: Option<io::ErrorKind>,
}

impl<R> StreamInput<R> {
    fn failed(&mut self, e: &io::Error) -> String {
        self.error_kind = Some(e.kind());
        read_error(e)
    }
}

fn read_error(e: &io::Error) -> String {
    format!("read error: {e}")
}

impl<R: Read> Input for StreamInput<R> {
    fn pos(&self) -> u64 {
        self.pos
    }

    fn read_block(&mut self, buf: &mut [u8; BLOCK_LEN]) -> Result<usize, String> {
        let mut filled = 0;
        while filled < BLOCK_LEN {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(k) => {
                    let k = k.min(BLOCK_LEN - filled);
                    filled += k;
                    self.pos = self.pos.saturating_add(k as u64);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.failed(&e)),
            }
        }
        Ok(filled)
    }

    fn read_meta(&mut self, len: usize, out: &mut Vec<u8>) -> Result<(), String> {
        out.try_reserve_exact(len)
            .map_err(|e| format!("cannot allocate {len} bytes: {e}"))?;
        let n = self
            .inner
            .by_ref()
            .take(len as u64)
            .read_to_end(out)
            .map_err(|e| self.failed(&e))?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(())
    }

    fn skip(&mut self, n: u64) -> Result<u64, String> {
        let mut buf = [0u8; 8 * 1024];
        let mut done = 0u64;
        while done < n {
            let want = usize::try_from(n - done)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            match self.inner.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(k) => {
                    let k = k.min(want) as u64;
                    done += k;
                    self.pos = self.pos.saturating_add(k);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.failed(&e)),
            }
        }
        Ok(done)
    }
}

enum State {
    Active,
    /// A data read failed: [`TarStream::next_member`] reports it once.
    Failed(TarError),
    Done,
}

/// The member whose data the stream is at.
struct Current {
    pos: Pos,
    /// Data bytes not yet read.
    remaining: u64,
}

/// Reads a tar from a stream (a `.tar.gz` or `.tar.zst` decoder): call
/// [`TarStream::next_member`], then read the member's bytes with [`TarStream::data`]. Unread
/// bytes are skipped on the next call. Offsets are positions in the (decompressed) stream.
///
/// Reads are 512 bytes for headers and at most 8 KiB when skipping: wrap an unbuffered
/// reader (a raw [`std::fs::File`]) in a [`std::io::BufReader`]. Decoders buffer already.
///
/// # Errors
/// Damage skipped gives an `Err` from `next_member` ([`TarError::resumes`]), and the next
/// call goes on; malformed input or an I/O error gives one `Err`, then `Ok(None)`.
///
/// # Example
/// ```
/// use std::io::Read;
/// use vigie::source::tar::TarStream;
///
/// let file = std::fs::File::open("fixtures/tar/pax.tar.gz")?;
/// let mut tar = TarStream::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
/// while let Some(member) = tar.next_member()? {
///     let mut head = Vec::new();
///     tar.data().take(64).read_to_end(&mut head)?; // the rest is skipped
///     println!("{}: {} bytes", String::from_utf8_lossy(&member.name), member.size);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TarStream<R: Read> {
    input: StreamInput<R>,
    walker: Walker,
    current: Option<Current>,
    state: State,
}

impl<R: Read> TarStream<R> {
    /// Starts reading a tar from `reader`, positioned at its first header.
    pub fn new(reader: R) -> TarStream<R> {
        TarStream {
            input: StreamInput {
                inner: reader,
                pos: 0,
                error_kind: None,
            },
            walker: Walker::default(),
            current: None,
            state: State::Active,
        }
    }

    /// Moves to the next member, skipping what is left of the current one's data.
    ///
    /// # Errors
    /// For damage skipped ([`TarError::resumes`]): the next call goes on after it. Otherwise
    /// once, on malformed input, a read error, or a member whose data runs past the end of the
    /// stream (including one whose data read through [`TarStream::data`] failed); every later
    /// call gives `Ok(None)`.
    pub fn next_member(&mut self) -> Result<Option<TarMember>, TarError> {
        let failed_before = self.input.error_kind.is_some();
        self.next_member_inner().map_err(|mut e| {
            // The reader failed during this call: the error is its (a walk ends at its first
            // read error, so no later error is mistaken for it).
            if let (false, Some(kind)) = (failed_before, self.input.error_kind) {
                e.fault = Fault::Io(kind);
            }
            e
        })
    }

    fn next_member_inner(&mut self) -> Result<Option<TarMember>, TarError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Active => {}
            State::Failed(e) => return Err(e),
            State::Done => return Ok(None),
        }
        if let Some(cur) = self.current.take() {
            let at = self.input.pos;
            let skipped = self
                .input
                .skip(cur.remaining)
                .map_err(|r| TarError::new(at, Some(cur.pos.name.clone()), r))?;
            if skipped < cur.remaining {
                let read = cur.pos.size - cur.remaining + skipped;
                return Err(TarError::past_end(&cur.pos, read));
            }
            let at = self.input.pos;
            self.input
                .skip(padding(cur.pos.size))
                .map_err(|r| TarError::new(at, Some(cur.pos.name.clone()), r))?;
        }
        let member = match self.walker.next_member(&mut self.input) {
            Ok(member) => member,
            Err(e) => {
                if e.resumes() {
                    self.state = State::Active;
                }
                return Err(e);
            }
        };
        if let Some(m) = &member {
            self.current = Some(Current {
                pos: Pos::from(m),
                remaining: m.size,
            });
            self.state = State::Active;
        }
        Ok(member)
    }

    /// A reader of the current member's data: exactly [`TarMember::size`] bytes, then EOF.
    /// Before the first member and after the end it reads nothing.
    ///
    /// # Errors
    /// Reads fail with [`io::ErrorKind::UnexpectedEof`] when the stream ends before the
    /// member's data does, or with the underlying reader's error; the stream is then failed
    /// and [`TarStream::next_member`] reports it as a [`TarError`].
    pub fn data(&mut self) -> MemberData<'_, R> {
        MemberData { stream: self }
    }

    /// Offset in the (decompressed) stream of the next byte to be read.
    pub fn position(&self) -> u64 {
        self.input.pos
    }

    /// True when the blocks last read where a header was expected are an end-of-archive
    /// marker (two zero blocks or more) with nothing after them yet: a tar is complete, and
    /// only padding or another archive may follow. A caller decoding a compressed stream
    /// tells by it an error in bytes after the stream's end (trailing garbage, ignored as
    /// `gzip -d` ignores it) from one inside the archive.
    pub fn after_end_marker(&self) -> bool {
        self.walker.after_end
    }

    /// Kind of the last error the underlying reader returned, if any (the reason of a
    /// [`TarError`] carries its message).
    pub fn read_error_kind(&self) -> Option<io::ErrorKind> {
        self.input.error_kind
    }

    /// Gives back the reader, positioned wherever reading stopped.
    pub fn into_inner(self) -> R {
        self.input.inner
    }
}

/// Reads the data of a [`TarStream`]'s current member; see [`TarStream::data`].
pub struct MemberData<'s, R: Read> {
    stream: &'s mut TarStream<R>,
}

impl<R: Read> Read for MemberData<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let stream = &mut *self.stream;
        if let State::Failed(e) = &stream.state {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, e.to_string()));
        }
        let Some(cur) = stream.current.as_mut() else {
            return Ok(0);
        };
        if cur.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(cur.remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        match stream.input.inner.read(&mut buf[..want]) {
            Ok(0) => {
                let e = TarError::past_end(&cur.pos, cur.pos.size - cur.remaining);
                let io_err = io::Error::new(io::ErrorKind::UnexpectedEof, e.to_string());
                stream.current = None;
                stream.state = State::Failed(e);
                Err(io_err)
            }
            Ok(k) => {
                let k = k.min(want);
                cur.remaining -= k as u64;
                stream.input.pos = stream.input.pos.saturating_add(k as u64);
                Ok(k)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let mut te =
                    TarError::new(stream.input.pos, Some(cur.pos.name.clone()), read_error(&e));
                te.fault = Fault::Io(e.kind());
                stream.input.error_kind = Some(e.kind());
                stream.current = None;
                stream.state = State::Failed(te);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Member content, as `fixtures/tar/make.sh` generates it.
    fn content(seed: usize, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| ((i * 31 + seed * 7 + i / 251) % 256) as u8)
            .collect()
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/fixtures/tar/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    const LONG_DIR: &[u8] = b"d/a_fairly_long_directory_name_for_testing_the_ustar_prefix_split/";
    const LONG: &[u8] = b"d/a_fairly_long_directory_name_for_testing_the_ustar_prefix_split/and_a_long_file_name_too_so_the_total_exceeds_one_hundred.bin";

    /// Name, kind, (seed, length) of the content, link target.
    type Want = (
        &'static [u8],
        EntryKind,
        (usize, usize),
        Option<&'static [u8]>,
    );

    /// What the fixtures hold, in archive order: name, kind, (seed, length) of the content,
    /// link target.
    fn expected(with_long: bool) -> Vec<Want> {
        use EntryKind::*;
        let mut v: Vec<Want> = vec![(b"d/", Directory, (0, 0), None)];
        if with_long {
            v.push((LONG_DIR, Directory, (0, 0), None));
            v.push((LONG, Regular, (6, 1000), None));
        }
        v.extend([
            (&b"d/caf\xe9.bin"[..], Regular, (4, 77), None),
            (b"d/empty", Regular, (0, 0), None),
            (b"d/exact512", Regular, (1, 512), None),
            (b"d/hard", Hardlink, (0, 0), Some(&b"d/exact512"[..])),
            (b"d/link", Symlink, (0, 0), Some(&b"exact512"[..])),
            (b"d/new\nline", Regular, (5, 33), None),
            (b"d/over513", Regular, (2, 513), None),
            (b"d/sub/", Directory, (0, 0), None),
            (b"d/sub/big.bin", Regular, (7, 3000), None),
            (b"d/with space.txt", Regular, (3, 100), None),
        ]);
        v
    }

    fn slice_members(bytes: &[u8]) -> Vec<Result<TarMember, TarError>> {
        TarSlice::new(bytes).collect()
    }

    /// Every member and its data read through a stream, or the error ending it (damage
    /// skipped is passed over).
    fn stream_members(r: impl Read) -> (Vec<(TarMember, Vec<u8>)>, Option<TarError>) {
        let mut s = TarStream::new(r);
        let mut out = Vec::new();
        loop {
            match s.next_member() {
                Ok(Some(m)) => {
                    let mut data = Vec::new();
                    if s.data().read_to_end(&mut data).is_err() {
                        let e = s.next_member().expect_err("failed data read reported");
                        assert!(matches!(s.next_member(), Ok(None)));
                        return (out, Some(e));
                    }
                    out.push((m, data));
                }
                Ok(None) => return (out, None),
                Err(e) if e.resumes() => {}
                Err(e) => {
                    assert!(matches!(s.next_member(), Ok(None)), "error reported once");
                    return (out, Some(e));
                }
            }
        }
    }

    /// What a stream yields, as [`TarSlice`] would: members (their data read whole), damage
    /// skipped, and the error ending the walk (a member whose data runs past the end of the
    /// stream is that error, in place of the member, as [`TarSlice`] refuses it up front).
    fn stream_all(r: impl Read) -> Vec<Result<TarMember, TarError>> {
        let mut s = TarStream::new(r);
        let mut out = Vec::new();
        loop {
            match s.next_member() {
                Ok(Some(m)) => {
                    let mut data = Vec::new();
                    if s.data().read_to_end(&mut data).is_err() {
                        out.push(Err(s.next_member().expect_err("failed data read reported")));
                        assert!(matches!(s.next_member(), Ok(None)));
                        return out;
                    }
                    assert_eq!(data.len() as u64, m.size);
                    out.push(Ok(m));
                }
                Ok(None) => return out,
                Err(e) => {
                    let resumes = e.resumes();
                    out.push(Err(e));
                    if !resumes {
                        assert!(matches!(s.next_member(), Ok(None)), "error reported once");
                        return out;
                    }
                }
            }
        }
    }

    /// What both walkers yield on `bytes` (checked equal, the stream read in short reads too).
    fn walk(bytes: &[u8]) -> Vec<Result<TarMember, TarError>> {
        let all = slice_members(bytes);
        assert_eq!(stream_all(bytes), all, "stream and slice agree");
        assert_eq!(stream_all(Dribble(bytes, 0)), all, "short reads");
        all
    }

    fn check_fixture(name: &str, with_long: bool) {
        let bytes = fixture(name);
        assert!(is_tar_header(&bytes), "{name}: first header detected");
        let members: Vec<TarMember> = slice_members(&bytes)
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = expected(with_long);
        let names: Vec<_> = members.iter().map(|m| escape_name(&m.name)).collect();
        assert_eq!(members.len(), want.len(), "{name}: {names:?}");
        for (m, (wname, kind, (seed, len), link)) in members.iter().zip(want) {
            let shown = escape_name(wname);
            assert_eq!(m.name, wname, "{name}");
            assert_eq!(m.kind, kind, "{name}: {shown}");
            assert_eq!(m.size, len as u64, "{name}: {shown}");
            assert_eq!(m.link.as_deref(), link, "{name}: {shown}");
            assert_eq!(m.data_offset % BLOCK_U64, 0);
            assert!(m.header_offset < m.data_offset);
            assert_eq!(
                m.data(&bytes),
                Some(&content(seed, len)[..]),
                "{name}: {shown}"
            );
        }
        // The stream agrees, member for member and byte for byte.
        let (streamed, err) = stream_members(&bytes[..]);
        assert_eq!(err, None);
        assert_eq!(streamed.len(), members.len());
        for ((sm, data), m) in streamed.iter().zip(&members) {
            assert_eq!(sm, m);
            assert_eq!(Some(&data[..]), m.data(&bytes));
        }
    }

    #[test]
    fn reads_ustar() {
        check_fixture("ustar.tar", true);
    }

    #[test]
    fn reads_gnu() {
        check_fixture("gnu.tar", true);
    }

    #[test]
    fn reads_pax() {
        check_fixture("pax.tar", true);
    }

    #[test]
    fn reads_v7() {
        check_fixture("v7.tar", false);
    }

    #[test]
    fn compressed_streams_match_the_plain_tar() {
        let plain = fixture("pax.tar");
        let want: Vec<(TarMember, Vec<u8>)> = slice_members(&plain)
            .into_iter()
            .map(|m| {
                let m = m.unwrap();
                let data = m.data(&plain).unwrap().to_vec();
                (m, data)
            })
            .collect();
        let gz = fixture("pax.tar.gz");
        let (got, err) = stream_members(flate2::read::GzDecoder::new(&gz[..]));
        assert_eq!(err, None);
        assert_eq!(got, want);
        let zst = fixture("pax.tar.zst");
        let (got, err) = stream_members(zstd::Decoder::new(&zst[..]).unwrap());
        assert_eq!(err, None);
        assert_eq!(got, want);
    }

    #[test]
    fn stream_skips_unread_and_partly_read_data() {
        let bytes = fixture("gnu.tar");
        let mut s = TarStream::new(&bytes[..]);
        let mut names = Vec::new();
        let mut i = 0;
        while let Some(m) = s.next_member().unwrap() {
            // Read nothing, a little, or everything, by turns.
            let mut buf = [0u8; 7];
            match i % 3 {
                0 => {}
                1 => {
                    let n = s.data().read(&mut buf).unwrap();
                    assert_eq!(&buf[..n], &m.data(&bytes).unwrap()[..n]);
                }
                _ => {
                    let mut all = Vec::new();
                    s.data().read_to_end(&mut all).unwrap();
                    assert_eq!(all, m.data(&bytes).unwrap());
                }
            }
            names.push(m.name);
            i += 1;
        }
        assert_eq!(names.len(), expected(true).len());
        assert!(s.position() <= bytes.len() as u64);
    }

    #[test]
    fn detects_headers_by_content() {
        for f in ["ustar.tar", "gnu.tar", "pax.tar", "v7.tar"] {
            assert!(is_tar_header(&fixture(f)[..BLOCK_LEN]), "{f}");
        }
        assert!(!is_tar_header(&[0u8; BLOCK_LEN]));
        assert!(!is_tar_header(&fixture("ustar.tar")[..BLOCK_LEN - 1]));
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.resize(BLOCK_LEN, 0);
        assert!(!is_tar_header(&png));
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..1000 {
            let block: Vec<u8> = (0..BLOCK_LEN).map(|_| rng.next() as u8).collect();
            assert!(!is_tar_header(&block));
        }
        // A valid checksum alone is not enough for v7: the rest must look like a header.
        let mut junk = header(b"x", b'0', 0);
        junk[MAGIC].copy_from_slice(b"junk\0\0");
        fix_checksum(&mut junk);
        assert!(!is_tar_header(&junk));
    }

    #[test]
    fn checksum_accepts_signed_sums() {
        let mut h = header(b"caf\xe9", b'0', 0);
        let signed: i64 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if CHKSUM.contains(&i) {
                    32
                } else {
                    i64::from(b as i8)
                }
            })
            .sum();
        h[CHKSUM].copy_from_slice(format!("{signed:06o}\0 ").as_bytes());
        assert!(checksum_ok(&h));
        h[CHKSUM].copy_from_slice(format!("{:06o}\0 ", signed + 1).as_bytes());
        assert!(!checksum_ok(&h));
    }

    #[test]
    fn numeric_fields() {
        assert_eq!(parse_numeric(b"00000001000\0"), Some(512));
        assert_eq!(parse_numeric(b"  1000 \0\0\0\0\0"), Some(512));
        assert_eq!(parse_numeric(b"1000        "), Some(512));
        assert_eq!(parse_numeric(b"\0\0\0\0\0\0\0\0\0\0\0\0"), Some(0));
        assert_eq!(parse_numeric(b"            "), Some(0));
        assert_eq!(parse_numeric(b"0000000100 8"), None);
        assert_eq!(parse_numeric(b"00000001009\0"), None);
        assert_eq!(parse_numeric(b"1 2\0"), None);
        assert_eq!(parse_octal(b"\0\0\0\0\0\0\0\0", false), None);
        assert_eq!(
            parse_octal(b"77777777777777777777777", true),
            None,
            "overflow"
        );
        // Base-256: 9 GiB, the largest positive value, negative values, overflow.
        let nine_gib = 9u64 << 30;
        let mut f = [0u8; 12];
        f[0] = 0x80;
        f[4..].copy_from_slice(&nine_gib.to_be_bytes());
        assert_eq!(parse_numeric(&f), Some(nine_gib));
        f[4..].copy_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(parse_numeric(&f), Some(u64::MAX));
        f[3] = 1;
        assert_eq!(parse_numeric(&f), None, "over u64");
        assert_eq!(parse_numeric(&[0xff; 12]), None, "negative");
        assert_eq!(parse_decimal(b"18446744073709551616"), None);
        assert_eq!(parse_decimal(b"-1"), None);
    }

    // ---- Hand-built archives -------------------------------------------------------------

    fn fix_checksum(h: &mut [u8; BLOCK_LEN]) {
        h[CHKSUM].fill(b' ');
        let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
        h[CHKSUM].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    }

    /// A ustar header with an octal size.
    fn header(name: &[u8], flag: u8, size: u64) -> [u8; BLOCK_LEN] {
        let mut h = [0u8; BLOCK_LEN];
        h[..name.len()].copy_from_slice(name);
        h[MODE].copy_from_slice(b"0000644\0");
        h[SIZE].copy_from_slice(format!("{size:011o}\0").as_bytes());
        h[TYPEFLAG] = flag;
        h[MAGIC_VERSION].copy_from_slice(b"ustar\x0000");
        fix_checksum(&mut h);
        h
    }

    /// Appends a member: header, data, padding.
    fn push(tar: &mut Vec<u8>, h: [u8; BLOCK_LEN], data: &[u8]) {
        tar.extend_from_slice(&h);
        tar.extend_from_slice(data);
        tar.resize(tar.len().next_multiple_of(BLOCK_LEN), 0);
    }

    fn push_file(tar: &mut Vec<u8>, name: &[u8], data: &[u8]) {
        push(tar, header(name, b'0', data.len() as u64), data);
    }

    fn push_pax(tar: &mut Vec<u8>, flag: u8, records: &[u8]) {
        push(
            tar,
            header(b"PaxHeader", flag, records.len() as u64),
            records,
        );
    }

    /// One pax record with its length computed.
    fn rec(key: &str, value: &[u8]) -> Vec<u8> {
        let body = key.len() + value.len() + 3;
        let mut len = body + 1;
        while len != body + len.to_string().len() {
            len = body + len.to_string().len();
        }
        [format!("{len} {key}=").as_bytes(), value, b"\n"].concat()
    }

    fn finish(tar: &mut Vec<u8>) {
        tar.extend_from_slice(&[0u8; 2 * BLOCK_LEN]);
    }

    fn first_err(bytes: &[u8]) -> TarError {
        walk(bytes)
            .into_iter()
            .find_map(Result::err)
            .expect("an error")
    }

    #[test]
    fn end_of_archive_variants() {
        let mut tar = Vec::new();
        push_file(&mut tar, b"a", b"hello");
        let names = |b: &[u8]| -> Vec<Vec<u8>> {
            let slice: Vec<_> = slice_members(b)
                .into_iter()
                .map(|m| m.unwrap().name)
                .collect();
            let (stream, err) = stream_members(b);
            assert_eq!(err, None);
            assert_eq!(
                stream.into_iter().map(|(m, _)| m.name).collect::<Vec<_>>(),
                slice
            );
            slice
        };
        // No end marker at all; cut in the padding; one zero block; a partial zero block.
        assert_eq!(names(&tar), [b"a"]);
        assert_eq!(names(&tar[..BLOCK_LEN + 5]), [b"a"]);
        assert_eq!(names(&tar[..BLOCK_LEN + 100]), [b"a"]);
        let mut one_zero = tar.clone();
        one_zero.extend_from_slice(&[0; BLOCK_LEN]);
        assert_eq!(names(&one_zero), [b"a"]);
        one_zero.extend_from_slice(&[0; 100]);
        assert_eq!(names(&one_zero), [b"a"]);
        // Zero padding after the end marker (tape records) is no damage.
        let mut padded = tar.clone();
        padded.resize(10_240, 0);
        assert_eq!(names(&padded), [b"a"]);
        // A lone zero block followed by a real header does not hide the members after it.
        let mut lone = tar.clone();
        lone.extend_from_slice(&[0; BLOCK_LEN]);
        push_file(&mut lone, b"b", b"world");
        finish(&mut lone);
        assert_eq!(names(&lone), [&b"a"[..], b"b"]);
        // Empty input is an empty archive.
        assert!(names(b"").is_empty());
    }

    #[test]
    fn truncated_mid_data_names_the_member() {
        let bytes = fixture("gnu.tar");
        let big = slice_members(&bytes)
            .into_iter()
            .map(Result::unwrap)
            .find(|m| m.name == b"d/sub/big.bin")
            .unwrap();
        let cut = &bytes[..big.data_offset as usize + 100];
        let all = slice_members(cut);
        assert_eq!(all.len(), expected(true).len() - 1);
        let e = first_err(cut);
        assert_eq!(e.member.as_deref(), Some(&b"d/sub/big.bin"[..]));
        assert_eq!(e.offset, big.header_offset);
        assert_eq!(
            e.reason,
            "member size 3000 runs past end of archive (only 100 bytes left)"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "at offset {} (member d/sub/big.bin): {}",
                big.header_offset, e.reason
            )
        );
    }

    #[test]
    fn truncated_mid_header() {
        let bytes = fixture("ustar.tar");
        let m = slice_members(&bytes)[3].clone().unwrap();
        let e = first_err(&bytes[..m.header_offset as usize + 100]);
        assert_eq!(e.offset, m.header_offset);
        assert_eq!(e.member, None);
        assert!(e.reason.starts_with("truncated header"), "{e}");
    }

    #[test]
    fn size_past_end_names_the_member() {
        let mut tar = Vec::new();
        push_file(&mut tar, b"ok", b"fine");
        let mut h = header(b"too big", b'0', 1_048_576);
        fix_checksum(&mut h);
        tar.extend_from_slice(&h);
        tar.extend_from_slice(&[7; 300]);
        let e = first_err(&tar);
        assert_eq!(e.offset, BLOCK_U64 * 2);
        assert_eq!(
            e.to_string(),
            "at offset 1024 (member too big): member size 1048576 runs past end of archive (only 300 bytes left)"
        );
    }

    #[test]
    fn base256_sizes() {
        let mut h = header(b"small", b'0', 0);
        h[SIZE].fill(0);
        h[SIZE.start] = 0x80;
        h[SIZE.end - 1] = 5;
        fix_checksum(&mut h);
        let mut tar = Vec::new();
        push(&mut tar, h, b"12345");
        finish(&mut tar);
        let m = slice_members(&tar)[0].clone().unwrap();
        assert_eq!(m.data(&tar), Some(&b"12345"[..]));
        // A 9 GiB member (GNU writes its size in base-256) in a small archive.
        let mut h = header(b"huge.iso", b'0', 0);
        h[SIZE].fill(0);
        h[SIZE.start] = 0x80;
        h[SIZE.end - 8..SIZE.end].copy_from_slice(&(9u64 << 30).to_be_bytes());
        fix_checksum(&mut h);
        let mut tar = h.to_vec();
        tar.extend_from_slice(&[1; 2000]);
        let e = first_err(&tar);
        assert_eq!(
            e.reason,
            "member size 9663676416 runs past end of archive (only 2000 bytes left)"
        );
    }

    /// Offset, bytes skipped and reason of an error that resumes the walk.
    fn damage(r: &Result<TarMember, TarError>) -> (u64, u64, &str) {
        let e = r.as_ref().expect_err("damage");
        assert!(e.resumes(), "{e}");
        assert_eq!(e.member, None);
        (e.offset, e.skipped, &e.reason)
    }

    fn names_of(all: &[Result<TarMember, TarError>]) -> Vec<&[u8]> {
        all.iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|m| &m.name[..])
            .collect()
    }

    #[test]
    fn bad_checksum_is_skipped_to_the_next_header() {
        let clean = fixture("ustar.tar");
        let all = walk(&clean);
        let third = all[2].clone().unwrap();
        let fourth = all[3].clone().unwrap();
        let mut bytes = clean.clone();
        bytes[third.header_offset as usize + 3] ^= 1;
        let got = walk(&bytes);
        // The damaged header and its data, up to the next header, are one error in place of
        // the member; everything else is as in the clean archive.
        assert_eq!(got.len(), all.len());
        assert_eq!(got[..2], all[..2]);
        assert_eq!(got[3..], all[3..]);
        let data_end = (third.data_offset + third.size).next_multiple_of(BLOCK_U64);
        assert_eq!(
            damage(&got[2]),
            (
                third.header_offset,
                data_end - third.header_offset,
                &*format!(
                    "skipped {} bytes of damaged headers (bad header checksum) up to the next valid header, at offset {}",
                    data_end - third.header_offset,
                    fourth.header_offset
                )
            )
        );
        // A corrupt pax header (and its records, skipped): the member header it was for is
        // found, named by its own field; the other members are untouched.
        let clean = walk(&fixture("pax.tar"));
        let first = clean[0].clone().unwrap();
        let mut bytes = fixture("pax.tar");
        bytes[3] ^= 1;
        let got = walk(&bytes);
        assert_eq!(damage(&got[0]).0..damage(&got[0]).1, 0..first.header_offset);
        assert_eq!(got[1].as_ref().unwrap().header_offset, first.header_offset);
        assert_eq!(got[2..], clean[1..]);
        // A corrupt first header: the other members are found.
        let mut bytes = fixture("v7.tar");
        bytes[0] = b'X';
        assert!(!is_tar_header(&bytes) && looks_like_tar(&bytes));
        let got = walk(&bytes);
        assert_eq!(damage(&got[0]).0, 0);
        assert!(damage(&got[0]).2.contains("(bad header checksum)"));
        assert_eq!(got[1..], walk(&fixture("v7.tar"))[1..]);
    }

    #[test]
    fn malformed_size_is_damage() {
        let mut tar = Vec::new();
        let mut h = header(b"bad size", b'0', 0);
        h[SIZE].copy_from_slice(b"0000000009x\0");
        fix_checksum(&mut h);
        push(&mut tar, h, b"");
        push_file(&mut tar, b"b", b"bee");
        finish(&mut tar);
        let got = walk(&tar);
        assert_eq!(
            damage(&got[0]),
            (0, 512, "skipped 512 bytes of damaged headers (malformed size field) up to the next valid header, at offset 512")
        );
        assert_eq!(names_of(&got), [b"b"]);
    }

    #[test]
    fn junk_between_members_is_skipped() {
        let mut tar = Vec::new();
        push_file(&mut tar, b"a", b"alpha");
        let junk_at = tar.len() as u64;
        tar.extend_from_slice(&[0xAA; 2 * BLOCK_LEN]);
        // Zero blocks after the junk are padding: not counted as damage.
        tar.extend_from_slice(&[0; 2 * BLOCK_LEN]);
        let b_at = tar.len() as u64;
        push_file(&mut tar, b"b", b"beta");
        finish(&mut tar);
        let got = walk(&tar);
        assert_eq!(names_of(&got), [&b"a"[..], b"b"]);
        assert_eq!(
            damage(&got[1]),
            (junk_at, 1024, &*format!("skipped 1024 bytes of damaged headers (bad header checksum) up to the next valid header, at offset {b_at}"))
        );
        assert_eq!(got[2].as_ref().unwrap().data(&tar), Some(&b"beta"[..]));
        // Junk to the end of the archive, with no end marker.
        let mut cut = tar[..b_at as usize].to_vec();
        cut.truncate(junk_at as usize + 700);
        let got = walk(&cut);
        assert_eq!(
            damage(&got[1]),
            (junk_at, 700, "700 bytes of damaged headers (bad header checksum) with no valid header after them up to the end of the archive: not read")
        );
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn concatenated_archives_are_read_whole() {
        let mut a = Vec::new();
        push_file(&mut a, b"a1", b"one");
        push_file(&mut a, b"a2", b"two");
        finish(&mut a);
        a.resize(10_240, 0);
        let mut b = Vec::new();
        push_file(&mut b, b"b1", b"three");
        finish(&mut b);
        let cat = [&a[..], &b[..], &a[..]].concat();
        let got = walk(&cat);
        assert_eq!(names_of(&got), [&b"a1"[..], b"a2", b"b1", b"a1", b"a2"]);
        assert!(got.iter().all(Result::is_ok));
        let second = got[2].as_ref().unwrap();
        assert_eq!(second.header_offset, 10_240);
        assert_eq!(second.data(&cat), Some(&b"three"[..]));
    }

    #[test]
    fn trailing_data_after_the_end_marker() {
        let mut tar = Vec::new();
        push_file(&mut tar, b"a", b"hello");
        finish(&mut tar);
        let end = tar.len() as u64;
        // Junk holding no header: every member, then the unread junk as damage.
        let mut junk = tar.clone();
        junk.extend_from_slice(b"not a tar header, and no more");
        let got = walk(&junk);
        assert_eq!(names_of(&got), [b"a"]);
        assert_eq!(
            damage(&got[1]),
            (end, 29, "29 bytes of trailing data after the end-of-archive marker at offset 1024 hold no valid header: not read")
        );
        // After a lone zero block, and with zeros after the junk: the junk alone is counted.
        let mut lone = tar[..2 * BLOCK_LEN + BLOCK_LEN].to_vec();
        lone.extend_from_slice(&[0xAA; BLOCK_LEN]);
        lone.extend_from_slice(&[0; 3 * BLOCK_LEN]);
        let got = walk(&lone);
        assert_eq!(
            damage(&got[1]),
            (1536, 512, "512 bytes of trailing data after a lone zero block at offset 1024 hold no valid header: not read")
        );
        // Junk then a hidden archive: both reported.
        let mut hidden = junk.clone();
        hidden.resize(hidden.len().next_multiple_of(BLOCK_LEN), 0);
        let hidden_at = hidden.len();
        push_file(&mut hidden, b"hidden", b"secret");
        let got = walk(&hidden);
        assert_eq!(names_of(&got), [&b"a"[..], b"hidden"]);
        assert_eq!(
            damage(&got[1]),
            (end, 512, &*format!("skipped 512 bytes of junk after the end-of-archive marker at offset 1024 up to the next valid header, at offset {hidden_at}"))
        );
        assert_eq!(got[2].as_ref().unwrap().data(&hidden), Some(&b"secret"[..]));
    }

    #[test]
    fn recognition_window() {
        let mut tar = Vec::new();
        push_file(&mut tar, b"a", b"x");
        finish(&mut tar);
        assert!(looks_like_tar(&tar));
        for (lead, found) in [
            (BLOCK_LEN, true),
            (RECOGNITION_WINDOW - BLOCK_LEN, true),
            (RECOGNITION_WINDOW, false),
        ] {
            let mut junk = vec![0x5A; lead];
            junk.extend_from_slice(&tar);
            assert_eq!(looks_like_tar(&junk), found, "header at {lead}");
            // Not at a block boundary: never.
            junk.insert(0, 0);
            assert!(!looks_like_tar(&junk));
        }
        // Zero blocks first (a lone zero block then a tar) count too; random bytes never do,
        // nor a checksum-valid block that is not a ustar/GNU/v7 header.
        let zeros = [&[0u8; BLOCK_LEN][..], &tar].concat();
        assert!(looks_like_tar(&zeros));
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let random: Vec<u8> = (0..RECOGNITION_WINDOW).map(|_| rng.next() as u8).collect();
        assert!(!looks_like_tar(&random));
        let mut odd = header(b"x", b'0', 0);
        odd[MAGIC].copy_from_slice(b"junk\0\0");
        fix_checksum(&mut odd);
        assert!(!looks_like_tar(&[&[1u8; BLOCK_LEN][..], &odd].concat()));
        assert!(!looks_like_tar(b""));
    }

    #[test]
    fn pax_headers() {
        let mut tar = Vec::new();
        // Global: `path` is meaningless and ignored, `size` applies to what follows.
        push_pax(
            &mut tar,
            b'g',
            &[rec("comment", b"vigie"), rec("path", b"ignored/name")].concat(),
        );
        push_pax(&mut tar, b'x', &rec("path", b"long/\xe9name\nwith nl"));
        push_file(&mut tar, b"short", b"data");
        push_pax(&mut tar, b'X', &rec("linkpath", b"target"));
        push(&mut tar, header(b"sym", b'2', 0), b"");
        // `size` overrides the header's.
        push_pax(&mut tar, b'x', b"9 size=3\n");
        push(&mut tar, header(b"sized", b'0', 0), b"abc");
        push_pax(&mut tar, b'g', b"9 size=2\n");
        push(&mut tar, header(b"gsized", b'0', 0), b"xy");
        // A per-member size beats the global one, and an empty global size removes it.
        push_pax(&mut tar, b'x', b"9 size=4\n");
        push(&mut tar, header(b"both", b'0', 0), b"wxyz");
        push_pax(&mut tar, b'g', b"8 size=\n");
        push_file(&mut tar, b"plain", b"p");
        // GNU sparse 1.0: real name from the pax header, kind Other('S').
        push_pax(
            &mut tar,
            b'x',
            &[
                rec("GNU.sparse.major", b"1"),
                rec("GNU.sparse.name", b"real.img"),
            ]
            .concat(),
        );
        push(
            &mut tar,
            header(b"./GNUSparseFile.1/real.img", b'0', 0),
            b"",
        );
        finish(&mut tar);
        let ms: Vec<_> = slice_members(&tar)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let got: Vec<_> = ms
            .iter()
            .map(|m| {
                (
                    m.name.as_slice(),
                    m.kind,
                    m.data(&tar).unwrap(),
                    m.link.as_deref(),
                )
            })
            .collect();
        use EntryKind::*;
        type Seen<'a> = (&'a [u8], EntryKind, &'a [u8], Option<&'a [u8]>);
        let want: Vec<Seen> = vec![
            (b"long/\xe9name\nwith nl", Regular, b"data", None),
            (b"sym", Symlink, b"", Some(b"target")),
            (b"sized", Regular, b"abc", None),
            (b"gsized", Regular, b"xy", None),
            (b"both", Regular, b"wxyz", None),
            (b"plain", Regular, b"p", None),
            (b"real.img", Other(b'S'), b"", None),
        ];
        assert_eq!(got, want);
        let (streamed, err) = stream_members(&tar[..]);
        assert_eq!(err, None);
        assert_eq!(streamed.into_iter().map(|(m, _)| m).collect::<Vec<_>>(), ms);
    }

    #[test]
    fn malformed_pax_records() {
        let cases: &[(&[u8], &str)] = &[
            (b"99 path=x\n", "runs past the end"),
            (b"path=x\n", "decimal length"),
            (b"7 path=x\n", "does not end with a newline"),
            (b"3 a\n", "too short"),
            (b"8 pathx\n", "no '='"),
            (b"5 =x\n", "empty key"),
            (b"10 size=x\n", "not a decimal number"),
            (b"99999999999999999999999 a=b\n", "too large"),
        ];
        for (records, why) in cases {
            let mut tar = Vec::new();
            push_file(&mut tar, b"before", b"1");
            push_pax(&mut tar, b'x', records);
            push_file(&mut tar, b"after", b"2");
            finish(&mut tar);
            let e = first_err(&tar);
            assert_eq!(e.offset, 2 * BLOCK_U64);
            assert!(
                e.reason.starts_with("malformed pax extended header: "),
                "{e}"
            );
            assert!(e.reason.contains(why), "{e}");
            assert_eq!(slice_members(&tar).len(), 2);
        }
        // NUL padding after the records is tolerated.
        let mut tar = Vec::new();
        push_pax(&mut tar, b'x', &[rec("path", b"ok"), vec![0; 3]].concat());
        push_file(&mut tar, b"x", b"");
        assert_eq!(slice_members(&tar)[0].clone().unwrap().name, b"ok");
    }

    #[test]
    fn gnu_long_names_and_links() {
        let name = [b'n'; 300];
        let mut long_name = name.to_vec();
        long_name.push(0);
        let mut tar = Vec::new();
        push(
            &mut tar,
            header(b"././@LongLink", b'L', long_name.len() as u64),
            &long_name,
        );
        push(&mut tar, header(b"././@LongLink", b'K', 6), b"t\0rash");
        push(&mut tar, header(b"truncated name", b'1', 0), b"");
        finish(&mut tar);
        let m = slice_members(&tar)[0].clone().unwrap();
        assert_eq!(m.name, name);
        assert_eq!(m.kind, EntryKind::Hardlink);
        assert_eq!(m.link.as_deref(), Some(&b"t"[..]));
        assert_eq!(m.header_offset, 4 * BLOCK_U64);
    }

    #[test]
    fn oversized_extended_headers_are_refused_before_reading() {
        for (flag, what) in [
            (b'L', "GNU long name"),
            (b'K', "GNU long link name"),
            (b'x', "pax extended header"),
            (b'g', "pax global header"),
        ] {
            let mut tar = header(b"././@LongLink", flag, MAX_META_LEN + 1).to_vec();
            tar.extend_from_slice(&[b'a'; 100]);
            let e = first_err(&tar);
            assert_eq!(
                e.reason,
                format!("{what} of 1048577 bytes exceeds the limit of 1048576 bytes")
            );
        }
        let mut tar = header(b"././@LongLink", b'L', 1000).to_vec();
        tar.extend_from_slice(&[b'a'; 100]);
        assert_eq!(
            first_err(&tar).reason,
            "GNU long name of 1000 bytes runs past end of archive (only 100 bytes left)"
        );
    }

    #[test]
    fn extended_header_without_member() {
        let mut tar = Vec::new();
        push_file(&mut tar, b"a", b"1");
        push_pax(&mut tar, b'x', &rec("path", b"ok"));
        finish(&mut tar);
        // The extended header lost its member: it is the damage.
        let e = first_err(&tar);
        assert_eq!((e.offset, e.skipped), (BLOCK_U64 * 2, BLOCK_U64 * 2));
        assert!(
            e.reason
                .contains("(an extended header is not followed by a member header)"),
            "{e}"
        );
        // Followed by junk, then a member: the member is read, without the pax path.
        let mut tar = Vec::new();
        push_pax(&mut tar, b'x', &rec("path", b"lost"));
        tar.extend_from_slice(&[1; BLOCK_LEN]);
        push_file(&mut tar, b"b", b"bee");
        let got = walk(&tar);
        assert_eq!(damage(&got[0]).0..damage(&got[0]).1, 0..3 * BLOCK_U64);
        assert_eq!(names_of(&got), [b"b"]);
        // A global header alone is fine.
        let mut tar = Vec::new();
        push_pax(&mut tar, b'g', &rec("path", b"ok"));
        finish(&mut tar);
        assert!(slice_members(&tar).is_empty());
    }

    #[test]
    fn old_gnu_sparse_is_other_and_skipped() {
        let mut h = header(b"sparse.img", b'S', 3);
        h[MAGIC_VERSION].copy_from_slice(b"ustar  \0");
        h[GNU_IS_EXTENDED] = 1;
        fix_checksum(&mut h);
        let mut tar = h.to_vec();
        let mut ext = [0u8; BLOCK_LEN];
        ext[GNU_EXT_IS_EXTENDED] = 1;
        tar.extend_from_slice(&ext);
        tar.extend_from_slice(&[0u8; BLOCK_LEN]);
        tar.extend_from_slice(b"abc");
        tar.resize(4 * BLOCK_LEN, 0);
        push_file(&mut tar, b"next", b"n");
        finish(&mut tar);
        let ms: Vec<_> = slice_members(&tar)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(ms[0].kind, EntryKind::Other(b'S'));
        assert_eq!(ms[0].data_offset, 3 * BLOCK_U64);
        assert_eq!(ms[0].data(&tar), Some(&b"abc"[..]));
        assert_eq!(ms[1].name, b"next");
        // Extension blocks cut short.
        let e = first_err(&tar[..2 * BLOCK_LEN]);
        assert!(e.reason.contains("sparse extension"), "{e}");
        assert_eq!(e.member.as_deref(), Some(&b"sparse.img"[..]));
    }

    #[test]
    fn gnu_tar_sparse_members() {
        for (f, data_offset) in [
            ("sparse.gnu.tar", 2 * BLOCK_U64),
            ("sparse.pax.tar", 3 * BLOCK_U64),
        ] {
            let bytes = fixture(f);
            let all = slice_members(&bytes);
            assert_eq!(all.len(), 1, "{f}");
            let m = all[0].clone().unwrap();
            assert_eq!(m.name, b"s.img", "{f}");
            assert_eq!(m.kind, EntryKind::Other(b'S'), "{f}");
            // Old GNU: header, one sparse extension block. pax 1.0: x header (one block of
            // records), header; the data starts with the sparse map, in decimal.
            assert_eq!(m.data_offset, data_offset, "{f}");
            let data = m.data(&bytes).unwrap();
            if f == "sparse.gnu.tar" {
                assert_eq!(&data[..100], content(8, 100));
            } else {
                assert!(data.starts_with(b"14\n0\n4096\n"), "{f}");
            }
            let (streamed, err) = stream_members(&bytes[..]);
            assert_eq!(err, None);
            assert_eq!(streamed, [(m, data.to_vec())]);
        }
    }

    #[test]
    fn kinds_from_type_flags() {
        use EntryKind::*;
        let mut tar = Vec::new();
        for (name, flag) in [
            (&b"c"[..], b'3'),
            (b"b", b'4'),
            (b"f", b'6'),
            (b"contig", b'7'),
            (b"bsd-dir/", 0),
            (b"dump", b'D'),
            (b"vol", b'V'),
        ] {
            push(&mut tar, header(name, flag, 0), b"");
        }
        finish(&mut tar);
        let kinds: Vec<_> = slice_members(&tar)
            .into_iter()
            .map(|m| m.unwrap().kind)
            .collect();
        assert_eq!(
            kinds,
            [
                CharDevice,
                BlockDevice,
                Fifo,
                Regular,
                Directory,
                Directory,
                Other(b'V')
            ]
        );
    }

    #[test]
    fn ustar_and_star_prefixes() {
        let mut h = header(b"name", b'0', 0);
        h[PREFIX.start..PREFIX.start + 3].copy_from_slice(b"pre");
        fix_checksum(&mut h);
        assert_eq!(header_name(&h), b"pre/name");
        // star: a 131-byte prefix, then times; `tar\0` at the end says so.
        h[PREFIX.start..STAR_PREFIX.end].fill(b'p');
        h[STAR_PREFIX.end..STAR_PREFIX.end + 12].copy_from_slice(b"00000000000\0");
        h[STAR_TRAILER].copy_from_slice(b"tar\0");
        let mut want = vec![b'p'; STAR_PREFIX.len()];
        want.extend_from_slice(b"/name");
        assert_eq!(header_name(&h), want);
        // Old GNU headers have no prefix: those bytes are times.
        h[MAGIC_VERSION].copy_from_slice(b"ustar  \0");
        assert_eq!(header_name(&h), b"name");
    }

    #[test]
    fn error_display_escapes_names() {
        let e = TarError::new(7, Some(b"a\nb\xe9".to_vec()), "boom");
        assert_eq!(e.to_string(), "at offset 7 (member a\\nb\\xE9): boom");
        assert_eq!(TarError::new(0, None, "x").to_string(), "at offset 0: x");
    }

    #[test]
    fn stream_data_error_is_reported_once() {
        let bytes = fixture("gnu.tar");
        let big = slice_members(&bytes)
            .into_iter()
            .map(Result::unwrap)
            .find(|m| m.name == b"d/sub/big.bin")
            .unwrap();
        let cut = &bytes[..big.data_offset as usize + 10];
        let mut s = TarStream::new(cut);
        while let Some(m) = s.next_member().unwrap() {
            if m.name == b"d/sub/big.bin" {
                break;
            }
        }
        let mut data = Vec::new();
        let err = s.data().read_to_end(&mut data).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(data.len(), 10);
        assert!(s.data().read(&mut [0; 4]).is_err());
        let e = s.next_member().unwrap_err();
        assert_eq!(
            e.reason,
            "member size 3000 runs past end of archive (only 10 bytes left)"
        );
        assert!(matches!(s.next_member(), Ok(None)));
        assert_eq!(s.data().read(&mut [0; 4]).unwrap(), 0);
    }

    // ---- Fuzz-style robustness -----------------------------------------------------------

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    /// A stream that returns short reads, to exercise the read loops.
    struct Dribble<'a>(&'a [u8], usize);

    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.1 = self.1 % 700 + 1;
            let n = buf.len().min(self.0.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn random_mutations_never_panic() {
        let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
        let sources: Vec<Vec<u8>> = [
            "gnu.tar",
            "pax.tar",
            "ustar.tar",
            "v7.tar",
            "sparse.gnu.tar",
        ]
        .iter()
        .map(|f| {
            let b = fixture(f);
            // The part before the end marker, plus the marker: mutations land on content.
            let end = b.len() - b.iter().rev().take_while(|&&x| x == 0).count();
            b[..(end + 2 * BLOCK_LEN)
                .next_multiple_of(BLOCK_LEN)
                .min(b.len())]
                .to_vec()
        })
        .collect();
        // VIGIE_TAR_FUZZ_ROUNDS=200000 cargo test random_mutations, for a longer run.
        let rounds = std::env::var("VIGIE_TAR_FUZZ_ROUNDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3000);
        for round in 0..rounds {
            let mut t = sources[round % sources.len()].clone();
            for _ in 0..1 + rng.below(6) {
                if t.is_empty() {
                    break;
                }
                let i = rng.below(t.len());
                match rng.below(4) {
                    0 => t[i] ^= 1 << rng.below(8),
                    1 => t[i] = rng.next() as u8,
                    // Header fields that matter, with special values.
                    2 => {
                        let h = i / BLOCK_LEN * BLOCK_LEN;
                        let field = [SIZE.start, TYPEFLAG, SIZE.start + 11, 0, PREFIX.start];
                        let at = h + field[rng.below(field.len())];
                        let v = [0u8, 0x80, 0xff, b'7', b' ', b'x', b'g', b'L', b'S', b'\n'];
                        if at < t.len() {
                            t[at] = v[rng.below(v.len())];
                        }
                    }
                    _ => t.truncate(i),
                }
            }
            // Make most mutated headers pass the checksum so the deeper code runs.
            if rng.below(4) != 0 {
                for h in t.chunks_exact_mut(BLOCK_LEN) {
                    let h: &mut [u8; BLOCK_LEN] = h.try_into().unwrap();
                    if h.iter().any(|&b| b != 0) && !checksum_ok(h) {
                        fix_checksum(h);
                    }
                }
            }
            let all = slice_members(&t);
            for (k, r) in all.iter().enumerate() {
                match r {
                    Ok(m) => assert!(m.data(&t).is_some(), "round {round}"),
                    Err(e) if e.resumes() => {
                        let end = e.offset + e.skipped;
                        assert!(end <= t.len() as u64, "round {round}: {e}");
                    }
                    Err(_) => assert_eq!(k, all.len() - 1, "round {round}: error is last"),
                }
            }
            assert_eq!(stream_all(Dribble(&t, round)), all, "round {round}");
        }
    }
}
