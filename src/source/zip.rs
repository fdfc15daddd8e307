//! Our own zip reader over mapped bytes: the central directory found by content, each
//! member's local header checked against its central entry, member data located in place.
//!
//! Found by content, never by name ([`find`]): the end of central directory record is searched
//! in the last 64 KiB + 22 bytes, and accepted only when the central directory it points to
//! is where it says (or, for a self-extracting file whose offsets do not count the prepended
//! stub, exactly before the end record: every offset is then shifted by the stub's length).
//! ZIP64 end records and extra fields are read. Every size and count comes from the archive
//! and is checked against its bytes before it is used; nothing is allocated from a declared
//! size here (names are copied, at most 64 KiB each). Entries are yielded lazily, one central
//! header at a time, so a 100k-member zip costs no memory up front.
//!
//! A member's local header must agree with its central entry (name, method, flags' encryption
//! bit, and CRC-32 and sizes unless they follow in a data descriptor): a disagreement is a
//! [`ZipError`] naming the member, never trusted either way. Members are decoded by
//! [`unpacker`] (stored, deflate, deflate64, bzip2, LZMA, zstd, xz); sizes and CRC checks are
//! the pipeline's (`pipeline::archive_in_place`).

use std::borrow::Cow;
use std::fmt;
use std::io;

/// Where an end record is searched: its 22 bytes and the longest comment.
const EOCD_SEARCH: usize = 22 + 0xFFFF;
const EOCD_SIG: &[u8; 4] = b"PK\x05\x06";
const EOCD64_SIG: &[u8; 4] = b"PK\x06\x06";
const LOCATOR64_SIG: &[u8; 4] = b"PK\x06\x07";
const CENTRAL_SIG: &[u8; 4] = b"PK\x01\x02";
const LOCAL_SIG: &[u8; 4] = b"PK\x03\x04";
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;

/// How a member's data is compressed (the central entry's method field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// 0: stored as is.
    Stored,
    /// 8: deflate.
    Deflated,
    /// 9: deflate64 ("enhanced deflate": a 64 KiB window, longer matches).
    Deflate64,
    /// 12: bzip2, one bzip2 stream.
    Bzip2,
    /// 14: LZMA, after zip's own 4-byte header (LZMA SDK version, properties size) and 5
    /// property bytes; `end_marker` (flag bit 1) says the data ends with an end-of-stream
    /// marker, else it ends after the declared uncompressed size.
    Lzma {
        /// Flag bit 1: an end-of-stream marker ends the data.
        end_marker: bool,
    },
    /// 93: Zstandard frames.
    Zstd,
    /// 95: an xz stream.
    Xz,
    /// Anything else, by number (1 shrink, 6 implode, 98 PPMd, 99 AES, ...).
    Other(u16),
}

impl Method {
    /// The method of field `m`, with the general purpose `flags` that qualify it.
    pub fn from_fields(m: u16, flags: u16) -> Method {
        match m {
            0 => Method::Stored,
            8 => Method::Deflated,
            9 => Method::Deflate64,
            12 => Method::Bzip2,
            14 => Method::Lzma {
                end_marker: flags & 2 != 0,
            },
            93 => Method::Zstd,
            95 => Method::Xz,
            m => Method::Other(m),
        }
    }

    /// Its number in the method field.
    pub fn number(self) -> u16 {
        match self {
            Method::Stored => 0,
            Method::Deflated => 8,
            Method::Deflate64 => 9,
            Method::Bzip2 => 12,
            Method::Lzma { .. } => 14,
            Method::Zstd => 93,
            Method::Xz => 95,
            Method::Other(m) => m,
        }
    }

    /// Whether vigie decodes it ([`unpacker`]).
    pub fn decodes(self) -> bool {
        !matches!(self, Method::Other(_))
    }

    /// Its name for messages, e.g. `"bzip2 (method 12)"`.
    pub fn name(self) -> String {
        let m = self.number();
        let known = match m {
            0 => "stored",
            8 => "deflate",
            1 => "shrink",
            6 => "implode",
            9 => "deflate64",
            12 => "bzip2",
            14 => "lzma",
            93 => "zstd",
            95 => "xz",
            96 => "jpeg",
            97 => "wavpack",
            98 => "ppmd",
            99 => "AES",
            _ => "",
        };
        match (self, known) {
            (Method::Stored | Method::Deflated, k) => k.into(),
            (_, "") => format!("method {m}"),
            (_, k) => format!("{k} (method {m})"),
        }
    }
}

