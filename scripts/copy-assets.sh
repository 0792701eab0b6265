#!/usr/bin/env bash
# Copy the front-end libraries installed by `npm ci` (package-lock.json) into
# lms/static/vendor. That folder is generated: it is never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=lms/static/vendor
rm -rf "$dest"
mkdir -p "$dest"/{bootstrap,xterm,chartjs,asciinema}
cp node_modules/bootstrap/dist/css/bootstrap.min.css* "$dest/bootstrap/"
cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js* "$dest/bootstrap/"
cp node_modules/@xterm/xterm/lib/xterm.js* "$dest/xterm/"
cp node_modules/@xterm/xterm/css/xterm.css "$dest/xterm/"
cp node_modules/@xterm/addon-fit/lib/addon-fit.js* "$dest/xterm/"
cp node_modules/chart.js/dist/chart.umd.min.js* "$dest/chartjs/" 2>/dev/null || cp node_modules/chart.js/dist/chart.umd.js "$dest/chartjs/chart.umd.min.js"
cp node_modules/asciinema-player/dist/bundle/asciinema-player.min.js "$dest/asciinema/"
cp node_modules/asciinema-player/dist/bundle/asciinema-player.css "$dest/asciinema/"
cp node_modules/asciinema-player/dist/bundle/asciinema-player-worker.min.js "$dest/asciinema/" 2>/dev/null || true
# CodeMirror 6 ships ES modules only: bundle the parts the course editor uses into one
# module (the entry lists them). esbuild comes from the same package-lock.json.
node_modules/.bin/esbuild lms/authoring/bundle/codemirror.js --bundle --format=esm --minify \
  --log-level=warning --outfile="$dest/codemirror/codemirror.js"
echo "assets copied to $dest"
