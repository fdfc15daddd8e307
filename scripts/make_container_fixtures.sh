#!/bin/sh
# Makes fixtures/containers/: archives and compressed streams made by the real tools (Info-ZIP
# zip 3.0, 7z from p7zip-full (7-Zip 26.02), xz, bzip2, gzip, zstd, GNU tar), plus the few files no free
# tool writes (RAR headers, tampered zips), and EXPECTED.tsv: each member's md5 and sha256 as
# `unzip -p` extracts it and coreutils hash it.
#
#   sh scripts/make_container_fixtures.sh        (from the repository root)
#
# Deterministic contents; the archives carry a fixed mtime (TZ=UTC, touch -d). Tools:
#   apt-get install zip unzip p7zip-full xz-utils bzip2 gzip zstd
set -eu
out=$(cd "$(dirname "$0")/.." && pwd)/fixtures/containers
img=$(cd "$(dirname "$0")/.." && pwd)/fixtures/images/rgb.jpg
mkdir -p "$out" && find "$out" -type f ! -name README.md -delete
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
cd "$work"
export TZ=UTC
mkdir src && cd src
printf 'hello world\n' > a.txt
# 5000 bytes that do not compress: byte i is (i*i*7 + i/3) % 256.
python3 -c 'import sys; sys.stdout.buffer.write(bytes((i*i*7 + i//3) % 256 for i in range(5000)))' > b.bin
# 20000 bytes of text that compresses well.
python3 -c 'import sys; sys.stdout.write("".join("line %05d of the known text\n" % i for i in range(20000 // 28 + 1))[:20000])' > c.txt
mkdir -p dir && cp "$img" dir/photo.jpg
# 4 MiB of zeros: a member that expands far past its packed bytes (a bomb in small).
head -c $((4 << 20)) /dev/zero > zeros
touch -d '2024-01-02 03:04:05' a.txt b.bin c.txt dir dir/photo.jpg zeros
# zip: stored (-0), deflated (-9), with a bzip2 member (-Z bzip2), ZIP64 (-fz), encrypted
# (-P, ZipCrypto), data descriptors (from a pipe: `zip - -`), and self-extracting (a stub
# prepended, offsets fixed by `zip -A`).
zip -q -X -0 "$out/stored.zip" a.txt b.bin c.txt dir/photo.jpg
zip -q -X -9 "$out/deflated.zip" a.txt b.bin c.txt dir/photo.jpg
zip -q -X -9 -fz "$out/zip64.zip" a.txt c.txt
zip -q -X -Z bzip2 "$out/bzip2.zip" a.txt b.bin c.txt dir/photo.jpg zeros
zip -q -X -P secret "$out/encrypted.zip" a.txt c.txt
cat c.txt | zip -q -X -9 - - > "$out/descriptor.zip"
printf '#!/bin/sh\necho this stub stands for a self-extractor\nexit 0\n' > stub
zip -q -X -9 sfx-body.zip a.txt c.txt && cat stub sfx-body.zip > "$out/sfx.zip" && rm sfx-body.zip stub
zip -q -A "$out/sfx.zip"
# The other zip methods, by 7-Zip (p7zip-full, 7-Zip 26.02): deflate64, bzip2, LZMA with its
# end marker (flag bit 1) and without (`eos=off`), xz; and PPMd, which vigie does not decode.
# No free tool here writes zstd members (Info-ZIP zip 3.0 and 7-Zip refuse, Python's zipfile
# has them from 3.14): zstd.zip holds members compressed by the zstd CLI (`zstd -19`), its
# headers written by the Python below to APPNOTE 6.3.10 (method 93, version needed 6.3).
sz="7z a -tzip -bd -y -mtc=off -mta=off"
$sz -mm=Deflate64 "$out/deflate64.zip" a.txt b.bin c.txt dir/photo.jpg zeros > /dev/null
$sz -mm=BZip2 "$out/bzip2-7z.zip" a.txt b.bin c.txt dir/photo.jpg zeros > /dev/null
$sz -mm=LZMA "$out/lzma.zip" a.txt b.bin c.txt dir/photo.jpg zeros > /dev/null
$sz -mm=LZMA:eos=off "$out/lzma-noeos.zip" a.txt c.txt zeros > /dev/null
$sz -mm=XZ "$out/xz.zip" a.txt b.bin c.txt dir/photo.jpg zeros > /dev/null
$sz -mm=PPMd "$out/ppmd.zip" a.txt c.txt > /dev/null
for f in a.txt b.bin c.txt dir/photo.jpg zeros; do
    zstd -q -19 -c "$f" > "$work/$(echo "$f" | tr / _).zst"
