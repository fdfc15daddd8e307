#!/usr/bin/env bash
# End-to-end PDQ benchmark on images: vigie `hash --algo pdq` (1 thread, all cores) against
# the Python reference pipeline (Pillow -> numpy -> pdqhash, full resolution, one process),
# on a generated photo-like corpus (JPEG q75-95 4:2:0 + PNG), page cache warm.
#
#   benches/images_e2e.sh [--small] [--runs N] [--dir DIR] [--no-build] [--also BIN]
#
# Environment (flags win): VIGIE_BENCH_DIR (default: /work/bench-data/images if /work exists,
# else <repo>/bench-data/images), BENCH_RUNS (3), BENCH_SMALL=1, CARGO_TARGET_DIR.
# --also BIN adds the cases for a second vigie binary (e.g. one built without nasm).
# Writes DIR/images-results.md (images-results-small.md with --small). Exit 1 on a failure
# to run; PDQ mismatches and a MISS are reported, not fatal. See benches/README.md.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -d /work ]]; then DEFAULT_DIR=/work/bench-data/images; else DEFAULT_DIR="$REPO/bench-data/images"; fi
BENCH_DIR="${VIGIE_BENCH_DIR:-$DEFAULT_DIR}"
RUNS="${BENCH_RUNS:-3}"
SMALL="${BENCH_SMALL:-0}"
BUILD=1
ALSO=

usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --small) SMALL=1 ;;
        --runs) RUNS="$2"; shift ;;
        --runs=*) RUNS="${1#*=}" ;;
        --dir) BENCH_DIR="$2"; shift ;;
        --dir=*) BENCH_DIR="${1#*=}" ;;
        --no-build) BUILD=0 ;;
        --also) ALSO="$2"; shift ;;
        --also=*) ALSO="${1#*=}" ;;
        -h|--help) usage; exit 0 ;;
        *) echo "images_e2e.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "images_e2e.sh: --runs wants a positive integer" >&2; exit 2; }

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'images_e2e.sh: FAIL: %s\n' "$*" >&2; exit 1; }

if [[ "$SMALL" == 1 ]]; then SIZE=small; COUNT=60; SUFFIX=-small; else SIZE=default; COUNT=300; SUFFIX=; fi
NPROC="$(nproc)"
mkdir -p "$BENCH_DIR"
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"
CORPUS="$BENCH_DIR/corpus-$SIZE"
WORK="$BENCH_DIR/run$SUFFIX"
RESULTS="$BENCH_DIR/images-results$SUFFIX.md"
rm -rf "$WORK"; mkdir -p "$WORK"

# ---------------------------------------------------------------------------------------------
log "build"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
VIGIE="$TARGET_DIR/release/vigie"
if [[ "$BUILD" == 1 ]]; then
    (cd "$REPO" && cargo build --release --quiet --bin vigie)
fi
[[ -x "$VIGIE" ]] || die "no binary at $VIGIE (build it, or set CARGO_TARGET_DIR)"
[[ -z "$ALSO" || -x "$ALSO" ]] || die "--also: $ALSO is not an executable"

# mozjpeg-sys compiles libjpeg-turbo's x86 SIMD only if nasm was on PATH at build time; the
# SIMD entry points (jsimd_*_sse2/_avx2) are then linked into the binary (debug = 1: symbols).
simd_of() {
    if grep -qa 'jsimd_idct_islow_avx2\|jsimd_idct_islow_sse2\|jsimd_idct_islow_neon' "$1"; then
        echo "libjpeg-turbo SIMD"; else echo "no SIMD (built without nasm)"; fi
}
NASM_NOW="$(command -v nasm || true)"
echo "vigie: $VIGIE ($(simd_of "$VIGIE")); nasm on PATH now: ${NASM_NOW:-none}; $NPROC cores" >&2
[[ -n "$ALSO" ]] && echo "also: $ALSO ($(simd_of "$ALSO"))" >&2

# ---------------------------------------------------------------------------------------------
log "python venv ($BENCH_DIR/venv)"
VENV="$BENCH_DIR/venv"
PY="$VENV/bin/python"
if ! [[ -x "$PY" ]] || ! "$PY" -c 'import pdqhash, PIL, numpy' 2>/dev/null; then
    python3 -m venv "$VENV" || die "python3 -m venv failed (apt-get install python3-venv?)"
    "$PY" -m pip install -q --upgrade pip >&2
    "$PY" -m pip install -q pdqhash pillow numpy >&2
