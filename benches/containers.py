#!/usr/bin/env python3
"""Containers benchmark (issue 18): the same files as a tar, a stored zip and a deflated zip.

    python3 benches/containers.py --vigie BIN --dir DIR [--files N] [--bytes B] [--runs R]

Generates under DIR (once; kept between runs, regenerated when the parameters change):
  tree/          N files, sizes log-uniform around B/N, half of them incompressible (like
                 photos and videos), half compressible text (about 3:1, like documents),
                 from a seeded PRNG;
  files.tar      `tar cf` of tree/ (GNU tar);
  stored.zip     `zip -0 -r` (Info-ZIP, stored members);
  deflated.zip   `zip -6 -r` (Info-ZIP, deflate);
  many.zip       100,000 stored members of 64 bytes (`zip -0`, read from a list);
  bomb.zip       one member of 10 GiB of zeros deflated (`zip -9` reading stdin), 10 MB.

Then, R rounds, each timing every command once (order rotated from round to round), CPU
time (user + system, from wait4) and peak RSS per process:
  vigie hash -j1 --algo md5,sha1,sha256 files.tar | stored.zip (--members-only, and with
      the zip's own record: the zip hashed whole too)
  vigie hash -j1 --members-only --algo sha256 deflated.zip  vs  unzip -p deflated.zip | sha256sum
  vigie hash -j1 --algo sha256 many.zip, bomb.zip (RSS and time; every item accounted for)

Prints a Markdown report and writes DIR/results.json. Rates are content bytes (the files'
total) per CPU second; medians over rounds.
"""
import argparse
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

WORDS = ("the of and to in is was for on that with as by at from this be are or an "
         "which not have has were it its but they their one all been more also other "
         "into after first two may when than some who new would these over such only "
         "most any time under used state made between three through where during while "
         "report image video member archive index list scan hash known match clean").split()


def log(msg):
    print(f"== {msg}", file=sys.stderr, flush=True)


def gen_tree(root, files, total, seed=18):
    rng = random.Random(seed)
    mean = total / files
    lo, hi = mean / 8, mean * 3
    # Log-uniform sizes, rescaled so that they add up to about `total`.
    sizes = [math.exp(rng.uniform(math.log(lo), math.log(hi))) for _ in range(files)]
    scale = total / sum(sizes)
    os.makedirs(root)
    for i, s in enumerate(sizes):
        n = max(1, int(s * scale))
        d = os.path.join(root, f"d{i % 100:02d}")
        os.makedirs(d, exist_ok=True)
        if i % 2 == 0:
            data = rng.randbytes(n)
        else:
            # Text: words from a small vocabulary, some numbers; deflate gets about 3:1.
            parts, size = [], 0
            while size < n:
                w = rng.choice(WORDS) if rng.random() < 0.9 else str(rng.getrandbits(24))
                parts.append(w)
                size += len(w) + 1
            data = " ".join(parts).encode()[:n]
        with open(os.path.join(d, f"f{i:06d}.{'bin' if i % 2 == 0 else 'txt'}"), "wb") as f:
            f.write(data)


def run_tool(cmd, cwd=None, stdin=None):
    subprocess.run(cmd, cwd=cwd, check=True, stdin=stdin, stdout=subprocess.DEVNULL)


def generate(d, files, total):
    params = {"files": files, "bytes": total, "version": 2}
    mf = os.path.join(d, "manifest.json")
    if os.path.exists(mf):
        with open(mf) as f:
            if json.load(f) == params:
                return params
    log(f"generating {files} files, {total >> 20} MiB, in {d}")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    tree = os.path.join(d, "tree")
    gen_tree(tree, files, total)
    run_tool(["tar", "cf", "../files.tar", "."], cwd=tree)
    run_tool(["zip", "-q", "-0", "-r", "../stored.zip", "."], cwd=tree)
    run_tool(["zip", "-q", "-6", "-r", "../deflated.zip", "."], cwd=tree)
    many = os.path.join(d, "many")
    os.makedirs(many)
    names = []
    for i in range(100_000):
        sub = os.path.join(many, f"{i // 1000:03d}")
        os.makedirs(sub, exist_ok=True)
        p = os.path.join(sub, f"{i:06d}")
        with open(p, "wb") as f:
            f.write(i.to_bytes(8, "little") * 8)
        names.append(os.path.relpath(p, many))
    with open(os.path.join(d, "many.lst"), "w") as f:
        f.write("\n".join(names) + "\n")
    with open(os.path.join(d, "many.lst")) as lst:
        run_tool(["zip", "-q", "-0", "../many.zip", "-@"], cwd=many, stdin=lst)
    shutil.rmtree(many)
    # 10 GiB of zeros through zip's stdin: one member named "-", deflated about 1030:1.
    zeros = subprocess.Popen(["head", "-c", str(10 << 30), "/dev/zero"], stdout=subprocess.PIPE)
    run_tool(["zip", "-q", "-9", os.path.join(d, "bomb.zip"), "-"], stdin=zeros.stdout)
    zeros.wait()
    with open(mf, "w") as f:
        json.dump(params, f)
    return params


