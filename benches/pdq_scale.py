#!/usr/bin/env python3
"""Data and peers for benches/pdq_scale.sh (PDQ search at blocklist scale).

gen:   N random 256-bit PDQ hashes (numpy, seeded) and Q queries, every 20th query a planted
       near-duplicate of an entry (1 to 20 bits flipped); writes entries.bin / queries.bin
       (32 bytes per hash), entries.te / queries.te (`pdq <hex>` signal lines that vigie
       reads) and planted.csv (query, entry, distance).
faiss: range search of the same queries with faiss-cpu on one thread, IndexBinaryFlat or
       IndexBinaryMultiHash(256, 16 tables, 16 bits, nflip 1) as python-threatexchange / HMA
       build it; prints one JSON line (queries/s, recall on the planted pairs, bytes/entry).
recall: recall of vigie's JSONL hits on the planted pairs.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

THRESHOLD = 31


def gen(a):
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)
    entries = rng.integers(0, 256, size=(a.n, 32), dtype=np.uint8)
    queries = rng.integers(0, 256, size=(a.queries, 32), dtype=np.uint8)
    planted = []
    for qi in range(0, a.queries, 20):
        e = int(rng.integers(0, a.n))
        k = int(rng.integers(1, 21))
        bits = rng.choice(256, size=k, replace=False)
        q = entries[e].copy()
        for b in bits:
            q[b // 8] ^= 1 << (b % 8)
        queries[qi] = q
        planted.append((qi, e, k))
    entries.tofile(os.path.join(a.out, "entries.bin"))
    queries.tofile(os.path.join(a.out, "queries.bin"))
    for name, arr in (("entries.te", entries), ("queries.te", queries)):
        with open(os.path.join(a.out, name), "w") as f:
            step = 100_000
            for s in range(0, len(arr), step):
                hexes = arr[s : s + step].tobytes().hex()
                f.write("".join(f"pdq {hexes[i:i + 64]}\n" for i in range(0, len(hexes), 64)))
    with open(os.path.join(a.out, "planted.csv"), "w") as f:
        for qi, e, k in planted:
            f.write(f"{qi},{e},{k}\n")


def load(d):
    e = np.fromfile(os.path.join(d, "entries.bin"), dtype=np.uint8).reshape(-1, 32)
    q = np.fromfile(os.path.join(d, "queries.bin"), dtype=np.uint8).reshape(-1, 32)
    p = np.loadtxt(os.path.join(d, "planted.csv"), delimiter=",", dtype=np.int64, ndmin=2)
    return e, q, p


def run_faiss(a):
    import faiss

    faiss.omp_set_num_threads(1)
    e, q, p = load(a.dir)
    q = q[: a.max_queries]
    t0 = time.perf_counter()
    if a.kind == "flat":
        index = faiss.IndexBinaryFlat(256)
    else:
        index = faiss.IndexBinaryMultiHash(256, 16, 16)
        index.nflip = THRESHOLD // 16
    index.add(e)
    build = time.perf_counter() - t0
    size = len(faiss.serialize_index_binary(index))
    t0 = time.perf_counter()
    lims, dist, ids = index.range_search(q, THRESHOLD + 1)  # faiss radius is exclusive
    secs = time.perf_counter() - t0
    found = set()
    for qi in range(len(q)):
        for j in range(lims[qi], lims[qi + 1]):
            found.add((qi, int(ids[j])))
    mine = [(int(qi), int(ei)) for qi, ei, _ in p if qi < len(q)]
    recall = sum(1 for x in mine if x in found) / max(1, len(mine))
    print(json.dumps({
        "tool": f"faiss {a.kind}", "n": len(e), "queries": len(q), "seconds": secs,
        "qps": len(q) / secs, "recall": recall, "planted": len(mine),
        "bytes_per_entry": size / len(e), "build_s": build,
    }))


def recall(a):
    e, q, p = load(a.dir)
    hits = set()
    with open(a.hits) as f:
        for line in f:
            r = json.loads(line)
            if r.get("algorithm") != "pdq":
                continue
            qi = int(r["path"].rsplit(":", 1)[1]) - 1
            hits.add((qi, r["matched_hash"]))
    ok = sum(1 for qi, ei, _ in p if (int(qi), e[ei].tobytes().hex()) in hits)
    print(json.dumps({"recall": ok / len(p), "planted": len(p)}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--n", type=int, required=True)
    g.add_argument("--queries", type=int, default=20_000)
    g.add_argument("--seed", type=int, default=4)
    g.add_argument("--out", required=True)
    f = sub.add_parser("faiss")
    f.add_argument("--dir", required=True)
    f.add_argument("--kind", choices=["flat", "mih"], required=True)
    f.add_argument("--max-queries", type=int, default=1000)
    r = sub.add_parser("recall")
    r.add_argument("--dir", required=True)
    r.add_argument("--hits", required=True)
    a = ap.parse_args()
    {"gen": gen, "faiss": run_faiss, "recall": recall}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