/// Most memory an LZMA member's decoder may take (its dictionary, from its properties): as for
/// xz streams ([`super::stream::XZ_MEMLIMIT`]), a member asking for more fails to decode
/// instead of allocating up to 4 GiB on a crafted header.
pub const LZMA_MEMLIMIT: u64 = super::stream::XZ_MEMLIMIT;

/// A reader of the unpacked bytes of a member packed with `method` (anything
/// [`Method::decodes`]; a stored member's bytes pass as they are), from `raw`, its packed
/// bytes. `size` is its declared uncompressed size (where an LZMA member without an end
/// marker ends). The decoders are those of vigie's compressed streams (flate2, bzip2,
/// liblzma, zstd) and the pure-Rust `deflate64`; none checks the member's CRC-32 or size:
/// the caller does, on what it reads (and reads at most `size + 1` bytes).
///
/// Memory: bzip2 under 4 MiB, deflate64 a 256 KiB window, zstd's window at most 128 MiB
/// (zstd's default limit: a frame asking for more fails), LZMA and xz at most
/// [`LZMA_MEMLIMIT`].
///
/// # Errors
/// A method vigie does not decode ([`io::ErrorKind::Unsupported`]), an LZMA header that is cut
/// short or declares properties other than 5 bytes ([`io::ErrorKind::InvalidData`]), or a
/// decoder that cannot start.
pub fn unpacker<'a, R: io::Read + Send + 'a>(
    method: Method,
    size: u64,
    raw: R,
) -> io::Result<Box<dyn io::Read + Send + 'a>> {
    use io::Read;
    Ok(match method {
        Method::Stored => Box::new(raw),
        Method::Deflated => Box::new(flate2::read::DeflateDecoder::new(raw)),
        Method::Deflate64 => Box::new(deflate64::Deflate64Decoder::new(raw)),
        Method::Bzip2 => Box::new(bzip2::read::BzDecoder::new(raw)),
        Method::Zstd => Box::new(zstd::stream::read::Decoder::new(raw)?),
        Method::Xz => super::stream::xz_decoder(raw)?,
        Method::Lzma { end_marker } => {
            let mut raw = raw;
            // Zip's LZMA header: LZMA SDK version (2 bytes), properties size (2), properties.
            let mut head = [0u8; 9];
            raw.read_exact(&mut head)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "LZMA header cut short"))?;
            let props = u16::from_le_bytes([head[2], head[3]]);
            if props != 5 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("LZMA properties of {props} bytes, 5 expected"),
                ));
            }
            // Given to liblzma as the .lzma ("alone") header it reads: the 5 property bytes
            // and the uncompressed size, unknown (all ones) when an end marker ends the data.
            let mut alone = [0u8; 13];
            alone[..5].copy_from_slice(&head[4..9]);
            let known = if end_marker { u64::MAX } else { size };
            alone[5..].copy_from_slice(&known.to_le_bytes());
            let stream = liblzma::stream::Stream::new_lzma_decoder(LZMA_MEMLIMIT)
                .map_err(io::Error::other)?;
            let r = io::Cursor::new(alone).chain(raw);
            Box::new(liblzma::read::XzDecoder::new_stream(r, stream))
        }
        Method::Other(_) => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("{} is not decoded", method.name()),
            ))
        }
    })
}

/// One member, as its central entry and local header (which agree) describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZipMember {
    /// The name, raw bytes as stored.
    pub name: Vec<u8>,
    /// How its data is compressed.
    pub method: Method,
    /// Encrypted (flag bit 0, or AES: method 99).
    pub encrypted: bool,
    /// The CRC-32 of its uncompressed bytes.
    pub crc32: u32,
    /// Bytes of (compressed) data in the archive.
    pub compressed_size: u64,
    /// Declared uncompressed size.
    pub size: u64,
    /// Offset of its data in the file (after the local header), stub included.
    pub data_offset: u64,
}

impl ZipMember {
    /// A directory entry (name ending in `/`, no data).
    pub fn is_dir(&self) -> bool {
        self.name.ends_with(b"/") && self.size == 0
    }

