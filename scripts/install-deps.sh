#!/usr/bin/env bash
# Installs the Debian 12 packages rtm builds and tests with (DESIGN.md "Dependencies").
# Idempotent: installs only what is missing, so `make run` / `make test` can call it each time.
#   scripts/install-deps.sh          what building and running rtmd needs (`make run`)
#   scripts/install-deps.sh --test   also what only the tests need (`make test`): clang and its
#                                    libFuzzer runtime, Chromium for the browser tests
set -euo pipefail

packages=(
  build-essential cmake ccache pkg-config curl ca-certificates
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-system1.81-dev
  libsqlite3-dev sqlite3 libsodium-dev libssl-dev libmimalloc-dev
  libspdlog-dev libfmt-dev libtomlplusplus-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3
)

# Fuzz targets (tests/fuzz): clang with its libFuzzer runtime.
fuzz_packages=(clang-14 libclang-rt-14-dev)
# TLS tests: certificates are made with the openssl command.
tls_test_packages=(openssl)

# ---- browser tests (tests/browser, the demo page in web/) --------------------------------
# Headless Chromium from Debian, driven by npm playwright-core (which downloads no browser).
browser_packages=(chromium)
# ---- end of browser tests ----------------------------------------------------------------

if [ "${1:-}" = "--test" ]; then
  packages+=("${fuzz_packages[@]}" "${tls_test_packages[@]}" "${browser_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