done
python3 - "$out" "$work" a.txt b.bin c.txt dir/photo.jpg zeros <<'PY'
import struct, sys, zlib
out, work, names = sys.argv[1], sys.argv[2], sys.argv[3:]
# 2024-01-02 03:04:04 in DOS format.
time, date = (3 << 11) | (4 << 5) | 2, ((2024 - 1980) << 9) | (1 << 5) | 2
body, cd = b"", b""
for n in names:
    raw = open(n, "rb").read()
    data = open(work + "/" + n.replace("/", "_") + ".zst", "rb").read()
    crc, name = zlib.crc32(raw), n.encode()
    off = len(body)
    body += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 63, 0, 93, time, date, crc, len(data),
                        len(raw), len(name), 0) + name + data
    cd += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 63 | (3 << 8), 63, 0, 93, time,
                      date, crc, len(data), len(raw), len(name), 0, 0, 0, 0, 0o100644 << 16,
                      off) + name
end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(names), len(names), len(cd),
                  len(body), 0)
open(out + "/zstd.zip", "wb").write(body + cd + end)
PY
# 7z (7-Zip 26 as Debian's p7zip-full ships it): the default (LZMA2, solid), a solid block
# holding every member plus an empty file and an empty directory, one block per member
# (-ms=off), each method vigie decodes (-m0=...), BCJ before LZMA2, Deflate64 (a method it
# does not), content encrypted (-p, 7zAES) and headers encrypted too (-mhe=on). Times are
# left out (-mtm=off -mtc=off -mta=off) so that the archives are reproducible.
mkdir -p emptydir && : > empty.txt && touch -d '2024-01-02 03:04:05' emptydir empty.txt
z7() { 7z a -bd -y -mtm=off -mtc=off -mta=off "$@" > /dev/null; }
z7 "$out/archive.7z" a.txt c.txt
z7 -ms=on "$out/solid.7z" a.txt b.bin c.txt dir/photo.jpg empty.txt emptydir
z7 -ms=off "$out/nonsolid.7z" a.txt b.bin c.txt dir/photo.jpg
for m in LZMA BZip2 PPMd Deflate Copy Deflate64; do
    z7 -m0=$m "$out/$(echo $m | tr 'A-Z' 'a-z').7z" a.txt c.txt
done
z7 -m0=BCJ -m1=LZMA2 "$out/bcj.7z" a.txt c.txt
z7 -psecret -mhe=off "$out/encrypted.7z" a.txt c.txt
z7 -psecret -mhe=on "$out/encrypted-header.7z" a.txt c.txt
# Other containers vigie does not open: each a failed `unsupported` item.
xz -c c.txt > "$out/c.txt.xz"
bzip2 -c c.txt > "$out/c.txt.bz2"
gzip -n -c c.txt > "$out/c.txt.gz"
zstd -q -c c.txt > "$out/c.txt.zst"
# Single compressed streams, decompressed by vigie: a gzip that keeps its name (FNAME c.txt in
# a file named otherwise), two gzip members one after the other, tars in xz and bzip2, and
# streams whose checks fail: a gzip CRC-32 flipped, a zstd content checksum flipped, an xz
# stream cut short, a bzip2 block CRC flipped.
gzip -c c.txt > "$out/renamed.gz"
{ gzip -n -c a.txt; gzip -n -c c.txt; } > "$out/two.gz"
tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime='2024-01-02 03:04:05' \
    -cf - a.txt c.txt | xz -c > "$out/ac.tar.xz"
tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime='2024-01-02 03:04:05' \
    -cf - a.txt c.txt | bzip2 -c > "$out/ac.tar.bz2"
