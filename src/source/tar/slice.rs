//! [`TarSlice`]: the members of a tar held in memory (a mapped file), read in place; the
//! walker's input is the slice itself, which never fails.

use super::header::padding;
use super::walker::{Input, InputError, Pos, Walker};
use super::{TarError, TarMember, BLOCK_LEN};

/// A tar held in memory, read in place.
struct SliceInput<'a> {
    bytes: &'a [u8],
    /// Never more than `bytes.len()`.
    pos: usize,
}

impl SliceInput<'_> {
    fn rest(&self) -> &[u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }
}

impl Input for SliceInput<'_> {
    fn pos(&self) -> u64 {
        self.pos as u64
    }

    fn read_block(&mut self, buf: &mut [u8; BLOCK_LEN]) -> Result<usize, InputError> {
        let rest = self.rest();
        let n = rest.len().min(BLOCK_LEN);
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }

    fn read_meta(&mut self, len: usize, out: &mut Vec<u8>) -> Result<(), InputError> {
        let rest = self.rest();
        let n = rest.len().min(len);
        out.extend_from_slice(&rest[..n]);
        self.pos += n;
        Ok(())
    }

    fn skip(&mut self, n: u64) -> Result<u64, InputError> {
        let k = usize::try_from(n)
            .unwrap_or(usize::MAX)
            .min(self.rest().len());
        self.pos += k;
        Ok(k as u64)
    }
}

/// Iterates the members of a tar held in memory (typically a memory map), without copying
/// their data: each [`TarMember`] says where its bytes are in the slice.
///
/// Yields `Err` for damage skipped ([`TarError::resumes`]) and goes on; any other `Err` is
/// the last item.
///
/// # Algorithm
/// Reads one 512-byte header at a time, folding pax and GNU long-name headers into the member
/// that follows them, then jumps over the member's data rounded up to 512 bytes. A member
/// whose data does not fit in the slice is an error naming it. Where a header is expected and
/// none is, blocks are skipped up to the next valid header (see the module doc): zero blocks
/// (end markers, padding) silently, anything else as one error. So the walk ends only at the
/// end of the slice, and the members of concatenated archives are all found.
///
/// # Example
/// ```
/// use vigie::source::tar::{EntryKind, TarSlice};
///
/// let archive = std::fs::read("fixtures/tar/ustar.tar")?;
/// for member in TarSlice::new(&archive) {
///     let member = member?;
///     if member.kind == EntryKind::Regular {
///         let bytes = member.data(&archive).expect("TarSlice members fit their slice");
///         println!("{} bytes", bytes.len());
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TarSlice<'a> {
    input: SliceInput<'a>,
    walker: Walker,
    done: bool,
}

impl<'a> TarSlice<'a> {
    /// Starts reading the tar in `bytes`, from its first header.
    pub fn new(bytes: &'a [u8]) -> TarSlice<'a> {
        TarSlice {
            input: SliceInput { bytes, pos: 0 },
            walker: Walker::default(),
            done: false,
        }
    }

    /// Offset of the next header to read.
    pub fn position(&self) -> u64 {
        self.input.pos()
    }
}

impl Iterator for TarSlice<'_> {
    type Item = Result<TarMember, TarError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let member = match self.walker.next_member(&mut self.input) {
            Ok(Some(member)) => member,
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = !e.resumes();
                return Some(Err(e));
            }
        };
        let left = self.input.rest().len() as u64;
        if member.size > left {
            self.done = true;
            return Some(Err(TarError::past_end(&Pos::from(&member), left)));
        }
        // Data then padding; padding cut short by the end of the slice is the end of archive.
        let skip = member.size.saturating_add(padding(member.size));
        // Infallible on a slice.
        let _ = self.input.skip(skip);
        Some(Ok(member))
    }
}

impl std::iter::FusedIterator for TarSlice<'_> {}
