//! Building an index: lists are read into per-algorithm (and PDQ) record vectors, which are
//! sorted, deduplicated and written in the layout `format.rs` describes (its constants and
//! list record shared with the reader).

use std::collections::HashMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rayon::slice::ParallelSliceMut;
use serde::Serialize;

use super::exact::place;
use super::format::{
    pdq_group_width, role_code, IndexedFormat, ListRecord, Section, ALIGN, BLOOM_HEADER, BUCKET,
    HEADER_FIXED, IMG_LEN, KIND_BLOOM, KIND_BUCKETS, KIND_IMG64, KIND_LISTS, KIND_LIST_IMG,
    KIND_LIST_SOURCES, KIND_PDQ, KIND_PDQ_MIH, KIND_PROVENANCE, KIND_RECORDS, KIND_ROLES,
    KIND_STRINGS, LIST_RECORD, MAGIC, PDQ_ROW, SECTION_ENTRY, SLOTS, SOURCE_RECORD, VERSION,
};
use super::video::{
    KIND_VIDEOS, KIND_VIDEO_FRAMES, KIND_VIDEO_QUALITY, KIND_VPDQ, KIND_VPDQ_MIH,
    KIND_VPDQ_POSTINGS, VIDEO_RECORD, VPDQ_POSTING,
};
use super::{mih, AlgoCounts, Index, IndexError, Role};
use crate::hash::{Algo, Digest};
use crate::lists::bloom::{self, BloomFile, BloomKey};
use crate::lists::ListError;
use crate::lists::{
    no_hash_reason, read_list_hashed, ListFormat, ListHash, ListType, SourceDigest,
};
use crate::perceptual::imghash::{ImgHash64, ImgKind};
use crate::perceptual::pdq::PdqHash;

#[path = "merge.rs"]
mod merge;

/// The record vector of PDQ hashes, after the four exact algorithms'.
const PDQ: usize = 4;
/// The record vectors of 64-bit image hashes, after PDQ's: `IMG + kind id`.
const IMG: usize = 5;

/// The record vector of a 64-bit image hash kind.
fn img_slot(k: ImgKind) -> usize {
    IMG + usize::from(k.id())
}
use crate::read::Data;
use crate::report::output::Destination;

/// Largest bucket bits a builder may be forced to (2^bits buckets).
const MAX_BITS: u32 = 26;
/// Average rows per bucket the builder sizes the buckets for.
pub(super) const LOAD: usize = 4;
/// Problems kept per list in a [`ListReport`].
pub const MAX_PROBLEMS: usize = 20;

/// A list to add to an index, as the user named it on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListSpec {
    /// The list file.
    pub path: PathBuf,
    /// The name hits report; defaults to the file stem.
    pub name: Option<String>,
    /// The label (category) hits report; defaults to the file stem. An entry that carries its
    /// own label (the `category` of a ThreatExchange dataset CSV) reports that label instead,
    /// or `LABEL/category` when this label is given.
    pub label: Option<String>,
    /// The type of the list's hashes, when the file cannot tell (e.g. xxh3_128 hex, or PDQ:
    /// never guessed from the length). For a Bloom filter, the algorithm of its keys
    /// (default sha1).
    pub algo: Option<ListType>,
    /// The list's format, when detection from the content must be overridden.
    pub format: Option<ListFormat>,
    /// Blocklist or allowlist; `None`: a blocklist, except a Bloom filter, an allowlist (the
    /// filters people exchange are known-file sets, CIRCL hashlookup's).
    pub role: Option<Role>,
    /// For a Bloom filter: its keys are lower-case hex (default: upper-case, as CIRCL
    /// hashlookup's).
    pub bloom_lower: bool,
}

impl ListSpec {
    /// A spec with every option at its default.
    pub fn new(path: impl Into<PathBuf>) -> ListSpec {
        ListSpec {
            path: path.into(),
            name: None,
            label: None,
            algo: None,
            format: None,
            role: None,
            bloom_lower: false,
        }
    }

    /// The file stem, lossily converted to UTF-8.
    fn stem(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string())
    }
}

/// What adding one list did.
#[derive(Clone, Debug, Serialize)]
pub struct ListReport {
    /// The list's name in the index.
    pub name: String,
    /// The label its hits carry.
    pub label: String,
    /// The file, as given.
    pub path: String,
    /// The detected format.
    pub format: IndexedFormat,
    /// Blocklist or allowlist.
    pub role: Role,
    /// Digests read per algorithm (duplicates included).
    pub entries: AlgoCounts,
    /// PDQ hashes read (duplicates included).
    pub pdq: u64,
    /// Videos read (vPDQ hashes: each one known video's frames).
    pub videos: u64,
    /// pHashes read (duplicates included).
    pub phash: u64,
    /// dHashes read (duplicates included).
    pub dhash: u64,
    /// Malformed lines.
    pub malformed: u64,
    /// The first [`MAX_PROBLEMS`] malformed lines as `LIST:LINE: reason`.
    pub problems: Vec<String>,
    /// Remarks about the whole list (e.g. skipped hashdeep columns).
    pub notes: Vec<String>,
    /// Nothing was read from the list: no digest, no PDQ hash, no pHash or dHash, no video,
    /// no bit set in a Bloom filter. Only with [`IndexBuilder::set_allow_empty`]; otherwise such a list is an error.
    pub empty: bool,
    /// The size and SHA-256 of the list's file as read (`{"bytes", "sha256"}`), which the
    /// index records; absent for hashes given in memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceDigest>,
}

/// What writing an index produced.
#[derive(Clone, Debug, Serialize)]
pub struct IndexStats {
    /// Bytes of the index.
    pub bytes: u64,
    /// Lists in the index.
    pub lists: usize,
    /// Distinct digests per algorithm.
    pub distinct: AlgoCounts,
    /// Distinct PDQ hashes.
    pub distinct_pdq: u64,
    /// Known videos (vPDQ), and the distinct frame hashes they hold.
    pub videos: u64,
    /// Distinct vPDQ frame hashes over all known videos.
    pub distinct_vpdq_frames: u64,
    /// Distinct pHashes.
    pub distinct_phash: u64,
    /// Distinct dHashes.
    pub distinct_dhash: u64,
    /// Distinct (list, label) sets.
    pub provenance_groups: u64,
}

/// One digest while building: the digest bytes as big-endian words (so that comparing words
/// orders like comparing bytes), then a pair id while reading, a group id once grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Rec {
    key: [u64; 4],
    tag: u32,
}

impl Rec {
    fn new(d: &Digest, tag: u32) -> Rec {
        Rec::from_bytes(d.as_bytes(), tag)
    }

    fn pdq(h: &PdqHash, tag: u32) -> Rec {
        Rec::from_bytes(&h.0, tag)
    }

    /// A 64-bit image hash: its value is the first key word, so records sort by value.
    fn img(h: &ImgHash64, tag: u32) -> Rec {
        Rec::from_bytes(&h.0.to_be_bytes(), tag)
    }

