//! One shape for every archive vigie opens, so that the pipeline knows members, not formats.
//!
//! Each format walks its own headers ([`super::tar`], [`super::zip`]) and its members come out
//! here as one [`Member`] type: raw name bytes, a [`MemberKind`], the offset of its data, its
//! size, and a [`Body`] saying how its bytes are had (in place in the archive's bytes, packed
//! there and decoded, or read next from a stream). Archives held in memory (a map) are walked
//! by [`InPlace`]; archives read as a stream (a compressed tar, standard input, a large file
//! read with read()) by [`MemberStream`]. Errors of either are one [`ArchiveError`] whose
//! [`Fault`] tells a malformed archive from a reader that failed.
//!
//! Every bound on what an archive may cost is in one [`Limits`] value (the command line's
//! `--max-*` flags): members are admitted against it ([`Expansion::admit`]) before anything is
//! decoded or allocated.

use std::fmt;
use std::io::{self, Read};

use super::stream::{stream_fault, StreamFault};
use super::tar::{EntryKind, TarError, TarMember, TarSlice, TarStream};
use super::zip::{Entries, Method, ZipError, ZipMember};
use crate::model::{FailKind, Failure};

/// Why an archive could not be read further, or where it is damaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The archive's bytes are wrong: a bad header, a member past the end, a bad directory.
    Malformed,
    /// The bytes could not be read: the reader's own error (a decoder that failed, a file that
    /// changed while it was read), of this kind.
    Io(io::ErrorKind),
    /// The decompressor of a compressed tar failed, and this is what it said of its stream.
    Decode(StreamFault),
}

impl Fault {
    /// The fault of a reader's error: what a decompressor said of its stream
    /// ([`stream_fault`]), else [`Fault::Io`] of the error's kind.
    pub fn of(e: &io::Error) -> Fault {
        stream_fault(e).map_or(Fault::Io(e.kind()), Fault::Decode)
    }
}

/// What is wrong with an archive, or with one member of it: damage skipped (the walk goes
/// on, [`ArchiveError::resumes`]) or the error that ended the walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveError {
    /// Malformed, or an I/O error.
    pub fault: Fault,
    /// The member at fault, when its name is known.
    pub member: Option<Vec<u8>>,
    /// Where in the archive (in the decompressed stream for a compressed one).
    pub offset: u64,
    /// Bytes from `offset` skipped without being read (a damaged range of a tar); 0 otherwise.
    pub skipped: u64,
    /// Whether the walk goes on after it.
    pub resumes: bool,
    /// What is wrong, without the location.
    pub reason: String,
    /// The whole message, in the format's own words.
    message: String,
}

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ArchiveError {}

impl From<TarError> for ArchiveError {
    fn from(e: TarError) -> ArchiveError {
        ArchiveError {
            fault: e.fault,
            message: e.to_string(),
            resumes: e.resumes(),
            member: e.member,
            offset: e.offset,
            skipped: e.skipped,
            reason: e.reason,
        }
    }
}

impl From<ZipError> for ArchiveError {
    fn from(e: ZipError) -> ArchiveError {
        ArchiveError {
            fault: e.io.map_or(Fault::Malformed, Fault::Io),
            message: e.to_string(),
            resumes: e.resumes,
            member: e.member,
            offset: e.offset,
            skipped: 0,
            reason: e.reason,
        }
    }
}

/// What a member is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberKind {
    /// A file: its bytes are an item.
    File,
    /// A directory: nothing to read.
    Directory,
    /// A symbolic or hard link: skipped (its target is read where it is a file).
    Link,
    /// A device or a named pipe: skipped.
    Special,
    /// A kind vigie does not read, named for the failure (e.g. `"GNU sparse member"`).
    Unsupported(String),
}

/// How a member's bytes are had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// As they are, at [`Member::offset`] in the archive's bytes, [`Member::size`] of them.
    InPlace,
    /// Packed at [`Member::offset`] in the archive's bytes: decoded, then checked.
    Packed(Packed),
    /// Read next from the [`MemberStream`] it came from ([`MemberStream::data`]).
    Streamed,
}

/// A member stored packed in the archive (a zip member).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packed {
    /// How its bytes are packed.
    pub method: Method,
    /// Bytes it takes in the archive.
    pub compressed_size: u64,
    /// CRC-32 of its unpacked bytes, as the archive records it.
    pub crc32: u32,
    /// Its bytes are encrypted: not read.
    pub encrypted: bool,
}

