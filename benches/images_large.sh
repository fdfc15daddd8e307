#!/usr/bin/env bash
# Issue 19's benchmark: `vigie scan` (reduced-scale screen, near images verified at full size)
# against Pillow draft + pdqhash, Pillow full + pdqhash and libjpeg-turbo alone (its Huffman
# decoding: the floor of any JPEG path), one thread each, in one run, on a corpus of large
# photos and on the mixed corpus of benches/images_e2e.sh; checks that scan's hits equal
# --exact-decode's.
#
#   benches/images_large.sh [--runs N] [--count N] [--mixed-count N] [--dir DIR] [--no-build]
#
# --count: large photos (default 200: 1.2-12 MP, mean ~4.4 MP, quality 75-92, a third
# progressive); --mixed-count: the first N photos of images_e2e.sh's corpus (default 200, its
# --quick set; 2000 for the full one). Environment (flags win): VIGIE_BENCH_DIR (default as
# images_e2e.sh: /work/bench-data/images if /work exists), BENCH_RUNS (3), CARGO_TARGET_DIR.
# Writes DIR/images-large.{md,json}. Exit 1 on a failure to run, 3 when a target is missed.
# See benches/README.md.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -d /work ]]; then DEFAULT_DIR=/work/bench-data/images; else DEFAULT_DIR="$REPO/bench-data/images"; fi
BENCH_DIR="${VIGIE_BENCH_DIR:-$DEFAULT_DIR}"
RUNS="${BENCH_RUNS:-3}"
LARGE_COUNT=200
MIXED_COUNT=200
BUILD=1
EVERY=20          # transformed copies of, and planted entries near, every 20th photo
RANDOM_ENTRIES=100000

usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) RUNS="$2"; shift ;;
        --runs=*) RUNS="${1#*=}" ;;
        --count) LARGE_COUNT="$2"; shift ;;
        --count=*) LARGE_COUNT="${1#*=}" ;;
        --mixed-count) MIXED_COUNT="$2"; shift ;;
        --mixed-count=*) MIXED_COUNT="${1#*=}" ;;
        --dir) BENCH_DIR="$2"; shift ;;
        --dir=*) BENCH_DIR="${1#*=}" ;;
        --no-build) BUILD=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "images_large.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
for v in "$RUNS" "$LARGE_COUNT" "$MIXED_COUNT"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "images_large.sh: --runs and the counts want positive integers" >&2; exit 2; }
done

ME=images_large.sh
# shellcheck source=benches/images_common.sh
source "$REPO/benches/images_common.sh"

NPROC="$(nproc)"
mkdir -p "$BENCH_DIR"
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"
WORK="$BENCH_DIR/run-large"
RESULTS="$BENCH_DIR/images-large"
rm -rf "$WORK"; mkdir -p "$WORK"

# ---------------------------------------------------------------------------------------------
images_build
images_apt gcc libc6-dev libjpeg62-turbo-dev
images_venv
FLOOR="$WORK/jpeg_floor"
cc -O2 -o "$FLOOR" "$REPO/benches/jpeg_floor.c" -ljpeg || die "cannot build benches/jpeg_floor.c"
LIBJPEG="jpeg_floor.c (cc -O2) on Debian libjpeg62-turbo $(dpkg-query -W -f '${Version}' libjpeg62-turbo 2>/dev/null || echo '?')"
# The same program on the libjpeg vigie links (mozjpeg-sys's static library, from this build,
# with the headers of its crate source), when both are found: case fm.
MOZ_LIB="$(ls -t "$TARGET_DIR"/release/build/mozjpeg-sys-*/out/libmozjpeg62.a 2>/dev/null | head -1 || true)"
MOZ_VER="$(awk '/^name = "mozjpeg-sys"/ { getline; gsub(/[^0-9.]/, ""); print }' "$REPO/Cargo.lock")"
MOZ_INC="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/mozjpeg-sys-"$MOZ_VER"/vendor 2>/dev/null | head -1 || true)"
CASES=(vs vx vs0 vh pyd py ff fg fx fc f8 fd)
if [[ -n "$MOZ_LIB" && -n "$MOZ_INC" ]] &&
    cc -O2 -I "$(dirname "$MOZ_LIB")/include" -I "$MOZ_INC" -o "$WORK/jpeg_floor_vigie" \
        "$REPO/benches/jpeg_floor.c" "$MOZ_LIB"; then
    CASES+=(fm)
    LIBJPEG+=", and on vigie's (mozjpeg-sys $MOZ_VER's static libjpeg)"
