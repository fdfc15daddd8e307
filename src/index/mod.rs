//! The compiled blocklist: one versioned, checksummed file, memory-mapped and shared by every
//! scanning thread with no lock on the lookup path.
//!
//! Hash lists are text, slow to search and ambiguous; an index is built from any mix of them
//! once ([`IndexBuilder`]) and then opened in constant time ([`Index::open`]) by every scan.
//! A lookup ([`Index::lookup`]) reads one bucket, a 64-byte cache line chosen by the digest's
//! first 8 bytes, holding the fingerprints (digest bytes 8..16) of the bucket's first rows:
//! a digest absent from the index (the usual case in a scan) costs that one cache miss, a
//! digest present one more, for the record that confirms it. A bucket holding more rows than
//! it has fingerprint slots (rare on evenly spread digests; a hostile list sharing a prefix)
//! is searched in the records instead, by interpolation then binary search: O(log n), never a
//! scan. [`Index::lookup_batch`] overlaps the misses of many queries, in a software pipeline.
//!
//! PDQ hashes are matched by Hamming distance, not equality: [`Index::pdq_search`] finds every
//! PDQ entry within a distance of the query by a linear scan of a contiguous table of 32-byte
//! hashes (an XOR and a popcount of four 64-bit words per entry), and
//! [`Index::pdq_search_many`] scans it once for a batch of queries (the eight dihedral
//! variants of an image). Python ImageHash's 64-bit pHashes and dHashes are matched the same
//! way ([`Index::img_search_many`]), in a table of 8-byte hashes per kind.
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
//!   12    4  u32 section count n (1..=64)
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
//!     32 dcso-bloom),
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
//!   `mih.rs` (its module documentation)
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

mod build;
mod mih;
mod scratch;
pub mod signature;
#[cfg(test)]
pub(crate) mod tests;
mod video;

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::hash::{Algo, AlgoSet, Digest};
use crate::lists::bloom::{self, BloomKey, BloomParams};
use crate::lists::{ListError, ListFormat, ListType, SourceDigest};
use crate::perceptual::imghash::{ImgHash64, ImgKind};
use crate::perceptual::pdq::PdqHash;
use crate::read::{Data, MmapPolicy};

pub use build::{IndexBuilder, IndexStats, ListReport, ListSpec, PdqSearch};
pub use mih::MihInfo;
use mih::{Mih, KIND_PDQ_MIH};
pub use video::KnownVideo;
use video::VideoTable;

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
const MAX_SECTIONS: u32 = 128;
/// Fixed part of the header, before the section table.
const HEADER_FIXED: usize = 32;
/// Bytes of one section table entry.
const SECTION_ENTRY: usize = 32;
/// Sections start at multiples of this.
const ALIGN: usize = 64;
/// Bytes of one LISTS record.
const LIST_RECORD: usize = 64;
/// Most bytes a PDQ entry takes: the hash, then (in the second column) its provenance group.
const PDQ_ROW: usize = 36;
/// Bytes of one PDQ hash.
const PDQ_LEN: usize = 32;
/// PDQ hashes scanned per tile by [`Index::pdq_search_many`] (128 KiB: stays in L2 while
/// every group of queries scans it).
const PDQ_TILE: usize = 4096;
/// Queries compared with each hash in one pass.
const PDQ_GROUP: usize = 8;
/// Fewest queries searched as one multi-index batch (slice by slice) rather than one by one.
const MIH_BATCH_MIN: usize = 64;
/// Candidate rows a multi-index batch may collect (4 bytes each, a sixteenth more reserved):
/// the 8 dihedral variants of a scan's 1,024 images at 10M hashes (about 24M), and a
/// directory stream shared by about 11,000 queries.
const MIH_BATCH_PAIRS: u64 = 1 << 25;
/// Largest bucket bits a builder may be forced to (2^bits buckets).
const MAX_BITS: u32 = 26;
/// Average rows per bucket the builder sizes the buckets for.
const LOAD: usize = 4;
/// Problems kept per list in a [`ListReport`].
pub const MAX_PROBLEMS: usize = 20;

/// Section kinds.
const KIND_STRINGS: u32 = 1;
const KIND_LISTS: u32 = 2;
const KIND_PROVENANCE: u32 = 3;
const KIND_RECORDS: u32 = 5;
const KIND_BUCKETS: u32 = 6;
const KIND_PDQ: u32 = 7;
const KIND_ROLES: u32 = 9;
const KIND_BLOOM: u32 = 10;
const KIND_IMG64: u32 = 11;
const KIND_LIST_IMG: u32 = 12;
const KIND_LIST_SOURCES: u32 = 13;
/// Bytes of a LIST_SOURCES record: u64 flags, u64 bytes, 32 bytes of SHA-256.
const SOURCE_RECORD: usize = 48;
/// Bytes of one 64-bit image hash.
const IMG_LEN: usize = 8;
/// 64-bit image hashes scanned per tile by [`Index::img_search_many`] (32 KiB: stays in L1
/// while every group of queries scans it).
const IMG_TILE: usize = 4096;
/// Bytes of a BLOOM section before the bits.
const BLOOM_HEADER: usize = 48;
/// Bytes of one bucket: one cache line.
const BUCKET: usize = 64;
/// Fingerprint slots of a bucket.
const SLOTS: usize = 7;
/// Queries per group of [`Index::lookup_batch`].
const BATCH: usize = 16;

/// Everything that can go wrong building, writing or opening an index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// A list could not be read.
    #[error(transparent)]
    List(#[from] ListError),
    /// A malformed line in a list read with `strict`.
    #[error("{}:{line}: {reason}", list.display())]
    Malformed {
        /// The list, as given.
        list: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing the index file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The index file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is not a vigie index at all.
    #[error("{}: not a vigie index (no VIGIEIDX magic)", path.display())]
    NotAnIndex {
        /// The file.
        path: PathBuf,
    },
    /// The file is an index of another format version.
    #[error("{}: index format version {found}, this vigie reads versions {OLDEST_VERSION} to {VERSION}: rebuild the index with this vigie", path.display())]
    Version {
        /// The file.
        path: PathBuf,
        /// The version found in the file.
        found: u32,
    },
    /// The file is truncated or damaged.
    #[error("{}: corrupt index: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What check failed.
        reason: String,
    },
    /// The index holds no entry at all: every scan against it would say clean.
    #[error("{}: the index holds no entry (no digest, no PDQ hash, no Bloom filter bit set): \
             nothing can match it", path.display())]
    EmptyIndex {
        /// The index file.
        path: PathBuf,
    },
    /// A query list's hashes are of a type the index holds no entry of: none could match.
    #[error("{}: its {kind} hashes cannot match: the index holds no {kind} entry (it holds: \
             {holds})", list.display())]
    Unmatchable {
        /// The query list.
        list: PathBuf,
        /// The type of its hashes.
        kind: ListType,
        /// What the index holds, e.g. `pdq` or `md5, sha1` (`nothing`).
        holds: String,
    },
    /// Two indexes (merged, or scanned together) hold lists of the same name: a hit would
    /// not say which list it is from.
    #[error("{}: holds a list named {name:?}, and so does {}: a hit would not say which of \
             the two it is from", path.display(), other.display())]
    DuplicateList {
        /// The index whose list came second.
        path: PathBuf,
        /// The index that holds the first list of that name.
        other: PathBuf,
        /// The list name.
        name: String,
    },
    /// The input is too big for format v1 (more than 2^32 - 1 digests of one algorithm, or
    /// strings and lists beyond u32 offsets).
    #[error("index too large for format v1: {0}")]
    TooLarge(String),
}

