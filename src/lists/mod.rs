//! Streaming readers of the hash lists people exchange.
//!
//! A blocklist arrives as a text file that may be many gigabytes long, so it is never loaded
//! whole: it is read record by record through a [`BufReader`], each record as raw bytes (file
//! names inside lists need not be UTF-8). The format is detected from the content, not from the
//! file name. A list compressed with gzip, zstd or xz (found by its magic bytes) is
//! decompressed as it streams, every check of the compressed format verified to its end (see
//! the `compressed` module), then read as below:
//!
//! * [`ListFormat::Plain`]: one hash per line; `#` comments, blank lines, surrounding
//!   whitespace and CRLF line ends are ignored.
//! * [`ListFormat::Coreutils`]: what `md5sum`, `sha1sum`, `sha256sum`, `xxh128sum` (and
//!   md5deep) print: `hex  name`, `hex *name`, a leading `\` when the name is escaped, the BSD
//!   `--tag` form `SHA256 (name) = hex`, NUL-terminated records (`-z`, detected by a NUL byte in
//!   the first 64 KiB), and md5deep's `-z` form with a leading size column.
//! * [`ListFormat::Hashdeep`]: `%%%% HASHDEEP-1.0` files; the second header line names the
//!   columns. Columns of algorithms vigie does not compute (tiger, whirlpool) are skipped with
//!   one note for the whole file.
//! * [`ListFormat::ThreatExchange`]: python-threatexchange signal lines, `<signal_type> <value>`
//!   (the `local_file` collaboration, `threatexchange dataset -P -S`, `threatexchange hash`),
//!   detected by a first data line whose first token is a lower-case identifier that is not
//!   hex (`pdq`, `video_md5`, ...) followed by a value.
//! * [`ListFormat::TeDataset`]: the ThreatExchange dataset CSV (`threatexchange dataset -P
//!   --csv`), detected by its `signal_type,signal_str` header; the `category` column, when
//!   present and not empty, is the entry's label.
//! * [`ListFormat::VpdqFrames`]: the vPDQ reference CLI's output for one video, one
//!   `frame,quality,pdq_hex,timestamp` line per frame; the whole file is one known video,
//!   named by the file's stem (see the `vpdq` module).
//! * [`ListFormat::DcsoBloom`]: a DCSO Bloom filter file (CIRCL hashlookup), detected by its
//!   binary header ([`bloom::sniff`]). It holds no entries to stream, only bits: [`read_list`]
//!   refuses it and [`bloom::BloomFile`] reads it (an index embeds it whole).
//!
//! An entry is an exact digest or a PDQ hash ([`ListHash`]). In the ThreatExchange formats the
//! signal type says which: `pdq` is PDQ; `vpdq` is a known video (a JSON array of
//! `"pdq_hex,quality,timestamp"` frames, one line however long, up to 16 MiB);
//! `video_md5`/`md5`, `sha1`, `video_sha256`/`sha256` are digests of the file bytes, so exact
//! md5/sha1/sha256; any other type (`url`, `raw_text`, ...) is reported as a problem. Elsewhere the algorithm of a hash comes from the
//! file (hashdeep header, BSD tag) when it says, else from the type the caller declares
//! ([`ListType`]), else from the hex length (32 md5, 40 sha1, 64 sha256). A PDQ hash is never
//! guessed: 64 hex digits are sha256 unless the list is declared PDQ. No line is ever dropped
//! silently: every record that yields no entry (and is not blank or a comment) is reported as
//! a [`ListProblem`] with its 1-based line number.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::hash::{Algo, Digest};
use crate::perceptual::imghash::{ImgHash64, ImgKind};
use crate::perceptual::pdq::PdqHash;
use crate::video::VpdqFrame;

pub mod bloom;

/// Bytes looked at to detect the format (NUL records, hashdeep header, first data line).
const SNIFF_LEN: usize = 64 * 1024;

/// Longest piece of a bad line quoted in a problem's reason.
const QUOTE_LEN: usize = 80;

/// Longest record of a text list. Real records are short (a hash and a file name); a longer
/// one is reported and skipped without being buffered whole.
const MAX_LINE: usize = 1 << 20;

mod compressed;
mod csv_rows;
mod encase;
mod json;
mod nsrl;
mod source;
mod text;
mod vpdq;

pub use source::{read_list_hashed, SourceDigest};

/// The format of a hash list, detected from its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListFormat {
    /// One hash per line.
    Plain,
    /// `md5sum`/`sha*sum`/`xxh128sum` output, BSD tags, NUL records, md5deep lines.
    Coreutils,
    /// A `%%%% HASHDEEP-1.0` file.
    Hashdeep,
    /// ThreatExchange signal lines, `<signal_type> <value>`.
    ThreatExchange,
    /// The ThreatExchange dataset CSV, `signal_type,signal_str,...`.
    TeDataset,
    /// NSRL RDS 2.x `NSRLFile.txt` (layouts 2.0 and 1.5): quoted CSV, CRLF.
    Nsrl,
    /// NSRL RDSv3 SQLite database, full or minimal shape.
    Rdsv3,
    /// Project VIC VICS JSON (1.x and 2.0, `#Media` or `#Cases`).
    Vics,
    /// A Tech Against Terrorism TCAP hash-list page (JSON).
    Tcap,
    /// A StopNCII `FetchHashes` page (JSON).
    StopNcii,
    /// The legacy ThreatExchange CLI / HMA v1 state `simple.<TYPE>.te`: header-less CSV
    /// `indicator,[indicator_id,]descriptor_id,added_on,labels`.
    TeLegacy,
    /// The PDQ reference CLI's output, `hash,quality,filename` (or `--details`).
    PdqHasher,
    /// An X-Ways hash-set text file: a header line naming the type (`MD5`, `SHA-1`,
    /// `SHA-256`), then one hash per line.
    XWays,
    /// An EnCase (v3 to v6) binary `.hash` file: MD5 records.
    EnCase,
    /// A DCSO Bloom filter file (CIRCL hashlookup's known-file sets): probable members only.
    DcsoBloom,
    /// The vPDQ reference CLI's per-frame output for one video,
    /// `frame,quality,pdq_hex,timestamp` lines: one known video per file.
    VpdqFrames,
}

