"""Type stubs of the Rust extension (python/src/lib.rs)."""

import os
import pathlib
from collections.abc import Iterable, Iterator, Sequence

import pyarrow as pa

__version__: str

class IndexOpenError(Exception): ...

_Path = str | bytes | os.PathLike[str]

class Scanner:
    def __init__(
        self,
        index_path: _Path | None,
        *,
        threads: int = 0,
        algos: str | Sequence[str] | None = None,
        pdq_threshold: int = 31,
        phash_threshold: int = 10,
        dhash_threshold: int = 10,
        pdq_min_quality: int = 50,
        pdq_dihedral: bool = False,
        exact_decode: bool = False,
        exif_orient: bool = False,
        unletterbox: bool = False,
        letterbox_threshold: int = 15,
        unletterbox_white: bool = False,
        pixels: str = "viewer",
        max_pixels: int = 128_000_000,
        max_alloc: int = 1 << 30,
        follow_links: bool = False,
        mmap: bool = True,
        archives: bool = True,
    ) -> None: ...
    def scan(self, paths: _Path | Iterable[_Path] | pa.Array | pa.ChunkedArray) -> pa.RecordBatch: ...
    def scan_batches(
        self, paths: _Path | Iterable[_Path] | pa.Array | pa.ChunkedArray, *, batch_rows: int = 65536
    ) -> Batches: ...
    def scan_bytes(
        self,
        names: Iterable[str | bytes] | pa.Array | pa.ChunkedArray,
        blobs: Iterable[bytes | bytearray | memoryview] | pa.Array | pa.ChunkedArray,
    ) -> pa.RecordBatch: ...
    @property
    def index_path(self) -> pathlib.Path | None: ...
    @property
    def threads(self) -> int: ...
    @property
    def algos(self) -> list[str]: ...
    @property
    def schema(self) -> pa.Schema: ...

class Batches(Iterator[pa.RecordBatch]):
    def __iter__(self) -> Batches: ...
    def __next__(self) -> pa.RecordBatch: ...

def schema() -> pa.Schema: ...
def mapped_indexes() -> list[pathlib.Path]: ...
