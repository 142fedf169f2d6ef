#!/usr/bin/env bash
# What the Cognito token test (tests/it/cognito_tokens.rs) and the JavaScript SDK test
# (tests/it/cognito_api/js_sdk.rs) need: node, and from npm under tests/node/ the
# aws-jwt-verify library (the verifier backends written for Cognito use) and the AWS
# SDK for JavaScript v3's Cognito client. Idempotent: installs only what is missing. Called by
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

# The versions are pinned in package.json; no lock file is kept (it would name the
# registry), so install exactly those versions when one is not there yet.
need=0
for pkg in aws-jwt-verify @aws-sdk/client-cognito-identity-provider; do
  want=$(sed -n "s|.*\"$pkg\": *\"\([^\"]*\)\".*|\1|p" tests/node/package.json)
  have=""
  if [ -f "tests/node/node_modules/$pkg/package.json" ]; then
    have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "tests/node/node_modules/$pkg/package.json" | head -n1)
  fi
  [ "$have" = "$want" ] || need=1
done
if [ "$need" = 1 ]; then
  echo "test-deps-node: installing aws-jwt-verify and the AWS SDK for JavaScript (Cognito client)"
  (cd tests/node && npm install --no-audit --no-fund --package-lock=false --loglevel=error)
fi
test -f tests/node/node_modules/aws-jwt-verify/package.json
test -f tests/node/node_modules/@aws-sdk/client-cognito-identity-provider/package.json
echo "test-deps-node: ok"
