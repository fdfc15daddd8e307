#!/usr/bin/env python3
"""Report of benches/images_e2e.sh: table of medians and ratios, hash agreement, the fast
decode's PDQ distance distribution, the matching check, and a plot of images/s per core.

  images_report.py WORK MANIFEST RESULTS_STEM NPROC RUNS VIGIE_DESC PEERS_DESC \
      CASE="wall1 wall2 .../cpu1 cpu2 ..." ...

Two rates per case: images/s per core from the median wall time (divided by the cores used),
and images per CPU-second from the median user + system time (what one core does when it is
not shared: the figure to trust on a loaded machine, where wall times stretch).

Writes RESULTS_STEM.md (printed too), RESULTS_STEM.json and RESULTS_STEM.png (matplotlib).
"""
import collections
import json
import os
import statistics
import sys

THRESHOLD = 31
FAST_P95_BOUND = 6
TARGET_PER_CORE = 150.0

work, manifest, stem, nproc, runs, vdesc, peers = sys.argv[1:8]
nproc, runs = int(nproc), int(runs)
times, cpus = {}, {}
for a in sys.argv[8:]:
    c, v = a.split("=", 1)
    wall, cpu = v.split("/")
    times[c] = [float(x) for x in wall.split()]
    cpus[c] = [float(x) for x in cpu.split()]
man = json.load(open(manifest))

# case -> (label, what it computes, cores used)
CASES = {
    "vx1": ("vigie exact", "PDQ, full decode", 1),
    "vf1": ("vigie fast", "PDQ, DCT-scaled decode", 1),
    "vxN": ("vigie exact", "PDQ, full decode", nproc),
    "vfN": ("vigie fast", "PDQ, DCT-scaled decode", nproc),
    "vsha": ("vigie", "sha256", 1),
    "py": ("Pillow + pdqhash", "PDQ, full decode", 1),
    "pyd": ("Pillow draft + pdqhash", "PDQ, DCT-scaled decode", 1),
    "ih": ("Pillow + ImageHash", "pHash", 1),
    "hd": ("hashdeep -j1", "md5+sha256", 1),
    "sha": ("sha256sum", "sha256", 1),
}


