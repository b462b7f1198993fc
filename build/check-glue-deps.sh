#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The httpd glue (mod_fedauth/mod_fedauth*.c) is a stack of layers: each
# file uses only files below it, and no two files use each other. This
# check draws the graph and fails when
#   - it has a cycle;
#   - a file calls (or reads) something another glue file defines without
#     including that file's header, or the header does not declare it, or
#     a file includes a glue header it uses nothing of: the includes must
#     say exactly what the objects use (nm on the built .o files), so the
#     graph cannot be fooled by a missing or stray include;
#   - a file defines a global symbol its own header does not declare;
#   - an endpoint file (mod_fedauth_endpoint_*) is used by anything but
#     the root, mod_fedauth.c, which dispatches to them;
#   - mod_fedauth_types.h, the header of the shared types, declares a function,
#     or a glue header includes another glue header than mod_fedauth_types.h;
#   - a glue function is longer than MAX_FUNCTION_LINES (120) lines.
# The one symbol that every glue file may use without a header of its own
# is the module record, fedauth_module (AP_DECLARE_MODULE in the root):
# httpd needs it for every configuration look-up and log line; it is
# declared with the types in mod_fedauth_types.h.
# Needs the module built (make): it reads mod_fedauth/.libs/*.o.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=mod_fedauth
root=mod_fedauth
types=$dir/mod_fedauth_types.h
module_record=fedauth_module
max_lines=${MAX_FUNCTION_LINES:-120}
bad=0
problem() { echo "glue-deps: $*"; bad=1; }
# A file's name without the prefix, for the report.
short() {
    if [ "$1" = "$root" ]; then echo "$root"; else echo "${1#mod_fedauth_}"; fi
}
# The C of a file without comments and preprocessor lines: what it
# declares.
code_of() {
    perl -0pe 's{/\*.*?\*/}{ }gs' "$1" | grep -v '^\s*#' || true
}

files=()
for f in "$dir"/mod_fedauth*.c; do
    files+=("$(basename "$f" .c)")
done
declare -A is_glue=() deps=() users=() defines=() definer=() obj=()
for b in "${files[@]}"; do is_glue[$b]=1; done

# ---- headers ----------------------------------------------------------
if code_of "$types" | grep -q '('; then
    problem "$types must hold types only, but declares:"
    code_of "$types" | grep '(' | sed 's/^/    /'
fi
for b in "${files[@]}"; do
    [ "$b" = "$root" ] && continue
    h=$dir/$b.h
    if [ ! -f "$h" ]; then
        problem "$b.c has no header $b.h declaring what it offers"
        continue
    fi
    for inc in $(grep -oE '^\s*#\s*include\s*"mod_fedauth[a-z_]*\.h"' "$h" \
                 | grep -oE 'mod_fedauth[a-z_]*' || true); do
        [ "$inc" = "$(basename "$types" .h)" ] || problem "$h includes $inc.h: a glue" \
            "header includes only $(basename "$types")"
    done
done

# ---- the graph from the includes ---------------------------------------
for b in "${files[@]}"; do
    d=""
    for inc in $(grep -oE '^\s*#\s*include\s*"mod_fedauth_[a-z_]*\.h"' \
                 "$dir/$b.c" | grep -oE 'mod_fedauth_[a-z_]*' || true); do
        [ "$inc" = "$b" ] && continue
        [ "$inc" = "$(basename "$types" .h)" ] && continue
        if [ -z "${is_glue[$inc]:-}" ]; then
            problem "$b.c includes $inc.h, which belongs to no glue file"
            continue
        fi
        d="$d $inc"
        users[$inc]="${users[$inc]:-} $b"
    done
    deps[$b]=$d
done
for b in "${files[@]}"; do
    case $b in
    mod_fedauth_endpoint_*)
        for u in ${users[$b]:-}; do
            [ "$u" = "$root" ] || problem "$u.c uses the endpoint file" \
                "$b.c: endpoints are used by the root ($root.c) only"
        done ;;
    esac
done