    /// The record of a hash of at most 32 bytes.
    fn from_bytes(bytes: &[u8], tag: u32) -> Rec {
        let mut key = [0u64; 4];
        for (k, c) in key.iter_mut().zip(bytes.chunks(8)) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            *k = u64::from_be_bytes(w);
        }
        Rec { key, tag }
    }

    /// Fills `out` (at most 32 bytes) with the first digest bytes.
    fn key_bytes(&self, out: &mut [u8]) {
        let mut b = [0u8; 32];
        for (c, k) in b.chunks_mut(8).zip(self.key) {
            c.copy_from_slice(&k.to_be_bytes());
        }
        out.copy_from_slice(&b[..out.len()]);
    }
}

/// A known video while building: its (list, label) pair (like [`Rec::tag`], an own-label tag
/// while its list is read, a provenance group once grouped), its name (a string id), and its
/// distinct frame hashes with the best quality each was listed with, sorted by hash.
#[derive(Clone, Debug)]
struct VideoRec {
    tag: u32,
    name: u32,
    frames: Vec<([u64; 4], u8)>,
}

/// A video as its list gives it: (tag, its name if given, line, distinct frames).
type ListedVideo = (u32, Option<String>, u64, Vec<([u64; 4], u8)>);
/// A distinct frame hash of the known videos with its postings: (video number, best quality
/// in that video), by video number.
type FrameRow = ([u64; 4], Vec<(u32, u8)>);

/// The distinct frames of a vPDQ hash, each at the best quality it was given, sorted by hash:
/// a frame counts for matching when any of its copies reaches the quality threshold (the
/// reference filters by quality, then keeps one frame per hash).
fn distinct_frames(frames: &[crate::video::VpdqFrame]) -> Vec<([u64; 4], u8)> {
    let mut v: Vec<([u64; 4], u8)> = frames
        .iter()
        .map(|f| (Rec::pdq(&f.hash, 0).key, f.quality))
        .collect();
    // Sorted by hash, the best quality of each hash first.
    v.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    v.dedup_by_key(|f| f.0);
    v
}

/// Collects lists and writes an index.
#[derive(Debug, Default)]
pub struct IndexBuilder {
    strings: Vec<String>,
    string_ids: HashMap<String, u32>,
    lists: Vec<ListRecord>,
    /// (list index, label string) of each distinct (name, label).
    pairs: Vec<(u32, u32)>,
    pair_ids: HashMap<(u32, u32), u32>,
    /// Records per algorithm id, then PDQ, then pHash and dHash.
    recs: [Vec<Rec>; 7],
    bits: Option<u32>,
    pdq_search: PdqSearch,
    /// Bytes of the PDQ section's provenance groups, when forced (tests); else the narrowest.
    pdq_group_width: Option<usize>,
    /// Known videos without their frame table, in a version 5 file (tests).
    no_video_frames: bool,
    /// Bloom filters: (list index, key form, the mapped file).
    blooms: Vec<(u32, BloomKey, BloomFile)>,
    /// Known videos (vPDQ), in the order read.
    videos: Vec<VideoRec>,
    /// Accept lists that yield nothing.
    allow_empty: bool,
    /// The index each merged list's name came from ([`IndexBuilder::add_index`]).
    origins: HashMap<String, PathBuf>,
}

/// How an index searches its PDQ hashes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PdqSearch {
    /// Multi-index tables when the list is large enough for them to pay (16,384 hashes or
    /// more), with substrings of about log2(n) bits.
    #[default]
    Auto,
    /// No tables: every search scans the PDQ hashes (32 to 36 bytes per hash in all).
    Linear,
    /// Multi-index tables, this many (clamped to 10..=64), whatever the list size.
    Tables(usize),
}

impl std::str::FromStr for PdqSearch {
    type Err = String;

    fn from_str(s: &str) -> Result<PdqSearch, String> {
        match s {
            "auto" => Ok(PdqSearch::Auto),
            "linear" => Ok(PdqSearch::Linear),
            _ => match s.strip_prefix("mih:").map(str::parse::<usize>) {
                Some(Ok(m)) if (10..=64).contains(&m) => Ok(PdqSearch::Tables(m)),
                _ => Err(format!(
                    "{s:?}: expected auto, linear or mih:M with 10 <= M <= 64 tables"
                )),
            },
        }
    }
}

impl IndexBuilder {
    /// An empty builder.
    pub fn new() -> IndexBuilder {
        IndexBuilder::default()
    }

    /// Accepts lists that yield no hash at all (an empty file, every line malformed, a Bloom
    /// filter with no bit set), which [`IndexBuilder::add_list`] otherwise refuses: an index
    /// built from them would find nothing and say so as if the data were clean.
    pub fn set_allow_empty(&mut self, allow: bool) {
        self.allow_empty = allow;
    }

    /// Chooses how the PDQ hashes will be searched (default [`PdqSearch::Auto`]).
    pub fn set_pdq_search(&mut self, search: PdqSearch) {
        self.pdq_search = search;
    }

    /// Writes known videos as format version 5 did, without their frame table (VIDEO_FRAMES),
    /// for tests of how such files are matched.
    #[cfg(test)]
    pub(crate) fn set_no_video_frames(&mut self) {
        self.no_video_frames = true;
    }

    /// Forces the bytes of the PDQ section's provenance groups (0, 1, 2 or 4, wide enough for
    /// every group), for tests of the layouts.
    #[cfg(test)]
    pub(crate) fn set_pdq_group_width(&mut self, width: usize) {
        self.pdq_group_width = Some(width);
    }

    /// Forces 2^bits buckets in every table (bits clamped to `[0, 26]`), for benchmarks and
    /// tests; `None` (the default) chooses the bucket count from the row count.
    pub fn set_bucket_bits(&mut self, bits: Option<u32>) {
        self.bits = bits.map(|b| b.min(MAX_BITS));
    }

    fn string(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.string_ids.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(s.to_owned());
        self.string_ids.insert(s.to_owned(), id);
        id
    }

    /// The pair id of (name, label) for a list about to be pushed, and whether it is new.
    fn pair(&mut self, name: u32, label: u32) -> (u32, bool) {
        if let Some(&p) = self.pair_ids.get(&(name, label)) {
            return (p, false);
        }
        let p = self.pairs.len() as u32;
        self.pairs.push((self.lists.len() as u32, label));
        self.pair_ids.insert((name, label), p);
        (p, true)
    }

    /// The pair id of (name, label), made for list `list` when new.
    fn pair_of(&mut self, list: u32, name: u32, label: u32) -> u32 {
        if let Some(&p) = self.pair_ids.get(&(name, label)) {
            return p;
        }
        let p = self.pairs.len() as u32;
        self.pairs.push((list, label));
        self.pair_ids.insert((name, label), p);
        p
    }

    fn forget_pair(&mut self, name: u32, label: u32) {
        self.pairs.pop();
        self.pair_ids.remove(&(name, label));
    }

