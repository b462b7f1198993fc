#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite, as the README gives it and CI runs it:
#   1. dependencies (build/deps.sh)
#   2. build the module with -Wall -Wextra -Werror (--enable-werror)
#   3. layering checks: the core includes no httpd header; the glue's
#      files form layers without a cycle; the sample configuration and
#      docs/directives.md show every directive; every log tag and
#      error code is in docs/troubleshooting.md; the manual's links lead
#      somewhere; the monitoring rules and dashboard
#      name only metrics the module writes; every source file has its SPDX
#      line; make install and the one symbol mod_fedauth.so exports; the
#      Debian package (debian/, built in a copy of the tree); the release
#      tarball (make dist) builds without autotools
#   4. unit tests of the core (libcheck)
#   5. integration tests: real httpd + the built module + a real OpenID
#      Provider (npm oidc-provider) + real Redis, node's test runner
#   6. steps 4 and 5 again against an AddressSanitizer/UBSan build
#   6b. a ThreadSanitizer build: the unit tests, and the integration files
#      where a process's threads share the most (the stores, the caches,
#      name lookups); any TSan report that involves the module fails
#      (t/lib/errorlog.mjs tsanOurs; FEDAUTH_SKIP_TSAN=1 skips the tier)
#   7. the libFuzzer targets of t/fuzz, each for a bounded time
#   8. a short smoke run of the benchmark (t/bench)
# Ends with one line "N passed, N failed"; exits non-zero on any failure.
# Each phase starts with a line "== phase (elapsed m:ss)" and ends with
# its time; the integration tiers print a line per test file as it ends;
# the summary names every skipped test with its reason.
#
# build/test.sh --quick: the day-to-day tier (dependencies, build, the
# checks other than the Debian package and make dist, unit tests, and one
# integration file per feature area, FEDAUTH_QUICK_FILES replaces the
# list); no sanitizers, TSan, fuzzing or benchmark.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
mkdir -p "$top/build/out"
quick=0
case "${1:-}" in
    "") ;;
    --quick) quick=1 ;;
    *) echo "usage: build/test.sh [--quick]" >&2; exit 2 ;;
esac
quick_files=(10-login 100-multi-idp-chooser 210-authz 300-redis-shared
             400-bearer 430-token-login 600-registry 700-token-attacks
             730-login-state)
passed=0
failed=0
skipped=()          # "file: test # SKIP reason", named in the summary
phase=""
phase_start=$SECONDS
# log PHASE: ends the phase before (its time) and starts the next one.
log() {
    [ -z "$phase" ] || printf '   (%d s)\n' $((SECONDS - phase_start))
    phase=$*
    phase_start=$SECONDS
    printf '\n== %s (elapsed %d:%02d)\n' "$*" $((SECONDS / 60)) $((SECONDS % 60))
}
count() { passed=$((passed + $1)); failed=$((failed + $2)); }

log "dependencies"
bash build/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

# copy_tree DIR: a fresh copy of the sources only in DIR (no Makefile,
# config.status or objects of another build).
copy_tree() {
    local dir=$1
    rm -rf "$dir"
    mkdir -p "$dir"
    if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
        git -C "$top" ls-files -co --exclude-standard -z \
            | tar -C "$top" --null -T - -cf - | tar -C "$dir" -xf -
    else
        tar -C "$top" -cf - --exclude=./build/out --exclude=./t/node_modules \
            --exclude=./Makefile --exclude=./config.status \
            --exclude=./config.log --exclude=./libtool \
            --exclude=./build/config.h --exclude=.deps --exclude='*.o' \
            --exclude='*.lo' --exclude='*.la' --exclude=.libs . \
            | tar -C "$dir" -xf -
    fi
}

# build DIR [configure args]: configures (once) and builds the module and
# the unit tests in DIR, warnings as errors. Variants other than the top
# build get a fresh copy of the sources.
build() {
    local dir=$1; shift
    [ "$dir" = "$top" ] || copy_tree "$dir"
    (cd "$dir" \
        && { [ -x configure ] || autoreconf -fi >/dev/null; } \
        && { [ -f Makefile ] || ./configure -q --enable-werror "$@"; } \
        && make -j2 -s >/dev/null \
        && make -s t/unit/fa_unit >/dev/null)
}

