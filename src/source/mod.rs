//! Where items come from: paths given on the command line or in a list, directory trees
//! walked in parallel, and archives opened in place.
//!
//! [`walk`] turns inputs into [`Found`] events (a regular file to read, a failure, a skipped
//! special file); [`open`] turns one regular file into items: the file itself, or the members
//! of the tar archive it holds (found by its header, never by its name), read in place from the
//! memory map, or streamed through a decoder for `.tar.gz` and `.tar.zst`.

pub mod open;
pub mod tar;
pub mod walk;

use std::ffi::OsStr;
use std::fmt;
use std::path::PathBuf;

pub use open::{open_file, Container, OpenOptions};
pub use walk::{walk_inputs, Found, Input, WalkOptions};

/// Where an item was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file on disk (as given or as walked; raw bytes on Unix, never re-encoded).
    pub path: PathBuf,
    /// The member path inside an archive, raw bytes as the archive stores them.
    pub member: Option<Vec<u8>>,
    /// Byte offset of the item's data in the file (in the decompressed stream for a
    /// compressed archive); 0 for a plain file.
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
    /// The item is of a kind vigie does not read (e.g. a sparse tar member).
    Unsupported,
    /// The item sniffs as an image that could not be decoded for perceptual hashing
    /// (corrupt, unsupported, or over the decoding limits).
    Image,
    /// A record of a hash list (`vigie match`) that yields no hash.
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
            FailKind::Image => "image",
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
