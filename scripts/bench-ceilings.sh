#!/usr/bin/env bash
# What bounds the service on this machine (BENCHMARKS.md, "What bounds the service on this machine"):
#
#   scripts/bench-ceilings.sh target/release/yibao /tmp/ceilings
#
# 1. The server's floor: `yibao serve` (SQLite) answering its cheapest messages — 9001 签到 (no
#    storage at all) and 1101 人员信息获取 (a person read from the registry) — to `wrk` over 64
#    keep-alive connections, with the CPU seconds of the server and of wrk per message.
# 2. PostgreSQL: `pgbench` one-row insert transactions at 64 clients; and the rows of settlement
#    flows (the tables and indexes of yibao's schema, the row counts and sizes of an outpatient flow
#    from BENCHMARKS.md "Rows and bytes per settlement") in transactions of FLOWS flows on one
#    connection, the way the service's one committer writes them, and one flow per transaction
#    at 64 clients.
# 3. SQLite: the same flows' rows in transactions of FLOWS flows (WAL, synchronous = FULL, the
#    service's settings).
#
# Needs wrk, pgbench and psql, sqlite3, a PostgreSQL at 127.0.0.1:5432 (user postgres, trust).
# SECONDS_EACH sets each measurement's length (15), FLOWS the flows per transaction (64),
# BATCHES the transactions of the SQLite and single-connection PostgreSQL runs (200), PORT the port.
set -euo pipefail
yibao=$(realpath "${1:-target/release/yibao}")
dir=${2:-/tmp/yibao-ceilings}
seconds=${SECONDS_EACH:-15}
flows=${FLOWS:-64}
batches=${BATCHES:-200}
port=${PORT:-18741}
db=yibao_ceilings_$$
pg="-h 127.0.0.1 -p 5432 -U postgres"
url=http://127.0.0.1:$port
call=$url/fsi/api/rsfComIfsService/callService
export YIBAO_ADMIN_TOKEN=bench
rm -rf "$dir"
mkdir -p "$dir"
cd "$(dirname "$0")/.."

echo "machine: $(nproc) vCPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), $(date -u +%FT%TZ)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# CPU seconds (user + system) of a process so far.
cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }

# --- 1. the server's floor -------------------------------------------------------------------
"$yibao" import policy policies/jiujiang.toml --data-dir "$dir/sqlite" >/dev/null
"$yibao" import catalog catalogs/jiujiang-sample.csv --data-dir "$dir/sqlite" >/dev/null
"$yibao" serve --data-dir "$dir/sqlite" --listen 127.0.0.1:$port --log-format plain \
  >"$dir/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; psql $pg -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT
sleep 3
# Registers the load's institutions and persons (seed 7: institution H90000070000, persons
# L0000070000000 …, certno 360400000700000000 …).
"$yibao" load --url "$url" --concurrency 1 --duration 1 --seed 7 >/dev/null
envelope='"fixmedins_code":"H90000070000","mdtrtarea_admvs":"360400","insuplc_admdvs":"360400","recer_sys_code":"MBS_LOCAL","opter":"load","opter_name":"load","inf_time":"2026-12-07 12:00:00"'
cat >"$dir/9001.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"infno":"9001","msgid":"H90000070000202612071200000000001",$envelope,"input":{"signIn":{"opter_no":"load","mac":"00","ip":"127.0.0.1"}}}'
EOF
cat >"$dir/1101.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"infno":"1101","msgid":"H90000070000202612071200000000002",$envelope,"input":{"data":{"mdtrt_cert_type":"02","mdtrt_cert_no":"360400000700000001","psn_cert_type":"01","certno":"360400000700000001","psn_name":"压测"}}}'
EOF
for infno in 9001 1101; do
  # Each reply must be a success: one request first, checked.
  curl -s -XPOST "$call" -H 'content-type: application/json' \
    -d "$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$dir/$infno.lua")" | grep -q '"infcode":0' ||
    { echo "$infno is not answered with infcode 0" >&2; exit 1; }
  before=$(cpu_s $server)
  /usr/bin/time -f "%U %S" -o "$dir/wrk-$infno.time" \
    wrk -t2 -c64 -d"${seconds}s" --latency -s "$dir/$infno.lua" "$call" >"$dir/wrk-$infno.txt"
  wrk_cpu=$(awk '{print $1 + $2}' "$dir/wrk-$infno.time")
  after=$(cpu_s $server)
  rate=$(awk '/Requests\/sec/ {print $2}' "$dir/wrk-$infno.txt")
  awk -v infno=$infno -v rate="$rate" -v s="$seconds" -v srv="$before $after" -v w="$wrk_cpu" 'BEGIN {
    split(srv, c, " "); n = rate * s;
    printf "%s over HTTP, 64 connections: %.0f messages/s; CPU per message: server %.1f µs, wrk %.1f µs\n",
      infno, rate, (c[2] - c[1]) / n * 1e6, w / n * 1e6 }'
  grep -E "^ +(50|99)%" "$dir/wrk-$infno.txt" | sed "s/^/  $infno latency /"
