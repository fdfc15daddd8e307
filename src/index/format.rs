//! The index file format, version 7: the layout below, its constants, the section kinds, the
//! section table's entries, the codes stored for roles and list formats, and the one record
//! type a list is written from and read into (the builder and the reader share them).
//!
//! # File format, version 7
//!
//! All integers are little-endian. Offsets are from the start of the file.
//!
//! ```text
//! header
//!   0     8  magic "VIGIEIDX"
//!   8     4  u32 format version (7; versions 1 to 6 are read too: version 1 multi-index
//!              tables all keep one u32 start a bucket and 4-byte rows, version 3 added PDQ
//!              provenance groups narrower than 4 bytes, version 4 the kinds 11 and 12,
//!              versions 5 and 6 the known videos (`video.rs`), version 7 the kind 13)
//!   12    4  u32 section count n (1..=128)
//!   16    8  u64 file length in bytes
//!   24    8  u64 reserved (0)
//!   32  32n  section table, one 32-byte entry per section:
//!              u32 kind, u32 param, u64 offset, u64 length, u64 xxh3-64 of the section bytes
//!   32+32n 8 u64 xxh3-64 of header bytes [0, 32+32n)
//! sections, each starting at a multiple of 64 bytes (zero padding between them)
//!
//! kind 1 STRINGS      param 0
//!   u32 count; (count+1) u32 end offsets into the text, the first being 0; UTF-8 text
//! kind 2 LISTS        param 0
//!   u32 count; count records of 64 bytes:
//!     u32 name string, u32 label string, u32 source path string,
//!     u32 format (0 plain, 1 coreutils, 2 hashdeep, 3 te, 4 te-csv, 5 nsrl, 6 rdsv3, 7 vics,
//!     8 tcap, 9 stopncii, 10 te-legacy, 11 pdq-hasher, 12 xways, 13 encase, 14 vpdq-frames,
//!     32 dcso-bloom; `ListFormat::code`; a code this vigie does not know, a newer vigie's
//!     format, is informational: the list opens and matches, its format shown as unknown),
//!     u64 malformed lines,
//!     4 x u64 entries read per algorithm (md5, sha1, sha256, xxh3_128), u64 PDQ entries read
//! kind 3 PROVENANCE   param 0
//!   u32 group count G; u32 pair count P; (G+1) u32 start of each group in the pairs, the
//!   last being P; P pairs (u32 list index into LISTS, u32 label string): a group is the
//!   sorted set of (list, label) a digest was found in, shared by every digest with that set
//! (kind 4 is not used)
//! kind 5 RECORDS      param = algorithm id
//!   rows of (digest bytes || u32 provenance group), sorted by digest bytes, no duplicate
//!   digests; the width is the digest length + 4 (20 md5 and xxh3_128, 24 sha1, 36 sha256)
//! kind 6 BUCKETS      param = algorithm id
//!   m >= 1 buckets of 64 bytes: u32 first row, u32 row count, 7 u64 fingerprint slots.
//!   The bucket of a digest is floor(p * m / 2^64), p its first 8 bytes as a big-endian
//!   integer; bucket i holds the (contiguous, sorted) rows whose bucket is i, so the first
//!   bucket starts at row 0, each next one where the previous ends, and the last ends at the
//!   row count. Slot j < min(count, 7) holds bytes 8..16 of the digest of row first + j,
//!   the other slots are zero; a bucket of more than 7 rows is searched in the records
//! kind 7 PDQ          param = w, the bytes of a provenance group: 0, 1, 2 or 4 (always 4,
//!                     with param 0, before version 3)
//!   n >= 1 rows in two columns: n PDQ hashes of 32 bytes (the bytes of the 64-hex-digit
//!   form, in order), sorted, no duplicates; then n provenance groups of w bytes each
//!   (little-endian), the group of hash i at i; with w = 0 every hash is in group 0. The
//!   section length is (32 + w)n. The builder takes the narrowest w that holds every group
//!   number. At most one PDQ section, none without PDQ entries
//! kind 8 PDQ_MIH      param = table number: the PDQ multi-index tables, laid out in
//!   `mih/mod.rs` (its module documentation)
//! kind 9 ROLES        param 0
//!   u32 count, equal to the LISTS count; count u32 roles, the role of list i at i:
//!   0 blocklist, 1 allowlist. At most one ROLES section; without one every list is a
//!   blocklist (the builder writes it only when some list is not)
//! kind 10 BLOOM       param = list index into LISTS (a list of format dcso-bloom)
//!   u32 algorithm id of the keys, u32 key case (1 upper-case hex, 0 lower-case hex),
//!   u64 k probes (1..=64), u64 m bits (>= 1), u64 n capacity, f64 p false-positive rate
//!   aimed at (0 < p < 1), u64 N keys inserted: 48 bytes; then the bits of the filter,
//!   ceil(m / 64) * 8 bytes, as in the DCSO file (bit i is bit i % 8 of byte i / 8). The
//!   section length is exactly 48 plus that; at most one BLOOM section per list
//! kind 11 IMG64       param = k | w << 8: k the hash kind (0 phash, 1 dhash, Python
//!                     ImageHash's), w the bytes of a provenance group (0, 1, 2 or 4);
//!                     version 4 on
//!   n >= 1 rows in two columns: n hashes of 8 bytes (the 64-bit value, little-endian; its
//!   16-hex-digit form, most significant digit first, is ImageHash's `str(hash)`), sorted
//!   by value, no duplicates; then n provenance groups of w bytes, as in PDQ. At most one
//!   IMG64 section per kind, none without hashes of that kind
//! kind 12 LIST_IMG    param 0; version 4 on
//!   u32 count, equal to the LISTS count; count records of 2 u64: the pHashes and the
//!   dHashes read from list i (duplicates included). At most one; absent when no list has any
//! kind 13 LIST_SOURCES param 0; version 7 on
//!   u32 count, equal to the LISTS count; count records of 48 bytes: u64 flags (bit 0: the
//!   source is known; no other bit is set), u64 bytes read from the list's file, 32 bytes
//!   SHA-256 of those bytes (as read from disk: a compressed list's compressed bytes; all zero
//!   when unknown). At most one; absent when no list was read from a file
//! ```
//!
//! Algorithm ids are [`Algo::id`]: 0 md5, 1 sha1, 2 sha256, 3 xxh3_128. There is one
//! BUCKETS and one RECORDS section per algorithm with entries, none for the others. The
//! builder makes m = ceil(rows / 4) buckets, so a bucket holds four rows on average and more
//! than seven in about 5% of buckets.
//!
//! A BLOOM section embeds a DCSO Bloom filter (CIRCL hashlookup's known-file sets) whole: a
//! digest of the key algorithm is looked up as the hex string of the recorded case, by the
//! filter's own probe sequence ([`crate::lists::bloom`]); a hit is only probable
//! ([`Index::bloom_lookup`]). Its header values are bounded at open like the DCSO file's.
//!
//! [`Index::open`] checks the magic, version, header checksum, file length, section bounds and
//! the small sections (STRINGS, LISTS, the PROVENANCE header) but not the big tables, so it
//! costs the same for any index size; [`Index::verify`] checks every checksum and invariant.
//! Lookups on a corrupt table never panic or read out of bounds: a damaged bucket or record
//! run reads as a miss, a damaged provenance reference as a hit with no (list, label). A PDQ
//! search on a damaged (but checksum-resealed, or unverified) PDQ section returns the hashes
//! the section holds, at their true distances; out-of-order or duplicate hashes are only
//! reported by [`Index::verify`].

