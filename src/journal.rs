//! Resumable runs: a journal of what a run delivered, so that a run cut at any point (a
//! `kill -9`, a lost node, a stop) continues where it stopped, and the union of its outputs
//! is what one uninterrupted run writes: no item twice, none lost.
//!
//! # How
//! The journal is an append-only text file beside the output. Every item delivered is
//! recorded by a 128-bit key of its location (`I`), every input whose items were all
//! delivered by a key of its path (`U`: not even opened again). At a *commit* (every
//! [`COMMIT_EVERY`], and at the end) the records' output is flushed and synced, then the keys
//! since the last commit and a `C` line with the output's length and the counts so far are
//! appended and synced. A resumed run trusts only what lies before the last complete `C`
//! line: it cuts the output back to the length that line gives (the records of uncommitted
//! items go, and are written again) and the journal back to that line, restores the counts,
//! and leaves out the committed items and inputs. A complete run ends the journal with `E`.
//!
//! ```text
//! vigie-journal 1 <fingerprint: 32 hex digits>
//! I <32 hex digits>
//! U <32 hex digits>
//! C <output bytes> <seconds> <counts as JSON>
//! E
//! ```
//!
//! The fingerprint names the run (command, inputs, output, options, index): a journal is
//! only resumed by the same run.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use crate::engine::Skip;
use crate::model::{os_bytes, Event, Location};
use crate::report::Tally;

/// Time between two commits: what a `kill -9` can cost a resumed run at most (besides the
/// items in flight). Each commit syncs two files.
pub const COMMIT_EVERY: Duration = Duration::from_millis(250);

const MAGIC: &str = "vigie-journal 1";

/// A key of the journal (an item's location or an input's path), hashed: 128 bits, so that
/// two of a billion keys collide with odds of about 10^-21.
type Key = u128;

/// The key of the item at `loc`: its file, member name and offset (two members of one tar
/// may share a name, never an offset).
pub fn item_key(loc: &Location) -> Key {
    let mut h = Xxh3::new();
    h.update(b"I");
    let path = os_bytes(loc.path.as_os_str());
    h.update(&(path.len() as u64).to_le_bytes());
    h.update(&path);
    match &loc.member {
        Some(m) => {
            h.update(&[1]);
            h.update(&(m.len() as u64).to_le_bytes());
            h.update(m);
        }
        None => h.update(&[0]),
    }
    h.update(&loc.offset.to_le_bytes());
    h.digest128()
}

/// The key of the input at `path`.
pub fn input_key(path: &Path) -> Key {
    let mut h = Xxh3::new();
    h.update(b"U");
    h.update(&os_bytes(path.as_os_str()));
    h.digest128()
}

/// Keys are already uniform hashes: their low 64 bits are the set's hash.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, k: u128) {
        self.0 = k as u64;
    }
}

type KeySet = HashSet<Key, BuildHasherDefault<KeyHasher>>;

/// The counts a commit records (those of [`Tally`] that a resumed run carries on; things
/// skipped on purpose are counted again by each run, which walks every input again).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
struct Counts {
    items: u64,
    bytes: u64,
    matched: u64,
    known: u64,
    probable: u64,
    clean: u64,
    failed: u64,
    failed_by_reason: BTreeMap<String, u64>,
    hits: u64,
    images: u64,
    low_quality: u64,
}

impl Counts {
    fn of(t: &Tally) -> Counts {
        Counts {
            items: t.items,
            bytes: t.bytes,
            matched: t.matched,
            known: t.known,
            probable: t.probable,
            clean: t.clean,
            failed: t.failed,
            failed_by_reason: t
                .failed_by_reason
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            hits: t.hits,
            images: t.images,
            low_quality: t.low_quality,
        }
    }

    fn tally(self) -> Tally {
        Tally {
            items: self.items,
            bytes: self.bytes,
            matched: self.matched,
            known: self.known,
            probable: self.probable,
            clean: self.clean,
            failed: self.failed,
            failed_by_reason: self
                .failed_by_reason
                .into_iter()
                .map(|(k, v)| (std::borrow::Cow::Owned(k), v))
                .collect(),
            skipped: BTreeMap::new(),
            hits: self.hits,
            images: self.images,
            low_quality: self.low_quality,
        }
    }
}

