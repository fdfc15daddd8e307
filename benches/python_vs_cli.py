#!/usr/bin/env python3
"""The Python wheel and Spark against the CLI on the same corpora (python/README.md, "Measured").

    benches/python_vs_cli.py [--dir DIR] [--runs N] [--small] [--no-spark]

Run it with the interpreter of a venv that has the wheel, pyspark and Pillow
(python/test.sh makes target/pyenv-test; add Pillow: `target/pyenv-test/bin/pip install pillow`),
after `cargo build --release`. Corpora are generated, seeded, under DIR (default
bench-data/python/, gitignored) and reused:

  mixed   gen_corpus.py: a ustar tar and a tree of files of 1 KiB-200 KiB (log-uniform)
  tiny    the same with files of 256 B-4 KiB: per-item costs dominate
  images  images_corpus.py: 1,600 photo-like JPEGs (320x240 to 4000x3000), as 8 tar shards

The index: 10,000 random SHA-256 plus the SHA-256 of 1 % of the mixed tree's files, and the PDQ
of 10 % of the images (so images are PDQ-hashed and matched, as in production).

1. Wheel vs CLI, every item accounted for in both: `vigie scan --all` to /dev/null (JSON
   records) against `Scanner(index).scan(inputs)` (an Arrow batch), both on all cores,
   alternated, N rounds, median wall time; items/s and the wheel's overhead.
2. Spark `local[2]` against the CLI with 2 threads: examples/spark/vigie_job.py with --all
   (writes Parquet) on the image shards (a task each) and on the mixed tree's files (listed,
   1,000 per task); session start-up excluded and reported apart.
3. Per-task overhead: the tiny tree's files as separate paths, in 2 .. 256 tasks; the slope
   of wall time over the number of tasks, times the 2 cores, is the cost of one task.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def sh(*args, **kw):
    return subprocess.run([str(a) for a in args], check=True, **kw)


def gen(dirs: Path, small: bool) -> dict:
    mib = 1 << 20
    scale = 4 if small else 1
    sh(sys.executable, REPO / "benches/gen_corpus.py", dirs / "mixed",
       "--tar-bytes", 512 * mib // scale, "--files", 20000 // scale)
    sh(sys.executable, REPO / "benches/gen_corpus.py", dirs / "tiny",
       "--tar-bytes", 64 * mib // scale, "--files", 20000 // scale,
       "--min-size", 256, "--max-size", 4096)
    images = dirs / "images"
    sh(sys.executable, REPO / "benches/images_corpus.py", "gen", images,
       "--count", 100 if small else 1600, "--png-share", 0)
    shards = dirs / "image-shards"
    files = sorted(p for p in images.iterdir() if p.is_file())
    n_shards = 4 if small else 8
    if not shards.exists() or len(list(shards.glob("*.tar"))) != n_shards:
        shards.mkdir(exist_ok=True)
        for i in range(n_shards):
            with tarfile.open(shards / f"shard-{i}.tar.tmp", "w", format=tarfile.USTAR_FORMAT) as t:
                for p in files[i::n_shards]:
                    t.add(p, arcname=p.name)
            os.replace(shards / f"shard-{i}.tar.tmp", shards / f"shard-{i}.tar")
    return {
        "mixed tree": [dirs / "mixed/tree"],
        "mixed tar": [dirs / "mixed/corpus.tar"],
        "tiny tree": [dirs / "tiny/tree"],
        "tiny tar": [dirs / "tiny/corpus.tar"],
        "image shards": sorted(shards.glob("*.tar")),
    }


def build_index(vigie: Path, dirs: Path) -> Path:
    import hashlib
    import random

    index = dirs / "bench.vigie"
    if index.exists():
        return index
    rng = random.Random(7)
    lines = [rng.randbytes(32).hex() for _ in range(10000)]
    tree = sorted(p for p in (dirs / "mixed/tree").rglob("*") if p.is_file())
    lines += [hashlib.sha256(p.read_bytes()).hexdigest() for p in tree[::100]]
    (dirs / "bench.sha256").write_text("\n".join(lines) + "\n")
    images = sorted(p for p in (dirs / "images").iterdir() if p.is_file())[::10]
    te = sh(vigie, "hash", "-q", "--format", "te", *images, capture_output=True).stdout
    (dirs / "bench.te").write_bytes(te)
    sh(vigie, "index", "build", "-q", "-o", index, dirs / "bench.sha256", dirs / "bench.te")
    return index


def warm(paths):
    for p in paths:
        p = Path(p)
        for f in ([p] if p.is_file() else sorted(x for x in p.rglob("*") if x.is_file())):
            with open(f, "rb") as fh:
                while fh.read(1 << 24):
                    pass


def cli_scan(vigie, index, inputs, threads=None) -> tuple[float, int]:
    summary = Path(os.environ.get("TMPDIR", "/tmp")) / "vigie-bench-summary.json"
    args = [vigie, "scan", "-q", "--all", "--index", index, "--summary", summary]
    if threads:
        args += ["--threads", threads]
    t = time.perf_counter()
    r = subprocess.run([str(a) for a in args + list(inputs)], stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t
    assert r.returncode in (0, 1), r.returncode
    return elapsed, json.loads(summary.read_text())["items"]


def wheel_scan(index, inputs) -> tuple[float, int]:
    import vigie

    t = time.perf_counter()
    batch = vigie.Scanner(str(index)).scan([str(p) for p in inputs])
    return time.perf_counter() - t, batch.num_rows


def wheel_vs_cli(vigie_cli, index, corpora, runs) -> list[dict]:
    rows = []
    for name, inputs in corpora.items():
        warm(inputs)
        cli_t, wheel_t = [], []
        cli_scan(vigie_cli, index, inputs)  # first touch of the index, both sides
        wheel_scan(index, inputs)
        for r in range(runs):
            order = (0, 1) if r % 2 == 0 else (1, 0)
            for side in order:
                if side == 0:
                    t, n_cli = cli_scan(vigie_cli, index, inputs)
                    cli_t.append(t)
                else:
                    t, n_wheel = wheel_scan(index, inputs)
                    wheel_t.append(t)
        assert n_cli == n_wheel, (name, n_cli, n_wheel)
        c, w = statistics.median(cli_t), statistics.median(wheel_t)
        rows.append({"corpus": name, "items": n_cli, "cli_s": c, "wheel_s": w,
                     "cli_items_s": n_cli / c, "wheel_items_s": n_wheel / w,
                     "overhead_pct": 100 * (w / c - 1),
                     "cli_runs": cli_t, "wheel_runs": wheel_t})
        print(f"  {name}: {n_cli} items, CLI {c:.3f} s, wheel {w:.3f} s ({rows[-1]['overhead_pct']:+.1f} %)",
              file=sys.stderr)
    return rows


def spark_session(scratch: Path):
    from pyspark.sql import SparkSession

    tmp = scratch / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    os.environ.update(PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable,
                      TMPDIR=str(tmp), JAVA_TOOL_OPTIONS=f"-Djava.io.tmpdir={tmp}")
    t = time.perf_counter()
    s = (SparkSession.builder.master("local[2]").config("spark.driver.host", "127.0.0.1")
         .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
         .config("spark.sql.shuffle.partitions", "4")
         .config("spark.sql.warehouse.dir", str(scratch / "warehouse")).getOrCreate())
    s.sparkContext.setLogLevel("ERROR")
    s.range(10).count()
    return s, time.perf_counter() - t


def load_job():
    spec = importlib.util.spec_from_file_location("vigie_job", REPO / "examples/spark/vigie_job.py")
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    return job


def spark_job(spark, job, index, paths: list[Path], scratch: Path, tasks: int) -> tuple[float, dict]:
    plist = scratch / "paths.txt"
    plist.write_text("".join(f"{p}\n" for p in paths))
    args = job.parse_args(["--index", str(index), "--paths-file", str(plist), "--all",
                           "--output", str(scratch / "out"), "--partitions", str(tasks),
                           "--run-date", "2025-11-01"])
    t = time.perf_counter()
    summary = job.run(spark, args)
    return time.perf_counter() - t, summary


def spark_vs_cli(vigie_cli, index, corpora, runs, scratch) -> tuple[list[dict], list[dict], float]:
    spark, startup = spark_session(scratch)
    job = load_job()
    rows = []
    tree_files = sorted(p for p in Path(corpora["mixed tree"][0]).rglob("*") if p.is_file())
    # (what the CLI reads, what the job is given, tasks): shards one per task; a tree's files
    # listed one per line, 1,000 per task.
    shards = corpora["image shards"]
    cases = {"image shards": (shards, shards, len(shards)),
             "mixed tree": (corpora["mixed tree"], tree_files, -(-len(tree_files) // 1000))}
    for name, (inputs, paths, tasks) in cases.items():
        warm(inputs)
        spark_job(spark, job, index, paths, scratch, tasks)
        cli_t, spark_t = [], []
        for r in range(runs):
            for side in ((0, 1) if r % 2 == 0 else (1, 0)):
                if side == 0:
                    t, items = cli_scan(vigie_cli, index, inputs, threads=2)
                    cli_t.append(t)
                else:
                    t, summary = spark_job(spark, job, index, paths, scratch, tasks)
                    spark_t.append(t)
        written = sum(summary["written"].values())
        assert written == items, (name, written, items)
        c, s = statistics.median(cli_t), statistics.median(spark_t)
        rows.append({"corpus": name, "items": items, "tasks": tasks, "cli_2threads_s": c,
                     "spark_local2_s": s, "ratio": s / c, "cli_runs": cli_t, "spark_runs": spark_t})
        print(f"  spark {name}: CLI -j2 {c:.3f} s, Spark local[2] {s:.3f} s (x{s / c:.2f})", file=sys.stderr)

    files = sorted(str(p) for p in Path(corpora["tiny tree"][0]).rglob("*") if p.is_file())
    warm(corpora["tiny tree"])
    overhead = []
    for tasks in (2, 16, 64, 256):
        ts = [spark_job(spark, job, index, [Path(f) for f in files], scratch, tasks)[0]
              for _ in range(max(3, runs // 2))]
        overhead.append({"tasks": tasks, "items": len(files), "median_s": statistics.median(ts), "runs": ts})
        print(f"  {tasks} tasks over {len(files)} files: {statistics.median(ts):.3f} s", file=sys.stderr)
    spark.stop()
    return rows, overhead, startup


def slope(points):
    xs = [p["tasks"] for p in points]
    ys = [p["median_s"] for p in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=Path(os.environ.get("VIGIE_BENCH_DIR", REPO / "bench-data")) / "python")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--no-spark", action="store_true")
    args = ap.parse_args()
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    vigie_cli = target / "release/vigie"
    dirs = args.dir / ("small" if args.small else "full")
    dirs.mkdir(parents=True, exist_ok=True)
    corpora = gen(dirs, args.small)
    index = build_index(vigie_cli, dirs)
    import vigie

    result = {"cores": os.cpu_count(), "runs": args.runs, "vigie": vigie.__version__,
              "commit": subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                       capture_output=True, text=True).stdout.strip()}
    print("wheel vs CLI (all cores, every item accounted):", file=sys.stderr)
    result["wheel_vs_cli"] = wheel_vs_cli(vigie_cli, index, corpora, args.runs)
    if not args.no_spark:
        print("Spark local[2] vs CLI --threads 2:", file=sys.stderr)
        rows, overhead, startup = spark_vs_cli(vigie_cli, index, corpora, args.runs, dirs / "spark")
        result.update(spark_vs_cli=rows, task_overhead=overhead, spark_startup_s=startup,
                      per_task_s=slope(overhead) * 2)
    out = dirs / "python_vs_cli.json"
    out.write_text(json.dumps(result, indent=1))

    print(f"\n{result['cores']} cores, commit {result['commit']}, median of {args.runs} alternated runs\n")
    print("| corpus | items | CLI items/s | wheel items/s | wheel overhead |")
    print("|---|---:|---:|---:|---:|")
    for r in result["wheel_vs_cli"]:
        print(f"| {r['corpus']} | {r['items']:,} | {r['cli_items_s']:,.0f} | {r['wheel_items_s']:,.0f} | "
              f"{r['overhead_pct']:+.1f} % |")
    if not args.no_spark:
        print(f"\nSpark session start-up: {result['spark_startup_s']:.1f} s (excluded below)\n")
        print("| corpus | items | tasks | CLI --threads 2 | Spark local[2] | ratio |")
        print("|---|---:|---:|---:|---:|---:|")
        for r in result["spark_vs_cli"]:
            print(f"| {r['corpus']} | {r['items']:,} | {r['tasks']} | {r['cli_2threads_s']:.2f} s | "
                  f"{r['spark_local2_s']:.2f} s | x{r['ratio']:.2f} |")
        print("\n| tasks | items | Spark local[2] |")
        print("|---:|---:|---:|")
        for p in result["task_overhead"]:
            print(f"| {p['tasks']} | {p['items']:,} | {p['median_s']:.2f} s |")
        print(f"\nper-task overhead: {1000 * result['per_task_s']:.0f} ms of a core per task "
              f"(slope x 2 cores)")
    print(f"\n(written to {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
