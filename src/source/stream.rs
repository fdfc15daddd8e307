//! Single compressed streams: a `.gz`, `.zst`, `.xz` or `.bz2` that holds no tar is
//! decompressed and its content is one item of its own, a member of the compressed file.
//!
//! The inner item's name is the gzip header's FNAME when there is one ([`gzip_name`]), else
//! the file's name less its last extension ([`inner_name`]). Its bytes are only reported when
//! the stream's own checks verified them: gzip's CRC-32 and ISIZE of every member, the xz
//! check, zstd's content checksum when the frame has one, bzip2's block and stream CRCs; the
//! decoders ([`single_decoder`]) fail a read where they do not.
//!
//! What follows a complete stream is judged as its own tool judges it: after a gzip member,
//! bytes that do not start another member are ignored (`gzip -d` warns "trailing garbage
//! ignored"); zstd, xz and bzip2 decoders fail on them.

use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use super::open::Compression;

/// Longest gzip FNAME taken as the inner item's name; a longer one is ignored (the name
/// falls back to the file's).
pub const MAX_NAME_LEN: usize = 4096;

/// The file name a gzip header stores (FNAME), from the stream's first bytes: `None` when the
/// header has none, is cut short in `head`, or holds an empty name or one longer than
/// [`MAX_NAME_LEN`]. Only the name's last path component is kept (a name is a suggestion for
/// extraction, never a path to trust).
pub fn gzip_name(head: &[u8]) -> Option<Vec<u8>> {
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    if head.len() < 10 || head[..3] != [0x1f, 0x8b, 8] {
        return None;
    }
    let flags = head[3];
    if flags & FNAME == 0 {
        return None;
    }
    let mut at = 10usize;
    if flags & FEXTRA != 0 {
        let xlen = usize::from(u16::from_le_bytes([*head.get(10)?, *head.get(11)?]));
        at = 12 + xlen;
    }
    let rest = head.get(at..)?;
    let end = memchr::memchr(0, &rest[..rest.len().min(MAX_NAME_LEN + 1)])?;
    let name = &rest[..end];
    let base = name.rsplit(|&b| b == b'/').next().unwrap_or(name);
    (!base.is_empty() && base != b"." && base != b"..").then(|| base.to_vec())
}

/// The name of a compressed file's content: the gzip FNAME when there is one, else the file
/// name of `outer` less its last extension (`c.txt.xz` → `c.txt`; a name with no extension
/// is kept whole, `-` for standard input stays `-`).
pub fn inner_name(compression: Compression, head: &[u8], outer: &Path) -> Vec<u8> {
    if compression == Compression::Gzip {
        if let Some(name) = gzip_name(head) {
            return name;
        }
    }
    let file = outer
        .file_name()
        .map(|n| crate::model::os_bytes(n).to_vec())
        .unwrap_or_else(|| b"-".to_vec());
    match file.iter().rposition(|&b| b == b'.') {
        Some(dot) if dot > 0 => file[..dot].to_vec(),
        _ => file,
    }
}

/// A decoder for a single compressed stream (see the module doc): every member of a gzip
/// (ending at bytes that start no member), every zstd frame, every xz stream, every bzip2
/// stream, each verified by its checks as it ends.
///
/// # Errors
/// When the decoder cannot be started (zstd's context).
pub fn single_decoder<'a>(
    c: Compression,
    r: impl Read + Send + 'a,
) -> io::Result<Box<dyn Read + Send + 'a>> {
    Ok(match c {
        Compression::Gzip => Box::new(GzMembers::new(BufReader::new(r))),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(r)?),
        Compression::Xz => xz_decoder(r)?,
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(r)),
    })
}

/// What a decompressor's error says of its stream: a caller reading on after a complete tar
/// tells by it a corrupt stream from bytes after a complete one ([`stream_fault`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamFault {
    /// The stream ends before it is complete (before its checksum).
    Truncated,
    /// A check failed: gzip's CRC-32 or ISIZE, zstd's content checksum.
    Checksum,
    /// Bytes that do not decode: a corrupt gzip member or zstd frame, or, after a complete
    /// one, bytes that start none (trailing garbage, which `gzip -d` ignores).
    Undecodable,
    /// An xz or bzip2 decoder's error: they do not say which of the above it is (a failed xz
    /// check is "lzma data error" like any other damage).
    Unclassified,
}

