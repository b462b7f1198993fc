#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Each log call site has its own tag FAnnnnn; a tag is never used twice.
set -euo pipefail
cd "$(dirname "$0")/.."
dups=$(grep -ohE 'FALOGNO\([0-9]{5}\)' mod_fedauth/*.c | sort | uniq -d)
if [ -n "$dups" ]; then
    echo "log tags used more than once: $dups"
    echo "check-logtags: 0 passed, 1 failed"
    exit 1
fi
echo "check-logtags: $(grep -ohE 'FALOGNO\([0-9]{5}\)' mod_fedauth/*.c | wc -l) log tags, all unique"
