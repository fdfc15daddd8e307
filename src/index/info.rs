//! What an index holds, counted: [`IndexInfo`] (`vigie index info`, as text or JSON).

use std::fmt;

use serde::{Serialize, Serializer};

use super::format::{AlgoCounts, IndexedFormat};
use super::mih::Mih;
use super::{Index, MihInfo, Role};
use crate::hash::Algo;
use crate::perceptual::imghash::ImgKind;

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
    /// The false-positive rate its hits report ([`BloomParams::fpr`](crate::lists::bloom::BloomParams::fpr)).
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
    /// Its detected format (`unknown (code N)` for a newer vigie's).
    pub format: IndexedFormat,
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
pub(super) fn algo_name<S: Serializer>(a: &Algo, s: S) -> Result<S::Ok, S::Error> {
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

impl Index {
    /// What the index holds.
    pub fn info(&self) -> IndexInfo {
        let lists = self
            .lists
            .iter()
            .enumerate()
            .map(|(i, l)| ListInfo {
                name: self.string(l.name).to_string(),
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
}