/// Why a journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading or writing it failed.
    #[error("journal {path}: {source}")]
    Io {
        /// The journal.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// It exists and `resume` was not asked for.
    #[error(
        "journal {0} exists: give --resume to continue the run it records, or remove it to \
         start again"
    )]
    Exists(PathBuf),
    /// It is not a journal.
    #[error("{0} is not a vigie journal")]
    NotAJournal(PathBuf),
    /// It records another run.
    #[error(
        "journal {0} records another run (other inputs, output, options or index): resume \
         with the same command, or remove it"
    )]
    OtherRun(PathBuf),
    /// The output it vouches for is gone or shorter.
    #[error(
        "the output {output} holds {found} bytes but journal {journal} recorded {committed}: \
         it changed since; remove the journal to start again"
    )]
    OutputChanged {
        /// The journal.
        journal: PathBuf,
        /// The output.
        output: PathBuf,
        /// Bytes the journal recorded.
        committed: u64,
        /// Bytes found.
        found: u64,
    },
}

impl From<JournalError> for io::Error {
    fn from(e: JournalError) -> io::Error {
        let kind = match &e {
            JournalError::Io { source, .. } => source.kind(),
            _ => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e)
    }
}

/// What earlier runs committed: the items and inputs to leave out.
#[derive(Default)]
pub struct Done {
    items: KeySet,
    inputs: KeySet,
}

impl Done {
    /// Items delivered.
    pub fn items(&self) -> usize {
        self.items.len()
    }
}

impl Skip for Done {
    fn input_done(&self, path: &Path) -> bool {
        self.inputs.contains(&input_key(path))
    }
    fn item_done(&self, loc: &Location) -> bool {
        self.items.contains(&item_key(loc))
    }
}

/// An open journal, appending.
pub struct Journal {
    file: File,
    path: PathBuf,
    items: Vec<Key>,
    inputs: Vec<Key>,
    last_commit: Instant,
}

/// What the journal says earlier runs did.
#[derive(Default)]
pub struct Resumed {
    /// What they delivered.
    pub done: Done,
    /// Output bytes the last commit vouches for.
    pub committed_len: u64,
    /// Seconds they spent.
    pub secs: f64,
    /// Counts of the committed items.
    pub tally: Tally,
    /// Whether one completed the run (the journal ends with `E`).
    pub completed: bool,
}

