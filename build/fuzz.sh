#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets of t/fuzz/ (clang, -fsanitize=fuzzer,
# address,undefined; only the httpd-free core mod_fedauth/fa_*.c is
# linked) into build/out/fuzz/, and runs each for a bounded time on a copy
# of its seed corpus (t/fuzz/corpus/<target>/ is never changed).
#
#   bash build/fuzz.sh [seconds-per-target] [target ...]
#
# seconds-per-target defaults to 30; targets default to every
# t/fuzz/fuzz_<target>.c. Prints one line per target
#   fuzz <target>: <N> execs, <status>
# and a last line "N passed, N failed". A target passes when libFuzzer
# exits 0 and its output has no crash, leak, timeout or sanitizer report.
# Exits non-zero on any failure. Findings (the input that failed) stay in
# build/out/fuzz/run/<target>/ with the whole log.
set -uo pipefail
cd "$(dirname "$0")/.."

secs=${1:-30}
shift || true
case $secs in
    ''|*[!0-9]*) echo "usage: build/fuzz.sh [seconds-per-target] [target ...]" >&2; exit 2 ;;
esac

out=build/out/fuzz
cc=${FUZZ_CC:-}
if [ -z "$cc" ]; then
    for c in clang clang-14 clang-15 clang-16 clang-17 clang-18; do
        if command -v "$c" >/dev/null 2>&1; then cc=$c; break; fi
    done
fi
if [ -z "$cc" ]; then
    echo "fuzz: clang not found (FUZZ_CC=...)"; echo "0 passed, 1 failed"; exit 1
fi

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for f in t/fuzz/fuzz_*.c; do
        t=${f#t/fuzz/fuzz_}; targets+=("${t%.c}")
    done
fi

pkgs="apr-1 jansson libssl libcrypto hiredis libcurl"
if ! deps_cflags=$(pkg-config --cflags $pkgs) || ! deps_libs=$(pkg-config --libs $pkgs); then
    echo "fuzz: pkg-config does not know all of: $pkgs"; echo "0 passed, 1 failed"; exit 1
fi
san="-fsanitize=address,undefined -fno-sanitize-recover=all"
cflags="-g -O1 -fno-omit-frame-pointer $san -Iinclude -It/fuzz $deps_cflags"

passed=0
failed=0

# The core, once, with coverage instrumentation but no fuzzer main.
rm -rf "$out/obj"
mkdir -p "$out/obj" "$out/run"
core_ok=1
for src in mod_fedauth/fa_*.c; do
    obj=$out/obj/$(basename "${src%.c}").o
    if ! $cc $cflags -fsanitize=fuzzer-no-link -c "$src" -o "$obj" 2>"$obj.log"; then
        echo "fuzz: cannot compile $src:"; cat "$obj.log"; core_ok=0
    fi
done

for t in "${targets[@]}"; do
    src=t/fuzz/fuzz_$t.c
    bin=$out/fuzz_$t
    run=$out/run/$t
    if [ ! -f "$src" ] || [ ! -d "t/fuzz/corpus/$t" ]; then
        echo "fuzz $t: 0 execs, no such target or seed corpus"; failed=$((failed + 1)); continue
    fi
    if [ $core_ok -ne 1 ] || ! $cc $cflags -fsanitize=fuzzer "$src" "$out"/obj/*.o \
            $deps_libs -o "$bin" >"$out/build-$t.log" 2>&1; then
        echo "fuzz $t: 0 execs, build failed (see $out/build-$t.log)"
        failed=$((failed + 1)); continue
    fi
    rm -rf "$run"
    mkdir -p "$run/corpus"
    cp -R "t/fuzz/corpus/$t/." "$run/corpus/"
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=0} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        timeout -k 10 $((secs + 120)) "$bin" -max_total_time="$secs" -timeout=5 \
            -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$run/" \
            "$run/corpus" >"$run/log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$run/log" | tail -1)
    execs=${execs:-0}
    status=ok
    if grep -q 'ERROR: LeakSanitizer' "$run/log"; then status="leak"
    elif grep -q 'ERROR: libFuzzer: timeout' "$run/log"; then status="timeout"
    elif grep -qE 'ERROR: libFuzzer: (out-of-memory|malloc limit)' "$run/log"; then status="out of memory"
    elif grep -qE 'ERROR: AddressSanitizer|runtime error:|fuzz invariant failed|ERROR: libFuzzer|==ERROR' "$run/log"; then
        status="crash"
    elif [ $rc -ne 0 ]; then status="exit $rc"
    fi
    if [ "$status" = ok ]; then
        passed=$((passed + 1))
        echo "fuzz $t: $execs execs, ok"
    else
        failed=$((failed + 1))
        echo "fuzz $t: $execs execs, FAILED: $status (log: $run/log)"
        ls "$run"/crash-* "$run"/leak-* "$run"/timeout-* "$run"/oom-* 2>/dev/null | sed 's/^/    input: /'
        grep -m 12 -E 'ERROR|runtime error|invariant|#[0-9]+ 0x' "$run/log" | sed 's/^/    /'
    fi
done

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