    /// Its data's byte range in the file (checked against the archive when parsed).
    pub fn data_range(&self) -> Option<std::ops::Range<usize>> {
        let start = usize::try_from(self.data_offset).ok()?;
        let end = start.checked_add(usize::try_from(self.compressed_size).ok()?)?;
        Some(start..end)
    }
}

/// A malformed zip, or one member of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZipError {
    /// The member at fault, when known.
    pub member: Option<Vec<u8>>,
    /// Where in the file.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
    /// True when the walk goes on past it (a member's own damage), false when the directory
    /// cannot be read further.
    pub resumes: bool,
    /// The zip's bytes could not be read (a file read with positioned reads): the error's
    /// kind; `None` for a malformed zip.
    pub io: Option<io::ErrorKind>,
}

impl fmt::Display for ZipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.member {
            Some(m) => write!(
                f,
                "zip member {:?} at offset {}: {}",
                String::from_utf8_lossy(m),
                self.offset,
                self.reason
            ),
            None => write!(f, "zip at offset {}: {}", self.offset, self.reason),
        }
    }
}

impl std::error::Error for ZipError {}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// The bytes a zip is read from: a slice in memory (a map, a buffer), or a file read with
/// positioned reads (`--no-mmap`, a spooled standard input), so that one parser serves both.
/// Only the end records, the central directory and the local headers are read through it,
/// a header at a time: never a member's data.
pub trait ZipBytes {
    /// Bytes in all.
    fn len(&self) -> u64;

    /// True when there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `len` bytes at `at`, fewer where the end comes first (none past it): borrowed from
    /// memory, or read.
    ///
    /// # Errors
    /// An I/O error of the read.
    fn get(&self, at: u64, len: usize) -> io::Result<Cow<'_, [u8]>>;
}

impl ZipBytes for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn get(&self, at: u64, len: usize) -> io::Result<Cow<'_, [u8]>> {
        let start = usize::try_from(at).map_or(self.len(), |a| a.min(self.len()));
        let end = start.saturating_add(len).min(self.len());
        Ok(Cow::Borrowed(&self[start..end]))
    }
}

/// The last bytes of a stream (as many as an end record and the longest comment take), kept
/// as it is read, to tell at its end whether it ended as a zip does ([`Tail::ends_as_zip`]).
#[derive(Default)]
pub struct Tail {
    bytes: Vec<u8>,
}

impl Tail {
    /// Keeps the last bytes of what was kept and `more`.
    pub fn push(&mut self, more: &[u8]) {
        if more.len() >= EOCD_SEARCH {
            self.bytes.clear();
            self.bytes
                .extend_from_slice(&more[more.len() - EOCD_SEARCH..]);
            return;
        }
        let over = (self.bytes.len() + more.len()).saturating_sub(EOCD_SEARCH);
        self.bytes.drain(..over);
        self.bytes.extend_from_slice(more);
    }

    /// Whether a stream of `len` bytes that ended with these ends as a zip does: an end record
    /// of a single-volume zip whose comment runs exactly to the end, whose central directory
    /// (unless ZIP64 saturates its fields) fits before it. A zip whose start was not a local
    /// header (a self-extractor's stub before it) is told by this alone, once it has streamed.
    pub fn ends_as_zip(&self, len: u64) -> bool {
        let b = &self.bytes;
        memchr::memmem::rfind_iter(b, EOCD_SIG).any(|at| {
            let e = &b[at..];
            let f16 = |o| u16_at(e, o);
            let f32 = |o| u32_at(e, o);
            let (Some(disk), Some(cd_disk), Some(comment)) = (f16(4), f16(6), f16(20)) else {
                return false;
            };
            let (Some(size), Some(offset)) = (f32(12), f32(16)) else {
                return false;
            };
            let pos = len.saturating_sub((b.len() - at) as u64);
            let zip64 = size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF;
            disk == 0
                && cd_disk == 0
                && 22 + usize::from(comment) == e.len()
                && (zip64 || u64::from(size) + u64::from(offset) <= pos)
        })
    }
}

/// A zip's central directory, found and checked (see the module doc).
#[derive(Clone, Debug)]
pub struct ZipDirectory<'a, B: ZipBytes + ?Sized = [u8]> {
    bytes: &'a B,
    /// The central directory's range in `bytes`.
    cd: std::ops::Range<u64>,
    /// Entries the end record declares.
    entries: u64,
    /// Bytes prepended to the archive that its offsets do not count (a stub `zip -A` did not
    /// fix): added to every local header offset.
    shift: u64,
}

