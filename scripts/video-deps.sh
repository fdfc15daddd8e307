#!/usr/bin/env bash
# Installs what the `video` cargo feature (on by default) builds against, when missing: Debian's
# FFmpeg development packages (libavformat, libavcodec, libswscale, libavutil; found through
# pkg-config) and libclang (ffmpeg-sys-next runs bindgen over FFmpeg's headers). A build
# without them is `cargo build --no-default-features` (videos then fail as not decoded).
set -euo pipefail
pkgs=()
for lib in libavformat libavcodec libswscale libavutil; do
  pkg-config --exists "$lib" 2>/dev/null || { pkgs+=(libavformat-dev libavcodec-dev libswscale-dev libavutil-dev); break; }
done
command -v pkg-config >/dev/null 2>&1 || pkgs+=(pkg-config)
ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || ls /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1 \
  || pkgs+=(libclang-dev clang)
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "video-deps: installing ${pkgs[*]} (Debian packages) for the video feature" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 \
    || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y --no-install-recommends "${pkgs[@]}" >/dev/null; }
fi
