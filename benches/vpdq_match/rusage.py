#!/usr/bin/env python3
"""Runs a command and writes "user sys wall maxrss_kib" of it to FILE, like GNU time's
`-f "%U %S %e %M" -o FILE`, but in microseconds: GNU time prints hundredths, too coarse for a
process of a few tens of milliseconds. Exits with the command's status.

  rusage.py FILE CMD [ARG...]
"""
import os
import resource
import subprocess
import sys
import time


def main():
    out, cmd = sys.argv[1], sys.argv[2:]
    # The interpreter's start may have run children of its own: count the command's alone.
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    status = subprocess.call(cmd)
    wall = time.monotonic() - t0
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    user, system = r.ru_utime - r0.ru_utime, r.ru_stime - r0.ru_stime
    with open(out, "w") as fh:
        # ru_maxrss of the children is the largest of any: the command's, unless an earlier
        # child was larger.
        fh.write(f"{user:.6f} {system:.6f} {wall:.6f} {r.ru_maxrss}\n")
    sys.exit(status)


if __name__ == "__main__":
    main()
