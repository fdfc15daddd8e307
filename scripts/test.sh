#!/usr/bin/env bash
# The project's test command (README): installs the peer tools the tests compare against
# (hashdeep, xxhsum, zip, unzip, minisign, coreutils) when they are missing, runs every Rust test, then builds the
# Python wheel and runs its tests and the Spark job's (python/test.sh: PyPI packages in
# virtualenvs under target/, Java 17 from the machine). VIGIE_TEST_PYTHON=0 skips the latter.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/apt.sh
missing=()
command -v hashdeep >/dev/null 2>&1 || missing+=(hashdeep)
command -v xxhsum >/dev/null 2>&1 || missing+=(xxhash)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
# zip: a large zip made at test time (read with --no-mmap and from standard input).
command -v zip >/dev/null 2>&1 || missing+=(zip)
command -v minisign >/dev/null 2>&1 || missing+=(minisign)
apt_install "for the interop tests" "${missing[@]}"

# nasm (SIMD JPEG), FFmpeg's libraries and headers for the `video` feature, libclang.
bash scripts/build-deps.sh

cargo test "$@"
if [ "${VIGIE_TEST_PYTHON:-1}" != 0 ]; then
  bash python/test.sh
fi
