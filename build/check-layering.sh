#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The core (include/fa_*.h, mod_fedauth/fa_*.c) must never see httpd: it is
# unit-tested and fuzzed on its own. Fails when a core file includes an
# httpd header.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=$(grep -nE '#\s*include\s*[<"](httpd|http_[a-z_]+|ap_[a-z_]+|mod_[a-z_]+|util_[a-z_]+)\.h[>"]' \
      include/fa_*.h mod_fedauth/fa_*.c || true)
if [ -n "$bad" ]; then
    echo "layering: the core includes httpd headers:"
    echo "$bad"
    echo "layering: 0 passed, 1 failed"
    exit 1
fi
echo "layering: core files include no httpd header"