# ---- what the objects use: nm ------------------------------------------
for b in "${files[@]}"; do
    o=""
    for c in "$dir"/.libs/*-"$b".o; do [ -f "$c" ] && o=$c && break; done
    if [ -z "$o" ]; then
        echo "glue-deps: no object for $b.c in $dir/.libs: build first (make)"
        echo "glue-deps: 0 passed, 1 failed"
        exit 1
    fi
    if [ "$dir/$b.c" -nt "$o" ]; then
        echo "glue-deps: $o is older than $b.c: build first (make)"
        echo "glue-deps: 0 passed, 1 failed"
        exit 1
    fi
    obj[$b]=$o
    defines[$b]=$(nm -g --defined-only "$o" | awk '{ print $3 }')
    for s in ${defines[$b]}; do definer[$s]=$b; done
done
for b in "${files[@]}"; do
    used=" "
    for s in $(nm -u "${obj[$b]}" | awk '{ print $2 }'); do
        y=${definer[$s]:-}
        if [ -z "$y" ] || [ "$y" = "$b" ]; then continue; fi
        if [ "$s" = "$module_record" ]; then
            continue
        fi
        case " ${deps[$b]} " in
        *" $y "*) ;;
        *) problem "$b.c uses $s of $y.c without including $y.h" ;;
        esac
        if [ "$y" = "$root" ]; then
            problem "$b.c uses $s of the root, which offers nothing"
        elif ! code_of "$dir/$y.h" | grep -qw "$s"; then
            problem "$b.c uses $s, which $y.h does not declare"
        fi
        used="$used$y "
    done
    for y in ${deps[$b]}; do
        case $used in
        *" $y "*) ;;
        *) problem "$b.c includes $y.h but uses nothing of $y.c" ;;
        esac
    done
    for s in ${defines[$b]}; do
        if [ "$b" = "$root" ]; then
            [ "$s" = "$module_record" ] || problem "$root.c defines $s:" \
                "the root keeps everything static but the module record"
        elif ! code_of "$dir/$b.h" | grep -qw "$s"; then
            problem "$b.c defines $s, which $b.h does not declare" \
                "(make it static, or declare it)"
        fi
    done
done
if ! code_of "$types" | grep -qw "$module_record"; then
    problem "$types does not declare the module record $module_record"
fi

# ---- layers and cycles ------------------------------------------------
# A file's layer is one above the highest of the files it uses. Files that
# never get one are on a cycle (or use a file on one).
declare -A layer=()
left=${#files[@]}
changed=1
while [ "$left" -gt 0 ] && [ $changed = 1 ]; do
    changed=0
    for b in "${files[@]}"; do
        [ -n "${layer[$b]:-}" ] && continue
        l=0 ready=1
        for y in ${deps[$b]}; do
            if [ -z "${layer[$y]:-}" ]; then ready=0; break; fi
            [ "${layer[$y]}" -ge $l ] && l=$((layer[$y] + 1))
        done
        if [ $ready = 1 ]; then layer[$b]=$l; left=$((left - 1)); changed=1; fi
    done
done
if [ "$left" -gt 0 ]; then
    # Of the files without a layer, those that no other such file uses
    # only sit above a cycle: drop them until the cycles are left.
    declare -A oncycle=()
    for b in "${files[@]}"; do [ -n "${layer[$b]:-}" ] || oncycle[$b]=1; done
    changed=1
    while [ $changed = 1 ]; do
        changed=0
        for b in "${!oncycle[@]}"; do
            used=0
            for x in "${!oncycle[@]}"; do
                case " ${deps[$x]} " in *" $b "*) used=1; break ;; esac
            done
            if [ $used = 0 ]; then unset "oncycle[$b]"; changed=1; fi
        done
    done
    problem "the glue has a cycle; the files on it and what they use of it:"
    for b in "${files[@]}"; do
        [ -n "${oncycle[$b]:-}" ] || continue
        line=""
        for y in ${deps[$b]}; do
            [ -n "${oncycle[$y]:-}" ] && line="$line $y.c"
        done
        echo "    $b.c ->$line"
    done
fi

# ---- function lengths -------------------------------------------------
# From the first line of the signature to the closing brace; a function
# body opens with "{" alone in column 0 and closes with "}" there.
lengths=$(for b in "${files[@]}"; do
    awk -v f="$dir/$b.c" '
        /^[A-Za-z].*\(/ && !/;[ \t]*$/ && !infn { sig = FNR; name = $0 }
        /^\{$/ { infn = 1 }
        /^\}$/ && infn {
            infn = 0; sub(/\(.*/, "", name); n = split(name, w, /[ *]+/)
            print FNR - sig + 1, w[n], f ":" sig
        }' "$dir/$b.c"
done | sort -rn)
longest=$(echo "$lengths" | head -n 1)
while read -r n name where; do
    [ -n "$n" ] && [ "$n" -gt "$max_lines" ] \
        && problem "$name ($where) has $n lines, more than $max_lines"
done <<<"$lengths"

# ---- the report -------------------------------------------------------
echo "glue-deps: the glue's layers, top first (a file uses only files of"
echo "glue-deps: lower layers; mod_fedauth_types.h holds the shared types):"
top=0
for b in "${files[@]}"; do
    [ "${layer[$b]:-0}" -gt "$top" ] && top=${layer[$b]}
done
for l in $(seq "$top" -1 0); do
    for b in "${files[@]}"; do
        [ "${layer[$b]:-}" = "$l" ] || continue
        line=""
        for y in ${deps[$b]}; do line="$line $(short "$y")"; done
        [ -n "$line" ] || line=" (no glue file)"
        printf '  %d  %-18s -> %s\n' "$l" "$(short "$b")" "${line# }"
    done
done
echo "glue-deps: longest function: ${longest:-none} (at most $max_lines lines)"
if [ $bad -ne 0 ]; then
    echo "glue-deps: 0 passed, 1 failed"
    exit 1
fi
echo "glue-deps: ${#files[@]} glue files, no cycle, every call between them" \
     "goes through the header of the file that defines it"
