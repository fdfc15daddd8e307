//! Building an index: lists are read into per-algorithm (and PDQ) record vectors, which are
//! sorted, deduplicated and written in the v1 layout described in the module documentation.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::slice::ParallelSliceMut;
use serde::Serialize;

use super::{
    format_code, mih, place, AlgoCounts, Index, IndexError, ALIGN, BUCKET, HEADER_FIXED,
    KIND_BUCKETS, KIND_LISTS, KIND_PDQ, KIND_PDQ_MIH, KIND_PROVENANCE, KIND_RECORDS, KIND_STRINGS,
    LIST_RECORD, LOAD, MAGIC, MAX_BITS, MAX_PROBLEMS, PDQ_ROW, SECTION_ENTRY, SLOTS, VERSION,
};
use crate::hash::{Algo, Digest};
use crate::lists::{read_list_as, ListFormat, ListHash, ListType};
use crate::perceptual::pdq::PdqHash;

/// The record vector of PDQ hashes, after the four exact algorithms'.
const PDQ: usize = 4;
use crate::read::Data;

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
    /// never guessed from the length).
    pub algo: Option<ListType>,
    /// The list's format, when detection from the content must be overridden.
    pub format: Option<ListFormat>,
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
    pub format: ListFormat,
    /// Digests read per algorithm (duplicates included).
    pub entries: AlgoCounts,
    /// PDQ hashes read (duplicates included).
    pub pdq: u64,
    /// Malformed lines.
    pub malformed: u64,
    /// The first [`MAX_PROBLEMS`] malformed lines as `LIST:LINE: reason`.
    pub problems: Vec<String>,
    /// Remarks about the whole list (e.g. skipped hashdeep columns).
    pub notes: Vec<String>,
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

    /// Appends the first `len` digest bytes.
    fn put_key(&self, out: &mut Vec<u8>, len: usize) {
        let mut b = [0u8; 32];
        for (c, k) in b.chunks_mut(8).zip(self.key) {
            c.copy_from_slice(&k.to_be_bytes());
        }
        out.extend_from_slice(&b[..len]);
    }
}

/// A list as recorded in the index.
#[derive(Clone, Debug)]
struct ListRow {
    name: u32,
    label: u32,
    source: u32,
    format: ListFormat,
    malformed: u64,
    entries: AlgoCounts,
    pdq: u64,
}

/// Collects lists and writes an index.
#[derive(Debug, Default)]
pub struct IndexBuilder {
    strings: Vec<String>,
    string_ids: HashMap<String, u32>,
    lists: Vec<ListRow>,
    /// (list index, label string) of each distinct (name, label).
    pairs: Vec<(u32, u32)>,
    pair_ids: HashMap<(u32, u32), u32>,
    /// Records per algorithm id, then PDQ.
    recs: [Vec<Rec>; 5],
    bits: Option<u32>,
    pdq_search: PdqSearch,
}

