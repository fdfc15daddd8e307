#!/usr/bin/env python3
"""Corpus of the vPDQ matching benchmark (issue 17, Performance, "Matching"); seeded, reproducible.

Under WORK (never committed):

  videos/known/known-00000.mp4 .. known-00099.mp4   100 source videos made with ffmpeg's lavfi
      generators (2-4 scenes each: testsrc2, smptehdbars, mandelbrot, life, cellauto, sierpinski,
      gradients, a geq plasma; each scene with its own seeded parameters, colours, rotation and
      moving boxes), 60 s, 320x240 @ 12 fps, H.264: 60 hashed frames at one hash a second.
  videos/queries/q000.* .. q199.*                   the 200 query videos:
      q000-q099  transformed copies of known-000NN (NN = query number): always re-encoded (x264 at
                 another CRF, MPEG-4 part 2 in AVI, VP8 in WebM, x264 in MKV/MOV), plus 1-3 of:
                 scale, crop, clip (a 15-30 s excerpt), watermark (drawtext or a logo overlay),
                 frame-rate change;
      q100-q159  unrelated: new sources from the same generators with fresh seeds, never indexed;
      q160-q199  unrelated but similar on purpose: the scene list of a known source with its
                 parameters changed (other seed, zoom point, rotation speed, colours, box paths).
  hashes/NAME.json     the reference's vPDQ of each real video (PyPI vpdq 0.2.5, 1 hash/s,
                       thread_count=1): [[frame_number, quality, pdq_hex, timestamp], ...]
  lists/known.csv      the 10,000 known videos as python-threatexchange's dataset CSV
                       (`threatexchange dataset -P --csv`): header
                       signal_type,signal_str,collab,category,tags; signal_type `vpdq`; signal_str
                       the JSON array of "pdq_hex,quality,timestamp" strings written by
                       threatexchange's own vpdq_to_json; collab `vigie-bench`; category
                       INVESTIGATION_SEED; tags = the video's id (known-NNNNN), the CSV having no
                       name column. Row k (line k + 2, after the header) is known-k.
  lists/known-txt/known-NNNNN.txt   the same 10,000 videos as the vPDQ reference CLI's per-frame
                       files: `frame,quality,pdq_hex,timestamp` (timestamp with 3 decimals), the
                       video's id = the file stem.
  lists/queries.csv, lists/queries-txt/   the 200 queries' reference hashes in the same two forms.
  corpus.json          the parameters, every video's scenes/transforms, and counts.

Known videos known-00100 .. known-09999 are synthetic (no video file): 60 PDQ hashes each, a
random walk (each frame 0-8 bits from the previous, 0 = a repeated frame), a scene cut (a new
random hash) with probability 0.06 a frame; quality 50-100 for ~85 % of frames, 0-49 otherwise;
1 % of them all low quality, 10 with no frame of quality >= 50 at all (must never match). 300 of
them are derived from a real known video (a subset of its frames, each moved 0-45 bits, and
repeated frames whose first copy has low quality) so that partial matches near the thresholds
and the filter/dedupe order are exercised.

Usage: gen_corpus.py WORK [--seed N] [--jobs N]
Needs: ffmpeg, numpy, vpdq (PyPI, built against the system FFmpeg), threatexchange (its
vpdq_to_json writes signal_str).
"""
import argparse
import concurrent.futures as cf
import csv
import hashlib
import json
import os
import random
import subprocess
import sys

import numpy as np

VERSION = 4  # bump when the generator's output changes
N_SOURCES = 100
N_UNRELATED_NEW = 60
N_UNRELATED_SIMILAR = 40
N_KNOWN = 10_000
N_DERIVED = 300
FRAMES = 60
W, H, FPS, DUR = 320, 240, 12, 60
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
GENERATORS = ["testsrc2", "smptehdbars", "mandelbrot", "life", "cellauto", "sierpinski", "gradients", "plasma"]


def rcolor(r):
    return "0x%06x" % r.randrange(1 << 24)


