#!/usr/bin/env bash
# Speed gate for CI: the headline workloads, this tree against a base revision, side by side
# in one job, as ratios. Absolute times on shared CI machines are noise; the ratio of two
# builds run alternately in the same job is not (much).
#
#   bash benches/ci.sh [--base REV] [--runs N] [--threshold PCT] [--out FILE] [--dir DIR]
#
#   --base REV       the revision to compare with (default: main; a worktree of it is built)
#   --runs N         rounds, each running every workload with both builds in turn, the
#                    order alternating (default 5); medians are compared
#   --threshold PCT  a workload slower than the base by more than PCT % fails the gate
#                    (default 10)
#   --out FILE       the results as JSON for dashboards: github-action-benchmark's
#                    "customSmallerIsBetter" entries (name, unit, value), one per workload and
#                    build, plus each ratio (default DIR/ci-bench.json)
#   --dir DIR        scratch: builds, corpus (default target/ci-bench)
#
# Workloads (one thread each, CPU seconds of the process): exact hashing (md5, sha1, sha256)
# of a generated 256 MiB tar; PDQ hashing of 330 photos (the reference's full-resolution test
# photos, ten copies each); an index build of 1M PDQ hashes and 1M SHA-256 digests; PDQ search
# of 20,000 queries against those 1M hashes (threshold 31). Both builds use the `ci-bench`
# profile (release code without LTO: two builds in a few minutes on 2 cores).
# Exit status: 0 no regression past the threshold, 1 a regression, 2 the gate could not run.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE=main
RUNS=5
THRESHOLD=10
OUT=""
DIR="$REPO/target/ci-bench"
usage() { sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --base) BASE="$2"; shift ;;
        --runs) RUNS="$2"; shift ;;
        --threshold) THRESHOLD="$2"; shift ;;
        --out) OUT="$2"; shift ;;
        --dir) DIR="$2"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "ci.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "ci.sh: --runs wants a positive integer" >&2; exit 2; }
