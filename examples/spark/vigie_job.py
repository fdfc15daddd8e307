#!/usr/bin/env python3
"""A nightly vigie scan as a Spark job: paths (or object-store contents) in, findings out,
one partition per run date, rerunnable.

    spark-submit vigie_job.py --index /dbfs/lists/blocklist.vigie \\
        --paths-table ops.dump_manifest --output s3://bucket/vigie/findings --run-date 2025-11-01

Inputs, one of:
  --paths-file FILE     a text file of paths, one per line (local, NFS, /dbfs, /Volumes ...)
  --paths-table NAME    a table with a column of paths (--path-column, default ``path``)
  --binary PATH         Spark's ``binaryFile`` source over PATH (a directory or glob in object
                        storage): each object's content is scanned in memory, a tar object's
                        members are items. An object must be under 2 GiB (binaryFile's limit).

What it does: reads the inputs, repartitions them into tasks of --paths-per-task paths (tasks of
a second of work or more: a task costs ~66 ms of a core on top of its scan), ships the index to every
executor with ``spark.addArtifacts(file=True)`` (``SparkContext.addFile`` on Spark 3), runs
vigie in ``mapInArrow`` (``vigie.spark.scan_partitions``: the wheel must be installed on the
executors), and writes the rows of every item that is not clean (``match``, ``known``,
``probable``, ``failed``; every item with --all) partitioned by ``run_date``, in ``overwrite``
mode for that date only: the ``run_date=D`` directory of --output, a static ``INSERT OVERWRITE
... PARTITION`` of --table, or ``replaceWhere`` with Delta. A rerun of a date therefore
replaces that date's rows (all of them, also when it finds nothing) and nothing else, and a
task retried after a crash contributes its rows once (the writer commits each task's output
once).

It runs unchanged on classic Spark (>= 3.4 for mapInArrow's schema, >= 4.0 for addArtifacts on
a classic session) and over Spark Connect (Databricks serverless and shared clusters):
``--remote sc://host:15002`` or ``SPARK_REMOTE``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import shutil
import sys
import tempfile
import time

import vigie
from vigie.spark import scan_partitions

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

FINDINGS = ("match", "known", "probable", "failed")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--index", required=True, help="the compiled vigie index (vigie index build)")
    p.add_argument("--index-shared", action="store_true",
                   help="every executor reads --index at that absolute path (/Volumes, /dbfs, NFS): "
                        "do not ship a copy")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--paths-file", help="a text file of paths to scan, one per line")
    src.add_argument("--paths-table", help="a table with a column of paths")
    src.add_argument("--binary", help="scan the contents of the objects under this path (binaryFile)")
    p.add_argument("--path-column", default="path", help="the column of paths in --paths-table")
    p.add_argument("--binary-glob", help="with --binary: only objects whose name matches (e.g. *.tar)")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--output", help="write the findings under this path")
    out.add_argument("--table", help="write the findings into this table")
    p.add_argument("--format", default="parquet", help="parquet (default), orc, delta, ...")
    p.add_argument("--run-date", default=dt.date.today().isoformat(), help="YYYY-MM-DD (default: today)")
    p.add_argument("--all", action="store_true", help="write every item, clean ones too")
    p.add_argument("--paths-per-task", type=int, default=1000,
                   help="paths per task (default 1000, ~8 s of images; 1 for tar shards, "
                        "tens of thousands for small files)")
    p.add_argument("--partitions", type=int, help="number of tasks (default: from --paths-per-task)")
    p.add_argument("--threads-per-task", type=int, default=1,
                   help="engine threads per task (default 1: Spark runs a task per core)")
    p.add_argument("--algos", help="extra algorithms, as vigie scan --algo (e.g. all,pdq)")
    p.add_argument("--pdq-threshold", type=int, default=31)
    p.add_argument("--pdq-dihedral", action="store_true")
    p.add_argument("--exact-decode", action="store_true")
    p.add_argument("--master", help="Spark master when not given by spark-submit (e.g. local[4])")
    p.add_argument("--remote", help="Spark Connect URL (e.g. sc://host:15002)")
    args = p.parse_args(argv)
    dt.date.fromisoformat(args.run_date)  # refuse a malformed date before any work
    return args


def ship_index(spark: SparkSession, index: str) -> str:
    """Copies the index to every executor once and returns the name workers find it by.

    The file is staged (copied once per version) under a name that changes with its identity
    (size and modification time), so that a long-lived session (a notebook, a cluster
    running the job every night) ships a new index under a new name instead of colliding with
    the old one. The staged file is kept: classic Spark serves it from there to executors that
    join later."""
    st = os.stat(index)
    stem, ext = os.path.splitext(os.path.basename(index))
    name = f"{stem}-{st.st_size}-{st.st_mtime_ns}{ext}"
    staging = os.path.join(tempfile.gettempdir(), "vigie-index-staging")
    os.makedirs(staging, exist_ok=True)
    staged = os.path.join(staging, name)
    if not os.path.exists(staged):
        # A copy, not a hard link: an index rewritten in place (cp over it) would change a
        # linked file under Spark, whose executors refuse a file that changed once shipped.
        shutil.copyfile(index, staged + ".tmp")
        os.replace(staged + ".tmp", staged)
    add = getattr(spark, "addArtifacts", None)
    if add is not None:
        try:
            add(staged, file=True)
            return name
        except Exception as e:
            msg = str(e).lower()
            if "already" in msg or "duplicate" in msg:  # shipped earlier in this session
                return name
            if "not implemented" not in msg and "not supported" not in msg:
                raise
    spark.sparkContext.addFile(staged)  # classic Spark before 4.0
    return name


def read_inputs(spark: SparkSession, args: argparse.Namespace) -> DataFrame:
    if args.paths_file:
        df = spark.read.text(args.paths_file).select(F.col("value").alias("path"))
        return df.where(F.length("path") > 0)
    if args.paths_table:
        return spark.table(args.paths_table).select(F.col(args.path_column).cast("string").alias("path"))
    reader = spark.read.format("binaryFile").option("recursiveFileLookup", "true")
    if args.binary_glob:
        reader = reader.option("pathGlobFilter", args.binary_glob)
    return reader.load(args.binary).select("path", "content")


def write(df: DataFrame, args: argparse.Namespace) -> None:
    """Replaces the run date's rows, and only those, even when this run has none (a rerun
    after a false positive was removed from the index must not leave the old rows)."""
    spark = df.sparkSession
    if args.format == "delta":
        # replaceWhere deletes the date's rows and inserts the new ones in one commit.
        w = (df.write.format("delta").mode("overwrite").partitionBy("run_date")
             .option("replaceWhere", f"run_date = DATE'{args.run_date}'"))
        w.save(args.output) if args.output else w.saveAsTable(args.table)
    elif args.output:
        # The date's directory, overwritten whole: an empty result leaves an empty partition.
        (df.drop("run_date").write.format(args.format).mode("overwrite")
         .save(f"{args.output.rstrip('/')}/run_date={args.run_date}"))
    else:
        # A static partition overwrite: replaces the partition even with no rows.
        if not spark.catalog.tableExists(args.table):
            df.limit(0).write.format(args.format).partitionBy("run_date").saveAsTable(args.table)
        view = f"vigie_rows_{args.run_date.replace('-', '_')}"
        df.drop("run_date").createOrReplaceTempView(view)
        cols = ", ".join(f"`{f.name}`" for f in vigie.SCHEMA)
        # Static, whatever the session says: in dynamic mode an empty result would leave the
        # partition as it was.
        mode_key = "spark.sql.sources.partitionOverwriteMode"
        before = spark.conf.get(mode_key, "static")
        spark.conf.set(mode_key, "static")
        try:
            spark.sql(f"INSERT OVERWRITE TABLE {args.table} PARTITION (run_date = DATE'{args.run_date}') "
                      f"SELECT {cols} FROM {view}")
        finally:
            spark.conf.set(mode_key, before)
            spark.catalog.dropTempView(view)


def run(spark: SparkSession, args: argparse.Namespace) -> dict:
    """Runs one scan and returns its summary (also printed as one JSON line by main)."""
    start = time.monotonic()
    index_name = os.path.abspath(args.index) if args.index_shared else ship_index(spark, args.index)
    inputs = read_inputs(spark, args)
    n_inputs = inputs.count()
    partitions = args.partitions or max(1, math.ceil(n_inputs / max(1, args.paths_per_task)))
    if args.binary:
        # A batch of binaryFile rows holds their contents (and the worker a copy while it
        # scans them): keep batches small. Spark 4 also caps them in bytes.
        for key, value in (("spark.sql.execution.arrow.maxRecordsPerBatch", "16"),
                           ("spark.sql.execution.arrow.maxBytesPerBatch", str(256 << 20))):
            try:
                spark.conf.set(key, value)
            except Exception as e:  # a platform that fixes it (or a Spark without it)
                print(f"vigie_job: cannot set {key}: {e}", file=sys.stderr)
    options = {"pdq_threshold": args.pdq_threshold, "pdq_dihedral": args.pdq_dihedral,
               "exact_decode": args.exact_decode}
    if args.algos:
        options["algos"] = args.algos
    fn = scan_partitions(
        index_name,
        content_column="content" if args.binary else None,
        keep_clean=args.all,
        threads=args.threads_per_task,
        **options,
    )
    rows = inputs.repartition(partitions).mapInArrow(fn, vigie.SPARK_DDL)
    rows = rows.withColumn("run_date", F.lit(args.run_date).cast("date"))
    write(rows, args)

    written = (spark.read.format(args.format).load(args.output) if args.output else spark.table(args.table))
    counts = {r["verdict"]: r["count"] for r in
              written.where(F.col("run_date") == F.lit(args.run_date).cast("date"))
              .groupBy("verdict").count().collect()}
    return {
        "spark": spark.version,
        "connect": type(spark).__module__.startswith("pyspark.sql.connect"),
        "run_date": args.run_date,
        "inputs": n_inputs,
        "tasks": partitions,
        "written": counts,
        "elapsed_s": round(time.monotonic() - start, 3),
    }


def session(args: argparse.Namespace) -> SparkSession:
    b = SparkSession.builder.appName("vigie")
    if args.remote:
        b = b.remote(args.remote)
    elif args.master:
        b = b.master(args.master)
    return b.getOrCreate()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    spark = session(args)
    summary = run(spark, args)
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
