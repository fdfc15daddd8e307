//! Deterministic output: the records of a run in one fixed order whatever order the threads
//! finished in, so that a rerun (of one shard of an array job, say) writes the same bytes.
//!
//! [`Chunked`] sits between a record writer and its output. Bytes written before
//! [`Chunked::start_sorting`] (a header) go straight through; after it, the bytes of each
//! item (ended by [`Chunked::end_item`], which gives the item's sort key: its location) are
//! one chunk, and the chunks are written in the order of their keys (then of their bytes) at
//! [`Chunked::finish`]. Memory stays bounded: past [`RUN_BYTES`] of chunks the
//! sorted run is spilled to an anonymous temporary file, and the runs are merged at the end.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};

/// Bytes of chunks held in memory before a sorted run is spilled to disk.
pub const RUN_BYTES: usize = 64 << 20;

/// A writer that can put the chunks written through it in byte order (see the module doc).
pub struct Chunked<W: Write> {
    inner: W,
    sorting: Option<Sorter>,
    current: Vec<u8>,
}

impl<W: Write> Chunked<W> {
    /// Writes straight through until [`Chunked::start_sorting`].
    pub fn new(inner: W) -> Self {
        Chunked {
            inner,
            sorting: None,
            current: Vec::new(),
        }
    }

    /// From now on, collect chunks and write them sorted at the end.
    pub fn start_sorting(&mut self) {
        self.sorting.get_or_insert_with(Sorter::default);
    }

    /// Ends the current item's chunk (nothing when nothing was written for it), to be placed
    /// by `key` (bytes compared in order; equal keys by the chunks' bytes). Not sorting, the
    /// key is unused.
    ///
    /// # Errors
    /// I/O errors spilling a run to disk.
    pub fn end_item(&mut self, key: &[u8]) -> io::Result<()> {
        if let (Some(s), false) = (&mut self.sorting, self.current.is_empty()) {
            // The chunk is stored behind its key, encoded so that comparing the stored bytes
            // compares the keys first: a 0 byte becomes 0 1, and 0 0 ends the key.
            let mut stored = Vec::with_capacity(key.len() + 2 + self.current.len());
            for &b in key {
                stored.push(b);
                if b == 0 {
                    stored.push(1);
                }
            }
            stored.extend_from_slice(&[0, 0]);
            stored.append(&mut self.current);
            s.push(stored)?;
        }
        Ok(())
    }

    /// The inner writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Writes the sorted chunks and returns the inner writer.
    ///
    /// # Errors
    /// I/O errors.
    pub fn finish(mut self) -> io::Result<W> {
        self.end_item(&[])?;
        if let Some(s) = self.sorting.take() {
            s.write_to(&mut self.inner)?;
        }
        Ok(self.inner)
    }
}

impl<W: Write> Write for Chunked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.sorting.is_some() {
            self.current.extend_from_slice(buf);
            Ok(buf.len())
        } else {
            self.inner.write(buf)
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.sorting.is_some() {
            Ok(())
        } else {
            self.inner.flush()
        }
    }
}

#[derive(Default)]
struct Sorter {
    chunks: Vec<Vec<u8>>,
    bytes: usize,
    runs: Vec<File>,
}

impl Sorter {
    fn push(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        self.bytes += chunk.len();
        self.chunks.push(chunk);
        if self.bytes >= RUN_BYTES {
            self.spill()?;
        }
        Ok(())
    }

    /// Writes the chunks held, sorted, to a run file: each a u64 length then its bytes.
    fn spill(&mut self) -> io::Result<()> {
        self.chunks.sort_unstable();
        let mut w = BufWriter::new(tempfile::tempfile()?);
        for c in self.chunks.drain(..) {
            w.write_all(&(c.len() as u64).to_le_bytes())?;
            w.write_all(&c)?;
        }
        let mut f = w.into_inner().map_err(io::IntoInnerError::into_error)?;
        io::Seek::rewind(&mut f)?;
        self.runs.push(f);
        self.bytes = 0;
        Ok(())
    }

