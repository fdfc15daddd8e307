//! Opening an index: the header and section table checked, then one parser per section
//! kind, each bounding what it reads (the big tables are only located here; their contents
//! are checked by [`Index::verify`]).

use std::ops::Range;
use std::path::Path;

use super::exact::Table;
use super::format::*;
use super::hamming::PdqTable;
use super::mih::Mih;
use super::video::{self, VideoTable};
use super::{BloomTable, Index, IndexError};
use crate::hash::Algo;
use crate::lists::bloom::{self, BloomKey, BloomParams};
use crate::lists::{ListFormat, SourceDigest};
use crate::perceptual::imghash::ImgKind;
use crate::read::Data;

impl Index {
    /// Opens an index held in `data` (a map or a buffer); `path` names it in errors. Checks
    /// the header and section table, then parses each section kind in turn.
    pub(crate) fn from_data(data: Data, path: &Path) -> Result<Index, IndexError> {
        let corrupt = |reason: String| IndexError::Corrupt {
            path: path.to_owned(),
            reason,
        };
        let (version, sections) = read_header(data.bytes(), path)?;
        let file = File {
            b: data.bytes(),
            sections: &sections,
            version,
        };
        let strings = file.strings().map_err(corrupt)?;
        let mut lists = file.lists(&strings).map_err(corrupt)?;
        let blooms = file.blooms(&lists).map_err(corrupt)?;
        let (groups, pairs, group_count) = file.provenance().map_err(corrupt)?;
        let tables = file.exact_tables().map_err(corrupt)?;
        let pdq = file.pdq().map_err(corrupt)?;
        let img = file.img().map_err(corrupt)?;
        file.list_extras(&mut lists).map_err(corrupt)?;
        let mih = Mih::open(
            file.b,
            file.of(KIND_PDQ_MIH)
                .map(|s| (s.param, s.range()))
                .collect(),
            pdq.as_ref().map_or(0, |t| t.rows),
        )
        .map_err(corrupt)?;
        let videos = VideoTable::open(file.b, &sections, version).map_err(corrupt)?;
        file.known_kinds(&tables).map_err(corrupt)?;
        Ok(Index {
            path: path.to_owned(),
            version,
            sections,
            strings,
            lists,
            groups,
            pairs,
            group_count,
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
}

/// Checks the header of the file `b` (magic, version, section count, header checksum, file
/// length) and reads its section table, every section within the file.
fn read_header(b: &[u8], path: &Path) -> Result<(u32, Vec<Section>), IndexError> {
    let corrupt = |reason: String| IndexError::Corrupt {
        path: path.to_owned(),
        reason,
    };
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
    Ok((version, sections))
}

/// A file being opened: its bytes, its section table (each section within the bytes) and
/// its format version. Each parser says what is wrong as a reason, which `from_data` turns
/// into [`IndexError::Corrupt`].
struct File<'a> {
    b: &'a [u8],
    sections: &'a [Section],
    version: u32,
}

impl<'a> File<'a> {
    /// The sections of `kind`, in table order.
    fn of(&self, kind: u32) -> impl Iterator<Item = &'a Section> {
        self.sections.iter().filter(move |s| s.kind == kind)
    }

    /// The one section of `kind`.
    fn one(&self, kind: u32, what: &str) -> Result<&'a Section, String> {
        let mut it = self.of(kind);
        match (it.next(), it.next()) {
            (Some(s), None) => Ok(s),
            _ => Err(format!("expected exactly one {what} section")),
        }
    }

