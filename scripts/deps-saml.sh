#!/usr/bin/env bash
# System packages the SAML engine (samael over libxmlsec1) needs to build, and the
# xmlsec1 CLI for regenerating fixtures by hand. Installs only what is missing.
set -euo pipefail
pkgs=(pkg-config libssl-dev libxml2-dev libxmlsec1-dev libclang-dev xmlsec1)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