    /// Reads the list of `spec` and adds its digests. With `strict`, a malformed line is an
    /// error and the list is not added. A list that yields no hash at all is an error too
    /// (and is not added) unless [`IndexBuilder::set_allow_empty`] said it is fine.
    ///
    /// # Errors
    /// [`IndexError::List`] when the list cannot be read ([`ListError::NoHash`] when it
    /// yields nothing), [`IndexError::Malformed`] for the first bad line under `strict`,
    /// [`IndexError::TooLarge`] beyond format limits.
    pub fn add_list(&mut self, spec: &ListSpec, strict: bool) -> Result<ListReport, IndexError> {
        let name = spec.name.clone().unwrap_or_else(|| spec.stem());
        let label = spec.label.clone().unwrap_or_else(|| spec.stem());
        let source = spec.path.display().to_string();
        self.check_room()?;
        if is_bloom(&spec.path)? {
            return self.add_bloom(spec, name, label, source);
        }
        let (name_id, label_id, source_id) = (
            self.string(&name),
            self.string(&label),
            self.string(&source),
        );
        let (pair, new_pair) = self.pair(name_id, label_id);
        let before = self.recs.each_ref().map(Vec::len);
        let videos_before = self.videos.len();

        let mut entries = AlgoCounts::default();
        let mut pdq = 0u64;
        // Videos read, with the name the list gives each (else none: named by line below).
        let mut videos: Vec<ListedVideo> = Vec::new();
        let mut img = [0u64; 2];
        let mut malformed = 0u64;
        let mut problems = Vec::new();
        let mut first_problem = None;
        // Labels entries carry, tagged u32::MAX - k until they get pair ids.
        let mut own_labels: Vec<String> = Vec::new();
        let mut own_ids: HashMap<String, u32> = HashMap::new();
        let recs = &mut self.recs;
        let summary = read_list_hashed(
            &spec.path,
            spec.algo,
            spec.format,
            |e| {
                let tag = match e.label {
                    None => pair,
                    Some(l) => match own_ids.get(l.as_ref()) {
                        Some(&t) => t,
                        None => {
                            let t = u32::MAX - own_labels.len() as u32;
                            own_ids.insert(l.to_string(), t);
                            own_labels.push(l.into_owned());
                            t
                        }
                    },
                };
                match e.hash {
                    ListHash::Exact(d) => {
                        let a = d.algo();
                        entries.add(a, 1);
                        recs[usize::from(a.id())].push(Rec::new(&d, tag));
                    }
                    ListHash::Pdq(h) => {
                        pdq += 1;
                        recs[PDQ].push(Rec::pdq(&h, tag));
                    }
                    ListHash::Vpdq(frames) => {
                        let name = e.name.map(|n| String::from_utf8_lossy(&n).into_owned());
                        videos.push((tag, name, e.line, distinct_frames(&frames)));
                    }
                    ListHash::Img(k, h) => {
                        img[usize::from(k.id())] += 1;
                        recs[img_slot(k)].push(Rec::img(&h, tag));
                    }
                }
            },
            |p| {
                malformed += 1;
                if problems.len() < MAX_PROBLEMS {
                    problems.push(format!("{source}:{}: {}", p.line, p.reason));
                }
                if first_problem.is_none() {
                    first_problem = Some(p);
                }
            },
        );
        let nvideos = videos.len() as u64;
        let empty = entries.total() == 0 && pdq == 0 && img == [0, 0] && nvideos == 0;
        let fail = match (summary, first_problem) {
            (Err(e), _) => Err(IndexError::List(e)),
            (Ok(_), Some(p)) if strict => Err(IndexError::Malformed {
                list: spec.path.clone(),
                line: p.line,
                reason: p.reason,
            }),
            (Ok((s, _)), first) if empty && !self.allow_empty => {
                Err(IndexError::List(ListError::NoHash {
                    path: spec.path.clone(),
                    reason: no_hash_reason(s.format, s.lines, malformed, first.as_ref()),
                }))
            }
            (Ok(s), _) => Ok(s),
        };
        let (summary, digest) = match fail {
            Ok(s) => s,
            Err(err) => {
                for (v, n) in self.recs.iter_mut().zip(before) {
                    v.truncate(n);
                }
                if new_pair {
                    self.forget_pair(name_id, label_id);
                }
                return Err(err);
            }
        };
        for (tag, given, line, frames) in videos {
            // A video the list does not name is named by its list and line.
            let name = given.unwrap_or_else(|| format!("{name}:{line}"));
            let name = self.string(&name);
            self.videos.push(VideoRec { tag, name, frames });
        }
        if !own_labels.is_empty() {
            let mut ids = Vec::with_capacity(own_labels.len());
            for l in &own_labels {
                let full = match &spec.label {
                    Some(given) => format!("{given}/{l}"),
                    None => l.clone(),
                };
                let l = self.string(&full);
                ids.push(self.pair(name_id, l).0);
            }
            for (v, n) in self.recs.iter_mut().zip(before) {
                for r in &mut v[n..] {
                    if let Some(&id) = ids.get((u32::MAX - r.tag) as usize) {
                        r.tag = id;
                    }
                }
            }
            for v in &mut self.videos[videos_before..] {
                if let Some(&id) = ids.get((u32::MAX - v.tag) as usize) {
                    v.tag = id;
                }
            }
        }
        self.lists.push(ListRecord {
            name: name_id,
            label: label_id,
            source: source_id,
            format: summary.format.into(),
            malformed,
            entries,
            pdq,
            img,
            role: spec.role.unwrap_or_default(),
            digest: Some(digest),
        });
        Ok(ListReport {
            name,
            label,
            path: source,
            format: summary.format.into(),
            role: spec.role.unwrap_or_default(),
            entries,
            pdq,
            videos: nvideos,
            phash: img[0],
            dhash: img[1],
            malformed,
            problems,
            notes: summary.notes,
            empty,
            source: Some(digest),
        })
    }

    /// Adds digests that do not come from a list file (generated, or read by another
    /// reader). They are recorded as a [`ListFormat::Plain`] list whose source is `source`.
    ///
    /// # Errors
    /// [`IndexError::TooLarge`] beyond format limits.
    pub fn add_digests(
        &mut self,
        name: &str,
        label: &str,
        source: &str,
        digests: impl IntoIterator<Item = Digest>,
    ) -> Result<ListReport, IndexError> {
        self.add_hashes(
            name,
            label,
            source,
            digests.into_iter().map(ListHash::Exact),
        )
    }