    /// The section of `kind` if there is one; `refused` when there are two, or when the
    /// file's version is older than `since`.
    fn optional(
        &self,
        kind: u32,
        since: u32,
        refused: &str,
    ) -> Result<Option<&'a Section>, String> {
        let mut it = self.of(kind);
        match (it.next(), it.next()) {
            (None, _) => Ok(None),
            (Some(s), None) if self.version >= since => Ok(Some(s)),
            _ => Err(refused.to_string()),
        }
    }

    /// The bytes of `s`, once its checksum holds (the small sections are checked at open).
    fn checked(&self, s: &Section, what: &str) -> Result<&'a [u8], String> {
        let bytes = &self.b[s.range()];
        if xxhash_rust::xxh3::xxh3_64(bytes) != s.checksum {
            return Err(format!("{what} section checksum mismatch"));
        }
        Ok(bytes)
    }

    /// STRINGS.
    fn strings(&self) -> Result<Vec<Box<str>>, String> {
        let sb = self.checked(self.one(KIND_STRINGS, "strings")?, "strings")?;
        parse_strings(sb).map_err(|r| format!("strings section: {r}"))
    }

    /// LISTS, then ROLES (optional) into it.
    fn lists(&self, strings: &[Box<str>]) -> Result<Vec<ListRecord>, String> {
        let lb = self.checked(self.one(KIND_LISTS, "lists")?, "lists")?;
        let mut lists = parse_lists(lb, strings).map_err(|r| format!("lists section: {r}"))?;
        if let Some(rs) = self.optional(KIND_ROLES, OLDEST_VERSION, "two roles sections")? {
            parse_roles(self.checked(rs, "roles")?, &mut lists)
                .map_err(|r| format!("roles section: {r}"))?;
        }
        Ok(lists)
    }

    /// LIST_IMG and LIST_SOURCES (both optional) into `lists`.
    fn list_extras(&self, lists: &mut [ListRecord]) -> Result<(), String> {
        let what = "unexpected list image hash counts section";
        if let Some(ls) = self.optional(KIND_LIST_IMG, 4, what)? {
            parse_list_img(self.checked(ls, "list image hash counts")?, lists)
                .map_err(|r| format!("list image hash counts section: {r}"))?;
        }
        let what = "unexpected list sources section";
        if let Some(ss) = self.optional(KIND_LIST_SOURCES, 7, what)? {
            parse_list_sources(self.checked(ss, "list sources")?, lists)
                .map_err(|r| format!("list sources section: {r}"))?;
        }
        Ok(())
    }

    /// The Bloom filters: their headers, bounded (the bits are covered by `verify`); one for
    /// each list of format dcso-bloom, none for another.
    fn blooms(&self, lists: &[ListRecord]) -> Result<Vec<BloomTable>, String> {
        let mut blooms: Vec<BloomTable> = Vec::new();
        for s in self.of(KIND_BLOOM) {
            let r = s.range();
            let t = parse_bloom(&self.b[r.clone()], s.param, lists)
                .map_err(|e| format!("bloom section of list {}: {e}", s.param))?;
            if blooms.iter().any(|x| x.list == t.list) {
                return Err(format!("two bloom sections for list {}", s.param));
            }
            blooms.push(BloomTable {
                bits: r.start + BLOOM_HEADER..r.end,
                ..t
            });
        }
        if let Some(i) = (0..lists.len()).find(|&i| {
            lists[i].format == ListFormat::DcsoBloom && !blooms.iter().any(|b| b.list == i)
        }) {
            return Err(format!(
                "list {i} is a Bloom filter without its bloom section"
            ));
        }
        Ok(blooms)
    }

    /// PROVENANCE, the header only (the groups are checked by `verify`): the byte ranges of
    /// the group offsets and of the pairs, and the group count.
    fn provenance(&self) -> Result<(Range<usize>, Range<usize>, usize), String> {
        let pr = self.one(KIND_PROVENANCE, "provenance")?.range();
        let pb = &self.b[pr.clone()];
        let (g, p) = match (u32_at(pb, 0), u32_at(pb, 4)) {
            (Some(g), Some(p)) => (g as usize, p as usize),
            _ => return Err("provenance section truncated".into()),
        };
        let groups = pr.start + 8..pr.start + 8 + (g + 1) * 4;
        let pairs = groups.end..groups.end + p * 8;
        if pairs.end != pr.end {
            return Err(format!(
                "provenance section of {} bytes does not hold {g} groups and {p} pairs",
                pb.len()
            ));
        }
        Ok((groups, pairs, g))
    }

    /// The exact-digest tables: per algorithm, RECORDS and its one BUCKETS section.
    fn exact_tables(&self) -> Result<[Option<Table>; 4], String> {
        let mut tables: [Option<Table>; 4] = Default::default();
        for s in self.of(KIND_RECORDS) {
            let algo = Algo::from_id(s.param as u8)
                .filter(|_| s.param < 256)
                .ok_or_else(|| format!("records of unknown algorithm {}", s.param))?;
            let slot = &mut tables[usize::from(algo.id())];
            if slot.is_some() {
                return Err(format!("two {algo} record sections"));
            }
            *slot = Some(self.exact_table(algo, s.range())?);
        }
        Ok(tables)
    }

    /// The table of `algo` whose records are `recs`.
    fn exact_table(&self, algo: Algo, recs: Range<usize>) -> Result<Table, String> {
        let width = algo.len() + 4;
        if !recs.len().is_multiple_of(width) || recs.is_empty() {
            return Err(format!(
                "{algo} records: {} bytes is not a positive multiple of {width}",
                recs.len()
            ));
        }
        let rows = recs.len() / width;
        let mut bks = self
            .of(KIND_BUCKETS)
            .filter(|d| d.param == u32::from(algo.id()));
        let d = match (bks.next(), bks.next()) {
            (Some(d), None) => d,
            _ => return Err(format!("expected one {algo} bucket section")),
        };
        let bkts = d.range();
        if bkts.is_empty() || bkts.len() % BUCKET != 0 {
            return Err(format!(
                "{algo} buckets: {} bytes is not a positive multiple of {BUCKET}",
                bkts.len()
            ));
        }
        let buckets = bkts.len() / BUCKET;
        let first = u32_at(self.b, bkts.start);
        let last = u64_at(self.b, bkts.end - BUCKET).map(|h| (h & 0xFFFF_FFFF) + (h >> 32));
        if first != Some(0) || last != Some(rows as u64) || rows > u32::MAX as usize {
            return Err(format!("{algo} buckets do not span the {rows} records"));
        }
        Ok(Table {
            algo,
            buckets,
            bkts,
            recs,
            rows,
            width,
        })
    }

    /// The PDQ table (at most one).
    fn pdq(&self) -> Result<Option<PdqTable>, String> {
        let version = self.version;
        let mut pdq = None;
        for s in self.of(KIND_PDQ) {
            if pdq.is_some() {
                return Err("two PDQ sections".into());
            }
            let width = match (version, s.param) {
                (3.., 0 | 1 | 2 | 4) => s.param as usize,
                (..=2, 0) => 4,
                (_, w) => {
                    return Err(format!(
                        "PDQ section: provenance groups of {w} bytes in a version {version} file"
                    ))
                }
            };
            pdq = Some(
                hash_table(s.range(), PDQ_LEN, width).map_err(|e| format!("PDQ section: {e}"))?,
            );
        }
        Ok(pdq)
    }

    /// The tables of 64-bit image hashes (version 4 on), by kind id; at most one a kind.
    fn img(&self) -> Result<[Option<PdqTable>; 2], String> {
        let version = self.version;
        let mut img: [Option<PdqTable>; 2] = [None, None];
        for s in self.of(KIND_IMG64) {
            let kind = ImgKind::from_id((s.param & 0xFF) as u8)
                .filter(|_| version >= 4)
                .ok_or_else(|| {
                    format!(
                        "image hash section of unknown kind {} in a version {version} file",
                        s.param & 0xFF
                    )
                })?;
            let width = match s.param >> 8 {
                w @ (0 | 1 | 2 | 4) => w as usize,
                w => return Err(format!("{kind} section: provenance groups of {w} bytes")),
            };
            let t = hash_table(s.range(), IMG_LEN, width)
                .map_err(|e| format!("{kind} section: {e}"))?;
            let slot = &mut img[usize::from(kind.id())];
            if slot.is_some() {
                return Err(format!("two {kind} sections"));
            }
            *slot = Some(t);
        }
        Ok(img)
    }

    /// Refuses a section of a kind this vigie does not know (its tables might hold entries
    /// that a scan would then miss), and buckets without their records.
    fn known_kinds(&self, tables: &[Option<Table>; 4]) -> Result<(), String> {
        for s in self.sections {
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
                        return Err("buckets without records".into());
                    }
                }
                k => return Err(format!("unknown section kind {k}")),
            }
        }
        Ok(())
    }
}