fi
PYVERS="$("$PY" -c 'import sys, PIL, numpy, importlib.metadata as m; v = m.version("pdqhash"); print(f"python {sys.version.split()[0]}, Pillow {PIL.__version__}, numpy {numpy.__version__}, pdqhash {v}")')"
echo "$PYVERS" >&2

# ---------------------------------------------------------------------------------------------
log "corpus ($SIZE) in $CORPUS"
"$PY" "$REPO/benches/images_corpus.py" gen "$CORPUS" --count "$COUNT"
MANIFEST="$CORPUS.manifest.json"

# ---------------------------------------------------------------------------------------------
warm() { find "$CORPUS" -type f -exec cat {} + > /dev/null; }

CASES=(v1 vN py)
[[ -n "$ALSO" ]] && CASES=(v1 vN a1 aN py)
declare -A TIMES
run_case() {  # case round
    local c="$1" r="$2" bin t0 t1 threads
    case "$c" in
        v1|vN) bin="$VIGIE" ;;
        a1|aN) bin="$ALSO" ;;
    esac
    case "$c" in
        v1|a1) threads=1 ;;
        *) threads="$NPROC" ;;
    esac
    warm
    if [[ "$c" == py ]]; then
        OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$PY" "$REPO/benches/images_corpus.py" pyhash "$CORPUS" "$WORK/py-$r.json"
        t="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["elapsed_s"])' "$WORK/py-$r.json")"
    else
        t0="$(date +%s.%N)"
        "$bin" hash -q --algo pdq --threads "$threads" --summary "$WORK/$c-$r.summary.json" "$CORPUS" > "$WORK/$c-$r.jsonl"
        t1="$(date +%s.%N)"
        t="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')"
    fi
    TIMES[$c]="${TIMES[$c]:-} $t"
    printf '  round %d %-3s %8.3f s\n' "$r" "$c" "$t" >&2
}

