#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# conf.d/monitoring: the Prometheus alert rules and the Grafana dashboard
# over the module's metrics. Fails when
#   - promtool check rules refuses fedauth-alerts.yml, or promtool test
#     rules finds an alert of it that does not fire as
#     fedauth-alerts.test.yml expects;
#   - the dashboard is not JSON, or one of its queries is not PromQL
#     (checked by promtool as recording rules, with Grafana's variables
#     $__rate_interval, $instance, $provider replaced by plain values);
#   - the rules or the dashboard name a metric (fedauth_...) that
#     mod_fedauth/fa_metrics.c does not write, or an outcome="..." or
#     reason="..." value it does not count under.
# Needs promtool (Debian: prometheus) and jq.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=conf.d/monitoring
rules=$dir/fedauth-alerts.yml
tests=$dir/fedauth-alerts.test.yml
dash=$dir/fedauth-dashboard.json
src=mod_fedauth/fa_metrics.c
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "check-monitoring: $*"; fail=$((fail + 1)); }

for tool in promtool jq; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "check-monitoring: $tool is missing (build/deps.sh installs it)"
        exit 1
    fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- the rules ---------------------------------------------------------
if out=$(promtool check rules "$rules" 2>&1); then ok; else bad "$out"; fi
if out=$(cd "$dir" && promtool test rules "$(basename "$tests")" 2>&1); then
    ok
else
    bad "$out"
fi

# ---- the dashboard -----------------------------------------------------
if ! jq -e '.panels | length > 0' "$dash" >/dev/null 2>&1; then
    bad "$dash is not JSON with panels"
else
    ok
    jq -r '.. | objects | select(has("expr")) | .expr' "$dash" >"$tmp/exprs"
    {
        echo "groups:"
        echo "  - name: dashboard"
        echo "    rules:"
        n=0
        while IFS= read -r e; do
            n=$((n + 1))
            e=${e//\$__rate_interval/5m}
            e=${e//\$instance/.*}
            e=${e//\$provider/.*}
            printf '      - record: dashboard:query%d\n        expr: %s\n' \
                "$n" "$(jq -Rn --arg e "$e" '$e')"
        done <"$tmp/exprs"
    } >"$tmp/dash-rules.yml"
    if out=$(promtool check rules "$tmp/dash-rules.yml" 2>&1); then
        ok
    else
        bad "a dashboard query is not PromQL: $out"
    fi
fi

# ---- every name the rules and the dashboard use ------------------------
# The metric names fa_metrics.c writes: its string literals (a
# histogram's _bucket, _sum and _count are written out there too).
grep -o '"fedauth_[a-z0-9_]*' "$src" | tr -d '"' | sort -u >"$tmp/known"
# The label values it counts under: the outcomes and end reasons.
sed -n '/fa_metrics_outcomes\[\] = {/,/^};/p; /end_names\[/,/};/p' "$src" \
    | grep -o '"[a-z_]*"' | tr -d '"' | sort -u >"$tmp/values"
used=$( (grep -o 'fedauth_[a-z0-9_]*' "$rules"; cat "$tmp/exprs" 2>/dev/null \
         | grep -o 'fedauth_[a-z0-9_]*') | sort -u)
for m in $used; do
    if grep -qx "$m" "$tmp/known"; then ok; else bad "no metric $m in $src"; fi
done
# outcome="x", outcome!="x", outcome=~"x|y", and the same for reason
vals=$( (cat "$rules"; cat "$tmp/exprs" 2>/dev/null) \
        | grep -oE '(outcome|reason)(=|!=|=~|!~)"[^"]*"' \
        | sed -E 's/^[a-z]+[!=~]+"//; s/"$//' | tr '|' '\n' | sort -u)
for v in $vals; do
    if grep -qx "$v" "$tmp/values"; then ok; else bad "no outcome or reason \"$v\" in $src"; fi
done

echo "check-monitoring: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
