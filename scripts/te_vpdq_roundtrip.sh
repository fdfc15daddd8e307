#!/usr/bin/env bash
# vPDQ signals between vigie and the real python-threatexchange CLI, both ways (issue 17,
# point 4), on the fixture videos (fixtures/video/*.mp4).
#
#   threatexchange -> vigie: `threatexchange hash video` writes the local signal list
#     (`vpdq [...]` lines), a local_file collaboration over it is fetched and exported with
#     `threatexchange dataset -P --csv`; vigie builds an index from both (and from an
#     every-frame signal written by pytx's vpdq_to_json) and must count every known video.
#   vigie -> threatexchange: `vigie hash --algo vpdq --format te` and `--format te-csv`; every
#     vpdq signal must pass pytx's VPDQSignal.validate_signal_str, equal pytx's own signal
#     for the same video byte for byte, and the te file, fetched by threatexchange as a
#     local_file collaboration, must match the videos (`threatexchange match video`).
#
# Usage: scripts/te_vpdq_roundtrip.sh [--write-fixtures]
#   --write-fixtures copies what threatexchange wrote into fixtures/video/ (te-vpdq.txt,
#   te-vpdq.csv, te-vpdq-s0.txt), which tests/vpdq_lists_cli.rs reads without the network.
# Needs: Python 3 with venv, FFmpeg dev packages (scripts/build-deps.sh), network for pip the
# first time. The virtualenv (target/te-venv) and pytx's state (target/te-roundtrip/home,
# pytx keeps it in ~/.threatexchange) stay under target/.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$ROOT/target/te-venv}
WORK=$ROOT/target/te-roundtrip
WRITE=0
[[ ${1:-} == --write-fixtures ]] && WRITE=1

if [[ ! -x $VENV/bin/threatexchange ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q cython scikit-build-core numpy setuptools wheel
  # A source package, built against the system FFmpeg (as scripts/vpdq_reference.py's).
  "$VENV/bin/pip" install -q --no-build-isolation vpdq==0.2.5
  "$VENV/bin/pip" install -q threatexchange==1.2.17
fi
PY=$VENV/bin/python
TX=$VENV/bin/threatexchange

(cd "$ROOT" && cargo build -q)
VIGIE=$ROOT/target/debug/vigie

rm -rf "$WORK"
mkdir -p "$WORK/home"
export HOME=$WORK/home
cd "$WORK"
VIDEOS=("$ROOT"/fixtures/video/*.mp4)
fail() { echo "FAIL: $*" >&2; exit 1; }

"$TX" config extensions add threatexchange.extensions.vpdq.manifest >/dev/null

# ---- threatexchange -> vigie ----
for v in "${VIDEOS[@]}"; do "$TX" hash video "$v"; done >te-vpdq.txt
"$PY" - "$ROOT/fixtures/video/test-padded-dimensions.mp4" >te-vpdq-s0.txt <<'EOF'
import sys
from threatexchange.extensions.vpdq.vpdq_util import hash_file_compact, vpdq_to_json
print("vpdq " + vpdq_to_json(hash_file_compact(sys.argv[1], seconds_per_hash=0)))
EOF
"$TX" config collab edit local_file --create --filename "$WORK/te-vpdq.txt" "vpdq fixtures" >/dev/null
"$TX" fetch >/dev/null 2>&1
"$TX" dataset -P --csv -c "vpdq fixtures" >te-vpdq.csv
n=$(grep -c '^vpdq,' te-vpdq.csv)
[[ $n == "${#VIDEOS[@]}" ]] || fail "threatexchange exported $n vpdq rows"

"$VIGIE" index build --strict -o tx.vigie te-vpdq.txt te-vpdq.csv te-vpdq-s0.txt >/dev/null
want=$((2 * ${#VIDEOS[@]} + 1))
"$VIGIE" index info tx.vigie | tee index-info.txt | grep -q "videos (vpdq): $want known video" ||
  fail "vigie index info: $(grep -i video index-info.txt)"
echo "threatexchange -> vigie: $want known videos read from te lines, dataset CSV and an every-frame signal"

# ---- vigie -> threatexchange ----
"$VIGIE" hash -q --algo vpdq --format te -o vigie.te "${VIDEOS[@]}"
"$VIGIE" hash -q --algo md5,vpdq --format te-csv -o vigie.csv "${VIDEOS[@]}"
"$VIGIE" hash -q --algo vpdq --vpdq-seconds-per-hash 0 --format te -o vigie-s0.te \
  "$ROOT/fixtures/video/test-padded-dimensions.mp4"
"$PY" - <<'EOF'
import csv
from threatexchange.extensions.vpdq.vpdq import VPDQSignal

def signals(path):
    return sorted(l.split(" ", 1)[1].rstrip("\n") for l in open(path) if l.startswith("vpdq "))

te, tx = signals("vigie.te"), signals("te-vpdq.txt")
with open("vigie.csv", newline="") as f:
    rows = list(csv.DictReader(f))
csv_vpdq = sorted(r["signal_str"] for r in rows if r["signal_type"] == "vpdq")
csv_md5 = sorted(r["signal_str"] for r in rows if r["signal_type"] == "video_md5")
tx_md5 = sorted(l.split()[1] for l in open("te-vpdq.txt") if l.startswith("video_md5 "))
for s in te + csv_vpdq + signals("vigie-s0.te"):
    VPDQSignal.validate_signal_str(s)  # raises ValueError when pytx would refuse it
assert te == tx, "vigie's te signals differ from threatexchange's"
assert csv_vpdq == tx, "vigie's te-csv signals differ from threatexchange's"
assert csv_md5 == tx_md5, "video_md5 rows differ"
assert signals("vigie-s0.te") == signals("te-vpdq-s0.txt"), "every-frame signal differs"
print(f"vigie -> threatexchange: {len(te)} te and {len(csv_vpdq)} te-csv vpdq signals valid "
      f"and byte-equal to threatexchange's (+ 1 every-frame signal of "
      f"{len(signals('vigie-s0.te')[0].split(', '))} frames)")
EOF
"$TX" config collab edit local_file --create --filename "$WORK/vigie.te" "vigie te" >/dev/null
"$TX" fetch >/dev/null 2>&1
n=$("$TX" dataset -P -S -c "vigie te")
n=$(grep -c '^vpdq ' <<<"$n")
[[ $n == "${#VIDEOS[@]}" ]] || fail "threatexchange read $n vpdq signals from vigie's te file"
for v in "${VIDEOS[@]}"; do
  m=$("$TX" match video "$v")
  grep -q '^vpdq 100%.*(vigie te)' <<<"$m" || fail "no vpdq match of $v in vigie's signals: $m"
done
echo "threatexchange read vigie's te file: $n vpdq signals, each fixture video matches its own (100%)"

if ((WRITE)); then
  cp te-vpdq.txt te-vpdq.csv te-vpdq-s0.txt "$ROOT/fixtures/video/"
  echo "wrote fixtures/video/te-vpdq.txt, te-vpdq.csv, te-vpdq-s0.txt"
fi
