"""Shared fixtures: a dump with every kind of item and failure, an index over it, and the CLI's
records for both, which the wheel's rows and the Spark job's output must equal.

The CLI is the one built from the same tree (``target/release/vigie``, or ``$VIGIE_CLI``).
"""

from __future__ import annotations

import collections
import gzip
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"


def cli_path() -> Path:
    p = Path(os.environ.get("VIGIE_CLI", REPO / "target" / "release" / "vigie"))
    if not p.exists():
        pytest.fail(f"the vigie CLI is not built at {p} (cargo build --release, or set VIGIE_CLI)")
    return p


def cli(*args: str | os.PathLike, ok=(0,)) -> subprocess.CompletedProcess:
    r = subprocess.run([str(cli_path()), *map(str, args)], capture_output=True)
    if r.returncode not in ok:
        raise AssertionError(f"vigie {args} exited {r.returncode}: {r.stderr.decode()}")
    return r


def jsonl(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def canon(records) -> collections.Counter:
    """Records as a multiset of canonical JSON strings (order of records and keys ignored)."""
    return collections.Counter(json.dumps(r, sort_keys=True) for r in records)


def _tar_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def build_dump(root: Path) -> Path:
    """A dump holding plain files, a non-UTF-8 file name, images (PDQ hits, an undecodable
    image), pax/GNU tars with long and non-UTF-8 member names, a .tar.gz and a .tar.zst, a
    truncated tar, Bloom filter members and allowlisted files. Deterministic."""
    dump = root / "dump"
    shutil.copytree(FIXTURES / "example" / "dump", dump / "example")
    images = dump / "images"
    images.mkdir()
    for p in sorted((FIXTURES / "images").iterdir()):
        if p.suffix in {".jpg", ".png", ".gif", ".bmp", ".tiff", ".webp"}:
            shutil.copy(p, images / p.name)
    for p in sorted((FIXTURES / "perceptual").glob("shapes*")):
        shutil.copy(p, images / p.name)
    shutil.copytree(FIXTURES / "hashlookup" / "testfiles", dump / "hashlookup")
    shards = dump / "shards"
    shards.mkdir()
    for name in ("gnu.tar", "pax.tar"):
        shutil.copy(FIXTURES / "tar" / name, shards / name)
    in_tar = {f"img/{p.name}": p.read_bytes() for p in sorted(images.iterdir())}
    in_tar["notes/known-a.txt"] = (dump / "example/users/bob/re-upload of A.txt").read_bytes()
    in_tar["notes/plain.txt"] = b"nothing to see\n"
    tar = _tar_bytes(in_tar)
    (shards / "images.tar.gz").write_bytes(gzip.compress(tar, mtime=0))
    if shutil.which("zstd"):
        subprocess.run(["zstd", "-q", "-o", str(shards / "images.tar.zst")], input=tar, check=True)
    # Cut inside the data of a member: the reader must report an archive failure.
    (shards / "truncated.tar").write_bytes(tar[: len(tar) // 2 + 100])
    (dump / os.fsdecode(b"caf\xe9-non-utf8.txt")).write_bytes(b"a name that is not UTF-8\n")
    (dump / "empty.bin").write_bytes(b"")
    # A JPEG signature over garbage: sniffed as an image that cannot be decoded.
    (images / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    return dump


def build_index(root: Path, dump: Path) -> Path:
    """Blocklists (sha256, md5, PDQ, pHash, dHash), an allowlist and a Bloom filter: every
    verdict occurs."""
    lists = root / "lists"
    lists.mkdir()
    te = cli("hash", "-q", "--format", "te", FIXTURES / "perceptual" / "shapes.png").stdout
    (lists / "shapes.te").write_bytes(te)
    caption = dump / "example/users/alice/caption.txt"
    sha = cli("hash", "-q", "--format", "sha256sum", caption).stdout.split()[0]
    (lists / "allowed.sha256").write_bytes(sha + b"\n")
    # shapes.png's pHash a25acfa58d3530a7 one bit off, its dHash b1898d95979d8da9 four off.
    (lists / "shapes.phash").write_bytes(b"a25acfa58d3530a6\n")
    (lists / "shapes.dhash").write_bytes(b"b1898d95979d8d00\n")
    index = root / "test.vigie"
    cli(
        "index", "build", "-q", "-o", index,
        "--label", "known-propaganda", FIXTURES / "example/lists/known-bad.sha256",
        "--name", "partner-feed", FIXTURES / "example/lists/partner.md5",
        "--label", "shapes", lists / "shapes.te",
        "--type", "phash", lists / "shapes.phash",
        "--type", "dhash", lists / "shapes.dhash",
        "--allow", lists / "allowed.sha256",
        FIXTURES / "hashlookup/known-sha1.dcso.bloom",
    )
    return index


class Corpus:
    """The dump, its index, the inputs scanned, and the CLI's records and summary for them."""

    def __init__(self, root: Path):
        self.root = root
        self.dump = build_dump(root)
        self.index = build_index(root, self.dump)
        self.missing = self.dump / "missing.bin"
        self.inputs = [str(self.dump), str(self.missing)]
        summary = root / "cli-summary.json"
        # Matches and failures: a match wins the exit status (1); the summary counts the failures.
        r = cli("scan", "-q", "--all", "--index", self.index, "--summary", summary, *self.inputs, ok=(1,))
        self.records = jsonl(r.stdout)
        self.summary = json.loads(summary.read_text())
        assert self.summary["matched"] > 0 and self.summary["failed"] > 0, self.summary


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Corpus:
    return Corpus(tmp_path_factory.mktemp("corpus"))
