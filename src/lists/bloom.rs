//! DCSO Bloom filter files, the probabilistic known-file sets CIRCL hashlookup publishes (and
//! plaso, fleur, poppy, flor and Tenzir read and write).
//!
//! A filter answers "certainly absent" or "probably present": a key that was inserted always
//! tests positive, a key that was not tests positive with a small probability, the filter's
//! false-positive rate. Its hits are therefore never certain ([`BloomParams::fpr`]).
//!
//! # File layout
//!
//! Little-endian: `u64 flags` (the low byte is the format version, 1), `u64 n` (the capacity
//! the filter was sized for), `f64 p` (the false-positive rate aimed at with `n` keys), `u64 k`
//! (probes per key), `u64 m` (bits), `u64 N` (keys inserted), then the bits, `ceil(m / 64)`
//! 64-bit words, bit `i` being bit `i % 8` of byte `i / 8`; anything after them is user data,
//! ignored.
//!
//! # Keys and probes
//!
//! A key is a byte string: for hashlookup, the **upper-case hex** SHA-1 of a file (40 ASCII
//! bytes, no newline). Its `k` bit positions come from FNV-1 (64-bit, multiply then XOR) of
//! the key, reduced modulo the prime `P = 2^64 - 59`, then `k` times multiplied by
//! `G = 2^64 - 1469` (wrapping) and reduced modulo `P` again, each value modulo `m` being one
//! bit. The header values are untrusted: [`parse_header`] bounds `k` and checks that the `m`
//! bits lie inside the file before anything is indexed.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::hash::{Algo, Digest};
use crate::lists::ListError;
use crate::read::{Data, MmapPolicy};

/// Bytes of the file header.
pub const HEADER_LEN: usize = 48;
/// Most probes per key accepted (a filter at p = 1e-12 needs 40).
pub const MAX_K: u64 = 64;
/// The only file version there is.
const VERSION: u64 = 1;
/// The modulus of the probe sequence, the largest prime below 2^64.
const P: u64 = 18_446_744_073_709_551_557;
/// The multiplier of the probe sequence.
const G: u64 = 18_446_744_073_709_550_147;
const FNV_OFFSET: u64 = 14_695_981_039_346_656_037;
const FNV_PRIME: u64 = 1_099_511_628_211;

/// The header values of a filter, checked against the size of what holds them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BloomParams {
    /// Probes per key (1..=[`MAX_K`]).
    pub k: u64,
    /// Bits (at least 1).
    pub m: u64,
    /// Capacity the filter was sized for.
    pub n: u64,
    /// False-positive rate aimed at with `n` keys (0 < p < 1).
    pub p: f64,
    /// Keys inserted, as the file says.
    pub inserted: u64,
}

impl BloomParams {
    /// Bytes of the bit array: `ceil(m / 64)` words of 8 bytes (`None` on overflow).
    pub fn bits_len(&self) -> Option<u64> {
        self.m.div_ceil(64).checked_mul(8)
    }

    /// The false-positive rate reported with a hit: the rate the filter was sized for, or the
    /// rate its fill implies, `(1 - e^(-k N / m))^k`, when that is higher (an over-filled
    /// filter). Never below `p`: a filter is not trusted to be better than it was built.
    pub fn fpr(&self) -> f64 {
        let (k, m, n) = (self.k as f64, self.m as f64, self.inserted as f64);
        let fill = (1.0 - (-k * n / m).exp()).powf(k);
        if fill.is_finite() {
            fill.max(self.p).min(1.0)
        } else {
            self.p
        }
    }
}

/// True when `head` (the first bytes of a file) looks like a DCSO Bloom filter: version 1 in
/// the first byte and a NUL among the next seven (no text hash list starts that way; a file
/// too short to hold a header is then refused by [`parse_header`], not read as text).
pub fn sniff(head: &[u8]) -> bool {
    let rest = head.get(1..head.len().min(8)).unwrap_or_default();
    head.first() == Some(&(VERSION as u8)) && rest.contains(&0)
}

/// Reads a little-endian u64 at `at` (`None` past the end).
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at.checked_add(8)?)?
        .first_chunk::<8>()
        .map(|x| u64::from_le_bytes(*x))
}

/// Parses and bounds the 48-byte header of a filter file of `file_len` bytes.
///
/// # Errors
/// A reason naming the bad field: a short file, another version, `k` outside `1..=`[`MAX_K`],
/// `m` of zero or of more bits than the file holds, `p` not a probability.
pub fn parse_header(b: &[u8], file_len: u64) -> Result<BloomParams, String> {
    if b.len() < HEADER_LEN || file_len < HEADER_LEN as u64 {
        return Err(format!(
            "{file_len} bytes is shorter than the {HEADER_LEN}-byte DCSO Bloom filter header"
        ));
    }
    let field = |at| u64_at(b, at).unwrap_or(0);
    let version = field(0) & 0xFF;
    if version != VERSION {
        return Err(format!(
            "DCSO Bloom filter version {version}, only version 1 is known"
        ));
    }
    let params = BloomParams {
        n: field(8),
        p: f64::from_bits(field(16)),
        k: field(24),
        m: field(32),
        inserted: field(40),
    };
    check(&params)?;
    let bits = params.bits_len().unwrap_or(u64::MAX);
    let held = file_len - HEADER_LEN as u64;
    if bits > held {
        return Err(format!(
            "header claims m = {} bits ({bits} bytes) but the file holds {held} bytes after its \
             header",
            params.m
        ));
    }
    Ok(params)
}

