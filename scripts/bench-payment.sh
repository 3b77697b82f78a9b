#!/usr/bin/env bash
# Paying institutions at scale (BENCHMARKS.md, "Paying institutions"): the twelve monthly payments
# (`yibao pay month`) and the year-end clearing (`yibao pay year-end`) of a year of a synthetic
# region's settlements, timed one by one and in total.
#
#   cargo build --release -p yibao && cargo build --release -p yibao-region --example payment_ledger
#   scripts/bench-payment.sh 1000000 /tmp/pay-bench
#
# Generates once into WORKDIR (synth/, then db/: a few minutes at 1,000,000 persons) and reuses
# them; every run pays a fresh copy of db/ (run/), so each run posts every statement anew.
# PROFILE=debug uses the debug build (for checking the scaling on a small region).
set -euo pipefail
persons=${1:-1000000}
work=${2:-/tmp/pay-bench}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/target/${PROFILE:-release}"
policy="$root/policies/payment/jiujiang-budget.toml"
if [ ! -d "$work/synth" ]; then
    "$bin/yibao" synth --persons "$persons" --seed 7 --year 2025 --out "$work/synth.partial"
    mv "$work/synth.partial" "$work/synth"
fi
if [ ! -d "$work/db" ]; then
    rm -rf "$work/db.partial"
    "$bin/examples/payment_ledger" "$work/synth" "$work/db.partial"
    mv "$work/db.partial" "$work/db"
fi
rm -rf "$work/run"
cp -r "$work/db" "$work/run"
now() { date +%s.%N; }
start=$(now)
for month in 01 02 03 04 05 06 07 08 09 10 11 12; do
    t=$(now)
    "$bin/yibao" pay month --month "2025-$month" --as-of 2026-01-05 --policy "$policy" \
        --data-dir "$work/run" --format csv > "$work/run/month-$month.csv"
    printf 'pay month 2025-%s  %6.2f s\n' "$month" "$(echo "$(now) - $t" | bc)"
done
t=$(now)
"$bin/yibao" pay year-end --year 2025 --policy "$policy" --data-dir "$work/run" --format csv \
    > "$work/run/year-end.csv"
printf 'pay year-end 2025  %6.2f s\n' "$(echo "$(now) - $t" | bc)"
printf 'total              %6.2f s  (%s budgets)\n' "$(echo "$(now) - $start" | bc)" \
    "$(($(wc -l < "$work/run/year-end.csv") - 1))"