impl Journal {
    /// Opens the journal at `path` for the run named by `fingerprint`: a new one, or with
    /// `resume` the one an earlier run left (cut back to its last commit), or a new one if
    /// there is none.
    ///
    /// # Errors
    /// See [`JournalError`].
    pub fn open(
        path: &Path,
        fingerprint: u128,
        resume: bool,
    ) -> Result<(Journal, Resumed), JournalError> {
        let io_err = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        let exists = path.exists();
        if exists && !resume {
            return Err(JournalError::Exists(path.to_path_buf()));
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_err)?;
        if !file.metadata().map_err(io_err)?.is_file() {
            return Err(io_err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            )));
        }
        let mut j = Journal {
            file: file.try_clone().map_err(io_err)?,
            path: path.to_path_buf(),
            items: Vec::new(),
            inputs: Vec::new(),
            last_commit: Instant::now(),
        };
        let header = format!("{MAGIC} {fingerprint:032x}\n");
        let mut resumed = Resumed::default();
        let keep = if exists && file.metadata().map_err(io_err)?.len() > 0 {
            read(path, &mut file, &header, &mut resumed)?
        } else {
            0
        };
        if keep == 0 {
            file.set_len(0).map_err(io_err)?;
            file.seek(SeekFrom::Start(0)).map_err(io_err)?;
            file.write_all(header.as_bytes()).map_err(io_err)?;
            file.sync_data().map_err(io_err)?;
        } else {
            // What followed the last commit was never vouched for.
            file.set_len(keep).map_err(io_err)?;
        }
        j.file.seek(SeekFrom::End(0)).map_err(io_err)?;
        Ok((j, resumed))
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Notes what `ev` delivered (written at the next commit).
    pub fn record(&mut self, ev: &Event) {
        match ev {
            Event::Item(r) => self.items.push(item_key(&r.loc)),
            Event::InputDone(p) => self.inputs.push(input_key(p)),
            Event::Skipped(_) => {}
        }
    }

    /// Whether a commit is due.
    pub fn due(&self) -> bool {
        self.last_commit.elapsed() >= COMMIT_EVERY
    }

    /// Commits what was recorded: the output (already flushed and synced by the caller) is
    /// `out_len` bytes long and `tally` counts every item delivered, this run's and earlier
    /// runs' (`secs` likewise).
    ///
    /// # Errors
    /// I/O errors writing or syncing the journal.
    pub fn commit(&mut self, out_len: u64, secs: f64, tally: &Tally) -> io::Result<()> {
        let mut buf = Vec::with_capacity(35 * (self.items.len() + self.inputs.len()) + 256);
        for k in self.items.drain(..) {
            writeln!(buf, "I {k:032x}")?;
        }
        for k in self.inputs.drain(..) {
            writeln!(buf, "U {k:032x}")?;
        }
        write!(buf, "C {out_len} {secs} ")?;
        serde_json::to_writer(&mut buf, &Counts::of(tally))?;
        buf.push(b'\n');
        self.write_synced(&buf)?;
        self.last_commit = Instant::now();
        Ok(())
    }

    /// Marks the run complete (after its last commit).
    ///
    /// # Errors
    /// I/O errors.
    pub fn complete(&mut self) -> io::Result<()> {
        self.write_synced(b"E\n")
    }

    fn write_synced(&mut self, buf: &[u8]) -> io::Result<()> {
        let path = &self.path;
        let named =
            |e: io::Error| io::Error::new(e.kind(), format!("journal {}: {e}", path.display()));
        self.file.write_all(buf).map_err(named)?;
        self.file.sync_data().map_err(named)
    }
}

