#!/usr/bin/env bash
# Installs everything DataProcessor needs on a fresh Debian machine, then builds it. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || need_apt+=(ffmpeg)
/usr/bin/python3 -c "import numpy" >/dev/null 2>&1 || need_apt+=(python3-numpy)
# Tests only: PyAV is the independent decoder of the frame-exactness test.
/usr/bin/python3 -c "import av" >/dev/null 2>&1 || need_apt+=(python3-av)
# Tests only: OpenCV is the independent reference of shot_quality's Laplacian and noise filters.
/usr/bin/python3 -c "import cv2" >/dev/null 2>&1 || need_apt+=(python3-opencv)
# Tests only: a real PostgreSQL server proves the profile database schema is portable (R-MOD-4).
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need_apt+=(postgresql)
# Tests only: a real Redis server for the BullMQ queue and Redis claims of the service tests.
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# Tests only: a real headless browser for the dashboard tests and `npm run screenshots`.
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# Tests only: the OCR tests render text with ffmpeg drawtext in DejaVu fonts.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need_apt[*]} with apt-get" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "setup: missing ${need_apt[*]}; install them (e.g. sudo apt-get install ${need_apt[*]}) and run again" >&2
    exit 3
  fi
fi

# onnxruntime-node's install script downloads CUDA binaries and fails offline; the CPU binary ships in the package.
export ONNXRUNTIME_NODE_INSTALL=skip
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
