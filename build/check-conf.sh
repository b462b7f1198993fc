#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every directive the module defines must be shown in conf.d/fedauth.conf
# and have a "### Name" entry in docs/directives.md with Syntax, Context
# and Default lines; neither may name a directive the module does not have.
# The help text of each <FedAuthProvider> sub-directive is the first
# sentence of its entry, and each default in mod_fedauth/fedauth_defaults.h
# is the entry's Default.
set -euo pipefail
cd "$(dirname "$0")/.."
table=mod_fedauth/mod_fedauth_config_table.c
subs=mod_fedauth/mod_fedauth_config_provider.c
defaults=mod_fedauth/fedauth_defaults.h
ref=docs/directives.md

code=$( { grep -oE 'AP_INIT_[A-Z0-9_]+\("<?[A-Za-z]+' "$table" | sed 's/.*("<\{0,1\}//'
          grep -oE '^    \{ "[A-Za-z]+", sub_' "$subs" | sed 's/.*{ "\([A-Za-z]*\)".*/\1/'
        } | sort -u)
conf=$(grep -oE '^\s*#?\s*<?(FedAuth[A-Za-z]*|[A-Z][A-Za-z]+)\b' conf.d/fedauth.conf \
       | sed -E 's/^\s*#?\s*<?//' | sort -u)
docs=$(grep -oE '^### [A-Za-z]+$' "$ref" | sed 's/^### //' | sort -u)
# The Syntax/Context/Default lines each entry has (entry name + field).
fields=$(awk '/^### /{d=$2} /^## /{d=""} d && /^- (Syntax|Context|Default): /{
             sub(/:.*/, "", $2); print d, $2 }' "$ref")

bad=0
for d in $code; do
    grep -qx "$d" <<<"$conf" || { echo "conf.d/fedauth.conf lacks $d"; bad=1; }
    grep -qx "$d" <<<"$docs" || { echo "$ref has no '### $d' entry"; bad=1; }
    for f in Syntax Context Default; do
        grep -qx "$d $f" <<<"$fields" \
            || { echo "$ref: '### $d' has no '- $f:' line"; bad=1; }
    done
done
for d in $docs; do
    grep -qx "$d" <<<"$code" || { echo "$ref documents $d, which the module does not have"; bad=1; }
done

# The help text of each <FedAuthProvider> sub-directive (its table entry's
# last string) is the first sentence of its entry in $ref (without
# backquotes, spaces squeezed).
helps=$(perl -0ne 'while (/^    \{ "(\w+)", sub_\w+,(.*?)\},?\n/msg) {
        my ($n, $e) = ($1, $2);
        $e =~ s/"\s*\n\s*"//g;              # adjacent literals joined
        my @s = $e =~ /"((?:[^"\\]|\\.)*)"/g;
        print "$n\t$s[-1]\n" }' "$subs")
firsts=$(perl -0ne 'my ($sec) = /## Identity providers(.*?)\n## /s;
        while ($sec =~ /^### (\w+)\n(.*?)(?=^### |\z)/msg) {
            my ($n, $b) = ($1, $2);
            my ($p) = grep { /\S/ && !/^\s*- / } split /\n\n/, $b;
            $p =~ s/\s+/ /g; $p =~ s/`//g; $p =~ s/^ //;
            my ($f) = $p =~ /^(.*?\.)(?:\s|$)/; $f //= $p;
            print "$n\t$f\n" }' "$ref")
while IFS=$'\t' read -r name help; do
    doc=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' <<<"$firsts")
    if [ "$help" != "$doc" ]; then
        echo "$subs: the help of $name is not $ref's first sentence:"
        echo "    code: $help"
        echo "    docs: $doc"
        bad=1
    fi
done <<<"$helps"

# Each default in $defaults ("/* Directive: `shown` */" above its
# #define) is what $ref's "- Default:" line of that directive starts with,
# and a number, On/Off or string shown is the #define's value.
while IFS=$'\t' read -r name shown value macro; do
    line=$(awk -v d="$name" '/^### /{e=$2} e == d && /^- Default: /{
               sub(/^- Default: /, ""); print; exit }' "$ref")
    case $line in
    "$shown"*) ;;
    *) echo "$defaults: $name defaults to $shown, $ref says: $line"; bad=1 ;;
    esac
    v=${shown//\`/}
    case $value in
    \"*\") [ "\"$v\"" = "$value" ] || { echo "$defaults: $macro is $value, shown $shown"; bad=1; } ;;
    [0-9]*)
        case $v in
        On) want=1 ;; Off) want=0 ;; *) want=${v%% *} ;;
        esac
        [[ $macro == *_MS ]] && want=$((want * 1000))
        case $want in
        *[!0-9]*) ;;
        *) [ "$want" = "$value" ] || { echo "$defaults: $macro is $value, shown $shown"; bad=1; } ;;
        esac ;;
    esac
done < <(awk '/^\/\* [A-Za-z]+: .* \*\/$/ { n = $2; sub(/:$/, "", n)
                  s = $0; sub(/^\/\* [A-Za-z]+: /, "", s); sub(/ \*\/$/, "", s)
                  if (s ~ /^`/) { sub(/`[^`]*$/, "", s); s = s "`" }
                  else sub(/ \(.*$/, "", s); next_is = 1; next }
             next_is && /^#define FEDAUTH_DEFAULT_/ { print n "\t" s "\t" $3 "\t" $2 }
             { next_is = 0 }' "$defaults")

n=$(echo "$code" | wc -l)
if [ $bad -ne 0 ]; then
    echo "check-conf: 0 passed, 1 failed"
    exit 1
fi
echo "check-conf: all $n directives are in conf.d/fedauth.conf and $ref;" \
     "the sub-directives' help and the defaults agree with it"
