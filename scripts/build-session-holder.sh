#!/usr/bin/env bash
# Build the terminal's session holder: Debian's dtach, compiled as one static
# binary (musl), so that it runs in any lab image (busybox on scratch, Debian,
# or a foreign image without a C library). The platform copies it into a lab
# container the first time a terminal opens there (lms/labs/runtime/docker/shells.py).
#
# The source is Debian's (deb.debian.org pool, checked against the .dsc's
# SHA-256 sums) with Debian's patches applied. Idempotent: an existing binary
# of this version is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=0.9
DEBIAN_REVISION=5
ORIG_SHA256=32e9fd6923c553c443fab4ec9c1f95d83fa47b771e6e1dafb018c567291492f3
DEBIAN_SHA256=c4f61a50d1eb9705e3bd60243b6ef7f09a43739446e111461e8c3c329c0cfd31
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
TARGET=lms/labs/runtime/docker/session-holder/dtach
STAMP="$TARGET.version"
WANTED="dtach $VERSION-$DEBIAN_REVISION static"

if [ -x "$TARGET" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANTED" ]; then
  exit 0
fi
command -v musl-gcc >/dev/null || { echo "musl-gcc is missing: apt-get install musl-tools" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
orig="dtach_$VERSION.orig.tar.gz"
debian="dtach_$VERSION-$DEBIAN_REVISION.debian.tar.xz"
for file in "$orig" "$debian"; do
  curl -fsSL --retry 3 -o "$work/$file" "$MIRROR/pool/main/d/dtach/$file"
done
echo "$ORIG_SHA256  $work/$orig" | sha256sum -c --quiet
echo "$DEBIAN_SHA256  $work/$debian" | sha256sum -c --quiet
tar -C "$work" -xzf "$work/$orig"
tar -C "$work/dtach-$VERSION" -xJf "$work/$debian"
(
  cd "$work/dtach-$VERSION"
  while read -r patch; do
    [ -n "$patch" ] && patch -s -p1 < "debian/patches/$patch"
  done < debian/patches/series
  CC=musl-gcc CFLAGS="-Os" LDFLAGS="-static" ./configure >/dev/null
  make -s >/dev/null
  strip dtach
)
mkdir -p "$(dirname "$TARGET")"
install -m 0755 "$work/dtach-$VERSION/dtach" "$TARGET"
echo "$WANTED" > "$STAMP"
echo "session holder ready: $TARGET ($(stat -c %s "$TARGET") bytes)"
