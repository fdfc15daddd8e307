//! The text formats: one bounded record loop ([`read_lines`]) and one small parser a format
//! ([`Records`]), each owning what its format carries from one record to the next (hashdeep's
//! column layout, a CSV header, X-Ways' stated type, a vPDQ frame file's frames).
//!
//! The loop reads records of at most `max_line` bytes (longer ones are reported and skipped
//! without being buffered whole), counts them, drops the line end, a CR, the BOM of the first
//! line and blank lines, and hands the rest to the format's parser. The parsers' shared
//! helpers (hex, coreutils names, ThreatExchange signals) stay in `mod.rs`; the CSV formats'
//! field splitting is in `csv_rows.rs`, NSRL's header layout in `nsrl.rs`.

use std::borrow::Cow;
use std::io::BufRead;
use std::path::Path;

use super::csv_rows::{TeCsv, TeLegacy};
use super::nsrl::NsrlText;
use super::{
    parse_coreutils, parse_hex, parse_pdq_hasher, parse_signal, quote, read_record, split_te_print,
    te_category, te_legacy_type, typeless_te_kind, vpdq, xways_header, ListEntry, ListFormat,
    ListHash, ListProblem, ListSummary, ListType, ReadError,
};
use crate::hash::Algo;

/// One record of a text list, as the loop hands it to a parser.
pub(super) struct Record<'r> {
    /// 1-based line (or NUL-terminated record) number.
    pub(super) line: u64,
    /// The record without its terminator, CR or first-line BOM.
    pub(super) rec: &'r [u8],
    /// `rec` without surrounding ASCII whitespace: empty only while a record is
    /// [`pending`](Records::pending).
    pub(super) trimmed: &'r [u8],
}

/// Where a parser puts what it reads: entries, problems (by line) and whole-file notes.
pub(super) struct Out<'o> {
    on_entry: &'o mut dyn FnMut(ListEntry<'_>),
    on_problem: &'o mut dyn FnMut(ListProblem),
    /// [`ListSummary::notes`].
    pub(super) notes: &'o mut Vec<String>,
}

impl<'o> Out<'o> {
    /// The sinks of one read.
    pub(super) fn new(
        on_entry: &'o mut dyn FnMut(ListEntry<'_>),
        on_problem: &'o mut dyn FnMut(ListProblem),
        notes: &'o mut Vec<String>,
    ) -> Self {
        Out {
            on_entry,
            on_problem,
            notes,
        }
    }

    /// One entry.
    pub(super) fn entry(&mut self, e: ListEntry<'_>) {
        (self.on_entry)(e);
    }

    /// One problem at `line`.
    pub(super) fn problem(&mut self, line: u64, reason: String) {
        (self.on_problem)(ListProblem { line, reason });
    }

    /// The entry, or the problem that stood in its way.
    pub(super) fn parsed(&mut self, line: u64, r: Result<ListEntry<'_>, String>) {
        match r {
            Ok(e) => self.entry(e),
            Err(reason) => self.problem(line, reason),
        }
    }
}

/// A text format's parser.
pub(super) trait Records {
    /// Reads one record. An `Err` is a reason the whole list cannot be read (a broken
    /// header), given with its line; a bad record is a problem in `out` instead.
    fn record(&mut self, r: Record<'_>, out: &mut Out<'_>) -> Result<(), String>;

    /// True while a record spans lines (a CSV field quoted over a line feed): blank lines are
    /// then part of it, not skipped.
    fn pending(&self) -> bool {
        false
    }

    /// After the last record.
    fn finish(&mut self, _out: &mut Out<'_>) -> Result<(), String> {
        Ok(())
    }
}