def hamming(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def load_vigie(name):
    out = {}
    for line in open(os.path.join(work, name)):
        rec = json.loads(line)
        out[os.path.basename(rec["path"])] = rec
    return out


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = max(0, min(len(xs) - 1, int(round(p / 100 * len(xs) + 0.5)) - 1))
    return xs[k]


py = json.load(open(os.path.join(work, "py-1.json")))
n_items, mp = py["items"], py["megapixels"]
med = {c: statistics.median(v) for c, v in times.items()}
med_cpu = {c: statistics.median(v) for c, v in cpus.items()}
rate = {c: n_items / med[c] / CASES[c][2] for c in times}   # images/s per core (wall)
crate = {c: n_items / med_cpu[c] for c in cpus}            # images per CPU-second
base, cbase = rate["py"], crate["py"]

lines = []
say = lines.append
say(f"Corpus: {n_items} photo-like JPEGs (quality 75-95, 4:2:0), 320x240 to 4000x3000, "
    f"{mp:.0f} MP (mean {mp / n_items:.2f} MP), {man['bytes'] / 1e6:.0f} MB; {nproc} cores, "
    f"page cache warm, {runs} rounds interleaved and rotated, medians.")
say("")
say(f"- vigie: `{vdesc}`; wall time of the whole process (`hash -q --algo pdq [--fast-decode] "
    f"--threads T`)")
say(f"- peers: {peers}; Python cases time only their loop (no start-up or imports)")
say("")
say("| tool | computes | cores | median wall s | images/s | images/s/core | × Pillow + pdqhash | median CPU s | images/CPU-s | × Pillow + pdqhash (CPU) | rounds wall (s) |")
say("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for c in CASES:
    if c not in times:
        continue
    label, what, cores = CASES[c]
    t = med[c]
    say(f"| {label} | {what} | {cores} | {t:.2f} | {n_items / t:.1f} | {rate[c]:.1f} | "
        f"{rate[c] / base:.2f} | {med_cpu[c]:.2f} | {crate[c]:.1f} | {crate[c] / cbase:.2f} | "
        f"{' '.join(f'{x:.2f}' for x in times[c])} |")
say("")
for what, r in (("wall time, 1 thread", rate), ("CPU time", crate)):
    ok = r["vf1"] >= TARGET_PER_CORE
    say(f"**Target** (fast path >= {TARGET_PER_CORE:.0f} images/s per core), {what}: "
        f"**{'PASS' if ok else 'MISS'}** -- vigie fast {r['vf1']:.1f}; "
        f"{r['vf1'] / r['pyd']:.2f}x Pillow draft + pdqhash, {r['vf1'] / r['py']:.2f}x Pillow + "
        f"pdqhash full, {r['vf1'] / r['vx1']:.2f}x vigie exact.")
say("")
say(f"All cores: vigie fast {rate['vfN'] * nproc:.1f} images/s on {nproc} threads = "
    f"{rate['vfN'] * nproc / rate['vf1']:.2f}x its 1-thread wall rate; CPU per image "
    f"{med_cpu['vfN'] / med_cpu['vf1']:.2f}x the 1-thread run's.")
say("")

# Hash agreement.
vx, vf = load_vigie("vx1-1.jsonl"), load_vigie("vf1-1.jsonl")
pyd = json.load(open(os.path.join(work, "pyd-1.json")))["hashes"]
agree = {}
for label, got, ref in [("vigie exact vs pdqhash full", vx, py["hashes"]),
                        ("vigie fast vs pdqhash draft", vf, pyd)]:
    same = sum(1 for k, (h, q) in ref.items()
               if got.get(k, {}).get("pdq") == h and got[k].get("pdq_quality") == q)
    agree[label] = [same, len(ref)]
say("**PDQ agreement:** " + "; ".join(f"{k}: {a}/{b} bit-exact (hash and quality)"
                                       for k, (a, b) in agree.items()) + ".")
vxn, vfn = load_vigie("vxN-1.jsonl"), load_vigie("vfN-1.jsonl")
same_threads = sum(1 for k in vx if vx[k].get("pdq") == vxn.get(k, {}).get("pdq")) + \
    sum(1 for k in vf if vf[k].get("pdq") == vfn.get(k, {}).get("pdq"))
say(f"vigie --threads 1 vs --threads {nproc}: {same_threads}/{len(vx) + len(vf)} records with "
    f"the same pdq.")
say("")

# Fast vs exact distance.
dist_all = {k: hamming(vx[k]["pdq"], vf[k]["pdq"]) for k in vx if k in vf}
# Reduced: both sides >= 1024, where the fast path (Pillow's draft rule) decodes at 1/2 or less.
sizes = py["sizes"]
reduced = [k for k in dist_all if min(sizes[k]) >= 1024]
dr = [dist_all[k] for k in reduced]
da = list(dist_all.values())
hist = collections.Counter(dr)
p95 = pct(dr, 95)
say(f"**Fast vs exact PDQ distance** ({len(dr)} of {len(da)} images decoded at reduced scale; "
    f"the others are identical): median {statistics.median(dr) if dr else 0}, "
    f"95th percentile {p95}, max {max(dr) if dr else 0} bits; all images: "
    f"95th percentile {pct(da, 95)}. Histogram (bits: images): "
    + ", ".join(f"{d}: {n}" for d, n in sorted(hist.items())) + ".")
say(f"Shipping rule (95th percentile <= {FAST_P95_BOUND} bits on reduced images): "
    f"**{'PASS' if p95 <= FAST_P95_BOUND else 'FAIL'}**.")
say("")

# Matching check on the transformed copies.
by_hash = collections.defaultdict(set)
for k, r in vx.items():
    by_hash[r["pdq"]].add(k.rsplit(".", 1)[0])
found = {}
for mode in ("exact", "fast"):
    m = collections.defaultdict(set)
    for line in open(os.path.join(work, f"scan-{mode}.jsonl")):
        h = json.loads(line)
        if h.get("algorithm") != "pdq":
            continue
        m[os.path.basename(h["path"])] |= by_hash.get(h["matched_hash"], set())
    found[mode] = m
copies = sorted(set(os.listdir(os.path.join(os.path.dirname(manifest),
                                             os.path.basename(manifest).replace(
                                                 ".manifest.json", "-variants")))))
kinds = collections.OrderedDict()
differ = 0
for c in copies:
    stem_, kind, _ = c.rsplit(".", 2)
    k = kinds.setdefault(kind, {"copies": 0, "exact": 0, "fast": 0})
    k["copies"] += 1
    for mode in ("exact", "fast"):
        if stem_ in found[mode].get(c, set()):
            k[mode] += 1
    if found["exact"].get(c, set()) != found["fast"].get(c, set()):
        differ += 1
say(f"**Matching** ({len(copies)} transformed copies of every 10th original, `vigie scan "
    f"--pdq-dihedral --pdq-threshold {THRESHOLD}` against the originals' exact hashes): "
    + "; ".join(f"{kind}: own original found {v['exact']}/{v['copies']} exact decode, "
                f"{v['fast']}/{v['copies']} fast" for kind, v in kinds.items())
    + f". Copies whose set of matched originals differs between the two: {differ}.")
text = "\n".join(lines) + "\n"
open(stem + ".md", "w").write(text)
print(text)

res = {
    "items": n_items, "megapixels": mp, "nproc": nproc, "runs": runs, "vigie": vdesc,
    "peers": peers,
    "cases": {c: {"label": CASES[c][0], "computes": CASES[c][1], "cores": CASES[c][2],
                  "times_s": times[c], "median_s": med[c], "images_per_s_per_core": rate[c],
                  "cpu_s": cpus[c], "median_cpu_s": med_cpu[c], "images_per_cpu_s": crate[c]}
              for c in times},
    "agreement": agree,
    "fast_vs_exact": {"reduced": len(dr), "histogram": dict(sorted(hist.items())),
                      "p95_reduced": p95, "max": max(dr) if dr else 0, "p95_all": pct(da, 95)},
    "matching": {"kinds": kinds, "differ": differ},
}
json.dump(res, open(stem + ".json", "w"), indent=1)

# Plot: images/s per core, one bar per case.
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

order = [c for c in CASES if c in times]
labels = [f"{CASES[c][0]} ({CASES[c][1]}, {CASES[c][2]} core{'s' if CASES[c][2] > 1 else ''})"
          for c in order]
vals = [crate[c] for c in order]
colors = ["#1f6fb4" if c.startswith("v") else "#9a9a9a" for c in order]
fig, ax = plt.subplots(figsize=(9, 0.45 * len(order) + 1.4), dpi=110)
ax.barh(range(len(order)), vals, color=colors)
ax.set_yticks(range(len(order)), labels, fontsize=8)
ax.invert_yaxis()
for i, v in enumerate(vals):
    ax.text(v, i, f" {v:.0f}", va="center", fontsize=8)
ax.axvline(TARGET_PER_CORE, color="#c0392b", linestyle="--", linewidth=1)
ax.text(TARGET_PER_CORE, len(order) - 0.4, f" target {TARGET_PER_CORE:.0f}/s", color="#c0392b",
        fontsize=8, va="bottom")
ax.set_xscale("log")
ax.set_xlabel("images per CPU-second (user + system time), log scale; higher is better")
ax.set_title(f"{n_items} JPEG photos, mean {mp / n_items:.2f} MP: images per CPU-second",
             fontsize=10)
ax.set_xlim(min(vals) / 1.5, max(vals) * 2.5)
fig.tight_layout()
fig.savefig(stem + ".png")
print(f"(written to {stem}.md, .json, .png)", file=sys.stderr)
