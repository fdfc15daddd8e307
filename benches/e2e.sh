#!/usr/bin/env bash
# End-to-end throughput benchmark: vigie against hashdeep, sha256sum and xxhsum on a
# generated corpus (a tar of small members, and a tree of the same files), page cache warm.
#
#   benches/e2e.sh [--small] [--runs N] [--dir DIR] [--no-build] [--skip-checks]
#
# Environment (flags win): VIGIE_BENCH_DIR (default: <repo>/bench-data), BENCH_RUNS (5),
# BENCH_SMALL=1, CARGO_TARGET_DIR (where the release binary is built).
# Writes DIR/results.md and DIR/results.json (results-small.* with --small).
# See benches/README.md.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="${VIGIE_BENCH_DIR:-$REPO/bench-data}"
RUNS="${BENCH_RUNS:-5}"
SMALL="${BENCH_SMALL:-0}"
BUILD=1
CHECKS=1

usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --small) SMALL=1 ;;
        --runs) RUNS="$2"; shift ;;
        --runs=*) RUNS="${1#*=}" ;;
        --dir) BENCH_DIR="$2"; shift ;;
        --dir=*) BENCH_DIR="${1#*=}" ;;
        --no-build) BUILD=0 ;;
        --skip-checks) CHECKS=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "e2e.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "e2e.sh: --runs wants a positive integer" >&2; exit 2; }

# shellcheck source=benches/lib.sh
source "$REPO/benches/lib.sh"

if [[ "$SMALL" == 1 ]]; then
    SIZE=small; TAR_BYTES=$((256 << 20)); FILES=2000; SUFFIX=-small
else
    SIZE=full; TAR_BYTES=$((2 << 30)); FILES=20000; SUFFIX=
fi
DATA="$BENCH_DIR/$SIZE"
NPROC="$(nproc)"

# ---------------------------------------------------------------------------------------------
log "build"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
VIGIE="$TARGET_DIR/release/vigie"
if [[ "$BUILD" == 1 ]]; then
    (cd "$REPO" && cargo build --release --quiet --bin vigie)
fi
[[ -x "$VIGIE" ]] || die "no binary at $VIGIE (build it, or set CARGO_TARGET_DIR)"

log "peers"
need=()
command -v hashdeep >/dev/null || need+=(hashdeep)
command -v xxhsum >/dev/null || need+=(xxhash)
command -v sha256sum >/dev/null || need+=(coreutils)
command -v python3 >/dev/null || need+=(python3)
[[ -x /usr/bin/time ]] || need+=(time)
apt_install "for the peers it is compared with" "${need[@]}" || die "could not install ${need[*]}"
for t in hashdeep xxhsum sha256sum python3 /usr/bin/time; do command -v "$t" >/dev/null || die "$t not found"; done
echo "vigie: $VIGIE; hashdeep $(hashdeep -V); $(sha256sum --version | head -1);" \
     "$(xxhsum --version 2>&1 | head -1); $NPROC cores" >&2