/// The parser of text format `format`.
///
/// # Errors
/// Why a list in that format cannot be read with these options (a legacy ThreatExchange file
/// whose name gives no type, a vPDQ frame file declared as something else).
pub(super) fn parser(
    format: ListFormat,
    declared: Option<ListType>,
    nul: bool,
    path: &Path,
) -> Result<Box<dyn Records>, String> {
    Ok(match format {
        ListFormat::Plain => Box::new(Plain { declared }),
        ListFormat::Coreutils => Box::new(Coreutils { declared, nul }),
        ListFormat::Hashdeep => Box::new(Hashdeep {
            declared,
            cols: Vec::new(),
            noted: Vec::new(),
        }),
        ListFormat::ThreatExchange => Box::new(TeLines { declared }),
        ListFormat::TeDataset => Box::new(TeCsv::new(declared)),
        ListFormat::Nsrl => Box::new(NsrlText::new(declared)),
        ListFormat::TeLegacy => {
            let te_type = te_legacy_type(path);
            if te_type.is_none() && declared.is_none() {
                return Err(
                    "a legacy ThreatExchange list names its indicator type in its file name \
                     (simple.HASH_PDQ.te, or HMA v1's pdq.csv, video_md5.csv, photo_md5.csv); \
                     this name does not (or names a type vigie does not match): declare the \
                     type (--type)"
                        .into(),
                );
            }
            Box::new(TeLegacy::new(te_type, declared))
        }
        ListFormat::PdqHasher => Box::new(PdqHasherCsv { declared }),
        ListFormat::XWays => Box::new(XWays {
            declared,
            stated: None,
        }),
        ListFormat::VpdqFrames => {
            if declared.is_some_and(|d| d != ListType::Vpdq) {
                return Err(format!(
                    "a {format} file holds one video's vpdq frames, not the {} declared",
                    declared.map_or_else(String::new, |d| d.to_string())
                ));
            }
            Box::new(VpdqFrames {
                frames: vpdq::FramesFile::default(),
                name: path
                    .file_stem()
                    .map(|s| crate::model::os_bytes(s).into_owned()),
            })
        }
        ListFormat::Rdsv3
        | ListFormat::EnCase
        | ListFormat::Vics
        | ListFormat::Tcap
        | ListFormat::StopNcii
        | ListFormat::DcsoBloom => {
            return Err(format!("{format} is not a text format"));
        }
    })
}

/// Reads every record of `reader` (ended by `sep`, at most `max_line` bytes each) into
/// `parser`, counting them in `summary.lines`.
///
/// # Errors
/// [`ReadError::Io`] from the reader, [`ReadError::Format`] from the parser.
pub(super) fn read_lines(
    reader: &mut impl BufRead,
    sep: u8,
    max_line: usize,
    parser: &mut dyn Records,
    summary: &mut ListSummary,
    on_entry: &mut dyn FnMut(ListEntry<'_>),
    on_problem: &mut dyn FnMut(ListProblem),
) -> Result<(), ReadError> {
    let nul = sep == b'\0';
    let mut out = Out::new(on_entry, on_problem, &mut summary.notes);
    let mut buf = Vec::with_capacity(256);
    loop {
        buf.clear();
        let (n, too_long) = read_record(reader, sep, &mut buf, max_line).map_err(ReadError::Io)?;
        if n == 0 {
            break;
        }
        summary.lines += 1;
        let line = summary.lines;
        if too_long {
            out.problem(
                line,
                format!(
                    "record longer than {} MiB (not a hash list line; skipped): {}",
                    max_line >> 20,
                    quote(&buf)
                ),
            );
            continue;
        }
        let mut rec: &[u8] = &buf;
        if rec.last() == Some(&sep) {
            rec = &rec[..rec.len() - 1];
        }
        if line == 1 {
            rec = rec.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(rec);
        }
        if nul {
            // A line feed between NUL-terminated records is not part of the next one.
            while let [b'\n' | b'\r', rest @ ..] = rec {
                rec = rest;
            }
        } else if rec.last() == Some(&b'\r') {
            rec = &rec[..rec.len() - 1];
        }
        let trimmed = rec.trim_ascii();
        if trimmed.is_empty() && !parser.pending() {
            continue;
        }
        parser
            .record(Record { line, rec, trimmed }, &mut out)
            .map_err(ReadError::Format)?;
    }
    parser.finish(&mut out).map_err(ReadError::Format)
}

/// The `line N: ` prefix of a header error.
pub(super) fn at_line(line: u64, reason: impl std::fmt::Display) -> String {
    format!("line {line}: {reason}")
}

/// A label a list gives as bytes, as text.
pub(super) fn label(bytes: &[u8]) -> Cow<'static, str> {
    Cow::Owned(String::from_utf8_lossy(bytes).into_owned())
}

/// [`ListFormat::Plain`]: one hash per line, `#` comments.
struct Plain {
    declared: Option<ListType>,
}

impl Records for Plain {
    fn record(&mut self, r: Record<'_>, out: &mut Out<'_>) -> Result<(), String> {
        if r.trimmed.starts_with(b"#") {
            return Ok(());
        }
        // An inline comment after the hash is allowed: `#` is never part of hex.
        let tok = match r.trimmed.iter().position(|&b| b == b'#') {
            Some(i) => r.trimmed[..i].trim_ascii_end(),
            None => r.trimmed,
        };
        if let Some(i) = tok.iter().position(|b| b.is_ascii_whitespace()) {
            out.problem(
                r.line,
                format!("text after the hash in a plain list: {}", quote(&tok[i..])),
            );
            return Ok(());
        }
        let parsed = parse_hex(tok, None, self.declared).map(|h| ListEntry::new(h, r.line));
        out.parsed(r.line, parsed);
        Ok(())
    }
}

