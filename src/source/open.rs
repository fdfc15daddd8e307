//! Opening one regular file: is it a plain item, a tar or zip archive, a compressed tar, or a
//! single compressed stream?
//!
//! Archives are recognised by content: a tar by a valid header in its first block (or, when
//! that header is damaged, in a later block of its first [`RECOGNITION_WINDOW`] bytes), a zip
//! by its end record, a gzip, zstd, xz or bzip2 stream by its magic number and then a tar in
//! its first decompressed bytes, by the same test. A compressed file that does not hold a tar
//! is a single stream whose content is an item of its own ([`super::stream`]). A 7z by its
//! signature header ([`super::sevenz`]); it is read at random (its header is at its end), so
//! one read as a stream (standard input, a large file with `--no-mmap`) is first copied to a
//! temporary file (`spool_data`); so is a zip piped on standard input (`spool`), while a
//! large zip under `--no-mmap` is read at positions. Containers vigie does not open (RAR; and any container it
//! cannot hold in memory when met as a member) are failed `unsupported` by the pipeline
//! (`unopened`): never reported clean with their content unread.

use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use crate::read::{Data, FileAt, FileStream, MmapPolicy, Opened};

use super::sevenz::is_7z;

use super::archive::{Budget, Format, Limits, MemberStream, Metered};
use super::stream::inner_name;
use super::tar::{is_tar_header, looks_like_tar, BLOCK_LEN, RECOGNITION_WINDOW};
use crate::model::{FailKind, Failure};

/// How files are opened.
#[derive(Clone, Copy, Debug)]
pub struct OpenOptions {
    /// May inputs be memory-mapped?
    pub mmap: MmapPolicy,
    /// Look inside archives (default). When false every file is one item.
    pub archives: bool,
    /// Bounds on what opening containers may cost.
    pub limits: Limits,
    /// Give an opened zip or compressed stream a record of its own, after its content's
    /// (default); false reports only what is inside (`--members-only`).
    pub container_records: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            mmap: MmapPolicy::Auto,
            archives: true,
            limits: Limits::default(),
            container_records: true,
        }
    }
}

/// Compression of a streamed tar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// gzip (`.tar.gz`, `.tgz`), possibly multi-member.
    Gzip,
    /// Zstandard (`.tar.zst`).
    Zstd,
    /// xz (`.tar.xz`, `.txz`), possibly several streams.
    Xz,
    /// bzip2 (`.tar.bz2`), possibly several streams.
    Bzip2,
}

impl Compression {
    /// Name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
            Compression::Bzip2 => "bzip2",
        }
    }

    /// The compression `head` (a stream's first bytes, at least 16 of them when
    /// it is that long) starts with, by magic bytes (see `unopened` for bzip2's).
    pub fn of(head: &[u8]) -> Option<Compression> {
        if is_gzip(head) {
            Some(Compression::Gzip)
        } else if head.starts_with(ZSTD_MAGIC) {
            Some(Compression::Zstd)
        } else if head.starts_with(XZ_MAGIC) {
            Some(Compression::Xz)
        } else if is_bzip2(head) {
            Some(Compression::Bzip2)
        } else {
            None
        }
    }
}

/// What a file turned out to hold.
pub(crate) enum Container {
    /// One item: the file's bytes.
    Blob(Data),
    /// An archive in memory whose members are read in place ([`Format::Tar`]), or in place
    /// and inflated from the map ([`Format::Zip`]).
    Archive(Format, Data),
    /// An archive read as a stream: a compressed tar (decoded as it is read), or an
    /// uncompressed one read with read() (a large file with `--no-mmap`, standard input).
    ArchiveStream(Option<Compression>, MemberStream),
    /// A compressed stream that holds no tar: its content is one item, named `name`
    /// ([`super::stream::inner_name`]), decoded from `raw` (the file's own bytes, also its own
    /// record's); `data` is the file when it was mapped or read into memory, to tell whether
    /// it changed while read.
    Compressed {
        /// How it is compressed.
        compression: Compression,
        /// The inner item's name.
        name: Vec<u8>,
        /// The compressed bytes, from their start.
        raw: Box<dyn Read + Send>,
        /// The file's bytes in memory, when they are.
        data: Option<Data>,
    },
    /// A stream of unknown length (standard input) that holds no tar: hashed as it streams;
    /// `head` holds its first bytes (up to [`SNIFF_LEN`]).
    Reader(Box<dyn Read + Send>, Vec<u8>),
    /// A large file read with read(), hashed as it streams; `head` holds its first bytes (up
    /// to [`HEAD_LEN`], for [`crate::perceptual::decode::sniff`] and [`crate::video::sniff`]).
    Stream(FileStream, Vec<u8>),
    /// A 7z archive, in memory (mapped, read whole, or copied from a stream by [`spool_data`]).
    SevenZ(Data),
    /// A large zip not mapped (`--no-mmap`): its directory and members read at positions.
    ZipAt(FileAt),
    /// A stream (standard input) that starts as a zip does: to be spooled to a file
    /// ([`spool`]), since a zip's directory is at its end.
    ZipStream(Box<dyn Read + Send>),
}

