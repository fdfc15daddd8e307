"""examples/spark/vigie_job.py on Spark (PyPI pyspark, local mode, offline): its output equals the
CLI's records on the same dump, also when a Python worker dies mid-job and its task is retried,
and a rerun of a date replaces that date only; and the same job runs unchanged over Spark Connect
(``remote("local[2]")``, a local Connect server: ~12 s)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

pyspark = pytest.importorskip("pyspark")

import vigie  # noqa: E402
import vigie.spark  # noqa: E402
from conftest import REPO, canon  # noqa: E402

JOB = REPO / "examples" / "spark" / "vigie_job.py"
LOC = ("path", "path_bytes", "member", "member_bytes", "offset", "size")
HIT = ("algorithm", "hash", "list", "label", "distance", "matched_hash", "role", "fpr",
       "matched_video", "query_match_pct", "compared_match_pct", "segments", "timestamp")


def load_job():
    spec = importlib.util.spec_from_file_location("vigie_job", JOB)
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    return job


def spark_env(scratch: Path) -> None:
    """What SPARK_NOTES.md says a local Spark needs: workers on this interpreter, the JVM's
    temporary files in a scratch directory."""
    tmp = scratch / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ["TMPDIR"] = str(tmp)
    os.environ["JAVA_TOOL_OPTIONS"] = f"-Djava.io.tmpdir={tmp}"


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    from pyspark.sql import SparkSession

    scratch = tmp_path_factory.mktemp("spark")
    spark_env(scratch)
    s = (
        SparkSession.builder.master("local[2,4]")  # 2 cores, 4 attempts per task
        .appName("vigie-test")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        .getOrCreate()
    )
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def records_of(rows) -> list[dict]:
    """The CLI's `scan --all` records of rows read back from the job's output."""
    out = []
    for row in rows:
        row = row.asDict(recursive=True)
        base = {"v": vigie.RECORD_VERSION, "verdict": row["verdict"], **{k: row[k] for k in LOC if row[k] is not None}}
        evidence = vigie.hashes_of(row)
        if evidence:
            base["hashes"] = evidence
        if row["verdict"] in ("match", "known", "probable"):
            out += [{**base, **{k: h[k] for k in HIT if h[k] is not None}} for h in row["hits"]]
        elif row["verdict"] == "failed":
            out.append({**base, **{k: row[k] for k in ("error_kind", "error") if row[k] is not None}})
        else:
            out.append(base)
    return out


def paths_file(corpus, tmp_path) -> Path:
    """The dump's top-level entries as separate inputs (so that they spread over tasks), and a
    path that does not exist."""
    entries = sorted(str(p) for p in corpus.dump.iterdir() if os.fsencode(p.name).isascii())
    f = tmp_path / "paths.txt"
    f.write_text("\n".join(entries + [str(corpus.missing)]) + "\n")
    return f


def cli_records(corpus, paths: Path) -> list[dict]:
    from conftest import cli, jsonl

    # Exit 1 when the listed paths hold a match (whatever failed), else 2 for their failures.
    r = cli("scan", "-q", "--all", "--index", corpus.index, "--files-from", paths, ok=(1, 2))
    return jsonl(r.stdout)


def run_job(spark, *argv):
    job = load_job()
    return job.run(spark, job.parse_args([str(a) for a in argv]))


def test_schema_is_what_spark_declares(spark):
    from pyspark.sql.pandas.types import from_arrow_schema
    from pyspark.sql.types import StructType

    assert StructType.fromDDL(vigie.SPARK_DDL) == from_arrow_schema(vigie.SCHEMA)


def test_findings_equal_the_clis_and_reruns_replace_their_date(spark, corpus, tmp_path):
    paths = paths_file(corpus, tmp_path)
    want = cli_records(corpus, paths)
    out = tmp_path / "findings"
    args = ("--index", corpus.index, "--paths-file", paths, "--output", out, "--paths-per-task", 2)
    summary = run_job(spark, *args, "--run-date", "2025-11-01")
    assert summary["tasks"] > 1
    written = spark.read.parquet(str(out))
    got = records_of(written.collect())
    assert canon(got) == canon(r for r in want if r["verdict"] != "clean")
    items = {(r["verdict"], r["path"], r.get("member"), r["offset"]) for r in want}
    assert summary["written"] == dict(Counter(v for v, *_ in items if v != "clean"))

    # Every item with --all, for another date; the first date is untouched, and a rerun of
    # the second replaces it instead of adding to it.
    for _ in range(2):
        run_job(spark, *args, "--run-date", "2025-11-02", "--all")
    written = spark.read.parquet(str(out))
    day2 = written.where("run_date = DATE'2025-11-02'").collect()
    assert canon(records_of(day2)) == canon(want)
    day1 = written.where("run_date = DATE'2025-11-01'").collect()
    assert canon(records_of(day1)) == canon(r for r in want if r["verdict"] != "clean")


def test_a_rerun_that_finds_nothing_empties_its_date(spark, corpus, tmp_path):
    clean = tmp_path / "clean.txt"
    clean.write_text("nothing known here\n")
    out = tmp_path / "findings"
    for table in (None, "vigie_findings"):
        target = ("--output", out) if table is None else ("--table", table)
        for paths, date in ((paths_file(corpus, tmp_path), "2025-11-01"),
                            (paths_file(corpus, tmp_path), "2025-11-02")):
            run_job(spark, "--index", corpus.index, "--paths-file", paths, *target, "--run-date", date)
        only_clean = tmp_path / "only-clean.txt"
        only_clean.write_text(f"{clean}\n")
        summary = run_job(spark, "--index", corpus.index, "--paths-file", only_clean, *target,
                          "--run-date", "2025-11-01")
        assert summary["written"] == {}
        written = spark.read.parquet(str(out)) if table is None else spark.table(table)
        dates = {str(r["run_date"]): r["count"] for r in written.groupBy("run_date").count().collect()}
        assert set(dates) == {"2025-11-02"}, (table, dates)
        findings = {(r["path"], r.get("member"), r["offset"]) for r in corpus.records
                    if r["verdict"] != "clean"}
        assert dates["2025-11-02"] == len(findings)


# Runs in the Python worker instead of vigie.spark._scan (pickled by value, see below): the
# first attempt of the task holding the first shard dies after handing Spark its first batch.
CRASH_MARKER = None


def _crash_once(*args):
    import vigie.spark as real

    first = True
    for out in real._scan(*args):
        yield out
        paths = out.column("path").to_pylist()
        if first and any("/shards/" in p for p in paths) and not os.path.exists(CRASH_MARKER):
            open(CRASH_MARKER, "w").close()
            os._exit(1)
        first = False


def test_a_worker_killed_mid_job_is_retried_with_exact_output(spark, corpus, tmp_path, monkeypatch):
    global CRASH_MARKER
    from pyspark import cloudpickle

    CRASH_MARKER = str(tmp_path / "crashed")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    monkeypatch.setattr(vigie.spark, "_scan", _crash_once)
    try:
        paths = paths_file(corpus, tmp_path)
        out = tmp_path / "findings"
        run_job(spark, "--index", corpus.index, "--paths-file", paths, "--output", out,
                "--paths-per-task", 1, "--all", "--run-date", "2025-11-03")
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert os.path.exists(CRASH_MARKER), "the worker never crashed: the test tested nothing"
    got = records_of(spark.read.parquet(str(out)).collect())
    assert canon(got) == canon(cli_records(corpus, paths))


def test_binary_file_source(spark, corpus, tmp_path):
    """Contents read by Spark (as from object storage) give the CLI's records of the same
    files, with Spark's `file:` URIs as paths; the index read where it is (--index-shared)."""
    out = tmp_path / "findings"
    src = corpus.dump / "example"
    run_job(spark, "--index", corpus.index, "--index-shared", "--binary", src, "--output", out, "--all",
            "--paths-per-task", 2, "--run-date", "2025-11-04")
    got = records_of(spark.read.parquet(str(out)).collect())
    for r in got:
        assert r["path"].startswith("file:")
        r["path"] = r["path"][len("file:"):]
    from conftest import cli, jsonl

    want = jsonl(cli("scan", "-q", "--all", "--index", corpus.index, src, ok=(1,)).stdout)
    assert canon(got) == canon(want)


def test_spark_connect_runs_the_job_unchanged(corpus, tmp_path):
    """The job's own command line, in a process of its own, over `remote("local[2]")`."""
    paths = paths_file(corpus, tmp_path)
    out = tmp_path / "findings"
    spark_env(tmp_path)
    env = dict(os.environ)
    r = subprocess.run(
        [sys.executable, str(JOB), "--remote", "local[2]", "--index", str(corpus.index),
         "--paths-file", str(paths), "--output", str(out), "--paths-per-task", "2",
         "--run-date", "2025-11-05", "--all"],
        capture_output=True, env=env, timeout=600,
    )
    assert r.returncode == 0, r.stderr.decode()[-4000:]
    summary = json.loads(r.stdout.decode().strip().splitlines()[-1])
    assert summary["connect"] is True and summary["tasks"] > 1
    import pyarrow.parquet as pq

    table = pq.read_table(str(out)).drop_columns(["run_date"])
    got = [r for b in table.to_batches() for r in vigie.explode_hits(b)]
    assert canon(got) == canon(cli_records(corpus, paths))
