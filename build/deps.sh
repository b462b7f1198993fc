#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what building, the demo and the tests need on Debian 12:
# Debian packages (only when one is missing) and the test tier's npm
# packages (from t/package-lock.json). Safe to run again.
# build/deps.sh --demo installs only what build/demo.sh needs: the build
# tools, apache2 + apache2-dev, the -dev libraries, curl, nodejs + npm
# (about 300 packages fewer than the test toolchain: no chromium, clang,
# gdb, wrk, redis, debhelper, prometheus).
# build/deps.sh --bench also installs mod_auth_openidc for t/bench.
#
# Node.js: the test IdP and the browser tests need 18.17 or later. Debian
# 12's own nodejs (18.20) is enough, and it is what gets installed when
# there is no node at all; t/package.json pins oidc-provider 8 and
# playwright-core 1.61, the last releases that run on Node.js 18.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
case "$mode" in
    ""|--demo|--bench) ;;
    *) echo "usage: build/deps.sh [--demo|--bench]" >&2; exit 2 ;;
esac
# What building the module and running the demo need.
pkgs=(build-essential autoconf automake libtool pkg-config
      apache2 apache2-dev libcurl4-openssl-dev libssl-dev libjansson-dev
      libhiredis-dev curl)
# The test toolchain (build/test.sh); apache2-dev also brings dh_apache2
# for the Debian package (debian/).
[ "$mode" = "--demo" ] || pkgs+=(check redis-server chromium
      clang libclang-rt-14-dev wrk
      debhelper dpkg-dev fakeroot gdb
      prometheus jq)               # promtool, jq: build/check-monitoring.sh
[ "$mode" = "--demo" ] || pkgs+=(rclone git)  # 941-webdav: real clients
if ! command -v node >/dev/null 2>&1; then
    pkgs+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
    pkgs+=(npm)
fi
# The side-by-side benchmark (t/bench) also measures mod_auth_openidc.
[ "$mode" = "--bench" ] && pkgs+=(libapache2-mod-auth-openidc)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "ok installed" >/dev/null \
        || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${#missing[@]} Debian packages (with what they" \
         "depend on): ${missing[*]}"
    echo "deps: apt-get update, then apt-get install; this can take a few" \
         "minutes and prints nothing until it is done"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    start=$SECONDS
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null
    echo "deps: Debian packages installed ($((SECONDS - start)) s)"
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

# The test IdP (oidc-provider, also the demo's IdP) and the browser driver
# (playwright-core, undici). npm ci installs all of t/package-lock.json,
# demo or not: the two test-only packages are JavaScript only (no browser
# download; the whole of t/node_modules is about 23 MB), so one lock file
# is kept rather than a second one for the demo.
# A t/node_modules that is a symbolic link is an install shared with
# another tree: npm ci would empty the directory it points to, so it is
# left alone.
if [ -L t/node_modules ]; then
    [ -d t/node_modules/oidc-provider ] || {
        echo "deps: t/node_modules links to $(readlink t/node_modules)," \
             "which has no oidc-provider: run npm ci there" >&2
        exit 1
    }
elif [ ! -d t/node_modules ] || [ t/package-lock.json -nt t/node_modules ]; then
    echo "deps: npm ci in t/ (oidc-provider and the test drivers, about 23 MB)"
    (cd t && npm ci --no-audit --no-fund --loglevel=error)
    touch t/node_modules
fi