/// What [`spool`] made of a stream.
pub(crate) enum Spooled {
    /// All of it, in an unlinked temporary file, of this many bytes.
    File(std::fs::File, u64),
    /// More than the limit: the file holds its first bytes (past the limit, rewound), the
    /// rest is still to be read from the stream.
    Over(std::fs::File),
}

/// Copies `r` to an unlinked temporary file (in the system's temporary directory, `TMPDIR`),
/// at most `limit` bytes of it.
///
/// # Errors
/// An I/O error creating or writing the file (no space left), or reading `r`.
pub(crate) fn spool(r: &mut dyn Read, limit: u64) -> io::Result<Spooled> {
    use std::io::{Seek, Write};
    let mut file = tempfile::tempfile()?;
    let mut chunk = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = read_full(r, &mut chunk)?;
        if n == 0 {
            break;
        }
        file.write_all(&chunk[..n])?;
        len += n as u64;
        if len > limit {
            file.rewind()?;
            return Ok(Spooled::Over(file));
        }
    }
    file.rewind()?;
    Ok(Spooled::File(file, len))
}

/// Whether a stream's first bytes are a zip's: a local header, the end record of an empty
/// zip, or the marker of a split zip's first volume before a local header.
fn starts_as_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04")
        || head.starts_with(b"PK\x05\x06")
        || head.starts_with(b"PK\x07\x08PK\x03\x04")
}

/// Bytes of a streamed file's head kept to tell an image or a video from it.
pub(crate) const HEAD_LEN: usize = crate::video::SNIFF_LEN;
const _: () = assert!(HEAD_LEN >= 16 && HEAD_LEN <= RECOGNITION_WINDOW);

/// gzip's magic and its one compression method, deflate (8): `gzip -d` refuses any other, so
/// bytes that only start with 1f 8b (one file in 65,536 of random content) are not taken for
/// a gzip stream.
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b, 0x08];

/// Whether `head` starts a gzip member header: the magic, deflate, and no reserved flag bit
/// (RFC 1952: a decoder must refuse them).
fn is_gzip(head: &[u8]) -> bool {
    head.len() >= 4 && head.starts_with(GZIP_MAGIC) && head[3] & 0xE0 == 0
}
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const XZ_MAGIC: &[u8] = b"\xFD7zXZ\x00";

/// Opens `path` (a regular file, or a block device named as an input) and decides what it
/// holds.
///
/// # Errors
/// A [`Failure`] of kind `Open` or `Read` naming the I/O error.
pub(crate) fn open_file(path: &Path, opts: &OpenOptions) -> Result<Container, Failure> {
    let opened = Data::open_input_streamed(path, opts.mmap).map_err(|e| {
        let kind = match e.kind() {
            io::ErrorKind::NotFound
            | io::ErrorKind::PermissionDenied
            | io::ErrorKind::InvalidInput => FailKind::Open,
            _ => FailKind::Read,
        };
        Failure::new(kind, e.to_string())
    })?;
    match opened {
        Opened::Data(data) if !opts.archives => Ok(Container::Blob(data)),
        Opened::Data(data) => Ok(classify(data, path)),
        Opened::Stream(file) => classify_stream(file, opts.archives, path)
            .map_err(|e| Failure::new(FailKind::Read, e.to_string())),
    }
}

