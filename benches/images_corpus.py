#!/usr/bin/env python3
"""Helper for benches/images_e2e.sh (needs Pillow + numpy; `pyhash` also needs pdqhash).

  images_corpus.py gen DIR [--count N] [--seed S] [--png-share F] [--large]
      Deterministic photo-like corpus (smooth gradients + mid-frequency texture + shapes +
      sensor noise) of JPEGs (quality 75-95, 4:2:0) and PNGs (share F of the images, default
      0.25; 0 for a photos-only corpus), 320x240 .. 4000x3000.
      --large: the large-photo corpus of benches/images_large.sh instead: JPEGs only, 1.2 to
      12 MP (LARGE_SIZES, mean ~4.4 MP), fine detail added (~2 bits per pixel, as camera
      JPEGs), quality 75-92, 4:2:0, a third progressive (Pillow's progressive=True, i.e.
      libjpeg's jpeg_simple_progression, Huffman tables optimised).
      Writes the images to DIR/ and the parameters to DIR.manifest.json (outside DIR so
      vigie only sees images); an existing corpus with the same manifest is reused.

  images_corpus.py variants SRC DST [--every K]
      Transformed copies of every K-th image of SRC (default 4), four per original, for the
      matching check: <name>.resize.jpg (half size, q85), <name>.recompress.jpg (q60),
      <name>.crop.jpg (5% of each side cut, half on each edge, q85), <name>.flip.jpg (mirrored, q85).
      Deterministic; reused when DST.manifest.json matches.

  images_corpus.py pyhash DIR OUT.json [--mode full|draft|imagehash]
      A peer pipeline, one process, every file of DIR, sorted:
        full (default): Image.open(p).convert("RGB") -> numpy -> pdqhash.compute, full size;
        draft: the same after im.draft("RGB", (512, 512)) (libjpeg DCT scaling, JPEG only);
        imagehash: imagehash.phash(Image.open(p)) (Python ImageHash's 64-bit pHash).
      Times only that loop (files should already be in the page cache); writes
      {"elapsed_s", "cpu_s", "items", "megapixels", "mode", "sizes": {name: [w, h]},
      "hashes": {name: [hex, quality]}} (sizes and megapixels of the stored images; quality 0
      for imagehash).
"""
import json
import os
import sys
import time

GEN_VERSION = 1
# (width, height, weight): mean ~1.6 MP, from thumbnails to 12 MP camera frames.
SIZES = [
    (320, 240, 8), (640, 480, 20), (800, 600, 15), (1024, 768, 15), (1280, 960, 12),
    (1600, 1200, 12), (2048, 1536, 10), (3000, 2000, 5), (4000, 3000, 3),
]
# --large: camera and phone frames, 1.2 to 12 MP, mean ~4.4 MP.
LARGE_SIZES = [
    (1280, 960, 10), (1600, 1200, 15), (1920, 1080, 10), (2048, 1536, 20), (2592, 1944, 15),
    (3000, 2000, 12), (3264, 2448, 10), (4000, 3000, 8),
]
LARGE_PROGRESSIVE_SHARE = 1 / 3
PNG_SHARE = 0.25          # of the images; PNGs are capped at 2 MP (realistic, and fast to make)
PNG_MAX_PIXELS = 2_100_000


def _field(rng, np, Image, w, h, cells_w, channels=3, lo=0.0, hi=255.0):
    """Random low-res field upsampled with bicubic: smooth, photo-like variation."""
    cw = max(2, cells_w)
    ch = max(2, round(cw * h / w))
    small = rng.uniform(lo, hi, size=(ch, cw, channels)).astype(np.float32)
    out = np.empty((h, w, channels), np.float32)
    for c in range(channels):
        im = Image.fromarray(small[:, :, c], mode="F").resize((w, h), Image.BICUBIC)
        out[:, :, c] = np.asarray(im)
    return out


