#!/usr/bin/env bash
# What the native-user tests (tests/it/native_users) need: the Cognito client libraries
# that sign in with SRP, pycognito (PyPI) and amazon-cognito-identity-js (npm, under
# tests/native/). Idempotent: installs only what is missing. Called by
# `scripts/setup.sh --test`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import pycognito' >/dev/null 2>&1; then
  echo "test-deps-native: installing pycognito (pip)"
  python3 -m pip install --quiet -r tests/native/requirements.txt 2>/dev/null ||
    python3 -m pip install --quiet --break-system-packages -r tests/native/requirements.txt
fi

# The version is pinned in package.json; no lock file is kept (it would name the
# registry), so install exactly that version when it is not there yet.
want=$(sed -n 's/.*"amazon-cognito-identity-js": *"\([^"]*\)".*/\1/p' tests/native/package.json)
have=""
pkg=tests/native/node_modules/amazon-cognito-identity-js/package.json
if [ -f "$pkg" ]; then
  have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pkg" | head -n1)
fi
if [ "$have" != "$want" ]; then
  echo "test-deps-native: installing amazon-cognito-identity-js $want"
  (cd tests/native && npm install --no-audit --no-fund --package-lock=false --loglevel=error)
fi
echo "test-deps-native: ok"
