//! One memory map of each index per process, shared by every `Scanner` and thread.
//!
//! A Spark executor reuses its Python worker processes from task to task, and each task builds
//! its scanner anew; mapping the index again for each would cost a fresh map (and, for a large
//! PDQ index, fresh page faults) every time. The cache keys an opened index by its canonical
//! path and keeps it while the file on disk stays the same one (device, inode, size and
//! modification time): a replaced index file is opened afresh, and scanners built before keep
//! the map they had.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use vigie::index::{Index, IndexError};

/// Why an index could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file cannot be found or examined.
    #[error("{path}: {source}")]
    Io {
        /// The path as given.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a usable vigie index.
    #[error("{path}: {source}")]
    Index {
        /// The path as given.
        path: PathBuf,
        /// Why the index refused it.
        source: IndexError,
    },
}

/// What tells two versions of a file apart without reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

impl FileId {
    fn of(meta: &std::fs::Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        }
    }
}

/// Each canonical path's opened index, and the version of the file it was opened from.
type Opened = HashMap<PathBuf, (FileId, Arc<Index>)>;

static OPEN: LazyLock<Mutex<Opened>> = LazyLock::new(Mutex::default);

/// The index at `path`, mapped once per process while the file stays the same.
///
/// # Errors
/// The file cannot be examined, or it is not a valid index.
pub fn open(path: &Path) -> Result<Arc<Index>, OpenError> {
    let io = |source| OpenError::Io {
        path: path.to_path_buf(),
        source,
    };
    let canonical = std::fs::canonicalize(path).map_err(io)?;
    let id = FileId::of(&std::fs::metadata(&canonical).map_err(io)?);
    // Held while opening, so that threads asking for the same index at once map it once.
    let mut open = OPEN.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((seen, index)) = open.get(&canonical) {
        if *seen == id {
            return Ok(index.clone());
        }
    }
    let index = Arc::new(Index::open(&canonical).map_err(|source| OpenError::Index {
        path: path.to_path_buf(),
        source,
    })?);
    open.insert(canonical, (id, index.clone()));
    Ok(index)
}

/// The canonical paths of the indexes this process holds mapped.
pub fn mapped() -> Vec<PathBuf> {
    let open = OPEN.lock().unwrap_or_else(PoisonError::into_inner);
    let mut paths: Vec<PathBuf> = open.keys().cloned().collect();
    paths.sort();
    paths
}