/// A decompressor's error as [`Checked`] hands it on: displayed as the decoder's own message,
/// with its [`StreamFault`].
#[derive(Debug)]
struct DecodeError {
    fault: StreamFault,
    error: io::Error,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for DecodeError {}

/// The [`StreamFault`] of an error a [`Checked`] decompressor returned; `None` for any other
/// error (a limit, a file that changed while it was read).
pub fn stream_fault(e: &io::Error) -> Option<StreamFault> {
    e.get_ref()?.downcast_ref::<DecodeError>().map(|d| d.fault)
}

/// A decompressor whose errors carry their [`StreamFault`] ([`stream_fault`]); their kind
/// and message are the decoder's, unchanged. Errors that are not the decoder's own pass
/// through as they are: `Interrupted`, and a file that changed while it was read (the
/// decoders hand their reader's errors on unchanged).
pub struct Checked<R> {
    inner: R,
    compression: Compression,
}

impl<R> Checked<R> {
    /// Wraps `inner`, a decoder of `compression`.
    pub fn new(compression: Compression, inner: R) -> Checked<R> {
        Checked { inner, compression }
    }
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .read(buf)
            .map_err(|e| classify(self.compression, e))
    }
}

/// `e`, a `compression` decoder's error, with its [`StreamFault`].
///
/// The crates say what went wrong in text only, so this is the one place that reads it:
/// flate2 gives `InvalidInput` both for a next member's bad header ("invalid gzip header")
/// and for a failed CRC-32 or ISIZE ("corrupt gzip stream does not have a matching
/// checksum"), zstd gives `Other` with libzstd's error name for every error ("Restored data
/// doesn't match checksum" against "Unknown frame descriptor"). A stream cut short is
/// `UnexpectedEof` from both. xz and bzip2 errors say nothing usable (see
/// [`StreamFault::Unclassified`]).
fn classify(compression: Compression, e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::Interrupted || crate::read::changed_while_read(&e) {
        return e;
    }
    let fault = match compression {
        Compression::Xz | Compression::Bzip2 => StreamFault::Unclassified,
        _ if e.kind() == io::ErrorKind::UnexpectedEof => StreamFault::Truncated,
        _ if e.to_string().contains("checksum") => StreamFault::Checksum,
        _ => StreamFault::Undecodable,
    };
    io::Error::new(e.kind(), DecodeError { fault, error: e })
}

/// Most memory an xz stream may ask its decoder for (its dictionary, from its header): 256 MiB,
/// four times what `xz -9` needs. A stream asking for more fails to decode (liblzma's
/// `MemLimit` error) instead of allocating up to 1.5 GiB on a crafted header.
pub const XZ_MEMLIMIT: u64 = 256 << 20;

/// A decoder of concatenated `.xz` streams only (never `.lzma`, whose header sizes its
/// dictionary up to 4 GiB: liblzma's auto and multi decoders accept it), its memory bounded by
/// [`XZ_MEMLIMIT`], every stream's check verified.
///
/// # Errors
/// When liblzma cannot start the decoder.
pub fn xz_decoder<'a>(r: impl Read + Send + 'a) -> io::Result<Box<dyn Read + Send + 'a>> {
    Ok(Box::new(xz_reader(r)?))
}

/// [`xz_decoder`], unboxed.
///
/// # Errors
/// When liblzma cannot start the decoder.
pub fn xz_reader<R: Read>(r: R) -> io::Result<liblzma::read::XzDecoder<R>> {
    let stream =
        liblzma::stream::Stream::new_stream_decoder(XZ_MEMLIMIT, liblzma::stream::CONCATENATED)
            .map_err(io::Error::other)?;
    Ok(liblzma::read::XzDecoder::new_stream(r, stream))
}

/// The members of a gzip stream one after another, each verified (CRC-32 and ISIZE) by
/// flate2 as it ends; after a member, the stream ends unless the next byte starts another
/// (0x1f): trailing garbage or padding is ignored, as `gzip -d` ignores it.
pub struct GzMembers<R: BufRead> {
    state: GzState<R>,
}

enum GzState<R: BufRead> {
    Member(Box<flate2::bufread::GzDecoder<R>>),
    Done,
}

impl<R: BufRead> GzMembers<R> {
    /// Starts decoding the gzip stream `r`.
    pub fn new(r: R) -> GzMembers<R> {
        GzMembers {
            state: GzState::Member(Box::new(flate2::bufread::GzDecoder::new(r))),
        }
    }
}