def make_image(i, seed, png_share=PNG_SHARE, large=False):
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng([seed, i])
    sizes = LARGE_SIZES if large else SIZES
    weights = np.array([s[2] for s in sizes], float)
    w, h, _ = sizes[rng.choice(len(sizes), p=weights / weights.sum())]
    if rng.random() < 0.2:
        w, h = h, w                                  # portrait
    is_png = rng.random() < png_share and w * h <= PNG_MAX_PIXELS

    # Base: large smooth gradient ("sky/ground/lighting") + mid-frequency texture.
    img = _field(rng, np, Image, w, h, int(rng.integers(2, 6)))
    img += _field(rng, np, Image, w, h, int(rng.integers(24, 80)), lo=-25.0, hi=25.0)
    base = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")

    # Objects: soft-edged ellipses / rectangles / polygons.
    layer = base.copy()
    draw = ImageDraw.Draw(layer)
    for _ in range(int(rng.integers(5, 25))):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rx, ry = rng.uniform(0.02, 0.3) * w, rng.uniform(0.02, 0.3) * h
        col = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = rng.integers(0, 3)
        box = [cx - rx, cy - ry, cx + rx, cy + ry]
        if kind == 0:
            draw.ellipse(box, fill=col)
        elif kind == 1:
            draw.rectangle(box, fill=col)
        else:
            pts = [(cx + rx * np.cos(a), cy + ry * np.sin(a))
                   for a in np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(3, 8))))]
            draw.polygon(pts, fill=col)
    layer = layer.filter(ImageFilter.GaussianBlur(radius=max(1.0, w / 800)))
    arr = np.asarray(layer, np.float32)

    # Shading on the objects + sensor noise.
    arr *= _field(rng, np, Image, w, h, 6, channels=1, lo=0.75, hi=1.15)
    if large:
        # Fine detail (foliage, fabric, gravel: features of ~3 px) on top of the blurred
        # scene, which is otherwise smoother at camera sizes than real photos: about 2 bits
        # per pixel at quality 85 (0.76 over the corpus without it), as camera JPEGs have.
        arr += _field(rng, np, Image, w, h, w // 3, lo=-30.0, hi=30.0)
    arr += rng.normal(0.0, float(rng.uniform(2.0, 7.0)), size=arr.shape).astype(np.float32)
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")

    if is_png:
        return out, "png", {}
    if large:
        q = int(rng.integers(75, 93))
        progressive = bool(rng.random() < LARGE_PROGRESSIVE_SHARE)
        return out, "jpg", {"quality": q, "subsampling": 2, "progressive": progressive}
    q = int(rng.integers(75, 96))
    return out, "jpg", {"quality": q, "subsampling": 2}   # 2 = 4:2:0


def _write_one(args):
    d, i, seed, png_share, large = args
    im, ext, opts = make_image(i, seed, png_share, large)
    p = os.path.join(d, f"img_{i:05d}.{ext}")
    im.save(p, **opts)
    return ext, im.width * im.height, os.path.getsize(p), bool(opts.get("progressive"))


def gen(d, count, seed, png_share=PNG_SHARE, large=False):
    import PIL
    manifest_path = d.rstrip("/") + ".manifest.json"
    want = {"gen_version": GEN_VERSION, "count": count, "seed": seed,
            "pillow": PIL.__version__}
    if large:
        want["preset"] = "large"
        want["large_version"] = 2
        png_share = 0.0
    elif png_share != PNG_SHARE:
        want["png_share"] = png_share
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            have = json.load(f)
        if {k: have.get(k) for k in want} == want and len(os.listdir(d)) == count:
            print(f"corpus: reusing {d} ({count} images, {have['megapixels']:.0f} MP, "
                  f"{have['bytes'] / 1e6:.0f} MB)", file=sys.stderr)
            return
        os.remove(manifest_path)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        os.remove(os.path.join(d, name))
    t0 = time.time()
    mp = 0.0
    nbytes = 0
    kinds = {"jpg": 0, "png": 0}
    progressive = 0
    from multiprocessing import Pool
    with Pool(os.cpu_count()) as pool:
        done = pool.imap_unordered(_write_one,
                                   [(d, i, seed, png_share, large) for i in range(count)])
        for k, (ext, pixels, size, prog) in enumerate(done):
            mp += pixels / 1e6
            nbytes += size
            kinds[ext] += 1
            progressive += prog
            if (k + 1) % 50 == 0:
                print(f"  {k + 1}/{count} ({time.time() - t0:.0f} s)", file=sys.stderr)
    man = dict(want, megapixels=mp, mean_megapixels=mp / count, bytes=nbytes,
               jpegs=kinds["jpg"], pngs=kinds["png"], progressive=progressive)
    with open(manifest_path, "w") as f:
        json.dump(man, f, indent=1)
    print(f"corpus: made {d}: {count} images ({kinds['jpg']} JPEG, {kinds['png']} PNG), "
          f"{mp:.0f} MP (mean {mp / count:.2f}), {nbytes / 1e6:.0f} MB in "
          f"{time.time() - t0:.0f} s", file=sys.stderr)


def _variants_one(args):
    src, dst, name = args
    from PIL import Image, ImageOps
    im = Image.open(os.path.join(src, name)).convert("RGB")
    stem = name.rsplit(".", 1)[0]
    w, h = im.size
    out = {
        "resize": (im.resize((max(1, w // 2), max(1, h // 2)), Image.BICUBIC), 85),
        "recompress": (im, 60),
        "crop": (im.crop((w // 40, h // 40, w - w // 40, h - h // 40)), 85),
        "flip": (ImageOps.mirror(im), 85),
    }
    for kind, (v, q) in out.items():
        v.save(os.path.join(dst, f"{stem}.{kind}.jpg"), quality=q, subsampling=2)
    return len(out)


def variants(src, dst, every):
    import PIL
    manifest_path = dst.rstrip("/") + ".manifest.json"
    names = sorted(os.listdir(src))[::every]
    want = {"gen_version": GEN_VERSION, "variants_version": 2, "source": os.path.abspath(src),
            "every": every,
            "originals": len(names), "pillow": PIL.__version__}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            have = json.load(f)
        if have == want and len(os.listdir(dst)) == 4 * len(names):
            print(f"variants: reusing {dst} ({4 * len(names)} images)", file=sys.stderr)
            return
        os.remove(manifest_path)
    os.makedirs(dst, exist_ok=True)
    for name in os.listdir(dst):
        os.remove(os.path.join(dst, name))
    t0 = time.time()
    from multiprocessing import Pool
    with Pool(os.cpu_count()) as pool:
        n = sum(pool.imap_unordered(_variants_one, [(src, dst, x) for x in names]))
    with open(manifest_path, "w") as f:
        json.dump(want, f, indent=1)
    print(f"variants: made {n} copies of {len(names)} originals in {dst} in "
          f"{time.time() - t0:.0f} s", file=sys.stderr)


def bits_to_hex(bits):
    # pdqhash's vector is most significant bit first: bits[0] is the top bit of Meta's
    # 64-hex-digit string (checked against vigie and the reference's hex output).
    v = 0
    for b in bits:
        v = (v << 1) | int(b)
    return f"{v:064x}"


def pyhash(d, out, mode="full"):
    from PIL import Image

    names = sorted(os.listdir(d))
    paths = [os.path.join(d, n) for n in names]
    hashes = {}
    sizes = {}
    mp = 0.0
    if mode == "imagehash":
        import imagehash
        t0, c0 = time.perf_counter(), time.process_time()
        for n, p in zip(names, paths):
            im = Image.open(p)
            hashes[n] = [str(imagehash.phash(im)), 0]
            sizes[n] = im.size
            mp += im.width * im.height / 1e6
    elif mode in ("full", "draft"):
        import numpy as np
        import pdqhash
        draft = mode == "draft"
        t0, c0 = time.perf_counter(), time.process_time()
        for n, p in zip(names, paths):
            im = Image.open(p)
            sizes[n] = im.size
            mp += im.width * im.height / 1e6
            if draft:
                im.draft("RGB", (512, 512))
            bits, quality = pdqhash.compute(np.asarray(im.convert("RGB")))
            hashes[n] = [bits_to_hex(bits), int(quality)]
    else:
        sys.exit(f"images_corpus.py: unknown mode {mode}")
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    res = {"elapsed_s": elapsed, "cpu_s": cpu, "items": len(names), "megapixels": mp, "mode": mode,
           "sizes": sizes, "hashes": hashes}
    with open(out, "w") as f:
        json.dump(res, f)


def main(argv):
    if len(argv) >= 2 and argv[0] == "gen":
        count, seed, png_share, large = 300, 20240601, PNG_SHARE, False
        rest = argv[2:]
        while rest:
            if rest[0] == "--large":
                large = True; rest = rest[1:]
                continue
            if rest[0] == "--count":
                count = int(rest[1]); rest = rest[2:]
            elif rest[0] == "--seed":
                seed = int(rest[1]); rest = rest[2:]
            elif rest[0] == "--png-share":
                png_share = float(rest[1]); rest = rest[2:]
            else:
                sys.exit(f"images_corpus.py: unknown argument {rest[0]}")
        gen(argv[1], count, seed, png_share, large)
    elif len(argv) >= 3 and argv[0] == "variants":
        every = int(argv[4]) if len(argv) == 5 and argv[3] == "--every" else 4
        variants(argv[1], argv[2], every)
    elif len(argv) == 3 and argv[0] == "pyhash":
        pyhash(argv[1], argv[2])
    elif len(argv) == 5 and argv[0] == "pyhash" and argv[3] == "--mode":
        pyhash(argv[1], argv[2], argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
