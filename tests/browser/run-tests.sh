#!/bin/sh
# Runs the browser tests (node:test + playwright-core driving Debian's headless Chromium)
# against a real rtmd that serves the demo page itself.
#   tests/browser/run-tests.sh                   # rtmd from $RTMD, else build/bin/rtmd
#   RTMD=build-x/bin/rtmd tests/browser/run-tests.sh
#   RTM_UPDATE_SCREENSHOT=1 tests/browser/run-tests.sh   # also rewrites docs/demo.png
# Needs Node >= 20, npm and /usr/bin/chromium (scripts/install-deps.sh installs it; $CHROMIUM
# names another). `npm ci` installs playwright-core exactly as package-lock.json pins it; it
# downloads no browser. Exit code 77 (CTest SKIP_RETURN_CODE) when node, npm or Chromium is
# missing.
set -eu
start=$(pwd)
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "run-tests.sh: skipped: node and npm (Node >= 20) are needed" >&2
  exit 77
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "run-tests.sh: skipped: Node >= 20 is needed (found $(node --version))" >&2
  exit 77
fi
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "run-tests.sh: skipped: no Chromium at ${CHROMIUM:-/usr/bin/chromium} (apt-get install chromium)" >&2
  exit 77
fi
if [ -n "${RTMD:-}" ]; then
  case "$RTMD" in /*) ;; *) RTMD="$start/$RTMD" ;; esac
  export RTMD
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm ci --no-audit --no-fund --prefer-offline
# A certificate for the demo over https (tls.test.mjs); it skips without openssl.
tls_dir=$(mktemp -d)
trap 'rm -rf "$tls_dir"' EXIT
eval "$(../../scripts/test-certificate.sh "$tls_dir")"
node --test --test-concurrency=1 ./*.test.mjs
