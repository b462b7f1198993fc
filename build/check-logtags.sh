#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Each log call site has its own tag FAnnnnn; a tag is never used twice,
# and every tag is explained in docs/troubleshooting.md. Every error code
# the module can set (the code passed to fedauth_error, fa_err_set,
# auth_refuse, auth_refuse_tag, refuse or backchannel_answer) is there too.
set -euo pipefail
cd "$(dirname "$0")/.."
doc=docs/troubleshooting.md
bad=0
dups=$(grep -ohE 'FALOGNO\([0-9]{5}\)' mod_fedauth/*.c | sort | uniq -d)
if [ -n "$dups" ]; then
    echo "log tags used more than once: $dups"
    bad=1
fi
tags=$(grep -ohE 'FALOGNO\([0-9]{5}\)' mod_fedauth/*.c | sed -E 's/FALOGNO\(([0-9]+)\)/FA\1/' | sort -u)
for t in $tags; do
    grep -qE "^\| $t \|" "$doc" || { echo "$doc has no row for log tag $t"; bad=1; }
done
# The first lower-case string literal among a call's arguments is its code.
codes=$(perl -0777 -ne '
    s{/\*.*?\*/}{}gs;
    while (/\b(?:fedauth_error|fa_err_set|auth_refuse|auth_refuse_tag|refuse|backchannel_answer)\s*(\((?:[^()]++|(?1))*\))/g) {
        my $args = $1;
        print "$1\n" if $args =~ /"([a-z][a-z_]*)"/;
    }' mod_fedauth/*.c | sort -u)
for c in $codes; do
    grep -qF "\`$c\`" "$doc" || { echo "$doc does not explain the error code $c"; bad=1; }
done
if [ $bad -ne 0 ]; then
    echo "check-logtags: 0 passed, 1 failed"
    exit 1
fi
echo "check-logtags: $(grep -ohE 'FALOGNO\([0-9]{5}\)' mod_fedauth/*.c | wc -l) log tags, all unique and in $doc; $(echo "$codes" | wc -l) error codes, all in $doc"