def scene_params(r, gen):
    """Seeded parameters of one scene. Motion is slow (as in most real footage): PDQ, computed on a
    64x64 reduction, then stays within a few bits from one hashed second to the next, so that a
    re-encoded, scaled or clipped copy still finds its frames."""
    p = {"gen": gen, "seed": r.randrange(1, 1 << 30), "c0": rcolor(r), "c1": rcolor(r), "c2": rcolor(r),
         "rot": round(r.uniform(0.005, 0.02) * r.choice([-1, 1]), 3) if r.random() < 0.4 else 0.0,
         "negate": r.random() < 0.2, "hue": r.randrange(0, 360), "rate": r.choice([1, 2, 3]),
         "boxes": [(r.randrange(2, 8), r.randrange(0, H - 40), r.randrange(30, 90), r.randrange(20, 70), rcolor(r))
                   for _ in range(r.randrange(0, 3))]}
    if gen == "mandelbrot":
        p.update(x=round(-0.7436438870371587 + r.uniform(-0.02, 0.02), 9),
                 y=round(-0.1318259042053119 + r.uniform(-0.02, 0.02), 9),
                 s0=round(r.uniform(0.05, 3.0), 4))
        p["s1"] = round(p["s0"] * r.uniform(0.55, 0.85), 5)
    elif gen == "life":
        p.update(ratio=round(r.uniform(0.2, 0.6), 3), mold=r.randrange(0, 30))
    elif gen == "cellauto":
        p.update(rule=r.choice([18, 22, 30, 45, 54, 60, 73, 90, 105, 110, 126, 150, 182]),
                 fill=round(r.uniform(0.3, 0.7), 3))
    elif gen == "sierpinski":
        p.update(jump=r.randrange(1, 6), type=r.choice(["carpet", "triangle"]))
    elif gen == "gradients":
        p.update(n=r.randrange(2, 8), speed=round(r.uniform(0.001, 0.01), 4),
                 type=r.choice(["linear", "radial", "circular", "spiral"]))
    elif gen == "plasma":
        p.update(a=round(r.uniform(4, 20), 2), b=round(r.uniform(4, 20), 2), u=round(r.uniform(-0.2, 0.2), 3),
                 v=round(r.uniform(-0.2, 0.2), 3), k=round(r.uniform(0.03, 0.2), 3))
    elif gen in ("testsrc2", "smptehdbars"):
        # a slowly moving picture-in-picture of another generator makes each such scene its own
        p.update(pip=r.choice(["life", "cellauto", "plasma", "mandelbrot"]), pipx=r.randrange(2, 8),
                 pipy=r.randrange(2, 6))
    return p


def base_graph(p, d):
    g = p["gen"]
    hold = f",fps={FPS}"  # a generator run at 1-3 pictures a second, each held
    if g == "mandelbrot":
        return (f"mandelbrot=s=160x120:rate={FPS}:maxiter=160:start_x={p['x']}:start_y={p['y']}:start_scale={p['s0']}"
                f":end_scale={p['s1']}:end_pts={d * FPS},scale={W}:{H}")
    if g in ("life", "cellauto", "sierpinski"):
        # one picture of the generator, held, under a slow zoom and pan (a still shot)
        if g == "life":
            gen = (f"life=s=32x24:rate={FPS}:seed={p['seed']}:ratio={p['ratio']}:mold={p['mold']}:life_color={p['c0']}"
                   f":death_color={p['c1']}:mold_color={p['c2']},scale={W}:{H}:flags=neighbor")
        elif g == "cellauto":
            gen = (f"cellauto=s=40x30:rate={FPS}:rule={p['rule']}:seed={p['seed']}:random_fill_ratio={p['fill']}"
                   f",scale={W}:{H}:flags=neighbor")
        else:
            gen = f"sierpinski=s={W}x{H}:rate={FPS}:seed={p['seed']}:jump={p['jump']}:type={p['type']}"
        k = 30 + p["seed"] % 30
        zr = 0.0002 + (p["seed"] % 1000) / 1000 * 0.0004
        px = ((p["seed"] >> 10) % 200 - 100) / 2000
        return (f"{gen},trim=start_frame={k}:end_frame={k + 1},loop=loop={d * FPS}:size=1:start=0,setpts=N/{FPS}/TB,"
                f"zoompan=z='1+{zr:.5f}*on':x='(iw-iw/zoom)/2+{px:.3f}*on':y='(ih-ih/zoom)/2':d=1:s={W}x{H}:fps={FPS}")
    if g == "gradients":
        return (f"gradients=s={W}x{H}:rate={FPS}:seed={p['seed']}:n={p['n']}:speed={p['speed']}:type={p['type']}"
                f":c0={p['c0']}:c1={p['c1']}:c2={p['c2']}")
    if g == "plasma":
        return (f"nullsrc=s=160x120:r={FPS},geq=lum='128+110*sin(X/{p['a']}+T*{p['u']})*cos(Y/{p['b']}+T*{p['v']})"
                f"*cos(T*{p['k']}+(X+Y)/{p['a'] + p['b']})':cb=128:cr=128,scale={W}:{H}")
    # testsrc2 / smptehdbars with a moving picture-in-picture
    pip = scene_params(random.Random(p["seed"]), p["pip"])
    k = 30 + p["seed"] % 300
    src = f"testsrc2=s={W}x{H}:rate={FPS}" if g == "testsrc2" else f"smptehdbars=s={W}x{H}:rate={FPS}"
    src += f",trim=start_frame={k}:end_frame={k + 1},loop=loop={d * FPS}:size=1:start=0,setpts=N/{FPS}/TB"
    return (f"{src}[bg];{base_graph(pip, d)},scale=160:120[pip];"
            f"[bg][pip]overlay=x='mod(t*{p['pipx']},{W})-80':y='abs(mod(t*{p['pipy']},{2 * (H - 120)})-{H - 120})'")


