#!/usr/bin/env bash
# Python wheels that lab images install (a lab build cannot reach the package index):
# for every labs/<slug>/requirements.txt, download the pinned, hash-checked wheels into
# labs/<slug>/wheels/ (ignored by git). Quick when they are there already.
set -euo pipefail
cd "$(dirname "$0")/.."
pip=".venv/bin/pip"
for requirements in labs/*/requirements.txt; do
  [ -e "$requirements" ] || continue
  lab=$(dirname "$requirements")
  "$pip" download -q --require-hashes --no-deps --only-binary=:all: \
    -r "$requirements" -d "$lab/wheels"
done