/// One member of an archive, whatever the format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Its path as the archive stores it, raw bytes.
    pub name: Vec<u8>,
    /// What it is.
    pub kind: MemberKind,
    /// Offset of its data in the archive (of its packed data for [`Body::Packed`]; in the
    /// decompressed stream for a compressed archive).
    pub offset: u64,
    /// Its size in bytes (unpacked); for a single compressed stream, known only once read.
    pub size: u64,
    /// How its bytes are had.
    pub body: Body,
}

impl Member {
    /// Bytes it takes in the archive's bytes (its packed size when packed).
    pub fn stored_len(&self) -> u64 {
        match &self.body {
            Body::Packed(p) => p.compressed_size,
            _ => self.size,
        }
    }

    /// The range of the archive's bytes holding its data, when it fits in memory.
    pub fn stored_range(&self) -> Option<std::ops::Range<usize>> {
        let start = usize::try_from(self.offset).ok()?;
        let end = start.checked_add(usize::try_from(self.stored_len()).ok()?)?;
        Some(start..end)
    }

    /// Its name for messages.
    pub fn display_name(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

impl From<TarMember> for Member {
    fn from(m: TarMember) -> Member {
        let kind = match m.kind {
            EntryKind::Regular => MemberKind::File,
            EntryKind::Directory => MemberKind::Directory,
            EntryKind::Symlink | EntryKind::Hardlink => MemberKind::Link,
            EntryKind::CharDevice | EntryKind::BlockDevice | EntryKind::Fifo => MemberKind::Special,
            EntryKind::Other(b'S') => MemberKind::Unsupported("GNU sparse member".into()),
            EntryKind::Other(t) => {
                MemberKind::Unsupported(format!("tar entry type {:?}", t as char))
            }
        };
        Member {
            name: m.name,
            kind,
            offset: m.data_offset,
            size: m.size,
            body: Body::InPlace,
        }
    }
}

impl From<ZipMember> for Member {
    fn from(m: ZipMember) -> Member {
        Member {
            kind: if m.is_dir() {
                MemberKind::Directory
            } else {
                MemberKind::File
            },
            offset: m.data_offset,
            size: m.size,
            body: Body::Packed(Packed {
                method: m.method,
                compressed_size: m.compressed_size,
                crc32: m.crc32,
                encrypted: m.encrypted,
            }),
            name: m.name,
        }
    }
}

/// A format whose archives are walked in place, over bytes in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A tar: members in place, in file order.
    Tar,
    /// A zip: members from its central directory, stored or packed (deflate, deflate64,
    /// bzip2, LZMA, zstd, xz).
    Zip,
}

impl Format {
    /// Whether members come in the order of their bytes, so that the pages behind a batch
    /// of them may be read ahead and released as the walk goes.
    pub fn in_order(self) -> bool {
        self == Format::Tar
    }

    /// Whether the archive is an item of its own too (its digests after its members'): a zip
    /// is (an APK, a DOCX, a known archive are listed whole); a tar is not, as before.
    pub fn is_item(self) -> bool {
        self == Format::Zip
    }
}

/// The members of an archive held in memory, in its own order.
pub enum InPlace<'a> {
    /// A tar's members.
    Tar(TarSlice<'a>),
    /// A zip's members.
    Zip(Entries<'a>),
}

impl<'a> InPlace<'a> {
    /// Starts walking `bytes` as an archive of `format`.
    ///
    /// # Errors
    /// When the archive cannot be walked at all (a zip without a consistent directory).
    pub fn open(format: Format, bytes: &'a [u8]) -> Result<InPlace<'a>, ArchiveError> {
        Ok(match format {
            Format::Tar => InPlace::Tar(TarSlice::new(bytes)),
            Format::Zip => InPlace::Zip(super::zip::find(bytes)?.entries()),
        })
    }
}

impl Iterator for InPlace<'_> {
    type Item = Result<Member, ArchiveError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            InPlace::Tar(t) => t.next().map(|r| r.map(Member::from).map_err(Into::into)),
            InPlace::Zip(z) => z.next().map(|r| r.map(Member::from).map_err(Into::into)),
        }
    }
}