def scene_graph(p, d):
    g = base_graph(p, d) + ",format=yuv420p"
    if p["hue"]:
        g += f",hue=h={p['hue']}"
    if p["negate"]:
        g += ",negate"
    if p["rot"]:
        g += f",rotate=a={p['rot']}*t:fillcolor={p['c2']}"
    for vx, y, bw, bh, c in p["boxes"]:
        g += f",drawbox=x='mod(t*{vx},iw)':y={y}:w={bw}:h={bh}:color={c}:t=fill"
    return g


def make_source(r):
    n = r.choice([2, 3, 3, 4])
    cuts = sorted(r.sample(range(8, DUR - 7), n - 1))
    bounds = [0] + cuts + [DUR]
    return [dict(scene_params(r, r.choice(GENERATORS)), d=bounds[i + 1] - bounds[i]) for i in range(n)]


def similar_source(r, scenes):
    """The same scene list, its parameters changed: a near miss on purpose."""
    out = []
    for s in scenes:
        s = json.loads(json.dumps(s))
        s["seed"] += 1 + r.randrange(1000)
        s["hue"] = (s["hue"] + r.randrange(30, 330)) % 360
        if s["rot"]:
            s["rot"] = round(s["rot"] * r.uniform(0.5, 1.5), 3)
        if s["gen"] == "mandelbrot":
            s["x"] = round(s["x"] + s["s0"] * r.uniform(-0.05, 0.05), 9)
            s["s1"] = round(s["s1"] * r.uniform(0.7, 1.4), 5)
        if s["gen"] == "plasma":
            s["u"] = round(s["u"] + r.uniform(-0.2, 0.2), 3)
        if s["gen"] in ("testsrc2", "smptehdbars"):
            s["pipx"] = r.randrange(10, 80)
        s["boxes"] = [(vx + r.randrange(2, 8), y, bw, bh, c) for vx, y, bw, bh, c in s["boxes"]]
        out.append(s)
    return out


def source_cmd(scenes, out):
    cmd = ["ffmpeg", "-v", "error", "-y", "-threads", "1"]
    for s in scenes:
        cmd += ["-t", str(s["d"]), "-f", "lavfi", "-i", scene_graph(s, s["d"])]
    n = len(scenes)
    fc = "".join(f"[{i}:v]" for i in range(n)) + f"concat=n={n}:v=1:a=0,fps={FPS}[v]"
    cmd += ["-filter_complex", fc, "-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
            "-pix_fmt", "yuv420p", "-g", str(5 * FPS), out]
    return cmd


TRANSFORMS = ["scale", "crop", "clip", "watermark", "fps"]


