#!/usr/bin/env bash
# Containers benchmark (issue 18): 20,000 files (2 GiB) as a tar, a stored zip and a deflated
# zip; vigie's rate on each, against `unzip -p | sha256sum` for the deflated one; and the time
# and peak memory of a 100,000-member zip and a 10 GiB deflate bomb.
#
#   bash benches/containers.sh [--small] [--runs N] [--dir DIR] [--no-build]
#
# --small: 2,000 files, 256 MiB (a few minutes). DIR defaults to <repo>/bench-data/containers;
# the corpus is generated once there (about 6 GiB with the full size) and reused.
# Prints a Markdown report (docs/bench/containers.md keeps the last one) and writes
# DIR/<size>/results.json.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$REPO/bench-data/containers" RUNS=5 BUILD=1 FILES=20000 BYTES=$((2 << 30)) SIZE=full
while [[ $# -gt 0 ]]; do
    case "$1" in
        --small) FILES=2000 BYTES=$((256 << 20)) SIZE=small ;;
        --runs) RUNS="$2"; shift ;;
        --dir) DIR="$2"; shift ;;
        --no-build) BUILD=0 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "containers.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done
# shellcheck source=lib.sh
source "$REPO/benches/lib.sh"
need=()
for t in zip unzip; do command -v "$t" >/dev/null || need+=("$t"); done
apt_install "for the containers benchmark" "${need[@]}"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
if [[ "$BUILD" == 1 ]]; then
    (cd "$REPO" && cargo build --release --quiet --bin vigie)
fi
exec python3 "$REPO/benches/containers.py" --vigie "$TARGET_DIR/release/vigie" \
    --dir "$DIR/$SIZE" --files "$FILES" --bytes "$BYTES" --runs "$RUNS"
