# The prelude the image benchmarks share (sourced by benches/images_e2e.sh and
# benches/images_large.sh, not run): the release build (with libjpeg-turbo's SIMD when nasm is
# there), the Debian packages they need and the Python virtualenv of the peers.
#
# The caller sets REPO, BENCH_DIR (absolute), BUILD (1 to build) and ME (its name, for messages),
# then calls images_build, images_apt PKG... and images_venv; they set VIGIE, SIMD, PY and PYVERS.

# shellcheck source=benches/lib.sh
source "$REPO/benches/lib.sh"

# mozjpeg-sys compiles libjpeg-turbo's x86 SIMD only if nasm was on PATH when its build script
# ran; the SIMD entry points (jsimd_*) are then linked into the binary (debug = 1: symbols).
# `vigie --version` says it (from mozjpeg-sys's build facts); the symbol names are only a
# fallback, since the release binary is stripped of them.
has_simd() {
    "$1" --version 2>/dev/null | grep -q '^SIMD JPEG decoding (libjpeg-turbo): yes' ||
        grep -qa 'jsimd_idct_islow_avx2\|jsimd_idct_islow_sse2\|jsimd_idct_islow_neon' "$1"
}

# Sets TARGET_DIR ($CARGO_TARGET_DIR, default <repo>/target), VIGIE (its release binary) and SIMD.
images_build() {
    log "build"
    TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
    VIGIE="$TARGET_DIR/release/vigie"
    if [[ "$BUILD" == 1 ]]; then
        (cd "$REPO" && cargo build --release --quiet --bin vigie)
        # Cargo does not rerun that build script when nasm appears later: rebuild it once.
        if command -v nasm >/dev/null && ! has_simd "$VIGIE"; then
            echo "nasm is installed but mozjpeg-sys was built without it: rebuilding it" >&2
            (cd "$REPO" && cargo clean --release --quiet -p mozjpeg-sys && cargo build --release --quiet --bin vigie)
        fi
    fi
    [[ -x "$VIGIE" ]] || die "no binary at $VIGIE (build it, or set CARGO_TARGET_DIR)"
    if has_simd "$VIGIE"; then SIMD="libjpeg-turbo SIMD"; else SIMD="no SIMD (built without nasm)"; fi
    echo "vigie: $VIGIE ($SIMD); $(nproc) cores" >&2
}

# images_apt PKG...: installs the Debian packages among PKG that are missing (dpkg -s), with
# apt_install (scripts/lib/apt.sh). GNU time and python3 with venv are always wanted.
images_apt() {
    local need=() p
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
    [[ -x /usr/bin/time ]] || need+=(time)
    command -v python3 >/dev/null || need+=(python3 python3-venv)
    apt_install "for the image benchmarks" "${need[@]}" || die "could not install ${need[*]}"
}

# Sets PY (BENCH_DIR/venv's python, with PyPI pdqhash, Pillow, numpy, ImageHash, matplotlib;
# made once, then reused) and PYVERS (their versions).
images_venv() {
    log "python venv ($BENCH_DIR/venv)"
    local venv="$BENCH_DIR/venv"
    PY="$venv/bin/python"
    if ! [[ -x "$PY" ]] || ! "$PY" -c 'import pdqhash, PIL, numpy, imagehash, matplotlib' 2>/dev/null; then
        [[ -x "$PY" ]] || python3 -m venv "$venv" || die "python3 -m venv failed (apt-get install python3-venv?)"
        "$PY" -m pip install -q --upgrade pip >&2
        "$PY" -m pip install -q pdqhash pillow numpy ImageHash matplotlib >&2
    fi
    PYVERS="$("$PY" - <<'EOF'
import sys, importlib.metadata as m
print(f"python {sys.version.split()[0]}, " + ", ".join(f"{p} {m.version(p)}" for p in ("Pillow", "numpy", "pdqhash", "ImageHash")))
EOF
)"
    echo "$PYVERS" >&2
}