/// Whether `bytes` end as a zip does (an end of central directory record in the last
/// 64 KiB and 22 bytes that points at a central directory), also with data prepended
/// (self-extracting files). Cheap: used to recognise zips by content.
pub fn is_zip<B: ZipBytes + ?Sized>(bytes: &B) -> bool {
    find(bytes).is_ok()
}

fn io_error(offset: u64, e: &io::Error) -> ZipError {
    ZipError {
        member: None,
        offset,
        reason: format!("read failed: {e}"),
        resumes: false,
        io: Some(e.kind()),
    }
}

/// Finds the central directory of the zip `bytes` end with.
///
/// # Errors
/// A [`ZipError`] (not resuming) when no consistent end record is found, or when reading
/// failed ([`ZipError::io`]).
pub fn find<B: ZipBytes + ?Sized>(bytes: &B) -> Result<ZipDirectory<'_, B>, ZipError> {
    let from = bytes.len().saturating_sub(EOCD_SEARCH as u64);
    let tail = bytes
        .get(from, EOCD_SEARCH)
        .map_err(|e| io_error(from, &e))?;
    let mut last = None;
    // The last candidate first: a comment may hold the signature too.
    for at in memchr::memmem::rfind_iter(&tail, EOCD_SIG) {
        let pos = from + at as u64;
        match directory_at(bytes, pos, &tail[at..]) {
            Ok(d) => return Ok(d),
            Err(e) if e.io.is_some() => return Err(e),
            Err(e) => {
                if last.is_none() {
                    last = Some(e);
                }
            }
        }
    }
    Err(last.unwrap_or(ZipError {
        member: None,
        offset: bytes.len(),
        reason: "no end of central directory record".into(),
        resumes: false,
        io: None,
    }))
}

/// The directory an end record at `pos` describes (its bytes from there to the end: `e`), if
/// it is consistent.
fn directory_at<'a, B: ZipBytes + ?Sized>(
    bytes: &'a B,
    pos: u64,
    e: &[u8],
) -> Result<ZipDirectory<'a, B>, ZipError> {
    let bad = |reason: &str| ZipError {
        member: None,
        offset: pos,
        reason: reason.into(),
        resumes: false,
        io: None,
    };
    let read = |at: u64, len: usize| bytes.get(at, len).map_err(|e| io_error(at, &e));
    let field16 = |at| u16_at(e, at).ok_or_else(|| bad("end record truncated"));
    let field32 = |at| u32_at(e, at).ok_or_else(|| bad("end record truncated"));
    let disk = field16(4)?;
    let cd_disk = field16(6)?;
    let mut entries = u64::from(field16(10)?);
    let mut cd_size = u64::from(field32(12)?);
    let mut cd_offset = u64::from(field32(16)?);
    let comment = usize::from(field16(20)?);
    if 22 + comment > e.len() {
        return Err(bad("end record's comment runs past the end of the file"));
    }
    let mut cd_end = pos;
    // ZIP64: a locator just before the end record points at the ZIP64 end record.
    let wants64 = entries == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF;
    let locator = match pos.checked_sub(20) {
        Some(l) => Some((l, read(l, 20)?)).filter(|(_, b)| b.starts_with(LOCATOR64_SIG)),
        None => None,
    };
    if let Some((l, loc)) = locator {
        let rec = u64_at(&loc, 8).ok_or_else(|| bad("ZIP64 locator truncated"))?;
        // The record sits before the locator; with a stub its offset is shifted: search back.
        let at = if rec < l && read(rec, 4)?.starts_with(EOCD64_SIG) {
            Some(rec)
        } else {
            let from = l.saturating_sub(EOCD_SEARCH as u64);
            let window = read(from, (l - from) as usize)?;
            memchr::memmem::rfind(&window, EOCD64_SIG).map(|i| from + i as u64)
        };
        let at = at.ok_or_else(|| bad("ZIP64 end record not found"))?;
        let r = read(at, (l - at).min(56) as usize)?;
        let get = |off| u64_at(&r, off).ok_or_else(|| bad("ZIP64 end record truncated"));
        entries = get(32)?;
        cd_size = get(40)?;
        cd_offset = get(48)?;
        cd_end = at;
    } else if wants64 {
        return Err(bad("ZIP64 fields without a ZIP64 end record locator"));
    }
    if disk != 0 || cd_disk != 0 {
        return Err(bad("a multi-volume (split) zip: only one volume is here"));
    }
    let cd_start = cd_end
        .checked_sub(cd_size)
        .ok_or_else(|| bad("central directory larger than the file before it"))?;
    // Where the directory is, and where the end record says it is: the difference is a stub
    // prepended after the zip was made.
    let shift = cd_start
        .checked_sub(cd_offset)
        .ok_or_else(|| bad("central directory offset past its end record"))?;
    // Each central header takes at least 46 bytes: a count beyond that is a lie.
    if entries > cd_size / CENTRAL_LEN as u64 {
        return Err(bad(
            "more entries declared than the central directory can hold",
        ));
    }
    if entries > 0 && !read(cd_start, 4)?.starts_with(CENTRAL_SIG) {
        return Err(bad(
            "no central directory header where the end record points",
        ));
    }
    Ok(ZipDirectory {
        bytes,
        cd: cd_start..cd_end,
        entries,
        shift,
    })
}