def timed(cmds, scratch):
    """Runs a pipeline (a list of argv); returns (CPU seconds of all its processes, wall
    seconds, peak RSS in MiB of the largest process, stdout of the last). Each process runs
    under GNU time for its own peak RSS: wait4's ru_maxrss of a child forked from this
    (large) Python process starts from the parent's high-water mark."""
    t0 = time.perf_counter()
    procs, prev, rss_files = [], None, []
    for i, c in enumerate(cmds):
        rss_file = os.path.join(scratch, f"rss{i}")
        rss_files.append(rss_file)
        c = ["/usr/bin/time", "-f", "%M", "-o", rss_file, *c]
        p = subprocess.Popen(c, stdin=prev, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        if prev is not None:
            prev.close()
        prev = p.stdout
        procs.append(p)
    out = procs[-1].stdout.read()
    cpu = 0.0
    for p in procs:
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        cpu += ru.ru_utime + ru.ru_stime
    wall = time.perf_counter() - t0
    rss = max(int(open(f).read().split()[-1]) for f in rss_files)
    return cpu, wall, rss / 1024, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vigie", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--bytes", type=int, default=2 << 30)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    d = os.path.abspath(a.dir)
    generate(d, a.files, a.bytes)
    p = lambda n: os.path.join(d, n)  # noqa: E731
    content = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(p("tree")) for f in fs)
    v = a.vigie
    exact = ["--algo", "md5,sha1,sha256"]
    mo = "--members-only"
    cases = {
        "tar, md5+sha1+sha256": [[v, "hash", "-q", "-j1", *exact, p("files.tar")]],
        "stored zip --members-only, md5+sha1+sha256": [[v, "hash", "-q", "-j1", mo, *exact, p("stored.zip")]],
        "stored zip with its own record, md5+sha1+sha256": [[v, "hash", "-q", "-j1", *exact, p("stored.zip")]],
        "deflated zip --members-only, vigie sha256": [[v, "hash", "-q", "-j1", mo, "--algo", "sha256", p("deflated.zip")]],
        "deflated zip, unzip -p | sha256sum": [["unzip", "-p", p("deflated.zip")], ["sha256sum"]],
        "100k-member zip, vigie sha256": [[v, "hash", "-q", "-j1", "--algo", "sha256", p("many.zip")]],
        "10 GiB deflate bomb, vigie sha256": [[v, "hash", "-q", "-j1", "--algo", "sha256", p("bomb.zip")]],
    }
    names = list(cases)
    # Every vigie case's records are checked once: a record for each member, none failed.
    members = {k: a.files for k in names if "vigie" in k or "md5" in k}
    members["100k-member zip, vigie sha256"] = 100_000
    members["10 GiB deflate bomb, vigie sha256"] = 1
    samples = {k: [] for k in cases}
    for r in range(a.runs):
        order = names[r % len(names):] + names[:r % len(names)]
        for k in order:
            cpu, wall, rss, out = timed(cases[k], d)
            if r == 0 and k in members:
                recs = [json.loads(x) for x in out.splitlines()]
                failed = [x for x in recs if "error_kind" in x]
                inside = sum(1 for x in recs if "member" in x)
                assert not failed and inside == members[k], (k, failed[:3], inside, members[k])
            samples[k].append((cpu, wall, rss))
            print(f"round {r + 1} {k}: cpu {cpu:.2f}s wall {wall:.2f}s rss {rss:.0f} MiB", file=sys.stderr)
    med = {k: (statistics.median(c for c, _, _ in s), statistics.median(w for _, w, _ in s),
               max(x for _, _, x in s)) for k, s in samples.items()}
    mb = content / 1e6
    rate = {k: mb / med[k][0] for k in med}
    res = {
        "content_bytes": content,
        "files": a.files,
        "runs": a.runs,
        "cases": {k: {"cpu_s": med[k][0], "wall_s": med[k][1], "max_rss_mib": med[k][2],
                      "mb_per_cpu_s": rate[k]} for k in med},
        "stored_zip_vs_tar": rate["stored zip --members-only, md5+sha1+sha256"] / rate["tar, md5+sha1+sha256"],
        "stored_zip_own_record_vs_tar": rate["stored zip with its own record, md5+sha1+sha256"] / rate["tar, md5+sha1+sha256"],
        "deflated_vs_unzip": rate["deflated zip --members-only, vigie sha256"] / rate["deflated zip, unzip -p | sha256sum"],
    }
    with open(p("results.json"), "w") as f:
        json.dump(res, f, indent=2)
    print(f"{a.files} files, {content / 2**30:.2f} GiB of content; medians of {a.runs} rounds, one thread\n")
    print("| case | CPU s | wall s | MB/CPU s | peak RSS MiB |\n|---|---:|---:|---:|---:|")
    for k in names:
        c, w, x = med[k]
        r = f"{rate[k]:.0f}" if not k.startswith(("100k", "10 GiB")) else "–"
        print(f"| {k} | {c:.2f} | {w:.2f} | {r} | {x:.0f} |")
    print(f"\nstored zip / tar (same files hashed): {res['stored_zip_vs_tar']:.3f}×  (target ≥ 0.9)")
    print(f"stored zip with its own record / tar: {res['stored_zip_own_record_vs_tar']:.3f}×  (the zip hashed whole too: twice the bytes)")
    print(f"deflated zip, vigie / unzip -p | sha256sum: {res['deflated_vs_unzip']:.3f}×  (target ≥ 0.9)")


if __name__ == "__main__":
    main()
