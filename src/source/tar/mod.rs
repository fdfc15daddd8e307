//! Our own tar reader: walks headers and says where each member's bytes are, never copies them.
//!
//! Why not the `tar` crate: a dump scanner needs exact offsets (members are hashed in place
//! from a memory map), one clear error per broken archive naming the member at fault, hard
//! bounds on what a hostile header can make us allocate, and no panic on any input.
//!
//! Two front ends share one header walker:
//! - [`TarSlice`] iterates a tar held in memory (a mapped file); each [`TarMember`] gives the
//!   range of its data in that slice.
//! - [`TarStream`] reads a tar from any [`std::io::Read`] (a `.tar.gz` or `.tar.zst` decoder): after
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

//!
//! # Layout
//! - `header`: one header block read as fields: the field positions, the checksum, numeric
//!   fields (octal, base-256), names (ustar prefix), pax records, and the test that tells a
//!   header from other bytes ([`is_tar_header`], [`looks_like_tar`]).
//! - `walker`: the walk shared by both front ends: extended headers folded into their member,
//!   damage skipped to the next header, over an input that is a slice or a stream.
//! - `slice`: [`TarSlice`], members of a tar held in memory.
//! - `stream`: [`TarStream`], members of a tar read from a [`std::io::Read`].

use std::fmt;
use std::io;
use std::ops::Range;

use super::archive::Fault;
use walker::{InputError, Pos};

mod header;
mod slice;
mod stream;
mod walker;

pub use header::{is_tar_header, looks_like_tar, RECOGNITION_WINDOW};
pub use slice::TarSlice;
pub use stream::{MemberData, TarStream};

/// Size of a tar header and the unit of data padding.
pub const BLOCK_LEN: usize = 512;

/// Largest GNU long name, long link name or pax header payload we accept, in bytes. Larger
/// ones are rejected before anything is allocated.
pub const MAX_META_LEN: u64 = 1 << 20;

const BLOCK_U64: u64 = BLOCK_LEN as u64;

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

    /// The input could not give what was asked: a read error in the reader's own words
    /// ([`TarError::read`]), or no memory for an extended header.
    fn input(offset: u64, member: Option<Vec<u8>>, e: InputError) -> TarError {
        match e {
            InputError::Read(e) => TarError::read(offset, member, &e),
            InputError::Alloc(len, e) => {
                TarError::new(offset, member, format!("cannot allocate {len} bytes: {e}"))
            }
        }
    }

    /// The reader failed with `e`: `read error: ` and its message, its [`Fault`] what `e` is
    /// (its kind, or what a decompressor said of its stream).
    fn read(offset: u64, member: Option<Vec<u8>>, e: &io::Error) -> TarError {
        TarError {
            fault: Fault::of(e),
            ..TarError::new(offset, member, format!("read error: {e}"))
        }
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

#[cfg(test)]
mod tests;
