#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every directive the module defines must be shown in conf.d/fedauth.conf
# and documented in the README's directive tables, and neither may name a
# directive the module does not have.
set -euo pipefail
cd "$(dirname "$0")/.."
src=mod_fedauth/mod_fedauth_config.c

code=$( { grep -oE 'AP_INIT_[A-Z0-9_]+\("<?[A-Za-z]+' "$src" | sed 's/.*("<\{0,1\}//'
          grep -oE 'strcasecmp\(name, "[A-Za-z]+"\)' "$src" | sed 's/.*"\(.*\)")/\1/'
        } | sort -u)
conf=$(grep -oE '^\s*#?\s*<?(FedAuth[A-Za-z]*|[A-Z][A-Za-z]+)\b' conf.d/fedauth.conf \
       | sed -E 's/^\s*#?\s*<?//' | sort -u)
readme=$(grep -oE '^\| `<?[A-Z][a-z][A-Za-z]*' README.md | sed -E 's/^\| `<?//' | sort -u)

bad=0
for d in $code; do
    grep -qx "$d" <<<"$conf" || { echo "conf.d/fedauth.conf lacks $d"; bad=1; }
    grep -qx "$d" <<<"$readme" || { echo "README.md directive tables lack $d"; bad=1; }
done
for d in $readme; do
    grep -qx "$d" <<<"$code" || { echo "README.md documents $d, which the module does not have"; bad=1; }
done
n=$(echo "$code" | wc -l)
if [ $bad -ne 0 ]; then
    echo "check-conf: 0 passed, 1 failed"
    exit 1
fi
echo "check-conf: all $n directives are in conf.d/fedauth.conf and the README"
