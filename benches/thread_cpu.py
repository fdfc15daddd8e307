#!/usr/bin/env python3
# Runs a command and prints its wall time and the CPU seconds of each of its threads that used
# any (polling /proc/PID/task/*/stat every 20 ms; the last sample), busiest first. On a shared,
# loaded machine the split of CPU between worker threads shows how well work is spread when
# wall time cannot: with W workers busy the whole run, wall ~ busiest thread on idle cores.
import os, subprocess, sys, time
tick = os.sysconf("SC_CLK_TCK")
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
last = {}
while p.poll() is None:
    try:
        for t in os.listdir(f"/proc/{p.pid}/task"):
            try:
                s = open(f"/proc/{p.pid}/task/{t}/stat").read()
                f = s.rsplit(")", 1)[1].split()
                name = s.split("(", 1)[1].rsplit(")", 1)[0]
                last[t] = (name, (int(f[11]) + int(f[12])) / tick)
            except OSError:
                pass
    except OSError:
        pass
    time.sleep(0.02)
wall = time.monotonic() - t0
th = sorted((v for v in last.values() if v[1] > 0.05), key=lambda v: -v[1])
print(f"wall {wall:.2f} s; threads: " + ", ".join(f"{n} {c:.2f}" for n, c in th))
