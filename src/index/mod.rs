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
//! PDQ entry within a distance of the query, by multi-index hashing when the index holds its
//! tables (from 16,384 hashes the builder adds them; `mih/`: each query reads only the
//! buckets of its substrings' Hamming balls) and that is cheaper at the threshold asked, else
//! by a linear scan of the contiguous table of 32-byte hashes (an XOR and a popcount of four
//! 64-bit words per entry). [`Index::pdq_search_many`] searches a batch of queries at once
//! (the eight dihedral variants of an image; a scan reads the table once for all of them).
//! Python ImageHash's 64-bit pHashes and dHashes are matched by an exact linear scan
//! ([`Index::img_search_many`]) of a table of 8-byte hashes per kind. Known videos (vPDQ)
//! are in `video.rs`.
//!
//! The file format (version 7; versions 1 to 6 are read too) is documented in `format.rs`,
//! with its constants and the list record the builder and the reader share. The module's
//! files:
//!
//! - `format.rs`: the layout, section kinds, format codes, the section table entry, the
//!   list record;
//! - `open.rs`: [`Index::open`]: the header, the section table and one parser per section;
//! - `exact.rs`: the exact-digest tables (buckets of fingerprints over sorted records),
//!   [`Index::lookup`] and [`Index::lookup_batch`];
//! - `hamming.rs`: the PDQ and 64-bit image-hash tables and their searches;
//! - `mih/`: the multi-index hashing tables over the PDQ hashes (layout, build, search);
//! - `video.rs`: known videos and their frames;
//! - `info.rs`: [`IndexInfo`], what `vigie index info` shows;
//! - `verify.rs`: [`Index::verify`], every checksum and invariant;
//! - `build.rs` ([`IndexBuilder`]), `merge.rs` (an index put back into a builder),
//!   `signature.rs` (minisign signatures of the index bytes), `scratch.rs` (large scratch
//!   buffers).
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
mod exact;
mod format;
mod hamming;
mod info;
mod mih;
mod open;
mod scratch;
pub mod signature;
#[cfg(test)]
pub(crate) mod tests;
mod verify;
mod video;

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::hash::{Algo, AlgoSet, Digest};
use crate::lists::bloom::{self, BloomKey, BloomParams};
use crate::lists::{ListError, ListType};
use crate::perceptual::imghash::ImgKind;
use crate::read::{Data, MmapPolicy};

pub use build::{IndexBuilder, IndexStats, ListReport, ListSpec, PdqSearch, MAX_PROBLEMS};
use exact::Table;
use format::{u32_at, ListRecord, Section};
pub use format::{AlgoCounts, IndexedFormat, MAGIC, OLDEST_VERSION, VERSION};
use hamming::PdqTable;
pub(crate) use hamming::{pdq_words, HashRows};
pub use hamming::{ImgMatch, PdqMatch};
pub use info::{BloomInfo, IndexInfo, ListInfo, TableInfo};
use mih::Mih;
pub use mih::MihInfo;
pub use video::KnownVideo;
use video::VideoTable;

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

pub use crate::model::Role;

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
                    list: self.index.string(list.name),
                    label,
                    role: list.role,
                });
            }
        }
        None
    }
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
    lists: Vec<ListRecord>,
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

    /// Opens an index held in memory (read from object storage, say); `name` names it in
    /// errors. Checked as [`Index::open`] checks a file.
    ///
    /// # Errors
    /// As [`Index::open`].
    pub fn from_bytes(bytes: Vec<u8>, name: &Path) -> Result<Index, IndexError> {
        Index::from_data(Data::from_vec(bytes), name)
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
                    list: self.string(l.name),
                    label: self.string(l.label),
                    role: l.role,
                    fpr: t.params.fpr(),
                });
            }
        }
    }

    /// The SHA-256 of the index file's bytes (as opened), as `sha256sum` prints it: what a
    /// report names the index by.
    pub fn sha256(&self) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(self.data.bytes()))
    }

    /// The pairs of provenance group `g` (empty when the reference is out of range).
    #[inline]
    pub(super) fn hits<'a>(&'a self, all: &'a [u8], g: u32) -> ListRefs<'a> {
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
        self.lists.iter().map(|l| self.string(l.name))
    }

    /// String `id` of STRINGS (empty when out of range: a damaged reference). On the hit
    /// path: every (list, label) a lookup reports names its list through it.
    #[inline]
    pub(super) fn string(&self, id: u32) -> &str {
        self.strings.get(id as usize).map_or("", |s| s)
    }
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
