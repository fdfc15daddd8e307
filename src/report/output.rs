//! Where records go: standard output, or a file written under a temporary name and renamed
//! into place at the end, so a reader never sees half a report. Targets that are not regular
//! files (devices such as `/dev/null`, named pipes) are written in place.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// An output stream.
pub struct Output {
    inner: BufWriter<Box<dyn Write + Send>>,
    target: Option<(PathBuf, PathBuf)>,
}

impl Output {
    /// Standard output; or `path` through a temporary file beside it, renamed at
    /// [`Output::commit`]; or, when `path` exists and is not a regular file, `path` itself.
    ///
    /// # Errors
    /// When the temporary file cannot be created.
    pub fn create(path: Option<&Path>) -> io::Result<Output> {
        match path {
            None => Ok(Output {
                inner: BufWriter::with_capacity(1 << 16, Box::new(io::stdout())),
                target: None,
            }),
            Some(p) if std::fs::metadata(p).is_ok_and(|m| !m.is_file()) => {
                // A device, fifo or socket (`-o /dev/null`, `-o /dev/stdout`, a named pipe):
                // written in place, never replaced by a rename.
                let f = std::fs::OpenOptions::new().write(true).open(p)?;
                Ok(Output {
                    inner: BufWriter::with_capacity(1 << 16, Box::new(f)),
                    target: None,
                })
            }
            Some(p) => {
                let name = p.file_name().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "output path has no file name")
                })?;
                let mut tmp_name = std::ffi::OsString::from(".");
                tmp_name.push(name);
                tmp_name.push(format!(".{}.tmp", std::process::id()));
                let tmp = p.with_file_name(tmp_name);
                let f = File::create(&tmp)?;
                Ok(Output {
                    inner: BufWriter::with_capacity(1 << 16, Box::new(f)),
                    target: Some((tmp, p.to_path_buf())),
                })
            }
        }
    }

    /// Flushes and, for a file, renames the temporary file into place.
    ///
    /// # Errors
    /// I/O errors flushing or renaming.
    pub fn commit(mut self) -> io::Result<()> {
        self.inner.flush()?;
        if let Some((tmp, dest)) = self.target.take() {
            std::fs::rename(&tmp, &dest)?;
        }
        Ok(())
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Some((tmp, _)) = self.target.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}
