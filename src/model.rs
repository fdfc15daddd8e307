//! The data model every stage exchanges: where an item was found ([`Location`]), what the
//! caller asks to read ([`Input`]), what was found for it ([`Hit`], [`ItemResult`],
//! [`Verdict`]) and why it failed ([`Failure`]).
//!
//! These are plain owned types with no behaviour beyond their own invariants. Every stage
//! (source, hash, matcher, report, engine) depends on this module; it depends on no stage but
//! for the value types it carries (`hash::Digests`, `perceptual::ImageHashes`), which depend
//! on nothing here.

use std::ffi::OsStr;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::hash::Digests;
use crate::perceptual::ImageHashes;
use crate::video::VideoHashes;

/// One input as given by the caller.
#[derive(Clone, Debug)]
pub enum Input {
    /// A file or directory.
    Path(PathBuf),
    /// A file listing paths (`-` for standard input), one per line or NUL-separated.
    FilesFrom {
        /// The list file, or `-`.
        list: PathBuf,
        /// Records end with NUL instead of newline.
        nul: bool,
    },
    /// Content read from standard input (`-` on the command line), as it streams: a tar,
    /// `.tar.gz` or `.tar.zst` is walked member by member, anything else is one item. Its
    /// records carry the path `-`.
    Stdin,
    /// Content already in memory (an object read from storage, a Spark `binaryFile` row),
    /// read as a file of that name would be: a tar's members are its items.
    Bytes {
        /// The name its records carry as `path`.
        name: PathBuf,
        /// The content (a `Vec<u8>` converts; a caller's own buffer is shared, not copied).
        bytes: SharedBytes,
    },
}

/// Bytes held in memory by whoever owns them (a `Vec<u8>`, a Python `bytes` object, an
/// Arrow buffer), shared with the engine without a copy while it reads them.
#[derive(Clone)]
pub struct SharedBytes(Arc<dyn AsRef<[u8]> + Send + Sync>);

impl SharedBytes {
    /// Shares `owner`'s bytes: they are read through `owner.as_ref()`, and `owner` is dropped
    /// once the engine is done with them.
    pub fn new(owner: impl AsRef<[u8]> + Send + Sync + 'static) -> SharedBytes {
        SharedBytes(Arc::new(owner))
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        (*self.0).as_ref()
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(v: Vec<u8>) -> SharedBytes {
        SharedBytes::new(v)
    }
}

impl fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedBytes({} bytes)", self.as_slice().len())
    }
}

/// Where an item was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file on disk (as given or as walked; raw bytes on Unix, never re-encoded).
    pub path: PathBuf,
    /// The member path inside an archive, raw bytes as the archive stores them; inside
    /// nested containers, the whole chain joined by `/` (`a.zip/inner.tar.gz/x.jpg`).
    pub member: Option<Vec<u8>>,
    /// Inside nested containers, the chain of member names, outermost first (the last is the
    /// item's own); empty otherwise.
    pub chain: Vec<Vec<u8>>,
    /// Byte offset of the item's data in the file (in the decompressed stream for a
    /// compressed archive; in its innermost container's bytes when nested); 0 for a plain
    /// file.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
}

impl Location {
    /// A whole file.
    pub fn file(path: PathBuf, size: u64) -> Location {
        Location {
            path,
            member: None,
            chain: Vec::new(),
            offset: 0,
            size,
        }
    }

    /// A name for humans and for `md5sum`-style lists: the path, and for an archive member
    /// `PATH/MEMBER`, as if the archive were a directory. Raw bytes.
    pub fn display_bytes(&self) -> Vec<u8> {
        let mut out = os_bytes(self.path.as_os_str()).to_vec();
        if let Some(m) = &self.member {
            out.push(b'/');
            out.extend_from_slice(m);
        }
        out
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.display_bytes()))
    }
}