impl<R: BufRead> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let GzState::Member(d) = &mut self.state else {
                return Ok(0);
            };
            let n = d.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            // A member ended, verified. Another follows only if the next byte says so.
            let GzState::Member(d) = std::mem::replace(&mut self.state, GzState::Done) else {
                unreachable!("matched above");
            };
            let mut rest = d.into_inner();
            let next = loop {
                match rest.fill_buf() {
                    Ok(b) => break b.first().copied(),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            };
            if next == Some(0x1f) {
                self.state = GzState::Member(Box::new(flate2::bufread::GzDecoder::new(rest)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8], name: Option<&str>) -> Vec<u8> {
        let mut b = flate2::GzBuilder::new();
        if let Some(n) = name {
            b = b.filename(n);
        }
        let mut w = b.write(Vec::new(), flate2::Compression::default());
        w.write_all(data).unwrap();
        w.finish().unwrap()
    }

    fn decode(c: Compression, bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        single_decoder(c, bytes)?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn gzip_names_from_the_header_only_when_sound() {
        assert_eq!(
            gzip_name(&gz(b"x", Some("in.txt"))),
            Some(b"in.txt".to_vec())
        );
        assert_eq!(
            gzip_name(&gz(b"x", Some("../../etc/x"))),
            Some(b"x".to_vec())
        );
        assert_eq!(gzip_name(&gz(b"x", Some(".."))), None);
        assert_eq!(gzip_name(&gz(b"x", None)), None);
        // Cut short before the name's end: no name.
        let g = gz(b"x", Some("in.txt"));
        assert_eq!(gzip_name(&g[..13]), None);
        assert_eq!(gzip_name(b"\x1f\x8b"), None);
        // FEXTRA with a length past the head.
        assert_eq!(
            gzip_name(b"\x1f\x8b\x08\x0c\0\0\0\0\0\x03\xff\xffname\0"),
            None
        );
        let long = "n".repeat(MAX_NAME_LEN + 1);
        assert_eq!(gzip_name(&gz(b"x", Some(&long))), None);
    }

    #[test]
    fn inner_names_fall_back_to_the_file_name() {
        let p = Path::new("/d/c.txt.xz");
        assert_eq!(inner_name(Compression::Xz, b"", p), b"c.txt");
        assert_eq!(
            inner_name(Compression::Gzip, b"", Path::new("noext")),
            b"noext"
        );
        assert_eq!(inner_name(Compression::Zstd, b"", Path::new("-")), b"-");
        assert_eq!(
            inner_name(Compression::Bzip2, b"", Path::new(".bz2")),
            b".bz2"
        );
        let g = gz(b"x", Some("real.bin"));
        assert_eq!(
            inner_name(Compression::Gzip, &g, Path::new("x.gz")),
            b"real.bin"
        );
    }

    #[test]
    fn gzip_members_are_verified_and_trailing_garbage_ignored() {
        let mut two = gz(b"hello ", None);
        two.extend(gz(b"world", None));
        assert_eq!(decode(Compression::Gzip, &two).unwrap(), b"hello world");
        let mut padded = two.clone();
        padded.extend([0u8; 100]);
        assert_eq!(decode(Compression::Gzip, &padded).unwrap(), b"hello world");
        // A flipped CRC-32, then a wrong ISIZE: errors, never the bytes.
        let mut bad = gz(b"hello", None);
        let n = bad.len();
        bad[n - 8] ^= 1;
        assert!(decode(Compression::Gzip, &bad).is_err());
        let mut bad = gz(b"hello", None);
        bad[n - 1] ^= 1;
        assert!(decode(Compression::Gzip, &bad).is_err());
        // Cut short.
        let g = gz(b"hello", None);
        assert!(decode(Compression::Gzip, &g[..g.len() - 3]).is_err());
        // A second "member" that is not one.
        let mut junk = gz(b"hello", None);
        junk.extend(b"\x1fjunk");
        assert!(decode(Compression::Gzip, &junk).is_err());
    }

    /// What [`Checked`] says of each decoder's failures: the one place that reads flate2's
    /// and zstd's messages is pinned to their current words here.
    #[test]
    fn decoder_errors_carry_their_stream_fault() {
        let fault = |c: Compression, bytes: &[u8]| {
            let mut out = Vec::new();
            let e = Checked::new(c, single_decoder(c, bytes).unwrap())
                .read_to_end(&mut out)
                .unwrap_err();
            stream_fault(&e)
        };
        let g = gz(b"hello", None);
        let mut bad = g.clone();
        bad[g.len() - 8] ^= 1;
        assert_eq!(fault(Compression::Gzip, &bad), Some(StreamFault::Checksum));
        assert_eq!(
            fault(Compression::Gzip, &g[..g.len() - 3]),
            Some(StreamFault::Truncated)
        );
        // Bytes after a member that start another's magic byte but no valid header.
        let mut junk = g.clone();
        junk.extend(b"\x1fjunk, not a gzip header");
        assert_eq!(
            fault(Compression::Gzip, &junk),
            Some(StreamFault::Undecodable)
        );

        let data = b"some content".repeat(100);
        let mut z = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        z.include_checksum(true).unwrap();
        z.write_all(&data).unwrap();
        let mut z = z.finish().unwrap();
        let n = z.len();
        z[n - 1] ^= 1;
        assert_eq!(fault(Compression::Zstd, &z), Some(StreamFault::Checksum));
        // A complete frame, then bytes that start none.
        z[n - 1] ^= 1;
        z.extend(b"junk, not a zstd frame");
        assert_eq!(fault(Compression::Zstd, &z), Some(StreamFault::Undecodable));

        let mut x = liblzma::write::XzEncoder::new(Vec::new(), 6);
        x.write_all(&data).unwrap();
        let x = x.finish().unwrap();
        assert_eq!(
            fault(Compression::Xz, &x[..x.len() - 5]),
            Some(StreamFault::Unclassified)
        );
        // Not a decoder's error: no fault of a stream.
        assert_eq!(stream_fault(&io::Error::other("x")), None);
    }

    /// An `.lzma` header asking for a 4 GiB dictionary (found by the `stream` fuzz target:
    /// liblzma's multi decoder accepted `.lzma` and allocated it) is refused without the
    /// allocation, as is an `.xz` stream asking for more than [`XZ_MEMLIMIT`].
    #[test]
    fn xz_decoding_is_bounded_in_memory() {
        let mut lzma = vec![0u8, 0xff, 0xff, 0xff, 0xff];
        lzma.extend([0xffu8; 100]);
        lzma.extend(b"AB");
        assert!(decode(Compression::Xz, &lzma).is_err());
        // xz asking for a 512 MiB dictionary (an lzma2 preset with dict_size raised).
        let mut opts = liblzma::stream::LzmaOptions::new_preset(1).unwrap();
        opts.dict_size(512 << 20);
        let mut filters = liblzma::stream::Filters::new();
        filters.lzma2(&opts);
        let stream =
            liblzma::stream::Stream::new_stream_encoder(&filters, liblzma::stream::Check::Crc64)
                .unwrap();
        let mut w = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
        w.write_all(b"small content").unwrap();
        let big_dict = w.finish().unwrap();
        let e = decode(Compression::Xz, &big_dict).unwrap_err();
        assert!(e.to_string().contains("mem"), "{e}");
    }

    #[test]
    fn zstd_xz_bzip2_checks_are_verified() {
        let data = b"some content, some content, some content".repeat(50);
        let mut z = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        z.include_checksum(true).unwrap();
        z.write_all(&data).unwrap();
        let mut z = z.finish().unwrap();
        assert_eq!(decode(Compression::Zstd, &z).unwrap(), data);
        let n = z.len();
        z[n - 1] ^= 1; // the checksum's last byte
        assert!(decode(Compression::Zstd, &z).is_err());

        let mut x = liblzma::write::XzEncoder::new(Vec::new(), 6);
        x.write_all(&data).unwrap();
        let x = x.finish().unwrap();
        assert_eq!(decode(Compression::Xz, &x).unwrap(), data);
        let mut bad = x.clone();
        // The CRC-64 check precedes the index and the 12-byte footer: flip a byte of the
        // stream's last block data instead, which the check catches.
        let at = bad.len() / 2;
        bad[at] ^= 0x40;
        assert!(decode(Compression::Xz, &bad).is_err());
        assert!(decode(Compression::Xz, &x[..x.len() - 5]).is_err());

        let mut b = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
        b.write_all(&data).unwrap();
        let b = b.finish().unwrap();
        assert_eq!(decode(Compression::Bzip2, &b).unwrap(), data);
        assert!(decode(Compression::Bzip2, &b[..b.len() - 4]).is_err());
    }
}
