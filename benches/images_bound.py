#!/usr/bin/env python3
"""How far PDQ drifts at other reduced-decode bounds (the fast path uses 512).

  images_bound.py CORPUS FULL.json [BOUND...]

CORPUS: a directory of JPEGs (e.g. DIR/photos-2000 of benches/images_e2e.sh); FULL.json: the
full-resolution pdqhash results of the same files (DIR/run/py-1.json after a run). For each
BOUND (default 512 256), every JPEG that Pillow's draft("RGB", (BOUND, BOUND)) reduces is
hashed with pdqhash from the draft pixels, and the distance to its full-resolution hash is
summarised: images reduced, CPU seconds, median, 95th percentile, max, histogram. Run it with
the bench venv's python (Pillow, numpy, pdqhash).
"""
import collections
import json
import os
import statistics
import sys
import time

import numpy as np
import pdqhash
from PIL import Image


def hexof(bits):
    v = 0
    for b in bits:
        v = (v << 1) | int(b)
    return f"{v:064x}"


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    corpus, full = argv[0], json.load(open(argv[1]))["hashes"]
    for bound in [int(b) for b in argv[2:]] or [512, 256]:
        dist = []
        c0 = time.process_time()
        for name in sorted(os.listdir(corpus)):
            im = Image.open(os.path.join(corpus, name))
            size = im.size
            im.draft("RGB", (bound, bound))
            if im.size == size:
                continue
            bits, _ = pdqhash.compute(np.asarray(im.convert("RGB")))
            dist.append(bin(int(hexof(bits), 16) ^ int(full[name][0], 16)).count("1"))
        dist.sort()
        if not dist:
            print(f"bound {bound}: no image reduced")
            continue
        hist = sorted(collections.Counter(dist).items())
        print(f"bound {bound}: {len(dist)} reduced, {time.process_time() - c0:.1f} CPU s, "
              f"median {statistics.median(dist)}, p95 {dist[int(0.95 * len(dist))]}, "
              f"max {dist[-1]}, histogram {hist}")


if __name__ == "__main__":
    main(sys.argv[1:])
