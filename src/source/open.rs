//! Opening one regular file: is it a plain item, a tar archive, or a compressed tar?
//!
//! Archives are recognised by content: a tar by a valid header in its first block (or, when
//! that header is damaged, in a later block of its first [`RECOGNITION_WINDOW`] bytes), a gzip
//! or zstd stream by its magic number and then a tar in its first decompressed bytes, by the
//! same test. A compressed file that does not hold a tar is an ordinary item (its own bytes
//! are hashed).

use std::io::{self, Read};
use std::path::Path;

use crate::read::{Data, FileStream, MmapPolicy, Opened};

use super::tar::{is_tar_header, looks_like_tar, BLOCK_LEN, RECOGNITION_WINDOW};
use crate::model::{FailKind, Failure};

/// How files are opened.
#[derive(Clone, Copy, Debug)]
pub struct OpenOptions {
    /// May inputs be memory-mapped?
    pub mmap: MmapPolicy,
    /// Look inside tar archives (default). When false every file is one item.
    pub archives: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            mmap: MmapPolicy::Auto,
            archives: true,
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
}

impl Compression {
    /// Name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// What a file turned out to hold.
pub(crate) enum Container {
    /// One item: the file's bytes.
    Blob(Data),
    /// A tar archive whose members are read in place.
    Tar(Data),
    /// A compressed tar, decoded as a stream.
    CompressedTar(Compression, Box<dyn Read + Send>),
    /// A large uncompressed tar read with read() (`--no-mmap`), walked as a stream.
    TarStream(Box<dyn Read + Send>),
    /// A large file read with read(), hashed as it streams; `head` holds its first bytes (up
    /// to [`HEAD_LEN`], for [`crate::perceptual::decode::sniff`] and [`crate::video::sniff`]).
    Stream(FileStream, Vec<u8>),
}

/// Bytes of a streamed file's head kept to tell an image or a video from it.
pub(crate) const HEAD_LEN: usize = crate::video::SNIFF_LEN;
const _: () = assert!(HEAD_LEN >= 16 && HEAD_LEN <= RECOGNITION_WINDOW);

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

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
        Opened::Data(data) => Ok(classify(data)),
        Opened::Stream(file) => classify_stream(file, opts.archives)
            .map_err(|e| Failure::new(FailKind::Read, e.to_string())),
    }
}

/// Decides what a large file read with read() holds, as [`classify`] does from its first
/// bytes (read, then the file is rewound): a tar or a compressed tar is walked as a stream,
/// anything else is hashed as it streams.
fn classify_stream(mut file: FileStream, archives: bool) -> io::Result<Container> {
    let mut first = vec![0u8; RECOGNITION_WINDOW];
    let n = read_full(&mut file, &mut first)?;
    file.rewind()?;
    let head = first[..n.min(HEAD_LEN)].to_vec();
    if !archives {
        return Ok(Container::Stream(file, head));
    }
    if looks_like_tar(&first[..n]) {
        return Ok(Container::TarStream(Box::new(file)));
    }
    let compression = if first[..n].starts_with(GZIP_MAGIC) {
        Compression::Gzip
    } else if first[..n].starts_with(ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        return Ok(Container::Stream(file, head));
    };
    let holds_tar = match decoder(compression, &mut file) {
        Ok(mut r) => decodes_to_tar(&mut r),
        Err(_) => false,
    };
    file.rewind()?;
    if !holds_tar {
        return Ok(Container::Stream(file, head));
    }
    Ok(Container::CompressedTar(
        compression,
        decoder(compression, file)?,
    ))
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
pub(crate) fn classify(data: Data) -> Container {
    let bytes = data.bytes();
    if looks_like_tar(bytes) {
        return Container::Tar(data);
    }
    let compression = if bytes.starts_with(GZIP_MAGIC) {
        Compression::Gzip
    } else if bytes.starts_with(ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        return Container::Blob(data);
    };
    // A decoding error means "not a tar".
    let holds_tar = match decoder(compression, reader(data.clone())) {
        Ok(mut r) => decodes_to_tar(&mut r),
        Err(_) => false,
    };
    if !holds_tar {
        return Container::Blob(data);
    }
    match decoder(compression, reader(data.clone())) {
        Ok(r) => Container::CompressedTar(compression, r),
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

fn decoder<'a>(
    c: Compression,
    reader: impl Read + Send + 'a,
) -> io::Result<Box<dyn Read + Send + 'a>> {
    Ok(match c {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(reader)?),
    })
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