/// Decides what a large file read with read() holds, as [`classify`] does from its first
/// bytes (read, then the file is rewound): a tar or a compressed tar is walked as a stream,
/// anything else is hashed as it streams.
fn classify_stream(mut file: FileStream, archives: bool, path: &Path) -> io::Result<Container> {
    let mut first = vec![0u8; RECOGNITION_WINDOW];
    let n = read_full(&mut file, &mut first)?;
    file.rewind()?;
    let head = first[..n.min(HEAD_LEN)].to_vec();
    if !archives {
        return Ok(Container::Stream(file, head));
    }
    if looks_like_tar(&first[..n]) {
        return Ok(Container::ArchiveStream(
            None,
            MemberStream::tar(Box::new(file)),
        ));
    }
    if is_7z(&first[..n]) {
        return spool_data(&mut file).map(Container::SevenZ);
    }
    let at = file.at()?;
    if super::zip::is_zip(&at) {
        return Ok(Container::ZipAt(at));
    }
    let Some(compression) = Compression::of(&first[..n]) else {
        return Ok(Container::Stream(file, head));
    };
    let holds_tar = match decoder(compression, &mut file) {
        Ok(mut r) => decodes_to_tar(&mut r),
        Err(_) => false,
    };
    file.rewind()?;
    if !holds_tar {
        return Ok(Container::Compressed {
            compression,
            name: inner_name(compression, &first[..n], path),
            raw: Box::new(file),
            data: None,
        });
    }
    Ok(Container::ArchiveStream(
        Some(compression),
        MemberStream::tar(decoder(compression, file)?),
    ))
}

/// Decides what a stream read once from its start (standard input) holds, from its first
/// [`RECOGNITION_WINDOW`] bytes, which are kept and read again: a tar, a gzip or zstd stream
/// whose first decoded bytes are a tar (see [`classify`]), or anything else, hashed as it
/// streams. Without `archives` it is always one item.
///
/// # Errors
/// An I/O error reading its first bytes.
pub(crate) fn classify_reader(
    mut r: Box<dyn Read + Send>,
    archives: bool,
) -> io::Result<Container> {
    let mut first = vec![0u8; RECOGNITION_WINDOW];
    let n = read_full(&mut r, &mut first)?;
    first.truncate(n);
    let head = first[..n.min(SNIFF_LEN)].to_vec();
    let again =
        |first: Vec<u8>, r| -> Box<dyn Read + Send> { Box::new(io::Cursor::new(first).chain(r)) };
    if !archives {
        return Ok(Container::Reader(again(first, r), head));
    }
    if looks_like_tar(&first) {
        return Ok(Container::ArchiveStream(
            None,
            MemberStream::tar(again(first, r)),
        ));
    }
    if is_7z(&first) {
        return spool_data(&mut again(first, r)).map(Container::SevenZ);
    }
    if starts_as_zip(&first) {
        return Ok(Container::ZipStream(again(first, r)));
    }
    if let Some(c) = Compression::of(&first) {
        let holds_tar = match decoder(c, io::Cursor::new(&first[..])) {
            Ok(mut d) => decodes_to_tar(&mut d),
            Err(_) => false,
        };
        if holds_tar {
            let d = decoder(c, again(first, r))?;
            return Ok(Container::ArchiveStream(Some(c), MemberStream::tar(d)));
        }
        return Ok(Container::Compressed {
            compression: c,
            name: inner_name(c, &first, Path::new("-")),
            raw: again(first, r),
            data: None,
        });
    }
    Ok(Container::Reader(again(first, r), head))
}

/// Whether a decoder's first bytes hold a tar ([`looks_like_tar`]): its first block, and
/// only when that is not a header (a tar whose first header is damaged) the rest of the
/// recognition window.
fn decodes_to_tar(r: &mut dyn Read) -> bool {
    let mut head = vec![0u8; BLOCK_LEN];
    match read_full(r, &mut head) {
        Ok(BLOCK_LEN) if is_tar_header(&head) => true,
        Ok(BLOCK_LEN) => {
            head.resize(RECOGNITION_WINDOW, 0);
            read_full(r, &mut head[BLOCK_LEN..])
                .is_ok_and(|n| looks_like_tar(&head[..BLOCK_LEN + n]))
        }
        _ => false,
    }
}

