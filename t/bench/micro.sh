#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds t/bench/micro.c with gcc -O2 straight from the core's sources
# (mod_fedauth/fa_*.c, no libtool, no httpd) into build/out/bench/micro
# and runs it. Arguments go to the program (a scale for the call counts:
# 0.1 for a quick look).
#
#   t/bench/micro.sh [scale]
set -euo pipefail
cd "$(dirname "$0")/../.."

out=build/out/bench
mkdir -p "$out"
pkgs="apr-1 jansson libssl libcrypto hiredis libcurl"
# shellcheck disable=SC2086
cflags=$(pkg-config --cflags $pkgs)
# shellcheck disable=SC2086
libs=$(pkg-config --libs $pkgs)

# shellcheck disable=SC2086
gcc -O2 -g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-unused-result -Iinclude -Ibuild $cflags \
    -o "$out/micro" t/bench/micro.c mod_fedauth/fa_*.c $libs -lpthread

exec "$out/micro" "$@"
