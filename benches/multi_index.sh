#!/usr/bin/env bash
# Several indexes against one (issue 20, point 1): the corpus of benches/ci.sh (a 256 MiB tar of
# random members, the fixture photos ten times, 1M sha256 digests, 1M PDQ hashes), its lists
# split in halves: A (500k sha256 + 500k PDQ) and B (the other halves). Times, alternately and
# RUNS times each (medians):
#   scan data.tar  with -i AB (one index of all four lists), -i A -i B, -i MERGED (A + B)
#   scan photos/   likewise (PDQ searched per index: two tables of 500k against one of 1M)
#   index build of the four lists, index merge of A and B
#
#   bash benches/multi_index.sh [CORPUS_DIR] [RUNS]     (vigie from target/release)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
c=${1:-/tmp/vigie-multi-index}
runs=${2:-5}
vigie=${VIGIE:-${CARGO_TARGET_DIR:-$repo/target}/release/vigie}
mkdir -p "$c"
python3 "$here/ci_corpus.py" "$c" "$repo/fixtures/pdq/fullres"
[ -s "$c/sha-a.txt" ] || head -500000 "$c/sha256-1m.txt" > "$c/sha-a.txt"
[ -s "$c/sha-b.txt" ] || tail -n +500001 "$c/sha256-1m.txt" > "$c/sha-b.txt"
[ -s "$c/pdq-a.txt" ] || head -500000 "$c/pdq-1m.txt" > "$c/pdq-a.txt"
[ -s "$c/pdq-b.txt" ] || tail -n +500001 "$c/pdq-1m.txt" > "$c/pdq-b.txt"

# median of the wall seconds of N runs of each command, alternately
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
secs() { local s e; s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }

build() { "$vigie" index build -q -o "$1" "${@:2}"; }
declare -A t
for i in $(seq "$runs"); do
  t[build]+="$(secs build "$c/ab.vigie" "$c/sha-a.txt" --type pdq "$c/pdq-a.txt" "$c/sha-b.txt" --type pdq "$c/pdq-b.txt") "
  build "$c/a.vigie" "$c/sha-a.txt" --type pdq "$c/pdq-a.txt"
  build "$c/b.vigie" "$c/sha-b.txt" --type pdq "$c/pdq-b.txt"
  t[merge]+="$(secs "$vigie" index merge -q -o "$c/m.vigie" "$c/a.vigie" "$c/b.vigie") "
  for what in tar photos; do
    input=$c/data.tar
    [ "$what" = photos ] && input=$c/photos
    t[$what-one]+="$(secs "$vigie" scan -q -i "$c/ab.vigie" "$input") "
    t[$what-two]+="$(secs "$vigie" scan -q -i "$c/a.vigie" -i "$c/b.vigie" "$input") "
    t[$what-merged]+="$(secs "$vigie" scan -q -i "$c/m.vigie" "$input") "
  done
done
# The answers agree (records sorted: an item's hits come from each index in turn).
for what in tar photos; do
  input=$c/data.tar
  [ "$what" = photos ] && input=$c/photos
  a=$("$vigie" scan -q --all -i "$c/ab.vigie" "$input" | sort | sha256sum)
  b=$("$vigie" scan -q --all -i "$c/a.vigie" -i "$c/b.vigie" "$input" | sort | sha256sum)
  m=$("$vigie" scan -q --all -i "$c/m.vigie" "$input" | sort | sha256sum)
  [ "$a" = "$b" ] && [ "$a" = "$m" ] || { echo "$what: records differ" >&2; exit 1; }
done
for k in build merge tar-one tar-two tar-merged photos-one photos-two photos-merged; do
  printf '%-14s median %6.2f s of %s runs: %s\n' "$k" \
    "$(tr ' ' '\n' <<< "${t[$k]}" | grep . | median)" "$runs" "${t[$k]}"
done
