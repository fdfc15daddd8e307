//! `vigie._native`: the engine as a Python extension, for Spark's `mapInArrow`, Ray, Daft or a
//! plain script.
//!
//! A [`Scanner`] wraps one [`Engine`] (its thread pool and per-thread scratch live as long as
//! the scanner) over an index mapped once per process ([`cache`]). `scan` and `scan_bytes`
//! return one `pyarrow.RecordBatch` of one row per item ([`batch`]); the GIL is released while
//! the engine reads, hashes and matches, so other Python threads run meanwhile and several
//! threads may scan with one scanner at once. A file that cannot be read, a corrupt archive or
//! an image that does not decode is a row with `error_kind`/`error`, never an exception: in a
//! Spark task an exception on a bad input would be retried and then kill the whole job. Only a
//! bad index or bad options raise, when the scanner is built, and a call with arguments of the
//! wrong shape.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod batch;
pub mod cache;
pub mod stream;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::ByteArrayType;
use arrow_array::{make_array, Array, ArrayRef, GenericByteArray};
use arrow_buffer::ArrowNativeType;
use arrow_buffer::Buffer;
use arrow_pyarrow::{FromPyArrow, ToPyArrow};
use arrow_schema::DataType;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyMemoryView, PyString};
use vigie::engine::{Engine, EngineBuilder, NoProgress};
use vigie::hash::{Algo, AlgoSet};
use vigie::model::{Event, Input, SharedBytes};
use vigie::perceptual::decode::{DecodeLimits, Pixels};
use vigie::perceptual::letterbox::Unletterbox;

create_exception!(
    vigie,
    IndexOpenError,
    PyException,
    "The index given to Scanner cannot be opened: missing, unreadable, or not a vigie index."
);

/// The perceptual hashes and exact algorithms named by `algos=`.
#[derive(Default)]
struct Algos {
    exact: AlgoSet,
    pdq: bool,
    phash: bool,
    dhash: bool,
}

/// Parses `algos=` as the CLI parses `--algo`: md5, sha1, sha256, xxh3_128 (or all), pdq,
/// phash, dhash; a comma-separated string or a sequence of names.
fn parse_algos(spec: &Bound<'_, PyAny>) -> PyResult<Algos> {
    let names: Vec<String> = if let Ok(s) = spec.cast::<PyString>() {
        s.to_str()?.split(',').map(str::to_owned).collect()
    } else {
        spec.extract()?
    };
    let mut a = Algos::default();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        match name {
            "pdq" => a.pdq = true,
            "phash" => a.phash = true,
            "dhash" => a.dhash = true,
            "all" => a.exact = Algo::ALL.into_iter().collect(),
            _ => a.exact.insert(
                name.parse::<Algo>()
                    .map_err(|e| PyValueError::new_err(format!("{e} (or pdq, phash, dhash)")))?,
            ),
        }
    }
    if a.exact.is_empty() && !(a.pdq || a.phash || a.dhash) {
        return Err(PyValueError::new_err("algos names no algorithm"));
    }
    Ok(a)
}

/// A path from `str`, `bytes` (exact bytes, for names that are not UTF-8) or `os.PathLike`.
fn path_of(obj: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(PathBuf::from(OsStr::from_bytes(b.as_bytes())));
    }
    obj.extract::<PathBuf>()
}

/// True for an object that is one path rather than a collection of them.
fn is_one_path(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(obj.is_instance_of::<PyString>()
        || obj.is_instance_of::<PyBytes>()
        || obj.hasattr(pyo3::intern!(obj.py(), "__fspath__"))?)
}

/// A value of an Arrow string or binary array, shared with the engine without a copy: the
/// array's values buffer (reference-counted) and the value's range in it.
struct ArrowValue {
    values: Buffer,
    range: std::ops::Range<usize>,
}

impl AsRef<[u8]> for ArrowValue {
    fn as_ref(&self) -> &[u8] {
        &self.values.as_slice()[self.range.clone()]
    }
}

/// The values of an offset-layout string or binary array, each sharing the array's buffer.
fn offset_values<T: ByteArrayType>(a: &GenericByteArray<T>, out: &mut Vec<Option<SharedBytes>>) {
    let offsets = a.value_offsets();
    out.extend((0..a.len()).map(|i| {
        a.is_valid(i).then(|| {
            SharedBytes::new(ArrowValue {
                values: a.values().clone(),
                range: offsets[i].as_usize()..offsets[i + 1].as_usize(),
            })
        })
    }));
}

