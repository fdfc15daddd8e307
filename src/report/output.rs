//! Where records go: standard output, or a file written under a temporary name and renamed
//! into place at the end, so a reader never sees half a report. Targets that are not regular
//! files (devices such as `/dev/null`, named pipes) are written in place: [`Destination`]
//! makes that choice for every file vigie writes (records, summaries, indexes).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// How a file is written: the one place that decides between a temporary file renamed into
/// place and writing in place.
pub enum Destination {
    /// `path` exists and is not a regular file (a device such as `/dev/null`, a fifo, a
    /// socket, `/dev/stdout`): opened for writing as it is, never replaced by a rename.
    InPlace(File),
    /// A temporary file beside `dest` (same directory, so the rename is atomic), renamed over
    /// `dest` by [`Destination::commit`] and removed if dropped before.
    Replace {
        /// The temporary file.
        tmp: NamedTempFile,
        /// The path it becomes.
        dest: PathBuf,
    },
}

impl Destination {
    /// Opens the destination of `path`: in place when it exists and is not a regular file,
    /// else a temporary file beside it (created with the usual 0666 & umask permissions).
    ///
    /// # Errors
    /// When the special file cannot be opened or the temporary file cannot be created.
    pub fn open(path: &Path) -> io::Result<Destination> {
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
            let f = std::fs::OpenOptions::new().write(true).open(path)?;
            return Ok(Destination::InPlace(f));
        }
        let name = path.file_name().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "output path has no file name")
        })?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(name);
        prefix.push(".");
        let mut b = tempfile::Builder::new();
        b.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // As File::create: the mode is masked by the umask.
            b.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = b.tempfile_in(dir).map_err(|e| {
            // tempfile's error names its random temporary name; the caller names `path`.
            // Its message is "REASON at path \"TMP\"" and it gives no other access to REASON.
            let text = e.to_string();
            match text.rsplit_once(" at path ") {
                Some((reason, _)) => io::Error::new(e.kind(), reason.to_string()),
                None => e,
            }
        })?;
        Ok(Destination::Replace {
            tmp,
            dest: path.to_path_buf(),
        })
    }

    /// The file to write.
    pub fn file_mut(&mut self) -> &mut File {
        match self {
            Destination::InPlace(f) => f,
            Destination::Replace { tmp, .. } => tmp.as_file_mut(),
        }
    }

    /// Renames the temporary file into place (nothing to do in place).
    ///
    /// # Errors
    /// When the rename fails.
    pub fn commit(self) -> io::Result<()> {
        match self {
            Destination::InPlace(_) => Ok(()),
            Destination::Replace { tmp, dest } => tmp.persist(&dest).map(drop).map_err(|e| e.error),
        }
    }
}

/// Where an [`Output`]'s bytes go.
enum Sink {
    Stdout(io::Stdout),
    File(Destination),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Stdout(s) => s.write(buf),
            Sink::File(d) => d.file_mut().write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout(s) => s.write_all(buf),
            Sink::File(d) => d.file_mut().write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(s) => s.flush(),
            Sink::File(d) => d.file_mut().flush(),
        }
    }
}

/// An output stream.
pub struct Output {
    inner: BufWriter<Sink>,
    /// Bytes written are dropped (the header of a resumed output, already there).
    discard: bool,
}

impl Output {
    /// Standard output; or `path` through a temporary file beside it, renamed at
    /// [`Output::commit`]; or, when `path` exists and is not a regular file, `path` itself
    /// (see [`Destination`]).
    ///
    /// # Errors
    /// When the temporary file cannot be created.
    pub fn create(path: Option<&Path>) -> io::Result<Output> {
        let sink = match path {
            None => Sink::Stdout(io::stdout()),
            Some(p) => Sink::File(Destination::open(p)?),
        };
        Ok(Output {
            inner: BufWriter::with_capacity(1 << 16, sink),
            discard: false,
        })
    }

    /// The regular file `path` written in place, for a journaled run: cut to its first
    /// `keep` bytes (what an earlier run committed; 0 for a new run) and appended to. While
    /// `keep` is not 0, bytes are dropped until [`Output::stop_discarding`] (the header a
    /// writer starts with is there already).
    ///
    /// # Errors
    /// When the file cannot be opened, is not a regular file, or is shorter than `keep`.
    pub fn resume(path: &Path, keep: u64) -> io::Result<Output> {
        use std::io::Seek;
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let meta = f.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a journaled run writes its records to a regular file",
            ));
        }
        if meta.len() < keep {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{} bytes, shorter than the {keep} a journal vouched for",
                    meta.len()
                ),
            ));
        }
        f.set_len(keep)?;
        f.seek(io::SeekFrom::End(0))?;
        Ok(Output {
            inner: BufWriter::with_capacity(1 << 16, Sink::File(Destination::InPlace(f))),
            discard: keep > 0,
        })
    }

    /// Writes again after [`Output::resume`]'s header was dropped.
    pub fn stop_discarding(&mut self) {
        self.discard = false;
    }

    /// Flushes the buffer and, for a file, syncs its data to disk: returns the bytes the
    /// file holds (0 for standard output).
    ///
    /// # Errors
    /// I/O errors flushing or syncing.
    pub fn sync(&mut self) -> io::Result<u64> {
        self.inner.flush()?;
        match self.inner.get_mut() {
            Sink::Stdout(_) => Ok(0),
            Sink::File(d) => {
                let f = d.file_mut();
                f.sync_data()?;
                io::Seek::stream_position(f)
            }
        }
    }

    /// Flushes and, for a file, renames the temporary file into place.
    ///
    /// # Errors
    /// I/O errors flushing or renaming.
    pub fn commit(self) -> io::Result<()> {
        match self.inner.into_inner().map_err(|e| e.into_error())? {
            Sink::Stdout(_) => Ok(()),
            Sink::File(d) => d.commit(),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.discard {
            return Ok(buf.len());
        }
        self.inner.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.discard {
            return Ok(());
        }
        self.inner.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