# ---------------------------------------------------------------------------------------------
log "corpus ($SIZE) in $DATA"
python3 "$REPO/benches/gen_corpus.py" "$DATA" --tar-bytes "$TAR_BYTES" --files "$FILES"
TAR="corpus.tar"
TREE="tree"
cd "$DATA"
read -r TAR_FILE_BYTES TAR_MEMBERS TREE_BYTES TREE_FILES < <(python3 -c '
import json; m = json.load(open("manifest.json"))
print(m["tar"]["file_bytes"], m["tar"]["members"], m["tree"]["payload_bytes"], m["tree"]["files"])')
echo "tar: $TAR_FILE_BYTES bytes, $TAR_MEMBERS members; tree: $TREE_FILES files, $TREE_BYTES bytes" >&2

MEM_KB="$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)"
if (( (TAR_FILE_BYTES + TREE_BYTES) / 1024 * 3 / 2 > MEM_KB )); then
    echo "WARNING: corpus does not fit comfortably in available memory; figures will include disk reads" >&2
fi

log "warming the page cache"
cat "$TAR" > /dev/null
find "$TREE" -type f -print0 | xargs -0 cat > /dev/null

# ---------------------------------------------------------------------------------------------
if [[ "$CHECKS" == 1 ]]; then
    log "correctness"
    CHK="$(mktemp -d "${TMPDIR:-/tmp}/vigie-e2e.XXXXXX")"
    trap 'rm -rf "$CHK"' EXIT
    # 1. sha256 of every tree file: vigie vs coreutils sha256sum, same relative paths.
    "$VIGIE" hash -q --format sha256sum "$TREE" | LC_ALL=C sort > "$CHK/vigie.sha256"
    find "$TREE" -type f -print0 | xargs -0 sha256sum | LC_ALL=C sort > "$CHK/coreutils.sha256"
    n="$(wc -l < "$CHK/coreutils.sha256")"
    [[ "$n" == "$TREE_FILES" ]] || die "sha256sum listed $n files, expected $TREE_FILES"
    if ! cmp -s "$CHK/vigie.sha256" "$CHK/coreutils.sha256"; then
        diff "$CHK/vigie.sha256" "$CHK/coreutils.sha256" | head -20 >&2
        die "vigie --format sha256sum differs from sha256sum over $TREE"
    fi
    echo "ok: sha256 of $n tree files equal sha256sum's" >&2
    # 2. md5+sha1+sha256 of every tree file: vigie vs hashdeep (records only, no header).
    "$VIGIE" hash -q --algo md5,sha1,sha256 --format hashdeep "$TREE" \
        | grep -v '^[%#]' | LC_ALL=C sort > "$CHK/vigie.hd"
    hashdeep -c md5,sha1,sha256 -l -r "$TREE" | grep -v '^[%#]' | LC_ALL=C sort > "$CHK/hashdeep.hd"
    if ! cmp -s "$CHK/vigie.hd" "$CHK/hashdeep.hd"; then
        diff "$CHK/vigie.hd" "$CHK/hashdeep.hd" | head -20 >&2
        die "vigie --format hashdeep differs from hashdeep over $TREE"
    fi
    echo "ok: md5,sha1,sha256 of $n tree files equal hashdeep's" >&2
    # 3. sha256 of every tar member, read in place, vs Python's tarfile + hashlib.
    "$VIGIE" hash -q --format sha256sum "$TAR" | LC_ALL=C sort > "$CHK/vigie.tar.sha256"
    python3 - "$TAR" > "$CHK/py.tar.sha256" <<'EOF'
import hashlib, sys, tarfile
with tarfile.open(sys.argv[1]) as tf:
    for m in tf:
        if m.isreg():
            h = hashlib.sha256(tf.extractfile(m).read()).hexdigest()
            sys.stdout.write(f"{h}  {sys.argv[1]}/{m.name}\n")
EOF
    LC_ALL=C sort -o "$CHK/py.tar.sha256" "$CHK/py.tar.sha256"
    n="$(wc -l < "$CHK/py.tar.sha256")"
    [[ "$n" == "$TAR_MEMBERS" ]] || die "tarfile listed $n members, expected $TAR_MEMBERS"
    if ! cmp -s "$CHK/vigie.tar.sha256" "$CHK/py.tar.sha256"; then
        diff "$CHK/vigie.tar.sha256" "$CHK/py.tar.sha256" | head -20 >&2
        die "vigie's sha256 of the tar members differ from Python tarfile+hashlib"
    fi
    echo "ok: sha256 of $n tar members equal Python tarfile+hashlib's" >&2
    # The tar check read the tar through Python: warm it again.
    cat "$TAR" > /dev/null
fi

# ---------------------------------------------------------------------------------------------
log "timing: $RUNS rounds, tools interleaved"
# One case a line: name|input|algos|threads used|bytes|command (run by bash in $DATA, stdout
# to /dev/null). "threads used" divides GB/s into GB/s per core; a tool hashing one single
# file uses one core whatever its thread setting.
T1="--threads 1"; TN="--threads $NPROC"
M3="--algo md5,sha1,sha256"
CASES="$(cat <<EOF
vigie -j1|tree|md5+sha1+sha256|1|$TREE_BYTES|"$VIGIE" hash -q $M3 $T1 $TREE
vigie -j$NPROC|tree|md5+sha1+sha256|$NPROC|$TREE_BYTES|"$VIGIE" hash -q $M3 $TN $TREE
hashdeep -j1|tree|md5+sha1+sha256|1|$TREE_BYTES|hashdeep -c md5,sha1,sha256 -r -j1 $TREE
hashdeep|tree|md5+sha1+sha256|$NPROC|$TREE_BYTES|hashdeep -c md5,sha1,sha256 -r $TREE
vigie -j1|tree|sha256|1|$TREE_BYTES|"$VIGIE" hash -q --algo sha256 $T1 $TREE
vigie -j$NPROC|tree|sha256|$NPROC|$TREE_BYTES|"$VIGIE" hash -q --algo sha256 $TN $TREE
sha256sum|tree|sha256|1|$TREE_BYTES|find $TREE -type f -print0 | xargs -0 sha256sum
vigie -j$NPROC|tree|xxh3_128|$NPROC|$TREE_BYTES|"$VIGIE" hash -q --algo xxh3_128 $TN $TREE
vigie -j1|tar|md5+sha1+sha256|1|$TAR_FILE_BYTES|"$VIGIE" hash -q $M3 $T1 $TAR
vigie -j$NPROC|tar|md5+sha1+sha256|$NPROC|$TAR_FILE_BYTES|"$VIGIE" hash -q $M3 $TN $TAR
hashdeep (whole tar)|tar|md5+sha1+sha256|1|$TAR_FILE_BYTES|hashdeep -c md5,sha1,sha256 $TAR
vigie -j1|tar|sha256|1|$TAR_FILE_BYTES|"$VIGIE" hash -q --algo sha256 $T1 $TAR
vigie -j$NPROC|tar|sha256|$NPROC|$TAR_FILE_BYTES|"$VIGIE" hash -q --algo sha256 $TN $TAR
sha256sum (whole tar)|tar|sha256|1|$TAR_FILE_BYTES|sha256sum $TAR
vigie -j1|tar|xxh3_128|1|$TAR_FILE_BYTES|"$VIGIE" hash -q --algo xxh3_128 $T1 $TAR
vigie -j$NPROC|tar|xxh3_128|$NPROC|$TAR_FILE_BYTES|"$VIGIE" hash -q --algo xxh3_128 $TN $TAR
xxhsum -H2 (whole tar)|tar|xxh3_128|1|$TAR_FILE_BYTES|xxhsum -H2 $TAR
EOF
)"

