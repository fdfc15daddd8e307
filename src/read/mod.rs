//! Reading bytes: memory maps with a read() fallback.
//!
//! [`Data`] is what every later stage sees: a byte slice that is either a window of a shared
//! memory map or an owned buffer. The only `unsafe` code of the crate lives in its private
//! `mmap` and `guard` modules (the maps, and the SIGBUS guard that turns a read past the end of a
//! file truncated while mapped into a failed item).
//!
//! This module is private to the crate, as BLAKE3 keeps its maps: a mapped slice never
//! reaches a caller of the library (the engine takes paths or owned bytes and returns owned
//! records), so the map's one hazard (a file changed under it, see `mmap.rs`) is the
//! engine's documented risk on its own inputs, never a safe caller's undefined behaviour.

mod guard;
pub(crate) mod mmap;

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

pub use mmap::MmapPolicy;

use crate::model::SharedBytes;

/// Files smaller than this are read into memory: mapping, faulting and unmapping a file
/// (with a TLB shootdown on every core at unmap) costs more than copying it. Measured on the
/// 20,000-file benchmark tree (1–200 KiB files, xxh3): read() 0.41 s, mmap 0.61 s.
pub const MIN_MAP_LEN: u64 = 4 << 20;

/// Regular files (and block devices) of at least this many bytes that are read rather than
/// mapped (`--no-mmap`, or a map refused) are streamed through a bounded buffer
/// ([`FileStream`]) instead of being read whole into memory: a 4 GiB file used to take 4 GiB
/// of RAM. Below it a file is read whole, as the hashers and decoders want one slice.
pub const STREAM_MIN_LEN: u64 = 64 << 20;

/// An opened input: its bytes, or a stream over it when it is large and not mapped.
pub(crate) enum Opened {
    /// Mapped, or read whole.
    Data(Data),
    /// Large and read(): to be read through a bounded buffer.
    Stream(FileStream),
}

/// The error of a file that changed while it was read through a [`FileStream`]: its bytes
/// are neither the old nor the new content. Carried inside an [`io::Error`] (kind
/// `UnexpectedEof`) so that it crosses decoders; see [`changed_while_read`].
#[derive(Debug)]
pub(crate) struct ChangedWhileRead(String);

impl std::fmt::Display for ChangedWhileRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ChangedWhileRead {}

/// Is `e` (or the error it wraps) a [`ChangedWhileRead`]? Then its message is the reason.
pub(crate) fn changed_while_read(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|e| e.is::<ChangedWhileRead>())
}

/// A large file read from start to end by read(), never held whole: it checks that exactly
/// the bytes the file had when opened were read (no fewer: it shrank; no more: it grew) and
/// that its modification time did not change; else the read fails with a
/// [`ChangedWhileRead`] error.
pub(crate) struct FileStream {
    file: File,
    len: u64,
    pos: u64,
    modified: Option<std::time::SystemTime>,
    /// The end was reached and checked.
    ended: bool,
}

impl FileStream {
    fn new(file: File, len: u64) -> io::Result<FileStream> {
        let modified = file.metadata()?.modified().ok();
        Ok(FileStream {
            file,
            len,
            pos: 0,
            modified,
            ended: false,
        })
    }

    /// The file's size when opened.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The same file read at positions instead ([`FileAt`], a duplicate descriptor), with the
    /// size and modification time it had when this stream opened it.
    ///
    /// # Errors
    /// When the descriptor cannot be duplicated.
    pub fn at(&self) -> io::Result<FileAt> {
        Ok(FileAt {
            file: self.file.try_clone()?,
            len: self.len,
            modified: self.modified,
        })
    }

    /// Back to the first byte (after a look at the head).
    pub fn rewind(&mut self) -> io::Result<()> {
        self.file.rewind()?;
        self.pos = 0;
        self.ended = false;
        Ok(())
    }