/// Why an item failed, as counted in the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailKind {
    /// The path could not be found or opened.
    Open,
    /// Reading the bytes failed.
    Read,
    /// A directory could not be listed.
    Walk,
    /// An archive is malformed: truncated, bad header, member past the end.
    Archive,
    /// A compressed stream could not be decoded.
    Decompress,
    /// The item is of a kind vigie does not read (e.g. a sparse tar member), or a container
    /// it does not open (7z, RAR, a zip member compressed with bzip2, ...): its content was
    /// not read.
    Unsupported,
    /// An archive member is encrypted: its content was not read.
    Encrypted,
    /// A limit stopped the reading: an archive member, or an archive's members together,
    /// would expand past what their compressed bytes can honestly hold (a decompression bomb).
    Limit,
    /// The item sniffs as an image that could not be decoded for perceptual hashing
    /// (corrupt, unsupported, or over the decoding limits).
    Image,
    /// The item sniffs as a video that could not be decoded for vPDQ (corrupt, unsupported,
    /// over the limits, or vigie built without video support).
    Video,
    /// A record of a hash list (`vigie match`) that yields no hash, or of a `--files-from`
    /// path list that is no path (over-long).
    List,
}

impl FailKind {
    /// The key used in summaries and `error_kind` fields.
    pub fn name(self) -> &'static str {
        match self {
            FailKind::Open => "open",
            FailKind::Read => "read",
            FailKind::Walk => "walk",
            FailKind::Archive => "archive",
            FailKind::Decompress => "decompress",
            FailKind::Unsupported => "unsupported",
            FailKind::Encrypted => "encrypted",
            FailKind::Limit => "limit",
            FailKind::Image => "image",
            FailKind::Video => "video",
            FailKind::List => "list",
        }
    }
}

/// A failed item's reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The category, for counting.
    pub kind: FailKind,
    /// What happened, for humans.
    pub message: String,
}

impl Failure {
    /// Builds a failure.
    pub fn new(kind: FailKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.message)
    }
}

/// What a list is for: a blocklist's hits are matches, an allowlist's hits are known files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Hits are reported as `match` (the default).
    #[default]
    #[value(alias = "blocklist")]
    Block,
    /// Hits are reported as `known`, and the item is not matched perceptually.
    #[value(alias = "allowlist")]
    Allow,
}

impl Role {
    /// `block` or `allow`.
    pub const fn name(self) -> &'static str {
        match self {
            Role::Block => "block",
            Role::Allow => "allow",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "block" | "blocklist" => Ok(Role::Block),
            "allow" | "allowlist" => Ok(Role::Allow),
            _ => Err(format!("unknown role '{s}' (block or allow)")),
        }
    }
}

/// A match of one item against one list entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// The algorithm that matched (`md5`, `sha256`, ...).
    pub algorithm: &'static str,
    /// The item's own hash, lower-case hex.
    pub hash: String,
    /// The list the entry came from.
    pub list: String,
    /// The entry's label.
    pub label: String,
    /// Hamming distance (0 for exact hashes).
    pub distance: u32,
    /// For perceptual hits, the list entry's hash (it differs from `hash`).
    pub matched_hash: Option<String>,
    /// The list's role: a blocklist hit makes the item a match, an allowlist hit a known item.
    pub role: Role,
    /// For a hit in a Bloom filter (probable, never certain), the filter's false-positive
    /// rate; `None` for a certain hit.
    pub fpr: Option<f64>,
    /// For a `vpdq` hit: the known video and how much of each video matched.
    pub video: Option<Box<VideoHit>>,
    /// For a `pdq` hit of a video frame (a frame near a known image): the frame's time in the
    /// video, in seconds.
    pub timestamp: Option<f64>,
}

/// What a `vpdq` hit says beyond its list and label: which known video matched, and how.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoHit {
    /// The known video's name (as its list gave it, else `LIST:LINE`).
    pub name: String,
    /// Share (percent) of the item's distinct frames of sufficient quality that have a
    /// partner in the known video.
    pub query_match_pct: f64,
    /// Share (percent) of the known video's distinct frames of sufficient quality that have
    /// a partner in the item.
    pub compared_match_pct: f64,
    /// Time ranges of the item (seconds, first and last matching frame of each run of
    /// consecutive matching frames) where it matched the known video.
    pub segments: Vec<[f64; 2]>,
}