    /// Like [`IndexBuilder::add_digests`], for exact digests, PDQ hashes and 64-bit image
    /// hashes.
    ///
    /// # Errors
    /// [`IndexError::TooLarge`] beyond format limits.
    pub fn add_hashes(
        &mut self,
        name: &str,
        label: &str,
        source: &str,
        hashes: impl IntoIterator<Item = ListHash>,
    ) -> Result<ListReport, IndexError> {
        self.check_room()?;
        let (name_id, label_id, source_id) =
            (self.string(name), self.string(label), self.string(source));
        let (pair, _) = self.pair(name_id, label_id);
        let mut entries = AlgoCounts::default();
        let mut pdq = 0u64;
        let mut videos = 0u64;
        let mut img = [0u64; 2];
        for h in hashes {
            match h {
                ListHash::Exact(d) => {
                    entries.add(d.algo(), 1);
                    self.recs[usize::from(d.algo().id())].push(Rec::new(&d, pair));
                }
                ListHash::Pdq(h) => {
                    pdq += 1;
                    self.recs[PDQ].push(Rec::pdq(&h, pair));
                }
                ListHash::Vpdq(frames) => {
                    let name = format!("{name}:{}", videos + 1);
                    let name = self.string(&name);
                    let frames = distinct_frames(&frames);
                    self.videos.push(VideoRec {
                        tag: pair,
                        name,
                        frames,
                    });
                    videos += 1;
                }
                ListHash::Img(k, h) => {
                    img[usize::from(k.id())] += 1;
                    self.recs[img_slot(k)].push(Rec::img(&h, pair));
                }
            }
        }
        self.lists.push(ListRecord {
            name: name_id,
            label: label_id,
            source: source_id,
            format: ListFormat::Plain.into(),
            malformed: 0,
            entries,
            pdq,
            img,
            role: Role::Block,
            digest: None,
        });
        Ok(ListReport {
            name: name.to_owned(),
            label: label.to_owned(),
            path: source.to_owned(),
            format: ListFormat::Plain.into(),
            role: Role::Block,
            entries,
            pdq,
            videos,
            phash: img[0],
            dhash: img[1],
            malformed: 0,
            problems: Vec::new(),
            notes: Vec::new(),
            empty: entries.total() == 0 && pdq == 0 && img == [0, 0] && videos == 0,
            source: None,
        })
    }

    /// Adds the DCSO Bloom filter of `spec`: mapped now (its header checked), its bits
    /// copied into the index when it is written.
    fn add_bloom(
        &mut self,
        spec: &ListSpec,
        name: String,
        label: String,
        source: String,
    ) -> Result<ListReport, IndexError> {
        let algo = match spec.algo {
            None => Algo::Sha1,
            Some(ListType::Exact(a)) => a,
            Some(t @ (ListType::Pdq | ListType::Img(_) | ListType::Vpdq)) => {
                return Err(IndexError::List(ListError::Format {
                    path: spec.path.clone(),
                    reason: format!(
                        "a DCSO Bloom filter of {t} hashes cannot be matched ({t} matches by \
                         distance, a Bloom filter only by equality)"
                    ),
                }))
            }
        };
        let key = BloomKey {
            algo,
            upper: !spec.bloom_lower,
        };
        let file = BloomFile::open(&spec.path)?;
        let p = file.params;
        // A filter with no bit set answers "absent" to every key.
        let empty = file.bits().iter().all(|&b| b == 0);
        if empty && !self.allow_empty {
            return Err(IndexError::List(ListError::NoHash {
                path: spec.path.clone(),
                reason: format!(
                    "no hash found: the DCSO Bloom filter has no bit set ({} keys inserted, \
                     its header says)",
                    p.inserted
                ),
            }));
        }
        let role = spec.role.unwrap_or(Role::Allow);
        let (name_id, label_id, source_id) = (
            self.string(&name),
            self.string(&label),
            self.string(&source),
        );
        let digest = file.source_digest();
        self.blooms.push((self.lists.len() as u32, key, file));
        self.lists.push(ListRecord {
            name: name_id,
            label: label_id,
            source: source_id,
            format: ListFormat::DcsoBloom.into(),
            malformed: 0,
            entries: AlgoCounts::default(),
            pdq: 0,
            img: [0, 0],
            role,
            digest: Some(digest),
        });
        let case = if key.upper { "upper" } else { "lower" };
        Ok(ListReport {
            name,
            label,
            path: source,
            format: ListFormat::DcsoBloom.into(),
            role,
            entries: AlgoCounts::default(),
            pdq: 0,
            videos: 0,
            phash: 0,
            dhash: 0,
            malformed: 0,
            problems: Vec::new(),
            notes: vec![format!(
                "DCSO Bloom filter of {algo} keys ({case}-case hex): k {}, m {} bits, n {}, p \
                 {}, {} keys inserted; its hits are reported as probable, false-positive rate \
                 {:e}",
                p.k,
                p.m,
                p.n,
                p.p,
                p.inserted,
                p.fpr()
            )],
            empty,
            source: Some(digest),
        })
    }

    fn check_room(&self) -> Result<(), IndexError> {
        if self.lists.len() >= u32::MAX as usize / 2 {
            return Err(IndexError::TooLarge("too many lists".into()));
        }
        Ok(())
    }