impl<'a, B: ZipBytes + ?Sized> ZipDirectory<'a, B> {
    /// Entries the end record declares.
    pub fn len(&self) -> u64 {
        self.entries
    }

    /// True when the zip declares no entry.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Bytes prepended before the zip that its offsets do not count.
    pub fn shift(&self) -> u64 {
        self.shift
    }

    /// The members, one central header at a time (see [`Entries`]).
    pub fn entries(&self) -> Entries<'a, B> {
        Entries {
            bytes: self.bytes,
            pos: self.cd.start,
            end: self.cd.end,
            left: self.entries,
            shift: self.shift,
            cd_start: self.cd.start,
        }
    }
}

/// The members of a zip in central directory order: each `Ok` member's local header agrees
/// with its central entry and its data lies inside the file before the central directory;
/// an `Err` that resumes is one member's damage (the walk goes on), one that does not ends
/// the walk.
pub struct Entries<'a, B: ZipBytes + ?Sized = [u8]> {
    bytes: &'a B,
    pos: u64,
    end: u64,
    left: u64,
    shift: u64,
    cd_start: u64,
}

impl<B: ZipBytes + ?Sized> Iterator for Entries<'_, B> {
    type Item = Result<ZipMember, ZipError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let r = self.central();
        if r.as_ref().is_err_and(|e| !e.resumes) {
            self.left = 0;
        }
        Some(r)
    }
}

/// The longest central header: its fixed part, a name, an extra field and a comment.
const CENTRAL_MAX: usize = CENTRAL_LEN + 3 * 0xFFFF;