done
kill $server
wait $server 2>/dev/null || true

# --- 2 and 3: the storage ceilings -------------------------------------------------------------
# The rows of $flows outpatient flows with keys from batch $2, in the dialect $1 (pg or sqlite):
# 1 visit, 1 fee-line event, 3 fee lines, 1 settlement, 1 fund row, 3 settlement lines, 2 postings,
# 4 stored messages, 2 accumulator totals and 1 account total (upserts); text of the sizes stored.
pad() { head -c "$1" /dev/zero | tr '\0' x; }
info=$(pad 281)
line=$(pad 257)
result=$(pad 422)
basis=$(pad 121)
reply_hex=$(head -c 455 /dev/zero | od -An -v -tx1 | tr -d ' \n')
flow_rows() {
  local dialect=$1 b=$2 n=$3
  local series bytes
  if [ "$dialect" = pg ]; then
    series="generate_series(1, $n) AS g(i)"
    bytes="decode('$reply_hex', 'hex')"
  else
    series="(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $n) SELECT i FROM s) AS g"
    bytes="x'$reply_hex'"
  fi
  local k="$b || '-' || i"
  cat <<EOF
INSERT INTO visits (mdtrt_id, fixmedins_code, psn_no, insutype, kind, med_type, begntime, endtime, status, ipt_otp_no, mdtrt_cert_type, dise_codg, refl_flag, info)
  SELECT 'V' || $k, 'H90000070000', 'L' || (i % 1000), '310', 'outpatient', '11', '2026-12-07 10:00:00', '', 'settled', 'O' || $k, '02', 'J06.900', '0', '$info' FROM $series;
INSERT INTO fee_line_events (event_seq, mdtrt_id, kind, infno, msgid, event_time, split_basis)
  SELECT CAST($b AS BIGINT) * 100000 + i, 'V' || $k, 'upload', '2204', 'M' || $k, '2026-12-07 10:00:01', '$basis' FROM $series;
INSERT INTO fee_lines (mdtrt_id, upload_seq, event_seq, feedetl_sn, chrg_bchno, init_feedetl_sn, det_item_fee_sumamt, line, result, med_list_codg, cnt_e4, pric_micro_yuan, hosp_appr_flag, split_rule, fulamt_ownpay_amt, overlmt_amt, preselfpay_amt, inscp_scp_amt, remote_extra_preselfpay, selfpay_prop_bp, pric_uplmt_micro_yuan, chrgitm_lv, med_chrgitm_type, lmt_used_flag, flat)
  SELECT 'V' || $k, l, CAST($b AS BIGINT) * 100000 + i, 'F' || l, 'B1', '', 1234, '$line', '$result', 'XA01', 10000, 1234000, '0', 'class', 0, 0, 62, 1172, 0, 500, NULL, '01', '09', 0, 0
  FROM $series, (SELECT 1 AS l UNION ALL SELECT 2 UNION ALL SELECT 3) AS lines;
INSERT INTO settlements (setl_id, seq, kind, orig_setl_id, infno, msgid, fixmedins_code, mdtrt_id, psn_no, insutype, year, med_type, mid_setl_flag, setl_time, clr_type, clr_way, clr_optins, balc, mdtrtarea_admvs, medfee_sumamt, fulamt_ownpay_amt, overlmt_selfpay, preselfpay_amt, inscp_scp_amt, act_pay_dedc, hifp_pay, cvlserv_pay, hifes_pay, hifmi_pay, hifob_pay, maf_pay, oth_pay, hifdm_pay, fund_pay_sumamt, psn_part_amt, acct_pay, acct_mulaid_pay, psn_cash_pay, hosp_part_amt)
  SELECT 'S' || $k, CAST($b AS BIGINT) * 100000 + i, 'settlement', NULL, '2207', 'M' || $k, 'H90000070000', 'V' || $k, 'L' || (i % 1000), '310', 2026, '11', '0', '2026-12-07 10:00:02', '11', '1', '360400', 200000, '360400', 3702, 0, 0, 186, 3516, 0, 2461, 0, 0, 0, 0, 0, 0, 0, 2461, 1241, 1241, 0, 0, 0
  FROM $series;
INSERT INTO settlement_funds (setl_id, row_no, fund_pay_type, fund_pay_type_name, payer_class, inscp_scp_amt, crt_payb_lmt_amt, fund_payamt, setl_proc_info)
  SELECT 'S' || $k, 0, '310100', '职工基本医疗保险统筹基金', '1', 3516, NULL, 2461, 'outpatient pooling 70%' FROM $series;
INSERT INTO settlement_lines (setl_id, feedetl_sn, det_item_fee_sumamt, fulamt_ownpay_amt, overlmt_amt, preselfpay_amt, inscp_scp_amt)
  SELECT 'S' || $k, 'F' || l, 1234, 0, 0, 62, 1172
  FROM $series, (SELECT 1 AS l UNION ALL SELECT 2 UNION ALL SELECT 3) AS lines;
INSERT INTO postings (setl_id, psn_no, insutype, year, acc_key, amount)
  SELECT 'S' || $k, 'L' || (i % 1000), '310', 2026, 'k' || p, 1234
  FROM $series, (SELECT 1 AS p UNION ALL SELECT 2) AS keys;
INSERT INTO messages (fixmedins_code, msgid, infno, effect_ref, reply, reply_packed, created_at, request_digest)
  SELECT 'H90000070000', 'M' || $k || '-' || m, '220' || m, 'V' || $k, '', $bytes, '2026-12-07 10:00:00', '0123456789abcdef0123456789abcdef'
  FROM $series, (SELECT 1 AS m UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 7) AS msgs;
INSERT INTO acc_totals (psn_no, insutype, year, acc_key, amount)
  SELECT 'L' || $k, '310', 2026, 'k' || p, 1234 FROM $series, (SELECT 1 AS p UNION ALL SELECT 2) AS keys
  WHERE true ON CONFLICT (psn_no, insutype, year, acc_key) DO UPDATE SET amount = excluded.amount;
INSERT INTO account_totals (psn_no, insutype, paid)
  SELECT 'L' || $k, '310', 1241 FROM $series
  WHERE true ON CONFLICT (psn_no, insutype) DO UPDATE SET paid = excluded.paid;
EOF
}
# $batches transactions of $flows flows each, in the dialect $1.
flow_batches() {
  for b in $(seq 1 "$batches"); do
    echo "BEGIN;"
    flow_rows "$1" "$b" "$flows"
    echo "COMMIT;"
  done
}
rows_per_flow=19

