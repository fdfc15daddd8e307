#!/usr/bin/env python3
"""Generate the small decoder fixtures under fixtures/images/ and their expected pixels.

Deterministic: every image is computed from formulas (no randomness). Expected values are Pillow's
`Image.open(p).convert("RGB")` bytes, written raw (row-major RGB, 8 bits) as `<name>.rgb`, with the
size in `EXPECTED.tsv`. Run with a Pillow 13 venv: `python3 scripts/gen_decode_fixtures.py`.
The tests never run Python; they read the committed files.
"""
import io
import os

from PIL import Image, ImageOps, features

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "images")
W, H = 64, 48


def rgb_base():
    im = Image.new("RGB", (W, H))
    px = im.load()
    for y in range(H):
        for x in range(W):
            px[x, y] = ((x * 4) & 255, (y * 5) & 255, ((x * y) // 3 + 40) & 255)
    return im


def rgba_base():
    im = Image.new("RGBA", (W, H))
    px = im.load()
    for y in range(H):
        for x in range(W):
            a = 0 if (x // 8 + y // 8) % 2 == 0 else (x * 3) & 255
            px[x, y] = ((x * 4) & 255, (y * 5) & 255, 200 - x, a)
    return im


def main():
    os.makedirs(OUT, exist_ok=True)
    rows = []

    def save(name, im, **kw):
        path = os.path.join(OUT, name)
        im.save(path, **kw)
        with Image.open(path) as back:
            mode = back.mode
            rgb = back.convert("RGB")
        with open(path + ".rgb", "wb") as f:
            f.write(rgb.tobytes())
        rows.append((name, mode, rgb.width, rgb.height))

    base = rgb_base()
    save("rgb.jpg", base, quality=90)
    save("cmyk.jpg", base.convert("CMYK"), quality=90)
    save("grey.jpg", base.convert("L"), quality=90)
    save("rgb.png", base)
    save("palette.png", base.quantize(colors=16, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
    save("grey.png", base.convert("L"))
    la = rgba_base().convert("LA")
    save("grey_alpha.png", la)
    save("rgba.png", rgba_base())
    # 16-bit: Pillow writes I;16 as a 16-bit grey PNG. Values cover the whole range so that the 16->8 rule shows.
    g16 = Image.new("I;16", (W, H))
    px = g16.load()
    for y in range(H):
        for x in range(W):
            px[x, y] = (x * 1031 + y * 977 + (x * y) * 13) & 0xFFFF
    save("grey16.png", g16)
    save("rgb.gif", base.quantize(colors=32, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
    save("rgb.bmp", base)
    save("rgb.tiff", base)
    save("rgb_lossless.webp", base, lossless=True)
    # EXIF orientation 6 (rotate 90 CW to view): same pixels as rgb.jpg, plus the transposed view.
    exif = Image.Exif()
    exif[0x0112] = 6
    base.save(os.path.join(OUT, "orient6.jpg"), quality=90, exif=exif)
    with Image.open(os.path.join(OUT, "orient6.jpg")) as im:
        view = ImageOps.exif_transpose(im).convert("RGB")
    with open(os.path.join(OUT, "orient6.jpg.transposed.rgb"), "wb") as f:
        f.write(view.tobytes())
    # Truncated JPEG: the first 60% of a progressive and a baseline JPEG (no EOI).
    for name, kw in (("truncated.jpg", {}), ("truncated_progressive.jpg", {"progressive": True})):
        buf = io.BytesIO()
        base.save(buf, "JPEG", quality=90, **kw)
        data = buf.getvalue()
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data[: len(data) * 6 // 10])

    with open(os.path.join(OUT, "EXPECTED.tsv"), "w") as f:
        f.write("# file\tpillow_mode\twidth\theight   (expected RGB: <file>.rgb, Pillow %s convert('RGB'), libjpeg-turbo %s)\n"
                % (Image.__version__, features.version("jpg")))
        for r in rows:
            f.write("\t".join(map(str, r)) + "\n")


if __name__ == "__main__":
    main()
