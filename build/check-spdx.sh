#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every source file says its licence in one line near its top:
#   SPDX-License-Identifier: Apache-2.0
# (C, headers, shell scripts, .mjs, .lua, the autotools inputs, the
# configuration samples and the monitoring rules; JSON, HTML and the
# corpus files cannot carry a comment and are not checked). Fails when a
# file lacks it in its first 5 lines.
set -euo pipefail
cd "$(dirname "$0")/.."
patterns=('*.c' '*.h' '*.sh' '*.mjs' '*.lua' '*.cgi' '*.am' 'configure.ac'
          '.ci/run' 'debian/rules' 'conf.d/*.conf' 'conf.d/*.load'
          'conf.d/*.yml' 't/tsan.supp')
if git rev-parse --git-dir >/dev/null 2>&1; then
    files=$(git ls-files -co --exclude-standard -- "${patterns[@]}")
else
    # a release tarball: no git, the same files by name
    # (what autotools and configure made, build/aux, build/m4, build/config.h,
    # and what a build or test left are not ours)
    files=$(find . \( -path ./t/node_modules -o -path ./build/out \
                -o -path ./build/aux -o -path ./build/m4 \
                -o -path ./build/config.h -o -path ./t/artifacts \) -prune \
                -o -type f \( -name '*.[ch]' -o -name '*.sh' -o -name '*.mjs' \
                -o -name '*.lua' -o -name '*.cgi' -o -name Makefile.am \
                -o -name configure.ac -o -name tsan.supp \
                -o -path './conf.d/*' \( -name '*.conf' -o -name '*.load' \
                -o -name '*.yml' \) \) -print | sed 's|^\./||' | sort)
fi
missing=()
n=0
for f in $files; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    head -n 5 "$f" | grep -q 'SPDX-License-Identifier: Apache-2\.0' \
        || missing+=("$f")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "check-spdx: no 'SPDX-License-Identifier: Apache-2.0' line in:"
    printf '  %s\n' "${missing[@]}"
    echo "check-spdx: 0 passed, 1 failed"
    exit 1
fi
echo "check-spdx: all $n source files carry SPDX-License-Identifier: Apache-2.0"
