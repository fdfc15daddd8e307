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

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'images_e2e.sh: FAIL: %s\n' "$*" >&2; exit 1; }

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
log "build"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
VIGIE="$TARGET_DIR/release/vigie"
# mozjpeg-sys compiles libjpeg-turbo's x86 SIMD only if nasm was on PATH when its build script
# ran; the SIMD entry points (jsimd_*) are then linked into the binary (debug = 1: symbols).
has_simd() { grep -qa 'jsimd_idct_islow_avx2\|jsimd_idct_islow_sse2\|jsimd_idct_islow_neon' "$1"; }
if [[ "$BUILD" == 1 ]]; then
    (cd "$REPO" && cargo build --release --quiet --bin vigie)
    # Cargo does not rerun that build script when nasm appears later: rebuild it once.
    if command -v nasm >/dev/null && ! has_simd "$VIGIE"; then
        echo "nasm is installed but mozjpeg-sys was built without it: rebuilding it" >&2
        (cd "$REPO" && cargo clean --release --quiet -p mozjpeg-sys && cargo build --release --quiet --bin vigie)
    fi
fi
[[ -x "$VIGIE" ]] || die "no binary at $VIGIE (build it, or set CARGO_TARGET_DIR)"
if has_simd "$VIGIE"; then SIMD="libjpeg-turbo SIMD"; else SIMD="no SIMD (built without nasm)"; fi
echo "vigie: $VIGIE ($SIMD); $NPROC cores" >&2

need=()
command -v hashdeep >/dev/null || need+=(hashdeep)
[[ -x /usr/bin/time ]] || need+=(time)
command -v python3 >/dev/null || need+=(python3 python3-venv)
if [[ ${#need[@]} -gt 0 ]]; then
    SUDO=
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null || die "missing ${need[*]} and not root (no sudo)"
        SUDO=sudo
    fi
    echo "installing ${need[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >&2
fi

# ---------------------------------------------------------------------------------------------
log "python venv ($BENCH_DIR/venv)"
VENV="$BENCH_DIR/venv"
PY="$VENV/bin/python"
if ! [[ -x "$PY" ]] || ! "$PY" -c 'import pdqhash, PIL, numpy, imagehash, matplotlib' 2>/dev/null; then
    [[ -x "$PY" ]] || python3 -m venv "$VENV" || die "python3 -m venv failed (apt-get install python3-venv?)"
    "$PY" -m pip install -q --upgrade pip >&2
    "$PY" -m pip install -q pdqhash pillow numpy ImageHash matplotlib >&2
fi
PYVERS="$("$PY" - <<'EOF'
import sys, importlib.metadata as m
print(f"python {sys.version.split()[0]}, " + ", ".join(f"{p} {m.version(p)}" for p in ("Pillow", "numpy", "pdqhash", "ImageHash")))
EOF
)"
echo "$PYVERS" >&2
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
