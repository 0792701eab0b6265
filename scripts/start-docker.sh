#!/usr/bin/env bash
# Start the Docker engine when none answers. Idempotent.
set -euo pipefail
if docker info >/dev/null 2>&1; then
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "dockerd is not installed (apt-get install docker.io)" >&2
  exit 1
fi
echo "starting the Docker engine"
mkdir -p /var/log
nohup dockerd >/var/log/lms-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "the Docker engine did not start; see /var/log/lms-dockerd.log" >&2
tail -20 /var/log/lms-dockerd.log >&2 || true
exit 1
