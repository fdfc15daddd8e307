//! A list's provenance: the size and SHA-256 of its bytes as they were read from disk, taken
//! while the list is read (one pass, no second read of a file that may have changed since,
//! and a pipe or `/dev/stdin` is hashed too), so that an index can say later which file each
//! of its lists was built from (`vigie index info`, a scan's `custody`).
//!
//! What is hashed is the file's bytes as read, before any decompression: a `.gz` list's
//! digest is the one `sha256sum list.gz` prints. The reader is read to its end even when a
//! format module stopped before it (trailing bytes after a JSON document), so the digest
//! always covers the whole file. An NSRL RDSv3 database, which SQLite reads from its path,
//! is hashed by one read of the file before SQLite opens it; a DCSO Bloom filter, mapped, is
//! hashed from its map.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde::Serialize;
use sha2::Digest as _;

use super::{
    nsrl, read_list_from_as, ListEntry, ListError, ListFormat, ListProblem, ListSummary, ListType,
};

/// The size and SHA-256 of a list's bytes as read from disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SourceDigest {
    /// Bytes read.
    pub bytes: u64,
    /// Their SHA-256.
    pub sha256: [u8; 32],
}

impl SourceDigest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> SourceDigest {
        SourceDigest {
            bytes: bytes.len() as u64,
            sha256: sha2::Sha256::digest(bytes).into(),
        }
    }

    /// The SHA-256 as `sha256sum` prints it.
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }
}

impl Serialize for SourceDigest {
    /// `{"bytes": N, "sha256": "hex"}`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("SourceDigest", 2)?;
        st.serialize_field("bytes", &self.bytes)?;
        st.serialize_field("sha256", &self.sha256_hex())?;
        st.end()
    }
}

/// A reader that hashes and counts every byte read through it.
struct Tee<R> {
    inner: R,
    hasher: sha2::Sha256,
    bytes: u64,
}

impl<R: Read> Tee<R> {
    fn new(inner: R) -> Self {
        Tee {
            inner,
            hasher: sha2::Sha256::new(),
            bytes: 0,
        }
    }

    /// Reads what is left to the end, then gives the digest of everything read.
    fn finish(mut self) -> io::Result<SourceDigest> {
        io::copy(&mut self, &mut io::sink())?;
        Ok(SourceDigest {
            bytes: self.bytes,
            sha256: self.hasher.finalize().into(),
        })
    }
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// [`super::read_list_as`], and the size and SHA-256 of the file's bytes as read (see the
/// module documentation).
///
/// # Errors
/// As [`super::read_list`]; reading the rest of the file for its digest can fail too
/// ([`ListError::Io`]).
pub fn read_list_hashed(
    path: &Path,
    declared: Option<ListType>,
    format: Option<ListFormat>,
    on_entry: impl FnMut(ListEntry<'_>),
    on_problem: impl FnMut(ListProblem),
) -> Result<(ListSummary, SourceDigest), ListError> {
    let io_err = |source| ListError::Io {
        path: path.to_owned(),
        source,
    };
    let mut tee = Tee::new(File::open(path).map_err(io_err)?);
    let mut magic = Vec::with_capacity(nsrl::SQLITE_MAGIC.len());
    (&mut tee)
        .take(nsrl::SQLITE_MAGIC.len() as u64)
        .read_to_end(&mut magic)
        .map_err(io_err)?;
    let sqlite = magic == nsrl::SQLITE_MAGIC;
    if format == Some(ListFormat::Rdsv3) || (format.is_none() && sqlite) {
        let digest = tee.finish().map_err(io_err)?;
        let summary = nsrl::read_rdsv3(path, declared, on_entry, on_problem)?;
        return Ok((summary, digest));
    }
    let summary = read_list_from_as(
        io::Cursor::new(magic).chain(&mut tee),
        path,
        declared,
        format,
        on_entry,
        on_problem,
    )?;
    let digest = tee.finish().map_err(io_err)?;
    Ok((summary, digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digest is the file's, read whole, compressed or not, whatever the reader stopped
    /// at; it matches `sha2` over the file's bytes.
    #[test]
    fn digest_is_of_the_bytes_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("l.txt");
        let text = "d41d8cd98f00b204e9800998ecf8427e\n".repeat(1000);
        std::fs::write(&plain, &text).unwrap();
        let gz = dir.path().join("l.txt.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, text.as_bytes()).unwrap();
        let gz_bytes = enc.finish().unwrap();
        std::fs::write(&gz, &gz_bytes).unwrap();
        for (p, bytes) in [(&plain, text.as_bytes()), (&gz, &gz_bytes[..])] {
            let mut n = 0;
            let (_, d) = read_list_hashed(p, None, None, |_| n += 1, |_| {}).unwrap();
            assert_eq!(n, 1000);
            assert_eq!(d, SourceDigest::of(bytes), "{}", p.display());
        }
    }
}
