//! [`TarStream`]: the members of a tar read from any [`Read`] (a decompressor, standard
//! input, a large file read with read()), each member's data read through
//! [`TarStream::data`] or skipped. A read error keeps its value: the [`TarError`] it gives
//! carries the [`Fault`](crate::source::archive::Fault) of the [`io::Error`] (see
//! [`TarError::fault`]).

use std::io::{self, Read};

use super::header::padding;
use super::walker::{Input, InputError, Pos, Walker};
use super::{TarError, TarMember, BLOCK_LEN};

/// A tar read from a stream, counting its position.
struct StreamInput<R> {
    inner: R,
    pos: u64,
}

impl<R: Read> Input for StreamInput<R> {
    fn pos(&self) -> u64 {
        self.pos
    }

    fn read_block(&mut self, buf: &mut [u8; BLOCK_LEN]) -> Result<usize, InputError> {
        let mut filled = 0;
        while filled < BLOCK_LEN {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(k) => {
                    let k = k.min(BLOCK_LEN - filled);
                    filled += k;
                    self.pos = self.pos.saturating_add(k as u64);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(InputError::Read(e)),
            }
        }
        Ok(filled)
    }

    fn read_meta(&mut self, len: usize, out: &mut Vec<u8>) -> Result<(), InputError> {
        out.try_reserve_exact(len)
            .map_err(|e| InputError::Alloc(len, e))?;
        let n = self
            .inner
            .by_ref()
            .take(len as u64)
            .read_to_end(out)
            .map_err(InputError::Read)?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(())
    }

    fn skip(&mut self, n: u64) -> Result<u64, InputError> {
        let mut buf = [0u8; 8 * 1024];
        let mut done = 0u64;
        while done < n {
            let want = usize::try_from(n - done)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            match self.inner.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(k) => {
                    let k = k.min(want) as u64;
                    done += k;
                    self.pos = self.pos.saturating_add(k);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(InputError::Read(e)),
            }
        }
        Ok(done)
    }
}

enum State {
    Active,
    /// A data read failed: [`TarStream::next_member`] reports it once.
    Failed(TarError),
    Done,
}

/// The member whose data the stream is at.
struct Current {
    pos: Pos,
    /// Data bytes not yet read.
    remaining: u64,
}

/// Reads a tar from a stream (a `.tar.gz` or `.tar.zst` decoder): call
/// [`TarStream::next_member`], then read the member's bytes with [`TarStream::data`]. Unread
/// bytes are skipped on the next call. Offsets are positions in the (decompressed) stream.
///
/// Reads are 512 bytes for headers and at most 8 KiB when skipping: wrap an unbuffered
/// reader (a raw [`std::fs::File`]) in a [`std::io::BufReader`]. Decoders buffer already.
///
/// # Errors
/// Damage skipped gives an `Err` from `next_member` ([`TarError::resumes`]), and the next
/// call goes on; malformed input or an I/O error gives one `Err`, then `Ok(None)`.
///
/// # Example
/// ```
/// use std::io::Read;
/// use vigie::source::tar::TarStream;
///
/// let file = std::fs::File::open("fixtures/tar/pax.tar.gz")?;
/// let mut tar = TarStream::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
/// while let Some(member) = tar.next_member()? {
///     let mut head = Vec::new();
///     tar.data().take(64).read_to_end(&mut head)?; // the rest is skipped
///     println!("{}: {} bytes", String::from_utf8_lossy(&member.name), member.size);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TarStream<R: Read> {
    input: StreamInput<R>,
    walker: Walker,
    current: Option<Current>,
    state: State,
}

impl<R: Read> TarStream<R> {
    /// Starts reading a tar from `reader`, positioned at its first header.
    pub fn new(reader: R) -> TarStream<R> {
        TarStream {
            input: StreamInput {
                inner: reader,
                pos: 0,
            },
            walker: Walker::default(),
            current: None,
            state: State::Active,
        }
    }