else
    echo "mozjpeg-sys's libmozjpeg62.a or headers not found: no Huffman-only case on vigie's libjpeg" >&2
fi
echo "$LIBJPEG" >&2

# ---------------------------------------------------------------------------------------------
# Corpora: name -> directory. The large one is made by images_corpus.py gen --large, the mixed
# one is images_e2e.sh's (same generator, same seed: photos-200 is its --quick set).
declare -A DIRS
DIRS[large]="$BENCH_DIR/large-$LARGE_COUNT"
DIRS[mixed]="$BENCH_DIR/photos-$MIXED_COUNT"
NAMES=(large mixed)
log "corpora: ${DIRS[large]} (large photos), ${DIRS[mixed]} (mixed)"
"$PY" "$REPO/benches/images_corpus.py" gen "${DIRS[large]}" --count "$LARGE_COUNT" --large
"$PY" "$REPO/benches/images_corpus.py" gen "${DIRS[mixed]}" --count "$MIXED_COUNT" --png-share 0
# Transformed copies of every 20th photo; not images_e2e.sh's DIR-variants (every 10th), so the
# two benchmarks do not remake each other's copies.
for n in "${NAMES[@]}"; do
    "$PY" "$REPO/benches/images_corpus.py" variants "${DIRS[$n]}" "${DIRS[$n]}-variants-$EVERY" --every "$EVERY"
done

# The index of each corpus: the transformed copies' exact hashes, entries planted at 22-41 bits
# from some originals' exact hashes, 100,000 random hashes (images_large.py blocklist).
log "indexes"
for n in "${NAMES[@]}"; do
    "$VIGIE" hash -q --algo pdq -j "$NPROC" "${DIRS[$n]}" > "$WORK/$n-exact.jsonl"
    "$VIGIE" hash -q --algo pdq -j "$NPROC" "${DIRS[$n]}-variants-$EVERY" > "$WORK/$n-copies.jsonl"
    "$PY" "$REPO/benches/images_large.py" blocklist "$WORK/$n-exact.jsonl" "$WORK/$n-copies.jsonl" \
        "$WORK/$n-list.txt" "$WORK/$n-list.planted.json" --every "$EVERY" --random "$RANDOM_ENTRIES"
    "$VIGIE" index build -q -o "$WORK/$n.vigie" --type pdq "$WORK/$n-list.txt" >&2
    # The random entries alone: a list near nothing in the corpus (a nightly dump's case).
    tail -n "$RANDOM_ENTRIES" "$WORK/$n-list.txt" > "$WORK/$n-clean.txt"
    "$VIGIE" index build -q -o "$WORK/$n-clean.vigie" --type pdq "$WORK/$n-clean.txt" >&2
done

