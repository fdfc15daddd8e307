#!/usr/bin/env python3
"""Compares per-frame vPDQ outputs (lines NAME,FRAME,QUALITY,PDQ_HEX,TIMESTAMP, every frame:
scripts/vpdq_reference.py or examples/vpdq_hash.rs with --seconds-per-hash 0) with the
reference's committed sample hashes (vpdq/sample-hashes/NAME.txt: FRAME,QUALITY,PDQ_HEX,TS) by
the criterion of the reference's vpdq/cpp/regtest.py (apps/match-hashes-byline.cpp): the same
number of frames, and frame i of one matching frame i of the other when both have quality >=
QUALITY (50) and their PDQ distance is < DISTANCE (31). Prints per video and in total the frames
compared, matched, skipped for quality, and bit-for-bit equal.

Usage: vpdq_regtest.py HASH_DIR OUTPUT.csv [OUTPUT.csv ...]
"""
import sys
from collections import defaultdict


def main() -> int:
    hash_dir, outputs = sys.argv[1], sys.argv[2:]
    for out in outputs:
        ours = defaultdict(list)
        for line in open(out):
            name, frame, q, hx, _ts = line.strip().split(",")
            ours[name.rsplit(".", 1)[0]].append((int(frame), int(q), hx))
        tot = defaultdict(int)
        bad_count = []
        for name in sorted(ours):
            ref = []
            for line in open(f"{hash_dir}/{name}.txt"):
                f = line.strip().split(",")
                ref.append((int(f[0]), int(f[1]), f[2]))
            mine = ours[name]
            if len(ref) != len(mine):
                bad_count.append(name)
                continue
            c = defaultdict(int)
            for (_, q1, h1), (_, q2, h2) in zip(ref, mine):
                c["frames"] += 1
                c["equal"] += h1 == h2 and q1 == q2
                if q1 < 50 or q2 < 50:
                    c["skipped"] += 1
                    continue
                d = bin(int(h1, 16) ^ int(h2, 16)).count("1")
                c["compared"] += 1
                c["matched"] += d < 31
                c["max_distance"] = max(c["max_distance"], d)
            for k, v in c.items():
                tot[k] = max(tot[k], v) if k == "max_distance" else tot[k] + v
            print(f"{out}: {name}: {dict(c)}")
        print(f"{out}: TOTAL {dict(tot)}; frame counts differ: {bad_count or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
