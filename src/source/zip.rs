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
//! [`ZipError`] naming the member, never trusted either way. Decoding and CRC checks are the
//! pipeline's (`pipeline::archive_in_place`).

use std::fmt;

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
    /// Anything else, by number (9 deflate64, 12 bzip2, 14 lzma, 93 zstd, 95 xz, 99 AES, ...).
    Other(u16),
}

impl Method {
    fn from_u16(m: u16) -> Method {
        match m {
            0 => Method::Stored,
            8 => Method::Deflated,
            m => Method::Other(m),
        }
    }

    /// Its name for messages.
    pub fn name(self) -> String {
        match self {
            Method::Stored => "stored".into(),
            Method::Deflated => "deflate".into(),
            Method::Other(m) => {
                let known = match m {
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
                if known.is_empty() {
                    format!("method {m}")
                } else {
                    format!("{known} (method {m})")
                }
            }
        }
    }
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

/// A zip's central directory, found and checked (see the module doc).
#[derive(Clone, Debug)]
pub struct ZipDirectory<'a> {
    bytes: &'a [u8],
    /// The central directory's range in `bytes`.
    cd: std::ops::Range<usize>,
    /// Entries the end record declares.
    entries: u64,
    /// Bytes prepended to the archive that its offsets do not count (a stub `zip -A` did not
    /// fix): added to every local header offset.
    shift: u64,
}

/// Whether `bytes` end as a zip does (an end of central directory record in the last
/// 64 KiB and 22 bytes that points at a central directory), also with data prepended
/// (self-extracting files). Cheap: used to recognise zips by content.
pub fn is_zip(bytes: &[u8]) -> bool {
    find(bytes).is_ok()
}

/// Finds the central directory of the zip `bytes` end with.
///
/// # Errors
/// A [`ZipError`] (not resuming) when no consistent end record is found.
pub fn find(bytes: &[u8]) -> Result<ZipDirectory<'_>, ZipError> {
    let from = bytes.len().saturating_sub(EOCD_SEARCH);
    let tail = &bytes[from..];
    let mut last = None;
    // The last candidate first: a comment may hold the signature too.
    for at in memchr::memmem::rfind_iter(tail, EOCD_SIG) {
        let pos = from + at;
        match directory_at(bytes, pos) {
            Ok(d) => return Ok(d),
            Err(e) => {
                if last.is_none() {
                    last = Some(e);
                }
            }
        }
    }
    Err(last.unwrap_or(ZipError {
        member: None,
        offset: bytes.len() as u64,
        reason: "no end of central directory record".into(),
        resumes: false,
    }))
}

/// The directory an end record at `pos` describes, if it is consistent.
fn directory_at(bytes: &[u8], pos: usize) -> Result<ZipDirectory<'_>, ZipError> {
    let bad = |reason: &str| ZipError {
        member: None,
        offset: pos as u64,
        reason: reason.into(),
        resumes: false,
    };
    let e = bytes
        .get(pos..)
        .ok_or_else(|| bad("end record past the end"))?;
    let field16 = |at| u16_at(e, at).ok_or_else(|| bad("end record truncated"));
    let field32 = |at| u32_at(e, at).ok_or_else(|| bad("end record truncated"));
    let disk = field16(4)?;
    let cd_disk = field16(6)?;
    let mut entries = u64::from(field16(10)?);
    let mut cd_size = u64::from(field32(12)?);
    let mut cd_offset = u64::from(field32(16)?);
    let comment = usize::from(field16(20)?);
    if pos + 22 + comment > bytes.len() {
        return Err(bad("end record's comment runs past the end of the file"));
    }
    let mut cd_end = pos;
    // ZIP64: a locator just before the end record points at the ZIP64 end record.
    let wants64 = entries == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF;
    let locator = pos
        .checked_sub(20)
        .filter(|&l| bytes[l..].starts_with(LOCATOR64_SIG));
    if let Some(l) = locator {
        let rec = u64_at(bytes, l + 8).ok_or_else(|| bad("ZIP64 locator truncated"))?;
        // The record sits before the locator; with a stub its offset is shifted: search back.
        let at = usize::try_from(rec)
            .ok()
            .filter(|&r| r < l && bytes[r..].starts_with(EOCD64_SIG))
            .or_else(|| {
                let from = l.saturating_sub(EOCD_SEARCH);
                memchr::memmem::rfind(&bytes[from..l], EOCD64_SIG).map(|i| from + i)
            })
            .ok_or_else(|| bad("ZIP64 end record not found"))?;
        let r = &bytes[at..l];
        let get = |off| u64_at(r, off).ok_or_else(|| bad("ZIP64 end record truncated"));
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
    let cd_start = (cd_end as u64)
        .checked_sub(cd_size)
        .ok_or_else(|| bad("central directory larger than the file before it"))?;
    // Where the directory is, and where the end record says it is: the difference is a stub
    // prepended after the zip was made.
    let shift = cd_start
        .checked_sub(cd_offset)
        .ok_or_else(|| bad("central directory offset past its end record"))?;
    let cd = cd_start as usize..cd_end;
    // Each central header takes at least 46 bytes: a count beyond that is a lie.
    if entries > cd_size / CENTRAL_LEN as u64 {
        return Err(bad(
            "more entries declared than the central directory can hold",
        ));
    }
    if entries > 0 && !bytes[cd.clone()].starts_with(CENTRAL_SIG) {
        return Err(bad(
            "no central directory header where the end record points",
        ));
    }
    Ok(ZipDirectory {
        bytes,
        cd,
        entries,
        shift,
    })
}

