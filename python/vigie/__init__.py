"""vigie: find known content in large dumps, from Python.

``Scanner(index_path, **options)`` scans files, directory trees, tar shards (read in place) and
compressed tars against a compiled vigie index (``vigie index build``) and returns a
``pyarrow.RecordBatch`` with one row per item, in the schema ``SCHEMA`` (README, "Python and
Spark"). Per-item failures are rows (``verdict == "failed"``, ``error_kind``, ``error``), never
exceptions. The GIL is released while the engine works; the index is memory-mapped once per
process and shared by every scanner and thread.

    >>> import vigie
    >>> scanner = vigie.Scanner("blocklist.vigie", threads=4)
    >>> batch = scanner.scan(["dump/", "shards/shard-0001.tar"])
    >>> batch.filter(pyarrow.compute.equal(batch["verdict"], "match"))

``vigie.spark`` holds the function Spark's ``mapInArrow`` runs (see examples/spark/).
"""

from __future__ import annotations

import pyarrow as pa

from vigie._native import RECORD_VERSION, IndexOpenError, Scanner, __version__, mapped_indexes
from vigie._native import schema as _schema

__all__ = [
    "RECORD_VERSION",
    "SCHEMA",
    "SPARK_DDL",
    "IndexOpenError",
    "Scanner",
    "__version__",
    "explode_hits",
    "hashes_of",
    "mapped_indexes",
    "spark_ddl",
]

#: The schema of every batch a scanner returns: one row per item.
SCHEMA: pa.Schema = _schema()

_SPARK_TYPES = {
    pa.string(): "STRING",
    pa.large_string(): "STRING",
    pa.int64(): "BIGINT",
    pa.int32(): "INT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
}


def _spark_type(t: pa.DataType) -> str:
    if t in _SPARK_TYPES:
        return _SPARK_TYPES[t]
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"ARRAY<{_spark_type(t.value_type)}>"
    if pa.types.is_struct(t):
        fields = ", ".join(f"`{f.name}`: {_spark_type(f.type)}" for f in t)
        return f"STRUCT<{fields}>"
    raise TypeError(f"no Spark SQL type for Arrow {t}")


def spark_ddl(schema: pa.Schema = SCHEMA) -> str:
    """The Spark SQL DDL of an Arrow schema (the schema ``mapInArrow`` is declared with)."""
    return ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in schema)


#: ``SCHEMA`` as Spark SQL DDL, for ``df.mapInArrow(fn, vigie.SPARK_DDL)``.
SPARK_DDL: str = spark_ddl()


def hashes_of(row: dict) -> dict:
    """The ``hashes`` object of the CLI's ``scan`` records for a row: every exact digest, and
    the perceptual ones when they are the reference's (``decode_scale`` 1: a full decode; a
    reduced-scale decode only screened the image)."""
    out = {k: row[k] for k in ("md5", "sha1", "sha256", "xxh3_128") if row[k] is not None}
    if row.get("decode_scale") in (None, 1):
        out.update((k, row[k]) for k in ("pdq", "pdq_quality", "phash", "dhash")
                   if row[k] is not None)
    return out


def explode_hits(batch: pa.RecordBatch) -> list[dict]:
    """The CLI's ``vigie scan --all`` JSON records of a batch: one per hit of a ``match``,
    ``known`` or ``probable`` item, one per ``clean`` or ``failed`` item; absent fields left
    out, as the CLI leaves them out. For comparing with the CLI, or feeding tools that read
    its records."""
    loc_fields = ("path", "path_bytes", "member", "member_bytes", "offset", "size")
    hit_fields = ("algorithm", "hash", "list", "label", "distance", "matched_hash", "role", "fpr",
                  "matched_video", "query_match_pct", "compared_match_pct", "segments",
                  "timestamp")
    records = []
    for row in batch.to_pylist():
        base = {"v": RECORD_VERSION, "verdict": row["verdict"]}
        base.update((k, row[k]) for k in loc_fields if row[k] is not None)
        evidence = hashes_of(row)
        if evidence:
            base["hashes"] = evidence
        if row["verdict"] in ("match", "known", "probable"):
            for hit in row["hits"]:
                rec = dict(base)
                rec.update((k, hit[k]) for k in hit_fields if hit[k] is not None)
                records.append(rec)
        elif row["verdict"] == "failed":
            base.update((k, row[k]) for k in ("error_kind", "error") if row[k] is not None)
            records.append(base)
        else:
            records.append(base)
    return records