/// Checks that no two of `indexes` hold lists of the same name (matched together, a hit
/// would not say which of the two lists it is from).
///
/// # Errors
/// [`IndexError::DuplicateList`] naming the first such list and both indexes.
pub fn check_distinct_lists(indexes: &[&Index]) -> Result<(), IndexError> {
    let mut seen: std::collections::HashMap<&str, &Path> = std::collections::HashMap::new();
    for index in indexes {
        let mut own = std::collections::HashSet::new();
        for name in index.list_names() {
            if !own.insert(name) {
                continue; // two lists of one index may share a name: the build merged them
            }
            if let Some(other) = seen.insert(name, index.path()) {
                return Err(IndexError::DuplicateList {
                    path: index.path().to_owned(),
                    other: other.to_owned(),
                    name: name.to_owned(),
                });
            }
        }
    }
    Ok(())
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

pub use crate::model::Role;

/// A role's code in the ROLES section.
const fn role_code(r: Role) -> u32 {
    match r {
        Role::Block => 0,
        Role::Allow => 1,
    }
}

fn role_from_code(c: u32) -> Option<Role> {
    [Role::Block, Role::Allow]
        .into_iter()
        .find(|&r| role_code(r) == c)
}

/// The DCSO Bloom filter of a list.
#[derive(Clone, Debug, Serialize)]
pub struct BloomInfo {
    /// The algorithm of its keys.
    #[serde(serialize_with = "algo_name")]
    pub algo: Algo,
    /// Keys are upper-case hex (else lower-case).
    pub upper: bool,
    /// Probes per key.
    pub k: u64,
    /// Bits.
    pub m: u64,
    /// Capacity it was sized for.
    pub n: u64,
    /// False-positive rate aimed at with `n` keys.
    pub p: f64,
    /// Keys inserted.
    pub inserted: u64,
    /// The false-positive rate its hits report ([`BloomParams::fpr`]).
    pub fpr: f64,
}

/// One list of an index.
#[derive(Clone, Debug, Serialize)]
pub struct ListInfo {
    /// The list's name.
    pub name: String,
    /// The label its hits carry.
    pub label: String,
    /// The file it was read from, as given.
    pub source: String,
    /// Its detected format.
    pub format: ListFormat,
    /// Digests read from it, per algorithm (duplicates included).
    pub entries: AlgoCounts,
    /// PDQ hashes read from it (duplicates included).
    pub pdq: u64,
    /// pHashes read from it (duplicates included).
    pub phash: u64,
    /// dHashes read from it (duplicates included).
    pub dhash: u64,
    /// Malformed lines skipped.
    pub malformed: u64,
    /// Blocklist or allowlist.
    pub role: Role,
    /// Bytes of its file as read at build time (before any decompression); absent when
    /// unknown (an index of format version 6 or older, a list given in memory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_bytes: Option<u64>,
    /// The SHA-256 of those bytes, as `sha256sum` prints it; absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_sha256: Option<String>,
    /// Its Bloom filter, for a `dcso-bloom` list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bloom: Option<BloomInfo>,
}

/// One digest table of an index.
#[derive(Clone, Debug, Serialize)]
pub struct TableInfo {
    /// The algorithm.
    #[serde(serialize_with = "algo_name")]
    pub algo: Algo,
    /// Distinct digests.
    pub rows: u64,
    /// Buckets (64-byte cache lines of fingerprints).
    pub buckets: u64,
    /// Bytes of buckets plus records.
    pub bytes: u64,
}

/// Serializes an algorithm by its name.
fn algo_name<S: Serializer>(a: &Algo, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(a.name())
}

/// What an index holds, for `vigie index info`.
#[derive(Clone, Debug, Serialize)]
pub struct IndexInfo {
    /// Format version.
    pub version: u32,
    /// File size in bytes.
    pub file_size: u64,
    /// The lists, in build order.
    pub lists: Vec<ListInfo>,
    /// The digest tables, in [`Algo::ALL`] order.
    pub tables: Vec<TableInfo>,
    /// Distinct digests per algorithm.
    pub distinct: AlgoCounts,
    /// Distinct PDQ hashes.
    pub pdq: u64,
    /// Bytes of the PDQ section (hashes and their provenance groups).
    pub pdq_bytes: u64,
    /// The multi-index tables over the PDQ hashes; `None`: searches scan them.
    pub pdq_search: Option<MihInfo>,
    /// Distinct pHashes (searched by linear scan).
    pub phash: u64,
    /// Bytes of the pHash section.
    pub phash_bytes: u64,
    /// Distinct dHashes (searched by linear scan).
    pub dhash: u64,
    /// Bytes of the dHash section.
    pub dhash_bytes: u64,
    /// Distinct (list, label) sets shared by digests.
    pub provenance_groups: u64,
    /// Known videos (vPDQ).
    pub videos: u64,
    /// Distinct frame hashes over the known videos.
    pub vpdq_frames: u64,
}

impl fmt::Display for IndexInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "vigie index v{}, {} bytes, {} list(s), {} distinct digest(s) ({}), {} distinct PDQ \
             hash(es), {} provenance group(s)",
            self.version,
            self.file_size,
            self.lists.len(),
            self.distinct.total(),
            self.distinct,
            self.pdq,
            self.provenance_groups
        )?;
        if self.phash + self.dhash > 0 {
            writeln!(
                f,
                "  {} distinct pHash(es), {} distinct dHash(es)",
                self.phash, self.dhash
            )?;
        }
        for l in &self.lists {
            let img = if l.phash + l.dhash > 0 {
                format!(", phash {}, dhash {}", l.phash, l.dhash)
            } else {
                String::new()
            };
            writeln!(
                f,
                "  list {:?} label {:?} ({}list): {}, pdq {}{img} from {} ({}), {} malformed \
                 line(s)",
                l.name, l.label, l.role, l.entries, l.pdq, l.source, l.format, l.malformed
            )?;
            if let (Some(bytes), Some(sha)) = (l.source_bytes, &l.source_sha256) {
                writeln!(f, "    source: {bytes} bytes, sha256 {sha}")?;
            }
            if let Some(b) = &l.bloom {
                writeln!(
                    f,
                    "    bloom filter: {} keys ({} hex), k {}, m {} bits, n {}, p {}, {} inserted, \
                     hits probable at fpr {:e}",
                    b.algo,
                    if b.upper { "upper-case" } else { "lower-case" },
                    b.k,
                    b.m,
                    b.n,
                    b.p,
                    b.inserted,
                    b.fpr
                )?;
            }
        }
        for t in &self.tables {
            writeln!(
                f,
                "  table {}: {} rows, {} bucket(s), {} bytes",
                t.algo, t.rows, t.buckets, t.bytes
            )?;
        }
        if self.pdq > 0 {
            write!(
                f,
                "  table pdq: {} hashes, {} bytes, ",
                self.pdq, self.pdq_bytes
            )?;
            match &self.pdq_search {
                None => writeln!(f, "searched by linear scan")?,
                Some(m) => {
                    let (lo, hi) = m
                        .lengths
                        .iter()
                        .fold((u32::MAX, 0), |(lo, hi), &l| (lo.min(l), hi.max(l)));
                    let bits = if lo == hi {
                        format!("{lo}")
                    } else {
                        format!("{lo}-{hi}")
                    };
                    let blocked = m.block_bits.iter().filter(|&&b| b > 0).count();
                    let widths: std::collections::BTreeSet<u32> =
                        m.row_bytes.iter().copied().filter(|&w| w > 0).collect();
                    let widths: Vec<String> = widths.iter().map(u32::to_string).collect();
                    writeln!(
                        f,
                        "searched by multi-index hashing: {} tables of {bits}-bit substrings \
                         ({blocked} with bucket starts in blocks, {}-byte row numbers), \
                         {} bytes ({:.1} bytes per hash in all)",
                        m.tables,
                        widths.join("/"),
                        m.bytes,
                        (self.pdq_bytes + m.bytes) as f64 / self.pdq as f64
                    )?
                }
            }
        }
        for (kind, n, bytes) in [
            ("phash", self.phash, self.phash_bytes),
            ("dhash", self.dhash, self.dhash_bytes),
        ] {
            if n > 0 {
                writeln!(
                    f,
                    "  table {kind}: {n} hashes, {bytes} bytes, searched by linear scan"
                )?;
            }
        }
        if self.videos > 0 {
            writeln!(
                f,
                "  videos (vpdq): {} known video(s), {} distinct frame hash(es)",
                self.videos, self.vpdq_frames
            )?;
        }
        Ok(())
    }
}

/// One (list, label) a digest was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListRef<'a> {
    /// The list's name.
    pub list: &'a str,
    /// The label.
    pub label: &'a str,
    /// The list's role.
    pub role: Role,
}

/// A digest probably in a list's Bloom filter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BloomHit<'a> {
    /// The list's name.
    pub list: &'a str,
    /// The list's label.
    pub label: &'a str,
    /// The list's role.
    pub role: Role,
    /// The false-positive rate of the filter ([`BloomParams::fpr`]).
    pub fpr: f64,
}

/// The (list, label) pairs of a digest found in the index, borrowed from it.
#[derive(Clone, Debug)]
pub struct ListRefs<'a> {
    index: &'a Index,
    pairs: &'a [u8],
}

impl<'a> ListRefs<'a> {
    /// Number of (list, label) pairs.
    pub fn len(&self) -> usize {
        self.pairs.len() / 8
    }

    /// True when the digest is in the index but its provenance is unreadable (a corrupt file:
    /// [`Index::verify`] reports it).
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

impl<'a> Iterator for ListRefs<'a> {
    type Item = ListRef<'a>;

    fn next(&mut self) -> Option<ListRef<'a>> {
        while self.pairs.len() >= 8 {
            let (pair, rest) = self.pairs.split_at(8);
            self.pairs = rest;
            let list = u32_at(pair, 0).and_then(|i| self.index.lists.get(i as usize));
            let label = u32_at(pair, 4).and_then(|i| self.index.strings.get(i as usize));
            if let (Some(list), Some(label)) = (list, label) {
                return Some(ListRef {
                    list: &list.name,
                    label,
                    role: list.role,
                });
            }
        }
        None
    }
}

/// One PDQ entry within a search's distance of a query.
#[derive(Clone, Debug)]
pub struct PdqMatch<'a> {
    /// The entry's hash (not the query).
    pub hash: PdqHash,
    /// Hamming distance between the query and the entry (0..=256).
    pub distance: u32,
    /// The (list, label) pairs the entry was listed with.
    pub hits: ListRefs<'a>,
}

/// A table of 32-byte hashes in a file (sorted, as the PDQ and vPDQ frame sections hold
/// them) with its multi-index tables when it has some: what a radius search reads.
#[derive(Clone, Copy)]
pub(crate) struct HashRows<'a> {
    /// The whole file.
    all: &'a [u8],
    /// The hashes, 32 bytes each.
    hashes: &'a [u8],
    rows: usize,
    mih: Option<&'a Mih>,
}