/// Decides what `data` holds (see the module doc).
pub(crate) fn classify(data: Data, path: &Path) -> Container {
    classify_metered(data, path, None)
}

/// What container vigie opens `bytes` are, by the tests of [`classify`] (a zip only when they
/// start with a zip signature: a nested self-extractor is not looked for), for messages: e.g.
/// `"zip archive"`; `None` when they are none.
pub(crate) fn openable(bytes: &[u8]) -> Option<String> {
    if looks_like_tar(bytes) {
        return Some("tar archive".into());
    }
    if bytes.starts_with(b"PK") && super::zip::is_zip(bytes) {
        return Some("zip archive".into());
    }
    if is_7z(bytes) {
        return Some("7z archive".into());
    }
    Compression::of(bytes).map(|c| format!("{} stream", c.name()))
}

/// [`classify`], with a compressed tar's decoder charged to `budget` (a container opened
/// inside another: see [`super::archive::Budget`]).
pub(crate) fn classify_metered(data: Data, path: &Path, budget: Option<Arc<Budget>>) -> Container {
    let bytes = data.bytes();
    if looks_like_tar(bytes) {
        return Container::Archive(Format::Tar, data);
    }
    if super::zip::is_zip(bytes) {
        return Container::Archive(Format::Zip, data);
    }
    if is_7z(bytes) {
        return Container::SevenZ(data);
    }
    let Some(compression) = Compression::of(bytes) else {
        return Container::Blob(data);
    };
    // A decoding error means "not a tar".
    let holds_tar = match decoder(compression, reader(data.clone())) {
        Ok(mut r) => decodes_to_tar(&mut r),
        Err(_) => false,
    };
    if !holds_tar {
        return Container::Compressed {
            compression,
            name: inner_name(compression, bytes, path),
            raw: Box::new(reader(data.clone())),
            data: Some(data),
        };
    }
    match decoder(compression, reader(data.clone())) {
        Ok(r) => {
            let r: Box<dyn Read + Send> = match budget {
                Some(b) => Box::new(Metered::new(r, b)),
                None => r,
            };
            Container::ArchiveStream(Some(compression), MemberStream::tar(r))
        }
        Err(_) => Container::Blob(data),
    }
}

fn reader(data: Data) -> DataReader {
    DataReader {
        data,
        pos: 0,
        released: 0,
    }
}

/// A decoder of a compressed tar's stream: every gzip member, zstd frame, xz or bzip2
/// stream; its errors say what they mean for the stream ([`super::stream::Checked`]).
fn decoder<'a>(
    c: Compression,
    reader: impl Read + Send + 'a,
) -> io::Result<Box<dyn Read + Send + 'a>> {
    use super::stream::Checked;
    Ok(match c {
        Compression::Gzip => Box::new(Checked::new(c, flate2::read::MultiGzDecoder::new(reader))),
        Compression::Zstd => Box::new(Checked::new(c, zstd::stream::read::Decoder::new(reader)?)),
        Compression::Xz => Box::new(Checked::new(c, super::stream::xz_reader(reader)?)),
        Compression::Bzip2 => Box::new(Checked::new(c, bzip2::read::MultiBzDecoder::new(reader))),
    })
}

/// Copies a stream (standard input, a large file read with read()) to a temporary file,
/// deleted once mapped, and maps it: a 7z is read at random, which a stream cannot be. The
/// map is of vigie's own copy, which nothing else writes, so `--no-mmap` (about inputs that
/// may change under a map) does not forbid it. A file that changed while it was copied fails
/// the copy ([`FileStream`]).
///
/// # Errors
/// Reading the stream, or writing or mapping the copy (a full disk).
pub(crate) fn spool_data(r: &mut dyn Read) -> io::Result<Data> {
    use std::io::Write;
    let mut tmp = tempfile::NamedTempFile::new()?;
    io::copy(r, tmp.as_file_mut())?;
    tmp.as_file_mut().flush()?;
    Data::open(tmp.path(), MmapPolicy::Always)
}

/// Bytes [`unopened`] looks at: enough for every magic it knows.
pub(crate) const SNIFF_LEN: usize = 16;

