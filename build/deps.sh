#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what building, the demo and the tests need on Debian 12:
# Debian packages (only when one is missing) and the test tier's npm
# packages (from t/package-lock.json). Safe to run again.
# build/deps.sh --bench also installs mod_auth_openidc for t/bench.
#
# Node.js: the test IdP and the browser tests need 18.17 or later. Debian
# 12's own nodejs (18.20) is enough, and it is what gets installed when
# there is no node at all; t/package.json pins oidc-provider 8 and
# playwright-core 1.61, the last releases that run on Node.js 18.
set -euo pipefail
cd "$(dirname "$0")/.."

# apache2-dev also brings dh_apache2 for the Debian package (debian/).
pkgs=(build-essential autoconf automake libtool pkg-config
      apache2 apache2-dev libcurl4-openssl-dev libssl-dev libjansson-dev
      libhiredis-dev check redis-server chromium curl
      clang libclang-rt-14-dev wrk
      debhelper dpkg-dev fakeroot gdb
      prometheus jq)               # promtool, jq: build/check-monitoring.sh
if ! command -v node >/dev/null 2>&1; then
    pkgs+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
    pkgs+=(npm)
fi
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

# A node that was there before may be older than the tests need.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number);
              process.exit(a > 18 || (a === 18 && b >= 17) ? 0 : 1)'; then
    echo "deps: the test IdP and the browser tests need Node.js 18.17 or later," >&2
    echo "deps: but $(command -v node) is $(node --version)." >&2
    echo "deps: On Debian 12, Debian's own packages are enough: apt-get install nodejs npm" >&2
    echo "deps: (18.20). Elsewhere install Node.js 18.17 or later first, then run" >&2
    echo "deps: build/deps.sh again." >&2
    exit 1
fi
command -v npm >/dev/null 2>&1 || {
    echo "deps: npm is missing (it installs the test IdP and the browser driver):" >&2
    echo "deps: apt-get install npm, or the npm that goes with your Node.js." >&2
    exit 1
}

# The test IdP and the browser driver.
if [ ! -d t/node_modules ] || [ t/package-lock.json -nt t/node_modules ]; then
    (cd t && npm ci --no-audit --no-fund --loglevel=error)
    touch t/node_modules
fi