/// Every format, in declaration order, with its stable name (reports, `--format`, index
/// metadata) and the code an index's list records store: the one table both are read from.
/// Codes are never reused; a text format added later takes the next one.
const FORMATS: [(ListFormat, &str, u32); 16] = [
    (ListFormat::Plain, "plain", 0),
    (ListFormat::Coreutils, "coreutils", 1),
    (ListFormat::Hashdeep, "hashdeep", 2),
    (ListFormat::ThreatExchange, "te", 3),
    (ListFormat::TeDataset, "te-csv", 4),
    (ListFormat::Nsrl, "nsrl", 5),
    (ListFormat::Rdsv3, "rdsv3", 6),
    (ListFormat::Vics, "vics", 7),
    (ListFormat::Tcap, "tcap", 8),
    (ListFormat::StopNcii, "stopncii", 9),
    (ListFormat::TeLegacy, "te-legacy", 10),
    (ListFormat::PdqHasher, "pdq-hasher", 11),
    (ListFormat::XWays, "xways", 12),
    (ListFormat::EnCase, "encase", 13),
    // Far from the codes of text formats, which grow one by one.
    (ListFormat::DcsoBloom, "dcso-bloom", 32),
    (ListFormat::VpdqFrames, "vpdq-frames", 14),
];

impl ListFormat {
    /// Every format.
    pub const ALL: [ListFormat; 16] = {
        let mut all = [ListFormat::Plain; 16];
        let mut i = 0;
        while i < FORMATS.len() {
            all[i] = FORMATS[i].0;
            i += 1;
        }
        all
    };

    /// A short stable name, used in reports and index files.
    pub const fn name(self) -> &'static str {
        FORMATS[self as usize].1
    }

    /// Inverse of [`ListFormat::name`].
    pub fn from_name(s: &str) -> Option<ListFormat> {
        FORMATS.iter().find(|f| f.1 == s).map(|f| f.0)
    }

    /// The code an index stores for this format (stable across versions).
    pub const fn code(self) -> u32 {
        FORMATS[self as usize].2
    }

    /// Inverse of [`ListFormat::code`]: `None` for a code this vigie does not know (a format
    /// added by a newer one).
    pub fn from_code(c: u32) -> Option<ListFormat> {
        FORMATS.iter().find(|f| f.2 == c).map(|f| f.0)
    }
}

/// Serialized as its [`name`](ListFormat::name).
impl Serialize for ListFormat {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl fmt::Display for ListFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `--format` values on the command line: [`ListFormat::ALL`] by [`ListFormat::name`].
impl clap::ValueEnum for ListFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &ListFormat::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

/// What a list holds, when the caller declares it: an exact algorithm, PDQ, or a 64-bit
/// image hash (pHash or dHash).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListType {
    /// Digests of one exact algorithm.
    Exact(Algo),
    /// PDQ perceptual hashes (64 hex digits).
    Pdq,
    /// vPDQ video hashes: one entry per known video, its frames' PDQ hashes with their
    /// quality and timestamp.
    Vpdq,
    /// Python ImageHash's 64-bit pHash or dHash (16 hex digits, as `str(hash)` prints it).
    Img(ImgKind),
}

impl From<Algo> for ListType {
    fn from(a: Algo) -> ListType {
        ListType::Exact(a)
    }
}

impl fmt::Display for ListType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListType::Exact(a) => write!(f, "{a}"),
            ListType::Pdq => f.write_str("pdq"),
            ListType::Vpdq => f.write_str("vpdq"),
            ListType::Img(k) => f.write_str(k.name()),
        }
    }
}

impl std::str::FromStr for ListType {
    type Err = String;
    /// `pdq`, `phash`, `dhash`, or an algorithm name as [`Algo`] parses it.
    fn from_str(s: &str) -> Result<ListType, String> {
        if s.eq_ignore_ascii_case("pdq") {
            return Ok(ListType::Pdq);
        }
        if s.eq_ignore_ascii_case("vpdq") {
            return Ok(ListType::Vpdq);
        }
        if let Some(k) = ImgKind::from_name(s) {
            return Ok(ListType::Img(k));
        }
        s.parse::<Algo>().map(ListType::Exact).map_err(|_| {
            format!(
                "unknown list type '{s}' (expected md5, sha1, sha256, xxh3_128, pdq, phash, \
                 dhash or vpdq)"
            )
        })
    }
}

/// `--type` values on the command line: every exact algorithm, `pdq`, `phash` and `dhash`.
impl clap::ValueEnum for ListType {
    fn value_variants<'a>() -> &'a [Self] {
        const ALL: [ListType; 8] = [
            ListType::Exact(Algo::Md5),
            ListType::Exact(Algo::Sha1),
            ListType::Exact(Algo::Sha256),
            ListType::Exact(Algo::Xxh3_128),
            ListType::Pdq,
            ListType::Vpdq,
            ListType::Img(ImgKind::Phash),
            ListType::Img(ImgKind::Dhash),
        ];
        &ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(match self {
            ListType::Exact(a) => a.name(),
            ListType::Pdq => "pdq",
            ListType::Vpdq => "vpdq",
            ListType::Img(k) => k.name(),
        }))
    }
}

/// One hash read from a list: an exact digest, a PDQ hash, a 64-bit pHash/dHash, or a video's
/// vPDQ hash.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ListHash {
    /// An exact digest.
    Exact(Digest),
    /// A PDQ hash.
    Pdq(PdqHash),
    /// The vPDQ hash of one video: its hashed frames, in the list's order (`frame` is the
    /// frame number the list gives, else the frame's place in the list).
    Vpdq(Box<[VpdqFrame]>),
    /// A 64-bit image hash of one kind (pHash or dHash).
    Img(ImgKind, ImgHash64),
}

