#!/usr/bin/env python3
"""The live vPDQ reference: PyPI `vpdq` (0.2.5, Meta's C++ core built against the system
FFmpeg libraries) hashes each video given, and prints one line per hashed frame:

    NAME,FRAME_NUMBER,QUALITY,PDQ_HEX,TIMESTAMP

NAME is the file's base name, TIMESTAMP the reference's float32 timestamp printed exactly
(Python's repr of it as a double), so that a comparison can be bit for bit. This is what
vigie's tests compare against (fixtures/video/*.vpdq*.csv) and what benches/vpdq_hash.sh runs.

Build the reference (see README "Video (vPDQ)"): a virtualenv under target/, then
    pip install cython scikit-build-core numpy setuptools wheel
    pip install --no-build-isolation vpdq==0.2.5

Usage: vpdq_reference.py [--seconds-per-hash F] [--threads N] [--cpu] VIDEO...
--cpu prints the process CPU time spent hashing on stderr.
"""
import argparse
import os
import resource
import sys

import vpdq


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("videos", nargs="+")
    ap.add_argument("--seconds-per-hash", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cpu", action="store_true")
    a = ap.parse_args()
    out = sys.stdout
    failed = 0
    t0 = resource.getrusage(resource.RUSAGE_SELF)
    for path in a.videos:
        name = os.path.basename(path)
        try:
            feats = vpdq.computeHash(path, seconds_per_hash=a.seconds_per_hash, thread_count=a.threads)
        except Exception as e:  # the reference raises a bare Exception on a decode failure
            print(f"{name}: {e}", file=sys.stderr)
            failed += 1
            continue
        for f in feats:
            out.write(f"{name},{f.frame_number},{f.quality},{f.hex},{f.timestamp!r}\n")
    t1 = resource.getrusage(resource.RUSAGE_SELF)
    if a.cpu:
        cpu = (t1.ru_utime - t0.ru_utime) + (t1.ru_stime - t0.ru_stime)
        print(f"cpu_s {cpu:.3f}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