impl HashRows<'_> {
    /// Calls `out(query, row, distance)` for every row within `threshold` of each of
    /// `queries`, each row at most once per query, in no particular order; `force_mih` as
    /// [`Index::pdq_search_by`] takes it.
    fn search(
        &self,
        queries: &[PdqHash],
        threshold: u32,
        force_mih: Option<bool>,
        mut out: impl FnMut(usize, usize, u32),
    ) {
        if queries.is_empty() {
            return;
        }
        let (all, hashes) = (self.all, self.hashes);
        let qs: Vec<[u64; 4]> = queries.iter().map(|q| pdq_words(&q.0)).collect();
        let mut emit = |row: usize, q: usize, distance: u32| out(q, row, distance);
        let use_mih = |m: &Mih| force_mih.unwrap_or_else(|| m.cost(threshold) < self.rows as u64);
        if let Some(mih) = self.mih.filter(|m| use_mih(m)) {
            let words: Vec<[u64; 4]> = queries.iter().map(|q| mih::be_words(&q.0)).collect();
            if words.len() < MIH_BATCH_MIN {
                mih.search(all, hashes, &words, threshold, |qi, row, d| {
                    emit(row, qi, d)
                });
                return;
            }
            // Batches of even size whose candidate rows stay within MIH_BATCH_PAIRS.
            let per_query = mih.candidates(threshold).max(1);
            let most =
                ((MIH_BATCH_PAIRS / per_query) as usize).clamp(1, words.len().min(mih::MAX_BATCH));
            let batch = words.len().div_ceil(words.len().div_ceil(most));
            for (b, chunk) in words.chunks(batch).enumerate() {
                mih.search_batch(all, hashes, chunk, threshold, |qi, row, d| {
                    emit(row, b * batch + qi, d)
                });
            }
            return;
        }
        if let [q] = qs[..] {
            scan::<1>(hashes, 0, &transpose(&[q]), 0, 1, threshold, &mut emit);
            return;
        }
        // Groups of eight queries, the last one padded with its first query (the padding
        // never reports), transposed for the scan.
        let groups: Vec<[[u64; PDQ_GROUP]; 4]> = qs
            .chunks(PDQ_GROUP)
            .map(|group| {
                let mut qg = [group[0]; PDQ_GROUP];
                qg[..group.len()].copy_from_slice(group);
                transpose(&qg)
            })
            .collect();
        for (tile_no, tile) in hashes.chunks(PDQ_TILE * PDQ_LEN).enumerate() {
            for (g, (qt, group)) in groups.iter().zip(qs.chunks(PDQ_GROUP)).enumerate() {
                scan::<PDQ_GROUP>(
                    tile,
                    tile_no * PDQ_TILE,
                    qt,
                    g * PDQ_GROUP,
                    group.len(),
                    threshold,
                    &mut emit,
                );
            }
        }

        /// `K` queries as words, word-major: `[i][j]` is word `i` of query `j`, so that the
        /// comparison of one hash with the `K` queries is a loop over lanes that vectorizes.
        fn transpose<const K: usize>(qs: &[[u64; 4]; K]) -> [[u64; K]; 4] {
            std::array::from_fn(|i| std::array::from_fn(|j| qs[j][i]))
        }

        /// Compares every hash of `hashes` (row numbers from `first_row`) with the `K`
        /// queries of `qt` (transposed; query numbers from `first_q`, the first `live` of
        /// them real).
        #[inline(always)]
        fn scan<const K: usize>(
            hashes: &[u8],
            first_row: usize,
            qt: &[[u64; K]; 4],
            first_q: usize,
            live: usize,
            threshold: u32,
            emit: &mut impl FnMut(usize, usize, u32),
        ) {
            for (i, h) in hashes.chunks_exact(PDQ_LEN).enumerate() {
                let Some(h) = h.first_chunk::<PDQ_LEN>() else {
                    continue;
                };
                let w = pdq_words(h);
                let mut bytes = [0u64; K];
                for (wi, qi) in w.iter().zip(qt) {
                    for (b, q) in bytes.iter_mut().zip(qi) {
                        *b += byte_counts(wi ^ q);
                    }
                }
                let mut d = [0u32; K];
                let mut any = false;
                for (d, b) in d.iter_mut().zip(bytes) {
                    *d = byte_sum(b);
                    any |= *d <= threshold;
                }
                if any {
                    for (j, &d) in d.iter().enumerate().take(live) {
                        if d <= threshold {
                            emit(first_row + i, first_q + j, d);
                        }
                    }
                }
            }
        }
    }
}

/// One 64-bit image hash entry within a search's distance of a query.
#[derive(Clone, Debug)]
pub struct ImgMatch<'a> {
    /// The entry's hash (not the query).
    pub hash: ImgHash64,
    /// Hamming distance between the query and the entry (0..=64).
    pub distance: u32,
    /// The (list, label) pairs the entry was listed with.
    pub hits: ListRefs<'a>,
}

/// Where the PDQ table (or a table of 64-bit image hashes) lives in the file.
#[derive(Clone, Debug)]
struct PdqTable {
    /// Byte range of the hashes (32 bytes each; 8 in a table of image hashes).
    hashes: Range<usize>,
    /// Byte range of the provenance groups (`width` bytes each).
    groups: Range<usize>,
    /// Bytes of a provenance group: 0 (every row in group 0), 1, 2 or 4.
    width: usize,
    rows: usize,
}

impl PdqTable {
    /// The provenance group of `row`, `None` past the table (damage).
    #[inline]
    fn group(&self, all: &[u8], row: usize) -> Option<u32> {
        if self.width == 0 {
            return (row < self.rows).then_some(0);
        }
        let at = self.groups.start + row * self.width;
        let b = all.get(at..at + self.width)?;
        Some(b.iter().rev().fold(0, |g, &x| (g << 8) | u32::from(x)))
    }
}

/// Bytes of a PDQ section's provenance groups when `max` is the largest group number.
fn pdq_group_width(max: u32) -> usize {
    match max {
        0 => 0,
        1..=0xff => 1,
        0x100..=0xffff => 2,
        _ => 4,
    }
}

/// A PDQ hash as four 64-bit words (little-endian loads: only the XOR's bit count matters).
#[inline(always)]
pub(crate) fn pdq_words(h: &[u8; PDQ_LEN]) -> [u64; 4] {
    let mut w = [0u64; 4];
    for (w, c) in w.iter_mut().zip(h.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        *w = u64::from_le_bytes(b);
    }
    w
}

/// SWAR masks of the bit count.
const M1: u64 = 0x5555_5555_5555_5555;
const M2: u64 = 0x3333_3333_3333_3333;
const M4: u64 = 0x0F0F_0F0F_0F0F_0F0F;
const M8: u64 = 0x00FF_00FF_00FF_00FF;

/// The bit counts of the bytes of `x`, each byte holding its own count (0..=8).
#[inline(always)]
fn byte_counts(x: u64) -> u64 {
    let x = x - ((x >> 1) & M1);
    let x = (x & M2) + ((x >> 2) & M2);
    (x + (x >> 4)) & M4
}

/// The sum of the bytes of `bytes`, each at most 32 (the total, up to 256, needs 9 bits).
/// Shifts and adds only, so that it vectorizes on SSE2 (no 64-bit multiply there).
#[inline(always)]
fn byte_sum(bytes: u64) -> u32 {
    let x = (bytes & M8) + ((bytes >> 8) & M8);
    let x = x + (x >> 16);
    let x = x + (x >> 32);
    (x & 0x1FF) as u32
}

/// Hamming distance between two hashes given as words: the bits of the four XORs, counted
/// together (SWAR: the per-byte counts of the four words are added before one horizontal
/// sum). The scan of [`Index::pdq_search_many`] does this arithmetic for several queries at
/// once; the default x86-64 target has no POPCNT, and it is faster than `count_ones` there.
#[cfg(test)]
fn pdq_distance(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    let mut bytes = 0u64;
    for i in 0..4 {
        bytes += byte_counts(a[i] ^ b[i]);
    }
    byte_sum(bytes)
}

/// Where one digest table lives in the file.
#[derive(Clone, Debug)]
struct Table {
    algo: Algo,
    /// Number of buckets, at least 1.
    buckets: usize,
    /// Byte range of the buckets.
    bkts: Range<usize>,
    /// Byte range of the records.
    recs: Range<usize>,
    rows: usize,
    width: usize,
}

/// What the bucket of a key says: the bucket's rows `[first, first + count)`, and whether the
/// key may be among them (a fingerprint matched, or the bucket overflows), then at which row.
#[derive(Clone, Copy, Debug, Default)]
struct Probe {
    first: usize,
    count: usize,
    est: usize,
    maybe: bool,
}

/// The first 8 digest bytes as a big-endian integer (0 if shorter).
#[inline(always)]
fn prefix(key: &[u8]) -> u64 {
    key.first_chunk::<8>().map_or(0, |b| u64::from_be_bytes(*b))
}

/// The fingerprint of a digest: its bytes 8..16, loaded as a little-endian integer.
#[inline(always)]
fn fingerprint(key: &[u8]) -> u64 {
    u64_at(key, 8).unwrap_or(0)
}

/// The bucket of a digest whose prefix is `p` among `buckets` buckets, and the position of
/// the digest within the bucket as a fraction of 2^64: `p * buckets / 2^64`, split into its
/// integer and fractional parts. Monotonic in `p`, so a bucket is a run of sorted rows.
#[inline(always)]
fn place(p: u64, buckets: usize) -> (usize, u64) {
    let x = u128::from(p) * buckets as u128;
    ((x >> 64) as usize, x as u64)
}

impl Table {
    /// Byte offset of the bucket of `key`.
    #[inline(always)]
    fn bucket_at(&self, key: &[u8]) -> usize {
        self.bkts.start + place(prefix(key), self.buckets).0 * BUCKET
    }

    /// Reads the bucket of `key` (one cache line) and compares its fingerprints. No branch
    /// depends on the loaded values, so that the probes of several queries overlap.
    #[inline(always)]
    fn probe(&self, all: &[u8], key: &[u8]) -> Probe {
        let (b, frac) = place(prefix(key), self.buckets);
        let at = self.bkts.start + b * BUCKET;
        let Some(line) = all
            .get(at..at + BUCKET)
            .and_then(|l| l.first_chunk::<BUCKET>())
        else {
            return Probe::default();
        };
        let head = u64_at(line, 0).unwrap_or(0);
        let first = (head & 0xFFFF_FFFF) as usize;
        let count = (head >> 32) as usize;
        let fp = fingerprint(key);
        let mut mask = 0u32;
        for j in 0..SLOTS {
            mask |= u32::from(u64_at(line, 8 + 8 * j) == Some(fp)) << j;
        }
        mask &= (1u32 << count.min(SLOTS)) - 1;
        let over = count > SLOTS;
        // An overflowing bucket: interpolate within it.
        let interp = ((count as u128 * u128::from(frac)) >> 64) as usize;
        let off = if over {
            interp
        } else {
            mask.trailing_zeros() as usize
        };
        Probe {
            first,
            count,
            est: first.wrapping_add(off),
            maybe: over | (mask != 0),
        }
    }

    /// The provenance group of `key` if the probe's candidate row (or, for an overflowing
    /// bucket or a fingerprint collision, a search of the bucket's rows) holds it.
    #[inline(always)]
    fn confirm(&self, all: &[u8], key: &[u8], p: Probe) -> Option<u32> {
        let hi = p.first.checked_add(p.count)?;
        if !(p.maybe && self.sane(p.first, hi)) {
            return None;
        }
        self.search(all, key, p.first, hi, p.est)
    }