    /// Writes the index to `path` atomically: to a temporary file in the same directory,
    /// flushed to disk, then renamed over `path`. The tables are streamed to the file section
    /// by section (only the records are in memory, never the file's bytes). When `path`
    /// exists and is not a regular file (`/dev/null`, a fifo), it is written in place, never
    /// replaced: the index is then built in an unnamed temporary file (the header is written
    /// last, by seeking back) and copied to it.
    ///
    /// # Errors
    /// [`IndexError::Io`] when writing fails, [`IndexError::TooLarge`] beyond format limits.
    pub fn write(mut self, path: &Path) -> Result<IndexStats, IndexError> {
        let grouped = self.group()?;
        let io = |source| IndexError::Io {
            path: path.to_owned(),
            source,
        };
        let mut dest = Destination::open(path).map_err(io)?;
        let stats = match &mut dest {
            Destination::InPlace(target) => {
                let mut tmp = tempfile::tempfile().map_err(io)?;
                let stats = self.emit(&grouped, &mut tmp, 0).map_err(io)?;
                tmp.seek(SeekFrom::Start(0)).map_err(io)?;
                std::io::copy(&mut tmp, target).map_err(io)?;
                target.flush().map_err(io)?;
                stats
            }
            Destination::Replace { tmp, .. } => {
                let stats = self.emit(&grouped, tmp.as_file_mut(), 0).map_err(io)?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    tmp.as_file()
                        .set_permissions(std::fs::Permissions::from_mode(0o644))
                        .map_err(io)?;
                }
                tmp.as_file().sync_all().map_err(io)?;
                stats
            }
        };
        dest.commit().map_err(io)?;
        Ok(stats)
    }

    /// Builds the same bytes as [`IndexBuilder::write`] in memory and opens them, for a scan
    /// against lists that were never compiled to a file.
    ///
    /// # Errors
    /// [`IndexError::TooLarge`] beyond format limits.
    pub fn into_index(mut self) -> Result<Index, IndexError> {
        let grouped = self.group()?;
        // The file starts at a 64-byte aligned address (a bucket is then one cache line in
        // memory too): the buffer is sized up front so that it does not move.
        let hint = self.size_hint(&grouped);
        let v: Vec<u8> = Vec::with_capacity(hint + ALIGN);
        let base = (ALIGN - v.as_ptr() as usize % ALIGN) % ALIGN;
        let mut cur = std::io::Cursor::new(v);
        cur.set_position(base as u64);
        self.emit(&grouped, &mut cur, base as u64)
            .map_err(|source| IndexError::Io {
                path: PathBuf::from("(in-memory index)"),
                source,
            })?;
        let mut v = cur.into_inner();
        let mut base = base;
        if !(v.as_ptr() as usize + base).is_multiple_of(ALIGN) {
            // The size hint fell short and the buffer moved: realign by a copy.
            let mut w: Vec<u8> = Vec::with_capacity(v.len() - base + ALIGN);
            let b = (ALIGN - w.as_ptr() as usize % ALIGN) % ALIGN;
            w.resize(b, 0);
            w.extend_from_slice(&v[base..]);
            (v, base) = (w, b);
        }
        let len = v.len();
        let data = Data::from_vec(v)
            .slice(base..len)
            .unwrap_or_else(|| unreachable!("base <= len"));
        Index::from_data(data, Path::new("(in-memory index)"))
    }

    /// Sorts and deduplicates the records in place and replaces each record's pair id by the
    /// id of its provenance group (the set of (list, label) pairs of its digest).
    fn group(&mut self) -> Result<Grouped, IndexError> {
        // Group ids: one per distinct sorted set of pair ids.
        let mut single: Vec<u32> = vec![u32::MAX; self.pairs.len()];
        let mut multi: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut g = Grouped {
            starts: vec![0],
            pairs: Vec::new(),
            distinct: AlgoCounts::default(),
            distinct_pdq: 0,
            frames: Vec::new(),
            distinct_img: [0, 0],
        };
        for (slot, recs) in self.recs.iter_mut().enumerate() {
            let what = match slot {
                PDQ => "pdq",
                _ if slot >= IMG => ImgKind::from_id((slot - IMG) as u8).map_or("", ImgKind::name),
                _ => Algo::from_id(slot as u8).map_or("", Algo::name),
            };
            recs.par_sort_unstable();
            recs.dedup();
            let mut w = 0;
            let mut i = 0;
            let mut set = Vec::new();
            while i < recs.len() {
                let key = recs[i].key;
                let mut j = i + 1;
                while j < recs.len() && recs[j].key == key {
                    j += 1;
                }
                let group = if j - i == 1 {
                    let p = recs[i].tag as usize;
                    if single[p] == u32::MAX {
                        single[p] = (g.starts.len() - 1) as u32;
                        g.pairs.push(recs[i].tag);
                        g.starts.push(g.pairs.len() as u32);
                    }
                    single[p]
                } else {
                    set.clear();
                    set.extend(recs[i..j].iter().map(|r| r.tag));
                    match multi.get(&set) {
                        Some(&id) => id,
                        None => {
                            let id = (g.starts.len() - 1) as u32;
                            g.pairs.extend_from_slice(&set);
                            g.starts.push(g.pairs.len() as u32);
                            multi.insert(set.clone(), id);
                            id
                        }
                    }
                };
                recs[w] = Rec { key, tag: group };
                w += 1;
                i = j;
            }
            recs.truncate(w);
            recs.shrink_to_fit();
            if w >= u32::MAX as usize {
                return Err(IndexError::TooLarge(format!("{w} distinct {what} hashes")));
            }
            match slot {
                PDQ => g.distinct_pdq = w as u64,
                _ if slot >= IMG => g.distinct_img[slot - IMG] = w as u64,
                _ => {
                    if let Some(algo) = Algo::from_id(slot as u8) {
                        g.distinct.add(algo, w as u64);
                    }
                }
            }
        }
        // A video's group is the one of its single (list, label) pair.
        for v in &mut self.videos {
            let p = v.tag as usize;
            if single[p] == u32::MAX {
                single[p] = (g.starts.len() - 1) as u32;
                g.pairs.push(v.tag);
                g.starts.push(g.pairs.len() as u32);
            }
            v.tag = single[p];
        }
        g.frames = video_frames(&self.videos)?;
        if g.pairs.len() >= u32::MAX as usize {
            return Err(IndexError::TooLarge("too many provenance pairs".into()));
        }
        let text_len: usize = self.strings.iter().map(String::len).sum();
        if text_len >= u32::MAX as usize {
            return Err(IndexError::TooLarge("string table over 4 GiB".into()));
        }
        Ok(g)
    }

    /// Buckets of a table of `rows` rows.
    fn buckets_for(&self, rows: usize) -> usize {
        self.bits.map_or_else(|| bucket_count(rows), |b| 1 << b)
    }

    /// The algorithms with digests.
    fn algos(&self) -> Vec<Algo> {
        Algo::ALL
            .into_iter()
            .filter(|a| !self.recs[usize::from(a.id())].is_empty())
            .collect()
    }

    /// The 64-bit image hash kinds with hashes.
    fn img_kinds(&self) -> Vec<ImgKind> {
        ImgKind::ALL
            .into_iter()
            .filter(|&k| !self.recs[img_slot(k)].is_empty())
            .collect()
    }

    /// True when the index needs a LIST_IMG section (some list has pHashes or dHashes).
    fn needs_list_img(&self) -> bool {
        self.lists.iter().any(|l| l.img != [0, 0])
    }

    /// True when the index needs a LIST_SOURCES section (some list was read from a file). A
    /// version 5 file (tests) cannot hold one.
    fn needs_sources(&self) -> bool {
        !self.no_video_frames && self.lists.iter().any(|l| l.digest.is_some())
    }

    /// True when the index needs a ROLES section (some list is not a blocklist).
    fn needs_roles(&self) -> bool {
        self.lists.iter().any(|l| l.role != Role::Block)
    }

    /// The lengths of the PDQ multi-index tables' substrings, when there are tables.
    fn mih_plan(&self) -> Option<Vec<u32>> {
        let pdq_rows = self.recs[PDQ].len();
        match self.pdq_search {
            _ if pdq_rows == 0 => None,
            PdqSearch::Auto => mih::plan(pdq_rows, None),
            PdqSearch::Linear => None,
            PdqSearch::Tables(m) => mih::plan(pdq_rows, Some(m)),
        }
    }

    /// The lengths of the multi-index tables' substrings over the vPDQ frame hashes (`rows`
    /// of them), when there are tables: chosen as for PDQ.
    fn vpdq_mih_plan(&self, rows: usize) -> Option<Vec<u32>> {
        match self.pdq_search {
            _ if rows == 0 => None,
            PdqSearch::Auto => mih::plan(rows, None),
            PdqSearch::Linear => None,
            PdqSearch::Tables(m) => mih::plan(rows, Some(m)),
        }
    }

    /// Sections of the file (after [`IndexBuilder::group`]).
    fn section_count(&self, g: &Grouped) -> usize {
        3 + 2 * self.algos().len()
            + usize::from(!self.recs[PDQ].is_empty())
            + self.mih_plan().as_ref().map_or(0, Vec::len)
            + usize::from(self.needs_roles())
            + self.blooms.len()
            + self.img_kinds().len()
            + usize::from(self.needs_list_img())
            + usize::from(self.needs_sources())
            + if self.videos.is_empty() {
                0
            } else {
                4 + usize::from(!self.no_video_frames)
                    + self.vpdq_mih_plan(g.frames.len()).map_or(0, |l| l.len())
            }
    }

    /// The format version of the file: the oldest that holds what it holds ([`VERSION`] with
    /// the lists' sources, 6 with videos, 4 with pHash or dHash tables, else 3), so that an
    /// index stays readable by an older vigie whenever it can be.
    fn version(&self) -> u32 {
        if self.needs_sources() {
            VERSION
        } else if !self.videos.is_empty() {
            if self.no_video_frames {
                5
            } else {
                6
            }
        } else if !self.img_kinds().is_empty() || self.needs_list_img() {
            4
        } else {
            3
        }
    }

    /// An upper bound of the file's size (after [`IndexBuilder::group`]).
    fn size_hint(&self, g: &Grouped) -> usize {
        let header = HEADER_FIXED + self.section_count(g) * SECTION_ENTRY + 8;
        let tables: usize = self
            .algos()
            .iter()
            .map(|a| {
                let rows = self.recs[usize::from(a.id())].len();
                rows * (a.len() + 4) + self.buckets_for(rows) * BUCKET + 2 * ALIGN
            })
            .sum::<usize>()
            + self.recs[PDQ].len() * PDQ_ROW
            + self
                .mih_plan()
                .as_ref()
                .map_or(0, |l| mih::section_bytes(self.recs[PDQ].len(), l))
            + ALIGN
            + self
                .img_kinds()
                .iter()
                .map(|&k| self.recs[img_slot(k)].len() * (IMG_LEN + 4) + ALIGN)
                .sum::<usize>()
            + (16 * self.lists.len() + 4 + ALIGN)
            + (SOURCE_RECORD * self.lists.len() + 4 + ALIGN);
        let posts: usize = g.frames.iter().map(|f| f.1.len()).sum();
        let videos = if self.videos.is_empty() {
            0
        } else {
            let n = g.frames.len();
            4 + VIDEO_RECORD * self.videos.len()
                + 5 * self.videos.iter().map(|v| v.frames.len()).sum::<usize>()
                + (32 + 4) * n
                + 4
                + VPDQ_POSTING * posts
                + self
                    .vpdq_mih_plan(n)
                    .as_ref()
                    .map_or(0, |l| mih::section_bytes(n, l))
                + 6 * ALIGN
        };

        let blooms: usize = videos
            + self
                .blooms
                .iter()
                .map(|(_, _, f)| BLOOM_HEADER + f.bits().len() + ALIGN)
                .sum::<usize>();
        let small = 8 * self.strings.len()
            + self.strings.iter().map(String::len).sum::<usize>()
            + (LIST_RECORD + 4) * self.lists.len()
            + 4 * g.starts.len()
            + 8 * g.pairs.len()
            + 5 * ALIGN;
        header + tables + blooms + small
    }

    /// Writes the file to `w` from its position `origin` on (after [`IndexBuilder::group`]):
    /// a zeroed header, the sections one after the other (each hashed as it is written),
    /// then the header over the zeros.
    fn emit<W: Write + Seek>(
        mut self,
        g: &Grouped,
        w: &mut W,
        origin: u64,
    ) -> std::io::Result<IndexStats> {
        let nsections = self.section_count(g);
        let version = self.version();
        let header_len = HEADER_FIXED + nsections * SECTION_ENTRY + 8;
        let mut out = Sink::new(w);
        out.put(&vec![0u8; header_len])?;
        self.write_names(g, &mut out)?;
        for algo in self.algos() {
            self.write_exact(algo, &mut out)?;
        }
        self.write_pdq(&mut out)?;
        self.write_videos(g, &mut out)?;
        self.write_img(&mut out)?;
        self.write_list_extras(&mut out)?;
        self.write_blooms(&mut out)?;
        let (table, file_len) = out.finish()?;
        debug_assert_eq!(table.len(), nsections);
        write_header(w, origin, version, &table, file_len)?;
        Ok(IndexStats {
            bytes: file_len,
            lists: self.lists.len(),
            distinct: g.distinct,
            distinct_pdq: g.distinct_pdq,
            videos: self.videos.len() as u64,
            distinct_vpdq_frames: g.frames.len() as u64,
            distinct_phash: g.distinct_img[0],
            distinct_dhash: g.distinct_img[1],
            provenance_groups: (g.starts.len() - 1) as u64,
        })
    }

    /// STRINGS, LISTS and PROVENANCE: the names, the lists, the groups of (list, label).
    fn write_names<W: Write>(&self, g: &Grouped, out: &mut Sink<'_, W>) -> std::io::Result<()> {
        // STRINGS.
        out.begin(KIND_STRINGS, 0)?;
        out.put32(self.strings.len())?;
        out.put32(0)?;
        let mut end = 0;
        for s in &self.strings {
            end += s.len();
            out.put32(end)?;
        }
        for s in &self.strings {
            out.put(s.as_bytes())?;
        }
        out.end()?;

        // LISTS.
        out.begin(KIND_LISTS, 0)?;
        out.put32(self.lists.len())?;
        for l in &self.lists {
            out.put(&l.encode())?;
        }
        out.end()?;

        // PROVENANCE.
        out.begin(KIND_PROVENANCE, 0)?;
        out.put32(g.starts.len() - 1)?;
        out.put32(g.pairs.len())?;
        for &s in &g.starts {
            out.put32(s as usize)?;
        }
        for &p in &g.pairs {
            let (list, label) = self.pairs[p as usize];
            out.put32(list as usize)?;
            out.put32(label as usize)?;
        }
        out.end()?;
        Ok(())
    }

    /// The BUCKETS then the RECORDS of `algo`.
    fn write_exact<W: Write>(&mut self, algo: Algo, out: &mut Sink<'_, W>) -> std::io::Result<()> {
        let recs = std::mem::take(&mut self.recs[usize::from(algo.id())]);
        let buckets = self.buckets_for(recs.len());
        out.begin(KIND_BUCKETS, u32::from(algo.id()))?;
        let mut row = 0usize;
        let mut line = [0u8; BUCKET];
        for b in 0..buckets {
            let first = row;
            while row < recs.len() && place(recs[row].key[0], buckets).0 == b {
                row += 1;
            }
            line[0..4].copy_from_slice(&(first as u32).to_le_bytes());
            line[4..8].copy_from_slice(&((row - first) as u32).to_le_bytes());
            for j in 0..SLOTS {
                let fp = recs[first..row].get(j).map_or(0, |r| r.key[1]);
                // Digest bytes 8..16, as they are in the digest.
                line[8 + 8 * j..16 + 8 * j].copy_from_slice(&fp.to_be_bytes());
            }
            out.put(&line)?;
        }
        out.end()?;
        out.begin(KIND_RECORDS, u32::from(algo.id()))?;
        let mut row = [0u8; 36];
        let klen = algo.len();
        for r in &recs {
            r.key_bytes(&mut row[..klen]);
            row[klen..klen + 4].copy_from_slice(&r.tag.to_le_bytes());
            out.put(&row[..klen + 4])?;
        }
        out.end()?;
        Ok(())
    }

    /// PDQ: the hashes, contiguous, then their provenance groups; then the multi-index
    /// tables over them.
    fn write_pdq<W: Write>(&mut self, out: &mut Sink<'_, W>) -> std::io::Result<()> {
        let mih_plan = self.mih_plan();
        if !self.recs[PDQ].is_empty() {
            let recs = std::mem::take(&mut self.recs[PDQ]);
            let narrowest = pdq_group_width(recs.iter().map(|r| r.tag).max().unwrap_or(0));
            let width = self.pdq_group_width.map_or(narrowest, |w| w.max(narrowest));
            out.begin(KIND_PDQ, width as u32)?;
            let mut h = [0u8; 32];
            for r in &recs {
                r.key_bytes(&mut h);
                out.put(&h)?;
            }
            for r in &recs {
                out.put(&r.tag.to_le_bytes()[..width])?;
            }
            out.end()?;
            if let Some(lengths) = &mih_plan {
                let words: Vec<[u64; 4]> = recs.iter().map(|r| r.key).collect();
                drop(recs);
                write_mih(out, KIND_PDQ_MIH, &words, lengths)?;
            }
        }
        Ok(())
    }

    /// Known videos: VIDEOS, VIDEO_QUALITY, VIDEO_FRAMES, VPDQ (the distinct frame hashes
    /// and where their postings start), VPDQ_POSTINGS, then the multi-index tables over the
    /// frame hashes.
    fn write_videos<W: Write>(&self, g: &Grouped, out: &mut Sink<'_, W>) -> std::io::Result<()> {
        if !self.videos.is_empty() {
            out.begin(KIND_VIDEOS, 0)?;
            out.put32(self.videos.len())?;
            let mut first = 0usize;
            for v in &self.videos {
                for x in [v.tag as usize, v.name as usize, first, v.frames.len()] {
                    out.put32(x)?;
                }
                first += v.frames.len();
            }
            out.end()?;
            out.begin(KIND_VIDEO_QUALITY, 0)?;
            for v in &self.videos {
                let q: Vec<u8> = v.frames.iter().map(|f| f.1).collect();
                out.put(&q)?;
            }
            out.end()?;
            // Each video's frames (sorted by hash) as rows of the sorted distinct hashes.
            if !self.no_video_frames {
                out.begin(KIND_VIDEO_FRAMES, 0)?;
                for v in &self.videos {
                    for (h, _) in &v.frames {
                        // Always found: the table was made of these frames (`video_frames`).
                        let row = g
                            .frames
                            .binary_search_by(|f| f.0.cmp(h))
                            .unwrap_or_else(|i| i);
                        out.put32(row)?;
                    }
                }
                out.end()?;
            }
            out.begin(KIND_VPDQ, 0)?;
            for (h, _) in &g.frames {
                for w in h {
                    out.put(&w.to_be_bytes())?;
                }
            }
            let mut start = 0usize;
            out.put32(start)?;
            for (_, posts) in &g.frames {
                start += posts.len();
                out.put32(start)?;
            }
            out.end()?;
            out.begin(KIND_VPDQ_POSTINGS, 0)?;
            for (_, posts) in &g.frames {
                for &(v, q) in posts {
                    out.put32(v as usize)?;
                    out.put32(usize::from(q))?;
                }
            }
            out.end()?;
            if let Some(lengths) = self.vpdq_mih_plan(g.frames.len()) {
                let words: Vec<[u64; 4]> = g.frames.iter().map(|f| f.0).collect();
                write_mih(out, KIND_VPDQ_MIH, &words, &lengths)?;
            }
        }
        Ok(())
    }

    /// IMG64, per kind: the hashes (u64 values, little-endian), then their provenance
    /// groups; LIST_IMG: each list's counts.
    fn write_img<W: Write>(&mut self, out: &mut Sink<'_, W>) -> std::io::Result<()> {
        for k in self.img_kinds() {
            let recs = std::mem::take(&mut self.recs[img_slot(k)]);
            let width = pdq_group_width(recs.iter().map(|r| r.tag).max().unwrap_or(0));
            out.begin(KIND_IMG64, u32::from(k.id()) | ((width as u32) << 8))?;
            for r in &recs {
                out.put(&r.key[0].to_le_bytes())?;
            }
            for r in &recs {
                out.put(&r.tag.to_le_bytes()[..width])?;
            }
            out.end()?;
        }
        if self.needs_list_img() {
            out.begin(KIND_LIST_IMG, 0)?;
            out.put32(self.lists.len())?;
            for l in &self.lists {
                for n in l.img {
                    out.put(&n.to_le_bytes())?;
                }
            }
            out.end()?;
        }
        Ok(())
    }

    /// LIST_SOURCES (each list's file as read: size, SHA-256, when known) and ROLES.
    fn write_list_extras<W: Write>(&self, out: &mut Sink<'_, W>) -> std::io::Result<()> {
        if self.needs_sources() {
            out.begin(KIND_LIST_SOURCES, 0)?;
            out.put32(self.lists.len())?;
            for l in &self.lists {
                let (flags, d) = match &l.digest {
                    Some(d) => (1u64, *d),
                    None => (
                        0,
                        SourceDigest {
                            bytes: 0,
                            sha256: [0; 32],
                        },
                    ),
                };
                out.put(&flags.to_le_bytes())?;
                out.put(&d.bytes.to_le_bytes())?;
                out.put(&d.sha256)?;
            }
            out.end()?;
        }

        // ROLES.
        if self.needs_roles() {
            out.begin(KIND_ROLES, 0)?;
            out.put32(self.lists.len())?;
            for l in &self.lists {
                out.put32(role_code(l.role) as usize)?;
            }
            out.end()?;
        }
        Ok(())
    }

    /// BLOOM: each filter's parameters, then its bits as they are in its file.
    fn write_blooms<W: Write>(&self, out: &mut Sink<'_, W>) -> std::io::Result<()> {
        for (list, key, f) in &self.blooms {
            let p = f.params;
            out.begin(KIND_BLOOM, *list)?;
            out.put32(usize::from(key.algo.id()))?;
            out.put32(usize::from(key.upper))?;
            for v in [p.k, p.m, p.n, p.p.to_bits(), p.inserted] {
                out.put(&v.to_le_bytes())?;
            }
            out.put(f.bits())?;
            out.end()?;
        }
        Ok(())
    }
}

