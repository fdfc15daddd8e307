"""What Spark's ``DataFrame.mapInArrow`` runs on the executors: vigie over a partition of paths
or of ``binaryFile`` rows.

    from vigie.spark import scan_partitions
    spark.addArtifacts("/path/blocklist.vigie", file=True)   # or SparkContext.addFile
    found = paths_df.repartition(n).mapInArrow(
        scan_partitions("blocklist.vigie"), vigie.SPARK_DDL)

The function lives in the wheel, so Spark pickles it by reference: every executor needs the
wheel installed (a cluster library, or the environment of a serverless job), nothing else. The
index is named as shipped (its file name, resolved with ``SparkFiles.get`` on the executor) or
given as an absolute path every executor can read (``/Volumes/...``, ``/dbfs/...``, NFS).
Python workers are reused from task to task, so each process builds its scanner once and maps
the index once (``vigie.mapped_indexes()``), and every task after the first starts at once.

No pyspark import here at module level: the wheel does not depend on pyspark.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from vigie._native import Scanner

__all__ = ["resolve_index", "scan_partitions"]


def resolve_index(index: str) -> str:
    """The local path of an index: ``index`` itself when it is an absolute path that exists
    here, else the file shipped under that name with ``addArtifacts(file=True)`` or
    ``addFile`` (``SparkFiles.get``)."""
    if os.path.isabs(index) and os.path.exists(index):
        return index
    from pyspark import SparkFiles

    return SparkFiles.get(os.path.basename(index))


@functools.lru_cache(maxsize=8)
def _scanner(index: str, threads: int, options: tuple) -> Scanner:
    return Scanner(resolve_index(index), threads=threads, **dict(options))


def _scan(
    index: str,
    path_column: str,
    content_column: str | None,
    keep_clean: bool,
    threads: int,
    batch_rows: int,
    options: tuple,
    batches: Iterator[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    scanner = _scanner(index, threads, options)
    for batch in batches:
        if content_column is None:
            # Streamed: a path may be a directory of millions of files.
            outs = scanner.scan_batches(batch.column(path_column), batch_rows=batch_rows)
        else:
            outs = [scanner.scan_bytes(batch.column(path_column), batch.column(content_column))]
        for out in outs:
            if not keep_clean:
                out = out.filter(pc.not_equal(out.column("verdict"), "clean"))
            if out.num_rows:
                yield out


def scan_partitions(
    index: str,
    *,
    path_column: str = "path",
    content_column: str | None = None,
    keep_clean: bool = False,
    threads: int = 1,
    batch_rows: int = 65536,
    **options,
):
    """The function to give ``mapInArrow`` (with ``vigie.SPARK_DDL`` as its schema).

    - ``index``: the shipped index's file name, or an absolute path readable on executors.
    - ``path_column``: the column of paths to scan (files, directories, tar shards) or, with
      ``content_column``, of the names the contents' rows carry (``binaryFile``'s ``path``).
    - ``content_column``: scan in-memory contents (``binaryFile``'s ``content``) instead of
      paths.
    - ``keep_clean``: also return the rows of clean items (by default only ``match``,
      ``known``, ``probable`` and ``failed`` rows leave the worker).
    - ``threads``: engine threads per task; 1 suits Spark, which runs one task per core.
    - ``batch_rows``: most rows per output batch (a worker holds about two batches at once).
    - other keyword arguments go to ``vigie.Scanner`` (``algos``, ``pdq_threshold``, ...).
    """
    return functools.partial(
        _scan,
        index,
        path_column,
        content_column,
        keep_clean,
        threads,
        batch_rows,
        tuple(sorted(options.items())),
    )
