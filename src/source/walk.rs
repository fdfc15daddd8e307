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
    /// Which files to read, by name and size; the others are skipped and counted.
    pub filter: FileFilter,
}

/// Which files on disk to read (`--include`, `--exclude`, `--min-size`, `--max-size`, as
/// hashdeep's `-i`/`-I` and clamscan's `--exclude`/`--max-filesize`): a file outside is skipped
/// and counted (reason `excluded` or `size`), never opened. A glob without `/` is matched
/// against the file's name, one with `/` against its whole path as given or walked (`*`
/// crosses `/` there; `**` too). Archive members and standard input are not filtered.
#[derive(Clone, Debug, Default)]
pub struct FileFilter {
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
    min_size: Option<u64>,
    max_size: Option<u64>,
}

/// One glob: matched against the name or the whole path.
#[derive(Clone, Debug)]
struct Pattern {
    glob: globset::GlobMatcher,
    whole_path: bool,
}

impl FileFilter {
    /// A filter: files matching an `include` glob (any file when there is none) and no
    /// `exclude` glob, of `min_size..=max_size` bytes.
    ///
    /// # Errors
    /// A glob that does not parse, named.
    pub fn new(
        include: &[String],
        exclude: &[String],
        min_size: Option<u64>,
        max_size: Option<u64>,
    ) -> Result<FileFilter, String> {
        let compile = |globs: &[String]| -> Result<Vec<Pattern>, String> {
            globs
                .iter()
                .map(|g| {
                    let glob = globset::GlobBuilder::new(g)
                        .backslash_escape(true)
                        .build()
                        .map_err(|e| format!("bad glob {g:?}: {}", e.kind()))?;
                    Ok(Pattern {
                        glob: glob.compile_matcher(),
                        whole_path: g.contains('/'),
                    })
                })
                .collect()
        };
        Ok(FileFilter {
            include: compile(include)?,
            exclude: compile(exclude)?,
            min_size,
            max_size,
        })
    }