zstd -q --check -c c.txt > "$work/c.zst"
xz -c c.txt > "$work/c.xz"
bzip2 -c c.txt > "$work/c.bz2"
python3 - "$out" "$work" <<'PY'
import sys
out, work = sys.argv[1], sys.argv[2]
g = bytearray(open(out + "/c.txt.gz", "rb").read())
g[-8] ^= 1  # the trailer's CRC-32
open(out + "/badcrc.gz", "wb").write(g)
z = bytearray(open(work + "/c.zst", "rb").read())
z[-1] ^= 1  # the frame's content checksum
open(out + "/badsum.zst", "wb").write(z)
x = open(work + "/c.xz", "rb").read()
open(out + "/cut.xz", "wb").write(x[: len(x) // 2])
b = bytearray(open(work + "/c.bz2", "rb").read())
b[14] ^= 1  # the first block's CRC
open(out + "/badcrc.bz2", "wb").write(b)
PY
# RAR is non-free: signature and a main header block written by hand.
printf 'Rar!\032\007\000\317\220\163\000\000\015\000\000\000\000\000\000\000' > "$out/v4.rar"
printf 'Rar!\032\007\001\000\063\222\265\345\012\001\005\006\000\005\001\001\200\200\000' > "$out/v5.rar"
# Containers as tar members: a zip and a plain gzip inside a tar (not opened: nested).
cp "$out/deflated.zip" inner.zip && cp "$out/c.txt.gz" inner.gz && cp "$out/archive.7z" inner.7z
touch -d '2024-01-02 03:04:05' inner.zip inner.gz inner.7z
tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime='2024-01-02 03:04:05' \
    -cf "$out/nested.tar" a.txt inner.zip inner.gz inner.7z
# 7z nesting: a .tar.gz inside a 7z, a 7z inside a zip.
tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime='2024-01-02 03:04:05' \
    -cf - a.txt dir/photo.jpg | gzip -n > ac.tar.gz && touch -d '2024-01-02 03:04:05' ac.tar.gz
z7 "$out/nested.7z" ac.tar.gz c.txt && rm ac.tar.gz
cp "$out/solid.7z" inner7.7z && touch -d '2024-01-02 03:04:05' inner7.7z
zip -q -X -0 "$out/sevenz.zip" inner7.7z a.txt && rm inner7.7z
# Damaged 7z: a stored (Copy) archive of one block per member with a byte of c.txt flipped
# (its CRC fails; a.txt before it is sound), the same cut short (its header gone), and a
# bomb: 256 MiB of zeros, LZMA2 at -mx9 (about 40 KB, 6500:1: over --max-ratio 1100).
z7 -m0=Copy -ms=off "$work/copy-ms.7z" a.txt c.txt
python3 - "$out" "$work" <<'PY'
import sys
out, work = sys.argv[1], sys.argv[2]
z = bytearray(open(work + "/copy-ms.7z", "rb").read())
at = z.find(b"line 00100 of")
assert at > 0
z[at] ^= 0x20
open(out + "/badcrc.7z", "wb").write(z)
z = open(work + "/copy-ms.7z", "rb").read()
open(out + "/cut.7z", "wb").write(z[: len(z) - 40])
PY
head -c $((256 << 20)) /dev/zero > zeros.bin && touch -d '2024-01-02 03:04:05' zeros.bin
z7 -mx9 "$out/bomb.7z" zeros.bin && rm zeros.bin
# Nesting: a zip holding a .tar.gz (a.txt and the photo) and an xz stream.
tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime='2024-01-02 03:04:05' \
    -cf - a.txt dir/photo.jpg | gzip -n > inner.tar.gz
xz -c c.txt > inner.xz
touch -d '2024-01-02 03:04:05' inner.tar.gz inner.xz
zip -q -X -9 "$out/outer.zip" inner.tar.gz inner.xz
# The same two inside LZMA members (7-Zip): containers met inside any method are opened.
$sz -mm=LZMA "$out/outer-lzma.zip" inner.tar.gz inner.xz > /dev/null
# A recursive bomb in 42.zip's shape, by zip itself: 64 MiB of zeros zipped, 16 copies of that
# zipped, 16 of that, 16 of that: 16 KiB expanding to 256 GiB.
mkdir bomb && (
    cd bomb
    head -c $((64 << 20)) /dev/zero > zeros && touch -d '2024-01-02 03:04:05' zeros
    zip -q -X -9 l1.zip zeros && rm zeros
    for level in 2 3 4; do
        prev=$((level - 1))
        for i in $(seq 1 16); do cp "l$prev.zip" "l$prev-$i.zip"; done
        touch -d '2024-01-02 03:04:05' l$prev-*.zip
        zip -q -X -9 "l$level.zip" l$prev-*.zip && rm l$prev-*.zip "l$prev.zip"
    done
    mv l4.zip "$out/bomb42.zip"
)
# Tampered zips: a CRC changed in both headers (the data no longer verifies), and a local
# header that names another member than its central entry.
python3 - "$out" <<'PY'
import struct, sys
out = sys.argv[1]
z = bytearray(open(out + "/deflated.zip", "rb").read())
# First local header (a.txt): CRC at 14; its central entry: CRC at 16.
crc = struct.unpack_from("<I", z, 14)[0] ^ 1
struct.pack_into("<I", z, 14, crc)
cd = z.find(b"PK\x01\x02")
struct.pack_into("<I", z, cd + 16, crc)
open(out + "/badcrc.zip", "wb").write(z)
z = bytearray(open(out + "/deflated.zip", "rb").read())
assert z[30:35] == b"a.txt"
z[30:35] = b"x.txt"
open(out + "/mismatch.zip", "wb").write(z)
z = open(out + "/deflated.zip", "rb").read()
open(out + "/truncated.zip", "wb").write(z[: len(z) - 30])

# Bombs, written by hand: one member of 1 MiB of zeros (deflated to about 1 KiB) whose central
# entry is repeated 40 times (members sharing their data: 40 MiB declared from a 3 KiB file),
# and one member declaring 4,000,000,000 bytes from the same compressed kilobyte.
import zlib
zeros = b"\0" * (1 << 20)
c = zlib.compressobj(9, zlib.DEFLATED, -15)
data = c.compress(zeros) + c.flush()
crc = zlib.crc32(zeros)
def local(name, size):
    return struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(data),
                       size, len(name), 0) + name
def central(name, size, off):
    return struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc,
                       len(data), size, len(name), 0, 0, 0, 0, 0, off) + name
