#!/usr/bin/env python3
"""Generate fixtures/fastdecode/: JPEGs large enough for the reduced-scale (fast) decode, and
what Pillow and PyPI pdqhash make of them.

Deterministic (seeded numpy; smooth fields, soft shapes, light noise, so the files stay small).
Run with a venv holding Pillow 13, numpy and pdqhash (benches/images_e2e.sh makes one), and
`jpegtran` on the PATH (Debian's libjpeg-turbo-progs): `python3 scripts/gen_fast_decode_fixtures.py`. The tests never run Python.

EXPECTED.tsv columns: file, width, height, scale (1/scale is Pillow's draft("RGB", (512, 512))
reduction), draft width, draft height, sha256 of the draft's convert("RGB") bytes, pdqhash of
the draft pixels (hex, quality), pdqhash of the full-resolution pixels (hex, quality).
"""
import hashlib
import os
import subprocess

import numpy as np
import pdqhash
from PIL import Image, ImageDraw, ImageFilter

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "fastdecode")


def picture(seed, w, h):
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 255, size=(4, 5, 3)).astype(np.float32)
    base = np.stack([np.asarray(Image.fromarray(small[:, :, c], mode="F").resize((w, h), Image.BICUBIC))
                     for c in range(3)], axis=2)
    im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(im)
    for _ in range(14):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rx, ry = rng.uniform(0.03, 0.25) * w, rng.uniform(0.03, 0.25) * h
        col = tuple(int(v) for v in rng.integers(0, 256, 3))
        box = [cx - rx, cy - ry, cx + rx, cy + ry]
        (d.ellipse if rng.random() < 0.5 else d.rectangle)(box, fill=col)
    im = im.filter(ImageFilter.GaussianBlur(radius=w / 600))
    arr = np.asarray(im, np.float32) + rng.normal(0, 1.5, size=(h, w, 3)).astype(np.float32)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def hexof(bits):
    v = 0
    for b in bits:
        v = (v << 1) | int(b)
    return f"{v:064x}"


def main():
    os.makedirs(OUT, exist_ok=True)
    specs = [
        ("scale2.jpg", 1, 1280, 1024, "RGB", {"quality": 85, "subsampling": 2}),
        ("scale2_progressive.jpg", 2, 1100, 1030, "RGB", {"quality": 85, "progressive": True}),
        ("scale2_cmyk.jpg", 3, 1024, 1100, "CMYK", {"quality": 80}),
        ("scale4_grey.jpg", 4, 2100, 2048, "L", {"quality": 80}),
        ("scale8.jpg", 5, 4096, 4100, "RGB", {"quality": 70, "subsampling": 2}),
        ("noscale.jpg", 6, 1023, 2000, "RGB", {"quality": 85, "subsampling": 2}),
        # The same coefficients as scale4_grey.jpg in libjpeg's progression (jpegtran from
        # Debian's libjpeg-turbo-progs: lossless, so the same exact hash).
        ("scale4_grey_progressive.jpg", "scale4_grey.jpg", 2100, 2048, None, None),
    ]
    rows = []
    for name, seed, w, h, mode, kw in specs:
        path = os.path.join(OUT, name)
        if mode is None:
            subprocess.run(["jpegtran", "-progressive", "-copy", "none", "-outfile", path,
                            os.path.join(OUT, seed)], check=True)
        else:
            picture(seed, w, h).convert(mode).save(path, **kw)
        full = np.asarray(Image.open(path).convert("RGB"))
        im = Image.open(path)
        im.draft("RGB", (512, 512))
        scale = w // im.size[0]
        draft = im.convert("RGB")
        darr = np.asarray(draft)
        fb, fq = pdqhash.compute(full)
        db, dq = pdqhash.compute(darr)
        rows.append([name, w, h, scale, draft.width, draft.height,
                     hashlib.sha256(darr.tobytes()).hexdigest(), hexof(db), int(dq), hexof(fb), int(fq)])
    with open(os.path.join(OUT, "EXPECTED.tsv"), "w") as f:
        f.write("# file\twidth\theight\tscale\tdraft_width\tdraft_height\tdraft_rgb_sha256"
                "\tdraft_pdq\tdraft_quality\tfull_pdq\tfull_quality\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")
    for r in rows:
        print(r[0], r[3], os.path.getsize(os.path.join(OUT, r[0])),
              bin(int(r[7], 16) ^ int(r[9], 16)).count("1"))


if __name__ == "__main__":
    main()
