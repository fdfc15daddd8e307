#!/usr/bin/env bash
# vPDQ matching at blocklist scale (issue 17, Performance, "Matching"), in one run:
#   an index of 10,000 known videos x 60 frames (100 real videos made with ffmpeg, 9,900
#   synthetic), 200 query videos (100 transformed copies made with ffmpeg: re-encoded, scaled,
#   cropped, clipped, watermarked, frame rate changed; 100 unrelated, 40 of them similar on
#   purpose). Verdicts of the reference algorithm by brute force (python-threatexchange's vPDQ
#   comparison, numpy), python-threatexchange's VPDQIndex (PyPI threatexchange + faiss-cpu, one
#   thread) and vigie (`index build`, `match -j1` on the queries' signals, `scan -j1` on the query
#   videos, decoding included) must agree; build and query CPU times, medians of --runs rounds,
#   the tools run side by side in each round.
#
#   benches/vpdq_match.sh [--runs N] [--dir DIR] [--no-build] [--no-vigie] [--no-scan]
#                         [--scan-every-round] [--seed N]
#
# `scan` (200 videos decoded) runs in the first round only, unless --scan-every-round.
# DIR (default $VPDQ_BENCH_DIR or <repo>/target/vpdq-match) holds the corpus (~300 small videos,
# ~130 MB of lists; reused when its parameters match) and each run's outputs; nothing of it is
# committed. Writes DIR/results.json and DIR/results.md (docs/bench/vpdq-match.md is that file
# as committed). Installs what it needs: ffmpeg, fonts-dejavu-core, FFmpeg's dev libraries, cmake
# and python3-venv (apt-get), and in DIR/venv: numpy, vpdq 0.2.5 (built against the system
# FFmpeg), threatexchange, faiss-cpu (pip).
# Exit 1 when verdicts differ or a step fails; a missed rate target is reported, not fatal.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$REPO/benches/vpdq_match"
DIR="${VPDQ_BENCH_DIR:-$REPO/target/vpdq-match}"
RUNS=3
BUILD=1
VIGIE_ON=1
SCAN=1
SCAN_ALL=0
SEED=17
usage() { sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) RUNS="$2"; shift ;;
        --dir) DIR="$2"; shift ;;
        --seed) SEED="$2"; shift ;;
        --no-build) BUILD=0 ;;
        --no-vigie) VIGIE_ON=0 ;;
        --no-scan) SCAN=0 ;;
        --scan-every-round) SCAN_ALL=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "vpdq_match.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "vpdq_match.sh: --runs wants a positive integer" >&2; exit 2; }
# shellcheck source=benches/lib.sh
source "$REPO/benches/lib.sh"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
CORPUS="$DIR/corpus"
OUT="$DIR/run"
rm -rf "$OUT"; mkdir -p "$OUT"

# ---------------------------------------------------------------------------------------------
log "dependencies"
need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ]] || need+=(fonts-dejavu-core)
[[ -x /usr/bin/time ]] || need+=(time)
command -v cmake >/dev/null || need+=(cmake)
python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
for lib in libavformat libavcodec libswscale libavutil libavdevice libavfilter libswresample; do
    pkg-config --exists "$lib" 2>/dev/null || { need+=(pkg-config libavcodec-dev libavformat-dev libswscale-dev
        libavdevice-dev libavfilter-dev libswresample-dev libavutil-dev); break; }
done
apt_install "for FFmpeg, the vpdq peer's build and its venv" "${need[@]}" || die "could not install ${need[*]}"
VENV="$DIR/venv"
PY="$VENV/bin/python"
if ! [[ -x "$PY" ]] || ! "$PY" -c 'import numpy, vpdq, faiss, threatexchange.extensions.vpdq.vpdq_index' 2>/dev/null; then
    [[ -x "$PY" ]] || python3 -m venv "$VENV" || die "python3 -m venv failed (apt-get install python3-venv?)"
    "$PY" -m pip install -q --upgrade pip >&2
    "$PY" -m pip install -q cython scikit-build-core numpy setuptools wheel >&2
    # a source package: built against the system FFmpeg, like vigie (../shared/vpdq/VPDQ_NOTES.md)
    "$PY" -m pip install -q --no-build-isolation vpdq==0.2.5 >&2
    "$PY" -m pip install -q threatexchange faiss-cpu >&2
