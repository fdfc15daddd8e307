//! Read-only memory maps of input files and index files: with `guard.rs` (the SIGBUS guard of
//! input maps), the crate's only `unsafe` code.
//!
//! A map is private to this module: callers see bytes through [`super::Data`] and never hold a
//! raw mapped slice past the map's life.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::ops::Range;

/// Whether inputs may be memory-mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MmapPolicy {
    /// Map regular files of at least [`super::MIN_MAP_LEN`] bytes; read the rest.
    #[default]
    Auto,
    /// Always read() (`--no-mmap`).
    Never,
    /// Map every non-empty regular file whatever its size, advised for random access: for
    /// index files, which every thread reads at random and which must open in constant time.
    Always,
}

/// A read-only map of a whole file, with what the file was when mapped.
pub(crate) struct Map {
    /// The SIGBUS guard of an input map (see `guard.rs`); declared first so that it is
    /// dropped, unregistering the range, before the map is unmapped.
    guard: Option<super::guard::Guard>,
    map: memmap2::Mmap,
    /// The mapped file (a duplicate descriptor), to see whether it changed since.
    file: File,
    /// Its modification time when mapped (`None` where the platform gives none).
    modified: Option<std::time::SystemTime>,
}

impl Map {
    /// Maps the first `len` bytes of `file` (its size when opened: a block device's metadata
    /// says 0), or returns `Ok(None)` when it cannot be mapped (empty, a file system that
    /// refuses) so that the caller falls back to read().
    ///
    /// A `sequential` map is an input's: it is registered with the SIGBUS guard (`guard.rs`),
    /// so that a file truncated while it is read becomes a failed item instead of killing the
    /// process; when the guard cannot take it (no free slot, no handler on this platform) it
    /// is not mapped (`Ok(None)`). Other maps (indexes) are not guarded: a fault in one kills
    /// the process, as zeros read from a truncated index would be wrong answers.
    pub(crate) fn new(file: &File, len: u64, sequential: bool) -> io::Result<Option<Map>> {
        let Ok(len) = usize::try_from(len) else {
            return Ok(None);
        };
        if len == 0 {
            return Ok(None);
        }
        // SAFETY: memmap2 requires that the mapped file not be modified while the map lives,
        // which no process can promise for another's files. What we guarantee instead: the map
        // is read-only and its bytes are only ever read as plain `u8`s (no reference to a typed
        // value that a changed byte could make invalid), and no mapped slice leaves the crate
        // (`Map` and `Data` are crate-private; the library's API takes paths or owned bytes and
        // returns owned records). A file truncated or rewritten during a scan can then only give
        // changed bytes (a wrong hash for that item, as with read() racing a writer, which
        // `changed` reports after hashing) or, if it shrank, SIGBUS: for an input map the guard
        // turns the fault into zeros and a mark that `changed` reports, so the item fails.
        match unsafe { memmap2::MmapOptions::new().len(len).map(file) } {
            Ok(map) => {
                let guard = if sequential {
                    match super::guard::register(map.as_ptr(), map.len()) {
                        Some(g) => Some(g),
                        None => return Ok(None),
                    }
                } else {
                    None
                };
                let advice = if sequential {
                    memmap2::Advice::Sequential
                } else {
                    memmap2::Advice::Random
                };
                let _ = map.advise(advice);
                let modified = file.metadata()?.modified().ok();
                Ok(Some(Map {
                    guard,
                    map,
                    file: file.try_clone()?,
                    modified,
                }))
            }
            Err(_) => Ok(None),
        }
    }

    /// Why the bytes read from the map may not be the file's: it was resized or modified
    /// since it was mapped (checked on the open file, after the bytes were hashed). A block
    /// device (its metadata size is 0) is only checked for a new modification time.
    pub(crate) fn changed(&self) -> Option<String> {
        if self.faulted() {
            return Some(format!(
                "the file shrank while it was read ({} bytes when opened; the bytes past its \
                 new end were read as zeros)",
                self.map.len()
            ));
        }
        let meta = match self.file.metadata() {
            Ok(m) => m,
            Err(e) => return Some(format!("cannot check the file after reading it: {e}")),
        };
        if meta.is_file() && meta.len() != self.map.len() as u64 {
            return Some(format!(
                "the file changed size while it was read ({} bytes when opened, {} now)",
                self.map.len(),
                meta.len()
            ));
        }
        match (self.modified, meta.modified().ok()) {
            (Some(then), Some(now)) if then != now => {
                Some("the file was modified while it was read".into())
            }
            _ => None,
        }
    }

    /// Did a read of this map fault past the end of its shrunk file (see `guard.rs`)?
    /// Cheap: one atomic load.
    pub(crate) fn faulted(&self) -> bool {
        self.guard
            .as_ref()
            .is_some_and(super::guard::Guard::faulted)
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn populate(&self, range: Range<usize>) {
        #[cfg(target_os = "linux")]
        if let Some((off, len)) = self.page_range(range, false) {
            let _ = self
                .map
                .advise_range(memmap2::Advice::PopulateRead, off, len);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = range;
    }

    pub(crate) fn release(&self, range: Range<usize>) {
        if let Some((off, len)) = self.page_range(range, true) {
            // SAFETY: MADV_DONTNEED on a read-only, file-backed shared mapping only drops this
            // process's page-table entries; the next access faults the same file bytes back
            // in. No Rust reference can observe a change in content.
            let _ = unsafe {
                self.map
                    .unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, off, len)
            };
        }
    }

    /// Page-aligned (offset, len) inside `range`, rounded outward for hints and inward for
    /// releases (a release never touches a page partly outside the range).
    fn page_range(&self, range: Range<usize>, inward: bool) -> Option<(usize, usize)> {
        const PAGE: usize = 4096;
        let end = range.end.min(self.map.len());
        let (start, end) = if inward {
            (
                range.start.div_ceil(PAGE) * PAGE,
                if end == self.map.len() {
                    end
                } else {
                    end / PAGE * PAGE
                },
            )
        } else {
            (range.start / PAGE * PAGE, end)
        };
        (start < end).then(|| (start, end - start))
    }
}
