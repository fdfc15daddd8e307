#!/usr/bin/env python3
"""Hostile videos must not kill a scan (issue 17, point 6): mutates sample videos and runs the
release binary on them, counting exit codes, crashes (deaths by a signal, aborts), hangs (a
timeout) and whether every input is accounted for (one record each: hashed, or a failed item).

Seeds: fixtures/video/*.mp4, the reference's sample videos (../shared/vpdq/videos, cut to
their first second with `ffmpeg -c copy` so that a run decodes little), and, when ffmpeg is
installed, one-second clips made here in other containers (Matroska/WebM, AVI, FLV, MPEG-TS,
MOV, 3GP). Mutations (deterministic from --seed): bit flips, byte runs, truncation, splices of
one seed's bytes into another, and corruption of size fields (MP4/MOV boxes, RIFF chunks,
EBML element sizes, FLV tag sizes, TS packet headers); some stack two or three of them.

Files are hashed in batches (`vigie hash --algo md5,vpdq -j 1 FILES...`, one process per
batch, --jobs batches at a time) to amortise start-up; a batch that died or hung is re-run one
file at a time to name the culprit. A share of batches runs `vigie scan --index` instead.

Usage: scripts/video_mutate.py [--runs N] [--batch B] [--jobs J] [--timeout S] [--seed X]
                               [--vigie PATH] [--work DIR] [--keep]
Prints a summary (also as JSON with --json FILE); exit 1 if any crash, hang or lost input.
"""
import argparse
import collections
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def have(cmd):
    return shutil.which(cmd) is not None


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True,
                   stdin=subprocess.DEVNULL)


def make_seeds(dst: Path, shared: Path):
    """The seed videos: fixtures, the reference's samples (first second), other containers."""
    seeds = []
    for f in sorted((ROOT / "fixtures" / "video").glob("*.mp4")):
        if f.stat().st_size < 200_000:
            seeds.append(f)
        elif have("ffmpeg"):
            out = dst / f"fx-{f.stem}-1s.mp4"
            ffmpeg("-i", str(f), "-t", "1", "-c", "copy", str(out))
            seeds.append(out)
    if shared.is_dir() and have("ffmpeg"):
        for i, f in enumerate(sorted(shared.glob("*.mp4"))):
            out = dst / f"ref-{f.stem}-1s.mp4"
            # Half with the `moov` box first (faststart), half after the media data.
            extra = ["-movflags", "+faststart"] if i % 2 else []
            ffmpeg("-i", str(f), "-t", "1", "-c", "copy", *extra, str(out))
            seeds.append(out)
    if have("ffmpeg"):
        src = ["-f", "lavfi", "-i", "testsrc2=size=176x144:rate=15:duration=1"]
        for name, args in [
            ("x264.mkv", ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]),
            ("vp8.webm", ["-c:v", "libvpx", "-b:v", "200k"]),
            ("vp9.webm", ["-c:v", "libvpx-vp9", "-b:v", "200k", "-deadline", "realtime"]),
            ("mpeg4.avi", ["-c:v", "mpeg4"]),
            ("mjpeg.avi", ["-c:v", "mjpeg"]),
            ("flv1.flv", ["-c:v", "flv"]),
            ("x264.flv", ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]),
            ("mpeg2.ts", ["-c:v", "mpeg2video"]),
            ("x264.ts", ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]),
            ("mjpeg.mov", ["-c:v", "mjpeg"]),
            ("x264.mov", ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p"]),
            ("h263.3gp", ["-c:v", "h263"]),
        ]:
            out = dst / f"gen-{name}"
            try:
                ffmpeg(*src, *args, str(out))
                seeds.append(out)
            except subprocess.CalledProcessError:
                print(f"(no {name}: this ffmpeg cannot make it)", file=sys.stderr)
    return seeds


# ---- size fields -------------------------------------------------------------------------

MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta",
                  b"mvex", b"moof", b"traf", b"meta", b"ilst", b"stsd"}


def mp4_boxes(b: bytes):
    """(offset of the size field, size, type) of every box, nested ones included."""
    out = []

    def walk(start, end, depth):
        pos = start
        while pos + 8 <= end and depth < 8:
            size = struct.unpack(">I", b[pos:pos + 4])[0]
            typ = b[pos + 4:pos + 8]
            out.append((pos, size, typ))
            if size < 8 or pos + size > end:
                break
            if typ in MP4_CONTAINERS:
                skip = 8 + (8 if typ == b"stsd" else 0) + (4 if typ == b"meta" else 0)
                walk(pos + skip, pos + size, depth + 1)
            pos += size

    walk(0, len(b), 0)
    return out


