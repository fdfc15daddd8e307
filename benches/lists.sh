#!/usr/bin/env bash
# Hash-list reading benchmark: `vigie index build` on generated lists of each exchange format
# (plain SHA-1 lines as the baseline, NSRL RDS 2.x text, RDSv3 minimal SQLite, VICS 2.0 JSON),
# page cache warm, median of RUNS runs, run side by side so machine noise hits all alike.
#
#   benches/lists.sh [ROWS] [RUNS]     (defaults 1000000 and 5)
#
# Data goes to ${VIGIE_BENCH_DIR:-<repo>/bench-data}/lists-ROWS (generated once, by
# benches/lists_gen.py); the release binary is built in ${CARGO_TARGET_DIR:-<repo>/target}.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROWS="${1:-1000000}"
RUNS="${2:-5}"
DIR="${VIGIE_BENCH_DIR:-$REPO/bench-data}/lists-$ROWS"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"

(cd "$REPO" && cargo build --release --quiet)
[[ -f "$DIR/vics.json" ]] || python3 "$REPO/benches/lists_gen.py" "$DIR" "$ROWS"
VIGIE="$TARGET/release/vigie"
LISTS=(plain.sha1 NSRLFile.txt RDS_minimal.db vics.json)

declare -A times
for ((r = 0; r < RUNS; r++)); do
    for l in "${LISTS[@]}"; do
        s=$(date +%s.%N)
        "$VIGIE" index build -q -o "$DIR/x.idx" "$DIR/$l"
        e=$(date +%s.%N)
        times[$l]+="$(awk -v s="$s" -v e="$e" 'BEGIN {print e - s}') "
    done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(echo "${times[plain.sha1]}" | median)
printf '| list | rows | size MB | median s | MB/s | rows/s | x plain time |\n|---|---|---|---|---|---|---|\n'
for l in "${LISTS[@]}"; do
    m=$(echo "${times[$l]}" | median)
    size=$(stat -c %s "$DIR/$l")
    n=$ROWS
    [[ $l == vics.json ]] && n=$((ROWS / 5))
    awk -v l="$l" -v n="$n" -v s="$size" -v m="$m" -v b="$base" 'BEGIN {
        printf "| %s | %d | %.0f | %.2f | %.0f | %.0f | %.2f |\n", l, n, s / 1e6, m, s / 1e6 / m, n / m, m / b }'
done