def make_transform(r):
    k = r.choice([1, 1, 2, 2, 3])
    ts = sorted(r.sample(TRANSFORMS, k), key=TRANSFORMS.index)
    t = {"transforms": ts}
    t["codec"] = r.choice(["x264", "x264", "x264", "mpeg4", "vp8", "x264-mkv", "x264-mov"])
    t["crf"] = r.randrange(26, 38)
    if "scale" in ts:
        t["scale"] = r.choice(["480:360", "640:480", "160:120", "256:192", "400:240"])
    if "crop" in ts:
        f = r.uniform(0.94, 0.99)
        t["crop"] = f"iw*{f:.3f}:ih*{f:.3f}:iw*{(1 - f) * r.random():.3f}:ih*{(1 - f) * r.random():.3f}"
    if "clip" in ts:
        d = r.randrange(15, 31)
        t["clip"] = [round(r.uniform(0, DUR - d), 2), d]
    if "watermark" in ts:
        t["watermark"] = r.choice(["text", "logo"])
        t["wm_text"] = r.choice(["@channel", "SHARED VIA", "t.me/x", "mirror 2"])
    if "fps" in ts:
        t["fps"] = r.choice([10, 15, 24, 25])
    return t


def transform_cmd(src, t, out):
    cmd = ["ffmpeg", "-v", "error", "-y", "-threads", "1"]
    if "clip" in t:
        cmd += ["-ss", str(t["clip"][0]), "-t", str(t["clip"][1])]
    cmd += ["-i", src]
    vf = []
    if "crop" in t:
        vf.append(f"crop={t['crop']}")
    if "scale" in t:
        vf.append(f"scale={t['scale']}")
    if t.get("watermark") == "text":
        vf.append(f"drawtext=fontfile={FONT}:text='{t['wm_text']}':fontsize=h/20:fontcolor=white@0.6:x=w/30:y=h-2*th")
    elif t.get("watermark") == "logo":
        vf.append("drawbox=x=iw*0.85:y=ih*0.04:w=iw*0.11:h=ih*0.08:color=red@0.6:t=fill,"
                  "drawbox=x=iw*0.87:y=ih*0.055:w=iw*0.07:h=ih*0.05:color=white@0.6:t=fill")
    if "fps" in t:
        vf.append(f"fps={t['fps']}")
    vf.append("scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p")
    cmd += ["-vf", ",".join(vf)]
    c = t["codec"]
    if c == "mpeg4":
        cmd += ["-c:v", "mpeg4", "-q:v", str(2 + t["crf"] % 8)]
    elif c == "vp8":
        cmd += ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k"]
    else:
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(t["crf"])]
    return cmd + [out]


def ext_of(t):
    return {"mpeg4": ".avi", "vp8": ".webm", "x264-mkv": ".mkv", "x264-mov": ".mov"}.get(t["codec"], ".mp4")


def run(cmd):
    subprocess.run(cmd, check=True)


def hash_video(args):
    path, out = args
    import vpdq
    feats = vpdq.computeHash(path, seconds_per_hash=1, thread_count=1)
    rows = [[f.frame_number, f.quality, f.hex, f.timestamp] for f in feats]
    tmp = out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(rows, fh)
    os.replace(tmp, out)
    return len(rows)


# ---------------------------------------------------------------- synthetic known videos
def hex_of(words):
    return "".join("%016x" % int(w) for w in words)


def words_of(h):
    return [int(h[i:i + 16], 16) for i in range(0, 64, 16)]