use std::fmt;
use std::ops::Range;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::hash::Algo;
use crate::lists::{ListFormat, SourceDigest};
use crate::model::Role;

/// The first 8 bytes of every index file.
pub const MAGIC: &[u8; 8] = b"VIGIEIDX";
/// The format version this code writes.
pub const VERSION: u32 = 7;
/// The oldest format version this code reads: version 2 only added layouts of the
/// multi-index tables (blocked bucket starts, 3-byte rows) that version 1 files never use,
/// version 3 provenance groups of fewer than 4 bytes in the PDQ section, and version 4 the
/// IMG64 and LIST_IMG sections (pHash and dHash), which older files never hold. (A vigie
/// that reads at most version 3 refuses a version 4 file, rather than miss its pHashes.)
/// Version 5 adds the known videos' sections (`video.rs`), and version 6 their frame table
/// (VIDEO_FRAMES), which version 5 files lack: their videos are matched by searching every
/// frame. Version 7 adds the lists' sources (LIST_SOURCES: each list file's size and
/// SHA-256 as read), which older files lack: their lists' sources are unknown. The builder
/// writes the oldest version that holds what the index holds (7 for lists read from files, 3
/// for lists given in memory without pHash, dHash or videos).
pub const OLDEST_VERSION: u32 = 1;
/// Most sections a file may declare.
pub(super) const MAX_SECTIONS: u32 = 128;
/// Fixed part of the header, before the section table.
pub(super) const HEADER_FIXED: usize = 32;
/// Bytes of one section table entry.
pub(super) const SECTION_ENTRY: usize = 32;
/// Sections start at multiples of this.
pub(super) const ALIGN: usize = 64;
/// Bytes of one LISTS record.
pub(super) const LIST_RECORD: usize = 64;
/// Most bytes a PDQ entry takes: the hash, then (in the second column) its provenance group.
pub(super) const PDQ_ROW: usize = 36;
/// Bytes of one PDQ hash.
pub(super) const PDQ_LEN: usize = 32;

