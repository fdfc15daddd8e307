#!/usr/bin/env bash
# vPDQ hashing cost: vigie against the live reference (PyPI vpdq 0.2.5, thread_count=1, built
# against the same system FFmpeg) and against FFmpeg decoding alone, in one run, on the same
# videos (default: the reference's 14 sample videos in ../shared/vpdq/videos). CPU seconds
# (user + system) of each, at one hash a second; the outputs of vigie and the reference are
# compared line for line (they must be equal). Both cores: `vigie hash --algo vpdq` over the
# directory with 1 thread and with 2 (wall time).
#
# Usage: benches/vpdq_hash.sh [VIDEO_DIR]
# Needs: the reference's virtualenv at target/vpdq-ref-venv (README "Video (vPDQ)"), ffmpeg.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-../shared/vpdq/videos}
[ -d "$dir" ] || dir=/work/shared/vpdq/videos
cargo build --release --quiet --example vpdq_hash --bin vigie
out=target/vpdq-bench
mkdir -p "$out"
vids=("$dir"/*)
cpu() { # prints user+sys seconds of the command it runs
  /usr/bin/time -f "%U %S %e" -o "$out/time" "$@" >/dev/null
  awk '{printf "%.2f cpu_s (wall %.2f s)", $1 + $2, $3}' "$out/time"
}
echo "videos: ${#vids[@]} in $dir"
echo "reference vpdq 0.2.5 (thread_count=1): $(cpu sh -c "target/vpdq-ref-venv/bin/python scripts/vpdq_reference.py --threads 1 ${vids[*]} > $out/ref.csv")"
echo "vigie (one thread):                    $(cpu sh -c "target/release/examples/vpdq_hash ${vids[*]} > $out/vigie.csv 2>/dev/null")"
echo "ffmpeg -threads 1 decoding alone:      $(cpu sh -c "for v in ${vids[*]}; do ffmpeg -v quiet -threads 1 -i \$v -f null -; done")"
echo "ffmpeg key frames only (nokey skip):   $(cpu sh -c "for v in ${vids[*]}; do ffmpeg -v quiet -threads 1 -skip_frame nokey -i \$v -f null -; done")"
if cmp -s "$out/ref.csv" "$out/vigie.csv"; then
  echo "outputs: identical ($(wc -l < "$out/vigie.csv") frames)"
else
  echo "outputs: DIFFERENT"; exit 1
fi
for t in 1 2; do
  /usr/bin/time -f "%e %U %S" -o "$out/time" target/release/vigie hash --quiet --algo vpdq --threads $t "$dir" -o "$out/vigie-$t.jsonl" >/dev/null
  echo "vigie hash --algo vpdq --threads $t: $(awk '{printf "wall %.2f s, cpu %.2f s", $1, $2 + $3}' "$out/time")"
done
