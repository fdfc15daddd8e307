#!/usr/bin/env python3
"""Deterministic benchmark corpus for benches/e2e.sh (stdlib only).

Generates, under OUT_DIR:
  corpus.tar   a ustar archive of members whose sizes are log-uniform in
               [MIN, MAX] bytes, filled with incompressible (seeded PRNG)
               content, until the archive reaches --tar-bytes;
  tree/        --files files with the same size distribution, fanned out
               over --dirs subdirectories;
  manifest.json  the parameters and the resulting sizes.

Everything is a pure function of the parameters (seed included): names,
sizes, content, mtimes. A part is regenerated only when its recorded
parameters differ from the requested ones or its files on disk no longer
match the manifest (size / count / total bytes).
"""
import argparse
import io
import json
import math
import os
import random
import shutil
import sys
import tarfile
import time

VERSION = 1
MTIME = 1_700_000_000  # fixed, so the tar is byte-for-byte reproducible
CHUNK = 1 << 20


def log_uniform(rng, lo, hi):
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def fill(rng, n):
    """n incompressible bytes from rng."""
    return rng.randbytes(n)


def gen_tar(path, total, lo, hi, seed):
    """Write a ustar archive of at most `total` bytes. Returns (members, payload bytes)."""
    sizes_rng = random.Random(f"{seed}/tar/sizes")
    data_rng = random.Random(f"{seed}/tar/data")
    tmp = path + ".tmp"
    members = payload = 0
    # End of archive: two zero blocks, then tarfile pads to a 10 KiB record.
    budget = total - tarfile.RECORDSIZE - 2 * tarfile.BLOCKSIZE
    used = 0
    with open(tmp, "wb") as raw, tarfile.open(
        fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT
    ) as tf:
        while True:
            size = log_uniform(sizes_rng, lo, hi)
            cost = tarfile.BLOCKSIZE + (size + tarfile.BLOCKSIZE - 1) // 512 * 512
            if used + cost > budget:
                break
            ti = tarfile.TarInfo(f"d{members % 100:03d}/m{members:07d}.bin")
            ti.size = size
            ti.mtime = MTIME
            ti.mode = 0o644
            ti.uname = ti.gname = "bench"
            tf.addfile(ti, io.BytesIO(fill(data_rng, size)))
            used += cost
            members += 1
            payload += size
    os.replace(tmp, path)
    return members, payload


def gen_tree(root, files, dirs, lo, hi, seed):
    sizes_rng = random.Random(f"{seed}/tree/sizes")
    data_rng = random.Random(f"{seed}/tree/data")
    tmp = root + ".tmp"
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    os.makedirs(tmp)
    for d in range(dirs):
        os.mkdir(os.path.join(tmp, f"d{d:03d}"))
    payload = 0
    for i in range(files):
        size = log_uniform(sizes_rng, lo, hi)
        p = os.path.join(tmp, f"d{i % dirs:03d}", f"f{i:06d}.bin")
        with open(p, "wb") as f:
            f.write(fill(data_rng, size))
        os.utime(p, (MTIME, MTIME))
        payload += size
    if os.path.exists(root):
        shutil.rmtree(root)
    os.replace(tmp, root)
    return payload


def tree_stats(root):
    n = total = 0
    for dirpath, _, names in os.walk(root):
        for name in names:
            n += 1
            total += os.stat(os.path.join(dirpath, name)).st_size
    return n, total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--tar-bytes", type=int, default=2 << 30)
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--dirs", type=int, default=100)
    ap.add_argument("--min-size", type=int, default=1 << 10)
    ap.add_argument("--max-size", type=int, default=200 << 10)
    ap.add_argument("--seed", type=int, default=20240601)
    a = ap.parse_args()

    os.makedirs(a.out_dir, exist_ok=True)
    mpath = os.path.join(a.out_dir, "manifest.json")
    try:
        with open(mpath) as f:
            old = json.load(f)
    except (OSError, ValueError):
        old = {}
    common = {"version": VERSION, "seed": a.seed, "min_size": a.min_size, "max_size": a.max_size}
    want_tar = dict(common, tar_bytes=a.tar_bytes)
    want_tree = dict(common, files=a.files, dirs=a.dirs)
    man = {"tar": old.get("tar"), "tree": old.get("tree")}

    tar_path = os.path.join(a.out_dir, "corpus.tar")
    t = old.get("tar") or {}
    if (
        t.get("params") == want_tar
        and os.path.isfile(tar_path)
        and os.path.getsize(tar_path) == t.get("file_bytes")
    ):
        print(f"gen_corpus: {tar_path} up to date ({t['members']} members)", file=sys.stderr)
    else:
        t0 = time.time()
        members, payload = gen_tar(tar_path, a.tar_bytes, a.min_size, a.max_size, a.seed)
        man["tar"] = {
            "params": want_tar,
            "path": "corpus.tar",
            "members": members,
            "payload_bytes": payload,
            "file_bytes": os.path.getsize(tar_path),
        }
        print(f"gen_corpus: wrote {tar_path}: {members} members, {payload} payload bytes "
              f"in {time.time() - t0:.1f}s", file=sys.stderr)
        with open(mpath + ".tmp", "w") as f:
            json.dump(man, f, indent=2)
        os.replace(mpath + ".tmp", mpath)

    tree = os.path.join(a.out_dir, "tree")
    t = old.get("tree") or {}
    if t.get("params") == want_tree and os.path.isdir(tree) and tree_stats(tree) == (
        t.get("files"), t.get("payload_bytes")
    ):
        print(f"gen_corpus: {tree} up to date ({t['files']} files)", file=sys.stderr)
    else:
        t0 = time.time()
        payload = gen_tree(tree, a.files, a.dirs, a.min_size, a.max_size, a.seed)
        man["tree"] = {"params": want_tree, "path": "tree", "files": a.files, "payload_bytes": payload}
        print(f"gen_corpus: wrote {tree}: {a.files} files, {payload} bytes "
              f"in {time.time() - t0:.1f}s", file=sys.stderr)
        with open(mpath + ".tmp", "w") as f:
            json.dump(man, f, indent=2)
        os.replace(mpath + ".tmp", mpath)


if __name__ == "__main__":
    main()