    /// Why the file at `path` of `size` bytes is not read, `None` when it is.
    fn skips(&self, path: &Path, size: u64) -> Option<&'static str> {
        let hit = |p: &Pattern| {
            if p.whole_path {
                p.glob.is_match(path)
            } else {
                path.file_name().is_some_and(|n| p.glob.is_match(n))
            }
        };
        if self.exclude.iter().any(hit)
            || !(self.include.is_empty() || self.include.iter().any(hit))
        {
            return Some("excluded");
        }
        if self.min_size.is_some_and(|m| size < m) || self.max_size.is_some_and(|m| size > m) {
            return Some("size");
        }
        None
    }

    /// Whether the filter lets every file through.
    fn is_open(&self) -> bool {
        self.include.is_empty()
            && self.exclude.is_empty()
            && self.min_size.is_none()
            && self.max_size.is_none()
    }
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
    /// Standard input, read as it streams (see [`crate::model::Input::Stdin`]).
    Stdin,
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
    // Files the filter leaves out become skipped entries.
    let filtered = |found: Found| match found {
        Found::File { ref path, size } => match opts.filter.skips(path, size) {
            Some(why) => emit(Found::Skipped(why)),
            None => emit(found),
        },
        other => emit(other),
    };
    let emit: &(dyn Fn(Found) -> bool + Sync) = if opts.filter.is_open() {
        emit
    } else {
        &filtered
    };
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
            Input::Stdin => {
                if mine() {
                    emit(Found::Stdin);
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
                let mut each = |number: u64, rec: Result<PathBuf, String>| {
                    if !mine() {
                        return;
                    }
                    match rec {
                        Ok(p) => walk_path(&p, opts, None, emit),
                        Err(reason) => {
                            let mut at = list.as_os_str().to_owned();
                            at.push(format!(":{number}"));
                            emit(Found::Failed(
                                Location::file(PathBuf::from(at), 0),
                                Failure::new(FailKind::List, reason),
                            ));
                        }
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

/// Longest record of a path list: 16 times Linux's `PATH_MAX` (4,096 bytes, the longest path
/// `open(2)` accepts; 1,024 on macOS), so no path the system could open is refused, while a
/// list that is not one (a binary file, an endless stream) is never buffered beyond it.
pub(crate) const MAX_PATH_RECORD: usize = 64 << 10;

/// Reads `sep`-terminated records (a trailing CR is kept only in NUL mode), skipping empty
/// ones, and calls `each` with the record's number (1-based, empty records counted) and its
/// path, or why it is not one: a record longer than [`MAX_PATH_RECORD`] is skipped to its
/// separator without being kept.
///
/// # Errors
/// Reading fails, or a newline-separated list holds a NUL byte (no path holds one: the file
/// is NUL-separated and needs `-0`, or is not a path list at all, e.g. `/dev/zero`).
fn read_records(
    mut r: impl BufRead,
    sep: u8,
    each: &mut dyn FnMut(u64, Result<PathBuf, String>),
) -> io::Result<()> {
    let mut buf = Vec::new();
    let mut number = 0u64;
    loop {
        buf.clear();
        // The record's bytes went past the bound: the rest is skipped, not kept.
        let mut over = false;
        let mut read_any = false;
        loop {
            let chunk = match r.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            read_any = true;
            let end = memchr::memchr(sep, chunk);
            let part = &chunk[..end.unwrap_or(chunk.len())];
            if sep != 0 && memchr::memchr(0, part).is_some() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "record {} holds a NUL byte: not a list of paths one per line \
                         (a NUL-separated list needs -0)",
                        number + 1
                    ),
                ));
            }
            // One byte of slack for the CR of a CRLF line.
            if !over && buf.len() + part.len() > MAX_PATH_RECORD + 1 {
                over = true;
                buf = Vec::new();
            }
            if !over {
                buf.extend_from_slice(part);
            }
            let used = part.len() + usize::from(end.is_some());
            r.consume(used);
            if end.is_some() {
                break;
            }
        }
        if !read_any {
            return Ok(());
        }
        number += 1;
        if over {
            each(
                number,
                Err(format!(
                    "path list record longer than {MAX_PATH_RECORD} bytes, skipped (no path \
                     the system opens is that long)"
                )),
            );
            continue;
        }
        if sep == b'\n' && buf.last() == Some(&b'\r') {
            buf.pop();
        }
        if !buf.is_empty() {
            each(number, Ok(path_from_bytes(&buf)));
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
    use std::io::Read;
    use std::sync::Mutex;

    fn collect(inputs: &[Input], follow: bool) -> Vec<String> {
        let out = Mutex::new(Vec::new());
        walk_inputs(
            inputs.to_vec(),
            &WalkOptions {
                follow,
                threads: 2,
                shard: None,
                filter: FileFilter::default(),
            },
            &|f| {
                let s = match f {
                    Found::File { path, size } => format!("file {} {size}", path.display()),
                    Found::Failed(loc, fail) => {
                        format!("failed {} {}", loc.path.display(), fail.kind.name())
                    }
                    Found::Skipped(why) => format!("skipped {why}"),
                    Found::Stdin => "stdin".to_string(),
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

    /// What [`read_records`] gave: `(number, path or reason)`.
    type Got = Vec<(u64, Result<String, String>)>;

    /// Runs [`read_records`] on `input`, collecting what it gives.
    fn records(input: impl BufRead, sep: u8) -> (io::Result<()>, Got) {
        let mut got = Vec::new();
        let res = read_records(input, sep, &mut |n, r| {
            got.push((n, r.map(|p| p.display().to_string())))
        });
        (res, got)
    }

    #[test]
    fn over_long_path_record_is_reported_and_reading_goes_on() {
        for (sep, filler) in [(b'\n', b'a'), (0u8, b'b')] {
            let mut list = b"first".to_vec();
            list.push(sep);
            list.push(sep);
            // 10 MiB in one record: reported as record 3, never kept whole.
            list.extend(std::iter::repeat_n(filler, 10 << 20));
            list.push(sep);
            list.extend_from_slice(b"last\r");
            list.push(sep);
            let (res, got) = records(io::Cursor::new(list), sep);
            res.unwrap();
            assert_eq!(
                got.len(),
                3,
                "{:?}",
                got.iter().map(|g| g.0).collect::<Vec<_>>()
            );
            assert_eq!(got[0], (1, Ok("first".to_string())));
            assert_eq!(got[1].0, 3);
            let reason = got[1].1.as_ref().unwrap_err();
            assert!(reason.contains("longer than 65536 bytes"), "{reason}");
            let last = if sep == 0 { "last\r" } else { "last" };
            assert_eq!(got[2], (4, Ok(last.to_string())));
        }
        // A record of exactly the bound is a path.
        let mut list = vec![b'x'; MAX_PATH_RECORD];
        list.push(b'\n');
        let (res, got) = records(io::Cursor::new(list), b'\n');
        res.unwrap();
        assert!(matches!(&got[..], [(1, Ok(p))] if p.len() == MAX_PATH_RECORD));
    }

    #[test]
    fn nul_bytes_in_a_newline_list_stop_it() {
        // /dev/zero read as a newline-separated list: one endless line of NULs. Bounded here
        // (64 MiB) so that a reader without the check ends too.
        let (res, got) = records(io::BufReader::new(io::repeat(0).take(64 << 20)), b'\n');
        let err = res.unwrap_err();
        assert!(
            err.to_string().contains("record 1 holds a NUL byte"),
            "{err}"
        );
        assert!(got.is_empty());
        // After good records: the number of the bad one.
        let (res, got) = records(io::Cursor::new(b"a\nb\nc\0d\n".to_vec()), b'\n');
        assert!(res.unwrap_err().to_string().contains("record 3"));
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn files_from_dev_zero_ends_with_a_failure() {
        let got = collect(
            &[Input::FilesFrom {
                list: "/dev/zero".into(),
                nul: false,
            }],
            false,
        );
        assert_eq!(got, vec!["failed /dev/zero open".to_string()]);
    }
}
