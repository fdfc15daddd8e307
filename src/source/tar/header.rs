//! One header block read as fields: where each field is (POSIX ustar; old GNU shares the
//! first 345 bytes), the checksum, numeric fields (octal and GNU base-256), the name with its
//! ustar or star prefix, pax extended records, and the test that tells a header from other
//! bytes. Pure functions of bytes: the walk over them is in `walker`.

use std::ops::Range;

use super::{escape_name, BLOCK_LEN, BLOCK_U64};

pub(super) const NAME: Range<usize> = 0..100;
pub(super) const MODE: Range<usize> = 100..108;
pub(super) const SIZE: Range<usize> = 124..136;
pub(super) const CHKSUM: Range<usize> = 148..156;
pub(super) const TYPEFLAG: usize = 156;
pub(super) const LINKNAME: Range<usize> = 157..257;
pub(super) const MAGIC: Range<usize> = 257..263;
pub(super) const MAGIC_VERSION: Range<usize> = 257..265;
/// `devmajor` and `devminor`, 8 bytes each.
pub(super) const DEVICES: Range<usize> = 329..345;
pub(super) const PREFIX: Range<usize> = 345..500;
/// star's prefix is shorter: its header ends with `tar\0` at 508.
pub(super) const STAR_PREFIX: Range<usize> = 345..476;
pub(super) const STAR_TRAILER: Range<usize> = 508..512;
/// Old GNU sparse header: set when extension blocks of sparse map follow.
pub(super) const GNU_IS_EXTENDED: usize = 482;
/// Same flag in each sparse extension block.
pub(super) const GNU_EXT_IS_EXTENDED: usize = 504;

/// True when `block` (first 512 bytes of a file) is a tar header: valid checksum (signed and
/// unsigned sums both accepted) and a plausible ustar, GNU or v7 header. Detection is by
/// content, not by file name. Shorter input is never a header.
pub fn is_tar_header(block: &[u8]) -> bool {
    let Some(block) = block
        .get(..BLOCK_LEN)
        .and_then(|b| <&[u8; BLOCK_LEN]>::try_from(b).ok())
    else {
        return false;
    };
    if !checksum_ok(block) || parse_numeric(&block[SIZE]).is_none() {
        return false;
    }
    if &block[MAGIC] == b"ustar\0" || &block[MAGIC_VERSION] == b"ustar  \0" {
        return true;
    }
    // v7 has no magic: after the link name everything is zero (GNU tar fills the device
    // fields with octal zeros), the name is not empty, the type flag is one v7-era writers
    // use and the mode is octal.
    block[0] != 0
        && block[MAGIC.start..DEVICES.start].iter().all(|&b| b == 0)
        && block[DEVICES.end..].iter().all(|&b| b == 0)
        && block[DEVICES]
            .chunks(8)
            .all(|f| parse_octal(f, true) == Some(0))
        && matches!(block[TYPEFLAG], 0 | b'0'..=b'7')
        && parse_octal(&block[MODE], true).is_some()
}

/// How far into its content a file is searched for a tar header when its first block is not
/// one (a tar whose first header is damaged; see [`looks_like_tar`]).
///
/// Why 64 KiB (128 blocks): a damaged first header is followed by its member's data, so the
/// next header is as far as that member is large; 64 KiB covers the small members typical of
/// dump shards, and the pax or GNU long-name header that often comes first (its own member
/// header is in the next blocks). Every file that is not a tar pays this search, so it is
/// bounded: each candidate block costs one 8-byte octal parse of its checksum field before
/// anything else (random bytes fail there), and the window is already read to hash the file.
/// Searching a whole file would turn any large file holding a tar at some 512-byte boundary
/// (a disk image, another container) into a "damaged tar" whose own digest is not computed.
/// Beyond the window such a file is hashed whole, as it was before recovery existed.
pub const RECOGNITION_WINDOW: usize = 64 << 10;

/// True when `bytes` (the start of a file: its first [`RECOGNITION_WINDOW`] bytes, or all of
/// it when shorter) hold a tar: the first block is a header ([`is_tar_header`]), or, for a tar
/// whose first header is damaged, a later block at a 512-byte boundary within the window is
/// one (valid checksum and a ustar, GNU or plausible v7 header: random bytes never pass).
pub fn looks_like_tar(bytes: &[u8]) -> bool {
    is_tar_header(bytes)
        || bytes[..bytes.len().min(RECOGNITION_WINDOW)]
            .chunks_exact(BLOCK_LEN)
            .skip(1)
            .any(is_tar_header)
}

/// The size field of `block` (the first `n` bytes of it read) when it is a header the walker
/// reads: a whole block with a valid checksum and a well-formed size. GNU tar resynchronises
/// on the same test.
pub(super) fn header_size(block: &[u8; BLOCK_LEN], n: usize) -> Option<u64> {
    if n == BLOCK_LEN && checksum_ok(block) {
        parse_numeric(&block[SIZE])
    } else {
        None
    }
}

/// Why the first `n` bytes of `block` are not a header (not all zero, not [`header_size`]).
pub(super) fn not_a_header(block: &[u8; BLOCK_LEN], n: usize) -> String {
    if n < BLOCK_LEN {
        format!("truncated header: the archive ends {n} bytes into a {BLOCK_LEN}-byte header")
    } else if !checksum_ok(block) {
        "bad header checksum".into()
    } else {
        "malformed size field".into()
    }
}

