#!/usr/bin/env python3
"""The corpus of benches/ci.sh, deterministic and made with the standard library alone:

  ci_corpus.py DIR PHOTOS_DIR

DIR/data.tar       a 256 MiB tar of 2,048 members of 128 KiB of seeded pseudo-random bytes
DIR/photos/        each JPEG under PHOTOS_DIR, ten copies (cNN-NAME.jpg)
DIR/pdq-1m.txt     1,000,000 random PDQ hashes (64 hex digits a line)
DIR/sha256-1m.txt  1,000,000 random SHA-256 digests in sha256sum's form
DIR/queries.txt    20,000 PDQ queries: 1,000 of the list's hashes with 1-20 bits flipped, the
                   rest random

Files that exist with the expected size are kept (the corpus is reused across runs)."""
import io
import os
import random
import shutil
import sys
import tarfile


def write_if_missing(path, make):
    if os.path.exists(path) and os.path.getsize(path) > 0:
        return
    tmp = path + ".tmp"
    make(tmp)
    os.replace(tmp, path)


def tar(path):
    rng = random.Random(12)
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as t:
        for i in range(2048):
            data = rng.randbytes(128 * 1024)
            info = tarfile.TarInfo(f"member-{i:05d}.bin")
            info.size = len(data)
            info.mtime = 0
            t.addfile(info, io.BytesIO(data))


def hexes(path, n, bits, seed, fmt):
    rng = random.Random(seed)
    with open(path, "w") as f:
        for i in range(n):
            f.write(fmt(i, f"{rng.getrandbits(bits):0{bits // 4}x}"))


def queries(path, pdq_path):
    rng = random.Random(99)
    with open(pdq_path) as f:
        known = [next(f).strip() for _ in range(1000)]
    with open(path, "w") as out:
        for k in known:
            h = int(k, 16)
            for b in rng.sample(range(256), rng.randint(1, 20)):
                h ^= 1 << b
            out.write(f"{h:064x}\n")
        for _ in range(19000):
            out.write(f"{rng.getrandbits(256):064x}\n")


def main():
    d, photos = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(d, "photos"), exist_ok=True)
    write_if_missing(os.path.join(d, "data.tar"), tar)
    pdq = os.path.join(d, "pdq-1m.txt")
    write_if_missing(pdq, lambda p: hexes(p, 1_000_000, 256, 7, lambda i, h: h + "\n"))
    write_if_missing(os.path.join(d, "sha256-1m.txt"),
                     lambda p: hexes(p, 1_000_000, 256, 8, lambda i, h: f"{h}  file-{i}\n"))
    write_if_missing(os.path.join(d, "queries.txt"), lambda p: queries(p, pdq))
    jpgs = sorted(os.path.join(r, f) for r, _, fs in os.walk(photos) for f in fs
                  if f.lower().endswith(".jpg"))
    for c in range(10):
        for j in jpgs:
            dst = os.path.join(d, "photos", f"c{c:02d}-{os.path.basename(j)}")
            if not os.path.exists(dst):
                shutil.copyfile(j, dst)


if __name__ == "__main__":
    main()
