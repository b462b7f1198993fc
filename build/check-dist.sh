#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The release tarball builds with only a compiler and the -dev packages:
# runs `make dist` in the (configured) top tree, unpacks the tarball in a
# temporary directory and runs ./configure && make there with every
# autotools program replaced by `false` (a build that wanted to run
# aclocal, autoconf, automake or autoheader fails), then checks that the
# built fedauthctl says the version of configure.ac. Leaves the tarball
# in build/out/dist/. Needs `./configure` run in the top tree first.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
[ -f Makefile ] || { echo "check-dist: run ./configure first"; exit 1; }
version=$(sed -n 's/^AC_INIT(\[mod_fedauth\], \[\([^]]*\)\].*/\1/p' configure.ac)
name="mod_fedauth-$version"
out="$top/build/out/dist"
rm -rf "$out"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

fail() {
    echo "check-dist: $*"
    echo "check-dist: 0 passed, 1 failed"
    exit 1
}

make -s dist >"$out/dist.log" 2>&1 || { tail -n 20 "$out/dist.log"; fail "make dist failed"; }
mv "$name.tar.gz" "$out/"
tar -C "$tmp" -xzf "$out/$name.tar.gz"
src="$tmp/$name"
[ -x "$src/configure" ] || fail "no configure in $name.tar.gz"
for f in LICENSE NOTICE NEWS README.md docs/directives.md docs/troubleshooting.md \
         t/unit/data/rfc_vectors.json; do
    [ -f "$src/$f" ] || fail "$name.tar.gz lacks $f"
done
if tar -tzf "$out/$name.tar.gz" | grep -E '/(node_modules|artifacts|out|autom4te\.cache|\.libs|\.deps)/|\.(o|lo|la|so)$' \
        | head -n 5 | grep .; then
    fail "$name.tar.gz carries build or test output (above)"
fi
no_autotools=(ACLOCAL=false AUTOCONF=false AUTOMAKE=false AUTOHEADER=false)
if ! (cd "$src" && ./configure -q "$@" && make -j2 -s "${no_autotools[@]}") \
        >"$out/build.log" 2>&1; then
    tail -n 30 "$out/build.log"
    fail "./configure && make failed in the unpacked $name"
fi
[ ! -d "$src/autom4te.cache" ] || fail "the build ran autoconf"
got=$("$src/fedauthctl" --version) || fail "fedauthctl --version failed"
case $got in
    "fedauthctl (mod_fedauth) $version "*) ;;
    *) fail "fedauthctl --version says '$got', not $version" ;;
esac
[ -f "$src/.libs/mod_fedauth.so" ] || fail "no .libs/mod_fedauth.so"
echo "check-dist: $name.tar.gz ($(du -k "$out/$name.tar.gz" | cut -f1) KiB)" \
     "builds without autotools; $got"
