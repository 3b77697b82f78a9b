#!/usr/bin/env bash
# The real-time audit under load (BENCHMARKS.md, "Real-time audit under load"): fills a SQLite ledger
# through `yibao serve` with a plain `yibao load`, then measures 3102 (`yibao load --audit`) with the
# per-person state off (`YIBAO_AUDIT_STATE_PERSONS=0`) and on (the default), alternating, twice.
#
#   cargo build --release -p yibao
#   scripts/bench-audit-realtime.sh target/release/yibao /tmp/audit-bench
#
# FILL and RUN set the seconds of the fill and of each measured run (60 and 20); PORT the port.
set -euo pipefail
yibao=${1:-target/release/yibao}
dir=${2:-/tmp/audit-realtime-bench}
port=${PORT:-18473}
url=http://127.0.0.1:$port
export YIBAO_ADMIN_TOKEN=bench
rm -rf "$dir"
"$yibao" import policy policies/jiujiang.toml --data-dir "$dir" >/dev/null
"$yibao" import catalog catalogs/jiujiang-sample.csv --data-dir "$dir" >/dev/null
server=
serve() {
  YIBAO_AUDIT_STATE_PERSONS=$1 "$yibao" serve --data-dir "$dir" --listen 127.0.0.1:$port \
    >"$dir/serve.log" 2>&1 &
  server=$!
  sleep 3
}
stop() {
  kill "$server"
  wait "$server" || true
}
serve 100000
"$yibao" load --url "$url" --concurrency 16 --duration "${FILL:-60}" --persons 200 --seed 7
stop
for persons in 0 100000 0 100000; do
  serve "$persons"
  echo "audit_state_persons=$persons"
  "$yibao" load --url "$url" --concurrency 16 --duration "${RUN:-20}" --persons 200 --seed 7 --audit
  stop
done
