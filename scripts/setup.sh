#!/usr/bin/env bash
# Installs what poolgate's build and tests need, only what is missing. Idempotent:
# run it as often as you like. `make run` and `make test` call it first.
#   scripts/setup.sh          build dependencies (enough for `make run`)
#   scripts/setup.sh --test   plus what the tests use (redis-server, chromium, node)
set -euo pipefail

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

# Debian packages: C libraries for the SAML engine (libxmlsec1 via samael), a C
# toolchain for SQLite (bundled) and aws-lc.
pkgs=(pkg-config libssl-dev libxml2-dev libxmlsec1-dev libclang-dev clang make gcc)
if [ "$want_test" = 1 ]; then
  pkgs+=(redis-server xmlsec1 chromium chromium-driver)
  # A Node.js build that bundles npm conflicts with Debian's npm package.
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
  # The Cognito API's tests drive the gateway with boto3 and the AWS CLI.
  command -v python3 >/dev/null 2>&1 || pkgs+=(python3)
  python3 -m pip --version >/dev/null 2>&1 || pkgs+=(python3-pip)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo is required (install Rust 1.89 or newer)" >&2
  exit 1
fi

# Real AWS clients for the Cognito API's tests (PyPI: boto3 and the AWS CLI v1).
if [ "$want_test" = 1 ]; then
  py_missing=()
  python3 -c 'import boto3' >/dev/null 2>&1 || py_missing+=(boto3)
  command -v aws >/dev/null 2>&1 || py_missing+=(awscli)
  if [ "${#py_missing[@]}" -gt 0 ]; then
    echo "setup: installing ${py_missing[*]} (pip)"
    python3 -m pip install --quiet "${py_missing[@]}" 2>/dev/null ||
      python3 -m pip install --quiet --break-system-packages "${py_missing[@]}"
  fi
fi

# Browser test helpers (npm packages, no browser download: Debian's chromium is used).
if [ "$want_test" = 1 ] && [ -x scripts/test-deps-browser.sh ]; then
  scripts/test-deps-browser.sh
fi
# Node test helpers (aws-jwt-verify, the verifier of backends written for Cognito).
if [ "$want_test" = 1 ] && [ -x scripts/test-deps-node.sh ]; then
  scripts/test-deps-node.sh
fi
# Cognito client libraries for the native-user tests (pycognito, amazon-cognito-identity-js).
if [ "$want_test" = 1 ] && [ -x scripts/test-deps-native.sh ]; then
  scripts/test-deps-native.sh
fi
echo "setup: ok"