/// Writes the multi-index tables over `words` (sorted, distinct hashes as big-endian
/// words), one section of `kind` per table.
fn write_mih<W: Write>(
    out: &mut Sink<'_, W>,
    kind: u32,
    words: &[[u64; 4]],
    lengths: &[u32],
) -> std::io::Result<()> {
    let mut res = Ok(());
    mih::build(words, lengths, |i, bytes| {
        if res.is_ok() {
            res = out
                .begin(kind, i)
                .and_then(|()| out.put(&bytes))
                .and_then(|()| out.end());
        }
    });
    res
}

/// Writes the header at `origin` (its room was left at the start of the file): magic,
/// version, the section table `table`, the file length and the header's checksum; then leaves
/// `w` at the end of the file.
fn write_header<W: Write + Seek>(
    w: &mut W,
    origin: u64,
    version: u32,
    table: &[Section],
    file_len: u64,
) -> std::io::Result<()> {
    let nsections = table.len();
    let header_len = HEADER_FIXED + nsections * SECTION_ENTRY + 8;
    let mut h = Vec::with_capacity(header_len);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&version.to_le_bytes());
    h.extend_from_slice(&(nsections as u32).to_le_bytes());
    h.extend_from_slice(&file_len.to_le_bytes());
    h.extend_from_slice(&0u64.to_le_bytes());
    for s in table {
        h.extend_from_slice(&s.kind.to_le_bytes());
        h.extend_from_slice(&s.param.to_le_bytes());
        h.extend_from_slice(&s.offset.to_le_bytes());
        h.extend_from_slice(&s.len.to_le_bytes());
        h.extend_from_slice(&s.checksum.to_le_bytes());
    }
    let sum = xxhash_rust::xxh3::xxh3_64(&h);
    h.extend_from_slice(&sum.to_le_bytes());
    debug_assert_eq!(h.len(), header_len);
    w.seek(SeekFrom::Start(origin))?;
    w.write_all(&h)?;
    w.seek(SeekFrom::Start(origin + file_len))?;
    w.flush()?;
    Ok(())
}