[[ "$THRESHOLD" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "ci.sh: --threshold wants a number" >&2; exit 2; }
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
OUT="${OUT:-$DIR/ci-bench.json}"
# shellcheck source=benches/lib.sh
source "$REPO/benches/lib.sh"
fail() { printf 'ci.sh: %s\n' "$*" >&2; exit 2; }

# ---------------------------------------------------------------------------------------------
log "builds (profile ci-bench): this tree, and $BASE"
bash "$REPO/scripts/build-deps.sh"
BASE_SHA="$(git -C "$REPO" rev-parse --verify --quiet "$BASE^{commit}")" || fail "no revision '$BASE'"
NEW_SHA="$(git -C "$REPO" rev-parse HEAD)"
(cd "$REPO" && CARGO_TARGET_DIR="$DIR/target-new" cargo build --quiet --profile ci-bench --bin vigie) \
    || fail "this tree does not build"
NEW="$DIR/target-new/ci-bench/vigie"
WT="$DIR/base-src"
if [[ ! -d "$WT" ]] || [[ "$(git -C "$WT" rev-parse HEAD 2>/dev/null)" != "$BASE_SHA" ]]; then
    git -C "$REPO" worktree remove --force "$WT" 2>/dev/null || rm -rf "$WT"
    git -C "$REPO" worktree prune
    git -C "$REPO" worktree add --quiet --detach "$WT" "$BASE_SHA"
fi
# The base may predate the ci-bench profile: it is given the same settings from outside.
(cd "$WT" && CARGO_TARGET_DIR="$DIR/target-base" \
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_DEBUG=0 cargo build --quiet --release --bin vigie) \
    || fail "$BASE does not build"
BASE_BIN="$DIR/target-base/release/vigie"

# ---------------------------------------------------------------------------------------------
log "corpus ($DIR/corpus)"
C="$DIR/corpus"
mkdir -p "$C/photos"
python3 "$REPO/benches/ci_corpus.py" "$C" "$REPO/fixtures/pdq/fullres"
"$NEW" index build -q -o "$C/search.vigie" --type pdq "$C/pdq-1m.txt"

# ---------------------------------------------------------------------------------------------
# One run of workload W with binary B: prints its CPU seconds (user + system).
cpu() {
    local out="$DIR/rusage.txt"
    python3 "$REPO/benches/vpdq_match/rusage.py" "$out" "$@" >/dev/null 2>&1 || [[ $? -eq 1 ]] \
        || fail "failed: $*"
    awk '{printf "%.6f\n", $1 + $2}' "$out"
}
run() {
    local bin="$1" w="$2"
    case "$w" in
        exact_tar) cpu "$bin" hash -q -j1 --algo md5,sha1,sha256 -o /dev/null "$C/data.tar" ;;
        pdq_photos) cpu "$bin" hash -q -j1 --algo pdq -o /dev/null "$C/photos" ;;
        index_build) cpu "$bin" index build -q -o "$DIR/build-$RANDOM.vigie" --type pdq "$C/pdq-1m.txt" \
                         --name digests "$C/sha256-1m.txt" ;;
        pdq_search) cpu "$bin" match -q -j1 --type pdq -i "$C/search.vigie" -o /dev/null "$C/queries.txt" ;;
    esac
}
WORKLOADS=(exact_tar pdq_photos index_build pdq_search)
RES="$DIR/rounds.tsv"
: > "$RES"
for r in $(seq "$RUNS"); do
    log "round $r of $RUNS"
    for w in "${WORKLOADS[@]}"; do
        if (( r % 2 )); then order=(base new); else order=(new base); fi
        for who in "${order[@]}"; do
            bin="$NEW"; [[ "$who" == base ]] && bin="$BASE_BIN"
            t="$(run "$bin" "$w")"
            rm -f "$DIR"/build-*.vigie
            printf '%s\t%s\t%s\t%s\n' "$r" "$w" "$who" "$t" >> "$RES"
            printf '%-12s %-5s %8.3f s\n' "$w" "$who" "$t" >&2
        done
    done
done

# ---------------------------------------------------------------------------------------------
log "report"
python3 - "$RES" "$OUT" "$THRESHOLD" "$BASE" "$BASE_SHA" "$NEW_SHA" <<'PY'
import json, statistics, sys
res, out, threshold, base, base_sha, new_sha = sys.argv[1:7]
threshold = float(threshold)
t = {}
for line in open(res):
    _, w, who, secs = line.split("\t")
    t.setdefault(w, {}).setdefault(who, []).append(float(secs))
entries, worst, failed = [], 0.0, []
print(f"base {base} ({base_sha[:12]}) vs this tree ({new_sha[:12]}), medians of CPU seconds, one thread")
print(f"{'workload':<12} {'base s':>9} {'new s':>9} {'new/base':>9}")
for w, by in t.items():
    b, n = statistics.median(by["base"]), statistics.median(by["new"])
    ratio = n / b if b > 0 else float("inf")
    flag = "  REGRESSION" if ratio > 1 + threshold / 100 else ""
    if flag:
        failed.append(w)
    print(f"{w:<12} {b:9.3f} {n:9.3f} {ratio:9.3f}{flag}")
    entries += [{"name": f"{w} (base)", "unit": "s", "value": round(b, 6)},
                {"name": f"{w}", "unit": "s", "value": round(n, 6),
                 "extra": f"rounds: {' '.join('%.3f' % x for x in by['new'])}"},
                {"name": f"{w} new/base", "unit": "ratio", "value": round(ratio, 4)}]
json.dump(entries, open(out, "w"), indent=1)
print(f"results: {out}")
if failed:
    print(f"FAIL: slower than {base} by more than {threshold:g} %: {', '.join(failed)}")
    sys.exit(1)
print(f"OK: no workload slower than {base} by more than {threshold:g} %")
PY
