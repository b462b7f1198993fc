#!/usr/bin/env bash
# Installs what building, the demo and the tests need on Debian 12:
# Debian packages (only when one is missing) and the test tier's npm
# packages (from t/package-lock.json). Safe to run again.
# build/deps.sh --bench also installs mod_auth_openidc for t/bench.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential autoconf automake libtool pkg-config
      apache2 apache2-dev libcurl4-openssl-dev libssl-dev libjansson-dev
      libhiredis-dev check redis-server chromium curl
      clang libclang-rt-14-dev wrk)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)
# The side-by-side benchmark (t/bench) also measures mod_auth_openidc.
[ "${1:-}" = "--bench" ] && pkgs+=(libapache2-mod-auth-openidc)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "ok installed" >/dev/null \
        || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null
fi

# The test IdP and the browser driver.
if [ ! -d t/node_modules ] || [ t/package-lock.json -nt t/node_modules ]; then
    (cd t && npm ci --no-audit --no-fund --loglevel=error)
    touch t/node_modules
fi
