#!/usr/bin/env bash
# The image benchmark of record: vigie PDQ (exact and fast decode) against its peers on a
# generated photo corpus, in one run: Pillow + PyPI pdqhash at full size and with draft
# (DCT-scaled) decoding, Python ImageHash's pHash, hashdeep and sha256sum; page cache warm.
#
#   benches/images_e2e.sh [--quick] [--runs N] [--dir DIR] [--no-build]
#
# Environment (flags win): VIGIE_BENCH_DIR (default: /work/bench-data/images if /work exists,
# else <repo>/bench-data/images), BENCH_RUNS (2), BENCH_QUICK=1, CARGO_TARGET_DIR.
# Writes DIR/images-results.{md,json,png} (images-results-quick.* with --quick). Exit 1 on a
# failure to run; hash mismatches and missed targets are reported, not fatal.
# See benches/README.md.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -d /work ]]; then DEFAULT_DIR=/work/bench-data/images; else DEFAULT_DIR="$REPO/bench-data/images"; fi
BENCH_DIR="${VIGIE_BENCH_DIR:-$DEFAULT_DIR}"
RUNS="${BENCH_RUNS:-2}"
QUICK="${BENCH_QUICK:-0}"
BUILD=1

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick|--small) QUICK=1 ;;
        --runs) RUNS="$2"; shift ;;
        --runs=*) RUNS="${1#*=}" ;;
        --dir) BENCH_DIR="$2"; shift ;;
        --dir=*) BENCH_DIR="${1#*=}" ;;
        --no-build) BUILD=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "images_e2e.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "images_e2e.sh: --runs wants a positive integer" >&2; exit 2; }

ME=images_e2e.sh
# shellcheck source=benches/images_common.sh
source "$REPO/benches/images_common.sh"

# 2,000 photo-like JPEGs, 320x240 to 4000x3000, mean ~1.6 MP (the issue's corpus); --quick: the
# first 200 of the same generator (same seed: the same images).
if [[ "$QUICK" == 1 ]]; then COUNT=200; SUFFIX=-quick; else COUNT=2000; SUFFIX=; fi
VARIANT_EVERY=10
NPROC="$(nproc)"
mkdir -p "$BENCH_DIR"
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"
CORPUS="$BENCH_DIR/photos-$COUNT"
VARIANTS="$BENCH_DIR/photos-$COUNT-variants"
WORK="$BENCH_DIR/run$SUFFIX"
RESULTS="$BENCH_DIR/images-results$SUFFIX"
rm -rf "$WORK"; mkdir -p "$WORK"

# ---------------------------------------------------------------------------------------------
images_build
images_apt hashdeep
images_venv
PEERS="$(hashdeep -V 2>&1 | head -1 | sed 's/^/hashdeep /'); $(sha256sum --version | head -1)"

# ---------------------------------------------------------------------------------------------
log "corpus in $CORPUS, transformed copies in $VARIANTS"
"$PY" "$REPO/benches/images_corpus.py" gen "$CORPUS" --count "$COUNT" --png-share 0
"$PY" "$REPO/benches/images_corpus.py" variants "$CORPUS" "$VARIANTS" --every "$VARIANT_EVERY"
MANIFEST="$CORPUS.manifest.json"

# ---------------------------------------------------------------------------------------------
warm() { find "$CORPUS" -type f -exec cat {} + > /dev/null; }

# case: tool, what it computes, threads (cores used).
CASES=(vx1 vf1 vxN vfN vsha py pyd ih hd sha)
declare -A TIMES CPUS
run_case() {  # case round
    local c="$1" r="$2" t cpu
    warm
    case "$c" in
        py|pyd|ih)
            local mode=full
            [[ "$c" == pyd ]] && mode=draft
            [[ "$c" == ih ]] && mode=imagehash
            OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$PY" "$REPO/benches/images_corpus.py" \
                pyhash "$CORPUS" "$WORK/$c-$r.json" --mode "$mode"
            read -r t cpu < <("$PY" -c 'import json,sys; j = json.load(open(sys.argv[1])); print(j["elapsed_s"], j["cpu_s"])' "$WORK/$c-$r.json")
            ;;
        *)
            # GNU time: wall seconds, and user + system CPU seconds of the process tree.
            local tm=(/usr/bin/time -f '%e %U %S' -o "$WORK/$c-$r.time")
            case "$c" in
                vx1) "${tm[@]}" "$VIGIE" hash -q --algo pdq --threads 1 "$CORPUS" > "$WORK/$c-$r.jsonl" ;;
                vf1) "${tm[@]}" "$VIGIE" hash -q --algo pdq --fast-decode --threads 1 "$CORPUS" > "$WORK/$c-$r.jsonl" ;;
                vxN) "${tm[@]}" "$VIGIE" hash -q --algo pdq --threads "$NPROC" "$CORPUS" > "$WORK/$c-$r.jsonl" ;;
                vfN) "${tm[@]}" "$VIGIE" hash -q --algo pdq --fast-decode --threads "$NPROC" "$CORPUS" > "$WORK/$c-$r.jsonl" ;;
                vsha) "${tm[@]}" "$VIGIE" hash -q --algo sha256 --threads 1 "$CORPUS" > "$WORK/$c-$r.jsonl" ;;
                hd) "${tm[@]}" hashdeep -j1 -r "$CORPUS" > "$WORK/$c-$r.txt" ;;
                sha) "${tm[@]}" bash -c 'find "$1" -type f -print0 | xargs -0 sha256sum' _ "$CORPUS" > "$WORK/$c-$r.txt" ;;
            esac
            read -r t cpu < <(awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$WORK/$c-$r.time")
            ;;
    esac
    TIMES[$c]="${TIMES[$c]:-} $t"
    CPUS[$c]="${CPUS[$c]:-} $cpu"
    printf '  round %d %-4s %8.3f s wall %8.3f s cpu\n' "$r" "$c" "$t" "$cpu" >&2
}

log "timing: $RUNS rounds, cases interleaved and rotated (${CASES[*]})"
START="$(date +%s)"
n=${#CASES[@]}
for ((r = 1; r <= RUNS; r++)); do
    for ((k = 0; k < n; k++)); do
        run_case "${CASES[$(((k + r - 1) % n))]}" "$r"
    done
done

# ---------------------------------------------------------------------------------------------
log "matching check: transformed copies against the originals' exact hashes, threshold 31, dihedral"
"$VIGIE" hash -q --format te -o "$WORK/originals.te" "$CORPUS"
for mode in exact fast; do
    flag=(--pdq-threshold 31)
    [[ "$mode" == exact ]] && flag+=(--exact-decode)
    set +e
    "$VIGIE" scan -q --pdq-dihedral "${flag[@]}" --list "$WORK/originals.te" "$VARIANTS" > "$WORK/scan-$mode.jsonl"
    st=$?
    set -e
    [[ $st -le 1 ]] || die "vigie scan ($mode) exited $st"
done
echo "timing took $(( $(date +%s) - START )) s" >&2

# ---------------------------------------------------------------------------------------------
log "report"
TIMES_ARGS=()
for c in "${CASES[@]}"; do TIMES_ARGS+=("$c=${TIMES[$c]}/${CPUS[$c]}"); done
"$PY" "$REPO/benches/images_report.py" "$WORK" "$MANIFEST" "$RESULTS" "$NPROC" "$RUNS" \
    "$VIGIE ($SIMD)" "$PYVERS; $PEERS" "${TIMES_ARGS[@]}"