    fn write_to(mut self, out: &mut impl Write) -> io::Result<()> {
        if self.runs.is_empty() {
            self.chunks.sort_unstable();
            return self
                .chunks
                .iter()
                .try_for_each(|c| out.write_all(unkeyed(c)));
        }
        if !self.chunks.is_empty() {
            self.spill()?;
        }
        let mut readers: Vec<BufReader<File>> = self.runs.into_iter().map(BufReader::new).collect();
        let mut heap = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(c) = next_chunk(r)? {
                heap.push(Reverse((c, i)));
            }
        }
        while let Some(Reverse((c, i))) = heap.pop() {
            out.write_all(unkeyed(&c))?;
            if let Some(next) = next_chunk(&mut readers[i])? {
                heap.push(Reverse((next, i)));
            }
        }
        Ok(())
    }
}

/// A stored chunk's bytes, after its key (see [`Chunked::end_item`]).
fn unkeyed(stored: &[u8]) -> &[u8] {
    let mut i = 0;
    while i + 1 < stored.len() {
        match (stored[i], stored[i + 1]) {
            (0, 0) => return &stored[i + 2..],
            (0, _) => i += 2,
            _ => i += 1,
        }
    }
    stored
}

fn next_chunk(r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 8];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = usize::try_from(u64::from_le_bytes(len)).map_err(io::Error::other)?;
    let mut c = vec![0u8; len];
    r.read_exact(&mut c)?;
    Ok(Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[Vec<u8>], spill_every: Option<usize>) -> Vec<u8> {
        keyed(
            &chunks
                .iter()
                .map(|c| (Vec::new(), c.clone()))
                .collect::<Vec<_>>(),
            spill_every,
        )
    }

    fn keyed(chunks: &[(Vec<u8>, Vec<u8>)], spill_every: Option<usize>) -> Vec<u8> {
        let mut c = Chunked::new(Vec::new());
        c.write_all(b"header\n").unwrap();
        c.start_sorting();
        for (i, (key, chunk)) in chunks.iter().enumerate() {
            c.write_all(chunk).unwrap();
            c.end_item(key).unwrap();
            if spill_every.is_some_and(|n| i % n == n - 1) {
                c.sorting.as_mut().unwrap().spill().unwrap();
            }
        }
        c.finish().unwrap()
    }

    /// The output is the header then the chunks in byte order, whether they stayed in
    /// memory or went through spilled runs, whatever order they came in.
    #[test]
    fn sorted_in_memory_and_through_runs() {
        let mut rng = crate::testing::XorShift(0x9E37_79B9_7F4A_7C15);
        let chunks: Vec<Vec<u8>> = (0..500)
            .map(|_| format!("{{\"n\":{}}}\n", rng.next() % 97).into_bytes())
            .collect();
        let mut want = chunks.clone();
        want.sort();
        let want = [b"header\n".to_vec(), want.concat()].concat();
        assert_eq!(run(&chunks, None), want);
        assert_eq!(run(&chunks, Some(37)), want);
        let mut reversed = chunks.clone();
        reversed.reverse();
        assert_eq!(run(&reversed, Some(100)), want);
    }

    /// Chunks come out in the order of their keys, keys holding 0 bytes and keys that are
    /// prefixes of others included, then by their bytes; the keys are not written.
    #[test]
    fn sorted_by_key_then_bytes() {
        let items: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (b"b".to_vec(), b"1\n".to_vec()),
            (b"a\0z".to_vec(), b"2\n".to_vec()),
            (b"a".to_vec(), b"9\n".to_vec()),
            (b"a".to_vec(), b"3\n".to_vec()),
            (b"a\0".to_vec(), b"4\n".to_vec()),
            (b"".to_vec(), b"5\n".to_vec()),
            (b"a\x01".to_vec(), b"6\n".to_vec()),
        ];
        let want = b"header\n5\n3\n9\n4\n2\n6\n1\n".to_vec();
        assert_eq!(keyed(&items, None), want);
        assert_eq!(keyed(&items, Some(2)), want);
        let mut rev = items.clone();
        rev.reverse();
        assert_eq!(keyed(&rev, Some(3)), want);
    }
}
