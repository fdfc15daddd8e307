#!/usr/bin/env python3
"""Letterboxed copies of a corpus, for measuring `--unletterbox` on the fast path
(benches/fast_drift.sh --unletterbox DST) and checking that scan finds the originals.

  letterbox_corpus.py SRC DST [--seed S]

Every image of SRC (benches/images_corpus.py gen) is put inside black bars and saved as a
JPEG (quality 75-92) in DST: bars on the top and bottom, on the sides, or all round (a third
each), each 3-20% of the side and not on 8-pixel block edges, holding noise up to level 0-8.
Deterministic. Needs Pillow and numpy.
"""
import os
import sys

import numpy as np
from PIL import Image


def main(argv):
    src, dst = argv[0], argv[1]
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 19
    os.makedirs(dst, exist_ok=True)
    names = sorted(n for n in os.listdir(src) if n.lower().endswith((".jpg", ".png")))
    rng = np.random.default_rng(seed)
    for i, name in enumerate(names):
        im = Image.open(os.path.join(src, name)).convert("RGB")
        w, h = im.size
        kind = i % 3
        bar = lambda side: int(side * rng.uniform(0.03, 0.20)) | 1  # odd: off block edges
        top = bottom = left = right = 0
        if kind in (0, 2):
            top, bottom = bar(h), bar(h)
        if kind in (1, 2):
            left, right = bar(w), bar(w)
        W, H = w + left + right, h + top + bottom
        noise = int(rng.integers(0, 9))
        frame = rng.integers(0, noise + 1, size=(H, W, 3), dtype=np.uint8)
        out = Image.fromarray(frame, "RGB")
        out.paste(im, (left, top))
        q = int(rng.integers(75, 93))
        out.save(os.path.join(dst, os.path.splitext(name)[0] + ".lb.jpg"), quality=q)


if __name__ == "__main__":
    main(sys.argv[1:])
