//! Turning inputs (paths, `--files-from` lists, bytes in memory) into regular files to read,
//! in parallel.
//!
//! Directories are walked by `ignore`'s parallel walker with every filter off (no
//! `.gitignore` or hidden-file rules: a dump is read whole). Symlinks are not followed unless
//! asked; special files (fifos, sockets, devices) are skipped and counted, never opened, so a
//! fifo in a seized tree cannot hang the scan.
//!
//! With a [`Shard`], each of N workers takes a deterministic part of the inputs (see
//! [`Shard`]): the union of all parts is the whole, and no two parts share an item.

use std::fs;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

use crate::model::{os_bytes, path_from_bytes, FailKind, Failure, Input, Location};
use crate::read::{is_block_device, Data};

/// Walk settings.
#[derive(Clone, Debug, Default)]
pub struct WalkOptions {
    /// Follow symbolic links found while walking (named inputs are always followed).
    pub follow: bool,
    /// Walker threads (0: the number of cores).
    pub threads: usize,
    /// Take only this part of the inputs.
    pub shard: Option<Shard>,
}

/// Part `index` of `count` (0-based) of a run split over `count` workers.
///
/// The inputs are numbered in order: each path given, then each record of each path list,
/// each in-memory input. A unit numbered `k` belongs to part `k % count`, with one exception:
/// a directory given as a path is split by its entries instead, each file (or failure, or
/// skipped link) found beneath it belonging to part `xxh3_64(its path) % count`, so one huge
/// directory still spreads over every worker. A directory named in a path list is one unit
/// (its line's part walks it whole). Every worker must be given the same inputs in the same
/// order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This worker's part, `0..count`.
    pub index: u64,
    /// How many parts.
    pub count: u64,
}

impl Shard {
    /// Part `index` of `count`.
    ///
    /// # Errors
    /// When `count` is 0 or `index` is not below it.
    pub fn new(index: u64, count: u64) -> Result<Shard, String> {
        if count == 0 {
            return Err("a shard count must be at least 1".into());
        }
        if index >= count {
            return Err(format!(
                "shard {index} of {count}: the index must be below the count (0-based)"
            ));
        }
        Ok(Shard { index, count })
    }

    /// Does unit number `k` belong to this part?
    pub fn owns_position(&self, k: u64) -> bool {
        k % self.count == self.index
    }

    /// Does an entry found under a directory input belong to this part?
    pub fn owns_path(&self, path: &Path) -> bool {
        xxhash_rust::xxh3::xxh3_64(&os_bytes(path.as_os_str())) % self.count == self.index
    }
}