/// The members of an archive read as a stream, each read through [`MemberStream::data`]
/// before the next is asked for (what is left of one is skipped).
pub struct MemberStream {
    inner: Streamed,
}

enum Streamed {
    Tar(TarStream<Box<dyn Read + Send>>),
}

impl MemberStream {
    /// A tar read from `reader` (a decoder, or a file read with read()).
    pub fn tar(reader: Box<dyn Read + Send>) -> MemberStream {
        MemberStream {
            inner: Streamed::Tar(TarStream::new(reader)),
        }
    }

    /// The next member, or `None` at the end.
    ///
    /// # Errors
    /// Damage skipped ([`ArchiveError::resumes`]; the next call goes on), or once the error
    /// that ends the stream ([`Fault::Io`] when its reader failed).
    pub fn next_member(&mut self) -> Result<Option<Member>, ArchiveError> {
        match &mut self.inner {
            Streamed::Tar(t) => match t.next_member() {
                Ok(m) => Ok(m.map(|m| Member {
                    body: Body::Streamed,
                    ..Member::from(m)
                })),
                Err(e) => Err(e.into()),
            },
        }
    }

    /// A reader of the current member's bytes.
    pub fn data(&mut self) -> impl Read + '_ {
        match &mut self.inner {
            Streamed::Tar(t) => t.data(),
        }
    }

    /// Whether the walk is past the archive's own end (a tar's end-of-archive marker), where
    /// only padding or another archive may follow: an error of the reader there is in what
    /// follows the archive, not in it.
    pub fn after_end(&self) -> bool {
        match &self.inner {
            Streamed::Tar(t) => t.after_end_marker(),
        }
    }

    /// Offset in the (decompressed) stream of the next byte to be read.
    pub fn position(&self) -> u64 {
        match &self.inner {
            Streamed::Tar(t) => t.position(),
        }
    }

    /// Gives back the reader, wherever reading stopped.
    pub fn into_inner(self) -> Box<dyn Read + Send> {
        match self.inner {
            Streamed::Tar(t) => t.into_inner(),
        }
    }
}

/// Bounds on what opening containers may cost: nesting, expanded bytes, members, expansion
/// ratio. Checked before anything is decoded or allocated; what is over a bound is a failed
/// `limit` item, never silently left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Containers opened inside containers: an input is at depth 0, its members at 1, and a
    /// container met at depth `max_depth` is hashed as one item, not opened.
    pub max_depth: u32,
    /// Bytes one member may expand to when decoded (a zip member, a compressed stream).
    pub max_expanded: u64,
    /// Bytes an input's decoded members may total (its whole decompressed stream for a
    /// compressed one).
    pub max_scan: u64,
    /// Members one archive may hold; past it the rest is one failed item.
    pub max_members: u64,
    /// A packed member may expand to at most this many times its packed bytes (deflate
    /// cannot pass 1032:1; bzip2, LZMA, zstd and xz can, so a member of theirs that
    /// compresses better is refused too: raise it to read those), and a zip's members together to at most this many times the
    /// archive (more means members sharing their data: an overlapping-member bomb).
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 8,
            max_expanded: 64 << 30,
            max_scan: 1 << 40,
            max_members: 10_000_000,
            max_ratio: 1100,
        }
    }
}

/// A packed member this small passes the ratio check whatever its packed size (a few bytes of
/// deflate may stand for a kilobyte).
const RATIO_SLACK: u64 = 1 << 10;

/// What one archive's members have cost so far, against [`Limits`].
#[derive(Debug)]
pub struct Expansion {
    limits: Limits,
    /// Inside nested containers, what their decoding may still expand to.
    budget: Option<std::sync::Arc<Budget>>,
    /// The archive's own size, when known (for its ratio bound).
    archive_len: Option<u64>,
    members: u64,
    expanded: u64,
}

impl Expansion {
    /// Nothing spent yet, for an archive of `archive_len` bytes (None for a stream).
    pub fn new(
        limits: Limits,
        archive_len: Option<u64>,
        budget: Option<std::sync::Arc<Budget>>,
    ) -> Expansion {
        Expansion {
            limits,
            budget,
            archive_len,
            members: 0,
            expanded: 0,
        }
    }