# SQLite: yibao's schema (a fresh database migrated by yibao), the service's settings.
"$yibao" import policy policies/jiujiang.toml --data-dir "$dir/sqlite-rows" >/dev/null
{
  echo "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -65536;"
  flow_batches sqlite
} >"$dir/sqlite-rows.sql"
started=$(date +%s.%N)
sqlite3 "$dir/sqlite-rows/yibao.db" <"$dir/sqlite-rows.sql" >/dev/null
ended=$(date +%s.%N)
awk -v t0="$started" -v t1="$ended" -v n=$((batches * flows)) -v r=$rows_per_flow -v f="$flows" 'BEGIN {
  printf "SQLite, %d flows in transactions of %d (sqlite3 shell, WAL, synchronous FULL): %.0f flows/s, %.0f rows/s\n",
    n, f, n / (t1 - t0), n * r / (t1 - t0) }'

# PostgreSQL: yibao's schema in a fresh database.
psql $pg -qc "CREATE DATABASE $db" >/dev/null
"$yibao" import policy policies/jiujiang.toml --database "postgres://postgres@127.0.0.1:5432/$db" >/dev/null
flow_batches pg >"$dir/pg-rows.sql"
started=$(date +%s.%N)
psql $pg -d "$db" -q -v ON_ERROR_STOP=1 -f "$dir/pg-rows.sql" >/dev/null
ended=$(date +%s.%N)
awk -v t0="$started" -v t1="$ended" -v n=$((batches * flows)) -v r=$rows_per_flow -v f="$flows" 'BEGIN {
  printf "PostgreSQL, %d flows in transactions of %d on one connection (psql): %.0f flows/s, %.0f rows/s\n",
    n, f, n / (t1 - t0), n * r / (t1 - t0) }'

# pgbench: one flow per transaction at 64 clients (keys from a sequence), and one-row transactions.
psql $pg -d "$db" -qc "CREATE SEQUENCE bench_batch START 1000000; CREATE TABLE bench_one (k BIGSERIAL PRIMARY KEY, v TEXT NOT NULL)"
{
  echo "SELECT nextval('bench_batch') AS b \\gset"
  echo "BEGIN;"
  flow_rows pg ":b" 1
  echo "COMMIT;"
} >"$dir/pgbench-flow.sql"
echo "INSERT INTO bench_one (v) VALUES ('$(pad 100)');" >"$dir/pgbench-one.sql"
for script in flow one; do
  pgbench $pg -n -c 64 -j 2 -T "$seconds" -f "$dir/pgbench-$script.sql" "$db" >"$dir/pgbench-$script.txt" 2>&1
  tps=$(awk '/^tps/ {print $3; exit}' "$dir/pgbench-$script.txt")
  echo "pgbench, 64 clients, $script per transaction: $tps transactions/s"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