    fn changed(&self, why: String) -> io::Error {
        io::Error::new(io::ErrorKind::UnexpectedEof, ChangedWhileRead(why))
    }

    /// At the end: nothing more to read, same size, same modification time.
    fn check_end(&mut self) -> io::Result<()> {
        let mut more = [0u8; 1];
        if self.file.read(&mut more)? > 0 {
            return Err(self.changed(format!(
                "the file grew while it was read ({} bytes when opened)",
                self.len
            )));
        }
        let meta = self.file.metadata()?;
        if meta.is_file() && meta.len() != self.len {
            return Err(self.changed(format!(
                "the file changed size while it was read ({} bytes when opened, {} now)",
                self.len,
                meta.len()
            )));
        }
        match (self.modified, meta.modified().ok()) {
            (Some(then), Some(now)) if then != now => {
                Err(self.changed("the file was modified while it was read".into()))
            }
            _ => Ok(()),
        }
    }
}

impl Read for FileStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len {
            if !self.ended && !buf.is_empty() {
                self.check_end()?;
                self.ended = true;
            }
            return Ok(0);
        }
        let want = usize::try_from(self.len - self.pos).map_or(buf.len(), |r| r.min(buf.len()));
        let n = loop {
            match self.file.read(&mut buf[..want]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        if n == 0 && want > 0 {
            return Err(self.changed(format!(
                "the file shrank while it was read ({} bytes when opened, it ended after {})",
                self.len, self.pos
            )));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// A file opened to be read where its parts are ([`Data::random`]).
pub(crate) enum Random {
    /// Mapped, or read whole.
    Data(Data),
    /// Large and not mapped: read at positions.
    At(FileAt),
}

/// A file read at positions it names (pread), never mapped nor held whole: a zip read with
/// `--no-mmap` (or spooled from standard input), whose central directory is at its end and
/// whose members are read where the directory says. Shared by the threads that read members:
/// positioned reads need no seek, so one descriptor serves them all.
pub(crate) struct FileAt {
    file: File,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl FileAt {
    /// Reads `file` (of `len` bytes when opened) at positions.
    ///
    /// # Errors
    /// When its metadata cannot be read.
    pub fn new(file: File, len: u64) -> io::Result<FileAt> {
        let modified = file.metadata()?.modified().ok();
        Ok(FileAt {
            file,
            len,
            modified,
        })
    }

    /// Its size when opened.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Fills `buf` from offset `at`, or fails: a read past the file's size when opened is
    /// [`io::ErrorKind::UnexpectedEof`]; a file that ended sooner (it shrank) is a
    /// [`ChangedWhileRead`] error.
    pub fn read_exact_at(&self, mut buf: &mut [u8], mut at: u64) -> io::Result<()> {
        if at.saturating_add(buf.len() as u64) > self.len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of the file",
            ));
        }
        while !buf.is_empty() {
            match self.read_at(buf, at) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        ChangedWhileRead(format!(
                            "the file shrank while it was read ({} bytes when opened, it ended \
                             at {at})",
                            self.len
                        )),
                    ))
                }
                Ok(n) => {
                    buf = &mut buf[n..];
                    at += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    #[cfg(unix)]
    fn read_at(&self, buf: &mut [u8], at: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(&self.file, buf, at)
    }

    #[cfg(windows)]
    fn read_at(&self, buf: &mut [u8], at: u64) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(&self.file, buf, at)
    }

    /// A reader of the `len` bytes at `at` (cut at the file's size when opened), through a
    /// buffer of [`AT_BUFFER`] bytes.
    pub fn range(&self, at: u64, len: u64) -> io::BufReader<RangeAt<'_>> {
        let end = at.saturating_add(len).min(self.len);
        io::BufReader::with_capacity(
            AT_BUFFER,
            RangeAt {
                file: self,
                pos: at.min(end),
                end,
            },
        )
    }

    /// Why the file's bytes may not be what they were when opened (its size or modification
    /// time changed), or `None`.
    pub fn changed(&self) -> Option<String> {
        let meta = self.file.metadata().ok()?;
        if meta.is_file() && meta.len() != self.len {
            return Some(format!(
                "the file changed size while it was read ({} bytes when opened, {} now)",
                self.len,
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
}

/// Bytes a [`FileAt::range`] reader reads at a time.
pub const AT_BUFFER: usize = 256 << 10;

/// A range of a [`FileAt`], read in order.
pub(crate) struct RangeAt<'a> {
    file: &'a FileAt,
    pos: u64,
    end: u64,
}

impl Read for RangeAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = usize::try_from(self.end - self.pos).map_or(buf.len(), |r| r.min(buf.len()));
        self.file.read_exact_at(&mut buf[..n], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl crate::source::zip::ZipBytes for FileAt {
    fn len(&self) -> u64 {
        self.len
    }

    fn get(&self, at: u64, len: usize) -> io::Result<std::borrow::Cow<'_, [u8]>> {
        let start = at.min(self.len);
        let n = usize::try_from(self.len - start).map_or(len, |r| r.min(len));
        let mut buf = vec![0u8; n];
        self.read_exact_at(&mut buf, start)?;
        Ok(std::borrow::Cow::Owned(buf))
    }
}

/// Bytes to work on: a range of a shared memory map, or an owned buffer.
#[derive(Clone)]
pub(crate) struct Data {
    backing: Backing,
    range: Range<usize>,
}

#[derive(Clone)]
enum Backing {
    Map(Arc<mmap::Map>),
    Owned(Arc<Vec<u8>>),
    Shared(SharedBytes),
}

impl Data {
    /// Wraps an owned buffer.
    pub fn from_vec(v: Vec<u8>) -> Data {
        let len = v.len();
        Data {
            backing: Backing::Owned(Arc::new(v)),
            range: 0..len,
        }
    }

    /// Wraps bytes a caller owns, without copying them.
    pub fn from_shared(b: SharedBytes) -> Data {
        let len = b.as_slice().len();
        Data {
            backing: Backing::Shared(b),
            range: 0..len,
        }
    }

    /// Opens the regular file `path` and returns its whole content, mapped when `policy`
    /// allows and the file is large enough, else read into memory.
    ///
    /// # Errors
    /// Any I/O error from opening, mapping or reading the file; [`io::ErrorKind::InvalidInput`]
    /// when `path` is not a regular file (a fifo, socket or device).
    pub fn open(path: &Path, policy: MmapPolicy) -> io::Result<Data> {
        Data::open_as(path, policy, false)
    }

    /// Like [`Data::open`], accepting a block device too (a disk an examiner names, read
    /// whole, as dd and hashdeep read it).
    ///
    /// # Errors
    /// As [`Data::open`].
    #[cfg(test)]
    pub fn open_input(path: &Path, policy: MmapPolicy) -> io::Result<Data> {
        Data::open_as(path, policy, true)
    }

    /// Like [`Data::open_input`], but a file of at least [`STREAM_MIN_LEN`] bytes that is not
    /// mapped (`--no-mmap`, or a map refused) comes back as a [`FileStream`] to read through a
    /// bounded buffer, never whole.
    ///
    /// # Errors
    /// As [`Data::open`].
    pub(crate) fn open_input_streamed(path: &Path, policy: MmapPolicy) -> io::Result<Opened> {
        let (file, len) = Data::open_file(path, true)?;
        if len >= STREAM_MIN_LEN {
            if policy != MmapPolicy::Never {
                if let Some(data) = Data::map(&file, len, policy)? {
                    return Ok(Opened::Data(data));
                }
            }
            return Ok(Opened::Stream(FileStream::new(file, len)?));
        }
        Data::from_file(&file, len, policy).map(Opened::Data)
    }

    /// An opened file of `len` bytes read where its parts are (a zip spooled from standard
    /// input): mapped when `policy` allows, read whole when small, else read at positions
    /// ([`FileAt`]) when it is at least [`STREAM_MIN_LEN`] bytes and not mapped.
    ///
    /// # Errors
    /// As [`Data::open`].
    pub(crate) fn random(mut file: File, len: u64, policy: MmapPolicy) -> io::Result<Random> {
        file.rewind()?;
        if len >= STREAM_MIN_LEN {
            if policy != MmapPolicy::Never {
                if let Some(data) = Data::map(&file, len, policy)? {
                    return Ok(Random::Data(data));
                }
            }
            return FileAt::new(file, len).map(Random::At);
        }
        Data::from_file(&file, len, policy).map(Random::Data)
    }

    fn open_as(path: &Path, policy: MmapPolicy, devices: bool) -> io::Result<Data> {
        let (file, len) = Data::open_file(path, devices)?;
        Data::from_file(&file, len, policy)
    }

    /// Opens `path` for reading and returns it with its size, refusing what is not a regular
    /// file (or, with `devices`, a block device).
    fn open_file(path: &Path, devices: bool) -> io::Result<(File, u64)> {
        // Non-blocking, so that a path replaced by a fifo since it was listed cannot hang the
        // open; the type is then checked on the open file itself (fstat), not on the path.
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, libc::O_NONBLOCK);
        let file = opts.open(path)?;
        let meta = file.metadata()?;
        let len = if meta.is_file() {
            meta.len()
        } else if devices && is_block_device(&meta) {
            // A block device's metadata says 0 bytes: its size is where its end is.
            let mut f = &file;
            let len = f.seek(SeekFrom::End(0))?;
            f.rewind()?;
            len
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file (a fifo, socket or device; replaced since it was listed?)",
            ));
        };
        Ok((file, len))
    }

    /// A map of the file when `policy` allows it and the file is large enough for mapping to
    /// pay; `None` when it is to be read.
    fn map(file: &File, len: u64, policy: MmapPolicy) -> io::Result<Option<Data>> {
        let map = match policy {
            MmapPolicy::Auto => len >= MIN_MAP_LEN,
            MmapPolicy::Always => true,
            MmapPolicy::Never => false,
        };
        if map {
            if let Some(map) = mmap::Map::new(file, len, policy == MmapPolicy::Auto)? {
                let len = map.len();
                return Ok(Some(Data {
                    backing: Backing::Map(Arc::new(map)),
                    range: 0..len,
                }));
            }
        }
        Ok(None)
    }

    /// The content of an opened file of `len` bytes (its size when opened).
    ///
    /// # Errors
    /// Any I/O error from mapping or reading the file, and a file whose size changed while it
    /// was read (its bytes are then neither the old nor the new content).
    fn from_file(file: &File, len: u64, policy: MmapPolicy) -> io::Result<Data> {
        if let Some(data) = Data::map(file, len, policy)? {
            return Ok(data);
        }
        let mut buf = Vec::new();
        let hint = usize::try_from(len).unwrap_or(0).min(1 << 30);
        buf.try_reserve(hint)
            .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e))?;
        let mut f = file;
        f.read_to_end(&mut buf)?;
        if buf.len() as u64 != len {
            return Err(io::Error::other(format!(
                "the file changed size while it was read ({len} bytes when opened, {} read)",
                buf.len()
            )));
        }
        Ok(Data::from_vec(buf))
    }

    /// Why these bytes may not be the file's any more, when they come from a map of a file
    /// that was resized or modified since it was mapped (see `mmap::Map::changed`); `None`
    /// for bytes in memory, whose read was checked already.
    pub fn changed(&self) -> Option<String> {
        match &self.backing {
            Backing::Map(m) => m.changed(),
            Backing::Owned(_) | Backing::Shared(_) => None,
        }
    }

    /// True when these bytes come from a map whose file shrank while it was read (the bytes
    /// past its new end read as zeros): cheap, for the members of a mapped archive.
    pub fn faulted(&self) -> bool {
        match &self.backing {
            Backing::Map(m) => m.faulted(),
            Backing::Owned(_) | Backing::Shared(_) => false,
        }
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.backing {
            Backing::Map(m) => &m.bytes()[self.range.clone()],
            Backing::Owned(v) => &v[self.range.clone()],
            Backing::Shared(b) => &b.as_slice()[self.range.clone()],
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// True when the bytes come from a memory map.
    pub fn is_mapped(&self) -> bool {
        matches!(self.backing, Backing::Map(_))
    }

    /// A sub-range sharing the same backing, or `None` when `range` is out of bounds.
    pub fn slice(&self, range: Range<usize>) -> Option<Data> {
        if range.start > range.end || range.end > self.range.len() {
            return None;
        }
        let start = self.range.start + range.start;
        Some(Data {
            backing: self.backing.clone(),
            range: start..start + range.len(),
        })
    }

    /// Maps the pages of `range` (relative to this slice) into the process in one call
    /// (`MADV_POPULATE_READ`), cheaper than faulting them in one by one; a no-op where the
    /// kernel lacks it or the bytes are not mapped.
    pub fn populate(&self, range: Range<usize>) {
        if let Backing::Map(m) = &self.backing {
            m.populate(self.range.start + range.start..self.range.start + range.end);
        }
    }

    /// Drops the pages of `range` (relative to this slice) from this process's mapping, so
    /// that reading a file far larger than memory keeps the resident set flat. The bytes stay
    /// readable: touching them again reads them back from the page cache or the file.
    pub fn release(&self, range: Range<usize>) {
        if let Backing::Map(m) = &self.backing {
            m.release(self.range.start + range.start..self.range.start + range.end);
        }
    }
}

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Data")
            .field("mapped", &self.is_mapped())
            .field("len", &self.len())
            .finish()
    }
}