/// The values of a string or binary Arrow array (any offset width or view layout); `None` for
/// nulls. Offset layouts are shared in place; view layouts (values spread over several
/// buffers) are copied.
fn arrow_values(array: &ArrayRef, out: &mut Vec<Option<SharedBytes>>) -> PyResult<()> {
    fn copied<'a>(it: impl Iterator<Item = Option<&'a [u8]>>, out: &mut Vec<Option<SharedBytes>>) {
        out.extend(it.map(|v| v.map(|v| SharedBytes::from(v.to_vec()))));
    }
    match array.data_type() {
        DataType::Utf8 => offset_values(array.as_string::<i32>(), out),
        DataType::LargeUtf8 => offset_values(array.as_string::<i64>(), out),
        DataType::Binary => offset_values(array.as_binary::<i32>(), out),
        DataType::LargeBinary => offset_values(array.as_binary::<i64>(), out),
        DataType::Utf8View => copied(
            array.as_string_view().iter().map(|v| v.map(str::as_bytes)),
            out,
        ),
        DataType::BinaryView => copied(array.as_binary_view().iter(), out),
        other => {
            return Err(PyTypeError::new_err(format!(
                "expected a string or binary Arrow array, got {other}"
            )))
        }
    }
    Ok(())
}

/// The elements of `seq` as bytes: a pyarrow `Array` or `ChunkedArray` of strings or
/// binaries (read without a Python object per value, and shared, not copied), or any
/// iterable of `bytes` (shared), `bytearray`, `memoryview`, and with `text`, of `str` and
/// `os.PathLike` too. `None` stays `None`.
fn byte_strings(seq: &Bound<'_, PyAny>, text: bool) -> PyResult<Vec<Option<SharedBytes>>> {
    let py = seq.py();
    let mut out = Vec::new();
    if seq.hasattr(pyo3::intern!(py, "__arrow_c_array__"))? {
        let data = arrow_data_of(seq)?;
        arrow_values(&make_array(data), &mut out)?;
        return Ok(out);
    }
    if seq.hasattr(pyo3::intern!(py, "__arrow_c_stream__"))?
        && seq.hasattr(pyo3::intern!(py, "chunks"))?
    {
        for chunk in seq.getattr(pyo3::intern!(py, "chunks"))?.try_iter()? {
            arrow_values(&make_array(arrow_data_of(&chunk?)?), &mut out)?;
        }
        return Ok(out);
    }
    for item in seq.try_iter()? {
        let item = item?;
        out.push(if item.is_none() {
            None
        } else if let Ok(b) = item.extract::<PyBackedBytes>() {
            Some(SharedBytes::new(b))
        } else if item.is_instance_of::<PyMemoryView>() {
            let b = item.call_method0(pyo3::intern!(py, "tobytes"))?;
            Some(SharedBytes::new(b.extract::<PyBackedBytes>()?))
        } else if text {
            Some(SharedBytes::from(
                path_of(&item)?.into_os_string().into_encoded_bytes(),
            ))
        } else {
            return Err(PyTypeError::new_err(format!(
                "expected bytes-like content, got {}",
                item.get_type().name()?
            )));
        });
    }
    Ok(out)
}

/// A path from a name's bytes (a null name is the empty path).
fn path_from(name: Option<&SharedBytes>) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(
        name.map_or(&[][..], SharedBytes::as_slice),
    ))
}

fn arrow_data_of(obj: &Bound<'_, PyAny>) -> PyResult<arrow_data::ArrayData> {
    arrow_data::ArrayData::from_pyarrow_bound(obj)
}

/// The inputs named by `scan`'s `paths`: one path, or a collection of them (a null is an empty
/// path, which fails to open: a row, like any missing path).
fn path_inputs(paths: &Bound<'_, PyAny>) -> PyResult<Vec<Input>> {
    if is_one_path(paths)? {
        return Ok(vec![Input::Path(path_of(paths)?)]);
    }
    Ok(byte_strings(paths, true)?
        .into_iter()
        .map(|p| Input::Path(path_from(p.as_ref())))
        .collect())
}

/// Scans files, directory trees, tar shards (read in place) and compressed tars against a
/// compiled vigie index, returning one Arrow row per item.
#[pyclass(frozen, module = "vigie")]
pub struct Scanner {
    engine: Arc<Engine>,
    index_path: Option<PathBuf>,
    algos: Vec<&'static str>,
}

