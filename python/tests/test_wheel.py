"""The wheel against the CLI built from the same tree: same items, same verdicts, same hits, same
hashes, same failures; plus what only the wheel promises (bytes inputs, Arrow inputs, failures
as rows, the GIL released, one map per index per process)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import vigie
from conftest import FIXTURES, canon, cli, jsonl


def scan(corpus, **opts) -> pa.RecordBatch:
    return vigie.Scanner(str(corpus.index), **opts).scan(corpus.inputs)


def test_records_equal_the_clis(corpus):
    batch = scan(corpus)
    assert batch.schema == vigie.SCHEMA
    assert canon(vigie.explode_hits(batch)) == canon(corpus.records)


def test_every_item_is_one_row(corpus):
    batch = scan(corpus, threads=1)
    s = corpus.summary
    assert batch.num_rows == s["items"]
    verdicts = pc.value_counts(batch["verdict"]).to_pylist()
    got = {v["values"]: v["counts"] for v in verdicts}
    want = {"match": s["matched"], "known": s["known"], "probable": s["probable"],
            "clean": s["clean"], "failed": s["failed"]}
    assert got == {k: n for k, n in want.items() if n}
    hits = sum(len(h) for h, v in zip(batch["hits"].to_pylist(), batch["verdict"].to_pylist())
               if v in ("match", "known", "probable"))
    assert hits == s["hits"]


def test_failures_are_rows_not_exceptions(corpus):
    rows = {(r["path"], r["member"]): r for r in scan(corpus).to_pylist()}
    missing = rows[(str(corpus.missing), None)]
    assert (missing["verdict"], missing["error_kind"]) == ("failed", "open")
    assert missing["md5"] is None and missing["hits"] == []
    broken = rows[(str(corpus.dump / "images/broken.jpg"), None)]
    assert (broken["verdict"], broken["error_kind"]) == ("failed", "image")
    assert broken["sha256"] is not None, "an undecodable image keeps its exact hashes"
    cut = [r for (p, _), r in rows.items() if p.endswith("truncated.tar") and r["verdict"] == "failed"]
    assert [r["error_kind"] for r in cut] == ["archive"]
    odd = [r for r in rows.values() if r["path_bytes"]]
    assert len(odd) == 1 and odd[0]["path"].endswith("caf\ufffd-non-utf8.txt")


def test_hashes_equal_cli_hash(corpus):
    """Every digest column, perceptual ones included, against `vigie hash`'s records."""
    algos = "all,pdq,phash,dhash"
    r = cli("hash", "-q", "--algo", algos, "--pdq-dihedral", *corpus.inputs, ok=(2,))
    want = jsonl(r.stdout)
    batch = vigie.Scanner(None, algos=algos, pdq_dihedral=True).scan(corpus.inputs)
    fields = ("path", "path_bytes", "member", "member_bytes", "offset", "size", "md5", "sha1",
              "sha256", "xxh3_128", "pdq", "pdq_quality", "pdq_dihedral", "phash", "dhash",
              "error_kind", "error")
    v = {"v": vigie.RECORD_VERSION}
    got = [{**v, **{k: row[k] for k in fields if row[k] is not None}} for row in batch.to_pylist()]
    assert canon(got) == canon(want)
    assert any(g.get("pdq_dihedral") for g in got)


def test_scan_bytes_reads_a_tar_shard_as_its_members(corpus):
    shard = corpus.dump / "example/shard-0001.tar"
    scanner = vigie.Scanner(str(corpus.index))
    from_file = scanner.scan(str(shard))
    from_bytes = scanner.scan_bytes(["s3://bucket/shard-0001.tar"], [shard.read_bytes()])
    assert from_bytes.num_rows == from_file.num_rows == 2

    def renamed(records, name):
        return canon({**r, "path": name} for r in records)

    assert renamed(vigie.explode_hits(from_bytes), "x") == renamed(vigie.explode_hits(from_file), "x")
    assert set(from_bytes["path"].to_pylist()) == {"s3://bucket/shard-0001.tar"}
    assert "match" in from_bytes["verdict"].to_pylist()