export CASES RUNS NPROC SIZE DATA TAR_MEMBERS TREE_FILES
export RESULTS_MD="$BENCH_DIR/results$SUFFIX.md" RESULTS_JSON="$BENCH_DIR/results$SUFFIX.json"
export VIGIE_REV="$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
python3 - <<'EOF'
import json, os, platform, statistics, subprocess, sys, time

runs, nproc = int(os.environ["RUNS"]), int(os.environ["NPROC"])
cases = []
for line in os.environ["CASES"].splitlines():
    name, inp, algos, threads, nbytes, cmd = line.split("|", 5)
    cases.append(dict(tool=name, input=inp, algos=algos, threads=int(threads),
                      bytes=int(nbytes), cmd=cmd, secs=[], rss_kib=[]))

RSS_FILE = os.path.join(os.environ["DATA"], ".rss.tmp")

def run(cmd):
    # Wall time from here; peak RSS from GNU time (%M: the largest single process, KiB).
    # Not from our own wait4(): a forked child inherits the parent's RSS high-water mark
    # across exec, so every tool would report at least this Python process's size.
    t0 = time.perf_counter()
    rc = subprocess.call(["/usr/bin/time", "-f", "%M", "-o", RSS_FILE,
                          "bash", "-o", "pipefail", "-c", cmd], stdout=subprocess.DEVNULL)
    dt = time.perf_counter() - t0
    if rc != 0:
        sys.exit(f"e2e.sh: FAIL: exit {rc}: {cmd}")
    with open(RSS_FILE) as f:
        return dt, int(f.read().split()[-1])

def warm(inp):
    # The page cache may be smaller than the whole corpus (a memory cgroup, a VM): warm each
    # input right before its cases, and check the tar stayed resident while they ran.
    cmd = ("cat corpus.tar > /dev/null" if inp == "tar"
           else "find tree -type f -print0 | xargs -0 cat > /dev/null")
    subprocess.run(["bash", "-o", "pipefail", "-c", cmd], check=True)

def tar_resident():
    out = subprocess.run(["fincore", "-n", "-b", "-o", "RES,SIZE", "corpus.tar"],
                         capture_output=True, text=True)
    try:
        res, size = map(int, out.stdout.split())
        return res / size
    except ValueError:
        return None

# Rounds: per round, each input is warmed then its cases run, inputs and cases in an order
# rotated each round, so that a noisy neighbour or frequency drift spreads over all tools.
inputs = ["tree", "tar"]
resident = []
for r in range(runs):
    for inp in inputs[r % 2:] + inputs[:r % 2]:
        group = [c for c in cases if c["input"] == inp]
        k = r % len(group)
        warm(inp)
        for c in group[k:] + group[:k]:
            dt, rss = run(c["cmd"])
            c["secs"].append(dt)
            c["rss_kib"].append(rss)
        if inp == "tar":
            resident.append(tar_resident())
    print(f"round {r + 1}/{runs} done", file=sys.stderr)
res_min = min((x for x in resident if x is not None), default=None)
if res_min is not None and res_min < 0.99:
    print(f"WARNING: only {res_min:.0%} of the tar was in the page cache after its cases: "
          "figures include disk reads", file=sys.stderr)

for c in cases:
    c["median_s"] = statistics.median(c["secs"])
    c["gbps"] = c["bytes"] / c["median_s"] / 1e9
    c["gbps_core"] = c["gbps"] / c["threads"]
    c["rss_mib"] = max(c["rss_kib"]) / 1024