/// The container an item's first bytes (at least [`SNIFF_LEN`] of them when the item is that
/// long) say it is, when vigie does not open it: its name for messages, e.g. `"7z archive"`.
///
/// Decided by magic bytes, never by name: 7z (met where it is not held in memory), RAR 4 and 5, xz, bzip2 (with the magic of its
/// first block or of an empty stream after the header, so that text starting with `BZh9` is
/// not taken for one), zip (a local header, or the end record of an empty zip), gzip and
/// zstd. An item that reaches the hasher with one of these and is not opened (a RAR, a
/// container member too large to hold, `--max-depth` aside) was hashed as one item, and its
/// content was not read.
pub(crate) fn unopened(head: &[u8]) -> Option<&'static str> {
    const MAGICS: &[(&[u8], &str)] = &[
        (b"7z\xBC\xAF\x27\x1C", "7z archive"),
        (b"Rar!\x1A\x07\x00", "RAR archive"),
        (b"Rar!\x1A\x07\x01\x00", "RAR 5 archive"),
        (XZ_MAGIC, "xz stream"),
        (b"PK\x03\x04", "zip archive"),
        (b"PK\x05\x06", "zip archive"),
        (b"PK\x07\x08PK\x03\x04", "zip archive"),
        (ZSTD_MAGIC, "zstd stream"),
    ];
    if let Some((_, name)) = MAGICS.iter().find(|(m, _)| head.starts_with(m)) {
        return Some(name);
    }
    if is_gzip(head) {
        return Some("gzip stream");
    }
    is_bzip2(head).then_some("bzip2 stream")
}

/// Whether `head` starts a bzip2 stream: its magic and the magic of its first block or of an
/// empty stream's end (so that text starting with `BZh9` is not taken for one).
fn is_bzip2(head: &[u8]) -> bool {
    head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && (head[4..10] == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]
            || head[4..10] == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90])
}

/// The failure of an item whose first bytes say it is a container vigie did not open
/// ([`unopened`]): kind `unsupported`, naming the format. The item's own digests still stand
/// (an exact hit on the container counts); only its content is unread.
pub(crate) fn unopened_failure(head: &[u8]) -> Option<Failure> {
    let what = unopened(head)?;
    let why = if what.ends_with("stream") {
        "not decompressed, its content was not read"
    } else {
        "not opened, its members were not read"
    };
    Some(Failure::new(
        FailKind::Unsupported,
        format!("{what}: {why}"),
    ))
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
pub fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A `Read` over shared [`Data`], releasing mapped pages behind it as it goes.
struct DataReader {
    data: Data,
    pos: usize,
    released: usize,
}

impl Read for DataReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let bytes = self.data.bytes();
        let rest = bytes.get(self.pos..).unwrap_or(&[]);
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        // A read past the end of a file truncated since it was mapped gave zeros (see
        // `read/guard.rs`): the stream ends here, as a truncated one, never decoded further.
        if self.data.faulted() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while it was read",
            ));
        }
        self.pos += n;
        // Keep the resident set flat on huge compressed dumps.
        const RELEASE_EVERY: usize = 32 << 20;
        let upto = self.pos / RELEASE_EVERY * RELEASE_EVERY;
        if upto > self.released {
            self.data.release(self.released..upto);
            self.released = upto;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_gzip_header_is_taken_for_gzip() {
        // What `gzip -c` writes: magic, deflate, no flag, mtime, xfl, OS.
        let real = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03";
        assert_eq!(Compression::of(real), Some(Compression::Gzip));
        assert_eq!(unopened(real), Some("gzip stream"));
        // A file of little-endian integers whose first is 35,615 (0x8b1f): seen in a
        // benchmark corpus, once a failed "gzip stream" item.
        let mut ints = Vec::new();
        for _ in 0..8 {
            ints.extend_from_slice(&35_615u64.to_le_bytes());
        }
        for head in [&ints[..], b"\x1f\x8b\x08\xe0rest", b"\x1f\x8b"] {
            assert_eq!(Compression::of(head), None, "{head:?}");
            assert_eq!(unopened(head), None, "{head:?}");
        }
    }
}
