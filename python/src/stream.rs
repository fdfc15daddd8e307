//! Results as a stream of bounded batches, for inputs too large to hold as one batch.
//!
//! One input path can be a directory of millions of files: `Scanner.scan` would hold a row for
//! each before returning. `Scanner.scan_batches` runs the engine on a thread of its own and
//! hands its rows over, `batch_rows` at a time, through a channel of one batch: memory stays at
//! about two batches whatever the input, and the engine waits while Python has not taken the
//! previous batch. Dropping the iterator early closes the channel; the engine's next hand-over
//! then fails and the scan stops (items already being hashed finish first).

use std::io;
use std::sync::Arc;

use arrow_array::RecordBatch;
use crossbeam_channel::{bounded, Receiver};
use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use vigie::engine::{Engine, NoProgress};
use vigie::model::{Event, Input};

use crate::batch::Rows;

/// Why a stream ended early.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The engine stopped with an I/O error of its own (a failed item is a row, not this).
    #[error("scan stopped: {0}")]
    Scan(io::Error),
    /// A batch could not be assembled (a column of the wrong length or type).
    #[error("building a result batch: {0}")]
    Batch(#[from] arrow_schema::ArrowError),
    /// The scanning thread could not be started.
    #[error("cannot start the scanning thread: {0}")]
    Thread(io::Error),
}

impl From<StreamError> for PyErr {
    fn from(e: StreamError) -> PyErr {
        match e {
            StreamError::Batch(_) => PyRuntimeError::new_err(e.to_string()),
            StreamError::Scan(_) | StreamError::Thread(_) => PyOSError::new_err(e.to_string()),
        }
    }
}

/// Starts scanning `inputs` on a thread of its own; the batches arrive on the receiver.
///
/// # Errors
/// The thread cannot be started.
pub fn start(
    engine: Arc<Engine>,
    inputs: Vec<Input>,
    batch_rows: usize,
) -> Result<Receiver<Result<RecordBatch, StreamError>>, StreamError> {
    let (tx, rx) = bounded(1);
    let batch_rows = batch_rows.max(1);
    std::thread::Builder::new()
        .name("vigie-scan-stream".into())
        .spawn(move || {
            let gone =
                || io::Error::new(io::ErrorKind::BrokenPipe, "the batch iterator was dropped");
            let mut rows = Rows::new();
            let ran = engine.scan(inputs, None, &NoProgress, |ev| {
                if let Event::Item(r) = ev {
                    rows.push(&r);
                    if rows.len() >= batch_rows {
                        let batch = rows.finish().map_err(StreamError::from);
                        tx.send(batch).map_err(|_| gone())?;
                    }
                }
                Ok(())
            });
            let last = match ran {
                Ok(()) if rows.is_empty() => return,
                Ok(()) => rows.finish().map_err(StreamError::from),
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return,
                Err(e) => Err(StreamError::Scan(e)),
            };
            // The receiver may be gone by now: nothing left to tell.
            let _ = tx.send(last);
        })
        .map_err(StreamError::Thread)?;
    Ok(rx)
}

/// The iterator `Scanner.scan_batches` returns: `pyarrow.RecordBatch`es of at most
/// `batch_rows` rows, until every item has been returned.
#[pyclass(module = "vigie")]
pub struct Batches {
    rx: Option<Receiver<Result<RecordBatch, StreamError>>>,
}

impl Batches {
    /// The iterator over a started stream.
    pub fn new(rx: Receiver<Result<RecordBatch, StreamError>>) -> Batches {
        Batches { rx: Some(rx) }
    }
}

#[pymethods]
impl Batches {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(rx) = &self.rx else {
            return Ok(None);
        };
        match py.detach(|| rx.recv()) {
            Ok(Ok(batch)) => Ok(Some(arrow_pyarrow::ToPyArrow::to_pyarrow(&batch, py)?)),
            Ok(Err(e)) => {
                self.rx = None;
                Err(e.into())
            }
            // The scanning thread finished and dropped its sender: every row was returned.
            Err(_) => {
                self.rx = None;
                Ok(None)
            }
        }
    }
}
