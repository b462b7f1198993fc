#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# mod_fedauth.so exports exactly one symbol of ours, the module record
# fedauth_module (Makefile.am: -export-symbols-regex): the rest of the
# module can clash with no other module or library in httpd.
#   bash build/check-symbols.sh [path/to/mod_fedauth.so]
set -euo pipefail
cd "$(dirname "$0")/.."
so=${1:-.libs/mod_fedauth.so}
[ -f "$so" ] || { echo "check-symbols: no $so (build first)"; exit 1; }
# the linker's own markers are not ours
syms=$(nm -D --defined-only "$so" | awk '{print $NF}' \
       | grep -vxE '_init|_fini|_edata|_end|__bss_start' || true)
if [ "$syms" != fedauth_module ]; then
    echo "check-symbols: $so exports $(echo "$syms" | grep -c .) symbols," \
         "not just fedauth_module:"
    echo "$syms" | head -n 20
    echo "check-symbols: 0 passed, 1 failed"
    exit 1
fi
echo "check-symbols: $so exports only fedauth_module"
