#!/usr/bin/env bash
# What the browser test (tests/it/browser.rs) needs: Debian's chromium and
# chromium-driver (no browser download), and axe-core from npm under tests/browser/.
# Idempotent: installs only what is missing. Called by `scripts/setup.sh --test`.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for p in chromium chromium-driver; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A Node.js that bundles npm (as some distributions' builds do) conflicts with Debian's
# npm package: ask for the packages only when the commands are missing.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "test-deps-browser: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The version is pinned in package.json; no lock file is kept (it would name the
# registry), so install exactly that version when it is not there yet.
want=$(sed -n 's/.*"axe-core": *"\([^"]*\)".*/\1/p' tests/browser/package.json)
have=""
if [ -f tests/browser/node_modules/axe-core/package.json ]; then
  have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' tests/browser/node_modules/axe-core/package.json | head -n1)
fi
if [ "$have" != "$want" ]; then
  echo "test-deps-browser: installing axe-core $want"
  (cd tests/browser && npm install --no-audit --no-fund --package-lock=false --loglevel=error)
fi
test -f tests/browser/node_modules/axe-core/axe.min.js
echo "test-deps-browser: ok"