/// The provenance groups made by [`IndexBuilder::group`].
struct Grouped {
    /// Start of each group in `pairs`, then the end of the last.
    starts: Vec<u32>,
    /// Pair ids, group after group.
    pairs: Vec<u32>,
    distinct: AlgoCounts,
    distinct_pdq: u64,
    distinct_img: [u64; 2],
    /// The distinct frame hashes of all known videos, sorted, each with its postings: (video
    /// number, best quality in that video), by video number.
    frames: Vec<FrameRow>,
}

/// The frame table of the known videos: every distinct frame hash with the videos holding it.
fn video_frames(videos: &[VideoRec]) -> Result<Vec<FrameRow>, IndexError> {
    if videos.len() >= u32::MAX as usize {
        return Err(IndexError::TooLarge(format!("{} videos", videos.len())));
    }
    let mut all: Vec<([u64; 4], u32, u8)> = videos
        .iter()
        .enumerate()
        .flat_map(|(i, v)| v.frames.iter().map(move |&(h, q)| (h, i as u32, q)))
        .collect();
    all.par_sort_unstable();
    let mut out: Vec<FrameRow> = Vec::new();
    for (h, v, q) in all {
        match out.last_mut() {
            Some((last, posts)) if *last == h => posts.push((v, q)),
            _ => out.push((h, vec![(v, q)])),
        }
    }
    let posts: usize = out.iter().map(|f| f.1.len()).sum();
    if out.len() >= u32::MAX as usize || posts >= u32::MAX as usize {
        return Err(IndexError::TooLarge(format!(
            "{} distinct vPDQ frame hashes in {} videos",
            out.len(),
            videos.len()
        )));
    }
    Ok(out)
}

