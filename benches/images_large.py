#!/usr/bin/env python3
"""Helper for benches/images_large.sh (needs numpy; run with the bench venv's python).

  images_large.py blocklist EXACT.jsonl COPIES.jsonl OUT.txt OUT.planted.json [--every K]
          [--random N] [--seed S]
      The PDQ list the scans match against, `pdq <hex>` lines (ThreatExchange signal lines):
        - the exact hashes of the transformed copies (COPIES.jsonl, `vigie hash --algo pdq` of
          images_corpus.py's variants of every K-th original): the near copies, so the scans
          have hits;
        - for every K-th original counted from K/2 (EXACT.jsonl: vigie's exact hashes of the
          corpus, bit-exact with pdqhash at full size), four entries: its exact hash with d
          bits flipped (seeded bit positions), d = 22, 27, 32, 37 plus the original's rank
          mod 5: entries at a known exact distance on both sides of the threshold 31 and
          inside the screen's slack (31 + 16), where a reduced-scale decode alone would gain
          or lose hits;
        - N (default 100,000) seeded random hashes: the bulk of a real list, near nothing.
      OUT.planted.json records each planted entry's original and distance.

  images_large.py report WORK RESULTS_STEM NPROC RUNS VIGIE_DESC PEERS_DESC CORPUS=DIR,MANIFEST ...
          -- CORPUS:CASE="cpu1 cpu2 .../wall1 wall2 ..." ...
      The tables (median CPU seconds of one thread, images and megapixels per CPU-second,
      ratios to Pillow draft + pdqhash and Pillow full + pdqhash, share of the Huffman-only
      floor's rate), the issue 19 targets, the recall check (vigie scan's hit records equal
      --exact-decode's, in every round; every planted entry within 31 found, none beyond) and
      PDQ agreement with pdqhash. Writes RESULTS_STEM.md (printed) and RESULTS_STEM.json.
"""
import json
import os
import statistics
import sys

THRESHOLD = 31
MIN_QUALITY = 50          # vigie's --pdq-min-quality default
SCREEN_SLACK = 16          # vigie's FAST_PDQ_DRIFT (src/perceptual/mod.rs)
# Planted entries: four per chosen original, at PLANT_AT[i] + (k mod 5) bits from its exact
# hash (k: the original's rank), so 22-41 bits: half within the threshold, half beyond it
# but inside the screen's slack.
PLANT_AT = (22, 27, 32, 37)
TARGET_DRAFT = 2.5
TARGET_FULL = 8.0

# case -> (tool, what it computes)
CASES = {
    "vs": ("vigie scan -j1", "PDQ screened at reduced scale, near ones verified at full size, matched"),
    "vx": ("vigie scan -j1 --exact-decode", "PDQ at full size, matched"),
    "vs0": ("vigie scan -j1, random entries only", "the same against the 100,000 random entries: near nothing, nothing verified"),
    "vh": ("vigie hash -j1 --fast-decode", "PDQ at reduced scale from Pillow draft's RGB pixels (scan's screen decodes luma only), not matched"),
    "pyd": ("Pillow draft + pdqhash", "PDQ after draft((512, 512)) (DCT-scaled decode)"),
    "py": ("Pillow + pdqhash", "PDQ at full size"),
    "ff": ("libjpeg-turbo decode, draft scale", "RGB at the draft scale, no hash"),
    "fg": ("libjpeg-turbo decode, draft scale, luma", "grey at the draft scale: no chroma IDCT, upsampling, colour conversion"),
    "fx": ("libjpeg-turbo decode, full size", "RGB at full size, no hash"),
    "fc": ("libjpeg-turbo Huffman only", "jpeg_read_coefficients"),
    "f8": ("libjpeg-turbo decode, 1/8 scale", "every scan entropy-decoded, DC-only IDCT"),
    "fm": ("libjpeg-turbo Huffman only, vigie's build", "jpeg_read_coefficients, mozjpeg-sys's static library"),
    "fd": ("libjpeg-turbo first scan only, 1/8", "progressive: the DC scan alone; baseline: all"),
}
# The floor: entropy decoding of every scan, measured as the faster of fc and f8 (both do it,
# each with a little other work: fc zeroes whole-image coefficient arrays, f8 a 1x1 IDCT).
FLOOR_CASES = ("fc", "f8")