# unit BINARY: runs the libcheck suites and counts their checks.
unit() {
    local out n f e
    out=$("$@" 2>&1); echo "$out" | tail -n 25
    n=$(echo "$out" | sed -n 's/.*Checks: \([0-9]*\).*/\1/p' | tail -1)
    f=$(echo "$out" | sed -n 's/.*Failures: \([0-9]*\).*/\1/p' | tail -1)
    e=$(echo "$out" | sed -n 's/.*Errors: \([0-9]*\).*/\1/p' | tail -1)
    if [ -z "$n" ]; then count 0 1; return; fi
    count $((n - f - e)) $((f + e))
}

# integration MODULE [FILE...]: the node test runner against a built
# module, one test file at a time (default: all of t/integration/), a
# line per file as it ends: name, passed, failed, skipped, seconds.
integration() {
    local module=$1 file name out p f x k t0 line tp=0 tf=0 tk=0
    shift
    [ "$#" -gt 0 ] || set -- t/integration/*.test.mjs
    for file in "$@"; do
        name=$(basename "$file" .test.mjs)
        t0=$SECONDS
        out=$(FEDAUTH_MODULE="$module" node --test --test-concurrency=1 \
              "$file" 2>&1)
        p=$(echo "$out" | sed -n 's/^# pass \([0-9]*\)/\1/p' | tail -1)
        f=$(echo "$out" | sed -n 's/^# fail \([0-9]*\)/\1/p' | tail -1)
        # a test that never ran because its suite's before() hook threw
        # is "cancelled", not "fail": it counts as failed here
        x=$(echo "$out" | sed -n 's/^# cancelled \([0-9]*\)/\1/p' | tail -1)
        f=$(( ${f:-0} + ${x:-0} ))
        k=$(echo "$out" | sed -n 's/^# skipped \([0-9]*\)/\1/p' | tail -1)
        if [ -z "$p" ]; then
            printf '  %-40s no result (%d s)\n' "$name" $((SECONDS - t0))
            echo "$out" | tail -n 40
            count 0 1; tf=$((tf + 1)); continue
        fi
        printf '  %-40s %3d passed, %d failed, %d skipped (%d s)\n' \
            "$name" "$p" "${f:-0}" "${k:-0}" $((SECONDS - t0))
        count "$p" "${f:-0}"
        tp=$((tp + p)); tf=$((tf + ${f:-0})); tk=$((tk + ${k:-0}))
        while IFS= read -r line; do
            skipped+=("$name: $(echo "$line" | sed 's/^ *ok [0-9]* - //')")
        done < <(echo "$out" | grep -E '^ *ok [0-9]+ - .* # SKIP' || true)
        if [ "${f:-0}" != 0 ]; then
            echo "$out" | grep -E '^ *not ok' | head -n 60
            # each failed test with what it asserted (a suite's own "not
            # ok" only says that a test inside it failed)
            echo "$out" | grep -B2 -A40 '^ \+not ok' | head -n 300
            echo "$out" | grep -A12 '^not ok' | head -n 100
        fi
    done
    echo "  $# files: $tp passed, $tf failed, $tk skipped"
}

# summary: each skipped test with its reason, then the last line.
summary() {
    local line
    if [ ${#skipped[@]} -gt 0 ]; then
        echo "${#skipped[@]} skipped:"
        for line in "${skipped[@]}"; do echo "  $line"; done
    fi
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

log "build"
if build "$top"; then count 1 0; else echo "build failed"; count 0 1
    echo "$passed passed, $failed failed"; exit 1; fi

log "layering"
if bash build/check-layering.sh; then count 1 0; else count 0 1; fi

log "glue layers: no cycle, every call between glue files through a header"
if bash build/check-glue-deps.sh; then count 1 0; else count 0 1; fi

log "sample configuration and docs/directives.md against the directives"
if bash build/check-conf.sh; then count 1 0; else count 0 1; fi

log "log tags and error codes, each explained in docs/troubleshooting.md"
if bash build/check-logtags.sh; then count 1 0; else count 0 1; fi

log "links of the manual (README.md, docs/) lead to files and headings that exist"
if bash build/check-links.sh; then count 1 0; else count 0 1; fi

log "licence: an SPDX line in every source file"
if bash build/check-spdx.sh; then count 1 0; else count 0 1; fi

log "monitoring: alert rules (promtool) and dashboard against the metrics"
if bash build/check-monitoring.sh; then count 1 0; else count 0 1; fi

log "make install puts mod_fedauth.so where apxs says, fedauthctl in sbin"
inst=$(mktemp -d)
moddir=$(apxs -q LIBEXECDIR 2>/dev/null || apxs2 -q LIBEXECDIR)
if make -s install DESTDIR="$inst" >/dev/null 2>&1 \
    && [ -f "$inst$moddir/mod_fedauth.so" ] \
    && [ -x "$(find "$inst" -path '*/sbin/fedauthctl' | head -n 1)" ] \
    && [ "$(find "$inst" -type f | wc -l)" -eq 2 ]; then
    echo "installed $moddir/mod_fedauth.so and" \
         "$(find "$inst" -path '*/sbin/fedauthctl' | sed "s|^$inst||")"
    count 1 0
else
    find "$inst" -type f; count 0 1
fi
rm -rf "$inst"

log "mod_fedauth.so exports only fedauth_module"
if bash build/check-symbols.sh; then count 1 0; else count 0 1; fi

if [ "$quick" != 1 ]; then
    log "Debian package: dpkg-buildpackage -us -uc -b in a copy of the tree"
    deb_dir="$top/build/out/deb"
    rm -rf "$deb_dir"
    copy_tree "$deb_dir/src"
    if (cd "$deb_dir/src" && dpkg-buildpackage -us -uc -b) > "$deb_dir/build.log" 2>&1 \
        && debs=("$deb_dir"/libapache2-mod-fedauth_*.deb) && [ -f "${debs[0]}" ] \
        && dpkg-deb -c "${debs[0]}" > "$deb_dir/contents.txt" \
        && grep -q ' \./usr/lib/apache2/modules/mod_fedauth\.so$' "$deb_dir/contents.txt" \
        && grep -q ' \./etc/apache2/mods-available/fedauth\.load$' "$deb_dir/contents.txt" \
        && grep -q ' \./etc/apache2/mods-available/fedauth\.conf$' "$deb_dir/contents.txt" \
        && grep -q ' \./usr/sbin/fedauthctl$' "$deb_dir/contents.txt"; then
        echo "built $(basename "${debs[0]}"): mod_fedauth.so, fedauth.load, fedauth.conf, fedauthctl"
        count 1 0
    else
        tail -n 30 "$deb_dir/build.log"; cat "$deb_dir/contents.txt" 2>/dev/null
        count 0 1
    fi

    log "release tarball: make dist builds with ./configure && make alone"
    if bash build/check-dist.sh --enable-werror; then count 1 0; else count 0 1; fi
fi

log "unit tests"
unit t/unit/fa_unit

if [ "$quick" = 1 ]; then
    log "integration tests (--quick: one file per feature area)"
    files=()
    for n in ${FEDAUTH_QUICK_FILES:-${quick_files[*]}}; do
        files+=("t/integration/$n.test.mjs")
    done
    integration "$top/.libs/mod_fedauth.so" "${files[@]}"
else
    log "integration tests"
    integration "$top/.libs/mod_fedauth.so"
fi

if [ "$quick" = 1 ]; then
    log "summary (--quick: no sanitizers, TSan, fuzzing or benchmark)"
    summary
    exit $?
fi

if [ "${FEDAUTH_SKIP_SANITIZERS:-0}" != 1 ]; then
    log "AddressSanitizer + UBSan build"
    asan="$top/build/out/asan"
    if build "$asan" --enable-sanitizers \
        && ldd "$asan/.libs/mod_fedauth.so" | grep libasan >/dev/null; then
        count 1 0
        log "unit tests (sanitized)"
        unit env ASAN_OPTIONS=detect_leaks=1 "$asan/t/unit/fa_unit"
        log "integration tests (sanitized)"
        FEDAUTH_SANITIZED=1 integration "$asan/.libs/mod_fedauth.so"
    else
        echo "sanitized build failed"; count 0 1
    fi
fi

# The TSan tier: the files where threads of one httpd child meet most.
# FEDAUTH_TSAN_FILES (names under t/integration/, without .test.mjs)
# replaces the list.
tsan_files=(90-sessions 260-access-token 300-redis-shared 305-local-cache
            306-shm-local-copy 312-redis-name-lookup 360-backchannel-shm
            380-metrics 410-bearer-cache 600-registry 800-client-keys
            940-app-passwords 971-cluster-invalidation 975-host-cache
            976-decode-memo 977-host-copy-renewal)
if [ "${FEDAUTH_SKIP_TSAN:-0}" != 1 ]; then
    log "ThreadSanitizer build"
    tsan="$top/build/out/tsan"
    tsan_start=$SECONDS
    if build "$tsan" --enable-tsan \
        && ldd "$tsan/.libs/mod_fedauth.so" | grep libtsan >/dev/null; then
        count 1 0
        log "unit tests (ThreadSanitizer)"
        # a report ends the test's process with 66 (a failed check); the
        # reports themselves are kept in files and shown
        rm -f "$tsan"/tsan-unit.*
        unit env TSAN_OPTIONS="halt_on_error=0 report_signal_unsafe=0 suppressions=$top/t/tsan.supp log_path=$tsan/tsan-unit" \
            "$tsan/t/unit/fa_unit"
        if ls "$tsan"/tsan-unit.* >/dev/null 2>&1; then
            echo "ThreadSanitizer reports:"
            cat "$tsan"/tsan-unit.* | head -n 80
            count 0 1
        fi
        log "integration tests (ThreadSanitizer)"
        files=()
        for n in ${FEDAUTH_TSAN_FILES:-${tsan_files[*]}}; do
            files+=("t/integration/$n.test.mjs")
        done
        rm -f "$tsan/tsan-integration.txt"
        FEDAUTH_TSAN=1 FEDAUTH_TSAN_REPORTS="$tsan/tsan-integration.txt" \
            integration "$tsan/.libs/mod_fedauth.so" "${files[@]}"
        # (each file with a report has failed above; here is what TSan said)
        head -n 120 "$tsan/tsan-integration.txt" 2>/dev/null
        echo "ThreadSanitizer tier: $((SECONDS - tsan_start)) s"
    else
        echo "ThreadSanitizer build failed"; count 0 1
    fi
fi

if [ "${FEDAUTH_SKIP_FUZZ:-0}" != 1 ]; then
    log "fuzzing: every parser of outside input, ${FEDAUTH_FUZZ_SECONDS:-20} s each"
    # a line per target as it ends (the whole output is kept for the count)
    bash build/fuzz.sh "${FEDAUTH_FUZZ_SECONDS:-20}" 2>&1 \
        | tee build/out/fuzz.log \
        | grep --line-buffered -E '^fuzz |passed, .* failed'
    out=$(cat build/out/fuzz.log)
    p=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | tail -1)
    f=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | tail -1)
    if [ -z "$p" ]; then echo "$out" | tail -n 30; count 0 1
    else count "$p" "$f"; fi
fi

log "benchmark smoke test (t/bench/run.mjs --smoke)"
if node t/bench/run.mjs --smoke > build/out/bench-smoke.log 2>&1; then
    grep -E '^\| [AB] ' build/out/bench-smoke.log || tail -n 5 build/out/bench-smoke.log
    count 1 0
else
    tail -n 30 build/out/bench-smoke.log; count 0 1
fi
log "soak and micro-benchmark smoke tests (t/bench/soak.mjs, micro.sh)"
if node t/bench/soak.mjs --only B --requests 20000 --warmup 2000 --chunk 1 \
        > build/out/soak-smoke.log 2>&1; then
    tail -n 1 build/out/soak-smoke.log
    count 1 0
else
    tail -n 30 build/out/soak-smoke.log; count 0 1
fi
if bash t/bench/micro.sh 0.02 > build/out/micro-smoke.log 2>&1; then
    grep -E '^\| cookie_check ' build/out/micro-smoke.log
    count 1 0
else
    tail -n 30 build/out/micro-smoke.log; count 0 1
fi

log "summary"
summary