/// [`ListFormat::Coreutils`]: `hex  name` and its variants.
struct Coreutils {
    declared: Option<ListType>,
    /// NUL-terminated records, whose names are not escaped.
    nul: bool,
}

impl Records for Coreutils {
    fn record(&mut self, r: Record<'_>, out: &mut Out<'_>) -> Result<(), String> {
        if r.trimmed.starts_with(b"#") {
            return Ok(());
        }
        let parsed = parse_coreutils(r.rec, !self.nul, self.declared)
            .map(|(hash, name)| ListEntry::new(hash, r.line).with_name(name));
        out.parsed(r.line, parsed);
        Ok(())
    }
}

/// [`ListFormat::ThreatExchange`]: `<signal_type> <value>` lines.
struct TeLines {
    declared: Option<ListType>,
}

impl Records for TeLines {
    fn record(&mut self, r: Record<'_>, out: &mut Out<'_>) -> Result<(), String> {
        let t = r.trimmed;
        if t.starts_with(b"#") {
            return Ok(());
        }
        let end = t
            .iter()
            .position(u8::is_ascii_whitespace)
            .unwrap_or(t.len());
        let (kind, rest) = (&t[..end], t[end..].trim_ascii_start());
        // `dataset -P -s TYPE`: the hash first, its type left out.
        if let (Some(implied), false) = (typeless_te_kind(kind, self.declared), rest.is_empty()) {
            let parsed = te_category(rest).and_then(|category| {
                parse_signal(implied, kind, self.declared)
                    .map(|hash| ListEntry::new(hash, r.line).with_label(Some(label(category))))
            });
            out.parsed(r.line, parsed);
            return Ok(());
        }
        let parsed = split_te_print(kind, rest).and_then(|(value, category)| {
            parse_signal(kind, value, self.declared)
                .map(|hash| ListEntry::new(hash, r.line).with_label(category.map(label)))
        });
        out.parsed(r.line, parsed);
        Ok(())
    }
}

/// [`ListFormat::PdqHasher`]: the PDQ reference CLI's `hash,quality,filename` lines.
struct PdqHasherCsv {
    declared: Option<ListType>,
}

impl Records for PdqHasherCsv {
    fn record(&mut self, r: Record<'_>, out: &mut Out<'_>) -> Result<(), String> {
        let parsed = parse_pdq_hasher(r.rec, self.declared).map(|(hash, quality, name)| {
            ListEntry::new(hash, r.line)
                .with_name(name.map(Cow::Borrowed))
                .with_quality(Some(quality))
        });
        out.parsed(r.line, parsed);
        Ok(())
    }
}

/// [`ListFormat::XWays`]: a line naming the type, then one hash per line.
struct XWays {
    declared: Option<ListType>,
    /// The type the header line names, once read.
    stated: Option<ListType>,
}

impl Records for XWays {
    fn record(&mut self, r: Record<'_>, out: &mut Out<'_>) -> Result<(), String> {
        let Some(stated) = self.stated else {
            self.stated = Some(xways_header(r.trimmed).ok_or_else(|| {
                at_line(
                    r.line,
                    format!(
                        "an X-Ways hash set starts with a line naming its type (MD5, SHA-1, \
                         SHA-256), not {}",
                        quote(r.trimmed)
                    ),
                )
            })?);
            return Ok(());
        };
        let parsed =
            parse_hex(r.trimmed, Some(stated), self.declared).map(|h| ListEntry::new(h, r.line));
        out.parsed(r.line, parsed);
        Ok(())
    }
}

/// [`ListFormat::VpdqFrames`]: one video's frames, one entry at the end.
struct VpdqFrames {
    frames: vpdq::FramesFile,
    /// The file's stem, which names the video.
    name: Option<Vec<u8>>,
}

impl Records for VpdqFrames {
    fn record(&mut self, r: Record<'_>, out: &mut Out<'_>) -> Result<(), String> {
        if let Err(reason) = self.frames.line(r.trimmed, r.line) {
            out.problem(r.line, reason);
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Out<'_>) -> Result<(), String> {
        let frames = std::mem::take(&mut self.frames);
        let line = frames.first_line;
        if let Some(frames) = frames.finish() {
            out.entry(
                ListEntry::new(ListHash::Vpdq(frames), line)
                    .with_name(self.name.take().map(Cow::Owned)),
            );
        }
        Ok(())
    }
}

/// A column of a hashdeep file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    Size,
    Name,
    Hash(Algo),
    Skip,
}