def hamming(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def load_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def blocklist(exact_path, copies_path, out, planted_out, every, n_random, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    # Originals vigie matches on PDQ at all (quality >= 50, its --pdq-min-quality default).
    exact = sorted((os.path.basename(r["path"]), r["pdq"]) for r in load_jsonl(exact_path)
                   if r.get("pdq") and r.get("pdq_quality", 0) >= MIN_QUALITY)
    copies = [r["pdq"] for r in load_jsonl(copies_path) if r.get("pdq")]
    lines = [f"pdq {h}" for h in copies]
    planted = []
    for k, (name, h) in enumerate(exact[every // 2::every]):
        for base in PLANT_AT:
            d = base + k % 5
            v = int(h, 16)
            for bit in rng.choice(256, size=d, replace=False):
                v ^= 1 << int(bit)
            e = f"{v:064x}"
            assert hamming(e, h) == d
            planted.append({"original": name, "entry": e, "distance": d})
            lines.append(f"pdq {e}")
    rand = rng.integers(0, 256, size=(n_random, 32), dtype=np.uint8)
    lines += ["pdq " + row.tobytes().hex() for row in rand]
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(planted_out, "w") as f:
        json.dump({"every": every, "copies": len(copies), "random": n_random, "seed": seed,
                   "planted": planted}, f, indent=1)
    print(f"blocklist: {len(lines)} entries ({len(copies)} transformed copies, "
          f"{len(planted)} planted at 22-41 bits, {n_random} random) in {out}", file=sys.stderr)


def near_counts(fast, entries, limit):
    """How many images' reduced-scale PDQ lies within `limit` of some entry (numpy popcount)."""
    import numpy as np

    ent = np.frombuffer(b"".join(bytes.fromhex(e) for e in entries), np.uint8).reshape(-1, 32)
    pop = np.array([bin(i).count("1") for i in range(256)], np.uint16)
    n = 0
    for h in fast:
        q = np.frombuffer(bytes.fromhex(h), np.uint8)
        if pop[ent ^ q].sum(axis=1).min() <= limit:
            n += 1
    return n


def hit_key(rec):
    return json.dumps(rec, sort_keys=True)


def report(argv):
    work, stem, nproc, runs, vdesc, peers = argv[:6]
    runs = int(runs)
    rest = argv[6:]
    sep = rest.index("--")
    corpora = {}
    for a in rest[:sep]:
        name, v = a.split("=", 1)
        d, man = v.split(",", 1)
        corpora[name] = {"dir": d, "manifest": json.load(open(man))}
    cpus, walls = {}, {}
    for a in rest[sep + 1:]:
        key, v = a.split("=", 1)
        corpus, case = key.split(":", 1)
        cpu, wall = v.split("/")
        cpus[(corpus, case)] = [float(x) for x in cpu.split()]
        walls[(corpus, case)] = [float(x) for x in wall.split()]

    lines = []
    say = lines.append
    res = {"nproc": int(nproc), "runs": runs, "vigie": vdesc, "peers": peers, "corpora": {}}
    say(f"One thread per case (`-j1`; the Python peers in one process with OMP/BLAS threads 1); "
        f"{nproc} cores shared with other work; page cache warm (`cat` before every case); "
        f"{runs} rounds, cases interleaved and rotated, medians. Rates are per **CPU-second** "
        f"(user + system time of the process tree, or `time.process_time()` of the Python loop, "
        f"which leaves out start-up and imports): what one unshared core does. Wall times are "
        f"in the JSON.")
    say("")
    say(f"- vigie: `{vdesc}`")
    say(f"- peers: {peers}")
    all_ok = True
    for name, c in corpora.items():
        man = c["manifest"]
        py = json.load(open(os.path.join(work, f"{name}-py-1.json")))
        n_items, mp = py["items"], py["megapixels"]
        med = {case: statistics.median(v) for (cn, case), v in cpus.items() if cn == name}
        medw = {case: statistics.median(v) for (cn, case), v in walls.items() if cn == name}
        rate = {case: n_items / t for case, t in med.items()}
        fl = min((c for c in FLOOR_CASES if c in med), key=lambda c: med[c])
        med["floor"], rate["floor"] = med[fl], rate[fl]
        prog = man.get("progressive", 0)
        say("")
        say(f"### {name}: {n_items} JPEGs, {mp:.0f} MP (mean {mp / n_items:.2f} MP), "
            f"{man['bytes'] / 1e6:.0f} MB, {prog} progressive")
        say("")
        say("| tool | computes | median CPU s | images/CPU-s | MP/CPU-s | × Pillow draft | "
            "× Pillow full | share of the floor's rate | CPU s per round |")
        say("|---|---|---:|---:|---:|---:|---:|---:|---|")
        for case, (tool, what) in CASES.items():
            if case not in med:
                continue
            say(f"| {tool} | {what} | {med[case]:.2f} | {rate[case]:.1f} | "
                f"{mp / med[case]:.1f} | {rate[case] / rate['pyd']:.2f} | "
                f"{rate[case] / rate['py']:.2f} | {rate[case] / rate['floor']:.0%} | "
                f"{' '.join(f'{x:.2f}' for x in cpus[(name, case)])} |")

        # Recall: vigie scan's hit records equal --exact-decode's, every round.
        per_round = {}
        for case in ("vs", "vx"):
            for r in range(1, runs + 1):
                recs = load_jsonl(os.path.join(work, f"{name}-{case}-{r}.jsonl"))
                per_round[(case, r)] = sorted(hit_key(x) for x in recs)
        clean_hits = sum(len(load_jsonl(os.path.join(work, f"{name}-vs0-{r}.jsonl")))
                         for r in range(1, runs + 1))
        ref = per_round[("vx", 1)]
        same = all(v == ref for v in per_round.values())
        hits = [json.loads(x) for x in ref]
        hit_imgs = {os.path.basename(h["path"]) for h in hits}
        planted = json.load(open(os.path.join(work, f"{name}-list.planted.json")))
        found = {(os.path.basename(h["path"]), h["matched_hash"]): h["distance"] for h in hits}
        p_in = [p for p in planted["planted"] if p["distance"] <= THRESHOLD]
        p_out = [p for p in planted["planted"] if p["distance"] > THRESHOLD]
        p_found = sum(1 for p in p_in if found.get((p["original"], p["entry"])) == p["distance"])
        p_wrong = sum(1 for p in p_out if (p["original"], p["entry"]) in found)
        # Unverified fast hashes (vh) against the same entries: what the screen alone would say.
        vh = {os.path.basename(r["path"]): r["pdq"] for r in
              load_jsonl(os.path.join(work, f"{name}-vh-1.jsonl")) if r.get("pdq")}
        entries = [line.split()[1] for line in open(os.path.join(work, f"{name}-list.txt"))]
        screened = near_counts(vh.values(), entries, THRESHOLD + SCREEN_SLACK)
        fast_alone = {(p["original"], p["entry"]): hamming(vh[p["original"]], p["entry"])
                      for p in planted["planted"] if p["original"] in vh}
        fa_in = sum(1 for p in p_in
                    if fast_alone.get((p["original"], p["entry"]), 99) <= THRESHOLD)
        fa_out = sum(1 for p in p_out
                     if fast_alone.get((p["original"], p["entry"]), 99) <= THRESHOLD)
        # PDQ agreement with pdqhash (full size) and (draft) for vigie exact and the screen.
        vx_hash = {os.path.basename(r["path"]): (r["pdq"], r.get("pdq_quality"))
                   for r in load_jsonl(os.path.join(work, f"{name}-exact.jsonl"))}
        pyd = json.load(open(os.path.join(work, f"{name}-pyd-1.json")))["hashes"]
        ag_full = sum(1 for k, (h, q) in py["hashes"].items() if vx_hash.get(k) == (h, q))
        vh_q = {os.path.basename(r["path"]): (r["pdq"], r.get("pdq_quality"))
                for r in load_jsonl(os.path.join(work, f"{name}-vh-1.jsonl"))}
        ag_draft = sum(1 for k, (h, q) in pyd.items() if vh_q.get(k) == (h, q))

        vs_d, vs_f = rate["vs"] / rate["pyd"], rate["vs"] / rate["py"]
        ok_d, ok_f = vs_d >= TARGET_DRAFT, vs_f >= TARGET_FULL
        ok_recall = same and p_found == len(p_in) and p_wrong == 0
        all_ok &= ok_d and ok_f and ok_recall
        say("")
        say(f"**Targets** (vigie scan -j1, images per CPU-second, index with near copies): "
            f"≥ {TARGET_DRAFT}× Pillow draft + pdqhash: **{'met' if ok_d else 'MISSED'}** "
            f"({vs_d:.2f}×); ≥ {TARGET_FULL:.0f}× Pillow full + pdqhash: "
            f"**{'met' if ok_f else 'MISSED'}** ({vs_f:.2f}×); recall equal to exact decode: "
            f"**{'met' if ok_recall else 'MISSED'}**. Against the random entries only "
            f"(nothing near, nothing verified): {rate['vs0'] / rate['pyd']:.2f}× and "
            f"{rate['vs0'] / rate['py']:.2f}×. To reach {TARGET_DRAFT}× Pillow draft, vigie would "
            f"need {med['pyd'] / TARGET_DRAFT / med['floor']:.2f}× the floor's CPU time; "
            f"{TARGET_FULL:.0f}× Pillow full needs {med['py'] / TARGET_FULL / med['floor']:.2f}×.")
        say("")
        say(f"**Floor** (entropy decoding of every scan, libjpeg-turbo alone: the faster of "
            f"Huffman only and the 1/8-scale decode, here {CASES[fl][0]}): {rate['floor']:.1f} "
            f"images/CPU-s; vigie scan reaches {rate['vs'] / rate['floor']:.0%} of that rate "
            f"({med['vs'] / med['floor']:.2f}× the floor's CPU time; against the random entries "
            f"alone {rate['vs0'] / rate['floor']:.0%}), --exact-decode "
            f"{rate['vx'] / rate['floor']:.0%}, Pillow draft + pdqhash "
            f"{rate['pyd'] / rate['floor']:.0%}, Pillow full + pdqhash "
            f"{rate['py'] / rate['floor']:.0%}. libjpeg-turbo's own decode at the draft scale "
            f"(no hash) runs at {rate['ff'] / rate['floor']:.0%} of the floor's rate"
            + (f": vigie scan spends {(med['vs'] - med['ff']) / med['vs']:.0%} of its CPU time "
               f"beyond it (hashing, verification, matching, walking, output)."
               if med['vs'] >= med['ff'] else
               f"; vigie scan takes {med['vs'] / med['ff']:.2f}× its CPU time, because its screen "
               f"reads a progressive JPEG's first scans only, where every decode of the whole "
               f"file reads them all.")
            + (f" Decoding only the first scan (fd) runs at {rate['fd'] / rate['floor']:.0%} of "
               f"the floor's rate: below it only where progressive JPEGs let the AC scans go "
               f"unread." if "fd" in rate else ""))
        say("")
        say(f"**Recall**: {len(hits)} hit records on {len(hit_imgs)} images; vigie scan's records "
            f"(path, hash, distance, matched entry, hashes) "
            f"{'equal' if same else 'DIFFER FROM'} --exact-decode's in all {runs} rounds. "
            f"Planted entries at a known exact distance: {p_found}/{len(p_in)} within "
            f"{THRESHOLD} found at that distance, {p_wrong}/{len(p_out)} beyond it reported. "
            f"Pillow draft's unverified reduced-scale hash (vh) alone would have found "
            f"{fa_in}/{len(p_in)} and wrongly reported {fa_out}/{len(p_out)}. Screening with "
            f"it would send {screened} of {n_items} images ({screened / n_items:.0%}) to a "
            f"full-size decode (scan's own screen, luma only, lies within the same bound; within "
            f"{THRESHOLD}+{SCREEN_SLACK} of an entry); list: {len(entries)} entries "
            f"({planted['copies']} transformed copies of every {planted['every']}th image, "
            f"{len(planted['planted'])} planted, {planted['random']} random). Against the random "
            f"entries alone: {clean_hits} hit records.")
        say("")
        say(f"**PDQ agreement**: vigie exact = pdqhash full size on {ag_full}/{len(py['hashes'])}, "
            f"vigie's reduced-scale hash = pdqhash after draft on {ag_draft}/{len(pyd)} "
            f"(hash and quality).")
        res["corpora"][name] = {
            "items": n_items, "megapixels": mp, "bytes": man["bytes"], "progressive": prog,
            "cases": {case: {"tool": CASES[case][0], "cpu_s": cpus[(name, case)],
                             "median_cpu_s": med[case], "wall_s": walls[(name, case)],
                             "median_wall_s": medw[case], "images_per_cpu_s": rate[case]}
                      for case in med if case in CASES},
            "floor_case": fl, "vs_over_draft": vs_d, "vs_over_full": vs_f,
            "vs0_over_draft": rate["vs0"] / rate["pyd"], "vs0_over_full": rate["vs0"] / rate["py"],
            "vs_share_of_floor": rate["vs"] / rate["floor"],
            "recall": {"records_equal": same, "hits": len(hits), "planted_within": len(p_in),
                       "planted_found": p_found, "planted_beyond": len(p_out),
                       "planted_beyond_reported": p_wrong, "fast_alone_found": fa_in,
                       "fast_alone_wrong": fa_out, "screened_to_full": screened,
                       "clean_index_hits": clean_hits},
            "agreement": {"exact_vs_pdqhash_full": [ag_full, len(py["hashes"])],
                          "fast_vs_pdqhash_draft": [ag_draft, len(pyd)]},
        }
    text = "\n".join(lines) + "\n"
    open(stem + ".md", "w").write(text)
    json.dump(res, open(stem + ".json", "w"), indent=1)
    print(text)
    print(f"(written to {stem}.md, .json)", file=sys.stderr)
    return 0 if all_ok else 3


def main(argv):
    if len(argv) >= 5 and argv[0] == "blocklist":
        every, n_random, seed = 20, 100_000, 19
        rest = argv[5:]
        while rest:
            if rest[0] == "--every":
                every = int(rest[1])
            elif rest[0] == "--random":
                n_random = int(rest[1])
            elif rest[0] == "--seed":
                seed = int(rest[1])
            else:
                sys.exit(f"images_large.py: unknown argument {rest[0]}")
            rest = rest[2:]
        blocklist(argv[1], argv[2], argv[3], argv[4], every, n_random, seed)
    elif len(argv) >= 8 and argv[0] == "report":
        sys.exit(report(argv[1:]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