/// Checks the values of `p` that do not depend on a size: `k`, `m`, `p`.
///
/// # Errors
/// A reason naming the bad field.
pub fn check(p: &BloomParams) -> Result<(), String> {
    if p.k == 0 || p.k > MAX_K {
        return Err(format!("k = {} probes per key, expected 1 to {MAX_K}", p.k));
    }
    if p.m == 0 {
        return Err("m = 0 bits".into());
    }
    if !(p.p > 0.0 && p.p < 1.0) {
        return Err(format!("p = {} is not a false-positive rate", p.p));
    }
    Ok(())
}

/// FNV-1 (not 1a), 64 bits: multiply, then XOR each byte.
fn fnv1_64(key: &[u8]) -> u64 {
    key.iter()
        .fold(FNV_OFFSET, |h, &b| h.wrapping_mul(FNV_PRIME) ^ u64::from(b))
}

/// True when every bit of `key` is set in `bits` (the bit array of a filter of `k` probes and
/// `m` bits): the key is probably in the set. A bit beyond `bits` reads as clear, so a short
/// array (which [`parse_header`] and the index rule out) answers absent instead of panicking.
#[inline]
pub fn contains(bits: &[u8], k: u64, m: u64, key: &[u8]) -> bool {
    if m == 0 {
        return false;
    }
    let mut h = fnv1_64(key) % P;
    for _ in 0..k {
        h = h.wrapping_mul(G) % P;
        let bit = h % m;
        let set = usize::try_from(bit / 8)
            .ok()
            .and_then(|i| bits.get(i))
            .is_some_and(|byte| byte & (1 << (bit % 8)) != 0);
        if !set {
            return false;
        }
    }
    true
}

/// How digests become keys: the algorithm the filter holds and the case of its hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BloomKey {
    /// The algorithm of the digests inserted.
    pub algo: Algo,
    /// Upper-case hex (hashlookup's convention) or lower-case.
    pub upper: bool,
}

impl Default for BloomKey {
    /// Upper-case hex SHA-1, as CIRCL hashlookup's filters.
    fn default() -> BloomKey {
        BloomKey {
            algo: Algo::Sha1,
            upper: true,
        }
    }
}

impl BloomKey {
    /// The key of `d` (its hex in this case), `None` when `d` is of another algorithm.
    pub fn key(&self, d: &Digest) -> Option<String> {
        if d.algo() != self.algo {
            return None;
        }
        let hex = d.to_hex();
        Some(if self.upper {
            hex.to_ascii_uppercase()
        } else {
            hex
        })
    }
}

/// A DCSO Bloom filter file, mapped.
#[derive(Debug)]
pub struct BloomFile {
    /// The file, as given.
    pub path: PathBuf,
    /// Its checked header.
    pub params: BloomParams,
    data: Data,
    bits: Range<usize>,
}

impl BloomFile {
    /// Maps the filter at `path` and checks its header.
    ///
    /// # Errors
    /// [`ListError::Io`] when the file cannot be read, [`ListError::Format`] naming the bad
    /// header field.
    pub fn open(path: &Path) -> Result<BloomFile, ListError> {
        let data = Data::open(path, MmapPolicy::Always).map_err(|source| ListError::Io {
            path: path.to_owned(),
            source,
        })?;
        BloomFile::from_data(data, path)
    }

    /// Reads a filter from bytes already in memory, as [`BloomFile::open`] reads a file;
    /// `path` only names it in errors and in [`BloomFile::path`]. The header is checked the
    /// same way: nothing is allocated from its claimed sizes (the fuzz target's entry point).
    ///
    /// # Errors
    /// [`ListError::Format`] naming the bad header field.
    pub fn from_bytes(bytes: Vec<u8>, path: &Path) -> Result<BloomFile, ListError> {
        BloomFile::from_data(Data::from_vec(bytes), path)
    }

    fn from_data(data: Data, path: &Path) -> Result<BloomFile, ListError> {
        let b = data.bytes();
        let params = parse_header(b, b.len() as u64).map_err(|reason| ListError::Format {
            path: path.to_owned(),
            reason,
        })?;
        let len = params.bits_len().unwrap_or(0) as usize;
        Ok(BloomFile {
            path: path.to_owned(),
            params,
            data,
            bits: HEADER_LEN..HEADER_LEN + len,
        })
    }

    /// A filter whose header was already checked (one embedded in an index, being merged
    /// into another): `bits` are its bits, `ceil(m / 64) * 8` bytes.
    pub(crate) fn from_parts(path: &Path, params: BloomParams, bits: Data) -> BloomFile {
        let len = bits.len();
        BloomFile {
            path: path.to_owned(),
            params,
            data: bits,
            bits: 0..len,
        }
    }