/// [`ListFormat::Hashdeep`]: the column layout of the file being read (a concatenation of
/// hashdeep files repeats its header, so the layout may change in the middle).
struct Hashdeep {
    declared: Option<ListType>,
    cols: Vec<Col>,
    /// Skipped columns already noted.
    noted: Vec<String>,
}

impl Records for Hashdeep {
    fn record(&mut self, r: Record<'_>, out: &mut Out<'_>) -> Result<(), String> {
        if r.trimmed.starts_with(b"%%%%") {
            return self
                .header(r.trimmed, out.notes)
                .map_err(|reason| at_line(r.line, reason));
        }
        if !r.trimmed.starts_with(b"#") {
            self.data(r.rec, r.line, out);
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Out<'_>) -> Result<(), String> {
        if self.cols.is_empty() {
            return Err("hashdeep file without its `%%%% size,...,filename` column header".into());
        }
        Ok(())
    }
}

impl Hashdeep {
    /// Reads a `%%%%` line.
    fn header(&mut self, line: &[u8], notes: &mut Vec<String>) -> Result<(), String> {
        let rest = line[4..].trim_ascii();
        if let Some(v) = rest.strip_prefix(b"HASHDEEP-") {
            if v != b"1.0" {
                return Err(format!("unsupported hashdeep format version {}", quote(v)));
            }
            return Ok(());
        }
        let names: Vec<&[u8]> = rest.split(|&b| b == b',').collect();
        if names.first() != Some(&&b"size"[..]) || names.last() != Some(&&b"filename"[..]) {
            return Err(format!(
                "hashdeep column header must start with 'size' and end with 'filename': {}",
                quote(line)
            ));
        }
        let mut cols = Vec::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            let col = if i == 0 {
                Col::Size
            } else if i == names.len() - 1 {
                Col::Name
            } else {
                match n.to_ascii_lowercase().as_slice() {
                    b"md5" => Col::Hash(Algo::Md5),
                    b"sha1" | b"sha-1" => Col::Hash(Algo::Sha1),
                    b"sha256" | b"sha-256" => Col::Hash(Algo::Sha256),
                    other => {
                        let name = String::from_utf8_lossy(other).into_owned();
                        if !self.noted.contains(&name) {
                            notes.push(format!(
                                "hashdeep column '{name}' skipped: vigie does not compute {name}"
                            ));
                            self.noted.push(name);
                        }
                        Col::Skip
                    }
                }
            };
            cols.push(col);
        }
        if let Some(d) = self.declared {
            let ListType::Exact(d) = d else {
                return Err(format!(
                    "{d} was declared but a hashdeep file holds no {d} hashes"
                ));
            };
            if !cols.contains(&Col::Hash(d)) {
                return Err(format!(
                    "{d} was declared but the hashdeep file has no {d} column"
                ));
            }
            for c in &mut cols {
                if matches!(c, Col::Hash(a) if *a != d) {
                    *c = Col::Skip;
                }
            }
        }
        self.cols = cols;
        Ok(())
    }

    /// Reads a data line.
    fn data(&self, rec: &[u8], line: u64, out: &mut Out<'_>) {
        if self.cols.is_empty() {
            out.problem(line, "data before the hashdeep column header".into());
            return;
        }
        let fields: Vec<&[u8]> = rec.splitn(self.cols.len(), |&b| b == b',').collect();
        if fields.len() != self.cols.len() {
            out.problem(
                line,
                format!(
                    "{} fields where the header names {} (a file name with a newline breaks \
                     hashdeep records): {}",
                    fields.len(),
                    self.cols.len(),
                    quote(rec)
                ),
            );
            return;
        }
        let name = fields.last().copied().filter(|n| !n.is_empty());
        for (col, field) in self.cols.iter().zip(&fields) {
            match col {
                Col::Size => {
                    if field.is_empty() || !field.iter().all(u8::is_ascii_digit) {
                        out.problem(line, format!("size is not a number: {}", quote(field)));
                        return;
                    }
                }
                Col::Hash(a) => match parse_hex(field, Some(ListType::Exact(*a)), None) {
                    Ok(hash) => {
                        out.entry(ListEntry::new(hash, line).with_name(name.map(Cow::Borrowed)))
                    }
                    Err(reason) => out.problem(line, format!("{a} column: {reason}")),
                },
                Col::Name | Col::Skip => {}
            }
        }
    }
}