impl ListHash {
    /// The exact digest, if this is one.
    pub fn as_exact(&self) -> Option<&Digest> {
        match self {
            ListHash::Exact(d) => Some(d),
            ListHash::Pdq(_) | ListHash::Img(..) | ListHash::Vpdq(_) => None,
        }
    }

    /// The PDQ hash, if this is one.
    pub fn as_pdq(&self) -> Option<&PdqHash> {
        match self {
            ListHash::Pdq(p) => Some(p),
            ListHash::Exact(_) | ListHash::Img(..) | ListHash::Vpdq(_) => None,
        }
    }

    /// What kind of hash this is.
    pub fn list_type(&self) -> ListType {
        match self {
            ListHash::Exact(d) => ListType::Exact(d.algo()),
            ListHash::Pdq(_) => ListType::Pdq,
            ListHash::Vpdq(_) => ListType::Vpdq,
            ListHash::Img(k, _) => ListType::Img(*k),
        }
    }

    /// The 64-bit image hash and its kind, if this is one.
    pub fn as_img(&self) -> Option<(ImgKind, ImgHash64)> {
        match *self {
            ListHash::Img(k, h) => Some((k, h)),
            ListHash::Exact(_) | ListHash::Pdq(_) | ListHash::Vpdq(_) => None,
        }
    }
}

/// One hash read from a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListEntry<'a> {
    /// The hash.
    pub hash: ListHash,
    /// 1-based line (or NUL-terminated record) number.
    pub line: u64,
    /// The file name the list gives for this hash, unescaped, when it gives one. Borrowed
    /// from the reader's line buffer unless unescaping had to copy it.
    pub name: Option<Cow<'a, [u8]>>,
    /// The label (category) the list gives this hash, when it gives one (the `category`
    /// column of a ThreatExchange dataset CSV, a VICS `Category`, a TCAP ideology, ...).
    pub label: Option<Cow<'a, str>>,
    /// The PDQ quality (0-100) the list gives a PDQ hash, when it gives one (the PDQ
    /// reference CLI's output).
    pub quality: Option<u8>,
}

impl<'a> ListEntry<'a> {
    /// The entry of `hash` read at `line`, with no name, label or quality.
    pub fn new(hash: ListHash, line: u64) -> Self {
        ListEntry {
            hash,
            line,
            name: None,
            label: None,
            quality: None,
        }
    }

    /// With the file name the list gives.
    pub fn with_name(self, name: Option<Cow<'a, [u8]>>) -> Self {
        ListEntry { name, ..self }
    }

    /// With the label the list gives.
    pub fn with_label(self, label: Option<Cow<'a, str>>) -> Self {
        ListEntry { label, ..self }
    }

    /// With the PDQ quality the list gives.
    pub fn with_quality(self, quality: Option<u8>) -> Self {
        ListEntry { quality, ..self }
    }
}

/// A record of a list that yielded no digest (or not all the digests it should have).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListProblem {
    /// 1-based line (or NUL-terminated record) number.
    pub line: u64,
    /// What is wrong, for humans.
    pub reason: String,
}

/// What [`read_list`] found out about a list besides its entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListSummary {
    /// The detected format.
    pub format: ListFormat,
    /// True when records end with NUL instead of a line feed.
    pub nul_terminated: bool,
    /// Remarks about the whole file (e.g. a skipped hashdeep column), each said once.
    pub notes: Vec<String>,
    /// Records read, blank and comment lines included.
    pub lines: u64,
}

