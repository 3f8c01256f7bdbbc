#!/bin/sh
# Makes a self-signed certificate for 127.0.0.1 and localhost in DIR (cert.pem, key.pem) for
# the TLS tests of sdk/js and tests/browser, and prints the three variables their
# run-tests.sh export: RTM_TEST_TLS_CERT, RTM_TEST_TLS_KEY, and NODE_EXTRA_CA_CERTS (which
# node reads when it starts, so its fetch and the `ws` client verify rtmd with it).
#   eval "$(scripts/test-certificate.sh "$dir")"
# Prints nothing (the TLS tests skip) when openssl is missing.
set -eu
dir=$1
command -v openssl >/dev/null 2>&1 || exit 0
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1
echo "export RTM_TEST_TLS_CERT='$dir/cert.pem' RTM_TEST_TLS_KEY='$dir/key.pem'"
echo "export NODE_EXTRA_CA_CERTS='$dir/cert.pem'"
