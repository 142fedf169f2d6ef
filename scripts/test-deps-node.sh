#!/usr/bin/env bash
# What the Cognito token test (tests/it/cognito_tokens.rs) needs: node, and the
# aws-jwt-verify library from npm under tests/node/, the verifier backends written for
# Cognito use. Idempotent: installs only what is missing. Called by
# `scripts/setup.sh --test`.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
# A Node.js that bundles npm conflicts with Debian's npm package: ask for the packages
# only when the commands are missing.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "test-deps-node: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The version is pinned in package.json; no lock file is kept (it would name the
# registry), so install exactly that version when it is not there yet.
want=$(sed -n 's/.*"aws-jwt-verify": *"\([^"]*\)".*/\1/p' tests/node/package.json)
have=""
if [ -f tests/node/node_modules/aws-jwt-verify/package.json ]; then
  have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' tests/node/node_modules/aws-jwt-verify/package.json | head -n1)
fi
if [ "$have" != "$want" ]; then
  echo "test-deps-node: installing aws-jwt-verify $want"
  (cd tests/node && npm install --no-audit --no-fund --package-lock=false --loglevel=error)
fi
test -f tests/node/node_modules/aws-jwt-verify/package.json
echo "test-deps-node: ok"