impl<B: ZipBytes + ?Sized> Entries<'_, B> {
    /// Reads the central header at `pos`, then its local header.
    fn central(&mut self) -> Result<ZipMember, ZipError> {
        let at = self.pos;
        let fatal = |reason: &str| ZipError {
            member: None,
            offset: at,
            reason: reason.into(),
            resumes: false,
            io: None,
        };
        let room = self.end.saturating_sub(at);
        let fixed = self
            .bytes
            .get(at, room.min(CENTRAL_LEN as u64) as usize)
            .map_err(|e| io_error(at, &e))?;
        if !fixed.starts_with(CENTRAL_SIG) {
            return Err(fatal("central directory header expected"));
        }
        if fixed.len() < CENTRAL_LEN {
            return Err(fatal("central directory header truncated"));
        }
        let (n, x, c) = (
            usize::from(u16_at(&fixed, 28).unwrap_or(0)),
            usize::from(u16_at(&fixed, 30).unwrap_or(0)),
            usize::from(u16_at(&fixed, 32).unwrap_or(0)),
        );
        let total = CENTRAL_LEN + n + x + c;
        debug_assert!(total <= CENTRAL_MAX);
        if room < total as u64 {
            return Err(fatal("central directory entry runs past the directory"));
        }
        let h = self.bytes.get(at, total).map_err(|e| io_error(at, &e))?;
        if h.len() < total {
            return Err(fatal("central directory entry runs past the file"));
        }
        let f16 = |o| u16_at(&h, o).unwrap_or(0);
        let f32 = |o| u32_at(&h, o).unwrap_or(0);
        let flags = f16(8);
        let method = f16(10);
        let crc32 = f32(16);
        let mut csize = u64::from(f32(20));
        let mut size = u64::from(f32(24));
        let mut local = u64::from(f32(42));
        self.pos = at + total as u64;
        let name = h[CENTRAL_LEN..CENTRAL_LEN + n].to_vec();
        let extra = &h[CENTRAL_LEN + n..CENTRAL_LEN + n + x];
        let member_err = |reason: String| ZipError {
            member: Some(name.clone()),
            offset: at,
            reason,
            resumes: true,
            io: None,
        };
        // ZIP64 extra field: the 64-bit values of the fields saturated at 0xFFFFFFFF, in order.
        if size == 0xFFFF_FFFF || csize == 0xFFFF_FFFF || local == 0xFFFF_FFFF {
            let z = zip64_extra(extra)
                .ok_or_else(|| member_err("ZIP64 sizes without a ZIP64 extra field".into()))?;
            let mut i = 0;
            let mut next = |v: &mut u64| {
                if *v == 0xFFFF_FFFF {
                    *v = u64_at(z, i).ok_or(())?;
                    i += 8;
                }
                Ok::<(), ()>(())
            };
            next(&mut size)
                .and_then(|()| next(&mut csize))
                .and_then(|()| next(&mut local))
                .map_err(|()| member_err("ZIP64 extra field too short".into()))?;
        }
        let local = local
            .checked_add(self.shift)
            .ok_or_else(|| member_err("local header offset overflows".into()))?;
        match self.local(local, &name, flags, method, crc32, csize, size) {
            Ok(m) => Ok(m),
            Err(Ok(reason)) => Err(member_err(reason)),
            Err(Err(e)) => Err(ZipError {
                member: Some(name.clone()),
                ..io_error(local, &e)
            }),
        }
    }

    /// Reads and checks the local header at `at` against the central entry's fields: the
    /// member, or why not (`Ok(reason)`), or the read's error.
    #[allow(clippy::too_many_arguments)]
    fn local(
        &self,
        at: u64,
        name: &[u8],
        flags: u16,
        method: u16,
        crc32: u32,
        csize: u64,
        size: u64,
    ) -> Result<ZipMember, Result<String, io::Error>> {
        if at >= self.cd_start {
            return Err(Ok(format!(
                "local header offset {at} is outside the archive"
            )));
        }
        let room = self.cd_start - at;
        let l = self
            .bytes
            .get(at, room.min(LOCAL_LEN as u64) as usize)
            .map_err(Err)?;
        if !l.starts_with(LOCAL_SIG) {
            return Err(Ok(format!("no local header at offset {at}")));
        }
        if l.len() < LOCAL_LEN {
            return Err(Ok("local header truncated".into()));
        }
        let f16 = |o| u16_at(&l, o).unwrap_or(0);
        let f32 = |o| u32_at(&l, o).unwrap_or(0);
        let (lflags, lmethod, lcrc) = (f16(6), f16(8), f32(14));
        let (lcsize, lsize) = (u64::from(f32(18)), u64::from(f32(22)));
        let (n, x) = (usize::from(f16(26)), usize::from(f16(28)));
        let data = LOCAL_LEN + n + x;
        if room < data as u64 {
            return Err(Ok("local header runs past the central directory".into()));
        }
        let l = self.bytes.get(at, data).map_err(Err)?;
        if l.len() < data {
            return Err(Ok("local header runs past the file".into()));
        }
        let lname = &l[LOCAL_LEN..LOCAL_LEN + n];
        if lname != name {
            return Err(Ok(format!(
                "the local header names {:?}: the central directory and the local header \
                 disagree",
                String::from_utf8_lossy(lname)
            )));
        }
        if lmethod != method {
            return Err(Ok(format!(
                "compression method {lmethod} in the local header, {method} in the central \
                 directory"
            )));
        }
        if (lflags ^ flags) & 1 != 0 {
            return Err(Ok(
                "encryption flag differs between local header and central directory".into(),
            ));
        }
        // Without a data descriptor (flag bit 3), the local header carries the CRC and sizes.
        if lflags & 8 == 0 {
            if lcrc != crc32 {
                return Err(Ok(format!(
                    "CRC-32 {lcrc:08x} in the local header, {crc32:08x} in the central directory"
                )));
            }
            let (mut lsize, mut lcsize) = (lsize, lcsize);
            if lsize == 0xFFFF_FFFF || lcsize == 0xFFFF_FFFF {
                if let Some(z) = zip64_extra(&l[LOCAL_LEN + n..data]) {
                    lsize = u64_at(z, 0).unwrap_or(lsize);
                    lcsize = u64_at(z, 8).unwrap_or(lcsize);
                }
            }
            if lsize != size || lcsize != csize {
                return Err(Ok(format!(
                    "sizes {lcsize}/{lsize} in the local header, {csize}/{size} in the central \
                     directory"
                )));
            }
        }
        let data_offset = at + data as u64;
        let end = data_offset.checked_add(csize);
        if end.is_none_or(|e| e > self.cd_start) {
            return Err(Ok(format!(
                "{csize} bytes of data run past the start of the central directory"
            )));
        }
        let method = Method::from_fields(method, flags);
        Ok(ZipMember {
            name: name.to_vec(),
            method,
            encrypted: flags & 1 != 0 || method == Method::Other(99),
            crc32,
            compressed_size: csize,
            size,
            data_offset,
        })
    }
}

