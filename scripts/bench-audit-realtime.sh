#!/usr/bin/env bash
# The real-time audit under load (BENCHMARKS.md, "Real-time audit under load"): fills a SQLite ledger
# through `yibao serve` with a plain `yibao load`, then measures 3102 (`yibao load --audit`), each
# run right after a restart of the server.
#
#   cargo build --release -p yibao
#   scripts/bench-audit-realtime.sh target/release/yibao /tmp/audit-bench
#   scripts/bench-audit-realtime.sh target/release/yibao /tmp/audit-bench /tmp/yibao-before
#
# With one binary: the per-person state off (`YIBAO_AUDIT_STATE_PERSONS=0`) and on (the default),
# alternating, twice. With a second binary (an earlier build, "before"): the fill is made by it and
# copied, so each binary runs on its own copy of the same ledger (a newer binary may migrate it,
# which the older one then refuses), and each round runs before with the state off, before with it
# on, then the binary measured with the state on and warmed at start (the default) and with the
# warm-up off (`YIBAO_AUDIT_STATE_WARM=false`: every person read on first analysis); twice.
#
# FILL and RUN set the seconds of the fill and of each measured run (60 and 20); PORT the port.
set -euo pipefail
yibao=${1:-target/release/yibao}
dir=${2:-/tmp/audit-realtime-bench}
before=${3:-}
port=${PORT:-18473}
url=http://127.0.0.1:$port
export YIBAO_ADMIN_TOKEN=bench
rm -rf "$dir"
mkdir -p "$dir"
filler=${before:-$yibao}
"$filler" import policy policies/jiujiang.toml --data-dir "$dir/fill" >/dev/null
"$filler" import catalog catalogs/jiujiang-sample.csv --data-dir "$dir/fill" >/dev/null
server=
# serve BINARY DATA-DIR PERSONS WARM
serve() {
  YIBAO_AUDIT_STATE_PERSONS=$3 YIBAO_AUDIT_STATE_WARM=$4 "$1" serve --data-dir "$2" \
    --listen 127.0.0.1:$port >>"$dir/serve.log" 2>&1 &
  server=$!
  sleep 3
}
stop() {
  kill "$server"
  wait "$server" || true
}
serve "$filler" "$dir/fill" 100000 true
"$filler" load --url "$url" --concurrency 16 --duration "${FILL:-60}" --persons 200 --seed 7
stop
# measure LABEL BINARY DATA-DIR PERSONS WARM
measure() {
  serve "$2" "$3" "$4" "$5"
  echo "$1: audit_state_persons=$4 audit_state_warm=$5"
  "$2" load --url "$url" --concurrency 16 --duration "${RUN:-20}" --persons 200 --seed 7 --audit
  stop
}
if [ -z "$before" ]; then
  for persons in 0 100000 0 100000; do
    measure measured "$yibao" "$dir/fill" "$persons" true
  done
  exit 0
fi
cp -r "$dir/fill" "$dir/before"
cp -r "$dir/fill" "$dir/after"
for round in 1 2; do
  echo "round $round"
  measure before "$before" "$dir/before" 0 true
  measure before "$before" "$dir/before" 100000 true
  measure after "$yibao" "$dir/after" 100000 true
  measure after "$yibao" "$dir/after" 100000 false
done
grep -h "real-time audit state warmed" "$dir/serve.log" || true