def flip(rng, words, k):
    bits = rng.choice(256, size=k, replace=False) if k else []
    w = list(words)
    for b in bits:
        w[b // 64] ^= 1 << (int(b) % 64)
    return w


def rand_words(rng):
    return [int(x) for x in rng.integers(0, 1 << 64, size=4, dtype=np.uint64)]


def synth_video(rng, mode):
    """60 frames [(frame, quality, hex, ts)]: a random walk with scene cuts."""
    words = rand_words(rng)
    rows = []
    for i in range(FRAMES):
        if i:
            if rng.random() < 0.06:
                words = rand_words(rng)
            else:
                words = flip(rng, words, int(rng.integers(0, 9)))
        if mode == "none":
            q = int(rng.integers(0, 50))
        elif mode == "low":
            q = int(rng.integers(0, 50)) if rng.random() < 0.9 else int(rng.integers(50, 101))
        else:
            q = int(rng.integers(50, 101)) if rng.random() < 0.85 else int(rng.integers(0, 50))
        rows.append([i * FPS, q, hex_of(words), float(i)])
    return rows


def derived_video(rng, src_rows):
    """A near copy of a real known video: a run of its frames, each moved 0-45 bits, some repeated
    with a low-quality first copy (the filter/dedupe order then matters)."""
    n = len(src_rows)
    a = int(rng.integers(0, max(1, n // 2)))
    b = int(rng.integers(min(n, a + 10), n + 1))
    spread = int(rng.integers(5, 46))
    rows = []
    for i, (_, q, h, _) in enumerate(src_rows[a:b]):
        w = flip(rng, words_of(h), int(rng.integers(0, spread + 1)))
        hx = hex_of(w)
        if rng.random() < 0.1:
            rows.append([0, int(rng.integers(0, 50)), hx, 0.0])
        rows.append([0, q if rng.random() < 0.9 else int(rng.integers(0, 50)), hx, 0.0])
    while len(rows) < FRAMES:  # pad with unrelated frames to 60
        rows.append([0, int(rng.integers(50, 101)), hex_of(flip(rng, words_of(rows[-1][2]), 128)), 0.0])
    rows = rows[:FRAMES]
    return [[i * FPS, q, h, float(i)] for i, (_, q, h, _) in enumerate(rows)]


# ---------------------------------------------------------------- lists
def te_signal_str(rows):
    from threatexchange.extensions.vpdq.vpdq_util import VpdqCompactFeature, vpdq_to_json
    return vpdq_to_json([VpdqCompactFeature(h, q, ts) for _, q, h, ts in rows])


def write_lists(named_rows, csv_path, txt_dir):
    os.makedirs(txt_dir, exist_ok=True)
    with open(csv_path, "w", newline="") as fh:
        w = csv.DictWriter(fh, ["signal_type", "signal_str", "collab", "category", "tags"])
        w.writeheader()
        for name, rows in named_rows:
            w.writerow({"signal_type": "vpdq", "signal_str": te_signal_str(rows), "collab": "vigie-bench",
                        "category": "INVESTIGATION_SEED", "tags": name})
            with open(os.path.join(txt_dir, name + ".txt"), "w") as t:
                for fr, q, h, ts in rows:
                    t.write(f"{fr},{q},{h},{ts:.3f}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("work")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args()
    work = os.path.abspath(a.work)
    manifest_path = os.path.join(work, "corpus.json")
    if os.path.exists(manifest_path):
        m = json.load(open(manifest_path))
        if m.get("version") == VERSION and m.get("seed") == a.seed and m.get("complete"):
            print(f"corpus: reusing {work} (seed {a.seed})", file=sys.stderr)
            return 0
    kdir, qdir, hdir = (os.path.join(work, d) for d in ("videos/known", "videos/queries", "hashes"))
    for d in (kdir, qdir, hdir):
        os.makedirs(d, exist_ok=True)
    r = random.Random(a.seed)
    sources = [make_source(r) for _ in range(N_SOURCES)]
    queries = []
    for i in range(N_SOURCES):
        t = make_transform(r)
        queries.append({"name": f"q{i:03d}", "kind": "copy", "source": f"known-{i:05d}", **t, "ext": ext_of(t)})
    for j in range(N_UNRELATED_NEW):
        queries.append({"name": f"q{N_SOURCES + j:03d}", "kind": "unrelated", "scenes": make_source(r), "ext": ".mp4"})
    for j in range(N_UNRELATED_SIMILAR):
        base = r.randrange(N_SOURCES)
        queries.append({"name": f"q{N_SOURCES + N_UNRELATED_NEW + j:03d}", "kind": "similar", "like": f"known-{base:05d}",
                        "scenes": similar_source(r, sources[base]), "ext": ".mp4"})

    os.makedirs(os.path.join(work, "cmd"), exist_ok=True)

    def cmdfile(path):
        return os.path.join(work, "cmd", os.path.basename(path) + ".sha256")

    def todo(path, cmd):
        """A video is made again when its ffmpeg command changed (its digest is kept beside it)."""
        digest = hashlib.sha256(json.dumps(cmd[:-1]).encode()).hexdigest()
        try:
            if open(cmdfile(path)).read() == digest and os.path.exists(path):
                return None
        except OSError:
            pass
        return (path, cmd, digest)

    jobs = []
    for i, s in enumerate(sources):
        p = os.path.join(kdir, f"known-{i:05d}.mp4")
        jobs.append(todo(p, source_cmd(s, p + ".part.mp4")))
    for q in queries:
        if q["kind"] != "copy":
            p = os.path.join(qdir, q["name"] + q["ext"])
            jobs.append(todo(p, source_cmd(q["scenes"], p + ".part.mp4")))
    jobs = [j for j in jobs if j]

    def do(job):
        path, cmd, digest = job
        run(cmd)
        os.replace(cmd[-1], path)
        with open(cmdfile(path), "w") as fh:
            fh.write(digest)

    print(f"corpus: making {len(jobs)} source videos with ffmpeg ({a.jobs} jobs)", file=sys.stderr)
    with cf.ThreadPoolExecutor(a.jobs) as ex:
        list(ex.map(do, jobs))
    jobs = []
    for q in queries:
        if q["kind"] == "copy":
            p = os.path.join(qdir, q["name"] + q["ext"])
            tmp = os.path.join(qdir, q["name"] + ".part" + q["ext"])
            jobs.append(todo(p, transform_cmd(os.path.join(kdir, q["source"] + ".mp4"), q, tmp)))
    jobs = [j for j in jobs if j]
    print(f"corpus: making {len(jobs)} transformed copies", file=sys.stderr)
    with cf.ThreadPoolExecutor(a.jobs) as ex:
        list(ex.map(do, jobs))

    vids = [(os.path.join(kdir, f"known-{i:05d}.mp4"), f"known-{i:05d}") for i in range(N_SOURCES)]
    vids += [(os.path.join(qdir, q["name"] + q["ext"]), q["name"]) for q in queries]
    def fresh(p, h):  # a hash file newer than its video
        return os.path.exists(h) and os.path.getmtime(h) >= os.path.getmtime(p)

    hjobs = [(p, os.path.join(hdir, n + ".json")) for p, n in vids if not fresh(p, os.path.join(hdir, n + ".json"))]
    print(f"corpus: hashing {len(hjobs)} videos with the reference (vpdq, 1 hash/s)", file=sys.stderr)
    with cf.ProcessPoolExecutor(a.jobs) as ex:
        list(ex.map(hash_video, hjobs))
    real = {n: json.load(open(os.path.join(hdir, n + ".json"))) for _, n in vids}

    rng = np.random.default_rng(a.seed)
    known = [(f"known-{i:05d}", real[f"known-{i:05d}"]) for i in range(N_SOURCES)]
    n_synth = N_KNOWN - N_SOURCES
    derived_at = set(rng.choice(np.arange(N_SOURCES, N_KNOWN), size=N_DERIVED, replace=False).tolist())
    none_at = set(rng.choice(sorted(set(range(N_SOURCES, N_KNOWN)) - derived_at), size=10, replace=False).tolist())
    modes = {}
    for k in range(N_SOURCES, N_KNOWN):
        name = f"known-{k:05d}"
        if k in derived_at:
            src = int(rng.integers(0, N_SOURCES))
            known.append((name, derived_video(rng, real[f"known-{src:05d}"])))
            modes[name] = f"derived:known-{src:05d}"
        else:
            mode = "none" if k in none_at else ("low" if rng.random() < 0.01 else "normal")
            known.append((name, synth_video(rng, mode)))
            if mode != "normal":
                modes[name] = mode
    lists = os.path.join(work, "lists")
    os.makedirs(lists, exist_ok=True)
    print(f"corpus: writing {len(known)} known videos ({n_synth} synthetic) and {len(queries)} queries as lists",
          file=sys.stderr)
    write_lists(known, os.path.join(lists, "known.csv"), os.path.join(lists, "known-txt"))
    write_lists([(q["name"], real[q["name"]]) for q in queries], os.path.join(lists, "queries.csv"),
                os.path.join(lists, "queries-txt"))
    frames = sum(len(rows) for _, rows in known)
    digest = hashlib.sha256(open(os.path.join(lists, "known.csv"), "rb").read()).hexdigest()
    manifest = {"version": VERSION, "seed": a.seed, "complete": True, "known_videos": len(known),
                "known_frames": frames, "real_sources": N_SOURCES, "synthetic": n_synth, "derived": N_DERIVED,
                "special_known": modes, "queries": queries, "known_csv_sha256": digest,
                "video": {"w": W, "h": H, "fps": FPS, "duration_s": DUR},
                "sources": {f"known-{i:05d}": s for i, s in enumerate(sources)}}
    with open(manifest_path, "w") as fh:
        json.dump(manifest, fh, indent=1)
    print(f"corpus: {len(known)} known videos, {frames} frames; {len(queries)} queries; known.csv sha256 {digest[:16]}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