    /// True when `[lo, hi)` is a non-empty run of rows of the table.
    #[inline(always)]
    fn sane(&self, lo: usize, hi: usize) -> bool {
        lo < hi && hi <= self.rows
    }

    /// Byte offset of row `row`.
    #[inline(always)]
    fn row_at(&self, row: usize) -> usize {
        self.recs.start.wrapping_add(row.wrapping_mul(self.width))
    }

    /// The provenance group of `key` among rows `[lo, hi)`, searching from row `est`: a short
    /// walk from the estimate (a few rows on evenly spread digests), then a binary search of
    /// what is left, so a skewed bucket costs O(log n) and not O(n).
    #[inline(always)]
    fn search(&self, all: &[u8], key: &[u8], lo: usize, hi: usize, est: usize) -> Option<u32> {
        use std::cmp::Ordering::{Equal, Greater, Less};
        const WALK: usize = 8;
        let klen = key.len();
        let kp = key.first_chunk::<8>().map_or(0, |b| u64::from_be_bytes(*b));
        // Compares row `r` with the key: the first 8 bytes as an integer settle almost every
        // comparison; the rest only when they are equal.
        let cmp = |r: usize| -> Option<(std::cmp::Ordering, &[u8])> {
            let s = self.row_at(r);
            let rb = all.get(s..s + self.width)?;
            let rp = rb.first_chunk::<8>().map_or(0, |b| u64::from_be_bytes(*b));
            let o = if rp != kp {
                rp.cmp(&kp)
            } else {
                rb[..klen].cmp(key)
            };
            Some((o, rb))
        };
        let group = |r: &[u8]| u32_at(r, klen);
        let (mut lo, mut hi) = (lo, hi);
        match cmp(est)? {
            (Equal, r) => return group(r),
            (Less, _) => {
                let mut i = est + 1;
                while i < hi && i <= est + WALK {
                    match cmp(i)? {
                        (Equal, r) => return group(r),
                        (Greater, _) => return None,
                        (Less, _) => i += 1,
                    }
                }
                lo = i;
            }
            (Greater, _) => {
                let mut i = est;
                while i > lo && i + WALK >= est {
                    match cmp(i - 1)? {
                        (Equal, r) => return group(r),
                        (Less, _) => return None,
                        (Greater, _) => i -= 1,
                    }
                }
                hi = i;
            }
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match cmp(mid)? {
                (Equal, r) => return group(r),
                (Less, _) => lo = mid + 1,
                (Greater, _) => hi = mid,
            }
        }
        None
    }
}

/// A list as stored in the index.
#[derive(Clone, Debug)]
struct ListMeta {
    name: Box<str>,
    label: u32,
    source: u32,
    format: ListFormat,
    malformed: u64,
    entries: AlgoCounts,
    pdq: u64,
    /// pHashes and dHashes read, by kind id.
    img: [u64; 2],
    role: Role,
    /// The list file's size and SHA-256 as read at build time (version 7 on).
    digest: Option<SourceDigest>,
}

/// Where one Bloom filter lives in the file.
#[derive(Clone, Debug)]
struct BloomTable {
    /// Index of its list.
    list: usize,
    key: BloomKey,
    params: BloomParams,
    /// Byte range of the bits.
    bits: Range<usize>,
}

/// An open index: a memory map (or buffer) and the small parsed metadata.
///
/// `Index` is `Send + Sync`; lookups take `&self` and no lock.
#[derive(Debug)]
pub struct Index {
    data: Data,
    path: PathBuf,
    /// The file's format version.
    version: u32,
    sections: Vec<Section>,
    strings: Vec<Box<str>>,
    lists: Vec<ListMeta>,
    /// Byte range of the group offsets, and of the pairs, in the provenance section.
    groups: Range<usize>,
    pairs: Range<usize>,
    group_count: usize,
    tables: [Option<Table>; 4],
    pdq: Option<PdqTable>,
    /// Multi-index tables over the PDQ hashes, when the builder made them.
    mih: Option<Mih>,
    /// Known videos (vPDQ), when the index has some.
    videos: Option<VideoTable>,
    /// The tables of 64-bit image hashes, by kind id.
    img: [Option<PdqTable>; 2],
    blooms: Vec<BloomTable>,
    /// What [`Index::verify_checksums`] found (`None`: every checksum holds), once computed.
    checksums: std::sync::OnceLock<Option<String>>,
}

/// One entry of the section table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Section {
    kind: u32,
    param: u32,
    offset: u64,
    len: u64,
    checksum: u64,
}

/// Reads a little-endian u32 at `at`, `None` when out of bounds.
#[inline(always)]
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at.checked_add(4)?)?
        .first_chunk::<4>()
        .map(|x| u32::from_le_bytes(*x))
}

/// Reads a little-endian u64 at `at`, `None` when out of bounds.
#[inline(always)]
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at.checked_add(8)?)?
        .first_chunk::<8>()
        .map(|x| u64::from_le_bytes(*x))
}

impl Index {
    /// Opens (memory-maps) the index at `path` and checks its header and metadata.
    ///
    /// # Errors
    /// [`IndexError::Io`] when the file cannot be read, [`IndexError::NotAnIndex`],
    /// [`IndexError::Version`] or [`IndexError::Corrupt`] when it is not a sound v1 index.
    pub fn open(path: &Path) -> Result<Index, IndexError> {
        let data = Data::open(path, MmapPolicy::Always).map_err(|source| IndexError::Io {
            path: path.to_owned(),
            source,
        })?;
        Index::from_data(data, path)
    }

    /// Opens an index held in `data` (a map or a buffer); `path` names it in errors.
    ///
    /// # Errors
    /// As [`Index::open`].
    /// Opens an index held in memory (read from object storage, say); `name` names it in
    /// errors. Checked as [`Index::open`] checks a file.
    ///
    /// # Errors
    /// As [`Index::open`].
    pub fn from_bytes(bytes: Vec<u8>, name: &Path) -> Result<Index, IndexError> {
        Index::from_data(Data::from_vec(bytes), name)
    }