    /// Moves to the next member, skipping what is left of the current one's data.
    ///
    /// # Errors
    /// For damage skipped ([`TarError::resumes`]): the next call goes on after it. Otherwise
    /// once, on malformed input, a read error, or a member whose data runs past the end of the
    /// stream (including one whose data read through [`TarStream::data`] failed); every later
    /// call gives `Ok(None)`.
    pub fn next_member(&mut self) -> Result<Option<TarMember>, TarError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Active => {}
            State::Failed(e) => return Err(e),
            State::Done => return Ok(None),
        }
        if let Some(cur) = self.current.take() {
            let at = self.input.pos;
            let skipped = self
                .input
                .skip(cur.remaining)
                .map_err(|e| TarError::input(at, Some(cur.pos.name.clone()), e))?;
            if skipped < cur.remaining {
                let read = cur.pos.size - cur.remaining + skipped;
                return Err(TarError::past_end(&cur.pos, read));
            }
            let at = self.input.pos;
            self.input
                .skip(padding(cur.pos.size))
                .map_err(|e| TarError::input(at, Some(cur.pos.name.clone()), e))?;
        }
        let member = match self.walker.next_member(&mut self.input) {
            Ok(member) => member,
            Err(e) => {
                if e.resumes() {
                    self.state = State::Active;
                }
                return Err(e);
            }
        };
        if let Some(m) = &member {
            self.current = Some(Current {
                pos: Pos::from(m),
                remaining: m.size,
            });
            self.state = State::Active;
        }
        Ok(member)
    }

    /// A reader of the current member's data: exactly [`TarMember::size`] bytes, then EOF.
    /// Before the first member and after the end it reads nothing.
    ///
    /// # Errors
    /// Reads fail with [`io::ErrorKind::UnexpectedEof`] when the stream ends before the
    /// member's data does, or with the underlying reader's error; the stream is then failed
    /// and [`TarStream::next_member`] reports it as a [`TarError`].
    pub fn data(&mut self) -> MemberData<'_, R> {
        MemberData { stream: self }
    }

    /// Offset in the (decompressed) stream of the next byte to be read.
    pub fn position(&self) -> u64 {
        self.input.pos
    }

    /// True when the blocks last read where a header was expected are an end-of-archive
    /// marker (two zero blocks or more) with nothing after them yet: a tar is complete, and
    /// only padding or another archive may follow. A caller decoding a compressed stream
    /// tells by it an error in bytes after the stream's end (trailing garbage, ignored as
    /// `gzip -d` ignores it) from one inside the archive.
    pub fn after_end_marker(&self) -> bool {
        self.walker.after_end
    }

    /// Gives back the reader, positioned wherever reading stopped.
    pub fn into_inner(self) -> R {
        self.input.inner
    }
}

/// Reads the data of a [`TarStream`]'s current member; see [`TarStream::data`].
pub struct MemberData<'s, R: Read> {
    stream: &'s mut TarStream<R>,
}

impl<R: Read> Read for MemberData<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let stream = &mut *self.stream;
        if let State::Failed(e) = &stream.state {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, e.to_string()));
        }
        let Some(cur) = stream.current.as_mut() else {
            return Ok(0);
        };
        if cur.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(cur.remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        match stream.input.inner.read(&mut buf[..want]) {
            Ok(0) => {
                let e = TarError::past_end(&cur.pos, cur.pos.size - cur.remaining);
                let io_err = io::Error::new(io::ErrorKind::UnexpectedEof, e.to_string());
                stream.current = None;
                stream.state = State::Failed(e);
                Err(io_err)
            }
            Ok(k) => {
                let k = k.min(want);
                cur.remaining -= k as u64;
                stream.input.pos = stream.input.pos.saturating_add(k as u64);
                Ok(k)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let te = TarError::read(stream.input.pos, Some(cur.pos.name.clone()), &e);
                stream.current = None;
                stream.state = State::Failed(te);
                Err(e)
            }
        }
    }
}
