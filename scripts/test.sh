#!/usr/bin/env bash
# The project's test command (README): installs the peer tools the tests compare against
# (hashdeep, xxhsum, unzip, coreutils) when they are missing, runs every Rust test, then builds the
# Python wheel and runs its tests and the Spark job's (python/test.sh: PyPI packages in
# virtualenvs under target/, Java 17 from the machine). VIGIE_TEST_PYTHON=0 skips the latter.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v hashdeep >/dev/null 2>&1 || missing+=(hashdeep)
command -v xxhsum >/dev/null 2>&1 || missing+=(xxhash)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
if [ ${#missing[@]} -gt 0 ]; then
  echo "scripts/test.sh: installing ${missing[*]} (Debian packages) for the interop tests" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
fi

# FFmpeg's libraries and headers for the `video` feature (vPDQ), and libclang for its binding.
bash scripts/video-deps.sh

cargo test "$@"
if [ "${VIGIE_TEST_PYTHON:-1}" != 0 ]; then
  bash python/test.sh
fi
