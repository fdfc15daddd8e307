#!/usr/bin/env bash
# Installs what building vigie needs beyond Rust, when missing (Debian packages): nasm, with
# which libjpeg-turbo (mozjpeg-sys) assembles its SIMD JPEG decoder (without it everything
# builds and gives the same hashes, with a slower decoder); and for the `video` cargo feature
# (on by default) FFmpeg's development packages (libavformat, libavcodec, libswscale,
# libavutil; found through pkg-config) and libclang (ffmpeg-sys-next runs bindgen over
# FFmpeg's headers). A build without FFmpeg is `cargo build --no-default-features` (videos are
# then failed items, never silently skipped). Called by scripts/example.sh, scripts/test.sh and
# .ci/run, before their first build.
set -euo pipefail
source "$(dirname "$0")/lib/apt.sh"
pkgs=()
command -v nasm >/dev/null 2>&1 || pkgs+=(nasm)
command -v pkg-config >/dev/null 2>&1 || pkgs+=(pkg-config)
for lib in libavformat libavcodec libswscale libavutil; do
  pkg-config --exists "$lib" 2>/dev/null || { pkgs+=(libavformat-dev libavcodec-dev libswscale-dev libavutil-dev); break; }
done
ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || ls /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1 \
  || pkgs+=(libclang-dev clang)
apt_install "to build vigie (SIMD JPEG decoding, FFmpeg for videos)" "${pkgs[@]}" \
  || echo "build-deps.sh: could not install ${pkgs[*]}: a build may lack SIMD or fail to find FFmpeg (then build with --no-default-features)" >&2
