#!/usr/bin/env bash
# Scale of `vigie index build`: a plain list of N SHA-1 digests (default 100 million; 40
# lower-case hex digits per line, PRNG output, seeded, so the same list every time) is
# generated under a data directory (never in the repository) and compiled to an index; the
# script reports the build's wall time and peak RSS (GNU time's %M), then checks the index
# with `vigie index info --verify` (time and peak RSS too).
#
#   benches/index_scale.sh [--entries N] [--dir DIR] [--keep] [--no-build]
#
# DIR defaults to $VIGIE_BENCH_DIR or /work/bench-data; the list takes 41 bytes per entry
# (4.1 GB at 100 M) and the index 40 bytes per entry (4.0 GB): both are deleted at the end
# unless --keep (a kept list is reused by the next run). The page cache is warmed with the
# list before the build, so the figure is the build's, not the disk's.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
entries=100000000
dir=${VIGIE_BENCH_DIR:-/work/bench-data}
keep=0
build=1
while [ $# -gt 0 ]; do
    case $1 in
        --entries) entries=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        --no-build) build=0; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
target=${CARGO_TARGET_DIR:-$here/target}
if [ "$build" = 1 ]; then
    (cd "$here" && cargo build --release --quiet)
fi
vigie=$target/release/vigie
mkdir -p "$dir/scale"
list=$dir/scale/sha1-$entries.txt
index=$dir/scale/sha1-$entries.vidx
if [ ! -s "$list" ]; then
    echo "generating $entries SHA-1 lines in $list" >&2
    python3 - "$entries" "$list" <<'PY'
import random, sys
n, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(20261123)
chunk = 1 << 20
with open(path + ".tmp", "w") as f:
    left = n
    while left:
        c = min(chunk, left)
        h = rng.randbytes(20 * c).hex()
        f.write("\n".join(h[i:i + 40] for i in range(0, 40 * c, 40)))
        f.write("\n")
        left -= c
import os
os.replace(path + ".tmp", path)
PY
fi
ls -l "$list" >&2
cat "$list" > /dev/null
log=$dir/scale/time.log
/usr/bin/time -f '%e %M' -o "$log" "$vigie" index build -q -o "$index" "$list"
read -r secs kib < "$log"
echo "entries=$entries build_seconds=$secs peak_rss_kib=$kib peak_rss_gib=$(python3 -c "print(round($kib/2**20, 2))") index_bytes=$(stat -c %s "$index")"
/usr/bin/time -f '%e %M' -o "$log" "$vigie" index info --verify "$index" >&2
read -r vsecs vkib < "$log"
echo "verify_seconds=$vsecs verify_peak_rss_kib=$vkib"
if [ "$keep" = 0 ]; then
    rm -f "$list" "$index"
fi
