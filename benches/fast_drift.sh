#!/usr/bin/env bash
# How far the reduced-scale JPEG decode (`--fast-decode`, scan's default) moves perceptual
# hashes: every image under DIR... is hashed twice (full decode, reduced decode), PDQ with
# the 8 dihedral variants, and pHash and dHash, and the Hamming distance of each pair is
# tallied per hash. The maxima, plus a margin, are `FAST_PDQ_DRIFT`, `FAST_PHASH_DRIFT` and
# `FAST_DHASH_DRIFT` (src/perceptual/mod.rs): the screen's slack.
#
#   bash benches/fast_drift.sh [FLAGS] DIR...   (uses $VIGIE, default target/release/vigie,
#                                               built if missing; FLAGS go to `vigie hash`,
#                                               e.g. --unletterbox)
#   bash benches/fast_drift.sh --screen DIR...  (the reduced decode is a scan's screen: a JPEG
#                                               decoded to its luma only, which no `vigie hash`
#                                               flag gives, so hashed by the example
#                                               examples/screen_hashes.rs, $SCREEN_HASHES,
#                                               default target/release/examples/screen_hashes,
#                                               built if missing)
#
# Without --screen the reduced decode is `vigie hash --fast-decode`'s: Pillow draft's RGB
# pixels, which a scan still screens with under --unletterbox.
#
# Corpora: benches/images_corpus.py gen DIR --png-share 0 (photo-like JPEGs, 320x240 to
# 4000x3000, quality 75-95) and its `variants` (resized, recompressed, cropped, mirrored);
# benches/letterbox_corpus.py puts such a corpus in black bars (for --unletterbox).
set -euo pipefail
cd "$(dirname "$0")/.."
SCREEN=0
if [ "${1:-}" = --screen ]; then SCREEN=1; shift; fi
[ $# -ge 1 ] || { echo "usage: $0 [--screen] DIR..." >&2; exit 2; }
TARGET=${CARGO_TARGET_DIR:-target}
VIGIE=${VIGIE:-$TARGET/release/vigie}
[ -x "$VIGIE" ] || cargo build --release --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$VIGIE" hash -q --algo pdq,phash,dhash --pdq-dihedral "$@" > "$tmp/exact.jsonl"
if [ $SCREEN = 1 ]; then
    SCREEN_HASHES=${SCREEN_HASHES:-$TARGET/release/examples/screen_hashes}
    [ -x "$SCREEN_HASHES" ] || cargo build --release --quiet --example screen_hashes
    "$SCREEN_HASHES" "$@" > "$tmp/fast.jsonl"
else
    "$VIGIE" hash -q --algo pdq,phash,dhash --pdq-dihedral --fast-decode "$@" > "$tmp/fast.jsonl"
fi
python3 - "$tmp/exact.jsonl" "$tmp/fast.jsonl" <<'PY'
import json, sys
def load(p):
    out = {}
    for line in open(p):
        r = json.loads(line)
        if "pdq_dihedral" in r:
            out[(r["path"], r.get("member"))] = r
    return out
exact, fast = load(sys.argv[1]), load(sys.argv[2])
bits = lambda a, b: bin(int(a, 16) ^ int(b, 16)).count("1")
for name, pairs in [
    ("pdq (dihedral variants)", lambda e, f: zip(e["pdq_dihedral"], f["pdq_dihedral"])),
    ("phash", lambda e, f: [(e["phash"], f["phash"])]),
    ("dhash", lambda e, f: [(e["dhash"], f["dhash"])]),
]:
    dist = []
    moved = 0
    for k, e in exact.items():
        d = [bits(a, b) for a, b in pairs(e, fast[k])]
        moved += any(d)
        dist.extend(d)
    dist.sort()
    n = len(dist)
    pct = lambda q: dist[min(n - 1, int(q * n))]
    hist = {}
    for d in dist:
        hist[d] = hist.get(d, 0) + 1
    print(f"{name}: images {len(exact)}, moved {moved}, pairs {n}")
    print(f"  drift bits: max {dist[-1]}, p99.9 {pct(0.999)}, p99 {pct(0.99)}, p90 {pct(0.9)}, median {pct(0.5)}")
    print("  histogram (bits: pairs): " + ", ".join(f"{k}: {v}" for k, v in sorted(hist.items())))
PY
