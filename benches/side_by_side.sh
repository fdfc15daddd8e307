#!/usr/bin/env bash
# Two vigie builds matched against one index at the same time, one core each, for a speed
# ratio that the noise of a shared machine moves far less than alternated runs do.
#
#   bash benches/side_by_side.sh [--runs 10] OLD_VIGIE NEW_VIGIE INDEX QUERY_LIST
#
# Each round starts `vigie match -q -j1 --type pdq -i INDEX QUERY_LIST` with both binaries
# together (which one starts first alternates from round to round), reads each run's
# queries/s from its --summary, and prints new/old. The last line is the median ratio.
# Make QUERY_LIST long enough for a run of several seconds (e.g. 200,000 queries at 10M:
# benches/pdq_scale.sh writes 20,000, concatenate it ten times).
set -euo pipefail
runs=10
if [ "${1:-}" = --runs ]; then
  runs=$2
  shift 2
fi
if [ $# -ne 4 ]; then
  sed -n '2,10p' "$0" >&2
  exit 2
fi
old=$1 new=$2 index=$3 queries=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rate() {
  python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['items_per_s'])" "$1"
}

ratios=()
for r in $(seq "$runs"); do
  first=$old second=$new
  if [ $((r % 2)) = 0 ]; then first=$new second=$old; fi
  for bin in "$first" "$second"; do
    tag=old
    [ "$bin" = "$new" ] && tag=new
    # Exit status 1 means hits were found.
    ("$bin" match -q -j1 --type pdq -i "$index" "$queries" -o /dev/null \
      --summary "$tmp/$tag.json" || [ $? -eq 1 ]) &
  done
  wait
  o=$(rate "$tmp/old.json") n=$(rate "$tmp/new.json")
  ratio=$(python3 -c "print(f'{$n / $o:.3f}')")
  ratios+=("$ratio")
  printf 'round %d: old %.0f q/s, new %.0f q/s, new/old %s\n' "$r" "$o" "$n" "$ratio"
done
python3 -c "import statistics,sys; print('median new/old', f'{statistics.median(map(float, sys.argv[1:])):.3f}')" "${ratios[@]}"
