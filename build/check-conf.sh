#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every directive the module defines must be shown in conf.d/fedauth.conf
# and have a "### Name" entry in docs/directives.md with Syntax, Context
# and Default lines; neither may name a directive the module does not have.
set -euo pipefail
cd "$(dirname "$0")/.."
src=mod_fedauth/mod_fedauth_config.c
ref=docs/directives.md

code=$( { grep -oE 'AP_INIT_[A-Z0-9_]+\("<?[A-Za-z]+' "$src" | sed 's/.*("<\{0,1\}//'
          grep -oE 'strcasecmp\(name, "[A-Za-z]+"\)' "$src" | sed 's/.*"\(.*\)")/\1/'
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
n=$(echo "$code" | wc -l)
if [ $bad -ne 0 ]; then
    echo "check-conf: 0 passed, 1 failed"
    exit 1
fi
echo "check-conf: all $n directives are in conf.d/fedauth.conf and $ref"