# ---------------------------------------------------------------------------------------------
# Cases (all one thread): vs vigie scan, vx scan --exact-decode, vs0 scan against the random
# entries only (nothing to verify), vh hash --fast-decode (Pillow draft's RGB screen alone, no
# matching; scan's own screen decodes luma only); pyd
# Pillow draft + pdqhash, py Pillow full + pdqhash; jpeg_floor (libjpeg-turbo alone): ff RGB at
# the draft scale, fg luma only at the draft scale, fx RGB at full size, fc Huffman only
# (jpeg_read_coefficients), f8 every scan at 1/8 scale, fd the first scan only at 1/8 (for a
# progressive JPEG: its DC), fm = fc on vigie's libjpeg when it was built above.
declare -A CPUS WALLS
run_case() {  # corpus case round
    local n="$1" c="$2" r="$3" d="${DIRS[$1]}" out="$WORK/$1-$2-$3" t cpu st
    find "$d" -type f -exec cat {} + > /dev/null
    case "$c" in
        py|pyd)
            local mode=full
            [[ "$c" == pyd ]] && mode=draft
            OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$PY" "$REPO/benches/images_corpus.py" \
                pyhash "$d" "$out.json" --mode "$mode"
            read -r t cpu < <("$PY" -c 'import json,sys; j = json.load(open(sys.argv[1])); print(j["elapsed_s"], j["cpu_s"])' "$out.json")
            ;;
        *)
            # GNU time: wall seconds, and user + system CPU seconds of the process tree.
            local tm=(/usr/bin/time -f '%e %U %S' -o "$out.time")
            set +e
            case "$c" in
                vs) "${tm[@]}" "$VIGIE" scan -q -j1 -i "$WORK/$n.vigie" "$d" > "$out.jsonl" ;;
                vx) "${tm[@]}" "$VIGIE" scan -q -j1 --exact-decode -i "$WORK/$n.vigie" "$d" > "$out.jsonl" ;;
                vs0) "${tm[@]}" "$VIGIE" scan -q -j1 -i "$WORK/$n-clean.vigie" "$d" > "$out.jsonl" ;;
                vh) "${tm[@]}" "$VIGIE" hash -q -j1 --algo pdq --fast-decode "$d" > "$out.jsonl" ;;
                ff) "${tm[@]}" "$FLOOR" fast "$d" > "$out.txt" ;;
                fx) "${tm[@]}" "$FLOOR" full "$d" > "$out.txt" ;;
                fg) "${tm[@]}" "$FLOOR" grey "$d" > "$out.txt" ;;
                fc) "${tm[@]}" "$FLOOR" coef "$d" > "$out.txt" ;;
                f8) "${tm[@]}" "$FLOOR" eighth "$d" > "$out.txt" ;;
                fd) "${tm[@]}" "$FLOOR" dc "$d" > "$out.txt" ;;
                fm) "${tm[@]}" "$WORK/jpeg_floor_vigie" coef "$d" > "$out.txt" ;;
            esac
            st=$?
            set -e
            # vigie scan exits 1 when something matched.
            [[ $st == 0 || ( $st == 1 && $c == v[sx] ) ]] || die "$n $c exited $st"
            read -r t cpu < <(awk 'END { printf "%s %.3f\n", $1, $2 + $3 }' "$out.time")  # last line: GNU time may print an exit status first
            ;;
    esac
    CPUS[$n:$c]="${CPUS[$n:$c]:-} $cpu"
    WALLS[$n:$c]="${WALLS[$n:$c]:-} $t"
    printf '  round %d %-5s %-4s %8.3f s cpu %8.3f s wall\n' "$r" "$n" "$c" "$cpu" "$t" >&2
}

log "timing: $RUNS rounds, cases interleaved and rotated (${CASES[*]}), on ${NAMES[*]}"
START="$(date +%s)"
k=${#CASES[@]}
for ((r = 1; r <= RUNS; r++)); do
    for n in "${NAMES[@]}"; do
        for ((i = 0; i < k; i++)); do
            run_case "$n" "${CASES[$(((i + r - 1) % k))]}" "$r"
        done
    done
done
echo "timing took $(( $(date +%s) - START )) s" >&2

# ---------------------------------------------------------------------------------------------
log "report"
ARGS=()
for n in "${NAMES[@]}"; do ARGS+=("$n=${DIRS[$n]},${DIRS[$n]}.manifest.json"); done
ARGS+=(--)
for n in "${NAMES[@]}"; do
    for c in "${CASES[@]}"; do ARGS+=("$n:$c=${CPUS[$n:$c]}/${WALLS[$n:$c]}"); done
done
"$PY" "$REPO/benches/images_large.py" report "$WORK" "$RESULTS" "$NPROC" "$RUNS" \
    "$VIGIE ($SIMD), $("$VIGIE" --version 2>/dev/null || echo vigie)" "$PYVERS; $LIBJPEG" "${ARGS[@]}"
