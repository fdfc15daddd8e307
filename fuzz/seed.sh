#!/usr/bin/env bash
# Seeds each fuzz target's corpus (fuzz/corpus/TARGET/, not in git) from the repository's
# fixtures: tars and compressed tars, every list format, indexes built from the example lists,
# images, DCSO Bloom filters. Run from anywhere; idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
fx=$root/fixtures
c=$here/corpus
mkdir -p "$c"/{tar,lists,index,image,engine,bloom,video,zip,stream,sevenz}
cp -f "$fx"/tar/*.tar "$fx"/example/dump/*.tar "$c/tar/"
cp -f "$fx"/tar/*.tar* "$fx"/example/dump/*.tar "$c/engine/"
cp -f "$fx"/containers/*.zip "$c/zip/"
cp -f "$fx"/containers/*.zip "$c/engine/"
cp -f "$fx"/containers/*.7z "$c/sevenz/"
cp -f "$fx"/containers/*.7z "$c/engine/"
for f in "$fx"/containers/*.gz "$fx"/containers/*.xz "$fx"/containers/*.bz2 \
  "$fx"/containers/*.zst "$fx"/tar/*.tar.*; do
  cp -f "$f" "$c/stream/" && cp -f "$f" "$c/engine/"
done
# A list seed is a format-picking byte, then the list (0xff: detect the format).
i=0
find "$fx/lists" "$fx/example/lists" -type f -size -256k ! -name '*.db' ! -name '*.md' | sort |
  while read -r f; do
    { printf '\xff'; cat "$f"; } > "$c/lists/seed-$i"
    i=$((i + 1))
  done
for f in "$fx"/images/*.jpg "$fx"/images/*.png "$fx"/hostile/*.png "$fx"/fastdecode/*.jpg; do
  [ -f "$f" ] && [ "$(stat -c %s "$f")" -lt 262144 ] && cp -f "$f" "$c/image/" && cp -f "$f" "$c/engine/"
done
vigie=$root/target/release/vigie
[ -x "$vigie" ] || (cd "$root" && cargo build --release --quiet --bin vigie)
"$vigie" index build -q -o "$c/index/example.vigie" "$fx"/example/lists/*
"$vigie" index build -q -o "$c/index/example-linear-pdq.vigie" --pdq-search linear \
  --type pdq <(printf 'pdq %s\n' f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22)
# A merged index (its lists' sources carried over, format version 7 on).
"$vigie" index merge -q --qualify -o "$c/index/merged.vigie" "$c/index/example.vigie" \
  "$c/index/example-linear-pdq.vigie"
# Bloom filters: the hashlookup sample, and two tiny ones (m = 64 and m = 7 bits, one word).
cp -f "$fx"/hashlookup/*.bloom "$c/bloom/"
le64() { local i; for i in 0 1 2 3 4 5 6 7; do printf "\\x$(printf %02x $((($1 >> (8 * i)) & 255)))"; done; }
bloom() { # n p-bits k m inserted, then the bits (one word of 0xff)
  printf '\x01\x00\x00\x00\x00\x00\x00\x00'
  le64 "$1"; le64 "$2"; le64 "$3"; le64 "$4"; le64 "$5"
  printf '\xff\xff\xff\xff\xff\xff\xff\xff'
}
bloom 1 $((0x3fe0000000000000)) 1 64 1 > "$c/bloom/tiny-m64.bloom"
bloom 2 $((0x3fb999999999999a)) 3 7 2 > "$c/bloom/tiny-m7.bloom"
"$vigie" index build -q -o "$c/index/example-bloom.vigie" "$fx"/example/lists/* \
  "$fx"/hashlookup/known-sha1.dcso.bloom
# Videos: the smallest fixture, and one-second 64x64 clips in other containers when ffmpeg is
# installed.
cp -f "$fx"/video/test-padded-dimensions.mp4 "$c/video/"
if command -v ffmpeg >/dev/null; then
  for spec in "x264.mkv libx264" "vp8.webm libvpx" "mpeg4.avi mpeg4" "flv1.flv flv" \
      "mpeg2.ts mpeg2video" "mjpeg.mov mjpeg" "x264.mp4 libx264"; do
    set -- $spec
    ffmpeg -v error -y -f lavfi -i testsrc2=size=64x64:rate=10:duration=1 -c:v "$2" \
      -pix_fmt yuv420p "$c/video/seed-$1" || true
  done
fi
echo "seeded: $(find "$c" -type f | wc -l) files under $c"