log "timing: $RUNS rounds, cases interleaved and rotated (${CASES[*]})"
n=${#CASES[@]}
for ((r = 1; r <= RUNS; r++)); do
    for ((k = 0; k < n; k++)); do
        run_case "${CASES[$(((k + r - 1) % n))]}" "$r"
    done
done

# ---------------------------------------------------------------------------------------------
log "report"
TIMES_ARGS=()
for c in "${CASES[@]}"; do TIMES_ARGS+=("$c=${TIMES[$c]}"); done
"$PY" - "$WORK" "$MANIFEST" "$RESULTS" "$NPROC" "$RUNS" "$VIGIE ($(simd_of "$VIGIE"))" \
    "${ALSO:+$ALSO ($(simd_of "$ALSO"))}" "${NASM_NOW:-none}" "$PYVERS" "${TIMES_ARGS[@]}" <<'EOF'
import collections, json, os, statistics, sys
work, manifest, results, nproc, runs, vbin, abin, nasm, pyvers = sys.argv[1:10]
nproc, runs = int(nproc), int(runs)
times = {}
for a in sys.argv[10:]:
    c, v = a.split("=", 1)
    times[c] = [float(x) for x in v.split()]
man = json.load(open(manifest))
py = json.load(open(os.path.join(work, "py-1.json")))
n_items, mp = py["items"], py["megapixels"]

def load_vigie(case):
    out = {}
    for line in open(os.path.join(work, f"{case}-1.jsonl")):
        rec = json.loads(line)
        path = rec.get("path") or rec.get("name") or ""
        out[os.path.basename(path)] = rec
    return out

lines = []
say = lines.append
say(f"# vigie PDQ vs Python pdqhash: {n_items} images ({man['jpegs']} JPEG q75-95 4:2:0, "
    f"{man['pngs']} PNG), {mp:.0f} MP (mean {mp / n_items:.2f} MP), {man['bytes'] / 1e6:.0f} MB")
say("")
say(f"- vigie: `{vbin}`" + (f"; also: `{abin}`" if abin else ""))
say(f"- nasm on PATH when the bench ran: {nasm}")
say(f"- reference: {pyvers}; `Image.open(p).convert('RGB')` -> numpy -> `pdqhash.compute`, "
    f"full resolution, one process; only the loop is timed (no interpreter start-up/imports)")
say(f"- vigie: wall time of the whole process (`hash -q --algo pdq --threads T --summary`)")
say(f"- {nproc} cores; page cache warmed before every case; {runs} rounds, cases interleaved "
    f"and rotated; median wall time (all rounds' times in the last column)")
say("")
names = {"v1": "vigie --threads 1", "vN": f"vigie --threads {nproc}",
         "a1": "also --threads 1", "aN": f"also --threads {nproc}", "py": "python pdqhash (1 core)"}
cores = {"v1": 1, "a1": 1, "vN": nproc, "aN": nproc, "py": 1}
med = {c: statistics.median(v) for c, v in times.items()}
py_pc = n_items / med["py"]
say("| case | median s | images/s | images/s/core | MP/s | MP/s/core | per-core vs python | rounds (s) |")
say("|---|---:|---:|---:|---:|---:|---:|---|")
for c in times:
    t = med[c]
    ips = n_items / t
    say(f"| {names[c]} | {t:.2f} | {ips:.1f} | {ips / cores[c]:.1f} | {mp / t:.1f} | "
        f"{mp / t / cores[c]:.1f} | {ips / cores[c] / py_pc:.2f}x | "
        f"{' '.join(f'{x:.2f}' for x in times[c])} |")
say("")
r1 = (n_items / med["v1"]) / py_pc
rN = (n_items / med["vN"] / nproc) / py_pc
verdict = "PASS" if r1 >= 2 else "MISS"
say(f"**Target** (vigie >= 2x the Python pipeline's full-resolution rate per core): "
    f"**{verdict}** -- --threads 1: {r1:.2f}x; all {nproc} cores, per core: {rN:.2f}x"
    + ("" if rN >= 2 else " (below 2x)") + ".")
say("")

# Correctness: vigie's PDQ against pdqhash's, per file.
ref = py["hashes"]
for case in ["v1"] + (["a1"] if "a1" in times else []):
    got = load_vigie(case)
    stats = collections.Counter()
    dist = collections.Counter()
    qdiff = 0
    worst = []
    for name, (hx, q) in sorted(ref.items()):
        kind = name.rsplit(".", 1)[-1].upper()
        rec = got.get(name)
        if rec is None or not rec.get("pdq"):
            stats[(kind, "missing")] += 1
            continue
        d = bin(int(rec["pdq"], 16) ^ int(hx, 16)).count("1")
        stats[(kind, "equal" if d == 0 else "differ")] += 1
        if d:
            dist[d] += 1
            worst.append((d, name))
        if rec.get("pdq_quality") != q:
            qdiff += 1
    label = names[case].split(" --")[0]
    total = {k: sum(v for (kk, _), v in stats.items() if kk == k) for k in ("JPG", "PNG")}
    say(f"**PDQ equality ({label} vs pdqhash):** "
        + "; ".join(f"{k}: {stats[(k, 'equal')]}/{total[k]} bit-exact"
                    + (f", {stats[(k, 'differ')]} differ" if stats[(k, 'differ')] else "")
                    + (f", {stats[(k, 'missing')]} without a vigie pdq" if stats[(k, 'missing')] else "")
                    for k in ("JPG", "PNG"))
        + f"; quality differs on {qdiff}.")
    if dist:
        say("")
        say("Hamming distance of the others: "
            + ", ".join(f"{d}: {n}" for d, n in sorted(dist.items()))
            + f" (worst: {', '.join(f'{n} ({d})' for d, n in sorted(worst, reverse=True)[:5])})")
    say("")
# The all-cores run must give the same hashes as the 1-thread run.
a, b = load_vigie("v1"), load_vigie("vN")
same = sum(1 for k in a if a[k].get("pdq") == b.get(k, {}).get("pdq"))
say(f"vigie --threads 1 vs --threads {nproc}: {same}/{len(a)} records with the same pdq.")
text = "\n".join(lines) + "\n"
open(results, "w").write(text)
print(text)
print(f"(written to {results})", file=sys.stderr)
EOF
