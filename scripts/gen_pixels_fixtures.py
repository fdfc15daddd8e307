#!/usr/bin/env python3
"""Regenerate fixtures/pixels/: small images of the kinds whose pixels decoders disagree on
(16-bit, palette, 1-bit, CMYK, alpha), and EXPECTED.tsv, the PDQ the peers compute for each.

Run with a venv holding python-threatexchange (PyPI `threatexchange`: Pillow, numpy,
pdqhash): `python3 scripts/gen_pixels_fixtures.py`. Deterministic. The tests never run
Python: they read EXPECTED.tsv.

EXPECTED.tsv columns: file, Pillow's mode, then two PDQs (hex, quality):
pillow: pdqhash.compute(np.asarray(Image.open(f).convert("RGB"))), what a pdqhash user gets;
threatexchange: python-threatexchange's pdq_hasher.pdq_from_bytes, what it and HMA compute
(an error name instead when it fails).
"""
import io
import pathlib
import struct
import zlib

import numpy as np
import pdqhash
from PIL import Image, ImageDraw
from threatexchange.signal_type.pdq import pdq_hasher

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "pixels"
W, H = 192, 144


def picture():
    y, x = np.mgrid[0:H, 0:W]
    r = (128 + 100 * np.sin(x / 23.0) + 20 * np.cos(y / 7.0)).clip(0, 255)
    g = (128 + 100 * np.cos((x + y) / 31.0)).clip(0, 255)
    b = x * 255 // W
    im = Image.fromarray(np.stack([r, g, b], -1).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(im)
    d.ellipse((38, 22, 120, 105), fill=(250, 30, 30))
    d.rectangle((112, 75, 180, 135), fill=(20, 20, 200))
    return im


def png(path, depth, ctype, rows, plte=None):
    """A PNG written by hand (Pillow writes no 16-bit RGB or grey+alpha)."""
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    h, w = len(rows), None
    data = b"".join(b"\0" + r for r in rows)
    s = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, h, depth, ctype, 0, 0, 0))
    if plte:
        s += chunk(b"PLTE", plte)
    s += chunk(b"IDAT", zlib.compress(data, 9)) + chunk(b"IEND", b"")
    path.write_bytes(s)


def generate():
    rng = np.random.default_rng(19)
    im = picture()
    grey = np.asarray(im.convert("L")).astype(np.uint16)
    # 16-bit grey, the full range used (v * 257): Pillow clamps it to 255, nearly all white.
    Image.fromarray(grey * 257).save(OUT / "grey16.png")
    # 16-bit grey with alpha; 16-bit RGB and RGBA, with low bytes that differ from the high.
    noise = rng.integers(0, 256, size=(H, W, 4)).astype(np.uint16)
    la = np.stack([grey * 256 + noise[..., 0], (np.arange(W)[None, :] * 256).repeat(H, 0)], -1)
    png(OUT / "la16.png", 16, 4, [la[y].astype(">u2").tobytes() for y in range(H)])
    rgb16 = np.asarray(im).astype(np.uint16) * 256 + noise[..., :3]
    png(OUT / "rgb16.png", 16, 2, [rgb16[y].astype(">u2").tobytes() for y in range(H)])
    rgba16 = np.concatenate([rgb16, noise[..., 3:] * 257], -1)
    png(OUT / "rgba16.png", 16, 6, [rgba16[y].astype(">u2").tobytes() for y in range(H)])
    # Palettes: 8-bit, with transparency, 4-bit; a GIF.
    im.quantize(64).save(OUT / "palette.png")
    im.quantize(64).save(OUT / "palette_trns.png", transparency=0)
    im.quantize(16).save(OUT / "palette4.png", bits=4)
    im.quantize(64).save(OUT / "static.gif")
    im.convert("1").save(OUT / "bilevel.png")
    im.convert("LA").save(OUT / "la.png")
    rgba = im.copy()
    rgba.putalpha(Image.fromarray((np.arange(W)[None, :].repeat(H, 0) * 255 // W).astype(np.uint8)))
    rgba.save(OUT / "rgba.png")
    im.convert("CMYK").save(OUT / "cmyk.jpg", quality=90)


def hexof(bits):
    return "%064x" % int("".join(str(int(b)) for b in bits), 2)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    generate()
    rows = []
    for path in sorted(OUT.iterdir()):
        if path.suffix not in (".png", ".jpg", ".gif"):
            continue
        data = path.read_bytes()
        mode = Image.open(io.BytesIO(data)).mode
        bits, q = pdqhash.compute(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
        try:
            te, te_q = pdq_hasher.pdq_from_bytes(data)
        except Exception as e:  # the peer's own failure is a fact to record
            te, te_q = type(e).__name__, ""
        rows.append([path.name, mode, hexof(bits), q, te, te_q])
    with open(OUT / "EXPECTED.tsv", "w") as f:
        f.write("# file\tpillow_mode\tpillow_pdq\tpillow_quality\tthreatexchange_pdq\tthreatexchange_quality\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")


if __name__ == "__main__":
    main()
