#!/usr/bin/env bash
# PDQ search at blocklist scale, vigie against faiss-cpu, in one run.
#
#   bash benches/pdq_scale.sh [--sizes 1000000,10000000] [--runs 3] [--data DIR]
#
# For each size N: N random PDQ hashes and 20,000 queries, every 20th a planted near-duplicate
# (1-20 bits flipped) of an entry (benches/pdq_scale.py gen, numpy, seeded). Then:
#  - vigie index build: seconds, peak RSS, bytes per entry, structure chosen;
#  - vigie match -j1 on the 20,000 queries (one thread): queries/s from the run summary
#    (index open excluded), recall on the planted pairs; median of --runs;
#  - faiss-cpu on one thread, same data: IndexBinaryFlat (first 200 queries) and
#    IndexBinaryMultiHash(256, 16, 16) with nflip 1 as HMA builds it (first 500 queries).
# faiss-cpu and numpy are installed from PyPI into a virtualenv under the data directory.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=1000000,10000000
runs=3
data=${VIGIE_BENCH_DATA:-target/bench-pdq}
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$data"
venv="$data/venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q faiss-cpu numpy
fi
py="$venv/bin/python"
cargo build --release -q
vigie=target/release/vigie

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '| entries | tool | queries/s/core | recall (planted) | bytes/entry | build s | build peak RSS MiB |\n'
printf '|---:|---|---:|---:|---:|---:|---:|\n'
IFS=, read -r -a list <<< "$sizes"
for n in "${list[@]}"; do
  d="$data/$n"
  [ -f "$d/planted.csv" ] || "$py" benches/pdq_scale.py gen --n "$n" --out "$d"
  /usr/bin/time -f "%e %M" -o "$d/build.time" "$vigie" index build -q --type pdq -o "$d/idx" "$d/entries.te"
  read -r bsecs brss < "$d/build.time"
  bytes=$(stat -c %s "$d/idx")
  qps=$(for _ in $(seq "$runs"); do
    "$vigie" match -q -j1 --type pdq -i "$d/idx" "$d/queries.te" -o "$d/hits.jsonl" --summary "$d/sum.json" || [ $? -eq 1 ]
    "$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['items_per_s'])" "$d/sum.json"
  done | median)
  recall=$("$py" benches/pdq_scale.py recall --dir "$d" --hits "$d/hits.jsonl" | "$py" -c "import json,sys; print(json.load(sys.stdin)['recall'])")
  printf '| %s | vigie (%s) | %.0f | %s | %.1f | %.1f | %.0f |\n' "$n" \
    "$("$vigie" index info "$d/idx" | grep -o 'searched by [a-z -]*' | sed 's/searched by //')" \
    "$qps" "$recall" "$(echo "$bytes / $n" | bc -l)" "$bsecs" "$(echo "$brss / 1024" | bc -l)"
  for kind in mih flat; do
    max=500; [ "$kind" = flat ] && max=200
    "$py" benches/pdq_scale.py faiss --dir "$d" --kind "$kind" --max-queries "$max" \
      | "$py" -c "import json,sys; r=json.load(sys.stdin); print('| %d | %s | %.0f | %.3f | %.1f | %.1f | |' % (r['n'], r['tool'], r['qps'], r['recall'], r['bytes_per_entry'], r['build_s']))"
  done
done
