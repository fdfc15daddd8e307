//! Compressed hash lists (gzip, zstd, xz) are read as they are.
//!
//! Peers ship large lists compressed (`NSRLFile.txt.gz`, `hashes.csv.zst`, `pdq.txt.xz`), and
//! decompressing them to disk first doubles the disk they need. The compression is found by
//! the stream's magic bytes, never by the file name, and the decompressed bytes go through the
//! same format detection and readers as an uncompressed list, streamed: nothing is held whole,
//! and the readers' bound on a record's length applies to the decompressed lines.
//!
//! A truncated or corrupt stream must never read as a shorter list: every decoder is read to
//! the end of its input and verifies what the format carries (gzip: each member's CRC-32 and
//! ISIZE; zstd: each frame's content checksum when the frame has one, and a frame cut short;
//! xz: each block's check and the index), and any failure is an I/O error whose message says
//! the stream is truncated or corrupt ([`super::ListError::Io`] names the list). Concatenated
//! gzip members, zstd frames and xz streams (what `cat a.gz b.gz` or `pigz`/`zstd -T` write)
//! are one list; bytes after the last one that do not start another are an error.

use std::fmt;
use std::io::{self, Read};

/// The compression of a list, found by its magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Compression {
    /// RFC 1952 gzip (`1f 8b`).
    Gzip,
    /// Zstandard (`28 b5 2f fd`).
    Zstd,
    /// xz (`fd 37 7a 58 5a 00`).
    Xz,
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
        })
    }
}

/// Most memory the xz decoder may take: a stream's header says how large a dictionary it
/// needs (up to 1.5 GiB), and `xz -9` needs 65 MiB; a list asking for more is refused
/// instead of making vigie allocate what a hostile header says. (zstd's decoder keeps its own
/// default limit, a 128 MiB window; gzip's is fixed at 32 KiB.)
const XZ_MEMLIMIT: u64 = 256 << 20;

/// Bytes read to recognise a compression (the longest magic, xz's).
const MAGIC_LEN: usize = 6;

/// The compression whose magic `head` starts with, if any.
pub(super) fn sniff(head: &[u8]) -> Option<Compression> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Some(Compression::Gzip)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Compression::Zstd)
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some(Compression::Xz)
    } else {
        None
    }
}

/// Looks at the first bytes of `input`: a compressed stream is returned decompressed (with its
/// compression), anything else as it is. The bytes looked at are read again either way.
///
/// # Errors
/// Reading the first bytes failed, or the zstd decoder could not be set up.
pub(super) fn open<'r, R: Read + 'r>(
    mut input: R,
) -> io::Result<(Box<dyn Read + 'r>, Option<Compression>)> {
    let mut magic = Vec::with_capacity(MAGIC_LEN);
    (&mut input)
        .take(MAGIC_LEN as u64)
        .read_to_end(&mut magic)?;
    let kind = sniff(&magic);
    let input = io::Cursor::new(magic).chain(input);
    let Some(kind) = kind else {
        return Ok((Box::new(input), None));
    };
    let inner: Box<dyn Read + 'r> = match kind {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(input)?),
        Compression::Xz => {
            let stream = liblzma::stream::Stream::new_stream_decoder(
                XZ_MEMLIMIT,
                liblzma::stream::CONCATENATED,
            )
            .map_err(io::Error::other)?;
            Box::new(liblzma::read::XzDecoder::new_stream(input, stream))
        }
    };
    Ok((Box::new(Checked { inner, kind }), Some(kind)))
}

/// A decoder whose errors say that the compressed list is truncated or corrupt.
struct Checked<'r> {
    inner: Box<dyn Read + 'r>,
    kind: Compression,
}

impl Read for Checked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let what = if e.kind() == io::ErrorKind::UnexpectedEof {
                        "truncated"
                    } else {
                        "truncated or corrupt"
                    };
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "{what} {} stream (the list is not read short): {e}",
                            self.kind
                        ),
                    ));
                }
                Ok(n) => return Ok(n),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const TEXT: &[u8] = b"d41d8cd98f00b204e9800998ecf8427e\n09f7e02f1290be211da707a266f153b3\n";

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }
    fn zstd(data: &[u8]) -> Vec<u8> {
        let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        e.include_checksum(true).unwrap();
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }
    fn xz(data: &[u8]) -> Vec<u8> {
        let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_all(data: &[u8]) -> (io::Result<Vec<u8>>, Option<Compression>) {
        let (mut r, kind) = open(data).unwrap();
        let mut out = Vec::new();
        (r.read_to_end(&mut out).map(|_| out), kind)
    }

    #[test]
    fn each_compression_is_found_by_content_and_read_whole() {
        for (packed, kind) in [
            (gzip(TEXT), Compression::Gzip),
            (zstd(TEXT), Compression::Zstd),
            (xz(TEXT), Compression::Xz),
        ] {
            let (out, found) = read_all(&packed);
            assert_eq!(found, Some(kind));
            assert_eq!(out.unwrap(), TEXT, "{kind}");
        }
        let (out, found) = read_all(TEXT);
        assert_eq!(found, None);
        assert_eq!(out.unwrap(), TEXT);
    }

    #[test]
    fn concatenated_members_are_one_list() {
        for (a, b) in [
            (gzip(TEXT), gzip(TEXT)),
            (zstd(TEXT), zstd(TEXT)),
            (xz(TEXT), xz(TEXT)),
        ] {
            let both = [a, b].concat();
            assert_eq!(read_all(&both).0.unwrap(), [TEXT, TEXT].concat());
        }
    }

    #[test]
    fn truncated_streams_are_errors_never_short_lists() {
        for packed in [gzip(TEXT), zstd(TEXT), xz(TEXT)] {
            // Every cut, from just past the magic to one byte short of the end.
            for cut in MAGIC_LEN..packed.len() {
                let (out, _) = read_all(&packed[..cut]);
                let err = out.expect_err(&format!("cut at {cut} of {}", packed.len()));
                assert!(err.to_string().contains("truncated"), "{err}");
            }
        }
    }

    #[test]
    fn corrupt_streams_are_errors() {
        for packed in [gzip(TEXT), zstd(TEXT), xz(TEXT)] {
            // A flipped bit in the trailer (gzip CRC/ISIZE, zstd checksum, xz index/footer)
            // and in the middle of the data.
            for at in [packed.len() - 2, packed.len() / 2] {
                let mut bad = packed.clone();
                bad[at] ^= 0x10;
                let (out, _) = read_all(&bad);
                if let Ok(data) = out {
                    panic!("flip at {at}: read {} bytes without error", data.len());
                }
            }
        }
    }

    #[test]
    fn garbage_after_the_stream_is_an_error() {
        for packed in [gzip(TEXT), zstd(TEXT), xz(TEXT)] {
            let (out, _) = read_all(&[packed.as_slice(), b"garbage!"].concat());
            assert!(out.is_err());
        }
    }
}
