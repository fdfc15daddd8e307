#!/usr/bin/env bash
# The wheel's and the Spark example's tests, from a fresh machine: builds the wheel with maturin
# (build venv), installs it into a clean venv with nothing else (proving `pip install` of the
# wheel alone works), adds the pinned test dependencies (PyPI pyspark, Java 17 from the
# machine), builds the CLI the tests compare against, and runs pytest on python/tests.
# Everything lands under target/ (gitignored). Options: PYTHON (default python3, >= 3.10).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
python=${PYTHON:-python3}
build_venv=$target/pyenv-build
test_venv=$target/pyenv-test
wheels=$target/wheels
scratch=$target/python-tests
maturin_version=1.16.0

if ! command -v java >/dev/null 2>&1; then
  echo "python/test.sh: installing Java 17 (Debian package openjdk-17-jre-headless) for Spark" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y --no-install-recommends openjdk-17-jre-headless >/dev/null 2>&1 \
    || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y --no-install-recommends openjdk-17-jre-headless >/dev/null; }
fi
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || { echo "python/test.sh: $python is older than 3.10" >&2; exit 1; }

step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS" >&2; }

step "build venv: maturin $maturin_version"
[ -x "$build_venv/bin/maturin" ] && "$build_venv/bin/maturin" --version | grep -q "$maturin_version" \
  || { rm -rf "$build_venv"; "$python" -m venv "$build_venv";
       "$build_venv/bin/pip" install -q --disable-pip-version-check "maturin==$maturin_version"; }

step "wheel: maturin build --release"
rm -f "$wheels"/vigie-*.whl
"$build_venv/bin/maturin" build --release --strip --quiet -m python/Cargo.toml -o "$wheels" \
  --interpreter "$build_venv/bin/python"
wheel=$(ls "$wheels"/vigie-*.whl)

step "clean venv: pip install $(basename "$wheel")"
rm -rf "$test_venv"
"$python" -m venv "$test_venv"
"$test_venv/bin/pip" install -q --disable-pip-version-check "$wheel"
(cd / && "$test_venv/bin/python" -c '
import vigie
row = vigie.Scanner(None).scan_bytes(["abc"], [b"abc"]).to_pylist()[0]
assert row["sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", row
print("vigie", vigie.__version__, "imports and scans from a clean venv")')

step "test dependencies (python/requirements-test.txt)"
"$test_venv/bin/pip" install -q --disable-pip-version-check -r python/requirements-test.txt

step "CLI: cargo build --release"
cargo build --release --quiet --bin vigie

step "cargo test -p vigie-python (the crate's own unit tests)"
cargo test --quiet -p vigie-python

step "pytest python/tests"
rm -rf "$scratch"
mkdir -p "$scratch/tmp"
export VIGIE_CLI=$target/release/vigie
export PYSPARK_PYTHON=$test_venv/bin/python PYSPARK_DRIVER_PYTHON=$test_venv/bin/python
export TMPDIR=$scratch/tmp JAVA_TOOL_OPTIONS="-Djava.io.tmpdir=$scratch/tmp"
(cd python/tests && "$test_venv/bin/python" -m pytest -p no:cacheprovider --basetemp="$scratch/pytest" "$@")
step "done"