/// Writes sections: each starts at a multiple of [`ALIGN`] from the file's start (zero
/// padding before it), and is hashed as it is written. Bytes are buffered and handed to the
/// writer and the hasher a megabyte at a time.
struct Sink<'w, W: Write> {
    w: &'w mut W,
    buf: Vec<u8>,
    /// Bytes from the file's start, buffered ones included.
    pos: u64,
    hasher: xxhash_rust::xxh3::Xxh3,
    /// The open section: kind, param, offset.
    open: Option<(u32, u32, u64)>,
    table: Vec<Section>,
}

/// Bytes buffered by a [`Sink`] before a write.
const SINK_BUF: usize = 1 << 20;

impl<'w, W: Write> Sink<'w, W> {
    fn new(w: &'w mut W) -> Self {
        Sink {
            w,
            buf: Vec::with_capacity(SINK_BUF),
            pos: 0,
            hasher: xxhash_rust::xxh3::Xxh3::new(),
            open: None,
            table: Vec::new(),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.open.is_some() {
            self.hasher.update(&self.buf);
        }
        self.w.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    fn put(&mut self, b: &[u8]) -> std::io::Result<()> {
        if self.buf.len() + b.len() > SINK_BUF {
            self.flush()?;
        }
        if b.len() >= SINK_BUF {
            if self.open.is_some() {
                self.hasher.update(b);
            }
            self.w.write_all(b)?;
        } else {
            self.buf.extend_from_slice(b);
        }
        self.pos += b.len() as u64;
        Ok(())
    }

    /// Appends a u32 (the callers have checked that `v` fits).
    fn put32(&mut self, v: usize) -> std::io::Result<()> {
        self.put(&(v as u32).to_le_bytes())
    }

    /// Pads to the next multiple of [`ALIGN`] and opens a section.
    fn begin(&mut self, kind: u32, param: u32) -> std::io::Result<()> {
        let pad = (ALIGN as u64 - self.pos % ALIGN as u64) % ALIGN as u64;
        self.put(&[0u8; ALIGN][..pad as usize])?;
        self.flush()?;
        self.hasher.reset();
        self.open = Some((kind, param, self.pos));
        Ok(())
    }

    /// Closes the open section.
    fn end(&mut self) -> std::io::Result<()> {
        self.flush()?;
        let (kind, param, offset) = self.open.take().unwrap_or_default();
        self.table.push(Section {
            kind,
            param,
            offset,
            len: self.pos - offset,
            checksum: self.hasher.digest(),
        });
        Ok(())
    }

    /// The section table and the file's length.
    fn finish(mut self) -> std::io::Result<(Vec<Section>, u64)> {
        self.flush()?;
        Ok((self.table, self.pos))
    }
}

/// Buckets for `rows` rows: [`LOAD`] rows per bucket on average, at least one bucket.
pub(super) fn bucket_count(rows: usize) -> usize {
    rows.div_ceil(LOAD).max(1)
}

/// True when the file at `path` starts like a DCSO Bloom filter. A pipe or a device (a list
/// given as `<(...)` or `/dev/stdin`) is never one: its first bytes, once read, are gone for
/// the list reader (which refuses a Bloom filter itself), and a filter is mapped, so it must
/// be a regular file.
fn is_bloom(path: &Path) -> Result<bool, IndexError> {
    use std::io::Read;
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Ok(false);
    }
    let io = |source| {
        IndexError::List(ListError::Io {
            path: path.to_owned(),
            source,
        })
    };
    let mut head = Vec::with_capacity(8);
    std::fs::File::open(path)
        .map_err(io)?
        .take(8)
        .read_to_end(&mut head)
        .map_err(io)?;
    Ok(bloom::sniff(&head))
}