/// The payload of the ZIP64 extended information field (id 1) in `extra`, if any.
fn zip64_extra(mut extra: &[u8]) -> Option<&[u8]> {
    while extra.len() >= 4 {
        let id = u16_at(extra, 0)?;
        let len = usize::from(u16_at(extra, 2)?);
        let body = extra.get(4..4 + len)?;
        if id == 1 {
            return Some(body);
        }
        extra = &extra[4 + len..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/containers/");
        std::fs::read(format!("{p}{name}")).unwrap()
    }

    fn members(bytes: &[u8]) -> Vec<Result<ZipMember, ZipError>> {
        find(bytes).unwrap().entries().collect()
    }

    #[test]
    fn stored_members_point_at_their_bytes() {
        let z = fixture("stored.zip");
        let ms = members(&z);
        let names: Vec<_> = ms
            .iter()
            .map(|m| m.as_ref().unwrap().name.clone())
            .collect();
        assert_eq!(names, [&b"a.txt"[..], b"b.bin", b"c.txt", b"dir/photo.jpg"]);
        let a = ms[0].as_ref().unwrap();
        assert_eq!(a.method, Method::Stored);
        assert_eq!(&z[a.data_range().unwrap()], b"hello world\n");
    }

    #[test]
    fn zip64_sfx_and_descriptor_are_read() {
        for f in ["zip64.zip", "sfx.zip", "descriptor.zip", "deflated.zip"] {
            let z = fixture(f);
            for m in members(&z) {
                let m = m.unwrap_or_else(|e| panic!("{f}: {e}"));
                assert!(m.data_range().unwrap().end <= z.len());
            }
        }
        let z = fixture("sfx.zip");
        let d = find(&z[..]).unwrap();
        assert_eq!(d.shift(), 0, "zip -A fixed the offsets");
        // The same zip behind a stub its offsets do not count.
        let mut shifted = b"#!/bin/sh\nexit 0\n".to_vec();
        let plain = fixture("deflated.zip");
        shifted.extend_from_slice(&plain);
        let d = find(&shifted[..]).unwrap();
        assert_eq!(d.shift(), 17);
        assert!(d.entries().all(|m| m.is_ok()));
    }

    /// A ZIP64 locator pointing past itself (at a ZIP64 signature in the end record's
    /// comment) is refused, never sliced backwards (it panicked).
    #[test]
    fn zip64_locator_pointing_forward_is_an_error() {
        let mut z = fixture("zip64.zip");
        let eocd = z.len() - 22;
        let loc = eocd - 20;
        assert_eq!(&z[loc..loc + 4], LOCATOR64_SIG);
        z[loc + 8..loc + 16].copy_from_slice(&(eocd as u64 + 22).to_le_bytes());
        z[eocd + 20..eocd + 22].copy_from_slice(&4u16.to_le_bytes());
        z.extend_from_slice(EOCD64_SIG);
        // The real ZIP64 record is found by searching back instead.
        assert!(find(&z[..]).is_ok_and(|d| d.entries().all(|m| m.is_ok())));
    }

    #[test]
    fn local_header_disagreeing_is_a_member_error() {
        let ms = members(&fixture("mismatch.zip"));
        let e = ms[0].as_ref().unwrap_err();
        assert!(e.resumes && e.reason.contains("disagree"), "{e}");
        assert_eq!(e.member.as_deref(), Some(&b"a.txt"[..]));
        assert!(ms[1..].iter().all(|m| m.is_ok()));
    }

    #[test]
    fn encrypted_and_other_methods_are_flagged() {
        assert!(members(&fixture("encrypted.zip"))
            .iter()
            .all(|m| m.as_ref().unwrap().encrypted));
        let methods = |f: &str| -> Vec<Method> {
            members(&fixture(f))
                .into_iter()
                .map(|m| m.unwrap().method)
                .collect()
        };
        assert_eq!(methods("bzip2.zip")[2], Method::Bzip2);
        assert_eq!(methods("deflate64.zip")[2], Method::Deflate64);
        assert_eq!(methods("xz.zip")[2], Method::Xz);
        assert_eq!(methods("zstd.zip")[2], Method::Zstd);
        assert_eq!(methods("lzma.zip")[2], Method::Lzma { end_marker: true });
        assert_eq!(
            methods("lzma-noeos.zip")[1],
            Method::Lzma { end_marker: false }
        );
        assert_eq!(methods("ppmd.zip")[1], Method::Other(98));
        assert!(!Method::Other(98).decodes() && Method::Zstd.decodes());
    }

    /// A stream's last bytes tell a zip's end, also after a stub, fed in pieces of any size;
    /// other data does not pass for one.
    #[test]
    fn a_tail_tells_a_zip_end() {
        let mut sfx = b"#!/bin/sh\nexit 0\n".to_vec();
        sfx.extend_from_slice(&fixture("deflated.zip"));
        for step in [1, 7, 1000, 1 << 20] {
            let mut t = Tail::default();
            sfx.chunks(step).for_each(|c| t.push(c));
            assert!(t.ends_as_zip(sfx.len() as u64), "{step}");
        }
        let mut t = Tail::default();
        t.push(&fixture("c.txt.xz"));
        t.push(&vec![0u8; 70_000]);
        assert!(!t.ends_as_zip(70_528));
        let mut cut = sfx.clone();
        cut.pop();
        let mut t = Tail::default();
        t.push(&cut);
        assert!(!t.ends_as_zip(cut.len() as u64));
    }

    /// LZMA: an end marker that flag bit 1 does not announce still ends the data (liblzma's
    /// .lzma decoder takes one with a known size); a header declaring properties other than
    /// 5 bytes, or cut short, is refused before decoding.
    #[test]
    fn lzma_members_decode_with_or_without_their_flag() {
        use std::io::Read;
        let z = fixture("lzma.zip");
        let m = members(&z)
            .into_iter()
            .map(Result::unwrap)
            .find(|m| m.name == b"c.txt")
            .unwrap();
        assert_eq!(m.method, Method::Lzma { end_marker: true });
        let raw = &z[m.data_range().unwrap()];
        for end_marker in [true, false] {
            let mut out = Vec::new();
            unpacker(Method::Lzma { end_marker }, m.size, raw)
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            let mut crc = flate2::Crc::new();
            crc.update(&out);
            assert_eq!((out.len() as u64, crc.sum()), (m.size, m.crc32));
        }
        let mut bad = raw.to_vec();
        bad[2] = 4;
        let e = unpacker(m.method, m.size, &bad[..]).err().unwrap();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(unpacker(m.method, m.size, &raw[..5]).is_err());
        let e = unpacker(Method::Other(98), 1, raw).err().unwrap();
        assert_eq!(e.kind(), io::ErrorKind::Unsupported);
    }

    /// Every prefix and a sweep of single-byte corruptions never panic.
    #[test]
    fn truncated_and_corrupt_never_panic() {
        let z = fixture("deflated.zip");
        for cut in 0..z.len() {
            if let Ok(d) = find(&z[..cut]) {
                d.entries().for_each(drop);
            }
        }
        for i in (0..z.len()).step_by(7) {
            for v in [0u8, 0xFF, 0x80] {
                let mut c = z.clone();
                c[i] = v;
                if let Ok(d) = find(&c[..]) {
                    d.entries().for_each(drop);
                }
            }
        }
        assert!(find(&fixture("truncated.zip")[..]).is_err());
    }
}
