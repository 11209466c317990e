#!/usr/bin/env bash
# Vendor hls.js (npm) into server/static/ for the /watch and /embed pages. Idempotent; run by setup.sh.
# Without npm the pages fall back to the browser's native HLS playback.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${HLSJS_VERSION:-1.6.15}"
dest="$here/server/static/hls.min.js"
stamp="$here/server/static/.hls-version"

if [ -f "$dest" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "vendor_hlsjs: npm not found; the player will rely on native HLS playback" >&2
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "hls.js@$version" >/dev/null)
tar -xzf "$tmp"/hls.js-*.tgz -C "$tmp"
mkdir -p "$(dirname "$dest")"
cp "$tmp/package/dist/hls.min.js" "$dest"
cp "$tmp/package/LICENSE" "$here/server/static/hls.LICENSE"
echo "$version" > "$stamp"
echo "vendor_hlsjs: hls.js $version -> $dest"
