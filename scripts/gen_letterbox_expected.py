#!/usr/bin/env python3
"""Regenerate fixtures/letterbox/: two synthetic letterboxed images, and EXPECTED.tsv, what
python-threatexchange's unletterboxing makes of every image there.

Run with a venv holding python-threatexchange (PyPI `threatexchange`, which brings Pillow,
numpy and pdqhash): `python3 scripts/gen_letterbox_expected.py`. The peer's own test images
(letterbox.png, clean.png, letterboxed_sample-b.jpg, sample-b.jpg) are copied by hand from
facebook/ThreatExchange (see fixtures/letterbox/README.md); the synthetic ones are made here,
deterministically. The tests never run Python: they read EXPECTED.tsv.

EXPECTED.tsv columns: file, black threshold; the bars the peer finds (its detect_*_border
functions on Pillow's RGB pixels): top, bottom, left, right, and the size left; the PDQ
(hex, quality) of the cropped pixels (pdqhash on the crop, as python-threatexchange's
pdq_hasher converts it); the PDQ (hex, quality) the peer's `threatexchange hash
--photo-preprocess unletterbox` prints, which hashes the crop after saving it in the file's
format again (a JPEG crop is re-encoded by Pillow at quality 75).
"""
import io
import os
import pathlib

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from threatexchange.content_type.photo import PhotoContent
from threatexchange.content_type.preprocess import unletterboxing
from threatexchange.signal_type.pdq import pdq_hasher

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "letterbox"


def picture(seed, w, h):
    """A photo-like picture: a smooth colour field, soft shapes, light noise; no black or
    white line at its edges."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(40, 215, size=(4, 5, 3)).astype(np.float32)
    base = np.stack(
        [np.asarray(Image.fromarray(small[:, :, c], mode="F").resize((w, h), Image.BICUBIC))
         for c in range(3)], axis=2)
    im = Image.fromarray(np.clip(base, 40, 215).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(im)
    for _ in range(12):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rx, ry = rng.uniform(0.03, 0.25) * w, rng.uniform(0.03, 0.25) * h
        col = tuple(int(v) for v in rng.integers(40, 216, 3))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)([cx - rx, cy - ry, cx + rx, cy + ry], fill=col)
    im = im.filter(ImageFilter.GaussianBlur(radius=w / 600))
    arr = np.asarray(im, np.float32) + rng.normal(0, 1.5, size=(h, w, 3)).astype(np.float32)
    return Image.fromarray(np.clip(arr, 30, 225).astype(np.uint8), "RGB")


def boxed(inner, bars, value, noise, seed):
    """`inner` inside bars (top, bottom, left, right) of `value` plus up to `noise` levels."""
    top, bottom, left, right = bars
    w, h = inner.size
    rng = np.random.default_rng(seed)
    W, H = w + left + right, h + top + bottom
    if value == 0:
        frame = rng.integers(0, noise + 1, size=(H, W, 3))
    else:
        frame = 255 - rng.integers(0, noise + 1, size=(H, W, 3))
    out = Image.fromarray(frame.astype(np.uint8), "RGB")
    out.paste(inner, (left, top))
    return out


def generate():
    # Large enough for the reduced-scale decode (both sides >= 1024: 1/2), bars not on
    # 8-pixel block edges, near-black noise (<= 6) in the bars.
    boxed(picture(11, 1500, 1013), (157, 163, 211, 205), 0, 6, 1).save(
        OUT / "synthetic_fast.jpg", quality=88)
    # White bars (the peer keeps them; --unletterbox-white cuts them), lossless.
    boxed(picture(12, 300, 200), (0, 0, 37, 41), 255, 6, 2).save(OUT / "synthetic_white.png")


def pdq_of_image(im):
    return pdq_hasher._pdq_from_numpy_array(pdq_hasher._convert_image_to_correct_array_dimension(im))


def main():
    generate()
    rows = []
    for path in sorted(OUT.iterdir()):
        if path.suffix not in (".png", ".jpg"):
            continue
        for threshold in (15, 25):
            with Image.open(path) as im:
                rgb = im.convert("RGB")
                top = unletterboxing.detect_top_border(rgb, threshold)
                bottom = unletterboxing.detect_bottom_border(rgb, threshold)
                left = unletterboxing.detect_left_border(rgb, threshold)
                right = unletterboxing.detect_right_border(rgb, threshold)
                w, h = im.size
                crop = im.crop((left, top, w - right, h - bottom))
                crop.load()
                crop_pdq, crop_q = pdq_of_image(crop)
            peer_pdq, peer_q = pdq_hasher.pdq_from_bytes(PhotoContent.unletterbox(path, threshold))
            rows.append([path.name, threshold, top, bottom, left, right, w - left - right,
                         h - top - bottom, crop_pdq, crop_q, peer_pdq, peer_q])
    with open(OUT / "EXPECTED.tsv", "w") as f:
        f.write("# file\tthreshold\ttop\tbottom\tleft\tright\twidth\theight\t"
                "crop_pdq\tcrop_quality\tpeer_pdq\tpeer_quality\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")


if __name__ == "__main__":
    main()