def end(n, cd, cdoff):
    return struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n, n, len(cd), cdoff, 0)
body = local(b"zeros", len(zeros)) + data
cd = central(b"zeros", len(zeros), 0) * 40
open(out + "/overlap.zip", "wb").write(body + cd + end(40, cd, len(body)))
body = local(b"huge", 4_000_000_000) + data
cd = central(b"huge", 4_000_000_000, 0)
open(out + "/huge.zip", "wb").write(body + cd + end(1, cd, len(body)))
PY
# Expected digests: every member as unzip extracts it, hashed by md5sum and sha256sum.
for z in stored deflated zip64 bzip2 descriptor sfx; do
    for m in $(unzip -Z1 "$out/$z.zip"); do
        case "$m" in */|zeros) continue ;; esac
        md5=$(unzip -p "$out/$z.zip" "$m" | md5sum | cut -d' ' -f1)
        sha=$(unzip -p "$out/$z.zip" "$m" | sha256sum | cut -d' ' -f1)
        printf '%s.zip\t%s\t%s\t%s\n' "$z" "$m" "$md5" "$sha"
    done
done > "$out/EXPECTED.tsv"
# The 7-Zip methods and zstd.zip, as 7-Zip extracts them (`7z x -so`; unzip 6.0 reads
# neither LZMA, xz nor zstd; 7-Zip 26.02 reads zstd members, though it does not write them).
for z in deflate64 bzip2-7z lzma lzma-noeos xz zstd; do
    for m in $(unzip -Z1 "$out/$z.zip"); do
        case "$m" in */) continue ;; esac
        printf '%s.zip\t%s\t%s\t%s\n' "$z" "$m" \
            "$(7z x -so "$out/$z.zip" "$m" | md5sum | cut -d' ' -f1)" \
            "$(7z x -so "$out/$z.zip" "$m" | sha256sum | cut -d' ' -f1)"
    done
done >> "$out/EXPECTED.tsv"
for m in a.txt c.txt; do
    printf 'encrypted.zip\t%s\t%s\t%s\n' "$m" \
        "$(unzip -P secret -p "$out/encrypted.zip" "$m" | md5sum | cut -d' ' -f1)" \
        "$(unzip -P secret -p "$out/encrypted.zip" "$m" | sha256sum | cut -d' ' -f1)"