/// How an index searches its PDQ hashes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PdqSearch {
    /// Multi-index tables when the list is large enough for them to pay (16,384 hashes or
    /// more), with substrings of about log2(n) bits.
    #[default]
    Auto,
    /// No tables: every search scans the PDQ hashes (36 bytes per hash in all).
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

    /// Chooses how the PDQ hashes will be searched (default [`PdqSearch::Auto`]).
    pub fn set_pdq_search(&mut self, search: PdqSearch) {
        self.pdq_search = search;
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

    fn forget_pair(&mut self, name: u32, label: u32) {
        self.pairs.pop();
        self.pair_ids.remove(&(name, label));
    }

    /// Reads the list of `spec` and adds its digests. With `strict`, a malformed line is an
    /// error and the list is not added.
    ///
    /// # Errors
    /// [`IndexError::List`] when the list cannot be read, [`IndexError::Malformed`] for the
    /// first bad line under `strict`, [`IndexError::TooLarge`] beyond format limits.
    pub fn add_list(&mut self, spec: &ListSpec, strict: bool) -> Result<ListReport, IndexError> {
        let name = spec.name.clone().unwrap_or_else(|| spec.stem());
        let label = spec.label.clone().unwrap_or_else(|| spec.stem());
        let source = spec.path.display().to_string();
        self.check_room()?;
        let (name_id, label_id, source_id) = (
            self.string(&name),
            self.string(&label),
            self.string(&source),
        );
        let (pair, new_pair) = self.pair(name_id, label_id);
        let before = self.recs.each_ref().map(Vec::len);

        let mut entries = AlgoCounts::default();
        let mut pdq = 0u64;
        let mut malformed = 0u64;
        let mut problems = Vec::new();
        let mut first_problem = None;
        // Labels entries carry, tagged u32::MAX - k until they get pair ids.
        let mut own_labels: Vec<String> = Vec::new();
        let mut own_ids: HashMap<String, u32> = HashMap::new();
        let recs = &mut self.recs;
        let summary = read_list_as(
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
        let fail = match (summary, first_problem) {
            (Err(e), _) => Err(IndexError::List(e)),
            (Ok(_), Some(p)) if strict => Err(IndexError::Malformed {
                list: spec.path.clone(),
                line: p.line,
                reason: p.reason,
            }),
            (Ok(s), _) => Ok(s),
        };
        let summary = match fail {
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
        }
        self.lists.push(ListRow {
            name: name_id,
            label: label_id,
            source: source_id,
            format: summary.format,
            malformed,
            entries,
            pdq,
        });
        Ok(ListReport {
            name,
            label,
            path: source,
            format: summary.format,
            entries,
            pdq,
            malformed,
            problems,
            notes: summary.notes,
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

    /// Like [`IndexBuilder::add_digests`], for exact digests and PDQ hashes.
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
            }
        }
        self.lists.push(ListRow {
            name: name_id,
            label: label_id,
            source: source_id,
            format: ListFormat::Plain,
            malformed: 0,
            entries,
            pdq,
        });
        Ok(ListReport {
            name: name.to_owned(),
            label: label.to_owned(),
            path: source.to_owned(),
            format: ListFormat::Plain,
            entries,
            pdq,
            malformed: 0,
            problems: Vec::new(),
            notes: Vec::new(),
        })
    }

    fn check_room(&self) -> Result<(), IndexError> {
        if self.lists.len() >= u32::MAX as usize / 2 {
            return Err(IndexError::TooLarge("too many lists".into()));
        }
        Ok(())
    }

    /// Writes the index to `path` atomically: to a temporary file in the same directory,
    /// flushed to disk, then renamed over `path`.
    ///
    /// # Errors
    /// [`IndexError::Io`] when writing fails, [`IndexError::TooLarge`] beyond format limits.
    pub fn write(self, path: &Path) -> Result<IndexStats, IndexError> {
        let (bytes, base, stats) = self.serialize()?;
        let io = |source| IndexError::Io {
            path: path.to_owned(),
            source,
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".vigie-index-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(io)?;
        tmp.write_all(&bytes[base..]).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
                .map_err(io)?;
        }
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        Ok(stats)
    }

    /// Builds the same bytes as [`IndexBuilder::write`] in memory and opens them, for a scan
    /// against lists that were never compiled to a file.
    ///
    /// # Errors
    /// [`IndexError::TooLarge`] beyond format limits.
    pub fn into_index(self) -> Result<Index, IndexError> {
        let (bytes, base, _) = self.serialize()?;
        let len = bytes.len();
        let data = Data::from_vec(bytes)
            .slice(base..len)
            .unwrap_or_else(|| unreachable!("base <= len"));
        Index::from_data(data, Path::new("(in-memory index)"))
    }

    /// Sorts, deduplicates and groups the records, then lays the file out: returns a buffer
    /// holding the file from byte `base` on, `base` chosen so that the file starts at a
    /// 64-byte aligned address (a bucket is then one cache line in memory too), and the stats.
    fn serialize(mut self) -> Result<(Vec<u8>, usize, IndexStats), IndexError> {
        // Group ids: one per distinct sorted set of pair ids.
        let mut single: Vec<u32> = vec![u32::MAX; self.pairs.len()];
        let mut multi: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut group_starts: Vec<u32> = vec![0];
        let mut group_pairs: Vec<u32> = Vec::new();
        let mut distinct = AlgoCounts::default();
        let mut distinct_pdq = 0u64;
        for (slot, recs) in self.recs.iter_mut().enumerate() {
            let what = Algo::from_id(slot as u8).map_or("pdq", Algo::name);
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
                        single[p] = (group_starts.len() - 1) as u32;
                        group_pairs.push(recs[i].tag);
                        group_starts.push(group_pairs.len() as u32);
                    }
                    single[p]
                } else {
                    set.clear();
                    set.extend(recs[i..j].iter().map(|r| r.tag));
                    match multi.get(&set) {
                        Some(&g) => g,
                        None => {
                            let g = (group_starts.len() - 1) as u32;
                            group_pairs.extend_from_slice(&set);
                            group_starts.push(group_pairs.len() as u32);
                            multi.insert(set.clone(), g);
                            g
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
            match Algo::from_id(slot as u8) {
                Some(algo) => distinct.add(algo, w as u64),
                None => distinct_pdq = w as u64,
            }
        }
        if group_pairs.len() >= u32::MAX as usize {
            return Err(IndexError::TooLarge("too many provenance pairs".into()));
        }

        let forced = self.bits;
        let buckets_for = |rows: usize| forced.map_or_else(|| bucket_count(rows), |b| 1 << b);
        let algos: Vec<Algo> = Algo::ALL
            .into_iter()
            .filter(|a| !self.recs[usize::from(a.id())].is_empty())
            .collect();
        let pdq_rows = self.recs[PDQ].len();
        let mih_plan = match self.pdq_search {
            _ if pdq_rows == 0 => None,
            PdqSearch::Auto => mih::plan(pdq_rows, None),
            PdqSearch::Linear => None,
            PdqSearch::Tables(m) => mih::plan(pdq_rows, Some(m)),
        };
        let mih_tables = mih_plan.as_ref().map_or(0, Vec::len);
        let nsections = 3 + 2 * algos.len() + usize::from(pdq_rows > 0) + mih_tables;
        let header_len = HEADER_FIXED + nsections * SECTION_ENTRY + 8;
        let tables: usize = algos
            .iter()
            .map(|a| {
                let rows = self.recs[usize::from(a.id())].len();
                rows * (a.len() + 4) + buckets_for(rows) * BUCKET + 2 * ALIGN
            })
            .sum::<usize>()
            + pdq_rows * PDQ_ROW
            + mih_plan
                .as_ref()
                .map_or(0, |l| mih::section_bytes(pdq_rows, l))
            + ALIGN;
        let small = 8 * self.strings.len()
            + self.strings.iter().map(String::len).sum::<usize>()
            + LIST_RECORD * self.lists.len()
            + 4 * group_starts.len()
            + 8 * group_pairs.len()
            + 4 * ALIGN;
        let mut out: Vec<u8> = Vec::with_capacity(ALIGN + header_len + tables + small);
        let base = (ALIGN - out.as_ptr() as usize % ALIGN) % ALIGN;
        out.resize(base + header_len, 0);
        let mut table: Vec<(u32, u32, usize, usize)> = Vec::with_capacity(nsections);
        // Returns the absolute index in `out` of the next section, aligned relative to `base`.
        let begin = |out: &mut Vec<u8>| {
            let pad = (ALIGN - (out.len() - base) % ALIGN) % ALIGN;
            out.resize(out.len() + pad, 0);
            out.len()
        };

        // STRINGS.
        let start = begin(&mut out);
        let text_len: usize = self.strings.iter().map(String::len).sum();
        if text_len >= u32::MAX as usize {
            return Err(IndexError::TooLarge("string table over 4 GiB".into()));
        }
        put32(&mut out, self.strings.len());
        put32(&mut out, 0);
        let mut end = 0;
        for s in &self.strings {
            end += s.len();
            put32(&mut out, end);
        }
        for s in &self.strings {
            out.extend_from_slice(s.as_bytes());
        }
        table.push((KIND_STRINGS, 0, start, out.len() - start));

        // LISTS.
        let start = begin(&mut out);
        put32(&mut out, self.lists.len());
        for l in &self.lists {
            let at = out.len();
            put32(&mut out, l.name as usize);
            put32(&mut out, l.label as usize);
            put32(&mut out, l.source as usize);
            put32(&mut out, format_code(l.format) as usize);
            out.extend_from_slice(&l.malformed.to_le_bytes());
            for e in l.entries.0 {
                out.extend_from_slice(&e.to_le_bytes());
            }
            out.extend_from_slice(&l.pdq.to_le_bytes());
            debug_assert_eq!(out.len() - at, LIST_RECORD);
        }
        table.push((KIND_LISTS, 0, start, out.len() - start));

        // PROVENANCE.
        let start = begin(&mut out);
        put32(&mut out, group_starts.len() - 1);
        put32(&mut out, group_pairs.len());
        for &s in &group_starts {
            put32(&mut out, s as usize);
        }
        for &p in &group_pairs {
            let (list, label) = self.pairs[p as usize];
            put32(&mut out, list as usize);
            put32(&mut out, label as usize);
        }
        table.push((KIND_PROVENANCE, 0, start, out.len() - start));

        // Per algorithm: BUCKETS then RECORDS.
        for &algo in &algos {
            let recs = std::mem::take(&mut self.recs[usize::from(algo.id())]);
            let buckets = buckets_for(recs.len());
            let start = begin(&mut out);
            let mut row = 0usize;
            for b in 0..buckets {
                let first = row;
                while row < recs.len() && place(recs[row].key[0], buckets).0 == b {
                    row += 1;
                }
                put32(&mut out, first);
                put32(&mut out, row - first);
                for j in 0..SLOTS {
                    let fp = recs[first..row].get(j).map_or(0, |r| r.key[1]);
                    // Digest bytes 8..16, as they are in the digest.
                    out.extend_from_slice(&fp.to_be_bytes());
                }
            }
            table.push((KIND_BUCKETS, u32::from(algo.id()), start, out.len() - start));
            let start = begin(&mut out);
            for r in &recs {
                r.put_key(&mut out, algo.len());
                out.extend_from_slice(&r.tag.to_le_bytes());
            }
            table.push((KIND_RECORDS, u32::from(algo.id()), start, out.len() - start));
        }

        // PDQ: the hashes, contiguous, then their provenance groups; then the multi-index
        // tables over them.
        if pdq_rows > 0 {
            let recs = std::mem::take(&mut self.recs[PDQ]);
            let start = begin(&mut out);
            for r in &recs {
                r.put_key(&mut out, 32);
            }
            for r in &recs {
                out.extend_from_slice(&r.tag.to_le_bytes());
            }
            table.push((KIND_PDQ, 0, start, out.len() - start));
            if let Some(lengths) = &mih_plan {
                let words: Vec<[u64; 4]> = recs.iter().map(|r| r.key).collect();
                drop(recs);
                mih::build(&words, lengths, |i, bytes| {
                    let start = begin(&mut out);
                    out.extend_from_slice(&bytes);
                    table.push((KIND_PDQ_MIH, i, start, bytes.len()));
                });
            }
        }

        // Header.
        let file_len = (out.len() - base) as u64;
        let mut h = Vec::with_capacity(header_len);
        h.extend_from_slice(MAGIC);
        h.extend_from_slice(&VERSION.to_le_bytes());
        h.extend_from_slice(&(nsections as u32).to_le_bytes());
        h.extend_from_slice(&file_len.to_le_bytes());
        h.extend_from_slice(&0u64.to_le_bytes());
        for &(kind, param, start, len) in &table {
            h.extend_from_slice(&kind.to_le_bytes());
            h.extend_from_slice(&param.to_le_bytes());
            h.extend_from_slice(&((start - base) as u64).to_le_bytes());
            h.extend_from_slice(&(len as u64).to_le_bytes());
            let sum = xxhash_rust::xxh3::xxh3_64(&out[start..start + len]);
            h.extend_from_slice(&sum.to_le_bytes());
        }
        let sum = xxhash_rust::xxh3::xxh3_64(&h);
        h.extend_from_slice(&sum.to_le_bytes());
        debug_assert_eq!(h.len(), header_len);
        out[base..base + header_len].copy_from_slice(&h);

        let stats = IndexStats {
            bytes: file_len,
            lists: self.lists.len(),
            distinct,
            distinct_pdq,
            provenance_groups: (group_starts.len() - 1) as u64,
        };
        Ok((out, base, stats))
    }
}

/// Appends a u32 (the callers have checked that `v` fits).
fn put32(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&(v as u32).to_le_bytes());
}

/// Buckets for `rows` rows: [`LOAD`] rows per bucket on average, at least one bucket.
pub(super) fn bucket_count(rows: usize) -> usize {
    rows.div_ceil(LOAD).max(1)
}