/// A list that could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// Opening or reading failed.
    #[error("{path}: {source}")]
    Io {
        /// The list.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is not a hash list vigie can read (e.g. UTF-16, a broken hashdeep header).
    #[error("{path}: {reason}")]
    Format {
        /// The list.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The list was read but yielded no hash at all (every line malformed, an empty file, a
    /// Bloom filter with no bit set): matching against it, or with it, would silently find
    /// nothing. See [`no_hash_reason`].
    #[error("{path}: {reason}")]
    NoHash {
        /// The list.
        path: PathBuf,
        /// How much was read and why nothing came of it.
        reason: String,
    },
}

/// Why a list that yielded no hash did: its records (`lines`, as [`ListSummary::lines`]
/// counts them), how many were malformed, and the first problem, e.g. `no hash found in 12
/// lines (12 malformed; first, line 1: not a hexadecimal hash ...)`.
pub fn no_hash_reason(
    format: ListFormat,
    lines: u64,
    malformed: u64,
    first: Option<&ListProblem>,
) -> String {
    let unit = match format {
        ListFormat::Vics | ListFormat::Tcap | ListFormat::StopNcii | ListFormat::EnCase => "record",
        ListFormat::Rdsv3 => "row",
        _ => "line",
    };
    if lines == 0 && malformed == 0 {
        return match unit {
            "line" => "no hash found: the file is empty".into(),
            _ => format!("no hash found: the list holds no {unit}"),
        };
    }
    let plural = if lines == 1 { "" } else { "s" };
    match first {
        Some(p) => format!(
            "no hash found in {lines} {unit}{plural} ({malformed} malformed; first, line {}: {})",
            p.line, p.reason
        ),
        None => format!("no hash found in {lines} {unit}{plural} (none malformed)"),
    }
}

/// Why a list read by a format module (EnCase, JSON) could not be read at all; the caller
/// names the list.
enum ReadError {
    Io(io::Error),
    Format(String),
}

/// Streams the list at `path`: calls `on_entry` for every digest and `on_problem` for every
/// malformed record, in file order. The format is detected from the content.
///
/// `declared` is the type the caller says the list holds: it replaces guessing from the hex
/// length (so a list of 32-hex-digit hashes can be xxh3_128, one of 64 can be PDQ), hashes of
/// another length are problems, in a hashdeep file only that column is read, and in the
/// ThreatExchange formats lines of another signal type are problems.
///
/// # Errors
/// [`ListError::Io`] when the file cannot be opened or read, [`ListError::Format`] when it is
/// not a readable hash list.
pub fn read_list(
    path: &Path,
    declared: Option<ListType>,
    on_entry: impl FnMut(ListEntry<'_>),
    on_problem: impl FnMut(ListProblem),
) -> Result<ListSummary, ListError> {
    read_list_as(path, declared, None, on_entry, on_problem)
}

/// Like [`read_list`], but with `format` given the content is read in that format instead of
/// the detected one (`index build --format`).
///
/// An NSRL RDSv3 database (SQLite) is opened read-only from `path`; every other format is
/// streamed.
///
/// # Errors
/// As [`read_list`].
pub fn read_list_as(
    path: &Path,
    declared: Option<ListType>,
    format: Option<ListFormat>,
    on_entry: impl FnMut(ListEntry<'_>),
    on_problem: impl FnMut(ListProblem),
) -> Result<ListSummary, ListError> {
    let io_err = |source| ListError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let mut magic = Vec::with_capacity(nsrl::SQLITE_MAGIC.len());
    (&mut file)
        .take(nsrl::SQLITE_MAGIC.len() as u64)
        .read_to_end(&mut magic)
        .map_err(io_err)?;
    let sqlite = magic == nsrl::SQLITE_MAGIC;
    if format == Some(ListFormat::Rdsv3) || (format.is_none() && sqlite) {
        drop(file);
        return nsrl::read_rdsv3(path, declared, on_entry, on_problem);
    }
    read_list_from_as(
        io::Cursor::new(magic).chain(file),
        path,
        declared,
        format,
        on_entry,
        on_problem,
    )
}

/// Like [`read_list`] on any reader; `path` only names the list in errors (and gives the
/// indicator type of a legacy ThreatExchange `simple.<TYPE>.te` file). An RDSv3 database
/// cannot be read this way: SQLite needs the file.
///
/// # Errors
/// As [`read_list`].
pub fn read_list_from<R: Read>(
    input: R,
    path: &Path,
    declared: Option<ListType>,
    on_entry: impl FnMut(ListEntry<'_>),
    on_problem: impl FnMut(ListProblem),
) -> Result<ListSummary, ListError> {
    read_list_from_as(input, path, declared, None, on_entry, on_problem)
}

/// [`read_list_from`] with an optional forced format, as [`read_list_as`].
///
/// # Errors
/// As [`read_list`].
pub fn read_list_from_as<R: Read>(
    input: R,
    path: &Path,
    declared: Option<ListType>,
    forced: Option<ListFormat>,
    on_entry: impl FnMut(ListEntry<'_>),
    on_problem: impl FnMut(ListProblem),
) -> Result<ListSummary, ListError> {
    let (input, compression) = compressed::open(input).map_err(|source| ListError::Io {
        path: path.to_owned(),
        source,
    })?;
    read_decompressed(
        input,
        compression,
        path,
        declared,
        forced,
        on_entry,
        on_problem,
    )
}

/// [`read_list_from_as`] once a compressed list's stream was opened: `compression` says
/// which, `input` gives the decompressed bytes.
fn read_decompressed(
    mut input: Box<dyn Read + '_>,
    compression: Option<compressed::Compression>,
    path: &Path,
    declared: Option<ListType>,
    forced: Option<ListFormat>,
    mut on_entry: impl FnMut(ListEntry<'_>),
    mut on_problem: impl FnMut(ListProblem),
) -> Result<ListSummary, ListError> {
    let io_err = |source| ListError::Io {
        path: path.to_owned(),
        source,
    };
    let fmt_err = |reason: String| ListError::Format {
        path: path.to_owned(),
        reason,
    };

    // Sniff the head, then read it again followed by the rest.
    let mut head = Vec::with_capacity(SNIFF_LEN);
    (&mut input)
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(io_err)?;
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(fmt_err(
            "UTF-16 text (PowerShell redirection?): convert it to UTF-8 first".into(),
        ));
    }
    if let (Some(outer), Some(inner)) = (compression, compressed::sniff(&head)) {
        return Err(fmt_err(format!(
            "{inner} data inside a {outer} stream: decompress the list once first"
        )));
    }
    if bloom::sniff(&head) {
        return Err(fmt_err(
            "a DCSO Bloom filter, not a list of hashes: add it to an index (vigie index build)"
                .into(),
        ));
    }
    let format = match forced {
        Some(f) => f,
        None => detect(&head).map_err(fmt_err)?,
    };
    let nul = matches!(format, ListFormat::Plain | ListFormat::Coreutils) && head.contains(&0);
    let sep = if nul { b'\0' } else { b'\n' };
    let mut reader = BufReader::with_capacity(256 * 1024, io::Cursor::new(head).chain(input));

    let mut summary = ListSummary {
        format,
        nul_terminated: nul,
        notes: compression
            .map(|c| format!("{c}-compressed: read as it is, every check verified"))
            .into_iter()
            .collect(),
        lines: 0,
    };
    if format == ListFormat::Rdsv3 {
        if let Some(c) = compression {
            return Err(fmt_err(format!(
                "an NSRL RDSv3 database (SQLite) compressed with {c}: decompress it first \
                 (SQLite reads a file, not a stream)"
            )));
        }
        return Err(fmt_err(
            "an NSRL RDSv3 database (SQLite) must be read from a file, not a stream".into(),
        ));
    }
    // Binary and JSON lists are read whole by their module, not by the line loop.
    let whole = match format {
        ListFormat::EnCase => Some(encase::read(
            &mut reader,
            declared,
            &mut summary,
            &mut on_entry,
            &mut on_problem,
        )),
        ListFormat::Vics | ListFormat::Tcap | ListFormat::StopNcii => Some(json::read(
            &mut reader,
            declared,
            &mut summary,
            &mut on_entry,
            &mut on_problem,
        )),
        _ => None,
    };
    let read_err = |e| match e {
        ReadError::Io(source) => io_err(source),
        ReadError::Format(reason) => fmt_err(reason),
    };
    if let Some(result) = whole {
        result.map_err(read_err)?;
        return Ok(summary);
    }
    // A vPDQ signal is one line of a ThreatExchange list, however many frames it holds.
    let max_line = match format {
        ListFormat::ThreatExchange | ListFormat::TeDataset => vpdq::MAX_SIGNAL_LINE,
        _ => MAX_LINE,
    };
    let mut parser = text::parser(format, declared, nul, path).map_err(fmt_err)?;
    text::read_lines(
        &mut reader,
        sep,
        max_line,
        &mut *parser,
        &mut summary,
        &mut on_entry,
        &mut on_problem,
    )
    .map_err(read_err)?;
    Ok(summary)
}

/// Guesses the format from the head of the file: magic bytes (SQLite, EnCase), the first
/// byte of JSON and its keys, then header lines and the shape of the first record.
fn detect(head: &[u8]) -> Result<ListFormat, String> {
    if head.starts_with(nsrl::SQLITE_MAGIC) {
        return Ok(ListFormat::Rdsv3);
    }
    if head.starts_with(encase::MAGIC) {
        return Ok(ListFormat::EnCase);
    }
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if head.starts_with(b"%%%% HASHDEEP-") {
        return Ok(ListFormat::Hashdeep);
    }
    if let Some(b'{' | b'[') = head.iter().find(|b| !b.is_ascii_whitespace()) {
        return json::detect(head);
    }
    let sep = if head.contains(&0) { b'\0' } else { b'\n' };
    for rec in head.split(|&b| b == sep) {
        let t = rec.trim_ascii();
        if t.is_empty() || t.starts_with(b"#") {
            continue;
        }
        if sep == b'\n' {
            if t.starts_with(b"\"SHA-1\",") {
                return Ok(ListFormat::Nsrl);
            }
            if xways_header(t).is_some() {
                return Ok(ListFormat::XWays);
            }
            // `threatexchange dataset -P --csv`: `signal_type,signal_str,collab,...` since
            // 2022, `collab,signal_type,signal_str,...` before.
            if t.starts_with(b"signal_type,signal_str")
                || t.starts_with(b"collab,signal_type,signal_str")
            {
                return Ok(ListFormat::TeDataset);
            }
            if t.starts_with(b"hash=") {
                return Ok(ListFormat::PdqHasher);
            }
            if vpdq::is_frame_line(t) {
                return Ok(ListFormat::VpdqFrames);
            }
            // Header-less CSV led by a hash and a number: the PDQ reference CLI
            // (`hash,quality,filename`) or a legacy ThreatExchange state file
            // (`indicator,[indicator_id,]descriptor_id,added_on,labels`).
            let fields: Vec<&[u8]> = t.split(|&b| b == b',').collect();
            let hex = |f: &[u8]| !f.is_empty() && f.iter().all(u8::is_ascii_hexdigit);
            let num = |f: &[u8]| !f.is_empty() && f.iter().all(u8::is_ascii_digit);
            // An ISO date (`2024-05-01T...`) in the third or fourth field is `added_on`.
            let date = |f: Option<&&[u8]>| {
                f.is_some_and(|f| {
                    f.len() >= 10
                        && f[..4].iter().all(u8::is_ascii_digit)
                        && f[4] == b'-'
                        && f[7] == b'-'
                })
            };
            if fields.len() >= 3 && hex(fields[0]) && num(fields[1]) {
                if fields.len() >= 4 && (date(fields.get(2)) || date(fields.get(3))) {
                    return Ok(ListFormat::TeLegacy);
                }
                if fields[0].len() == 64 && fields[1].len() <= 3 {
                    return Ok(ListFormat::PdqHasher);
                }
                if fields.len() >= 4 {
                    return Ok(ListFormat::TeLegacy);
                }
            }
            // `<signal_type> <value>`: a lower-case identifier that is not hex (so never the
            // hash of a coreutils line), then a value.
            let end = t
                .iter()
                .position(u8::is_ascii_whitespace)
                .unwrap_or(t.len());
            let kind = &t[..end];
            let ident = kind.first().is_some_and(u8::is_ascii_lowercase)
                && kind
                    .iter()
                    .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && !kind.iter().all(u8::is_ascii_hexdigit);
            if ident && end < t.len() {
                return Ok(ListFormat::ThreatExchange);
            }
            // `threatexchange dataset -P -s pdq`: a bare hash, then `'collab' CATEGORY` (not a
            // coreutils line: one space, then no `*` or second space).
            let one_space = t[end..].strip_prefix(b" ").filter(|r| !r.starts_with(b" "));
            if typeless_te_kind(kind, None).is_some()
                && one_space.is_some_and(|r| !r.is_empty() && te_category(r).is_ok())
            {
                return Ok(ListFormat::ThreatExchange);
            }
        }
        // A plain list holds one bare token per line (maybe followed by a comment).
        let tok = match t.iter().position(|&b| b == b'#') {
            Some(i) => t[..i].trim_ascii_end(),
            None => t,
        };
        let bare = !tok.iter().any(|b| b.is_ascii_whitespace()) && !tok.starts_with(b"\\");
        return Ok(if bare && sep == b'\n' {
            ListFormat::Plain
        } else {
            ListFormat::Coreutils
        });
    }
    Ok(if sep == b'\0' {
        ListFormat::Coreutils
    } else {
        ListFormat::Plain
    })
}

/// Reads one record ending with `sep` (kept) into `buf`, at most `max` bytes of it: returns
/// the bytes consumed (0 at the end of input) and whether the record was longer than `max`
/// (then the rest of it was consumed without being kept).
fn read_record<R: BufRead>(
    r: &mut R,
    sep: u8,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<(usize, bool)> {
    let (mut total, mut over) = (0, false);
    loop {
        let avail = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok((total, over));
        }
        let (n, done) = match memchr::memchr(sep, avail) {
            Some(i) => (i + 1, true),
            None => (avail.len(), false),
        };
        let room = max.saturating_sub(buf.len());
        if n > room {
            over = true;
        }
        buf.extend_from_slice(&avail[..n.min(room)]);
        r.consume(n);
        total += n;
        if done {
            return Ok((total, over));
        }
    }
}

/// The type an X-Ways hash-set header line names.
fn xways_header(line: &[u8]) -> Option<ListType> {
    match line.to_ascii_uppercase().as_slice() {
        b"MD5" => Some(ListType::Exact(Algo::Md5)),
        b"SHA-1" | b"SHA1" => Some(ListType::Exact(Algo::Sha1)),
        b"SHA-256" | b"SHA256" => Some(ListType::Exact(Algo::Sha256)),
        _ => None,
    }
}

/// The indicator type a legacy ThreatExchange state file names in its file name
/// (`simple.HASH_PDQ.te`, `hma.simple.HASH_MD5.te`), or the signal type an HMA v1 list
/// names (`pdq.csv`, `video_md5.csv`, `photo_md5.csv`: HMA 1.0's sample data, same layout).
/// A compressed list's name may end with its compression's suffix (`pdq.csv.gz`).
fn te_legacy_type(path: &Path) -> Option<ListType> {
    let name = path.file_name()?.to_string_lossy().to_ascii_uppercase();
    let types = [
        ("HASH_PDQ", ListType::Pdq),
        ("HASH_VIDEO_MD5", ListType::Exact(Algo::Md5)),
        ("HASH_MD5", ListType::Exact(Algo::Md5)),
        ("HASH_SHA1", ListType::Exact(Algo::Sha1)),
        ("HASH_VIDEO_SHA256", ListType::Exact(Algo::Sha256)),
        ("HASH_SHA256", ListType::Exact(Algo::Sha256)),
        ("PDQ", ListType::Pdq),
        ("VIDEO_MD5", ListType::Exact(Algo::Md5)),
        ("PHOTO_MD5", ListType::Exact(Algo::Md5)),
        ("MD5", ListType::Exact(Algo::Md5)),
        ("VIDEO_SHA256", ListType::Exact(Algo::Sha256)),
        ("SHA256", ListType::Exact(Algo::Sha256)),
    ];
    types
        .into_iter()
        .find(|(t, _)| name.split('.').any(|part| part == *t))
        .map(|(_, ty)| ty)
}

/// Parses one line of the PDQ reference CLI: `hash,quality,filename`, or with `--details`
/// `hash=...,norm=...,delta=...,quality=...,filename=...`.
fn parse_pdq_hasher(
    rec: &[u8],
    declared: Option<ListType>,
) -> Result<(ListHash, u8, Option<&[u8]>), String> {
    let (hash, quality, name) = if rec.starts_with(b"hash=") {
        let (fields, name) = match rec.windows(10).position(|w| w == b",filename=") {
            Some(i) => (&rec[..i], Some(&rec[i + 10..])),
            None => (rec, None),
        };
        let get = |key: &[u8]| {
            fields.split(|&b| b == b',').find_map(|kv| {
                kv.strip_prefix(key)
                    .and_then(|r| r.strip_prefix(b"="))
                    .map(<[u8]>::trim_ascii)
            })
        };
        (get(b"hash"), get(b"quality"), name)
    } else {
        let mut it = rec.splitn(3, |&b| b == b',');
        (
            it.next().map(<[u8]>::trim_ascii),
            it.next().map(<[u8]>::trim_ascii),
            it.next(),
        )
    };
    let (Some(hash), Some(quality)) = (hash, quality) else {
        return Err(format!(
            "not a PDQ hasher line (hash,quality,filename): {}",
            quote(rec)
        ));
    };
    let q = std::str::from_utf8(quality)
        .ok()
        .and_then(|q| q.parse::<u8>().ok())
        .filter(|&q| q <= 100)
        .ok_or_else(|| {
            format!(
                "PDQ quality is not a number from 0 to 100: {}",
                quote(quality)
            )
        })?;
    let hash = parse_hex(hash, Some(ListType::Pdq), declared)?;
    Ok((hash, q, name.filter(|n| !n.is_empty())))
}

/// Quotes (a prefix of) raw bytes for a problem's reason.
fn quote(b: &[u8]) -> String {
    let cut = &b[..b.len().min(QUOTE_LEN)];
    let more = if b.len() > QUOTE_LEN { "…" } else { "" };
    format!("'{}{more}'", String::from_utf8_lossy(cut).escape_debug())
}

/// The algorithm a hex length stands for when nothing else says.
fn algo_from_hex_len(n: usize) -> Option<Algo> {
    match n {
        32 => Some(Algo::Md5),
        40 => Some(Algo::Sha1),
        64 => Some(Algo::Sha256),
        _ => None,
    }
}

/// The value of each hex digit byte; 0xFF for every other byte.
const HEX_VALUE: [u8; 256] = {
    let mut t = [0xFF; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Parses one hex token. `stated` is what the file says the type is (tag, header, signal
/// type), `declared` what the caller says; they must agree when both are given.
fn parse_hex(
    tok: &[u8],
    stated: Option<ListType>,
    declared: Option<ListType>,
) -> Result<ListHash, String> {
    match parse_exact_fast(tok, stated, declared) {
        Some(h) => Ok(h),
        None => parse_hex_checked(tok, stated, declared),
    }
}

/// The common case of [`parse_hex`], a well-formed exact digest, decoded without a branch
/// per digit (hex digits of digests are random, so a branchy decoder mispredicts about
/// once a digit). `None` sends anything else to [`parse_hex_checked`], which says why.
fn parse_exact_fast(
    tok: &[u8],
    stated: Option<ListType>,
    declared: Option<ListType>,
) -> Option<ListHash> {
    let algo = match (stated, declared) {
        (Some(s), Some(d)) if s != d => return None,
        (Some(ListType::Exact(a)), _) | (None, Some(ListType::Exact(a))) => a,
        (None, None) => algo_from_hex_len(tok.len())?,
        _ => return None,
    };
    if tok.len() != algo.len() * 2 {
        return None;
    }
    let mut bytes = [0u8; 32];
    let mut bad = 0u8;
    for (b, pair) in bytes.iter_mut().zip(tok.chunks_exact(2)) {
        let (hi, lo) = (
            HEX_VALUE[usize::from(pair[0])],
            HEX_VALUE[usize::from(pair[1])],
        );
        bad |= hi | lo;
        *b = (hi << 4) | (lo & 0x0F);
    }
    if bad > 0x0F {
        return None;
    }
    Digest::new(algo, &bytes[..algo.len()]).map(ListHash::Exact)
}

/// [`parse_hex`] with every check, for the cases the fast path leaves (PDQ, errors).
fn parse_hex_checked(
    tok: &[u8],
    stated: Option<ListType>,
    declared: Option<ListType>,
) -> Result<ListHash, String> {
    if tok.is_empty() {
        return Err("empty hash".into());
    }
    if let Some(bad) = tok.iter().position(|b| !b.is_ascii_hexdigit()) {
        return Err(format!(
            "not a hexadecimal hash (byte {} is {}): {}",
            bad + 1,
            quote(&tok[bad..=bad]),
            quote(tok)
        ));
    }
    let algo = match (stated, declared) {
        (Some(s), Some(d)) if s != d => {
            return Err(format!("the list says {s} but {d} was declared"));
        }
        (Some(ListType::Pdq), _) | (None, Some(ListType::Pdq)) => {
            if tok.len() != 64 {
                return Err(format!("{} hex digits where pdq has 64", tok.len()));
            }
            let s = std::str::from_utf8(tok).map_err(|_| "not UTF-8".to_string())?;
            return PdqHash::from_hex(s)
                .map(ListHash::Pdq)
                .map_err(|_| format!("bad hash {}", quote(tok)));
        }
        (Some(ListType::Vpdq), _) | (None, Some(ListType::Vpdq)) => {
            return Err(format!(
                "{} hex digits: a vPDQ hash is a list of frames, not one hex value",
                tok.len()
            ));
        }
        (Some(ListType::Img(k)), _) | (None, Some(ListType::Img(k))) => {
            if tok.len() != 16 {
                return Err(format!("{} hex digits where {k} has 16", tok.len()));
            }
            let s = std::str::from_utf8(tok).map_err(|_| "not UTF-8".to_string())?;
            return ImgHash64::from_hex(s)
                .map(|h| ListHash::Img(k, h))
                .map_err(|_| format!("bad hash {}", quote(tok)));
        }
        (Some(ListType::Exact(a)), _) | (None, Some(ListType::Exact(a))) => a,
        (None, None) => algo_from_hex_len(tok.len()).ok_or_else(|| {
            format!(
                "{} hex digits: not md5 (32), sha1 (40) or sha256 (64); declare the algorithm \
                 if the list holds another one",
                tok.len()
            )
        })?,
    };
    if tok.len() != algo.len() * 2 {
        return Err(format!(
            "{} hex digits where {algo} has {}",
            tok.len(),
            algo.len() * 2
        ));
    }
    // All bytes are ASCII hex digits, so this is valid UTF-8 of the right length.
    let s = std::str::from_utf8(tok).map_err(|_| "not UTF-8".to_string())?;
    Digest::from_hex(algo, s)
        .map(ListHash::Exact)
        .ok_or_else(|| format!("bad hash {}", quote(tok)))
}

/// The type of a ThreatExchange signal type whose values vigie matches: PDQ, vPDQ, or the
/// exact digest of the file's bytes.
fn signal_type(kind: &[u8]) -> Option<ListType> {
    match kind {
        b"pdq" => Some(ListType::Pdq),
        b"vpdq" => Some(ListType::Vpdq),
        b"video_md5" | b"photo_md5" | b"md5" => Some(ListType::Exact(Algo::Md5)),
        b"sha1" => Some(ListType::Exact(Algo::Sha1)),
        b"video_sha256" | b"sha256" => Some(ListType::Exact(Algo::Sha256)),
        _ => None,
    }
}

/// Parses one ThreatExchange signal: its type and value.
/// On a line of `threatexchange dataset -P -s TYPE`'s print, which leaves the signal type out
/// (`<signal> '<collab>' <CATEGORY>`): the type a bare hash stands for, by its length (64 hex
/// digits: `pdq`, 32: `video_md5`; the exact types python-threatexchange defines), or by the
/// type the list is declared with.
fn typeless_te_kind(hash: &[u8], declared: Option<ListType>) -> Option<&'static [u8]> {
    if !hash.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    match (declared, hash.len()) {
        (Some(ListType::Exact(Algo::Sha256)), _) => Some(b"sha256"),
        (Some(ListType::Exact(Algo::Sha1)), _) => Some(b"sha1"),
        (Some(ListType::Exact(Algo::Md5)), _) => Some(b"md5"),
        (_, 64) => Some(b"pdq"),
        (_, 32) => Some(b"video_md5"),
        _ => None,
    }
}

/// The opinions python-threatexchange prints (`AggregateSignalOpinionCategory`).
const TE_CATEGORIES: [&[u8]; 4] = [
    b"NEGATIVE_CLASS",
    b"INVESTIGATION_SEED",
    b"POSITIVE_CLASS",
    b"DISPUTED",
];

/// Splits what follows the signal type on a python-threatexchange signal line into the
/// signal and, on a line of `threatexchange dataset -P`'s default print, its opinion's
/// category. That print is `<type> <signal> '<collab>' <CATEGORY>[ <tags>]`: the collaboration
/// is Python's `repr` of its name (quoted, left out when one collaboration was asked for with
/// `-c`), the tags are comma-joined. A vPDQ signal is a JSON array, which may hold spaces.
fn split_te_print<'a>(kind: &[u8], rest: &'a [u8]) -> Result<(&'a [u8], Option<&'a [u8]>), String> {
    if signal_type(kind).is_none() {
        // parse_signal says why; the value of a text signal may hold spaces.
        return Ok((rest, None));
    }
    let end = if rest.starts_with(b"[") {
        rest.iter()
            .position(|&b| b == b']')
            .map_or(rest.len(), |i| i + 1)
    } else {
        rest.iter()
            .position(u8::is_ascii_whitespace)
            .unwrap_or(rest.len())
    };
    let (value, after) = (&rest[..end], rest[end..].trim_ascii_start());
    if after.is_empty() {
        return Ok((value, None));
    }
    te_category(after).map(|c| (value, Some(c)))
}

/// The opinion's category in what follows a signal on a line of `threatexchange dataset -P`'s
/// print: `['collab'] CATEGORY [tags]`.
fn te_category(after: &[u8]) -> Result<&[u8], String> {
    let mut meta = after;
    if let Some(&q @ (b'\'' | b'"')) = meta.first() {
        let mut i = 1;
        loop {
            match meta.get(i) {
                None => {
                    return Err(format!(
                        "unterminated collaboration name after the signal: {}",
                        quote(after)
                    ))
                }
                Some(b'\\') => i += 2,
                Some(&c) if c == q => break,
                Some(_) => i += 1,
            }
        }
        meta = meta[i + 1..].trim_ascii_start();
    }
    let cat_end = meta
        .iter()
        .position(u8::is_ascii_whitespace)
        .unwrap_or(meta.len());
    let category = &meta[..cat_end];
    if TE_CATEGORIES.contains(&category) {
        Ok(category)
    } else {
        Err(format!(
            "text after the signal that is not `threatexchange dataset -P`'s \
             ['collab'] CATEGORY [tags]: {}",
            quote(after)
        ))
    }
}

fn parse_signal(kind: &[u8], value: &[u8], declared: Option<ListType>) -> Result<ListHash, String> {
    let stated = signal_type(kind).ok_or_else(|| {
        format!(
            "signal type {} is not one vigie matches (pdq, vpdq, video_md5, photo_md5, md5, \
             sha1, video_sha256, sha256)",
            quote(kind)
        )
    })?;
    if stated == ListType::Vpdq {
        return match declared {
            Some(d) if d != stated => Err(format!("the list says {stated} but {d} was declared")),
            _ => vpdq::parse_signal(value).map(ListHash::Vpdq),
        };
    }
    parse_hex(value, Some(stated), declared)
}

/// Undoes coreutils' name escaping (`\\`, `\n`, `\r`).
fn unescape(name: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    if !name.contains(&b'\\') {
        return Ok(Cow::Borrowed(name));
    }
    let mut out = Vec::with_capacity(name.len());
    let mut it = name.iter();
    while let Some(&b) = it.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match it.next() {
            Some(b'\\') => out.push(b'\\'),
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(&c) => {
                return Err(format!(
                    "invalid escape '\\{}' in an escaped name",
                    (c as char).escape_debug()
                ))
            }
            None => return Err("escaped name ends with a lone backslash".into()),
        }
    }
    Ok(Cow::Owned(out))
}

/// A hash and the name a record gives it.
type Parsed<'a> = (ListHash, Option<Cow<'a, [u8]>>);

/// The BSD tag names vigie reads, and what they mean.
fn algo_from_tag(tag: &[u8]) -> Result<Algo, String> {
    match tag {
        b"MD5" => Ok(Algo::Md5),
        b"SHA1" => Ok(Algo::Sha1),
        b"SHA256" => Ok(Algo::Sha256),
        b"XXH128" => Ok(Algo::Xxh3_128),
        b"XXH3" => Err("XXH3 tag means 64-bit XXH3, which vigie does not compute \
                        (use xxh128sum for xxh3_128)"
            .into()),
        other => Err(format!("unsupported algorithm tag {}", quote(other))),
    }
}

/// Parses one coreutils-style record: untagged (`hex  name`, `hex *name`, bare `hex`), tagged
/// (`ALGO (name) = hex`), either with a leading `\` when `escapes` allows, or md5deep's `-z`
/// form (`      size  hex  name`).
fn parse_coreutils(
    rec: &[u8],
    escapes: bool,
    declared: Option<ListType>,
) -> Result<Parsed<'_>, String> {
    let (escaped, body) = match rec.strip_prefix(b"\\") {
        Some(rest) if escapes => (true, rest),
        _ => (false, rec),
    };
    // md5deep -z: right-aligned size, two spaces, then an untagged line.
    if !escaped && body.first() == Some(&b' ') {
        let t = body.trim_ascii_start();
        let digits = t.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || t.get(digits) != Some(&b' ') {
            return Err(format!("unexpected leading spaces: {}", quote(rec)));
        }
        let rest = t[digits..].trim_ascii_start();
        return parse_untagged(rest, escaped, declared);
    }

    let first_tok_end = body.iter().position(|&b| b == b' ').unwrap_or(body.len());
    let first = &body[..first_tok_end];
    let looks_tagged = !first.is_empty()
        && !first.iter().all(u8::is_ascii_hexdigit)
        && body.get(first_tok_end + 1) == Some(&b'(');
    if looks_tagged {
        let inner = &body[first_tok_end + 2..];
        let sep = b") = ";
        let pos = inner
            .windows(sep.len())
            .rposition(|w| w == sep)
            .ok_or_else(|| format!("tagged line without ') = ': {}", quote(rec)))?;
        let algo = algo_from_tag(first)?;
        let hex = inner[pos + sep.len()..].trim_ascii_end();
        let digest = parse_hex(hex, Some(ListType::Exact(algo)), declared)?;
        return Ok((digest, name_of(&inner[..pos], escaped)?));
    }
    parse_untagged(body, escaped, declared)
}

/// `hex  name`, `hex *name`, or a bare `hex` (md5deep -q, or a name-less line).
fn parse_untagged(
    body: &[u8],
    escaped: bool,
    declared: Option<ListType>,
) -> Result<Parsed<'_>, String> {
    let end = body
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(body.len());
    let digest = parse_hex(&body[..end], None, declared)?;
    let mut rest = body.get(end + 1..).unwrap_or_default();
    if let Some(r) = rest.strip_prefix(b" ").or_else(|| rest.strip_prefix(b"*")) {
        rest = r;
    }
    Ok((digest, name_of(rest, escaped)?))
}

/// The name of a record: `None` when empty, unescaped when the record was escaped.
fn name_of(n: &[u8], escaped: bool) -> Result<Option<Cow<'_, [u8]>>, String> {
    if n.is_empty() {
        Ok(None)
    } else if escaped {
        unescape(n).map(Some)
    } else {
        Ok(Some(Cow::Borrowed(n)))
    }
}

#[cfg(test)]
mod tests;