/// Is this a block device (a disk, a partition, a loop device)?
#[cfg(unix)]
pub(crate) fn is_block_device(meta: &std::fs::Metadata) -> bool {
    std::os::unix::fs::FileTypeExt::is_block_device(&meta.file_type())
}

/// Is this a block device? (Never, off Unix.)
#[cfg(not(unix))]
pub(crate) fn is_block_device(_: &std::fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn mapped_and_read_agree() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let content: Vec<u8> = (0..(5u32 << 20)).map(|i| (i * 7) as u8).collect();
        f.write_all(&content).unwrap();
        let a = Data::open(f.path(), MmapPolicy::Auto).unwrap();
        let b = Data::open(f.path(), MmapPolicy::Never).unwrap();
        assert!(a.is_mapped());
        assert!(!b.is_mapped());
        assert_eq!(a.bytes(), &content[..]);
        assert_eq!(b.bytes(), &content[..]);
        let s = a.slice(10..20).unwrap();
        assert_eq!(s.bytes(), &content[10..20]);
        assert!(a.slice(10..(6 << 20)).is_none());
        a.release(0..a.len());
        assert_eq!(a.bytes(), &content[..]);
    }

    /// A file whose size changed between the open and the end of the read is an error, not
    /// a record of bytes that are neither the old nor the new content.
    #[test]
    fn size_changed_while_read_is_an_error() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"0123456789").unwrap();
        let file = File::open(f.path()).unwrap();
        let e = Data::from_file(&file, 20, MmapPolicy::Never).unwrap_err();
        assert!(e.to_string().contains("changed size"), "{e}");
        let ok = Data::from_file(&File::open(f.path()).unwrap(), 10, MmapPolicy::Never);
        assert_eq!(ok.unwrap().bytes(), b"0123456789");
    }

    /// A large file read through a [`FileStream`] must give exactly the bytes it had when
    /// opened: fewer (it shrank), more (it grew) or a new modification time fail the read.
    #[test]
    fn file_stream_sees_a_file_that_changed() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"0123456789").unwrap();
        let read = |len| {
            let mut s = FileStream::new(File::open(f.path()).unwrap(), len).unwrap();
            let mut out = Vec::new();
            s.read_to_end(&mut out).map(|_| out)
        };
        assert_eq!(read(10).unwrap(), b"0123456789");
        for (len, why) in [(20, "shrank"), (5, "grew")] {
            let e = read(len).unwrap_err();
            assert!(changed_while_read(&e), "{e}");
            assert!(e.to_string().contains(why), "{e}");
        }
        let mut s = FileStream::new(File::open(f.path()).unwrap(), 10).unwrap();
        let mut head = [0u8; 4];
        s.read_exact(&mut head).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(f.path())
            .unwrap()
            .set_len(8)
            .unwrap();
        let e = s.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("shrank"), "{e}");
    }

    /// Large files read with read() come back as streams, smaller ones as bytes; mapped
    /// large files stay maps.
    #[test]
    fn large_files_read_with_read_are_streamed() {
        let f = tempfile::NamedTempFile::new().unwrap();
        f.as_file().set_len(STREAM_MIN_LEN).unwrap();
        let opened = Data::open_input_streamed(f.path(), MmapPolicy::Never).unwrap();
        assert!(matches!(opened, Opened::Stream(ref s) if s.len() == STREAM_MIN_LEN));
        let opened = Data::open_input_streamed(f.path(), MmapPolicy::Auto).unwrap();
        assert!(matches!(opened, Opened::Data(ref d) if d.is_mapped()));
        f.as_file().set_len(STREAM_MIN_LEN - 1).unwrap();
        let opened = Data::open_input_streamed(f.path(), MmapPolicy::Never).unwrap();
        assert!(matches!(opened, Opened::Data(ref d) if !d.is_mapped()));
    }

    /// A fifo (a file replaced by one after the walk, or named as an index) is refused at once,
    /// never waited on; so is a character device.
    #[test]
    fn fifo_and_devices_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let (tx, rx) = std::sync::mpsc::channel();
        let p = fifo.clone();
        std::thread::spawn(move || {
            let _ = tx.send((
                Data::open_input(&p, MmapPolicy::Auto).map(|d| d.len()),
                Data::open(&p, MmapPolicy::Always).map(|d| d.len()),
            ));
        });
        let (input, index) = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("opening a fifo blocked");
        for r in [input, index] {
            let e = r.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        }
        let e = Data::open_input(Path::new("/dev/zero"), MmapPolicy::Auto).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
    }

    /// A mapped file that grows or is rewritten after it was mapped says so (a shrink is
    /// covered by the SIGBUS guard: see `pipeline::tests`).
    #[test]
    fn mapped_file_changed_after_mapping_is_seen() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&vec![7u8; 5 << 20]).unwrap();
        f.flush().unwrap();
        let a = Data::open(f.path(), MmapPolicy::Auto).unwrap();
        assert!(a.is_mapped());
        assert_eq!(a.changed(), None);
        f.write_all(b"more").unwrap();
        f.flush().unwrap();
        let why = a.changed().expect("growth seen");
        assert!(why.contains("changed size"), "{why}");
        // Same size, new content and modification time.
        let b = Data::open(f.path(), MmapPolicy::Auto).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut g = std::fs::OpenOptions::new()
            .write(true)
            .open(f.path())
            .unwrap();
        g.write_all(b"x").unwrap();
        g.flush().unwrap();
        drop(g);
        let why = b.changed().expect("rewrite seen");
        assert!(why.contains("modified"), "{why}");
    }

    #[test]
    fn empty_file_is_not_mapped() {
        let f = tempfile::NamedTempFile::new().unwrap();
        let a = Data::open(f.path(), MmapPolicy::Auto).unwrap();
        assert_eq!(a.len(), 0);
    }
}