/// Section kinds (the known videos' in `video.rs`).
pub(super) const KIND_STRINGS: u32 = 1;
pub(super) const KIND_LISTS: u32 = 2;
pub(super) const KIND_PROVENANCE: u32 = 3;
pub(super) const KIND_RECORDS: u32 = 5;
pub(super) const KIND_BUCKETS: u32 = 6;
pub(super) const KIND_PDQ: u32 = 7;
pub(super) const KIND_ROLES: u32 = 9;
pub(super) const KIND_BLOOM: u32 = 10;
pub(super) const KIND_IMG64: u32 = 11;
pub(super) const KIND_LIST_IMG: u32 = 12;
pub(super) const KIND_PDQ_MIH: u32 = 8;
pub(super) const KIND_LIST_SOURCES: u32 = 13;
/// Bytes of a LIST_SOURCES record: u64 flags, u64 bytes, 32 bytes of SHA-256.
pub(super) const SOURCE_RECORD: usize = 48;
/// Bytes of one 64-bit image hash.
pub(super) const IMG_LEN: usize = 8;
/// Bytes of a BLOOM section before the bits.
pub(super) const BLOOM_HEADER: usize = 48;
/// Bytes of one bucket: one cache line.
pub(super) const BUCKET: usize = 64;
/// Fingerprint slots of a bucket.
pub(super) const SLOTS: usize = 7;

/// A role's code in the ROLES section.
pub(super) const fn role_code(r: Role) -> u32 {
    match r {
        Role::Block => 0,
        Role::Allow => 1,
    }
}

pub(super) fn role_from_code(c: u32) -> Option<Role> {
    [Role::Block, Role::Allow]
        .into_iter()
        .find(|&r| role_code(r) == c)
}

/// One entry of the section table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Section {
    pub(super) kind: u32,
    pub(super) param: u32,
    pub(super) offset: u64,
    pub(super) len: u64,
    pub(super) checksum: u64,
}

impl Section {
    /// The byte range of the section in the file (its bounds were checked at open).
    pub(super) fn range(&self) -> Range<usize> {
        self.offset as usize..(self.offset + self.len) as usize
    }
}

/// Reads a little-endian u32 at `at`, `None` when out of bounds.
#[inline(always)]
pub(super) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at.checked_add(4)?)?
        .first_chunk::<4>()
        .map(|x| u32::from_le_bytes(*x))
}

/// Reads a little-endian u64 at `at`, `None` when out of bounds.
#[inline(always)]
pub(super) fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at.checked_add(8)?)?
        .first_chunk::<8>()
        .map(|x| u64::from_le_bytes(*x))
}

/// Bytes of a PDQ section's provenance groups when `max` is the largest group number.
pub(super) fn pdq_group_width(max: u32) -> usize {
    match max {
        0 => 0,
        1..=0xff => 1,
        0x100..=0xffff => 2,
        _ => 4,
    }
}

/// Entry counts per algorithm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlgoCounts(pub [u64; 4]);

impl AlgoCounts {
    /// The count for `algo`.
    pub fn get(&self, algo: Algo) -> u64 {
        self.0[usize::from(algo.id())]
    }

    /// Adds `n` to the count for `algo`.
    pub fn add(&mut self, algo: Algo, n: u64) {
        self.0[usize::from(algo.id())] += n;
    }

    /// The sum over all algorithms.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

impl Serialize for AlgoCounts {
    /// A map from algorithm name to count, algorithms with a zero count left out.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let nonzero = Algo::ALL.into_iter().filter(|a| self.get(*a) > 0);
        let mut m = s.serialize_map(Some(nonzero.clone().count()))?;
        for a in nonzero {
            m.serialize_entry(a.name(), &self.get(a))?;
        }
        m.end()
    }
}

