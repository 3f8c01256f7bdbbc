#!/bin/sh
# Runs the JavaScript SDK tests (node:test) against a real rtmd.
#   sdk/js/run-tests.sh                   # rtmd from $RTMD, else build/bin/rtmd of the repository
#   RTMD=build-x/bin/rtmd sdk/js/run-tests.sh
# Needs Node >= 20 and npm. `npm ci` installs the one dev dependency (ws, the WebSocket client
# the tests give the SDK) exactly as package-lock.json pins it, from the npm cache when it
# has it. Exit code 77 (CTest SKIP_RETURN_CODE) when node or npm is missing.
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
if [ -n "${RTMD:-}" ]; then
  case "$RTMD" in /*) ;; *) RTMD="$start/$RTMD" ;; esac
  export RTMD
fi
npm ci --no-audit --no-fund --prefer-offline
# A certificate for the TLS tests (test/tls.test.mjs); they skip without openssl.
tls_dir=$(mktemp -d)
trap 'rm -rf "$tls_dir"' EXIT
eval "$(../../scripts/test-certificate.sh "$tls_dir")"
node --test --test-concurrency=1 test/