done >> "$out/EXPECTED.tsv"
# Nested members, as unzip, tar and xz extract them.
for m in a.txt dir/photo.jpg; do
    printf 'outer.zip\tinner.tar.gz/%s\t%s\t%s\n' "$m" \
        "$(unzip -p "$out/outer.zip" inner.tar.gz | tar -xzOf - "$m" | md5sum | cut -d' ' -f1)" \
        "$(unzip -p "$out/outer.zip" inner.tar.gz | tar -xzOf - "$m" | sha256sum | cut -d' ' -f1)"
done >> "$out/EXPECTED.tsv"
printf 'outer.zip\tinner.xz/inner\t%s\t%s\n' \
    "$(unzip -p "$out/outer.zip" inner.xz | xz -dc | md5sum | cut -d' ' -f1)" \
    "$(unzip -p "$out/outer.zip" inner.xz | xz -dc | sha256sum | cut -d' ' -f1)" >> "$out/EXPECTED.tsv"
# 7z members as `7z x` extracts them (to standard output), hashed by coreutils.
for z in archive solid nonsolid lzma bzip2 ppmd deflate copy bcj deflate64; do
    7z l -slt "$out/$z.7z" | sed -n 's/^Path = //p' | tail -n +2 | while read -r m; do
        [ -d "$m" ] && continue
        printf '%s.7z\t%s\t%s\t%s\n' "$z" "$m" \
            "$(7z x -so "$out/$z.7z" "$m" | md5sum | cut -d' ' -f1)" \
            "$(7z x -so "$out/$z.7z" "$m" | sha256sum | cut -d' ' -f1)"
    done
done >> "$out/EXPECTED.tsv"
for m in a.txt c.txt; do
    for z in encrypted encrypted-header; do
        printf '%s.7z\t%s\t%s\t%s\n' "$z" "$m" \
            "$(7z x -psecret -so "$out/$z.7z" "$m" | md5sum | cut -d' ' -f1)" \
            "$(7z x -psecret -so "$out/$z.7z" "$m" | sha256sum | cut -d' ' -f1)"
    done
done >> "$out/EXPECTED.tsv"
printf 'badcrc.7z\ta.txt\t%s\t%s\n' \
    "$(7z x -so "$out/badcrc.7z" a.txt | md5sum | cut -d' ' -f1)" \
    "$(7z x -so "$out/badcrc.7z" a.txt | sha256sum | cut -d' ' -f1)" >> "$out/EXPECTED.tsv"
for m in a.txt dir/photo.jpg; do
    printf 'nested.7z\tac.tar.gz/%s\t%s\t%s\n' "$m" \
        "$(7z x -so "$out/nested.7z" ac.tar.gz | tar -xzOf - "$m" | md5sum | cut -d' ' -f1)" \
        "$(7z x -so "$out/nested.7z" ac.tar.gz | tar -xzOf - "$m" | sha256sum | cut -d' ' -f1)"
done >> "$out/EXPECTED.tsv"
for m in a.txt b.bin c.txt dir/photo.jpg empty.txt; do
    printf 'sevenz.zip\tinner7.7z/%s\t%s\t%s\n' "$m" \
        "$(unzip -p "$out/sevenz.zip" inner7.7z > "$work/i.7z" && 7z x -so "$work/i.7z" "$m" | md5sum | cut -d' ' -f1)" \
        "$(7z x -so "$work/i.7z" "$m" | sha256sum | cut -d' ' -f1)"
done >> "$out/EXPECTED.tsv"
# Single streams: their content as each tool decompresses it.
for f in c.txt.gz:gzip c.txt.xz:xz c.txt.bz2:bzip2 c.txt.zst:zstd renamed.gz:gzip two.gz:gzip; do
    file=${f%%:*} tool=${f#*:}
    case "$file" in renamed.gz) m=c.txt ;; *) m=${file%.*} ;; esac
    printf '%s\t%s\t%s\t%s\n' "$file" "$m" \
        "$($tool -dc "$out/$file" | md5sum | cut -d' ' -f1)" \
        "$($tool -dc "$out/$file" | sha256sum | cut -d' ' -f1)"
done >> "$out/EXPECTED.tsv"
ls -l "$out"