fi
PYVERS="$("$PY" - <<'EOF'
import sys, importlib.metadata as m
print(f"python {sys.version.split()[0]}, " + ", ".join(f"{p} {m.version(p)}" for p in ("threatexchange", "faiss-cpu", "vpdq", "numpy")))
EOF
)"
FFVERS="$(ffmpeg -version | head -1 | awk '{print $3}')"
echo "$PYVERS; ffmpeg $FFVERS" >&2

VIGIE="${CARGO_TARGET_DIR:-$REPO/target}/release/vigie"
if [[ "$VIGIE_ON" == 1 ]]; then
    log "build"
    if [[ "$BUILD" == 1 ]]; then
        bash "$REPO/scripts/build-deps.sh"
        (cd "$REPO" && cargo build --release --quiet --bin vigie)
    fi
    [[ -x "$VIGIE" ]] || die "no binary at $VIGIE (build it, or set CARGO_TARGET_DIR, or --no-vigie)"
fi

# ---------------------------------------------------------------------------------------------
log "corpus ($CORPUS, seed $SEED)"
"$PY" "$HERE/gen_corpus.py" "$CORPUS" --seed "$SEED"
KNOWN="$CORPUS/lists/known.csv"
QUERIES="$CORPUS/lists/queries.csv"

log "reference verdicts by brute force"
REF="$OUT/reference.jsonl"
# kept beside the corpus, keyed by the lists' digest: the same lists give the same verdicts
KEY="$(cat "$KNOWN" "$QUERIES" | sha256sum | cut -c1-16)"
if [[ -s "$DIR/reference-$KEY.jsonl" && -s "$DIR/reference-$KEY.json" ]]; then
    echo "reference: reusing $DIR/reference-$KEY.jsonl (same lists)" >&2
else
    (cd "$HERE" && OMP_NUM_THREADS=1 "$PY" reference.py "$KNOWN" "$QUERIES" "$DIR/reference-$KEY.jsonl.tmp" \
        --report "$DIR/reference-$KEY.json.tmp") \
        || die "the reference disagrees with threatexchange's brute matcher (see above)"
    mv "$DIR/reference-$KEY.json.tmp" "$DIR/reference-$KEY.json"
    mv "$DIR/reference-$KEY.jsonl.tmp" "$DIR/reference-$KEY.jsonl"
fi
cp "$DIR/reference-$KEY.jsonl" "$REF"
cp "$DIR/reference-$KEY.json" "$OUT/reference.json"

# ---------------------------------------------------------------------------------------------
# Each round: threatexchange's index (build, 200 queries), then vigie (index build, match -j1,
# scan -j1), one after the other on the same machine. CPU = user + system of the process (the
# match runs timed to the microsecond by rusage.py: they take tens of milliseconds).
cpu_of() { tail -1 "$1" | awk '{printf "%.4f", $1 + $2}'; }  # last line: GNU time may say "Command exited..." first
if [[ "$VIGIE_ON" == 1 ]] && ! "$VIGIE" index build -q -o "$OUT/probe.vigie" "$CORPUS/lists/known-txt/known-00000.txt" 2>"$OUT/probe.err"; then
    echo "vigie cannot index vPDQ lists yet ($(head -1 "$OUT/probe.err")): its side is skipped" >&2
    VIGIE_ON=0