def size_fields(b: bytes):
    """Offsets of 4-byte size/length fields the container's parser trusts."""
    if b[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide"):
        return [(o, 4, ">I") for o, _, _ in mp4_boxes(b)]
    if b[:4] == b"RIFF":
        out, pos = [(4, 4, "<I")], 12
        while pos + 8 <= len(b) and len(out) < 400:
            out.append((pos + 4, 4, "<I"))
            fourcc = b[pos:pos + 4]
            size = struct.unpack("<I", b[pos + 4:pos + 8])[0]
            pos = pos + 12 if fourcc == b"LIST" else pos + 8 + size + (size & 1)
        return out
    if b[:3] == b"FLV":
        out, pos = [(5, 4, ">I")], 13
        while pos + 11 <= len(b) and len(out) < 400:
            out.append((pos + 1, 3, ">I"))  # DataSize, 24 bits
            size = int.from_bytes(b[pos + 1:pos + 4], "big")
            pos += 11 + size + 4
        return out
    if b[:4] == b"\x1a\x45\xdf\xa3":
        # EBML: the byte after a known element ID starts its size (a variable-length int).
        out = []
        for ident in (b"\x18\x53\x80\x67", b"\x1f\x43\xb6\x75", b"\x16\x54\xae\x6b",
                      b"\xae", b"\xa3", b"\xa0", b"\xa1", b"\x63\xa2", b"\xe0"):
            start = 0
            while len(out) < 400:
                i = b.find(ident, start)
                if i < 0:
                    break
                out.append((i + len(ident), 1, "B"))
                start = i + 1
        return out
    if b[:1] == b"\x47":
        # TS: the 3 header bytes after each sync byte (PID, flags, continuity), and the
        # adaptation field length.
        return [(o + 1, 3, "ts") for o in range(0, len(b) - 188, 188)][:2000]
    return []


def corrupt_size(b: bytearray, rng: random.Random):
    fields = size_fields(bytes(b))
    if not fields:
        return "size:none"
    off, width, fmt = rng.choice(fields)
    if off + width > len(b):
        return "size:none"
    old = int.from_bytes(b[off:off + width], "big" if fmt != "<I" else "little")
    top = (1 << (8 * width)) - 1
    new = rng.choice([0, 1, 7, 8, top, top >> 1, old + 1, max(0, old - 1), old * 2,
                      old + rng.randint(1, 1 << 16), rng.randint(0, top)]) & top
    b[off:off + width] = new.to_bytes(width, "big" if fmt != "<I" else "little")
    return f"size@{off}"


# ---- mutations ---------------------------------------------------------------------------

def mutate(data: bytes, other: bytes, rng: random.Random):
    b = bytearray(data)
    steps = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        kind = rng.choice(["flip", "flip", "run", "truncate", "splice", "size", "size"])
        if len(b) < 16:
            break
        # Mostly past the first 12 bytes, so that the file still sniffs as a video.
        lo = 12 if rng.random() < 0.9 else 0
        if kind == "flip":
            for _ in range(rng.choice([1, 2, 4, 8, 32])):
                i = rng.randrange(lo, len(b))
                b[i] ^= 1 << rng.randrange(8)
            steps.append("flip")
        elif kind == "run":
            i = rng.randrange(lo, len(b))
            n = min(rng.choice([1, 4, 16, 64, 256, 4096]), len(b) - i)
            v = rng.choice(["zero", "ff", "rand", "byte"])
            if v == "rand":
                b[i:i + n] = bytes(rng.randrange(256) for _ in range(n))
            else:
                c = {"zero": 0, "ff": 255, "byte": rng.randrange(256)}[v]
                b[i:i + n] = bytes([c]) * n
            steps.append(f"run:{v}")
        elif kind == "truncate":
            del b[rng.randrange(lo, len(b)):]
            steps.append("truncate")
        elif kind == "splice":
            n = rng.randint(1, min(len(other), 65536))
            j = rng.randrange(0, len(other) - n + 1)
            i = rng.randrange(lo, len(b))
            if rng.random() < 0.5:
                b[i:i + n] = other[j:j + n]
            else:
                b[i:i] = other[j:j + n]
            steps.append("splice")
        else:
            steps.append(corrupt_size(b, rng))
    return bytes(b), "+".join(s.split("@")[0] for s in steps) or "none"


# ---- running -----------------------------------------------------------------------------

def run_vigie(cmd, timeout):
    """(returncode or None on a hang, stdout, seconds)."""
    t = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, out, time.monotonic() - t
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return None, b"", time.monotonic() - t


def records(out: bytes):
    recs = []
    for line in out.splitlines():
        try:
            recs.append(json.loads(line))
        except ValueError:
            pass
    return recs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--scan-share", type=float, default=0.1)
    ap.add_argument("--vigie", default=str(ROOT / "target" / "release" / "vigie"))
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "vpdq" / "videos"))
    ap.add_argument("--work")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--extra", default="", help="more vigie hash arguments")
    a = ap.parse_args()
    shared = Path(a.shared)
    if not shared.is_dir():
        shared = Path("/work/shared/vpdq/videos")
    work = Path(a.work or tempfile.mkdtemp(prefix="vigie-video-mutate-"))
    (work / "seeds").mkdir(parents=True, exist_ok=True)
    (work / "mut").mkdir(exist_ok=True)
    seeds = make_seeds(work / "seeds", shared)
    seed_bytes = [p.read_bytes() for p in seeds]
    print(f"{len(seeds)} seeds in {work}/seeds", file=sys.stderr)
    vigie = a.vigie
    # An index for `vigie scan`: the seeds' MD5s (a list in md5sum format).
    lst = work / "seeds.md5"
    lst.write_text("".join(
        f"{__import__('hashlib').md5(b).hexdigest()}  {p.name}\n" for p, b in zip(seeds, seed_bytes)))
    index = work / "seeds.vigie"
    subprocess.run([vigie, "index", "build", "-q", "-o", str(index), str(lst)], check=True)

    rng = random.Random(a.seed)
    files, kinds = [], {}
    for i in range(a.runs):
        k = rng.randrange(len(seeds))
        data, kind = mutate(seed_bytes[k], seed_bytes[rng.randrange(len(seeds))], rng)
        ext = seeds[k].suffix
        p = work / "mut" / f"m{i:05d}-{seeds[k].stem[:24]}{ext}"
        p.write_bytes(data)
        files.append(p)
        kinds[str(p)] = kind
    batches = [files[i:i + a.batch] for i in range(0, len(files), a.batch)]
    brng = random.Random(a.seed + 1)
    modes = ["scan" if brng.random() < a.scan_share else "hash" for _ in batches]

    def command(mode, fs):
        if mode == "scan":
            return [vigie, "scan", "-q", "-j", "1", "--index", str(index), *map(str, fs)]
        return [vigie, "hash", "-q", "-j", "1", "--algo", "md5,vpdq", *a.extra.split(),
                *map(str, fs)]

    tally = collections.Counter()
    exits = collections.Counter()
    culprits = []
    started = time.monotonic()
    busy = [0.0, 0.0]

    def one_batch(arg):
        mode, fs = arg
        rc, out, secs = run_vigie(command(mode, fs), a.timeout)
        return mode, fs, rc, out, secs

    with ThreadPoolExecutor(a.jobs) as ex:
        for n, (mode, fs, rc, out, secs) in enumerate(ex.map(one_batch, zip(modes, batches))):
            busy[0] += secs
            busy[1] = max(busy[1], secs)
            exits[f"{mode}:{'hang' if rc is None else rc}"] += 1
            if rc is None or rc < 0 or rc not in (0, 1, 2):
                # Died or hung: each file alone, to name it.
                for f in fs:
                    r1, o1, _ = run_vigie(command(mode, [f]), a.timeout)
                    if r1 is None or r1 < 0 or r1 not in (0, 1, 2):
                        culprits.append({"file": str(f), "mutation": kinds[str(f)],
                                         "mode": mode,
                                         "result": "hang" if r1 is None else f"exit {r1}"})
                tally["files in a failed batch"] += len(fs)
                continue
            recs = records(out)
            if mode == "hash":
                seen = collections.Counter(r.get("path") for r in recs)
                for f in fs:
                    c = seen.get(str(f), 0)
                    if c != 1:
                        tally["lost or duplicated (hash)"] += 1
                        culprits.append({"file": str(f), "mutation": kinds[str(f)],
                                         "mode": mode, "result": f"{c} records"})
                for r in recs:
                    if "vpdq" in r:
                        tally["hash: vpdq computed"] += 1
                    elif r.get("error_kind") == "video":
                        tally["hash: failed as video"] += 1
                    elif r.get("error_kind"):
                        tally[f"hash: failed as {r['error_kind']}"] += 1
                    else:
                        tally["hash: exact only (no longer sniffs as a video)"] += 1
                    if "md5" not in r:
                        tally["hash: record without md5"] += 1
            else:
                tally["scan: files"] += len(fs)
                tally["scan: records (hits and failures)"] += len(recs)
            if n % 20 == 0:
                print(f"batch {n + 1}/{len(batches)}: {dict(exits)} "
                      f"{time.monotonic() - started:.0f} s", file=sys.stderr)
    wall = time.monotonic() - started
    crashes = [c for c in culprits if c["result"].startswith("exit")]
    hangs = [c for c in culprits if c["result"] == "hang"]
    lost = [c for c in culprits if c["result"].endswith("records")]
    mkinds = collections.Counter(k.split("+")[0] for k in kinds.values())
    summary = {
        "runs": len(files), "batches": len(batches), "seeds": [p.name for p in seeds],
        "exit_codes": dict(exits), "items": dict(tally), "mutations": dict(mkinds),
        "crashes": crashes, "hangs": hangs, "lost": lost,
        "wall_s": round(wall, 1), "batch_s_total": round(busy[0], 1),
        "batch_s_max": round(busy[1], 1), "work": str(work),
    }
    print(json.dumps(summary, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(summary, indent=1))
    if not a.keep and not culprits:
        shutil.rmtree(work / "mut", ignore_errors=True)
    return 1 if culprits else 0


if __name__ == "__main__":
    sys.exit(main())
