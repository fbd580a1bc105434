#!/usr/bin/env bash
# Installs and builds the dashboard (web/) for `meterstream serve` and the browser test:
#   web/setup.sh                 npm ci (when package-lock.json changed), unit tests, build
#   web/setup.sh --chromium      also apt-get install Debian's chromium when it is missing
# Needs Node 20+. The build goes to web/dist (served at /) and web/dist-lib (the
# embeddable tracker); neither is committed.
set -euo pipefail
cd "$(dirname "$0")"

command -v node >/dev/null || { echo "web/setup.sh: Node.js 20+ is required ('node' is not on PATH)" >&2; exit 1; }
stamp=node_modules/.installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
npm test --silent
npm run build --silent

if [ "${1:-}" = "--chromium" ] && [ ! -x /usr/bin/chromium ]; then
  echo "web/setup.sh: installing Debian's chromium for the browser test" >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
fi