    /// Counts one more member: the failure of the first over [`Limits::max_members`] (the
    /// walk stops there).
    pub fn count(&mut self) -> Option<Failure> {
        self.members += 1;
        (self.members > self.limits.max_members).then(|| {
            Failure::new(
                FailKind::Limit,
                format!(
                    "the archive holds more than {} members (--max-members): the rest were \
                     not read",
                    self.limits.max_members
                ),
            )
        })
    }

    /// Admits a file member to be read, or says why not: encrypted (`encrypted`), packed with
    /// a method vigie does not decode (`unsupported`), declaring more bytes than it can hold
    /// or than the limits allow, inside nested containers more than their [`Budget`] has
    /// left (`limit`), stored with a size its data does not have (`archive`). Decided from
    /// its headers, before anything is decoded or allocated.
    pub fn admit(&mut self, m: &Member) -> Result<(), Failure> {
        self.admit_packed(m)?;
        // Inside nested containers every member read counts, decoded or in place: members in
        // place may overlap (a zip's stored entries sharing their data), and each may hold
        // members of its own.
        match &self.budget {
            Some(b) if !b.charge(m.size) => {
                let why = format!("member {:?}: {}", m.display_name(), b.exceeded());
                Err(Failure::new(FailKind::Limit, why))
            }
            _ => Ok(()),
        }
    }

    fn admit_packed(&mut self, m: &Member) -> Result<(), Failure> {
        let Body::Packed(p) = &m.body else {
            return Ok(());
        };
        let name = m.display_name();
        if p.encrypted {
            let why = format!("zip member {name:?} is encrypted: its content was not read");
            return Err(Failure::new(FailKind::Encrypted, why));
        }
        let ratio = self.limits.max_ratio;
        let bound = p.compressed_size.saturating_mul(ratio).max(RATIO_SLACK);
        self.expanded = self
            .expanded
            .saturating_add(m.size.saturating_sub(RATIO_SLACK));
        let budget = self
            .archive_len
            .map_or(u64::MAX, |l| l.saturating_mul(ratio));
        if m.size > bound {
            let why = format!(
                "zip member {name:?} declares {} bytes from {} compressed: over the \
                 {ratio}:1 expansion limit (--max-ratio), not decompressed",
                m.size, p.compressed_size
            );
            return Err(Failure::new(FailKind::Limit, why));
        }
        if self.expanded > budget {
            let why = format!(
                "zip member {name:?}: the archive's members expand to more than \
                 {ratio} times its {} bytes (members sharing their data?), \
                 not decompressed",
                self.archive_len.unwrap_or(0)
            );
            return Err(Failure::new(FailKind::Limit, why));
        }
        if m.size > self.limits.max_expanded {
            let why = format!(
                "zip member {name:?} declares {} bytes: over the limit of {} bytes per item \
                 (--max-expanded), not decompressed",
                m.size, self.limits.max_expanded
            );
            return Err(Failure::new(FailKind::Limit, why));
        }
        if self.expanded > self.limits.max_scan {
            let why = format!(
                "zip member {name:?}: the archive's members expand to more than {} bytes \
                 (--max-scan), not decompressed",
                self.limits.max_scan
            );
            return Err(Failure::new(FailKind::Limit, why));
        }
        match p.method {
            Method::Stored if m.size != p.compressed_size => {
                let why = format!(
                    "zip member {name:?} is stored but declares {} bytes in {} bytes of data",
                    m.size, p.compressed_size
                );
                Err(Failure::new(FailKind::Archive, why))
            }
            m if m.decodes() => Ok(()),
            other => {
                let why = format!(
                    "zip member {name:?} is compressed with {}: not decompressed, its \
                     content was not read",
                    other.name()
                );
                Err(Failure::new(FailKind::Unsupported, why))
            }
        }
    }
}