fi
head -2 "$QUERIES" > "$OUT/query1.csv"  # the header and the first query
for r in $(seq "$RUNS"); do
    log "round $r of $RUNS"
    (cd "$HERE" && OMP_NUM_THREADS=1 "$PY" te_index.py "$KNOWN" "$QUERIES" "$OUT/te-$r.jsonl") > "$OUT/te-$r.json"
    cat "$OUT/te-$r.json" >&2
    if [[ "$VIGIE_ON" == 1 ]]; then
        /usr/bin/time -f "%U %S %e %M" -o "$OUT/build-$r.time" \
            "$VIGIE" index build -q -o "$OUT/known.vigie" "$KNOWN"
        python3 "$HERE/rusage.py" "$OUT/match-$r.time" \
            "$VIGIE" match -q -j1 -i "$OUT/known.vigie" --format jsonl -o "$OUT/vigie-match-$r.jsonl" \
            --summary "$OUT/match-$r.summary.json" "$QUERIES" || [[ $? -eq 1 ]]
        # The same process on the first query alone: its fixed cost (start, FFmpeg's shared
        # libraries loaded, the index opened and its checksums verified).
        python3 "$HERE/rusage.py" "$OUT/match1-$r.time" \
            "$VIGIE" match -q -j1 -i "$OUT/known.vigie" --format jsonl -o "$OUT/vigie-match1-$r.jsonl" \
            "$OUT/query1.csv" || [[ $? -eq 1 ]]
        echo "vigie index build: $(cpu_of "$OUT/build-$r.time") s CPU; match -j1: $(cpu_of "$OUT/match-$r.time") s CPU; one query: $(cpu_of "$OUT/match1-$r.time") s CPU" >&2
        if [[ "$SCAN" == 1 && ( "$r" == 1 || "$SCAN_ALL" == 1 ) ]]; then
            /usr/bin/time -f "%U %S %e %M" -o "$OUT/scan-$r.time" \
                "$VIGIE" scan -q -j1 -i "$OUT/known.vigie" --format jsonl -o "$OUT/vigie-scan-$r.jsonl" \
                --summary "$OUT/scan-$r.summary.json" "$CORPUS/videos/queries" || [[ $? -eq 1 ]]
            echo "vigie scan -j1 (200 videos, decoding included): $(cpu_of "$OUT/scan-$r.time") s CPU" >&2
        fi
    fi
done

# ---------------------------------------------------------------------------------------------
log "verdicts"
status=0
cmp_to_ref() { # LABEL FILE
    (cd "$HERE" && "$PY" verdicts.py compare "$REF" "$2" --label "$1") >> "$OUT/compare.jsonl" || status=1
    tail -1 "$OUT/compare.jsonl" >&2
}
: > "$OUT/compare.jsonl"
cmp_to_ref "threatexchange VPDQIndex" "$OUT/te-1.jsonl"
if [[ "$VIGIE_ON" == 1 ]]; then
    (cd "$HERE" && "$PY" verdicts.py vigie "$QUERIES" "$OUT/vigie-match-1.jsonl" "$OUT/vigie-match.norm.jsonl" "$KNOWN")
    cmp_to_ref "vigie match" "$OUT/vigie-match.norm.jsonl"
    # the index built from the reference CLI's per-frame files must give the same verdicts
    "$VIGIE" index build -q -o "$OUT/known-txt.vigie" "$CORPUS"/lists/known-txt/*.txt
    "$VIGIE" match -q -j1 -i "$OUT/known-txt.vigie" --format jsonl -o "$OUT/vigie-match-txt.jsonl" "$QUERIES" || [[ $? -eq 1 ]]
    (cd "$HERE" && "$PY" verdicts.py vigie "$QUERIES" "$OUT/vigie-match-txt.jsonl" "$OUT/vigie-match-txt.norm.jsonl" "$KNOWN")
    cmp_to_ref "vigie match (index from per-frame files)" "$OUT/vigie-match-txt.norm.jsonl"
    if [[ "$SCAN" == 1 ]]; then
        (cd "$HERE" && "$PY" verdicts.py vigie "$QUERIES" "$OUT/vigie-scan-1.jsonl" "$OUT/vigie-scan.norm.jsonl" "$KNOWN")
        cmp_to_ref "vigie scan" "$OUT/vigie-scan.norm.jsonl"
    fi
fi

log "report"
VIGIE_VERS=""
[[ "$VIGIE_ON" == 1 ]] && VIGIE_VERS="$("$VIGIE" --version 2>/dev/null || true)"
COMMIT="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')"
(cd "$HERE" && "$PY" report.py --dir "$DIR" --runs "$RUNS" --vigie "$VIGIE_ON" --scan "$SCAN" \
    --scan-runs "$([[ "$SCAN_ALL" == 1 ]] && echo "$RUNS" || echo 1)" \
    --versions "$PYVERS; ffmpeg $FFVERS${VIGIE_VERS:+; $VIGIE_VERS}" --commit "$COMMIT" --cores "$(nproc)")
exit $status
