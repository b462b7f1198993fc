#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds t/bench/seed.c (the benchmark's seeding tool, issue 24) with
# gcc -O2 straight from the core's sources (mod_fedauth/fa_*.c, no
# libtool, no httpd) into build/out/bench/seed; it is never part of
# mod_fedauth.so. With arguments, runs it with them.
#
#   t/bench/seed.sh                  # build only
#   t/bench/seed.sh --store ... --secret ... --n N --out FILE
set -euo pipefail
cd "$(dirname "$0")/../.."

out=build/out/bench
mkdir -p "$out"
pkgs="apr-1 jansson libssl libcrypto hiredis libcurl"
# shellcheck disable=SC2086
cflags=$(pkg-config --cflags $pkgs)
# shellcheck disable=SC2086
libs=$(pkg-config --libs $pkgs)

# build again only when a source is newer than the program
if [ ! -x "$out/seed" ] || [ -n "$(find t/bench/seed.c mod_fedauth/fa_*.c include -newer "$out/seed" -print -quit)" ]; then
    # shellcheck disable=SC2086
    gcc -O2 -g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-unused-result -Iinclude -Ibuild $cflags \
        -o "$out/seed.tmp" t/bench/seed.c mod_fedauth/fa_*.c $libs -lpthread
    mv "$out/seed.tmp" "$out/seed"
fi
if [ $# -gt 0 ]; then
    exec "$out/seed" "$@"
fi
echo "$out/seed"