    /// The size and SHA-256 of the file as mapped (for a filter taken from an index being
    /// merged, of its bits alone).
    pub fn source_digest(&self) -> crate::lists::SourceDigest {
        crate::lists::SourceDigest::of(self.data.bytes())
    }

    /// The bit array (`ceil(m / 64) * 8` bytes).
    pub fn bits(&self) -> &[u8] {
        self.data.bytes().get(self.bits.clone()).unwrap_or_default()
    }

    /// True when `key` is probably in the filter.
    pub fn contains(&self, key: &[u8]) -> bool {
        contains(self.bits(), self.params.k, self.params.m, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1_reference_values() {
        // FNV-1 64 of "" is the offset basis; of "a", (basis * prime) ^ 0x61.
        assert_eq!(fnv1_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1_64(b"a"), 0xaf63_bd4c_8601_b7be);
    }

    #[test]
    fn header_bounds() {
        let mut h = vec![0u8; HEADER_LEN];
        h[0] = 1;
        h[8..16].copy_from_slice(&1000u64.to_le_bytes());
        h[16..24].copy_from_slice(&1e-4f64.to_le_bytes());
        h[24..32].copy_from_slice(&14u64.to_le_bytes());
        h[32..40].copy_from_slice(&19_170u64.to_le_bytes());
        let need = 48 + 300 * 8;
        assert!(parse_header(&h, need).is_ok());
        let e = parse_header(&h, need - 1).unwrap_err();
        assert!(e.contains("m = 19170 bits (2400 bytes)"), "{e}");
        let mut big = h.clone();
        big[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(parse_header(&big, need).unwrap_err().contains("claims"));
        let mut k0 = h.clone();
        k0[24..32].copy_from_slice(&0u64.to_le_bytes());
        assert!(parse_header(&k0, need).unwrap_err().contains("k = 0"));
        let mut k = h.clone();
        k[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(parse_header(&k, need).unwrap_err().contains("probes"));
        let mut p = h.clone();
        p[16..24].copy_from_slice(&f64::NAN.to_le_bytes());
        assert!(parse_header(&p, need).unwrap_err().contains("p = NaN"));
        let mut v = h.clone();
        v[0] = 2;
        assert!(parse_header(&v, need).unwrap_err().contains("version 2"));
        assert!(parse_header(&h[..40], 40).unwrap_err().contains("shorter"));
        assert!(sniff(&h) && !sniff(b"da39a3ee5e6b4b0d3255bfef95601890afd80709\n"));
        assert!(sniff(b"\x01\x00\x00") && !sniff(b"\x01") && !sniff(b""));
    }

    /// The shared sample (fixtures/hashlookup): every member tests positive as upper-case
    /// hex, the non-member does not, and neither do the lower-case forms of the members (the
    /// key is the exact byte string).
    #[test]
    fn hashlookup_sample() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hashlookup");
        let f = BloomFile::open(&dir.join("known-sha1.dcso.bloom")).unwrap();
        assert_eq!(
            f.params,
            BloomParams {
                k: 14,
                m: 19_170,
                n: 1000,
                p: 1e-4,
                inserted: 4
            }
        );
        let members =
            std::fs::read_to_string(dir.join("known-sha1.dcso.bloom.members.txt")).unwrap();
        let members: Vec<&str> = members.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(members.len(), 4);
        for m in &members {
            assert!(f.contains(m.as_bytes()), "{m}");
            assert!(
                !f.contains(m.to_ascii_lowercase().as_bytes()),
                "{m} lower-case"
            );
        }
        assert!(!f.contains(b"C153F0130814AAE64C378D220FDDBC5F0905E332"));
        // The key of a digest: upper-case hex SHA-1 by default.
        let d: Digest =
            Digest::from_hex(Algo::Sha1, "22596363b3de40b06f981fb85d82312e8c0ed511").unwrap();
        let key = BloomKey::default().key(&d).unwrap();
        assert!(f.contains(key.as_bytes()));
    }

    /// From bytes as from the file: the same filter; a bad header the same error.
    #[test]
    fn from_bytes_reads_as_open() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hashlookup/known-sha1.dcso.bloom");
        let bytes = std::fs::read(&path).unwrap();
        let f = BloomFile::from_bytes(bytes.clone(), &path).unwrap();
        assert_eq!(f.params, BloomFile::open(&path).unwrap().params);
        assert_eq!(f.bits(), &bytes[HEADER_LEN..]);
        let e = BloomFile::from_bytes(bytes[..100].to_vec(), Path::new("short.bloom")).unwrap_err();
        assert!(matches!(e, ListError::Format { .. }), "{e}");
        assert!(e.to_string().contains("claims m = 19170 bits"), "{e}");
    }

    #[test]
    fn fpr_is_never_below_p() {
        let mut p = BloomParams {
            k: 14,
            m: 19_170,
            n: 1000,
            p: 1e-4,
            inserted: 4,
        };
        assert_eq!(p.fpr(), 1e-4);
        p.inserted = 10_000;
        assert!(p.fpr() > 0.5);
    }
}