/// What decoding inside nested containers may still expand to, shared by every container
/// opened under one outermost nested container: `min(--max-scan, --max-ratio × its size)`.
/// A 42.zip-style bomb (archives of archives, each member expanding again) is stopped by it
/// from the declared sizes or within a few bytes of decoding, whatever the depth.
#[derive(Debug)]
pub struct Budget {
    limit: u64,
    spent: std::sync::atomic::AtomicU64,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> Budget {
        Budget {
            limit,
            spent: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Its limit in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Spends `n` bytes; false when that goes past the limit (they stay spent: what comes
    /// after fails too).
    pub fn charge(&self, n: u64) -> bool {
        use std::sync::atomic::Ordering;
        let before = self.spent.fetch_add(n, Ordering::Relaxed);
        before.saturating_add(n) <= self.limit
    }

    /// The message of a failure past it.
    pub fn exceeded(&self) -> String {
        format!(
            "nested containers expand past {} bytes (--max-ratio times the size of the \
             outermost nested container, or --max-scan): not decompressed",
            self.limit
        )
    }
}

/// A decoder whose output is charged to a [`Budget`]: past it, reads fail with
/// [`io::ErrorKind::FileTooLarge`] (which callers take for a `limit` failure).
pub struct Metered<R> {
    inner: R,
    budget: std::sync::Arc<Budget>,
}

impl<R> Metered<R> {
    /// Charges what `inner` gives to `budget`.
    pub fn new(inner: R, budget: std::sync::Arc<Budget>) -> Metered<R> {
        Metered { inner, budget }
    }
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if !self.budget.charge(n as u64) {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                self.budget.exceeded(),
            ));
        }
        Ok(n)
    }
}

/// Whether an I/O error is a [`Metered`] reader's past its budget.
pub fn over_budget(kind: io::ErrorKind) -> bool {
    kind == io::ErrorKind::FileTooLarge
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(size: u64, body: Body) -> Member {
        Member {
            name: b"m".to_vec(),
            kind: MemberKind::File,
            offset: 0,
            size,
            body,
        }
    }

    fn packed(method: Method, size: u64, compressed_size: u64) -> Member {
        member(
            size,
            Body::Packed(Packed {
                method,
                compressed_size,
                crc32: 0,
                encrypted: false,
            }),
        )
    }

    /// Inside nested containers every member is charged, in place or packed: stored zip
    /// entries sharing their data (each a container of its own) cannot fan out past it.
    #[test]
    fn a_nested_budget_counts_every_member() {
        let budget = std::sync::Arc::new(Budget::new(10_000));
        let mut e = Expansion::new(Limits::default(), Some(1 << 20), Some(budget.clone()));
        for _ in 0..4 {
            assert!(e.admit(&packed(Method::Stored, 2_000, 2_000)).is_ok());
        }
        let f = e.admit(&member(2_001, Body::InPlace)).unwrap_err();
        assert_eq!(f.kind, FailKind::Limit);
        assert!(
            f.message.contains("nested containers expand past 10000"),
            "{f:?}"
        );
        // The budget is shared: another archive under the same one is over it too.
        let mut other = Expansion::new(Limits::default(), None, Some(budget));
        assert!(other.admit(&packed(Method::Deflated, 10, 5)).is_err());
        // Without nesting, members in place cost nothing.
        let mut top = Expansion::new(Limits::default(), Some(100), None);
        assert!(top.admit(&member(u64::MAX, Body::InPlace)).is_ok());
    }

    #[test]
    fn packed_members_are_bounded_before_decoding() {
        let mut e = Expansion::new(Limits::default(), Some(10_000), None);
        let f = e
            .admit(&packed(Method::Deflated, 2_000_000, 1_000))
            .unwrap_err();
        assert_eq!(f.kind, FailKind::Limit);
        let f = e.admit(&packed(Method::Stored, 10, 9)).unwrap_err();
        assert_eq!(f.kind, FailKind::Archive);
        let f = e.admit(&packed(Method::Other(98), 10, 9)).unwrap_err();
        assert!(f.message.contains("ppmd (method 98)"), "{f:?}");
        for m in [Method::Deflate64, Method::Bzip2, Method::Zstd, Method::Xz] {
            assert!(e.admit(&packed(m, 10, 9)).is_ok(), "{m:?}");
        }
        assert_eq!(f.kind, FailKind::Unsupported);
        let l = Limits {
            max_members: 2,
            ..Limits::default()
        };
        let mut e = Expansion::new(l, None, None);
        assert!(e.count().is_none() && e.count().is_none());
        assert_eq!(e.count().map(|f| f.kind), Some(FailKind::Limit));
    }

    #[test]
    fn a_metered_reader_fails_past_its_budget() {
        let budget = std::sync::Arc::new(Budget::new(5));
        let mut r = Metered::new(&b"0123456789"[..], budget);
        let mut out = Vec::new();
        let e = r.read_to_end(&mut out).unwrap_err();
        assert!(over_budget(e.kind()));
    }
}
