#!/usr/bin/env bash
# A nightly vigie scan as a Slurm job array: 64 tasks, each scanning its part of the night's
# manifest (one path per line) and writing part-I-of-64.jsonl atomically into $OUT.
#
#   sbatch --array=0-63%16 examples/array-jobs/slurm-array.sh manifest.txt blocklist.vigie results/
#
# Slurm sets SLURM_ARRAY_TASK_ID in every task (made 0-based with SLURM_ARRAY_TASK_MIN, so
# --array=1-64 works too); `--shard 64` reads it. A requeued or rerun task rescans the same
# inputs and rewrites the same bytes. The union of the parts is one unsharded scan:
#   cat results/part-*-of-64.jsonl
# vigie's exit status: 0 nothing found and everything read, 1 matches found (whatever else
# failed), 2 nothing matched and something could not be read. The task fails (2) when anything
# was left unread, matches or not: the per-part summary's `failed` count decides.
#SBATCH --job-name=vigie-scan
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=02:00:00
#SBATCH --requeue
#SBATCH --output=vigie-%A_%a.log
set -euo pipefail
manifest=${1:?usage: slurm-array.sh MANIFEST INDEX OUTDIR}
index=${2:?usage: slurm-array.sh MANIFEST INDEX OUTDIR}
out=${3:?usage: slurm-array.sh MANIFEST INDEX OUTDIR}
count=${SLURM_ARRAY_TASK_COUNT:?run with sbatch --array}
mkdir -p "$out"
task=$(( SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0} ))
status=0
vigie scan --index "$index" --files-from "$manifest" \
  --shard "$count" -j "${SLURM_CPUS_PER_TASK:-2}" \
  --summary "$out/part-$task-of-$count.summary.json" \
  -o "$out/" || status=$?
# A part passes when it read everything (0, or 1: matches found). A part that matched but
# left items unread exits 1 too: its records (the matches) are written, and the summary's
# `failed` count fails the task, so an incomplete part never looks complete.
if [ "$status" -eq 1 ] && grep -Eq '"failed": *[1-9]' "$out/part-$task-of-$count.summary.json"; then
  exit 2
fi
[ "$status" -le 1 ] || exit "$status"