def find(tool_prefix, inp, algos, threads=None):
    hits = [c for c in cases if c["tool"].startswith(tool_prefix) and c["input"] == inp
            and c["algos"] == algos]
    if threads is not None:
        exact = [c for c in hits if c["threads"] == threads]
        hits = exact or hits
    return hits[0] if hits else None

for c in cases:
    hd = find("hashdeep", c["input"], "md5+sha1+sha256", c["threads"])
    ss = find("sha256sum", c["input"], "sha256")
    c["x_hashdeep"] = (hd["median_s"] / c["median_s"]
                       if hd and c["algos"] == "md5+sha1+sha256" else None)
    c["x_sha256sum"] = ss["median_s"] / c["median_s"] if ss else None

# Targets from the issue.
TARGET_M3_CORE, TARGET_XXH3 = 0.35, 6.0
targets = []
for c in cases:
    if c["tool"].startswith("vigie") and c["algos"] == "md5+sha1+sha256":
        targets.append((f"md5+sha1+sha256 {c['input']} {c['tool']}: >= {TARGET_M3_CORE} GB/s per core",
                        c["gbps_core"], c["gbps_core"] >= TARGET_M3_CORE))
xx = find("vigie -j%d" % nproc, "tar", "xxh3_128", nproc)
targets.append((f"xxh3_128 page-cached tar, all cores: >= {TARGET_XXH3} GB/s",
                xx["gbps"], xx["gbps"] >= TARGET_XXH3))

def f(x, spec):
    return "-" if x is None else format(x, spec)

hdr = ["tool", "input", "algorithms", "thr", "median s", "GB/s", "GB/s/core",
       "peak RSS MiB", "x hashdeep", "x sha256sum"]
rows = [[c["tool"], c["input"], c["algos"], str(c["threads"]), f(c["median_s"], ".3f"),
         f(c["gbps"], ".3f"), f(c["gbps_core"], ".3f"), f(c["rss_mib"], ".1f"),
         f(c["x_hashdeep"], ".2f"), f(c["x_sha256sum"], ".2f")] for c in cases]
widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(hdr)]
num = set(range(3, len(hdr)))
def line(cells):
    return "  ".join(c.rjust(w) if i in num else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

size, data = os.environ["SIZE"], os.environ["DATA"]
tar_b = next(c["bytes"] for c in cases if c["input"] == "tar")
tree_b = next(c["bytes"] for c in cases if c["input"] == "tree")
desc = (f"corpus '{size}': tar {tar_b / 2**30:.2f} GiB ({os.environ['TAR_MEMBERS']} members), "
        f"tree {tree_b / 2**30:.2f} GiB ({os.environ['TREE_FILES']} files), 1 KiB-200 KiB "
        f"log-uniform, page cache warm; {runs} runs, median; {nproc} cores; "
        f"tar resident after its cases >= {'?' if res_min is None else format(res_min, '.0%')}; "
        f"vigie {os.environ['VIGIE_REV']}; {platform.node()} {platform.machine()}")
print()
print(desc)
print(line(hdr))
print(line(["-" * w for w in widths]))
for r in rows:
    print(line(r))
print()
print("x hashdeep / x sha256sum: the peer's median time over the same input divided by this")
print("row's (>1: faster than the peer). GB/s: input bytes (tar: whole file) / median time.")
print()
print("targets:")
for name, val, ok in targets:
    print(f"  [{'MET ' if ok else 'MISS'}] {name}: {val:.3f}")

with open(os.environ["RESULTS_MD"], "w") as out:
    out.write(f"### vigie end-to-end benchmark\n\n{desc}\n\n")
    out.write("| " + " | ".join(hdr) + " |\n")
    out.write("|" + "|".join("---:" if i in num else "---" for i in range(len(hdr))) + "|\n")
    for r in rows:
        out.write("| " + " | ".join(r) + " |\n")
    out.write("\n`x hashdeep`, `x sha256sum`: the peer's median time over the same input divided "
              "by this row's (>1: faster). GB/s: input bytes (tar: whole file) / median wall time. "
              "Peak RSS: largest single process.\n\n")
    for name, val, ok in targets:
        out.write(f"- {'met' if ok else '**missed**'}: {name}: {val:.3f}\n")
with open(os.environ["RESULTS_JSON"], "w") as out:
    json.dump({"description": desc, "runs": runs, "cores": nproc,
               "cases": [{k: v for k, v in c.items()} for c in cases],
               "targets": [{"name": n, "value": v, "met": ok} for n, v, ok in targets]},
              out, indent=2)
print(f"\nwrote {os.environ['RESULTS_MD']} and {os.environ['RESULTS_JSON']}", file=sys.stderr)
EOF
