//! Opening one regular file: is it a plain item, a tar archive, or a compressed tar?
//!
//! Archives are recognised by content: a tar by a valid header in its first block (or, when
//! that header is damaged, in a later block of its first [`RECOGNITION_WINDOW`] bytes), a gzip
//! or zstd stream by its magic number and then a tar in its first decompressed bytes, by the
//! same test. A compressed file that does not hold a tar is an ordinary item (its own bytes
//! are hashed).

use std::io::{self, Read};
use std::path::Path;

use crate::read::{Data, MmapPolicy};

use super::tar::{is_tar_header, looks_like_tar, RECOGNITION_WINDOW};
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
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// Opens `path` (a regular file, or a block device named as an input) and decides what it
/// holds.
///
/// # Errors
/// A [`Failure`] of kind `Open` or `Read` naming the I/O error.
pub(crate) fn open_file(path: &Path, opts: &OpenOptions) -> Result<Container, Failure> {
    let data = Data::open_input(path, opts.mmap).map_err(|e| {
        let kind = match e.kind() {
            io::ErrorKind::NotFound
            | io::ErrorKind::PermissionDenied
            | io::ErrorKind::InvalidInput => FailKind::Open,
            _ => FailKind::Read,
        };
        Failure::new(kind, e.to_string())
    })?;
    if !opts.archives {
        return Ok(Container::Blob(data));
    }
    Ok(classify(data))
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
    // Peek at the first decompressed block, and only when it is not a tar header at the rest
    // of the window (a tar whose first header is damaged); a decoding error means "not a tar".
    let holds_tar = match decoder(compression, data.clone()) {
        Ok(mut r) => {
            let mut head = vec![0u8; 512];
            match read_full(&mut r, &mut head) {
                Ok(512) if is_tar_header(&head) => true,
                Ok(512) => {
                    head.resize(RECOGNITION_WINDOW, 0);
                    read_full(&mut r, &mut head[512..])
                        .is_ok_and(|n| looks_like_tar(&head[..512 + n]))
                }
                _ => false,
            }
        }
        Err(_) => false,
    };
    if !holds_tar {
        return Container::Blob(data);
    }
    match decoder(compression, data.clone()) {
        Ok(r) => Container::CompressedTar(compression, r),
        Err(_) => Container::Blob(data),
    }
}

fn decoder(c: Compression, data: Data) -> io::Result<Box<dyn Read + Send>> {
    let reader = DataReader {
        data,
        pos: 0,
        released: 0,
    };
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
