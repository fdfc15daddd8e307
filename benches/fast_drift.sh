#!/usr/bin/env bash
# How far the reduced-scale JPEG decode (`--fast-decode`, scan's default) moves PDQ hashes:
# every image under DIR... is hashed twice (full decode, reduced decode), with the 8 dihedral
# variants, and the Hamming distance of each variant pair is tallied. The maximum, plus a
# margin, is `FAST_PDQ_DRIFT` (src/perceptual/mod.rs): the screen's slack.
#
#   bash benches/fast_drift.sh [FLAGS] DIR...   (uses $VIGIE, default target/release/vigie,
#                                               built if missing; FLAGS go to `vigie hash`,
#                                               e.g. --unletterbox)
#
# Corpora: benches/images_corpus.py gen DIR --png-share 0 (photo-like JPEGs, 320x240 to
# 4000x3000, quality 75-95) and its `variants` (resized, recompressed, cropped, mirrored);
# benches/letterbox_corpus.py puts such a corpus in black bars (for --unletterbox).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 DIR..." >&2; exit 2; }
VIGIE=${VIGIE:-target/release/vigie}
[ -x "$VIGIE" ] || cargo build --release --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$VIGIE" hash -q --algo pdq --pdq-dihedral "$@" > "$tmp/exact.jsonl"
"$VIGIE" hash -q --algo pdq --pdq-dihedral --fast-decode "$@" > "$tmp/fast.jsonl"
python3 - "$tmp/exact.jsonl" "$tmp/fast.jsonl" <<'PY'
import json, sys
def load(p):
    out = {}
    for line in open(p):
        r = json.loads(line)
        if "pdq_dihedral" in r:
            out[(r["path"], r.get("member"))] = r["pdq_dihedral"]
    return out
exact, fast = load(sys.argv[1]), load(sys.argv[2])
dist = []
moved = 0
for k, e in exact.items():
    f = fast[k]
    d = [bin(int(a, 16) ^ int(b, 16)).count("1") for a, b in zip(e, f)]
    moved += any(d)
    dist.extend(d)
dist.sort()
n = len(dist)
pct = lambda q: dist[min(n - 1, int(q * n))]
print(f"images {len(exact)}, reduced (some variant moved) {moved}, variant pairs {n}")
print(f"drift bits: max {dist[-1]}, p99.9 {pct(0.999)}, p99 {pct(0.99)}, p90 {pct(0.9)}, median {pct(0.5)}")
hist = {}
for d in dist:
    hist[d] = hist.get(d, 0) + 1
print("histogram (bits: pairs): " + ", ".join(f"{k}: {v}" for k, v in sorted(hist.items())))
PY