/// Verifies the header checksum: the sum of all bytes with the checksum field read as spaces.
/// Both the unsigned sum (POSIX) and the signed one (some old writers) are accepted.
pub(super) fn checksum_ok(block: &[u8; BLOCK_LEN]) -> bool {
    let Some(stored) = parse_octal(&block[CHKSUM], false) else {
        return false;
    };
    let (mut unsigned, mut signed) = (0u64, 0i64);
    for (i, &b) in block.iter().enumerate() {
        let b = if CHKSUM.contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(i8::from_ne_bytes([b]));
    }
    stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed)
}

/// A numeric header field: GNU base-256 (high bit of the first byte set; negative values are
/// rejected) or octal. `None` when malformed or over `u64::MAX`.
pub(super) fn parse_numeric(field: &[u8]) -> Option<u64> {
    let (&first, rest) = field.split_first()?;
    if first & 0x80 == 0 {
        return parse_octal(field, true);
    }
    if first & 0x40 != 0 {
        return None;
    }
    rest.iter().try_fold(u64::from(first & 0x3f), |v, &b| {
        v.checked_mul(256)?.checked_add(u64::from(b))
    })
}

/// An octal field: optional leading spaces, digits, then only spaces and NULs. A field with no
/// digits at all is 0 when `allow_empty`, else malformed.
pub(super) fn parse_octal(field: &[u8], allow_empty: bool) -> Option<u64> {
    let rest = field.trim_ascii_start();
    let digits = rest
        .iter()
        .take_while(|b| (b'0'..=b'7').contains(b))
        .count();
    let (number, tail) = rest.split_at(digits);
    if !tail.iter().all(|&b| b == 0 || b == b' ') {
        return None;
    }
    if number.is_empty() {
        return allow_empty.then_some(0);
    }
    number.iter().try_fold(0u64, |v, &d| {
        v.checked_mul(8)?.checked_add(u64::from(d - b'0'))
    })
}

/// A decimal number as found in pax records: digits only.
pub(super) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u64, |v, &d| {
        v.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// The bytes of a NUL-terminated field, up to the first NUL.
pub(super) fn until_nul(field: &[u8]) -> &[u8] {
    field.split(|&b| b == 0).next().unwrap_or(field)
}

/// Bytes of padding after `size` data bytes.
pub(super) fn padding(size: u64) -> u64 {
    (BLOCK_U64 - size % BLOCK_U64) % BLOCK_U64
}

/// Walks pax records `LEN key=value\n`, calling `f` on each; `LEN` counts the whole record.
/// NUL padding after the last record is tolerated.
pub(super) fn parse_pax(
    mut data: &[u8],
    mut f: impl FnMut(&[u8], &[u8]) -> Result<(), String>,
) -> Result<(), String> {
    while !data.iter().all(|&b| b == 0) {
        let digits = data.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || data.get(digits) != Some(&b' ') {
            return Err("record does not start with a decimal length and a space".into());
        }
        let len = parse_decimal(&data[..digits])
            .and_then(|n| usize::try_from(n).ok())
            .ok_or("record length is too large")?;
        if len > data.len() {
            return Err(format!(
                "record length {len} runs past the end of the header ({} bytes left)",
                data.len()
            ));
        }
        // Shortest record: length, space, one-byte key, '=', newline.
        if len < digits + 4 {
            return Err(format!("record length {len} is too short"));
        }
        let (record, rest) = data.split_at(len);
        let Some((b'\n', body)) = record.split_last() else {
            return Err(format!(
                "record of length {len} does not end with a newline"
            ));
        };
        let kv = &body[digits + 1..];
        let eq = kv
            .iter()
            .position(|&b| b == b'=')
            .ok_or("record has no '='")?;
        if eq == 0 {
            return Err("record has an empty key".into());
        }
        f(&kv[..eq], &kv[eq + 1..])?;
        data = rest;
    }
    Ok(())
}

pub(super) fn pax_size(value: &[u8]) -> Result<Option<u64>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    parse_decimal(value)
        .map(Some)
        .ok_or_else(|| format!("size {:?} is not a decimal number", escape_name(value)))
}

/// What extended headers said about the member that follows them.
#[derive(Default)]
pub(super) struct Pending {
    /// Offset of the first extended header of the member.
    pub(super) first_offset: Option<u64>,
    pub(super) long_name: Option<Vec<u8>>,
    pub(super) long_link: Option<Vec<u8>>,
    pub(super) path: Option<Vec<u8>>,
    pub(super) linkpath: Option<Vec<u8>>,
    pub(super) size: Option<u64>,
    pub(super) sparse_name: Option<Vec<u8>>,
    pub(super) sparse: bool,
}

impl Pending {
    pub(super) fn apply_pax(&mut self, key: &[u8], value: &[u8]) -> Result<(), String> {
        let text = |v: &[u8]| (!v.is_empty()).then(|| v.to_vec());
        match key {
            b"path" => self.path = text(value),
            b"linkpath" => self.linkpath = text(value),
            b"size" => self.size = pax_size(value)?,
            b"GNU.sparse.name" => {
                self.sparse = true;
                self.sparse_name = text(value);
            }
            _ if key.starts_with(b"GNU.sparse.") => self.sparse = true,
            _ => {}
        }
        Ok(())
    }
}

/// The name in the header itself: `name`, joined to a non-empty ustar `prefix` by `/`.
pub(super) fn header_name(block: &[u8; BLOCK_LEN]) -> Vec<u8> {
    let name = until_nul(&block[NAME]);
    if &block[MAGIC] == b"ustar\0" {
        let field = if &block[STAR_TRAILER] == b"tar\0" {
            &block[STAR_PREFIX]
        } else {
            &block[PREFIX]
        };
        let prefix = until_nul(field);
        if !prefix.is_empty() {
            return [prefix, b"/", name].concat();
        }
    }
    name.to_vec()
}