/// What the walk found.
#[derive(Debug)]
pub(crate) enum Found {
    /// A regular file to read.
    File {
        /// Its path.
        path: PathBuf,
        /// Its size when walked.
        size: u64,
    },
    /// A path that could not be walked, opened or listed: a failed item.
    Failed(Location, Failure),
    /// Something skipped on purpose (a special file, a symlink not followed), with the reason
    /// key used in the summary.
    Skipped(&'static str),
    /// Content given in memory, read as a file of that name.
    Bytes {
        /// The name.
        name: PathBuf,
        /// The content.
        data: Data,
    },
}

/// Walks every input (this part of them, with a shard), calling `emit` from several threads
/// with each thing found.
///
/// # Threading
/// Directories are walked by `opts.threads` threads; `emit` must be cheap and thread-safe
/// (typically a send on a bounded channel) and returns false to stop the walk early (the
/// reader of the results went away). Returns when every input is exhausted or stopped.
pub(crate) fn walk_inputs(
    inputs: Vec<Input>,
    opts: &WalkOptions,
    emit: &(dyn Fn(Found) -> bool + Sync),
) {
    let mut position = 0u64;
    let mut mine = || {
        let k = position;
        position += 1;
        opts.shard.is_none_or(|s| s.owns_position(k))
    };
    for input in inputs {
        match input {
            Input::Path(p) => {
                // A directory given as a path is split by its entries; anything else is one
                // unit.
                let split = opts
                    .shard
                    .filter(|_| fs::metadata(&p).is_ok_and(|m| m.is_dir()));
                if mine() || split.is_some() {
                    walk_path(&p, opts, split, emit);
                }
            }
            Input::Bytes { name, bytes } => {
                if mine() {
                    emit(Found::Bytes {
                        name,
                        data: Data::from_shared(bytes),
                    });
                }
            }
            Input::FilesFrom { list, nul } => {
                let sep = if nul { 0 } else { b'\n' };
                let mut each = |p: PathBuf| {
                    if mine() {
                        walk_path(&p, opts, None, emit)
                    }
                };
                let res = if list.as_os_str() == "-" {
                    read_records(io::stdin().lock(), sep, &mut each)
                } else {
                    match fs::File::open(&list) {
                        Ok(f) => read_records(io::BufReader::new(f), sep, &mut each),
                        Err(e) => Err(e),
                    }
                };
                // The failure to read a list is reported by one part only.
                if let (Err(e), true) = (res, opts.shard.is_none_or(|s| s.index == 0)) {
                    emit(Found::Failed(
                        Location::file(list, 0),
                        Failure::new(FailKind::Open, format!("cannot read path list: {e}")),
                    ));
                }
            }
        }
    }
}

/// Reads `sep`-terminated records (a trailing CR is kept only in NUL mode), skipping empty ones.
fn read_records(mut r: impl BufRead, sep: u8, each: &mut dyn FnMut(PathBuf)) -> io::Result<()> {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if r.read_until(sep, &mut buf)? == 0 {
            return Ok(());
        }
        if buf.last() == Some(&sep) {
            buf.pop();
        }
        if sep == b'\n' && buf.last() == Some(&b'\r') {
            buf.pop();
        }
        if !buf.is_empty() {
            each(path_from_bytes(&buf));
        }
    }
}

/// Walks one path; with `split`, only the entries beneath it that belong to that part.
fn walk_path(
    path: &Path,
    opts: &WalkOptions,
    split: Option<Shard>,
    emit: &(dyn Fn(Found) -> bool + Sync),
) {
    // A path named by the user is followed even when it is a symlink, as other tools do.
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            let kind = if e.kind() == io::ErrorKind::NotFound {
                "not found"
            } else {
                "cannot stat"
            };
            emit(Found::Failed(
                Location::file(path.to_path_buf(), 0),
                Failure::new(FailKind::Open, format!("{kind}: {e}")),
            ));
            return;
        }
    };
    // A block device named as an input (a disk an examiner hashes, as dd and hashdeep read
    // it) is read whole; one met while walking is skipped, as every special file is.
    if meta.is_file() || is_block_device(&meta) {
        emit(Found::File {
            path: path.to_path_buf(),
            size: meta.len(),
        });
        return;
    }
    if !meta.is_dir() {
        emit(Found::Skipped("special"));
        return;
    }
    let walker = ignore::WalkBuilder::new(path)
        .standard_filters(false)
        .follow_links(opts.follow)
        .threads(opts.threads)
        .build_parallel();
    walker.run(|| {
        Box::new(move |entry| {
            let go_on = match entry {
                Ok(entry) if split.is_none_or(|s| s.owns_path(entry.path())) => {
                    classify(entry, emit)
                }
                // Another part's entry (directories are walked by every part, and only what
                // lies beneath them is shared out).
                Ok(_) => true,
                Err(err) => {
                    let f = walk_failure(path, err);
                    let owned = match (&f, split) {
                        (Found::Failed(loc, _), Some(s)) => s.owns_path(&loc.path),
                        _ => true,
                    };
                    !owned || emit(f)
                }
            };
            if go_on {
                ignore::WalkState::Continue
            } else {
                ignore::WalkState::Quit
            }
        })
    });
}