def test_arrow_and_python_inputs_agree(corpus):
    scanner = vigie.Scanner(str(corpus.index))
    want = canon(vigie.explode_hits(scanner.scan(corpus.inputs)))
    for paths in (pa.array(corpus.inputs), pa.array(corpus.inputs, pa.large_string()),
                  pa.chunked_array([corpus.inputs[:1], corpus.inputs[1:]]),
                  [os.fsencode(p) for p in corpus.inputs], [Path(p) for p in corpus.inputs]):
        assert canon(vigie.explode_hits(scanner.scan(paths))) == want
    files = sorted(p for p in (corpus.dump / "example/users").rglob("*") if p.is_file())
    names = [str(p) for p in files]
    blobs = [p.read_bytes() for p in files]
    want = canon(vigie.explode_hits(scanner.scan(names)))
    for n, b in ((names, blobs), (pa.array(names), pa.array(blobs, pa.binary())),
                 (pa.array(names, pa.large_string()), pa.array(blobs, pa.large_binary())),
                 (names, [bytearray(b) for b in blobs]), (names, [memoryview(b) for b in blobs])):
        assert canon(vigie.explode_hits(scanner.scan_bytes(n, b))) == want


@pytest.mark.parametrize("flags,kwargs", [
    (("--unletterbox",), {"unletterbox": True}),
    (("--unletterbox", "--letterbox-threshold", "25", "--unletterbox-white"),
     {"unletterbox": True, "letterbox_threshold": 25, "unletterbox_white": True}),
    (("--pixels", "threatexchange"), {"pixels": "threatexchange"}),
    (("--pixels", "pillow"), {"pixels": "pillow"}),
])
def test_image_options_equal_the_clis(flags, kwargs):
    """unletterbox and pixels are the CLI's: the same PDQs on the fixtures they exist for."""
    paths = [str(FIXTURES / "letterbox"), str(FIXTURES / "pixels")]
    want = {r["path"]: r.get("pdq") for r in jsonl(cli("hash", "-q", "--algo", "pdq", *flags, *paths).stdout)}
    rows = vigie.Scanner(None, algos="pdq", **kwargs).scan(paths).to_pylist()
    got = {r["path"]: r["pdq"] for r in rows}
    assert got == want
    plain = {r["path"]: r["pdq"] for r in vigie.Scanner(None, algos="pdq").scan(paths).to_pylist()}
    assert plain != got, "the option changes some hash"


def test_bad_arguments_raise(corpus, tmp_path):
    with pytest.raises(vigie.IndexOpenError):
        vigie.Scanner(str(tmp_path / "none.vigie"))
    (tmp_path / "junk.vigie").write_bytes(b"not an index" * 100)
    with pytest.raises(vigie.IndexOpenError):
        vigie.Scanner(str(tmp_path / "junk.vigie"))
    with pytest.raises(ValueError):
        vigie.Scanner(str(corpus.index), algos="md5,blake9")
    with pytest.raises(ValueError):
        vigie.Scanner(str(corpus.index), pdq_threshold=300)
    with pytest.raises(ValueError):
        vigie.Scanner(str(corpus.index), pixels="gimp")
    with pytest.raises(ValueError):
        vigie.Scanner(str(corpus.index), phash_threshold=65)


def test_phash_and_dhash_thresholds(corpus):
    """The index holds shapes.png's pHash (1 bit off) and dHash (4 bits off): both hit at the
    default threshold 10, as the CLI's records say; thresholds under the distances drop them."""
    shapes = [str(corpus.dump / "images" / "shapes.png")]

    def algos(**kw):
        rows = vigie.explode_hits(vigie.Scanner(str(corpus.index), **kw).scan(shapes))
        perceptual = ("pdq", "phash", "dhash")
        return sorted((r["algorithm"], r["distance"]) for r in rows if r["algorithm"] in perceptual)

    assert algos() == [("dhash", 4), ("pdq", 0), ("phash", 1)]
    assert algos(phash_threshold=0, dhash_threshold=3) == [("pdq", 0)]
    scanner = vigie.Scanner(str(corpus.index))
    with pytest.raises(ValueError):
        scanner.scan_bytes(["a", "b"], [b"x"])
    with pytest.raises(TypeError):
        scanner.scan_bytes(["a"], ["text is not content"])


