#!/usr/bin/env bash
# The bundled example (README): compile the two example lists into an index, scan the example
# dump (a directory tree holding a pax tar shard), and print every hit as JSON lines.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-deps.sh  # nasm, FFmpeg's libraries, libclang (Debian packages), when missing
cargo build --release --quiet
vigie=target/release/vigie
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

$vigie index build -o "$out/example.vigie" \
  --label known-propaganda fixtures/example/lists/known-bad.sha256 \
  --name partner-feed fixtures/example/lists/partner.md5
$vigie index info "$out/example.vigie"
echo
status=0
$vigie scan --index "$out/example.vigie" --summary "$out/summary.json" fixtures/example/dump || status=$?
echo
echo "summary (--summary FILE):"
cat "$out/summary.json"
case $status in
  1) echo "exit status 1: matches found, as expected for this example" ;;
  0) echo "exit status 0: nothing found (unexpected for this example)"; exit 1 ;;
  *) echo "exit status $status: the scan was incomplete"; exit "$status" ;;
esac