impl<'a> ZipDirectory<'a> {
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
    pub fn entries(&self) -> Entries<'a> {
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
pub struct Entries<'a> {
    bytes: &'a [u8],
    pos: usize,
    end: usize,
    left: u64,
    shift: u64,
    cd_start: usize,
}

impl Iterator for Entries<'_> {
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

impl Entries<'_> {
    /// Reads the central header at `pos`, then its local header.
    fn central(&mut self) -> Result<ZipMember, ZipError> {
        let at = self.pos;
        let fatal = |reason: &str| ZipError {
            member: None,
            offset: at as u64,
            reason: reason.into(),
            resumes: false,
        };
        let h = &self.bytes[at.min(self.end)..self.end];
        if !h.starts_with(CENTRAL_SIG) {
            return Err(fatal("central directory header expected"));
        }
        if h.len() < CENTRAL_LEN {
            return Err(fatal("central directory header truncated"));
        }
        let f16 = |o| u16_at(h, o).unwrap_or(0);
        let f32 = |o| u32_at(h, o).unwrap_or(0);
        let flags = f16(8);
        let method = f16(10);
        let crc32 = f32(16);
        let mut csize = u64::from(f32(20));
        let mut size = u64::from(f32(24));
        let (n, x, c) = (
            usize::from(f16(28)),
            usize::from(f16(30)),
            usize::from(f16(32)),
        );
        let mut local = u64::from(f32(42));
        let total = CENTRAL_LEN + n + x + c;
        if h.len() < total {
            return Err(fatal("central directory entry runs past the directory"));
        }
        self.pos = at + total;
        let name = h[CENTRAL_LEN..CENTRAL_LEN + n].to_vec();
        let extra = &h[CENTRAL_LEN + n..CENTRAL_LEN + n + x];
        let member_err = |reason: String| ZipError {
            member: Some(name.clone()),
            offset: at as u64,
            reason,
            resumes: true,
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
        let m = self.local(local, &name, flags, method, crc32, csize, size);
        m.map_err(member_err)
    }

    /// Reads and checks the local header at `at` against the central entry's fields.
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
    ) -> Result<ZipMember, String> {
        let at_usize = usize::try_from(at)
            .ok()
            .filter(|&a| a < self.cd_start)
            .ok_or_else(|| format!("local header offset {at} is outside the archive"))?;
        let l = &self.bytes[at_usize..self.cd_start];
        if !l.starts_with(LOCAL_SIG) {
            return Err(format!("no local header at offset {at}"));
        }
        if l.len() < LOCAL_LEN {
            return Err("local header truncated".into());
        }
        let f16 = |o| u16_at(l, o).unwrap_or(0);
        let f32 = |o| u32_at(l, o).unwrap_or(0);
        let (lflags, lmethod, lcrc) = (f16(6), f16(8), f32(14));
        let (lcsize, lsize) = (u64::from(f32(18)), u64::from(f32(22)));
        let (n, x) = (usize::from(f16(26)), usize::from(f16(28)));
        let data = LOCAL_LEN + n + x;
        if l.len() < data {
            return Err("local header runs past the central directory".into());
        }
        let lname = &l[LOCAL_LEN..LOCAL_LEN + n];
        if lname != name {
            return Err(format!(
                "the local header names {:?}: the central directory and the local header \
                 disagree",
                String::from_utf8_lossy(lname)
            ));
        }
        if lmethod != method {
            return Err(format!(
                "compression method {lmethod} in the local header, {method} in the central \
                 directory"
            ));
        }
        if (lflags ^ flags) & 1 != 0 {
            return Err(
                "encryption flag differs between local header and central directory".into(),
            );
        }
        // Without a data descriptor (flag bit 3), the local header carries the CRC and sizes.
        if lflags & 8 == 0 {
            if lcrc != crc32 {
                return Err(format!(
                    "CRC-32 {lcrc:08x} in the local header, {crc32:08x} in the central directory"
                ));
            }
            let (mut lsize, mut lcsize) = (lsize, lcsize);
            if lsize == 0xFFFF_FFFF || lcsize == 0xFFFF_FFFF {
                if let Some(z) = zip64_extra(&l[LOCAL_LEN + n..data]) {
                    lsize = u64_at(z, 0).unwrap_or(lsize);
                    lcsize = u64_at(z, 8).unwrap_or(lcsize);
                }
            }
            if lsize != size || lcsize != csize {
                return Err(format!(
                    "sizes {lcsize}/{lsize} in the local header, {csize}/{size} in the central \
                     directory"
                ));
            }
        }
        let data_offset = at + data as u64;
        let end = data_offset.checked_add(csize);
        if end.is_none_or(|e| e > self.cd_start as u64) {
            return Err(format!(
                "{csize} bytes of data run past the start of the central directory"
            ));
        }
        let method = Method::from_u16(method);
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
        let d = find(&z).unwrap();
        assert_eq!(d.shift(), 0, "zip -A fixed the offsets");
        // The same zip behind a stub its offsets do not count.
        let mut shifted = b"#!/bin/sh\nexit 0\n".to_vec();
        let plain = fixture("deflated.zip");
        shifted.extend_from_slice(&plain);
        let d = find(&shifted).unwrap();
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
        assert!(find(&z).is_ok_and(|d| d.entries().all(|m| m.is_ok())));
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
        let m = members(&fixture("bzip2.zip"));
        assert_eq!(m[0].as_ref().unwrap().method, Method::Other(12));
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
                if let Ok(d) = find(&c) {
                    d.entries().for_each(drop);
                }
            }
        }
        assert!(find(&fixture("truncated.zip")).is_err());
    }
}
