#!/usr/bin/env bash
# Make the local base images that lab Dockerfiles start FROM. No registry is
# needed: one image is Debian's static busybox on `scratch`, the other a
# minimal Debian root file system made with debootstrap and `docker import`.
# A site with a registry may instead tag any Debian 12 image as
# lms-base/debian:bookworm. Idempotent: existing images are kept, unless the
# Debian one predates DEBIAN_VERSION (the label below): then it is rebuilt.
#
# The Debian image keeps its manual pages (courses teach `man`) and carries no
# setuid or setgid program: a lab that teaches privilege escalation installs
# its own on purpose (tests/integration/test_lab_images.py checks every lab).
set -euo pipefail
cd "$(dirname "$0")/.."

BUSYBOX_IMAGE=lms-base/busybox:latest
DEBIAN_IMAGE=lms-base/debian:bookworm
DEBIAN_VERSION=2  # raise when the recipe below changes
DEBIAN_PACKAGES=bash,procps,vim-tiny,less,man-db,file,findutils,iproute2,iputils-ping,netcat-openbsd,curl,python3,ca-certificates,sudo,grep,sed,gawk,coreutils,passwd
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

if ! have_image "$BUSYBOX_IMAGE"; then
  echo "building $BUSYBOX_IMAGE"
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  cp /bin/busybox "$ctx/busybox"
  cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /tmp /root /etc /home && chmod 1777 /tmp \
 && echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd \
 && echo 'root:x:0:' > /etc/group
CMD ["/bin/sh"]
DOCKERFILE
  docker build -q -t "$BUSYBOX_IMAGE" "$ctx" >/dev/null
fi

debian_version() {
  docker image inspect -f '{{ index .Config.Labels "lms.base.version" }}' "$DEBIAN_IMAGE" 2>/dev/null || true
}

if [ "$(debian_version)" != "$DEBIAN_VERSION" ]; then
  echo "building $DEBIAN_IMAGE with debootstrap (about a minute)"
  command -v debootstrap >/dev/null || { apt-get install -y -qq debootstrap >/dev/null; }
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  debootstrap --variant=minbase --include="$DEBIAN_PACKAGES" bookworm "$root" "$MIRROR" >/tmp/lms-debootstrap.log 2>&1 \
    || { tail -20 /tmp/lms-debootstrap.log >&2; exit 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
         "$root"/usr/share/doc/* "$root"/usr/share/locale/*
  # su, sudo, passwd, mount...: no program may gain privileges unless a lab says so
  find "$root" -xdev -type f -perm /6000 -exec chmod ug-s {} +
  tar -C "$root" -c . | docker import \
    --change 'CMD ["/bin/bash"]' \
    --change "LABEL lms.base.version=$DEBIAN_VERSION" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$DEBIAN_IMAGE" >/dev/null
fi
echo "base images ready: $BUSYBOX_IMAGE $DEBIAN_IMAGE"