/// A table of hashes of `len` bytes in the byte range `r`: the hashes, then their
/// provenance groups of `width` bytes each.
fn hash_table(r: Range<usize>, len: usize, width: usize) -> Result<PdqTable, String> {
    let row = len + width;
    if r.is_empty() || !r.len().is_multiple_of(row) {
        return Err(format!(
            "{} bytes is not a positive multiple of {row}",
            r.len()
        ));
    }
    let rows = r.len() / row;
    if rows > u32::MAX as usize {
        return Err(format!("{rows} rows"));
    }
    let split = r.start + rows * len;
    Ok(PdqTable {
        hashes: r.start..split,
        groups: split..r.end,
        width,
        rows,
    })
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
fn parse_lists(b: &[u8], strings: &[Box<str>]) -> Result<Vec<ListRecord>, String> {
    let n = u32_at(b, 0).ok_or("truncated")? as usize;
    if n.checked_mul(LIST_RECORD).and_then(|x| x.checked_add(4)) != Some(b.len()) {
        return Err(format!("{} bytes for {n} lists", b.len()));
    }
    b[4..]
        .chunks_exact(LIST_RECORD)
        .filter_map(|r| r.first_chunk::<LIST_RECORD>())
        .map(|r| {
            // The format is informational: a code this vigie does not know stays as it is.
            let l = ListRecord::decode(r);
            for id in [l.name, l.label, l.source] {
                if strings.get(id as usize).is_none() {
                    return Err(format!("string id {id} out of range"));
                }
            }
            Ok(l)
        })
        .collect()
}

/// Parses the ROLES section into the lists' roles.
fn parse_roles(b: &[u8], lists: &mut [ListRecord]) -> Result<(), String> {
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
fn parse_list_img(b: &[u8], lists: &mut [ListRecord]) -> Result<(), String> {
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
fn parse_list_sources(b: &[u8], lists: &mut [ListRecord]) -> Result<(), String> {
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
fn parse_bloom(b: &[u8], param: u32, lists: &[ListRecord]) -> Result<BloomTable, String> {
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