    pub(crate) fn from_data(data: Data, path: &Path) -> Result<Index, IndexError> {
        let corrupt = |reason: String| IndexError::Corrupt {
            path: path.to_owned(),
            reason,
        };
        let b = data.bytes();
        if b.len() < 8 || &b[..8] != MAGIC {
            return Err(IndexError::NotAnIndex {
                path: path.to_owned(),
            });
        }
        let version = u32_at(b, 8).ok_or_else(|| corrupt("truncated header".into()))?;
        if !(OLDEST_VERSION..=VERSION).contains(&version) {
            return Err(IndexError::Version {
                path: path.to_owned(),
                found: version,
            });
        }
        let n = u32_at(b, 12).ok_or_else(|| corrupt("truncated header".into()))?;
        if n == 0 || n > MAX_SECTIONS {
            return Err(corrupt(format!("{n} sections declared")));
        }
        let table_end = HEADER_FIXED + n as usize * SECTION_ENTRY;
        let stored = u64_at(b, table_end).ok_or_else(|| {
            corrupt(format!(
                "file of {} bytes is shorter than its header",
                b.len()
            ))
        })?;
        if xxhash_rust::xxh3::xxh3_64(&b[..table_end]) != stored {
            return Err(corrupt("header checksum mismatch".into()));
        }
        let file_len = u64_at(b, 16).unwrap_or(0);
        if file_len != b.len() as u64 {
            return Err(corrupt(format!(
                "header says {file_len} bytes, file has {} (truncated or appended to)",
                b.len()
            )));
        }
        let mut sections = Vec::with_capacity(n as usize);
        for i in 0..n as usize {
            let at = HEADER_FIXED + i * SECTION_ENTRY;
            let s = Section {
                kind: u32_at(b, at).unwrap_or(0),
                param: u32_at(b, at + 4).unwrap_or(0),
                offset: u64_at(b, at + 8).unwrap_or(u64::MAX),
                len: u64_at(b, at + 16).unwrap_or(u64::MAX),
                checksum: u64_at(b, at + 24).unwrap_or(0),
            };
            let end = s.offset.checked_add(s.len);
            if end.is_none_or(|e| e > file_len) || s.offset < (table_end + 8) as u64 {
                return Err(corrupt(format!("section {i} lies outside the file")));
            }
            sections.push(s);
        }
        let range = |s: &Section| s.offset as usize..(s.offset + s.len) as usize;
        let one = |kind: u32, what: &str| -> Result<&Section, IndexError> {
            let mut it = sections.iter().filter(|s| s.kind == kind);
            match (it.next(), it.next()) {
                (Some(s), None) => Ok(s),
                _ => Err(corrupt(format!("expected exactly one {what} section"))),
            }
        };
        let checked = |s: &Section, what: &str| -> Result<&[u8], IndexError> {
            let bytes = &b[range(s)];
            if xxhash_rust::xxh3::xxh3_64(bytes) != s.checksum {
                return Err(corrupt(format!("{what} section checksum mismatch")));
            }
            Ok(bytes)
        };

        // Strings.
        let sb = checked(one(KIND_STRINGS, "strings")?, "strings")?;
        let strings = parse_strings(sb).map_err(|r| corrupt(format!("strings section: {r}")))?;

        // Lists.
        let lb = checked(one(KIND_LISTS, "lists")?, "lists")?;
        let mut lists =
            parse_lists(lb, &strings).map_err(|r| corrupt(format!("lists section: {r}")))?;

        // Roles (optional).
        let mut roles = sections.iter().filter(|s| s.kind == KIND_ROLES);
        if let Some(rs) = roles.next() {
            if roles.next().is_some() {
                return Err(corrupt("two roles sections".into()));
            }
            let rb = checked(rs, "roles")?;
            parse_roles(rb, &mut lists).map_err(|r| corrupt(format!("roles section: {r}")))?;
        }

        // Bloom filters: their headers, bounded (the bits are covered by verify()).
        let mut blooms: Vec<BloomTable> = Vec::new();
        for s in sections.iter().filter(|s| s.kind == KIND_BLOOM) {
            let r = range(s);
            let t = parse_bloom(&b[r.clone()], s.param, &lists)
                .map_err(|e| corrupt(format!("bloom section of list {}: {e}", s.param)))?;
            if blooms.iter().any(|x| x.list == t.list) {
                return Err(corrupt(format!("two bloom sections for list {}", s.param)));
            }
            blooms.push(BloomTable {
                bits: r.start + BLOOM_HEADER..r.end,
                ..t
            });
        }
        if let Some(i) = (0..lists.len()).find(|&i| {
            lists[i].format == ListFormat::DcsoBloom && !blooms.iter().any(|b| b.list == i)
        }) {
            return Err(corrupt(format!(
                "list {i} is a Bloom filter without its bloom section"
            )));
        }

        // Provenance: the header only (the groups are checked by verify()).
        let ps = one(KIND_PROVENANCE, "provenance")?;
        let pr = range(ps);
        let pb = &b[pr.clone()];
        let (g, p) = match (u32_at(pb, 0), u32_at(pb, 4)) {
            (Some(g), Some(p)) => (g as usize, p as usize),
            _ => return Err(corrupt("provenance section truncated".into())),
        };
        let groups = pr.start + 8..pr.start + 8 + (g + 1) * 4;
        let pairs = groups.end..groups.end + p * 8;
        if pairs.end != pr.end {
            return Err(corrupt(format!(
                "provenance section of {} bytes does not hold {g} groups and {p} pairs",
                pb.len()
            )));
        }

        // Tables.
        let mut tables: [Option<Table>; 4] = Default::default();
        for s in sections.iter().filter(|s| s.kind == KIND_RECORDS) {
            let algo = Algo::from_id(s.param as u8)
                .filter(|_| s.param < 256)
                .ok_or_else(|| corrupt(format!("records of unknown algorithm {}", s.param)))?;
            let slot = &mut tables[usize::from(algo.id())];
            if slot.is_some() {
                return Err(corrupt(format!("two {algo} record sections")));
            }
            let width = algo.len() + 4;
            let recs = range(s);
            if recs.len() % width != 0 || recs.is_empty() {
                return Err(corrupt(format!(
                    "{algo} records: {} bytes is not a positive multiple of {width}",
                    recs.len()
                )));
            }
            let rows = recs.len() / width;
            let mut bks = sections
                .iter()
                .filter(|d| d.kind == KIND_BUCKETS && d.param == u32::from(algo.id()));
            let d = match (bks.next(), bks.next()) {
                (Some(d), None) => d,
                _ => return Err(corrupt(format!("expected one {algo} bucket section"))),
            };
            let bkts = range(d);
            if bkts.is_empty() || bkts.len() % BUCKET != 0 {
                return Err(corrupt(format!(
                    "{algo} buckets: {} bytes is not a positive multiple of {BUCKET}",
                    bkts.len()
                )));
            }
            let buckets = bkts.len() / BUCKET;
            let first = u32_at(b, bkts.start);
            let last = u64_at(b, bkts.end - BUCKET).map(|h| (h & 0xFFFF_FFFF) + (h >> 32));
            if first != Some(0) || last != Some(rows as u64) || rows > u32::MAX as usize {
                return Err(corrupt(format!(
                    "{algo} buckets do not span the {rows} records"
                )));
            }
            *slot = Some(Table {
                algo,
                buckets,
                bkts,
                recs,
                rows,
                width,
            });
        }
        // PDQ.
        let mut pdq = None;
        for s in sections.iter().filter(|s| s.kind == KIND_PDQ) {
            let r = range(s);
            if pdq.is_some() {
                return Err(corrupt("two PDQ sections".into()));
            }
            let width = match (version, s.param) {
                (3.., 0 | 1 | 2 | 4) => s.param as usize,
                (..=2, 0) => 4,
                (_, w) => {
                    return Err(corrupt(format!(
                        "PDQ section: provenance groups of {w} bytes in a version {version} file"
                    )))
                }
            };
            let row = PDQ_LEN + width;
            if r.is_empty() || r.len() % row != 0 {
                return Err(corrupt(format!(
                    "PDQ section: {} bytes is not a positive multiple of {row}",
                    r.len()
                )));
            }
            let rows = r.len() / row;
            if rows > u32::MAX as usize {
                return Err(corrupt(format!("PDQ section: {rows} rows")));
            }
            let split = r.start + rows * PDQ_LEN;
            pdq = Some(PdqTable {
                hashes: r.start..split,
                groups: split..r.end,
                width,
                rows,
            });
        }
        // Image hashes (version 4 on).
        let mut img: [Option<PdqTable>; 2] = [None, None];
        for s in sections.iter().filter(|s| s.kind == KIND_IMG64) {
            let r = range(s);
            let kind = ImgKind::from_id((s.param & 0xFF) as u8)
                .filter(|_| version >= 4)
                .ok_or_else(|| {
                    corrupt(format!(
                        "image hash section of unknown kind {} in a version {version} file",
                        s.param & 0xFF
                    ))
                })?;
            let width = match s.param >> 8 {
                w @ (0 | 1 | 2 | 4) => w as usize,
                w => {
                    return Err(corrupt(format!(
                        "{kind} section: provenance groups of {w} bytes"
                    )))
                }
            };
            let row = IMG_LEN + width;
            if r.is_empty() || r.len() % row != 0 {
                return Err(corrupt(format!(
                    "{kind} section: {} bytes is not a positive multiple of {row}",
                    r.len()
                )));
            }
            let rows = r.len() / row;
            if rows > u32::MAX as usize {
                return Err(corrupt(format!("{kind} section: {rows} rows")));
            }
            let slot = &mut img[usize::from(kind.id())];
            if slot.is_some() {
                return Err(corrupt(format!("two {kind} sections")));
            }
            let split = r.start + rows * IMG_LEN;
            *slot = Some(PdqTable {
                hashes: r.start..split,
                groups: split..r.end,
                width,
                rows,
            });
        }
        let mut list_img = sections.iter().filter(|s| s.kind == KIND_LIST_IMG);
        if let Some(ls) = list_img.next() {
            if list_img.next().is_some() || version < 4 {
                return Err(corrupt("unexpected list image hash counts section".into()));
            }
            let lb = checked(ls, "list image hash counts")?;
            parse_list_img(lb, &mut lists)
                .map_err(|r| corrupt(format!("list image hash counts section: {r}")))?;
        }
        let mut sources = sections.iter().filter(|s| s.kind == KIND_LIST_SOURCES);
        if let Some(ss) = sources.next() {
            if sources.next().is_some() || version < 7 {
                return Err(corrupt("unexpected list sources section".into()));
            }
            let sb = checked(ss, "list sources")?;
            parse_list_sources(sb, &mut lists)
                .map_err(|r| corrupt(format!("list sources section: {r}")))?;
        }
        let mih = Mih::open(
            data.bytes(),
            sections
                .iter()
                .filter(|s| s.kind == KIND_PDQ_MIH)
                .map(|s| (s.param, range(s)))
                .collect(),
            pdq.as_ref().map_or(0, |t| t.rows),
        )
        .map_err(corrupt)?;
        let videos = VideoTable::open(data.bytes(), &sections, version).map_err(corrupt)?;
        for s in &sections {
            match s.kind {
                KIND_STRINGS
                | KIND_LISTS
                | KIND_PROVENANCE
                | KIND_RECORDS
                | KIND_PDQ
                | KIND_ROLES
                | KIND_BLOOM
                | KIND_PDQ_MIH
                | KIND_IMG64
                | KIND_LIST_IMG
                | KIND_LIST_SOURCES
                | video::KIND_VIDEOS
                | video::KIND_VIDEO_QUALITY
                | video::KIND_VPDQ
                | video::KIND_VPDQ_POSTINGS
                | video::KIND_VPDQ_MIH
                | video::KIND_VIDEO_FRAMES => {}
                KIND_BUCKETS => {
                    let has = Algo::from_id((s.param & 0xFF) as u8)
                        .filter(|_| s.param < 256)
                        .is_some_and(|a| tables[usize::from(a.id())].is_some());
                    if !has {
                        return Err(corrupt("buckets without records".into()));
                    }
                }
                k => return Err(corrupt(format!("unknown section kind {k}"))),
            }
        }
        Ok(Index {
            path: path.to_owned(),
            version,
            sections,
            strings,
            lists,
            groups,
            pairs,
            group_count: g,
            tables,
            pdq,
            mih,
            videos,
            img,
            blooms,
            data,
            checksums: std::sync::OnceLock::new(),
        })
    }

    /// Checks every section's checksum (xxh3-64, the header's own was checked by
    /// [`Index::open`]), the sections in parallel on the current rayon pool: a flipped bit in a
    /// table would otherwise turn a listed item clean. Computed once per opened index; later
    /// calls give the first answer. Reads the whole file.
    ///
    /// # Errors
    /// [`IndexError::Corrupt`] naming a section whose checksum does not match.
    pub fn verify_checksums(&self) -> Result<(), IndexError> {
        let found = self.checksums.get_or_init(|| {
            use rayon::prelude::*;
            let b = self.data.bytes();
            self.sections
                .par_iter()
                .enumerate()
                .find_map_first(|(i, s)| {
                    let bytes = &b[s.offset as usize..(s.offset + s.len) as usize];
                    (xxhash_rust::xxh3::xxh3_64(bytes) != s.checksum)
                        .then(|| format!("section {i} (kind {}) checksum mismatch", s.kind))
                })
        });
        match found {
            None => Ok(()),
            Some(reason) => Err(IndexError::Corrupt {
                path: self.path.clone(),
                reason: reason.clone(),
            }),
        }
    }

    /// The algorithms that have at least one digest in the index (or are the keys of one of
    /// its Bloom filters).
    pub fn algos(&self) -> AlgoSet {
        self.tables
            .iter()
            .flatten()
            .map(|t| t.algo)
            .chain(self.blooms.iter().map(|b| b.key.algo))
            .collect()
    }