fn classify(entry: ignore::DirEntry, emit: &(dyn Fn(Found) -> bool + Sync)) -> bool {
    let Some(ft) = entry.file_type() else {
        // Only stdin has no file type; the walker never yields it here.
        return true;
    };
    if ft.is_dir() {
        true
    } else if ft.is_symlink() {
        emit(Found::Skipped("symlink"))
    } else if !ft.is_file() {
        emit(Found::Skipped("special"))
    } else {
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        emit(Found::File {
            path: entry.into_path(),
            size,
        })
    }
}

fn walk_failure(root: &Path, err: ignore::Error) -> Found {
    let path = error_path(&err).unwrap_or(root).to_path_buf();
    let io_msg = err
        .io_error()
        .map(|e| e.to_string())
        .unwrap_or_else(|| strip_context(&err));
    Found::Failed(
        Location::file(path, 0),
        Failure::new(FailKind::Walk, io_msg),
    )
}

fn error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child),
        _ => None,
    }
}

fn strip_context(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { err, .. } | ignore::Error::WithDepth { err, .. } => {
            strip_context(err)
        }
        ignore::Error::Loop { ancestor, .. } => {
            format!("symlink loop back to {}", ancestor.display())
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn collect(inputs: &[Input], follow: bool) -> Vec<String> {
        let out = Mutex::new(Vec::new());
        walk_inputs(
            inputs.to_vec(),
            &WalkOptions {
                follow,
                threads: 2,
                shard: None,
            },
            &|f| {
                let s = match f {
                    Found::File { path, size } => format!("file {} {size}", path.display()),
                    Found::Failed(loc, fail) => {
                        format!("failed {} {}", loc.path.display(), fail.kind.name())
                    }
                    Found::Skipped(why) => format!("skipped {why}"),
                    Found::Bytes { name, data } => {
                        format!("bytes {} {}", name.display(), data.len())
                    }
                };
                out.lock().unwrap().push(s);
                true
            },
        );
        let mut v = out.into_inner().unwrap();
        v.sort();
        v
    }

    #[test]
    fn walks_files_skips_links_and_reports_missing() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir(d.join("sub")).unwrap();
        fs::write(d.join("a.txt"), b"abc").unwrap();
        fs::write(d.join("sub/b.txt"), b"hello").unwrap();
        std::os::unix::fs::symlink(d.join("a.txt"), d.join("link")).unwrap();
        let got = collect(
            &[Input::Path(d.to_path_buf()), Input::Path(d.join("missing"))],
            false,
        );
        let p = |s: &str| d.join(s).display().to_string();
        assert_eq!(
            got,
            vec![
                format!("failed {} open", p("missing")),
                format!("file {} 3", p("a.txt")),
                format!("file {} 5", p("sub/b.txt")),
                "skipped symlink".to_string(),
            ]
        );
        let followed = collect(&[Input::Path(d.to_path_buf())], true);
        assert!(
            followed.contains(&format!("file {} 3", p("link"))),
            "{followed:?}"
        );
    }

    #[test]
    fn files_from_with_nul_and_newline() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("x y"), b"1").unwrap();
        fs::write(d.join("new\nline"), b"22").unwrap();
        let list0 = d.join("list0");
        let mut bytes = Vec::new();
        for n in ["x y", "new\nline"] {
            bytes.extend_from_slice(d.join(n).to_str().unwrap().as_bytes());
            bytes.push(0);
        }
        fs::write(&list0, &bytes).unwrap();
        let got = collect(
            &[Input::FilesFrom {
                list: list0,
                nul: true,
            }],
            false,
        );
        assert_eq!(got.len(), 2, "{got:?}");
        let list = d.join("list");
        fs::write(&list, format!("{}\r\n\n", d.join("x y").display())).unwrap();
        let got = collect(&[Input::FilesFrom { list, nul: false }], false);
        assert_eq!(got, vec![format!("file {} 1", d.join("x y").display())]);
    }

    #[test]
    fn fifo_is_skipped_not_opened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let got = collect(&[Input::Path(dir.path().to_path_buf())], false);
        assert_eq!(got, vec!["skipped special".to_string()]);
    }
}