/// Reads what earlier runs committed into `r`; returns the length of the journal up to its
/// last commit (0: nothing committed, start again).
fn read(path: &Path, file: &mut File, header: &str, r: &mut Resumed) -> Result<u64, JournalError> {
    let io_err = |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut rd = BufReader::new(file);
    let mut line = Vec::new();
    rd.read_until(b'\n', &mut line).map_err(io_err)?;
    if !line.starts_with(MAGIC.as_bytes()) {
        return Err(JournalError::NotAJournal(path.to_path_buf()));
    }
    if line != header.as_bytes() {
        return Err(JournalError::OtherRun(path.to_path_buf()));
    }
    let mut pos = line.len() as u64;
    let mut keep = pos;
    let mut committed = false;
    let (mut items, mut inputs) = (Vec::new(), Vec::new());
    loop {
        line.clear();
        let n = rd.read_until(b'\n', &mut line).map_err(io_err)?;
        // A line cut by the kill, or damaged: nothing from here on was committed.
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        pos += n as u64;
        let text = match std::str::from_utf8(&line[..n - 1]) {
            Ok(t) => t,
            Err(_) => break,
        };
        let key = |hex: &str| {
            u128::from_str_radix(hex, 16)
                .ok()
                .filter(|_| hex.len() == 32)
        };
        match text.split_once(' ') {
            Some(("I", k)) => match key(k) {
                Some(k) => items.push(k),
                None => break,
            },
            Some(("U", k)) => match key(k) {
                Some(k) => inputs.push(k),
                None => break,
            },
            Some(("C", rest)) => {
                let mut parts = rest.splitn(3, ' ');
                let (Some(len), Some(secs), Some(counts)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    break;
                };
                let (Ok(len), Ok(secs), Ok(counts)) = (
                    len.parse::<u64>(),
                    secs.parse::<f64>(),
                    serde_json::from_str::<Counts>(counts),
                ) else {
                    break;
                };
                r.done.items.extend(items.drain(..));
                r.done.inputs.extend(inputs.drain(..));
                r.committed_len = len;
                r.secs = secs;
                r.tally = counts.tally();
                keep = pos;
                committed = true;
            }
            None if text == "E" => {
                r.completed = true;
                keep = pos;
                break;
            }
            _ => break,
        }
    }
    // A journal that never committed (killed at once) starts again from nothing.
    Ok(if committed { keep } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(p: &str, m: Option<&str>, off: u64) -> Location {
        Location {
            path: p.into(),
            member: m.map(|m| m.as_bytes().to_vec()),
            chain: Vec::new(),
            offset: off,
            size: 1,
        }
    }

    /// A journal cut before its first commit starts over, as a journal again (found by the
    /// kill test: its header was once rewritten past the end of what had been read).
    #[test]
    fn uncommitted_journal_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (mut j, _) = Journal::open(&path, 3, false).unwrap();
        for i in 0..500 {
            j.items.push(item_key(&loc("f", None, i)));
        }
        // Keys written, then killed before the commit line.
        let mut lines = String::new();
        for k in j.items.drain(..) {
            lines.push_str(&format!("I {k:032x}\n"));
        }
        j.write_synced(lines.as_bytes()).unwrap();
        drop(j);
        let (_, r) = Journal::open(&path, 3, true).unwrap();
        assert_eq!(r.done.items(), 0);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            format!("{MAGIC} {:032x}\n", 3).into_bytes()
        );
        let (_, r) = Journal::open(&path, 3, true).unwrap();
        assert_eq!(r.committed_len, 0);
    }

    #[test]
    fn keys_tell_locations_apart() {
        let keys = [
            item_key(&loc("a", None, 0)),
            item_key(&loc("a", Some(""), 0)),
            item_key(&loc("a", Some("x"), 512)),
            item_key(&loc("a", Some("x"), 1024)),
            item_key(&loc("a/x", None, 0)),
            input_key(Path::new("a")),
        ];
        let set: HashSet<_> = keys.iter().collect();
        assert_eq!(set.len(), keys.len());
        // The size is not part of an item's identity (a failure may not know it).
        assert_eq!(item_key(&loc("a", None, 0)), {
            let mut l = loc("a", None, 0);
            l.size = 99;
            item_key(&l)
        });
    }

    /// Only what precedes the last complete commit is trusted: keys after it and a torn
    /// last line are dropped, and the journal is cut back there.
    #[test]
    fn resumes_from_the_last_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (mut j, _) = Journal::open(&path, 7, false).unwrap();
        let mut t = Tally {
            items: 2,
            clean: 1,
            failed: 1,
            ..Tally::default()
        };
        t.failed_by_reason.insert("read".into(), 1);
        j.items.push(item_key(&loc("a", None, 0)));
        j.inputs.push(input_key(Path::new("a")));
        j.items.push(item_key(&loc("t.tar", Some("m"), 512)));
        j.commit(100, 1.5, &t).unwrap();
        j.items.push(item_key(&loc("b", None, 0)));
        j.commit(0, 0.0, &t).unwrap(); // a second commit...
        drop(j);
        // ...whose C line is then torn by a kill.
        let text = std::fs::read(&path).unwrap();
        std::fs::write(&path, &text[..text.len() - 3]).unwrap();
        let cut = std::fs::metadata(&path).unwrap().len();

        assert!(matches!(
            Journal::open(&path, 7, false),
            Err(JournalError::Exists(_))
        ));
        assert!(matches!(
            Journal::open(&path, 8, true),
            Err(JournalError::OtherRun(_))
        ));
        let (_, j) = Journal::open(&path, 7, true).unwrap();
        assert_eq!(j.committed_len, 100);
        assert_eq!(j.secs, 1.5);
        assert_eq!(j.tally.items, 2);
        assert_eq!(j.tally.failed_by_reason.get("read"), Some(&1));
        assert!(j.done.input_done(Path::new("a")));
        assert!(j.done.item_done(&loc("t.tar", Some("m"), 512)));
        assert!(!j.done.item_done(&loc("t.tar", Some("m"), 1024)));
        assert!(!j.done.item_done(&loc("b", None, 0)));
        assert!(!j.completed);
        assert!(std::fs::metadata(&path).unwrap().len() < cut);

        std::fs::write(&path, b"something else\n").unwrap();
        assert!(matches!(
            Journal::open(&path, 7, true),
            Err(JournalError::NotAJournal(_))
        ));
    }
}