impl Scanner {
    /// Runs the engine on `inputs` with the GIL released and returns the rows as one batch.
    fn run<'py>(&self, py: Python<'py>, inputs: Vec<Input>) -> PyResult<Bound<'py, PyAny>> {
        let batch = py.detach(|| {
            let mut rows = batch::Rows::new();
            self.engine
                .scan(inputs, None, &NoProgress, |ev| {
                    if let Event::Item(r) = ev {
                        rows.push(&r);
                    }
                    Ok(())
                })
                .map_err(|e| PyOSError::new_err(format!("scan stopped: {e}")))?;
            rows.finish()
                .map_err(|e| PyRuntimeError::new_err(format!("building the result batch: {e}")))
        })?;
        batch.to_pyarrow(py)
    }
}

#[pymethods]
impl Scanner {
    /// `Scanner(index_path, *, threads=0, algos=None, ...)`: opens the index (once per
    /// process, shared by every scanner on it) and starts a pool of `threads` workers (0: one
    /// per core). `index_path=None` hashes without matching. Options as the CLI's
    /// `vigie scan`: `algos` (extra algorithms: "md5,sha256", "all", "pdq", "phash",
    /// "dhash"), `pdq_threshold`, `phash_threshold`, `dhash_threshold`, `pdq_min_quality`,
    /// `pdq_dihedral`, `exact_decode`, `exif_orient`, `unletterbox`, `letterbox_threshold`,
    /// `unletterbox_white`, `pixels` ("viewer", "pillow", "threatexchange"), `max_pixels`,
    /// `max_alloc`, `follow_links`, `mmap`, `archives`.
    #[new]
    #[pyo3(signature = (
        index_path,
        *,
        threads = 0,
        algos = None,
        pdq_threshold = vigie::perceptual::pdq::MATCH_THRESHOLD,
        phash_threshold = vigie::perceptual::imghash::IMG_MATCH_THRESHOLD,
        dhash_threshold = vigie::perceptual::imghash::IMG_MATCH_THRESHOLD,
        pdq_min_quality = vigie::perceptual::pdq::MIN_QUALITY,
        pdq_dihedral = false,
        exact_decode = false,
        exif_orient = false,
        unletterbox = false,
        letterbox_threshold = vigie::perceptual::letterbox::DEFAULT_THRESHOLD,
        unletterbox_white = false,
        pixels = "viewer",
        max_pixels = DecodeLimits::default().max_pixels,
        max_alloc = DecodeLimits::default().max_alloc,
        follow_links = false,
        mmap = true,
        archives = true,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        index_path: Option<PathBuf>,
        threads: usize,
        algos: Option<&Bound<'_, PyAny>>,
        pdq_threshold: u32,
        phash_threshold: u32,
        dhash_threshold: u32,
        pdq_min_quality: u8,
        pdq_dihedral: bool,
        exact_decode: bool,
        exif_orient: bool,
        unletterbox: bool,
        letterbox_threshold: u8,
        unletterbox_white: bool,
        pixels: &str,
        max_pixels: u64,
        max_alloc: u64,
        follow_links: bool,
        mmap: bool,
        archives: bool,
    ) -> PyResult<Scanner> {
        let asked = algos.map(parse_algos).transpose()?.unwrap_or_default();
        let pixels = match pixels {
            "viewer" => Pixels::Viewer,
            "pillow" => Pixels::Pillow,
            "threatexchange" => Pixels::ThreatExchange,
            other => {
                return Err(PyValueError::new_err(format!(
                    "pixels must be \"viewer\", \"pillow\" or \"threatexchange\", not {other:?}"
                )))
            }
        };
        let mut b: EngineBuilder = Engine::builder()
            .threads(threads)
            .mmap(mmap)
            .archives(archives)
            .follow_links(follow_links)
            .pdq(asked.pdq)
            .phash(asked.phash)
            .dhash(asked.dhash)
            .pdq_dihedral(pdq_dihedral)
            .exif_orient(exif_orient)
            .unletterbox(unletterbox.then_some(Unletterbox {
                threshold: letterbox_threshold,
                white: unletterbox_white,
            }))
            .pixels(pixels)
            .decode_limits(DecodeLimits {
                max_pixels,
                max_alloc,
            })
            .pdq_threshold(pdq_threshold)
            .phash_threshold(phash_threshold)
            .dhash_threshold(dhash_threshold)
            .pdq_min_quality(pdq_min_quality);
        if !asked.exact.is_empty() {
            b = b.algos(asked.exact);
        }
        if exact_decode {
            b = b.fast_decode(false);
        }
        if let Some(p) = &index_path {
            let index = py
                .detach(|| cache::open(p))
                .map_err(|e| IndexOpenError::new_err(e.to_string()))?;
            b = b.index(index);
        }
        let engine = b
            .build()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let mut names: Vec<&'static str> = engine.algos().iter().map(Algo::name).collect();
        let p = engine.perceptual();
        for (on, name) in [(p.pdq, "pdq"), (p.phash, "phash"), (p.dhash, "dhash")] {
            if on {
                names.push(name);
            }
        }
        Ok(Scanner {
            engine: Arc::new(engine),
            index_path,
            algos: names,
        })
    }

    /// Scans files, directories, tar shards and compressed tars: `paths` is one path (`str`,
    /// `bytes`, `os.PathLike`) or a collection of them (a list, a pyarrow string array or
    /// chunked array). Returns a `pyarrow.RecordBatch` of `vigie.SCHEMA`, one row per item found
    /// (a tar shard gives a row per member; a missing path a `failed` row), in the order
    /// items finish.
    fn scan<'py>(&self, py: Python<'py>, paths: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.run(py, path_inputs(paths)?)
    }

    /// Like `scan`, as an iterator of batches of at most `batch_rows` rows, produced while the
    /// scan runs: memory stays bounded whatever the inputs hold (a directory of millions of
    /// files). Stopping early (dropping the iterator) stops the scan.
    #[pyo3(signature = (paths, *, batch_rows = 65536))]
    fn scan_batches(
        &self,
        paths: &Bound<'_, PyAny>,
        batch_rows: usize,
    ) -> PyResult<stream::Batches> {
        let inputs = path_inputs(paths)?;
        let rx = stream::start(self.engine.clone(), inputs, batch_rows)?;
        Ok(stream::Batches::new(rx))
    }

    /// Scans contents already in memory (objects read from storage, the rows of Spark's
    /// `binaryFile` source): `names[i]` is the `path` of `blobs[i]`'s rows, and a blob that is
    /// a tar (or compressed tar) gives a row per member. `names`: `str`/`bytes` values or a
    /// pyarrow string array; `blobs`: bytes-like values or a pyarrow binary array.
    fn scan_bytes<'py>(
        &self,
        py: Python<'py>,
        names: &Bound<'py, PyAny>,
        blobs: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let names = byte_strings(names, true)?;
        let blobs = byte_strings(blobs, false)?;
        if names.len() != blobs.len() {
            return Err(PyValueError::new_err(format!(
                "{} names for {} blobs",
                names.len(),
                blobs.len()
            )));
        }
        let inputs = names
            .into_iter()
            .zip(blobs)
            .enumerate()
            .map(|(i, (name, bytes))| {
                let bytes =
                    bytes.ok_or_else(|| PyValueError::new_err(format!("blob {i} is null")))?;
                let name = path_from(name.as_ref());
                Ok(Input::Bytes { name, bytes })
            })
            .collect::<PyResult<Vec<_>>>()?;
        self.run(py, inputs)
    }

    /// The path of the index as given, or None when only hashing.
    #[getter]
    fn index_path(&self) -> Option<PathBuf> {
        self.index_path.clone()
    }

    /// Worker threads of this scanner's pool.
    #[getter]
    fn threads(&self) -> usize {
        self.engine.threads()
    }

    /// Algorithms computed on every item (exact ones first, then perceptual ones on images).
    #[getter]
    fn algos(&self) -> Vec<&'static str> {
        self.algos.clone()
    }

    /// The schema of the batches this scanner returns (the same for every scanner).
    #[getter]
    fn schema<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        schema(py)
    }

    fn __repr__(&self) -> String {
        let index = match &self.index_path {
            Some(p) => format!("'{}'", p.display()),
            None => "None".into(),
        };
        let algos: Vec<String> = self.algos.iter().map(|a| format!("'{a}'")).collect();
        format!(
            "Scanner({index}, threads={}, algos=[{}])",
            self.engine.threads(),
            algos.join(", ")
        )
    }
}

/// The `pyarrow.Schema` of every batch a scanner returns.
#[pyfunction]
fn schema(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    batch::schema().as_ref().to_pyarrow(py)
}

/// The canonical paths of the indexes this process holds memory-mapped.
#[pyfunction]
fn mapped_indexes() -> Vec<PathBuf> {
    cache::mapped()
}

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Scanner>()?;
    m.add_class::<stream::Batches>()?;
    m.add("IndexOpenError", m.py().get_type::<IndexOpenError>())?;
    m.add_function(wrap_pyfunction!(schema, m)?)?;
    m.add_function(wrap_pyfunction!(mapped_indexes, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("RECORD_VERSION", vigie::report::wire::SCHEMA_VERSION)?;
    Ok(())
}