impl fmt::Display for AlgoCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for a in Algo::ALL {
            let n = self.get(a);
            if n > 0 {
                if !first {
                    f.write_str(", ")?;
                }
                first = false;
                write!(f, "{a} {n}")?;
            }
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// A list's format as an index records it: one this vigie knows, or the code of one it does
/// not (a format added by a newer vigie). The format only describes the list, so an unknown
/// code does not make the index unreadable: its list opens and matches like any other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexedFormat {
    /// A format this vigie reads.
    Known(ListFormat),
    /// The code of a format this vigie does not know.
    Unknown(u32),
}

impl IndexedFormat {
    /// The format stored as `code` ([`ListFormat::from_code`]).
    pub fn from_code(code: u32) -> IndexedFormat {
        ListFormat::from_code(code).map_or(IndexedFormat::Unknown(code), IndexedFormat::Known)
    }

    /// The code stored in the index ([`ListFormat::code`]).
    pub fn code(self) -> u32 {
        match self {
            IndexedFormat::Known(f) => f.code(),
            IndexedFormat::Unknown(c) => c,
        }
    }

    /// The format, when this vigie knows it.
    pub fn known(self) -> Option<ListFormat> {
        match self {
            IndexedFormat::Known(f) => Some(f),
            IndexedFormat::Unknown(_) => None,
        }
    }
}

impl From<ListFormat> for IndexedFormat {
    fn from(f: ListFormat) -> IndexedFormat {
        IndexedFormat::Known(f)
    }
}

impl PartialEq<ListFormat> for IndexedFormat {
    fn eq(&self, f: &ListFormat) -> bool {
        *self == IndexedFormat::Known(*f)
    }
}

/// A known format's name (`te-csv`), else `unknown (code N)`.
impl fmt::Display for IndexedFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexedFormat::Known(x) => f.write_str(x.name()),
            IndexedFormat::Unknown(c) => write!(f, "unknown (code {c})"),
        }
    }
}

/// Serialized as its [`Display`](fmt::Display) form: a name, or `unknown (code N)`.
impl Serialize for IndexedFormat {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A list as the index records it: its LISTS record (strings by id into STRINGS) and what
/// the optional per-list sections add (ROLES, LIST_IMG, LIST_SOURCES). The builder writes
/// it, an opened index reads it back.
#[derive(Clone, Debug)]
pub(super) struct ListRecord {
    /// Its name, a string id.
    pub(super) name: u32,
    /// The label of its entries, a string id.
    pub(super) label: u32,
    /// The file it was read from, as given, a string id.
    pub(super) source: u32,
    pub(super) format: IndexedFormat,
    /// Malformed lines skipped.
    pub(super) malformed: u64,
    pub(super) entries: AlgoCounts,
    pub(super) pdq: u64,
    /// pHashes and dHashes read, by kind id (LIST_IMG).
    pub(super) img: [u64; 2],
    /// Blocklist or allowlist (ROLES).
    pub(super) role: Role,
    /// The list file's size and SHA-256 as read at build time (LIST_SOURCES, version 7 on).
    pub(super) digest: Option<SourceDigest>,
}

impl ListRecord {
    /// The record's 64 bytes in a LISTS section.
    pub(super) fn encode(&self) -> [u8; LIST_RECORD] {
        let mut r = [0u8; LIST_RECORD];
        for (i, v) in [self.name, self.label, self.source, self.format.code()]
            .into_iter()
            .enumerate()
        {
            r[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
        }
        r[16..24].copy_from_slice(&self.malformed.to_le_bytes());
        for (i, e) in self.entries.0.iter().enumerate() {
            r[24 + 8 * i..32 + 8 * i].copy_from_slice(&e.to_le_bytes());
        }
        r[56..64].copy_from_slice(&self.pdq.to_le_bytes());
        r
    }

    /// Reads a LISTS record (its string ids unchecked), with the defaults of the optional
    /// sections: no image hashes, a blocklist, no known source.
    pub(super) fn decode(r: &[u8; LIST_RECORD]) -> ListRecord {
        let field = |at: usize| u32_at(r, at).unwrap_or(u32::MAX);
        let mut entries = AlgoCounts::default();
        for (k, e) in entries.0.iter_mut().enumerate() {
            *e = u64_at(r, 24 + k * 8).unwrap_or(0);
        }
        ListRecord {
            name: field(0),
            label: field(4),
            source: field(8),
            format: IndexedFormat::from_code(field(12)),
            malformed: u64_at(r, 16).unwrap_or(0),
            entries,
            pdq: u64_at(r, 56).unwrap_or(0),
            img: [0, 0],
            role: Role::Block,
            digest: None,
        }
    }
}
