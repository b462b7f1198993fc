#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Line coverage of the module's code, in two figures: what the unit tier
# reaches (t/unit/fa_unit, the httpd-free core), and what the integration
# tier reaches (a real httpd with a --coverage build of the module, the
# tests of t/integration/ against it). Each figure is given for the core
# (mod_fedauth/fa_*.c) and for the glue (mod_fedauth/mod_fedauth*.c), and
# per file with --files. Builds in build/out/cov; gcov's counters of every
# process (httpd's children write theirs when they exit) add up there.
#
#   build/coverage.sh [--unit-only] [--files] [integration test files...]
#
# Not part of build/test.sh (the integration tier under coverage takes
# as long as the plain one); docs/development.md gives the last figures.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=$top/build/out/cov
unit_only=0
per_file=0
files=()
for a in "$@"; do
    case "$a" in
        --unit-only) unit_only=1 ;;
        --files) per_file=1 ;;
        -*) echo "usage: build/coverage.sh [--unit-only] [--files] [test files...]" >&2; exit 2 ;;
        *) files+=("$a") ;;
    esac
done

rm -rf "$out"
mkdir -p "$out"
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -C "$out" -xf -
(cd "$out" && autoreconf -fi >/dev/null \
    && ./configure -q CFLAGS="-O0 -g --coverage" LIBS="-lgcov" \
    && make -j2 -s >/dev/null && make -s t/unit/fa_unit >/dev/null)

# report TITLE: the line coverage of the core and of the glue, from the
# counters gathered so far (gcov -n: nothing written but the summary);
# a file that was compiled but never ran counts with all its lines unrun.
report() {
    local title=$1 gcno src lines='' pct=''
    echo "== $title"
    : > "$out/cov.txt"
    while IFS= read -r gcno; do
        lines=""; pct=""
        src=$(basename "$gcno" .gcno | sed 's/^libfacore_la-//; s/^la-//')
        case "$src" in fa_*|mod_fedauth*) ;; *) continue ;; esac
        [ -f "$out/mod_fedauth/$src.c" ] || continue
        # "Lines executed:NN.NN% of M" for the file itself (first block)
        read -r pct lines < <(cd "$out/mod_fedauth" \
            && gcov -n -o "$(dirname "$gcno")" "$gcno" 2>/dev/null \
            | awk -v f="$src.c" '$0 ~ "^File .*"f"'"'"'$" {hit=1; next}
                hit && /^Lines executed:/ {sub(/Lines executed:/, "");
                    sub(/% of/, ""); print $1, $2; exit}') || true
        # nothing for gcov to count (a file of tables only): not a line
        [ -n "${lines:-}" ] || continue
        echo "$src $pct $lines" >> "$out/cov.txt"
    done < <(find "$out/mod_fedauth" -name '*.gcno' | sort)
    awk '{ k = ($1 ~ /^mod_fedauth/) ? "glue" : "core";
           n[k] += $3; h[k] += $2 * $3 / 100 }
         END { for (k in n) printf "  %-5s %5.1f%% of %d lines\n", k, 100 * h[k] / n[k], n[k] }' \
        "$out/cov.txt" | sort
    if [ "$per_file" = 1 ]; then
        sort -k2 -n "$out/cov.txt" | awk '{ printf "    %-36s %6.2f%% of %d\n", $1, $2, $3 }'
    fi
}

"$out/t/unit/fa_unit" >/dev/null 2>&1 || echo "(some unit tests failed)"
report "unit tier (t/unit/fa_unit)"
[ "$unit_only" = 1 ] && exit 0

find "$out" -name '*.gcda' -delete
# httpd's children run as another user (User in the test configuration
# when the tests run as root): they must be able to create and update the
# counter files next to the objects.
umask 0000
find "$out" -type d -exec chmod a+rwx {} +
[ "${#files[@]}" -gt 0 ] || files=(t/integration/*.test.mjs)
n=0
for f in "${files[@]}"; do
    FEDAUTH_MODULE="$out/.libs/mod_fedauth.so" FEDAUTHCTL="$out/fedauthctl" timeout 900 \
        node --test --test-concurrency=1 "$f" >/dev/null 2>&1 || true
    n=$((n + 1))
done
report "integration tier ($n files, module built with --coverage)"