impl Hit {
    /// A certain hit in a blocklist.
    pub fn is_block(&self) -> bool {
        self.fpr.is_none() && self.role == Role::Block
    }

    /// A certain hit in an allowlist.
    pub fn is_allow(&self) -> bool {
        self.fpr.is_none() && self.role == Role::Allow
    }
}

/// The outcome for one item: exactly one per item read.
#[derive(Clone, Debug)]
pub struct ItemResult {
    /// Where it was found.
    pub loc: Location,
    /// Its digests, or why it failed.
    pub outcome: Result<Digests, Failure>,
    /// Its perceptual hashes, when it is an image and they were asked for.
    pub image: Option<ImageHashes>,
    /// Why an item that sniffs as an image (kind `image`) or a video (kind `video`) could not
    /// be hashed perceptually (its exact digests are still in `outcome`).
    pub image_error: Option<Failure>,
    /// Its vPDQ hash, when it is a video and vPDQ was asked for.
    pub video: Option<Box<VideoHashes>>,
    /// True when the image's PDQ quality was below the minimum: not matched on PDQ (still on
    /// pHash and dHash).
    pub low_quality: bool,
    /// Its hits (empty when clean, failed, or when no matcher runs).
    pub hits: Vec<Hit>,
}

/// The verdict of one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// At least one certain blocklist hit (exact or PDQ).
    Match,
    /// No blocklist hit, at least one certain allowlist hit: a known file.
    Known,
    /// Only hits in Bloom filters: probably a known file, never certain.
    Probable,
    /// Read and hashed, no hit.
    Clean,
    /// Could not be read or hashed completely, and no hit.
    Failed,
}

impl Verdict {
    /// The verdict as records write it: `match`, `known`, `probable`, `clean`, `failed`.
    pub const fn name(self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::Known => "known",
            Verdict::Probable => "probable",
            Verdict::Clean => "clean",
            Verdict::Failed => "failed",
        }
    }
}

impl ItemResult {
    /// Why the item failed, if it did: reading failed, or it sniffs as an image that could not
    /// be decoded.
    pub fn failure(&self) -> Option<&Failure> {
        self.outcome.as_ref().err().or(self.image_error.as_ref())
    }

    /// Match when a blocklist hit (an exact hit stands even if the image did not decode),
    /// else known when an allowlist hit (such an item is not hashed perceptually), else failed
    /// when something failed (an image that did not decode was not checked perceptually, and
    /// a Bloom filter hit is not certain enough to vouch for it), else probable when a Bloom
    /// filter hit, else clean.
    pub fn verdict(&self) -> Verdict {
        if self.hits.iter().any(Hit::is_block) {
            Verdict::Match
        } else if self.hits.iter().any(Hit::is_allow) {
            Verdict::Known
        } else if self.failure().is_some() {
            Verdict::Failed
        } else if !self.hits.is_empty() {
            Verdict::Probable
        } else {
            Verdict::Clean
        }
    }
}

/// What a scan hands its consumer.
#[derive(Debug)]
pub enum Event {
    /// One item's outcome.
    Item(Box<ItemResult>),
    /// Something skipped on purpose (special file, link), by reason key.
    Skipped(&'static str),
    /// Every item of this input (a file given or found by the walk, or a named in-memory
    /// input) was delivered before this event, none left out by a stop: only sent when the
    /// scan asked for it ([`crate::engine::ScanControl::inputs_done`]), for a journal.
    InputDone(std::path::PathBuf),
}

/// The raw bytes of an OS string (Unix keeps names as bytes; elsewhere, lossy UTF-8).
pub fn os_bytes(s: &OsStr) -> std::borrow::Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::borrow::Cow::Borrowed(s.as_bytes())
    }
    #[cfg(not(unix))]
    {
        match s.to_string_lossy() {
            std::borrow::Cow::Borrowed(b) => std::borrow::Cow::Borrowed(b.as_bytes()),
            std::borrow::Cow::Owned(o) => std::borrow::Cow::Owned(o.into_bytes()),
        }
    }
}

/// A path from raw bytes (exact on Unix).
pub fn path_from_bytes(b: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(OsStr::from_bytes(b))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(b).into_owned())
    }
}