def test_index_mapped_once_per_process_and_again_when_replaced(corpus, tmp_path):
    index = tmp_path / "copy.vigie"
    shutil.copy(corpus.index, index)
    before = set(vigie.mapped_indexes())
    scanners = [vigie.Scanner(str(index)) for _ in range(3)]
    threads = [threading.Thread(target=vigie.Scanner, args=(str(index),)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(vigie.mapped_indexes()) - before == {index.resolve()}
    # A new file at the same path (a nightly index refresh) is mapped afresh; scanners built
    # before keep theirs, and both still work.
    replacement = tmp_path / "next.vigie"
    shutil.copy(corpus.index, replacement)
    os.replace(replacement, index)
    fresh = vigie.Scanner(str(index))
    old = scanners[0].scan(corpus.inputs)
    new = fresh.scan(corpus.inputs)
    assert canon(vigie.explode_hits(old)) == canon(vigie.explode_hits(new))
    assert set(vigie.mapped_indexes()) - before == {index.resolve()}


def test_gil_is_released_while_scanning(tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.write(os.urandom(1 << 20) * 256)  # 256 MiB: several hundred ms of hashing
    scanner = vigie.Scanner(None, algos="md5,sha1,sha256", threads=1)
    done = threading.Event()
    ticks = 0

    def work():
        scanner.scan(str(big))
        done.set()

    t = threading.Thread(target=work)
    start = time.monotonic()
    t.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    elapsed = time.monotonic() - start
    assert elapsed > 0.1
    # Each tick costs ~1 ms of sleeping; with the GIL held by the scan there would be none
    # between its start and its end.
    assert ticks > elapsed * 1000 * 0.3, (ticks, elapsed)


def test_one_scanner_many_threads(corpus):
    scanner = vigie.Scanner(str(corpus.index), threads=2)
    results = [None] * 4

    def work(i):
        results[i] = canon(vigie.explode_hits(scanner.scan(corpus.inputs)))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == canon(corpus.records) for r in results)


def test_hashing_without_an_index():
    scanner = vigie.Scanner(None)
    assert scanner.algos == ["md5", "sha1", "sha256"]
    batch = scanner.scan_bytes(["abc"], [b"abc"])
    row = batch.to_pylist()[0]
    assert row["verdict"] == "clean" and row["hits"] == []
    assert row["sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert row["md5"] == "900150983cd24fb0d6963f7d28e17f72"


def test_spark_ddl_names_every_column():
    for f in vigie.SCHEMA:
        assert f"`{f.name}`" in vigie.SPARK_DDL
    assert "UNSIGNED" not in vigie.SPARK_DDL.upper() and "BINARY" not in vigie.SPARK_DDL.upper()


def test_scan_batches_streams_every_row_in_bounded_batches(corpus):
    scanner = vigie.Scanner(str(corpus.index))
    batches = list(scanner.scan_batches(corpus.inputs, batch_rows=7))
    assert len(batches) > 1 and all(0 < b.num_rows <= 7 for b in batches)
    assert all(b.schema == vigie.SCHEMA for b in batches)
    got = [r for b in batches for r in vigie.explode_hits(b)]
    assert canon(got) == canon(corpus.records)


def test_dropping_a_stream_early_stops_it(corpus):
    scanner = vigie.Scanner(str(corpus.index), threads=1)
    it = scanner.scan_batches([str(corpus.dump)] * 50, batch_rows=1)
    first = next(it)
    assert first.num_rows == 1
    del it
    # The scanner is still usable, and the abandoned scan does not hold its pool for long.
    start = time.monotonic()
    assert scanner.scan(corpus.inputs).num_rows == corpus.summary["items"]
    assert time.monotonic() - start < 5