    /// The kinds of hash the index can match: each exact algorithm with at least one digest
    /// or a Bloom filter with a bit set keyed by it, then `pdq` when it holds PDQ hashes.
    pub fn holds(&self) -> Vec<ListType> {
        let all = self.data.bytes();
        let mut v: Vec<ListType> = Algo::ALL
            .into_iter()
            .filter(|&a| {
                self.tables[usize::from(a.id())]
                    .as_ref()
                    .is_some_and(|t| t.rows > 0)
                    || self.blooms.iter().any(|b| {
                        b.key.algo == a
                            && all
                                .get(b.bits.clone())
                                .is_some_and(|bits| bits.iter().any(|&x| x != 0))
                    })
            })
            .map(ListType::Exact)
            .collect();
        if self.pdq_len() > 0 {
            v.push(ListType::Pdq);
        }
        for k in ImgKind::ALL {
            if self.img_len(k) > 0 {
                v.push(ListType::Img(k));
            }
        }
        if self.video_count() > 0 {
            v.push(ListType::Vpdq);
        }
        v
    }

    /// True when the index holds no entry at all (see [`Index::holds`]).
    pub fn is_empty(&self) -> bool {
        self.holds().is_empty()
    }

    /// Refuses an index that holds no entry.
    ///
    /// # Errors
    /// [`IndexError::EmptyIndex`] naming the index.
    pub fn check_not_empty(&self) -> Result<(), IndexError> {
        if self.is_empty() {
            return Err(IndexError::EmptyIndex {
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    /// Refuses hashes of type `kind` from the query list `list` when the index holds none of
    /// that type (a list of PDQ hashes read as sha256, say): they could never match.
    ///
    /// # Errors
    /// [`IndexError::Unmatchable`] naming the list, its type and what the index holds.
    pub fn check_matchable(&self, list: &Path, kind: ListType) -> Result<(), IndexError> {
        let held = self.holds();
        if held.contains(&kind) {
            return Ok(());
        }
        Err(unmatchable(list, kind, &held))
    }

    /// True when some list of the index is an allowlist.
    pub fn has_allowlist(&self) -> bool {
        self.lists.iter().any(|l| l.role == Role::Allow)
    }

    /// Tests `d` against every Bloom filter whose keys are digests of its algorithm (as hex
    /// in the filter's case), calling `out` for each filter that probably holds it. A hit is
    /// never certain: it carries the filter's false-positive rate.
    pub fn bloom_lookup(&self, d: &Digest, mut out: impl FnMut(BloomHit<'_>)) {
        let all = self.data.bytes();
        for t in &self.blooms {
            let Some(key) = t.key.key(d) else { continue };
            let bits = all.get(t.bits.clone()).unwrap_or_default();
            if bloom::contains(bits, t.params.k, t.params.m, key.as_bytes()) {
                let Some(l) = self.lists.get(t.list) else {
                    continue;
                };
                out(BloomHit {
                    list: &l.name,
                    label: self.string(l.label),
                    role: l.role,
                    fpr: t.params.fpr(),
                });
            }
        }
    }

    /// Looks `d` up: `None` when absent, else the (list, label) pairs it was listed with.
    #[inline]
    pub fn lookup(&self, d: &Digest) -> Option<ListRefs<'_>> {
        let t = self.tables[usize::from(d.algo().id())].as_ref()?;
        let all = self.data.bytes();
        let key = d.as_bytes();
        let group = t.confirm(all, key, t.probe(all, key))?;
        Some(self.hits(all, group))
    }

    /// Looks up every digest of `queries`, calling `on_hit(i, hits)` for each `queries[i]`
    /// found, in order. Faster than [`Index::lookup`] in a loop: a software pipeline over
    /// groups of queries touches the buckets of one group while it scans the buckets of the
    /// previous one (touching their candidate records) and confirms the candidates of the one
    /// before, so that many cache misses are in flight at once instead of one at a time.
    pub fn lookup_batch(&self, queries: &[Digest], on_hit: impl FnMut(usize, ListRefs<'_>)) {
        self.pipeline::<BATCH>(queries, on_hit);
    }

    /// [`Index::lookup_batch`] with groups of `K` queries.
    fn pipeline<const K: usize>(
        &self,
        queries: &[Digest],
        mut on_hit: impl FnMut(usize, ListRefs<'_>),
    ) {
        let all = self.data.bytes();
        let table = |q: &Digest| self.tables[usize::from(q.algo().id())].as_ref();
        // Touches the buckets of a group: the addresses first (no load from the index), then
        // a tight loop of loads, so that the reorder buffer holds all of them at once.
        let touch_buckets = |group: &[Digest]| {
            let mut at = [0usize; K];
            for (q, a) in group.iter().zip(at.iter_mut()) {
                *a = table(q).map_or(0, |t| t.bucket_at(q.as_bytes()));
            }
            let mut touch = 0u8;
            for &a in &at[..group.len()] {
                touch ^= all.get(a).copied().unwrap_or(0);
            }
            std::hint::black_box(touch);
        };
        // Scans the buckets of a group (cached or on their way) and touches the candidate
        // records (the file's first byte, always cached, when there is none).
        let probe = |group: &[Digest], probes: &mut [Probe; K]| {
            let mut at = [0usize; K];
            for ((q, p), a) in group.iter().zip(probes.iter_mut()).zip(at.iter_mut()) {
                *p = Probe::default();
                if let Some(t) = table(q) {
                    *p = t.probe(all, q.as_bytes());
                    *a = if p.maybe { t.row_at(p.est) } else { 0 };
                }
            }
            let mut touch = 0u8;
            for &a in &at[..group.len()] {
                touch ^= all.get(a).copied().unwrap_or(0);
            }
            std::hint::black_box(touch);
        };
        // Confirms the candidates of group `c`.
        let mut confirm = |c: usize, group: &[Digest], probes: &[Probe; K]| {
            for (j, (q, p)) in group.iter().zip(probes).enumerate() {
                if !p.maybe {
                    continue;
                }
                let Some(t) = table(q) else { continue };
                if let Some(g) = t.confirm(all, q.as_bytes(), *p) {
                    on_hit(c * K + j, self.hits(all, g));
                }
            }
        };
        let mut groups = queries.chunks(K).enumerate();
        let mut probes = [[Probe::default(); K]; 2];
        // (group number, queries) of the group whose candidates await confirmation.
        let mut pending: Option<(usize, &[Digest])> = None;
        let mut next = groups.next();
        if let Some((_, g)) = next {
            touch_buckets(g);
        }
        while let Some((c, group)) = next {
            next = groups.next();
            if let Some((_, g)) = next {
                touch_buckets(g);
            }
            probe(group, &mut probes[c % 2]);
            if let Some((p, g)) = pending {
                confirm(p, g, &probes[p % 2]);
            }
            pending = Some((c, group));
        }
        if let Some((p, g)) = pending {
            confirm(p, g, &probes[p % 2]);
        }
    }

    /// The SHA-256 of the index file's bytes (as opened), as `sha256sum` prints it: what a
    /// report names the index by.
    pub fn sha256(&self) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(self.data.bytes()))
    }

    /// Maps every page of the PDQ hashes and their multi-index tables into the process in
    /// one call (`MADV_POPULATE_READ` on Linux), instead of one page fault per 4 KiB page
    /// touched: worth it before searching a large batch (`vigie match` on a list), not for a
    /// few queries. The bytes come from the page cache, or are read from the file.
    pub fn pdq_prefault(&self) {
        if let Some(t) = &self.pdq {
            let end = self
                .sections
                .iter()
                .filter(|s| s.kind == KIND_PDQ || s.kind == KIND_PDQ_MIH)
                .map(|s| (s.offset + s.len) as usize)
                .max()
                .unwrap_or(t.groups.end);
            self.data.populate(t.hashes.start..end);
        }
        for t in self.img.iter().flatten() {
            self.data.populate(t.hashes.start..t.groups.end);
        }
    }

    /// Distinct PDQ hashes in the index.
    pub fn pdq_len(&self) -> usize {
        self.pdq.as_ref().map_or(0, |t| t.rows)
    }

    /// Distinct 64-bit image hashes of kind `kind` in the index.
    pub fn img_len(&self, kind: ImgKind) -> usize {
        self.img[usize::from(kind.id())]
            .as_ref()
            .map_or(0, |t| t.rows)
    }

    /// Finds every entry of kind `kind` within Hamming distance `threshold` of each of
    /// `queries`, calling `out(i, match)` for each entry within `threshold` of `queries[i]`,
    /// in no particular order, each entry once per query.
    ///
    /// # Algorithm
    /// An exact linear scan, as the PDQ table's without multi-index tables: the table is read
    /// in tiles of `IMG_TILE` hashes (32 KiB) that stay in cache while every group of eight
    /// queries is compared with them (an XOR and a SWAR bit count per pair, which vectorizes
    /// over the group). 8 bytes an entry stream from memory, and the compare is a handful of
    /// instructions: the README gives the measured rate at 1M entries.
    pub fn img_search_many(
        &self,
        kind: ImgKind,
        queries: &[ImgHash64],
        threshold: u32,
        mut out: impl FnMut(usize, ImgMatch<'_>),
    ) {
        let Some(t) = &self.img[usize::from(kind.id())] else {
            return;
        };
        if queries.is_empty() {
            return;
        }
        let all = self.data.bytes();
        let Some(hashes) = all.get(t.hashes.clone()) else {
            return;
        };
        let mut emit = |row: usize, q: usize, distance: u32| {
            let hash = ImgHash64(u64_at(hashes, row * IMG_LEN).unwrap_or(0));
            let g = t.group(all, row).unwrap_or(u32::MAX);
            out(
                q,
                ImgMatch {
                    hash,
                    distance,
                    hits: self.hits(all, g),
                },
            );
        };
        // Groups of eight queries, the last one padded with its first query (the padding
        // never reports).
        let groups: Vec<[u64; PDQ_GROUP]> = queries
            .chunks(PDQ_GROUP)
            .map(|group| {
                let mut qg = [group[0].0; PDQ_GROUP];
                for (q, h) in qg.iter_mut().zip(group) {
                    *q = h.0;
                }
                qg
            })
            .collect();
        let mut words = vec![0u64; IMG_TILE];
        for (tile_no, tile) in hashes.chunks(IMG_TILE * IMG_LEN).enumerate() {
            // The tile's hashes as words, once for every group of queries.
            let n = tile.len() / IMG_LEN;
            for (w, h) in words.iter_mut().zip(tile.chunks_exact(IMG_LEN)) {
                *w = u64_at(h, 0).unwrap_or(0);
            }
            for (g, (qg, group)) in groups.iter().zip(queries.chunks(PDQ_GROUP)).enumerate() {
                img_scan(
                    &words[..n],
                    tile_no * IMG_TILE,
                    qg,
                    g * PDQ_GROUP,
                    group.len(),
                    threshold,
                    &mut emit,
                );
            }
        }

        /// Compares every hash of `tile` (row numbers from `first_row`) with the eight
        /// queries of `qg` (query numbers from `first_q`, the first `live` of them real).
        #[inline(always)]
        fn img_scan(
            tile: &[u64],
            first_row: usize,
            qg: &[u64; PDQ_GROUP],
            first_q: usize,
            live: usize,
            threshold: u32,
            emit: &mut impl FnMut(usize, usize, u32),
        ) {
            for (i, &h) in tile.iter().enumerate() {
                let mut d = [0u32; PDQ_GROUP];
                for (d, q) in d.iter_mut().zip(qg) {
                    *d = byte_sum(byte_counts(h ^ q));
                }
                if d.iter().any(|&d| d <= threshold) {
                    for (j, &d) in d.iter().enumerate().take(live) {
                        if d <= threshold {
                            emit(first_row + i, first_q + j, d);
                        }
                    }
                }
            }
        }
    }

    /// Finds every PDQ entry within Hamming distance `threshold` of `query` (inclusive: 31 is
    /// ThreatExchange's match threshold), calling `out` for each, in no particular order.
    /// Exact, whichever search [`Index::pdq_search_many`] chooses.
    pub fn pdq_search(&self, query: &PdqHash, threshold: u32, mut out: impl FnMut(PdqMatch<'_>)) {
        self.pdq_search_many(std::slice::from_ref(query), threshold, |_, m| out(m));
    }

    /// Finds every PDQ entry within `threshold` of each of `queries`, calling
    /// `out(i, match)` for each entry within `threshold` of `queries[i]`, in no particular
    /// order, each entry at most once per query.
    ///
    /// When the index has multi-index tables and their expected cost at this threshold is
    /// below a linear scan's, each query reads only the buckets its pigeonhole radii reach
    /// (see the `mih` module). Otherwise the table is read once from memory for the whole
    /// batch: it is scanned in tiles that stay in cache while each group of eight queries is
    /// compared with them.
    pub fn pdq_search_many(
        &self,
        queries: &[PdqHash],
        threshold: u32,
        out: impl FnMut(usize, PdqMatch<'_>),
    ) {
        self.pdq_search_by(queries, threshold, None, out);
    }

    /// [`Index::pdq_search_many`] with the search forced: `Some(true)` the multi-index
    /// tables (when there are some), `Some(false)` the linear scan, `None` the cheaper.
    fn pdq_search_by(
        &self,
        queries: &[PdqHash],
        threshold: u32,
        force_mih: Option<bool>,
        mut out: impl FnMut(usize, PdqMatch<'_>),
    ) {
        let Some(t) = &self.pdq else { return };
        let all = self.data.bytes();
        let Some(hashes) = all.get(t.hashes.clone()) else {
            return;
        };
        let table = HashRows {
            all,
            hashes,
            rows: t.rows,
            mih: self.mih.as_ref(),
        };
        table.search(queries, threshold, force_mih, |q, row, distance| {
            let at = row * PDQ_LEN;
            let mut hash = PdqHash::ZERO;
            hash.0.copy_from_slice(&hashes[at..at + PDQ_LEN]);
            let g = t.group(all, row).unwrap_or(u32::MAX);
            out(
                q,
                PdqMatch {
                    hash,
                    distance,
                    hits: self.hits(all, g),
                },
            );
        });
    }

    /// The pairs of provenance group `g` (empty when the reference is out of range).
    #[inline]
    fn hits<'a>(&'a self, all: &'a [u8], g: u32) -> ListRefs<'a> {
        let g = g as usize;
        let pairs = (g < self.group_count)
            .then(|| {
                let at = self.groups.start + g * 4;
                let s = u32_at(all, at)? as usize;
                let e = u32_at(all, at + 4)? as usize;
                if s > e {
                    return None;
                }
                let start = self.pairs.start.checked_add(s.checked_mul(8)?)?;
                let end = self.pairs.start.checked_add(e.checked_mul(8)?)?;
                if end > self.pairs.end {
                    return None;
                }
                all.get(start..end)
            })
            .flatten()
            .unwrap_or_default();
        ListRefs { index: self, pairs }
    }

    /// The path it was opened from (or the name it was given).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The names of its lists, in build order.
    pub fn list_names(&self) -> impl Iterator<Item = &str> {
        self.lists.iter().map(|l| &*l.name)
    }

    /// What the index holds.
    pub fn info(&self) -> IndexInfo {
        let lists = self
            .lists
            .iter()
            .enumerate()
            .map(|(i, l)| ListInfo {
                name: l.name.to_string(),
                label: self.string(l.label).to_string(),
                source: self.string(l.source).to_string(),
                format: l.format,
                entries: l.entries,
                pdq: l.pdq,
                phash: l.img[0],
                dhash: l.img[1],
                malformed: l.malformed,
                role: l.role,
                source_bytes: l.digest.map(|d| d.bytes),
                source_sha256: l.digest.map(|d| d.sha256_hex()),
                bloom: self.blooms.iter().find(|b| b.list == i).map(|b| BloomInfo {
                    algo: b.key.algo,
                    upper: b.key.upper,
                    k: b.params.k,
                    m: b.params.m,
                    n: b.params.n,
                    p: b.params.p,
                    inserted: b.params.inserted,
                    fpr: b.params.fpr(),
                }),
            })
            .collect();
        let mut distinct = AlgoCounts::default();
        let tables = self
            .tables
            .iter()
            .flatten()
            .map(|t| {
                distinct.add(t.algo, t.rows as u64);
                TableInfo {
                    algo: t.algo,
                    rows: t.rows as u64,
                    buckets: t.buckets as u64,
                    bytes: (t.bkts.len() + t.recs.len()) as u64,
                }
            })
            .collect();
        IndexInfo {
            version: self.version,
            file_size: self.data.len() as u64,
            lists,
            tables,
            distinct,
            pdq: self.pdq_len() as u64,
            pdq_bytes: self
                .pdq
                .as_ref()
                .map_or(0, |t| (t.hashes.len() + t.groups.len()) as u64),
            pdq_search: self.mih.as_ref().map(Mih::info),
            phash: self.img_len(ImgKind::Phash) as u64,
            phash_bytes: self.img[0]
                .as_ref()
                .map_or(0, |t| (t.hashes.len() + t.groups.len()) as u64),
            dhash: self.img_len(ImgKind::Dhash) as u64,
            dhash_bytes: self.img[1]
                .as_ref()
                .map_or(0, |t| (t.hashes.len() + t.groups.len()) as u64),
            provenance_groups: self.group_count as u64,
            videos: self.video_count() as u64,
            vpdq_frames: self.vpdq_frame_count() as u64,
        }
    }

    fn string(&self, id: u32) -> &str {
        self.strings.get(id as usize).map_or("", |s| s)
    }

    /// Checks every section checksum and every invariant of the tables (sorted distinct
    /// digests and PDQ hashes, directory consistent with them, provenance references in
    /// range). Reads the whole file.
    ///
    /// # Errors
    /// [`IndexError::Corrupt`] naming the first failed check.
    pub fn verify(&self) -> Result<(), IndexError> {
        // (Checksums first, then the invariants a checksum cannot vouch for.)
        let corrupt = |reason: String| IndexError::Corrupt {
            path: self.path.clone(),
            reason,
        };
        let b = self.data.bytes();
        self.verify_checksums()?;
        // Provenance groups.
        let mut prev = 0u32;
        for g in 0..=self.group_count {
            let s = u32_at(b, self.groups.start + g * 4).unwrap_or(u32::MAX);
            if s < prev || (g == 0 && s != 0) {
                return Err(corrupt(format!("provenance group {g} out of order")));
            }
            prev = s;
        }
        let npairs = self.pairs.len() / 8;
        if prev as usize != npairs {
            return Err(corrupt(
                "provenance groups do not end at the last pair".into(),
            ));
        }
        for p in 0..npairs {
            let at = self.pairs.start + p * 8;
            let list = u32_at(b, at).unwrap_or(u32::MAX) as usize;
            let label = u32_at(b, at + 4).unwrap_or(u32::MAX) as usize;
            if list >= self.lists.len() || label >= self.strings.len() {
                return Err(corrupt(format!("provenance pair {p} out of range")));
            }
        }
        // Tables.
        for t in self.tables.iter().flatten() {
            let klen = t.algo.len();
            let recs = &b[t.recs.clone()];
            let mut prev: Option<&[u8]> = None;
            for (row, r) in recs.chunks_exact(t.width).enumerate() {
                let (key, g) = r.split_at(klen);
                if prev.is_some_and(|p| p >= key) {
                    return Err(corrupt(format!("{} row {row} out of order", t.algo)));
                }
                prev = Some(key);
                if u32_at(g, 0).is_none_or(|g| g as usize >= self.group_count) {
                    return Err(corrupt(format!(
                        "{} row {row}: bad provenance group",
                        t.algo
                    )));
                }
            }
            // Bucket i must hold the run of rows whose bucket is i, right after the rows of
            // bucket i - 1, and the fingerprints of its first rows.
            let mut next = 0usize;
            for i in 0..t.buckets {
                let at = t.bkts.start + i * BUCKET;
                let head = u64_at(b, at).unwrap_or(u64::MAX);
                let first = (head & 0xFFFF_FFFF) as usize;
                let count = (head >> 32) as usize;
                if first != next {
                    return Err(corrupt(format!(
                        "{} bucket {i} starts at row {first}, expected {next}",
                        t.algo
                    )));
                }
                let Some(end) = first.checked_add(count).filter(|&e| e <= t.rows) else {
                    return Err(corrupt(format!(
                        "{} bucket {i} ends beyond the records",
                        t.algo
                    )));
                };
                for row in first..end {
                    let key = &recs[row * t.width..row * t.width + klen];
                    if place(prefix(key), t.buckets).0 != i {
                        return Err(corrupt(format!(
                            "{} row {row} is not in bucket {i}",
                            t.algo
                        )));
                    }
                }
                for j in 0..SLOTS {
                    let want = if j < count {
                        let row = first + j;
                        fingerprint(&recs[row * t.width..row * t.width + klen])
                    } else {
                        0
                    };
                    if u64_at(b, at + 8 + 8 * j) != Some(want) {
                        return Err(corrupt(format!(
                            "{} bucket {i} fingerprint {j} is wrong",
                            t.algo
                        )));
                    }
                }
                next = end;
            }
            if next != t.rows {
                return Err(corrupt(format!(
                    "{} buckets end at row {next}, not {}",
                    t.algo, t.rows
                )));
            }
        }
        // PDQ: sorted distinct hashes, groups in range.
        if let Some(t) = &self.pdq {
            let hashes = &b[t.hashes.clone()];
            let mut prev: Option<&[u8]> = None;
            for (row, h) in hashes.chunks_exact(PDQ_LEN).enumerate() {
                if prev.is_some_and(|p| p >= h) {
                    return Err(corrupt(format!("pdq row {row} out of order")));
                }
                prev = Some(h);
                let g = t.group(b, row);
                if g.is_none_or(|g| g as usize >= self.group_count) {
                    return Err(corrupt(format!("pdq row {row}: bad provenance group")));
                }
            }
            if let Some(mih) = &self.mih {
                mih.verify(b, hashes).map_err(corrupt)?;
            }
        }
        // pHash, dHash: sorted distinct values, groups in range.
        for (k, t) in ImgKind::ALL.into_iter().zip(&self.img) {
            let Some(t) = t else { continue };
            let mut prev: Option<u64> = None;
            for row in 0..t.rows {
                let h = u64_at(b, t.hashes.start + row * IMG_LEN).unwrap_or(0);
                if prev.is_some_and(|p| p >= h) {
                    return Err(corrupt(format!("{k} row {row} out of order")));
                }
                prev = Some(h);
                let g = t.group(b, row);
                if g.is_none_or(|g| g as usize >= self.group_count) {
                    return Err(corrupt(format!("{k} row {row}: bad provenance group")));
                }
            }
        }
        if let Some(t) = &self.videos {
            t.verify(self).map_err(corrupt)?;
        }
        Ok(())
    }
}

/// Parses the STRINGS section.
fn parse_strings(b: &[u8]) -> Result<Vec<Box<str>>, String> {
    let n = u32_at(b, 0).ok_or("truncated")? as usize;
    let text_start = n
        .checked_add(1)
        .and_then(|x| x.checked_mul(4))
        .and_then(|x| x.checked_add(4))
        .filter(|&x| x <= b.len())
        .ok_or("offsets beyond the section")?;
    let text = &b[text_start..];
    let mut out = Vec::with_capacity(n);
    let mut start = u32_at(b, 4).ok_or("truncated")? as usize;
    if start != 0 {
        return Err("first offset is not 0".into());
    }
    for i in 0..n {
        let end = u32_at(b, 8 + i * 4).ok_or("truncated")? as usize;
        let s = text
            .get(start..end)
            .ok_or_else(|| format!("string {i} out of bounds"))?;
        let s = std::str::from_utf8(s).map_err(|_| format!("string {i} is not UTF-8"))?;
        out.push(s.into());
        start = end;
    }
    Ok(out)
}

/// Parses the LISTS section.
fn parse_lists(b: &[u8], strings: &[Box<str>]) -> Result<Vec<ListMeta>, String> {
    let n = u32_at(b, 0).ok_or("truncated")? as usize;
    if n.checked_mul(LIST_RECORD).and_then(|x| x.checked_add(4)) != Some(b.len()) {
        return Err(format!("{} bytes for {n} lists", b.len()));
    }
    let s = |id: u32| -> Result<&Box<str>, String> {
        strings
            .get(id as usize)
            .ok_or_else(|| format!("string id {id} out of range"))
    };
    (0..n)
        .map(|i| {
            let r = &b[4 + i * LIST_RECORD..4 + (i + 1) * LIST_RECORD];
            let field = |at: usize| u32_at(r, at).unwrap_or(u32::MAX);
            let name = s(field(0))?.clone();
            let label = field(4);
            let source = field(8);
            s(label)?;
            s(source)?;
            let format = ListFormat::from_code(field(12))
                .ok_or_else(|| format!("list {i}: unknown format {}", field(12)))?;
            let mut entries = AlgoCounts::default();
            for (k, e) in entries.0.iter_mut().enumerate() {
                *e = u64_at(r, 24 + k * 8).unwrap_or(0);
            }
            Ok(ListMeta {
                name,
                label,
                source,
                format,
                malformed: u64_at(r, 16).unwrap_or(0),
                entries,
                pdq: u64_at(r, 56).unwrap_or(0),
                img: [0, 0],
                role: Role::Block,
                digest: None,
            })
        })
        .collect()
}

/// Parses the ROLES section into the lists' roles.
fn parse_roles(b: &[u8], lists: &mut [ListMeta]) -> Result<(), String> {
    let n = u32_at(b, 0).ok_or("truncated")? as usize;
    if n != lists.len() || b.len() != 4 + 4 * n {
        return Err(format!(
            "{} bytes for {n} roles, the index has {} lists",
            b.len(),
            lists.len()
        ));
    }
    for (i, l) in lists.iter_mut().enumerate() {
        let code = u32_at(b, 4 + 4 * i).unwrap_or(u32::MAX);
        l.role = role_from_code(code).ok_or_else(|| format!("list {i}: unknown role {code}"))?;
    }
    Ok(())
}

/// Parses the LIST_IMG section into the lists' pHash and dHash counts.
fn parse_list_img(b: &[u8], lists: &mut [ListMeta]) -> Result<(), String> {
    let n = u32_at(b, 0).ok_or("truncated")? as usize;
    if n != lists.len() || Some(b.len()) != n.checked_mul(16).and_then(|x| x.checked_add(4)) {
        return Err(format!(
            "{} bytes for {n} lists, the index has {}",
            b.len(),
            lists.len()
        ));
    }
    for (i, l) in lists.iter_mut().enumerate() {
        l.img = [
            u64_at(b, 4 + 16 * i).unwrap_or(0),
            u64_at(b, 12 + 16 * i).unwrap_or(0),
        ];
    }
    Ok(())
}

/// Reads each list's source (LIST_SOURCES) into `lists`.
fn parse_list_sources(b: &[u8], lists: &mut [ListMeta]) -> Result<(), String> {
    let n = u32_at(b, 0).ok_or("truncated")? as usize;
    let want = n.checked_mul(SOURCE_RECORD).and_then(|x| x.checked_add(4));
    if n != lists.len() || Some(b.len()) != want {
        return Err(format!(
            "{} bytes for {n} lists, the index has {}",
            b.len(),
            lists.len()
        ));
    }
    for (i, l) in lists.iter_mut().enumerate() {
        let at = 4 + SOURCE_RECORD * i;
        let flags = u64_at(b, at).ok_or("truncated")?;
        let bytes = u64_at(b, at + 8).ok_or("truncated")?;
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(b.get(at + 16..at + 48).ok_or("truncated")?);
        l.digest = match flags {
            0 if bytes == 0 && sha256 == [0; 32] => None,
            1 => Some(SourceDigest { bytes, sha256 }),
            _ => return Err(format!("list {i}: bad source record (flags {flags})")),
        };
    }
    Ok(())
}

/// Parses and bounds the header of the BLOOM section `b` of list `param` (the bits' range
/// is left to the caller).
fn parse_bloom(b: &[u8], param: u32, lists: &[ListMeta]) -> Result<BloomTable, String> {
    let list = param as usize;
    let meta = lists.get(list).ok_or("no such list")?;
    if meta.format != ListFormat::DcsoBloom {
        return Err(format!("the list is of format {}", meta.format));
    }
    let field = |at| u64_at(b, at).ok_or("truncated header");
    let algo_id = u32_at(b, 0).ok_or("truncated header")?;
    let algo = Algo::from_id(algo_id.min(255) as u8)
        .filter(|_| algo_id < 256)
        .ok_or_else(|| format!("keys of unknown algorithm {algo_id}"))?;
    let upper = match u32_at(b, 4).ok_or("truncated header")? {
        0 => false,
        1 => true,
        c => return Err(format!("unknown key case {c}")),
    };
    let params = BloomParams {
        k: field(8)?,
        m: field(16)?,
        n: field(24)?,
        p: f64::from_bits(field(32)?),
        inserted: field(40)?,
    };
    bloom::check(&params)?;
    let want = params
        .bits_len()
        .and_then(|x| x.checked_add(BLOOM_HEADER as u64));
    if want != Some(b.len() as u64) {
        return Err(format!(
            "m = {} bits needs {} bytes, the section has {}",
            params.m,
            want.map_or_else(|| "too many".to_string(), |w| w.to_string()),
            b.len()
        ));
    }
    Ok(BloomTable {
        list,
        key: BloomKey { algo, upper },
        params,
        bits: 0..0,
    })
}

/// The error for hashes of type `kind` from `list` that an index holding `held` cannot match.
pub(crate) fn unmatchable(list: &Path, kind: ListType, held: &[ListType]) -> IndexError {
    let holds = if held.is_empty() {
        "nothing".to_string()
    } else {
        held.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    IndexError::Unmatchable {
        list: list.to_owned(),
        kind,
        holds,
    }
}
