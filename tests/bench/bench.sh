#!/usr/bin/env bash
# `make bench`: spilo-agent against its peers on this machine, with the same client for both
# sides of each comparison. Every figure is printed as a ratio agent/peer; the table also goes to
# <build>/bench/results.md. Peers that cannot run are skipped (and named); the exit status is 0
# unless the agent itself cannot be benchmarked.
#
#   1. idle: RSS, PSS, USS and CPU over BENCH_IDLE_SECONDS of the agent (PostgreSQL and S3 configured, checks
#      every 10 s) vs prometheus-postgres-exporter (same PostgreSQL) and vs Patroni (one member on
#      etcd, loop_wait 10 s); each one's metrics endpoint is scraped every 10 s meanwhile, as a
#      Prometheus would.
#   2. HTTP with wrk --latency: the agent's /livez vs Patroni's /liveness (also at 64 connections), the agent's /metrics vs
#      the exporter's /metrics (requests/s and p99 latency).
#   3. S3: BENCH_BACKUPS backups beside BENCH_WAL WAL objects, written into s3rver's store (s3rver
#      behind the listing-faithful S3 of the tests, tests/integration/lib/s3_listing.py); the
#      agent's `check --only backups` vs `aws s3api list-objects-v2` of the same basebackups_005/
#      listing vs a naive `aws s3 ls --recursive` of the whole prefix (what a tool that lists WAL
#      does). Then the WAL chain over BENCH_WAL segments in the daemon, cold (bounded pages a run
#      until complete) and steady (start-after the newest key), vs `aws s3api list-objects-v2` of
#      the same wal_005/; the agent's RSS/PSS/USS with the chain built. Requests are counted by a
#      recording proxy in front of it (and the agent's own details.s3_requests), time is wall
#      clock of the whole command.
#
# usage: tests/bench/bench.sh [path/to/spilo-agent]
# knobs: BENCH_IDLE_SECONDS (60), BENCH_WRK_SECONDS (10), BENCH_WRK_THREADS (2),
#        BENCH_WRK_CONNS (10), BENCH_BACKUPS (10000), BENCH_WAL (100000), BENCH_NAIVE (1; 0 skips
#        the slow naive listing), BENCH_OUT (<dir of the binary>/bench)
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH_DIR/../.." && pwd)
AGENT=${1:-${AGENT:-$REPO/build/spilo-agent}}
AGENT=$(cd "$(dirname "$AGENT")" && pwd)/$(basename "$AGENT")
[ -x "$AGENT" ] || { echo "bench: $AGENT is missing (make all)" >&2; exit 1; }
IDLE_S=${BENCH_IDLE_SECONDS:-60}
WRK_S=${BENCH_WRK_SECONDS:-10}
WRK_T=${BENCH_WRK_THREADS:-2}
WRK_C=${BENCH_WRK_CONNS:-10}
N_BACKUPS=${BENCH_BACKUPS:-10000}
N_WAL=${BENCH_WAL:-100000}
NAIVE=${BENCH_NAIVE:-1}
OUT_DIR=${BENCH_OUT:-$(dirname "$AGENT")/bench}
TEST_NAME=bench
. "$REPO/tests/integration/lib/common.sh"
. "$REPO/tests/integration/lib/pg.sh"
. "$REPO/tests/integration/lib/s3.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
mkdir -p "$OUT_DIR"
SKIPPED=()
ROWS=()
NOTES=()
T0=$SECONDS

log() { echo "bench: $*" >&2; }
skip() { SKIPPED+=("$1"); log "skipped: $1"; }

# ---- measuring --------------------------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; } # utime + stime
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
# pss_kb PID, uss_kb PID: proportional and private (unique) set size from smaps_rollup: RSS counts
# the shared libraries every process maps; USS is what the process alone costs the node
pss_kb() { awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }
uss_kb() { awk '$1 == "Private_Clean:" || $1 == "Private_Dirty:" { s += $2 } END { print s }' "/proc/$1/smaps_rollup" 2>/dev/null; }

# proc_find ROOT COMM: the first process in ROOT's tree (ROOT included) whose comm is COMM
proc_find() {
    local queue=("$1") p
    while [ ${#queue[@]} -gt 0 ]; do
        p=${queue[0]}
        queue=("${queue[@]:1}")
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" == "$2" ] && { echo "$p"; return 0; }
        # shellcheck disable=SC2207
        queue+=($(cat /proc/"$p"/task/*/children 2>/dev/null))
    done
    return 1
}

# ratio A B: A/B with two significant decimals, "n/a" when B is 0 or either is missing
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) { print "n/a"; exit }
        r = a / b; printf (r >= 10 ? "%.0f×" : r >= 1 ? "%.1f×" : r >= 0.1 ? "%.2f×" : "%.3f×"), r }'
}
row() { ROWS+=("| $1 | $2 | $3 | $4 | $(ratio "$5" "$6") |"); } # row FIGURE PEER A B a b
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "" || v == "-") print "-"; else printf f, v }'; }
now_ms() { date +%s%3N; }

# wrk_run URL [WRK ARGS...]: sets WRK_RPS, WRK_P99_MS and WRK_NOTE (non-2xx, socket errors)
wrk_run() {
    local out url=$1
    shift
    out=$(wrk -t"$WRK_T" -c"$WRK_C" -d"${WRK_S}s" --latency "$@" "$url" 2>&1)
    WRK_RPS=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    WRK_P99_MS=$(awk '$1 == "99%" {
        v = $2; u = v; sub(/^[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
        m = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : 1
        printf "%.3f", v * m }' <<<"$out")
    WRK_NOTE=$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' ' | paste -sd';' -)
    if [ -n "$WRK_NOTE" ]; then
        log "wrk $url: $WRK_NOTE"
        NOTES+=("wrk${*:+ $*} /${url#http://127.0.0.1:*/}:$WRK_NOTE")
    fi
    [ -n "$WRK_RPS" ] || { log "wrk $url failed: $out"; WRK_RPS=-; WRK_P99_MS=-; }
}

# ---- PostgreSQL, S3 and the agent -------------------------------------------------------------
command -v wrk >/dev/null || skip "wrk: not installed (Debian package wrk); the HTTP figures are left out"
log "PostgreSQL 15"
PG_OK=0
if pg_start "$TMP/pg"; then PG_OK=1; else skip "PostgreSQL: did not start; the agent and exporter run without it"; fi
log "s3rver behind the listing-faithful S3"
S3_OK=0
if s3rver_ensure && s3_start "$TMP/s3"; then
    S3_OK=1
    BUCKET=acme-harbor-pg-backups
    awss3 s3 mb "s3://$BUCKET" >/dev/null
    awss3 s3 cp --recursive --quiet "$FIXTURES/s3/healthy-3-backups/$BUCKET" "s3://$BUCKET/"
else
    skip "s3rver: did not start (npm install s3rver); the S3 figures are left out"
fi
mkenv() { # mkenv DIR PREFIX: the fixture envdir with s3rver's account
    mkdir -p "$1"
    cp "$FIXTURES/envdir/walg-s3-ok/env/"* "$1/"
    printf S3RVER >"$1/AWS_ACCESS_KEY_ID"
    printf S3RVER >"$1/AWS_SECRET_ACCESS_KEY"
    printf '%s' "$2" >"$1/WALG_S3_PREFIX"
}
mkenv "$TMP/env" "s3://acme-harbor-pg-backups/spilo/postgresql-harbor-harborcluster/5e0c7d7a-2b1f-4f4e-9a53-1c8d2e7b9f40/wal/15"

# ---- Patroni: one member on etcd, Patroni's default loop_wait/ttl -----------------------------
PATRONI_PID='' ETCD_PID='' PATRONI_API=''
patroni_bench_stop() {
    local p
    for p in $PATRONI_PID $ETCD_PID; do
        kill -TERM "$p" 2>/dev/null || continue
        for _ in $(seq 1 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    # a Patroni killed hard leaves its postmaster behind
    if [ -f "$TMP/patroni/p1/data/postmaster.pid" ]; then
        p=$(head -1 "$TMP/patroni/p1/data/postmaster.pid")
        [ -n "$p" ] && kill -TERM "$p" 2>/dev/null
    fi
    return 0
}
patroni_bench_start() {
    local d=$TMP/patroni etcd_port etcd_peer api pgp runner
    command -v patroni >/dev/null || { skip "Patroni: not installed (Debian package patroni)"; return 1; }
    command -v etcd >/dev/null || { skip "Patroni: etcd is not installed (Debian package etcd-server)"; return 1; }
    _pg_install || { skip "Patroni: PostgreSQL 15 is missing"; return 1; }
    mkdir -p "$d/p1"
    _pg_prepare_owner "$d" || { skip "Patroni: cannot prepare $d for the test user"; return 1; }
    etcd_port=$(free_port); etcd_peer=$(free_port); api=$(free_port); pgp=$(free_port)
    cat >"$d/p1.yml" <<YML
scope: bench
name: p1
log:
  level: WARNING
restapi:
  listen: 127.0.0.1:$api
  connect_address: 127.0.0.1:$api
etcd:
  host: 127.0.0.1:$etcd_port
bootstrap:
  dcs:
    ttl: 30
    loop_wait: 10
    retry_timeout: 10
  initdb:
    - encoding: UTF8
  pg_hba:
    - local all all trust
    - local replication all trust
    - host all all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:$pgp
  connect_address: 127.0.0.1:$pgp
  data_dir: $d/p1/data
  bin_dir: $PG_BIN
  pgpass: $d/p1/pgpass
  authentication:
    superuser:
      username: postgres
      password: bench-only
    replication:
      username: standby
      password: bench-only
  parameters:
    unix_socket_directories: $d/p1
    shared_buffers: 16MB
    fsync: "off"
YML
    chown -R "$(_pg_owner):" "$d" 2>/dev/null
    chmod 0700 "$d/p1"
    runner=()
    [ "$(id -u)" -eq 0 ] && runner=(runuser -u "$PG_TEST_USER" --)
    on_exit patroni_bench_stop
    (cd "$d" && exec "${runner[@]}" etcd --name bench --data-dir "$d/etcd" --enable-v2=true \
        --listen-client-urls "http://127.0.0.1:$etcd_port" \
        --advertise-client-urls "http://127.0.0.1:$etcd_port" \
        --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
        --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
        --initial-cluster "bench=http://127.0.0.1:$etcd_peer") >"$d/etcd.log" 2>&1 &
    local eroot=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$etcd_port/health" >/dev/null && break; sleep 0.1; done
    ETCD_PID=$(proc_find "$eroot" etcd) || { skip "Patroni: etcd did not start ($(tail -2 "$d/etcd.log"))"; return 1; }
    (cd "$d" && exec "${runner[@]}" patroni "$d/p1.yml") >"$d/p1.log" 2>&1 &
    local proot=$!
    PATRONI_API=http://127.0.0.1:$api
    for _ in $(seq 1 600); do
        [ "$(curl -s --max-time 2 "$PATRONI_API/patroni" | jq -r .role 2>/dev/null)" == master ] ||
            [ "$(curl -s --max-time 2 "$PATRONI_API/patroni" | jq -r .role 2>/dev/null)" == primary ] && break
        sleep 0.1
    done
    PATRONI_PID=$(proc_find "$proot" patroni) || { skip "Patroni: did not start ($(tail -2 "$d/p1.log"))"; return 1; }
    wait_http "$PATRONI_API/liveness" 200 30 || { skip "Patroni: /liveness never answered 200 ($(tail -2 "$d/p1.log"))"; return 1; }
    return 0
}
log "Patroni + etcd"
PATRONI_OK=0
patroni_bench_start && PATRONI_OK=1

# ---- prometheus-postgres-exporter --------------------------------------------------------------
EXPORTER_PID='' EXPORTER_URL=''
EXPORTER_OK=0
if ! command -v prometheus-postgres-exporter >/dev/null; then
    skip "postgres-exporter: not installed (Debian package prometheus-postgres-exporter)"
elif [ "$PG_OK" != 1 ]; then
    skip "postgres-exporter: no PostgreSQL"
else
    log "prometheus-postgres-exporter"
    eport=$(free_port)
    EXPORTER_URL=http://127.0.0.1:$eport
    DATA_SOURCE_NAME="postgresql://postgres@127.0.0.1:$PGPORT_TEST/postgres?sslmode=disable" \
        prometheus-postgres-exporter --web.listen-address="127.0.0.1:$eport" \
        >"$TMP/exporter.log" 2>&1 &
    EXPORTER_PID=$!
    on_exit "kill $EXPORTER_PID"
    if wait_http "$EXPORTER_URL/metrics" 200 20 &&
        curl -s "$EXPORTER_URL/metrics" | grep -q '^pg_up 1'; then
        EXPORTER_OK=1
    else
        skip "postgres-exporter: /metrics did not answer with pg_up 1 ($(tail -2 "$TMP/exporter.log"))"
    fi
fi

# ---- the agent: PostgreSQL, S3 and Patroni configured, checks every 10 s --------------------------
AGENT_ARGS=(--set agent.interval=10s --set agent.check_timeout=8s --set "walg.envdir=$TMP/env")
[ "$S3_OK" = 1 ] && AGENT_ARGS+=(--set "s3.endpoint=$S3RVER_URL")
[ "$PG_OK" = 1 ] && AGENT_ARGS+=(--set "postgres.conninfo=$PG_CONNINFO_TEST")
if [ "$PATRONI_OK" = 1 ]; then
    AGENT_ARGS+=(--set "postgres.patroni_url=$PATRONI_API")
else
    AGENT_ARGS+=(--set "postgres.patroni_url=http://127.0.0.1:$(free_port)")
fi
log "spilo-agent"
agent_start bench "${AGENT_ARGS[@]}"
if ! wait_http "$AGENT_URL/readyz" 200 30; then
    log "the agent did not get ready: $(tail -5 "$AGENT_LOG")"
    exit 1
fi
curl -s "$AGENT_URL/status" | jq -r '.checks | to_entries[] | "bench:   agent check \(.key): \(.value.status)"' >&2

# ---- 1. idle ---------------------------------------------------------------------------------
declare -A PIDS=([agent]=$AGENT_PID)
declare -A URLS=([agent]=$AGENT_URL/metrics)
[ "$EXPORTER_OK" = 1 ] && PIDS[exporter]=$EXPORTER_PID && URLS[exporter]=$EXPORTER_URL/metrics
[ "$PATRONI_OK" = 1 ] && PIDS[patroni]=$PATRONI_PID && URLS[patroni]=$PATRONI_API/metrics
log "idle for ${IDLE_S}s (each /metrics scraped every 10 s)"
sleep 2 # past start-up work
declare -A TICKS0 TICKS1 RSS PSS USS
for k in "${!PIDS[@]}"; do TICKS0[$k]=$(cpu_ticks "${PIDS[$k]}"); done
t_start=$(now_ms)
(
    while :; do
        for u in "${URLS[@]}"; do curl -s -o /dev/null --max-time 5 "$u"; done
        sleep 10
    done
) &
scraper=$!
on_exit "kill $scraper"
sleep "$IDLE_S"
kill "$scraper" 2>/dev/null
wait "$scraper" 2>/dev/null
t_idle=$(( $(now_ms) - t_start ))
for k in "${!PIDS[@]}"; do
    TICKS1[$k]=$(cpu_ticks "${PIDS[$k]}")
    RSS[$k]=$(rss_kb "${PIDS[$k]}")
    PSS[$k]=$(pss_kb "${PIDS[$k]}")
    USS[$k]=$(uss_kb "${PIDS[$k]}")
done
cpu_s() { awk -v a="${TICKS0[$1]}" -v b="${TICKS1[$1]}" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }'; }
cpu_pct() { awk -v a="${TICKS0[$1]}" -v b="${TICKS1[$1]}" -v hz="$CLK_TCK" -v ms="$t_idle" 'BEGIN { printf "%.2f", (b - a) / hz / (ms / 1000) * 100 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
for peer in exporter patroni; do
    name=$([ $peer == exporter ] && echo postgres-exporter || echo Patroni)
    if [ -n "${PIDS[$peer]:-}" ]; then
        row "idle RSS, MiB (lower is better)" "$name" "$(mib "${RSS[agent]}")" "$(mib "${RSS[$peer]}")" "${RSS[agent]}" "${RSS[$peer]}"
        row "idle PSS (shared pages split), MiB (lower is better)" "$name" "$(mib "${PSS[agent]}")" "$(mib "${PSS[$peer]}")" "${PSS[agent]}" "${PSS[$peer]}"
        row "idle USS (private pages only), MiB (lower is better)" "$name" "$(mib "${USS[agent]}")" "$(mib "${USS[$peer]}")" "${USS[agent]}" "${USS[$peer]}"
        row "idle CPU over ${IDLE_S} s, % of one core (lower is better)" "$name" "$(cpu_pct agent)" "$(cpu_pct $peer)" "$(cpu_s agent)" "$(cpu_s $peer)"
    else
        ROWS+=("| idle RSS, PSS, USS and CPU | $name | $(mib "${RSS[agent]}"), $(mib "${PSS[agent]}"), $(mib "${USS[agent]}") MiB, $(cpu_pct agent) % | skipped | - |")
    fi
done

# ---- 2. HTTP ---------------------------------------------------------------------------------
if command -v wrk >/dev/null; then
    # Patroni answers HTTP/1.0 and closes every connection; kubelet opens one per probe anyway.
    # So the pair runs twice: keep-alive as wrk does by default, and a new connection per request.
    for mode in keep-alive close; do
        hdr=()
        [ $mode == close ] && hdr=(-H 'Connection: close')
        what=$([ $mode == close ] && echo "a new connection per request" || echo "keep-alive")
        log "wrk -t$WRK_T -c$WRK_C -d${WRK_S}s, $what: agent /livez"
        wrk_run "$AGENT_URL/livez" "${hdr[@]}"; a_rps=$WRK_RPS; a_p99=$WRK_P99_MS
        if [ "$PATRONI_OK" = 1 ]; then
            log "wrk, $what: Patroni /liveness"
            wrk_run "$PATRONI_API/liveness" "${hdr[@]}"
            row "/livez vs Patroni /liveness, $what, requests/s (higher is better)" Patroni "$(fmt "$a_rps" %.0f)" "$(fmt "$WRK_RPS" %.0f)" "$a_rps" "$WRK_RPS"
            row "/livez vs Patroni /liveness, $what, p99 latency ms (lower is better)" Patroni "$(fmt "$a_p99" %.2f)" "$(fmt "$WRK_P99_MS" %.2f)" "$a_p99" "$WRK_P99_MS"
        else
            ROWS+=("| /livez, $what, requests/s and p99 ms | Patroni | $(fmt "$a_rps" %.0f), $(fmt "$a_p99" %.2f) | skipped | - |")
        fi
    done
    # 64 connections at once, as many probes and scrapers of one node could open
    log "wrk -t$WRK_T -c64 -d${WRK_S}s: agent /livez"
    wrk_run "$AGENT_URL/livez" -c64; a_rps=$WRK_RPS; a_p99=$WRK_P99_MS
    if [ "$PATRONI_OK" = 1 ]; then
        log "wrk -c64: Patroni /liveness"
        wrk_run "$PATRONI_API/liveness" -c64
        row "/livez vs Patroni /liveness, 64 connections, p99 latency ms (lower is better)" Patroni "$(fmt "$a_p99" %.2f)" "$(fmt "$WRK_P99_MS" %.2f)" "$a_p99" "$WRK_P99_MS"
    else
        ROWS+=("| /livez, 64 connections, p99 ms | Patroni | $(fmt "$a_p99" %.2f) | skipped | - |")
    fi
    log "wrk: agent /metrics"
    wrk_run "$AGENT_URL/metrics"; a_rps=$WRK_RPS; a_p99=$WRK_P99_MS
    if [ "$EXPORTER_OK" = 1 ]; then
        log "wrk: postgres-exporter /metrics"
        wrk_run "$EXPORTER_URL/metrics"
        row "/metrics, requests/s (higher is better)" postgres-exporter "$(fmt "$a_rps" %.0f)" "$(fmt "$WRK_RPS" %.0f)" "$a_rps" "$WRK_RPS"
        row "/metrics, p99 latency ms (lower is better)" postgres-exporter "$(fmt "$a_p99" %.2f)" "$(fmt "$WRK_P99_MS" %.2f)" "$a_p99" "$WRK_P99_MS"
    else
        ROWS+=("| /metrics requests/s, p99 ms | postgres-exporter | $(fmt "$a_rps" %.0f), $(fmt "$a_p99" %.2f) | skipped | - |")
    fi
fi
AGENT_RSS_AFTER=$(rss_kb "$AGENT_PID")
agent_stop
[ "$AGENT_RC" = 0 ] || log "the agent exited $AGENT_RC"
grep -q "open handles" "$AGENT_LOG" && log "the agent left open handles"
# the peers are not needed any more: stop them before the S3 part takes the cores
[ -n "$EXPORTER_PID" ] && kill "$EXPORTER_PID" 2>/dev/null
[ "$PATRONI_OK" = 1 ] && patroni_bench_stop

# ---- 3. S3: BENCH_BACKUPS backups beside BENCH_WAL WAL objects ---------------------------------
S3_NOTE=
if [ "$S3_OK" = 1 ]; then
    BIG=bench-backups
    ROOT=spilo/bench-cluster/0c7a1d2e-3f40-4b5c-8d6e-7f8091a2b3c4/wal/15
    mkdir -p "$TMP/s3/$BIG"
    log "writing $N_BACKUPS backups and $N_WAL WAL objects into s3rver's store"
    t=$(now_ms)
    gen=$("$PY" "$BENCH_DIR/gen_layout.py" "$TMP/s3/$BIG" "$ROOT" "$N_BACKUPS" "$N_WAL")
    log "  $(jq -r .objects <<<"$gen") objects in $(( ($(now_ms) - t) / 1000 ))s"
    NOW=$(jq -r .now <<<"$gen")
    mkenv "$TMP/env-big" "s3://$BIG/$ROOT"
    s3proxy_start "$S3RVER_PORT" "$TMP/s3-requests.jsonl"
    PROXY_URL=http://127.0.0.1:$PROXY_PORT
    BIG_ARGS=(--set "walg.envdir=$TMP/env-big" --set agent.check_timeout=3600s --set agent.interval=7200s
        --set 'backups.schedule=0 * * * *' --set "backups.retain=$N_BACKUPS" --now "$NOW")
    # proxied ARGS...: runs ARGS with requests counted by the proxy; sets REQS and SECS
    proxied() {
        : >"$TMP/s3-requests.jsonl"
        t=$(now_ms)
        "$@"
        SECS=$(awk -v ms=$(( $(now_ms) - t )) 'BEGIN { printf "%.1f", ms / 1000 }')
        REQS=$(wc -l <"$TMP/s3-requests.jsonl")
    }

    log "agent: check --only backups (direct, timed)"
    t=$(now_ms)
    out=$("$AGENT" check --json --only backups --set "s3.endpoint=$S3RVER_URL" "${BIG_ARGS[@]}" 2>"$TMP/big.err")
    a_secs=$(awk -v ms=$(( $(now_ms) - t )) 'BEGIN { printf "%.1f", ms / 1000 }')
    a_reqs=$(jq -r '.checks.backups.details.s3_requests // empty' <<<"$out")
    a_count=$(jq -r '[.checks.backups.details.count, .checks.backups.details.permanent_count, .checks.backups.details.delta_count] | map(. // 0) | add' <<<"$out")
    a_status=$(jq -r '.checks.backups.status' <<<"$out")
    log "  $a_status, $a_count backups, $a_reqs requests, ${a_secs}s"
    [ "$a_count" = "$N_BACKUPS" ] || S3_NOTE+="The agent counted $a_count backups, not $N_BACKUPS ($(jq -r .checks.backups.summary <<<"$out")). "
    log "agent: the same through the counting proxy"
    proxied "$AGENT" check --json --only backups --set "s3.endpoint=$PROXY_URL" "${BIG_ARGS[@]}" >/dev/null 2>&1
    a_proxy_reqs=$REQS
    a_lists=$(jq -r 'select(.query | test("list-type=2"))' -c "$TMP/s3-requests.jsonl" | wc -l)
    [ "$a_proxy_reqs" = "$a_reqs" ] || S3_NOTE+="The proxy saw $a_proxy_reqs agent requests, details.s3_requests says $a_reqs. "

    # The daemon keeps what it fetched (sentinels for good, metadata.json for an hour): its
    # second run is what a pod pays every interval.
    log "agent daemon: a cold and a warm run of the backups check"
    agent_start big --set agent.interval=40s --set agent.check_timeout=35s \
        --set "walg.envdir=$TMP/env-big" --set "s3.endpoint=$S3RVER_URL" \
        --set "postgres.conninfo=host=127.0.0.1 port=$(free_port) connect_timeout=1" \
        --set "postgres.patroni_url=http://127.0.0.1:$(free_port)"
    # meanwhile, /livez as a kubelet would probe it, every 20 ms
    rm -f "$TMP/probe.stop"
    "$PY" "$BENCH_DIR/probe.py" "$AGENT_PORT" "$TMP/probe.stop" "$TMP/probe.json" &
    probe_pid=$!
    on_exit "kill $probe_pid"
    first='' second='' d_reqs=- d_secs=- d_cold=-
    for _ in $(seq 1 1200); do
        st=$(curl -s --max-time 2 "$AGENT_URL/checks/backups")
        at=$(jq -r '.checked_at // empty' <<<"$st" 2>/dev/null)
        if [ -n "$at" ] && [ -z "$first" ]; then
            first=$at
            d_cold=$(jq -r '.details.s3_requests // "-"' <<<"$st")
        elif [ -n "$at" ] && [ "$at" != "$first" ]; then
            second=$at
            d_reqs=$(jq -r '.details.s3_requests // "-"' <<<"$st")
            d_secs=$(jq -r '.duration_ms' <<<"$st" | awk '{ printf "%.1f", $1 / 1000 }')
            break
        fi
        sleep 0.1
    done
    AGENT_RSS_BIG=$(rss_kb "$AGENT_PID")
    touch "$TMP/probe.stop"
    wait "$probe_pid"
    agent_stop
    pr=$(jq -r '"\(.n) probes, \(.failed) failed, p99 \(.p99_ms) ms, max \(.max_ms) ms, \(.over_10ms) over 10 ms, \(.over_100ms) over 100 ms"' "$TMP/probe.json" 2>/dev/null)
    log "  /livez meanwhile: $pr"
    if [ -n "$second" ]; then
        log "  cold run $d_cold requests, warm run $d_reqs requests in ${d_secs}s; RSS $(mib "$AGENT_RSS_BIG") MiB"
        NOTES+=("The daemon's first backups run made $d_cold requests, the next one $d_reqs; its RSS with the $N_BACKUPS backups cached: $(mib "$AGENT_RSS_BIG") MiB. /livez probed every 20 ms through both runs: $pr.")
    else
        skip "the daemon's warm backups run: no second run seen within 120 s"
    fi

    # shellcheck disable=SC2317 # called through proxied
    AWS_PROXY() { S3RVER_URL=$PROXY_URL awss3 "$@"; }
    if ! [ -x "$S3_AWS" ]; then
        skip "aws s3api and aws s3 ls: $S3_AWS is missing (Debian package awscli)"
    else
        log "aws s3api list-objects-v2 of basebackups_005/, delimiter /tar_partitions/ as the agent lists it (through the proxy)"
        proxied AWS_PROXY s3api list-objects-v2 --bucket "$BIG" --prefix "$ROOT/basebackups_005/" \
            --delimiter /tar_partitions/ --output json >"$TMP/listing.json" 2>"$TMP/listing.err"
        l_reqs=$REQS l_secs=$SECS
        l_keys=$(jq '(.Contents | length) + (.CommonPrefixes | length)' "$TMP/listing.json" 2>/dev/null)
        log "  $l_keys entries, $l_reqs requests, ${l_secs}s"
        row "backups check (one-shot, cold) vs the same listing (aws s3api list-objects-v2), S3 requests" "aws s3api" "$a_reqs" "$l_reqs" "$a_reqs" "$l_reqs"
        row "backups check (one-shot, cold) vs the same listing (aws s3api list-objects-v2), seconds" "aws s3api" "$a_secs" "$l_secs" "$a_secs" "$l_secs"
        row "backups check (daemon, warm) vs the same listing (aws s3api list-objects-v2), S3 requests" "aws s3api" "$d_reqs" "$l_reqs" "$d_reqs" "$l_reqs"
        row "backups check (daemon, warm) vs the same listing (aws s3api list-objects-v2), seconds" "aws s3api" "$d_secs" "$l_secs" "$d_secs" "$l_secs"
        if [ "$NAIVE" = 1 ]; then
            log "aws s3 ls --recursive of the whole prefix (through the proxy; slow on s3rver)"
            proxied AWS_PROXY s3 ls --recursive "s3://$BIG/$ROOT/" >"$TMP/naive.txt" 2>"$TMP/naive.err"
            n_reqs=$REQS n_secs=$SECS
            log "  $(wc -l <"$TMP/naive.txt") objects, $n_reqs requests, ${n_secs}s"
            row "backups check (one-shot, cold) vs naive aws s3 ls --recursive, S3 requests" "aws s3 ls" "$a_reqs" "$n_reqs" "$a_reqs" "$n_reqs"
            row "backups check (one-shot, cold) vs naive aws s3 ls --recursive, seconds" "aws s3 ls" "$a_secs" "$n_secs" "$a_secs" "$n_secs"
            row "backups check (daemon, warm) vs naive aws s3 ls --recursive, S3 requests" "aws s3 ls" "$d_reqs" "$n_reqs" "$d_reqs" "$n_reqs"
            row "backups check (daemon, warm) vs naive aws s3 ls --recursive, seconds" "aws s3 ls" "$d_secs" "$n_secs" "$d_secs" "$n_secs"
        else
            skip "naive aws s3 ls --recursive: BENCH_NAIVE=0"
        fi
    fi

    # The WAL chain: a root of its own (one backup beside BENCH_WAL segments), so that each run
    # is the chain's work. The daemon lists at most WALSCAN_PAGES_PER_RUN pages a run and goes on
    # where it stopped (cold), then only start-after the newest key (steady); the requests are
    # the wal_005/ listings the proxy saw, the cold time is wall clock from the start to a
    # complete chain (so it includes the runs' interval), the steady time the run's duration.
    if [ "$N_WAL" -gt 0 ]; then
        WROOT=spilo/bench-walchain/5d1e2f30-4a5b-4c6d-8e7f-8091a2b3c4d5/wal/15
        log "writing $N_WAL WAL objects (and one backup) for the WAL chain"
        gen=$("$PY" "$BENCH_DIR/gen_layout.py" "$TMP/s3/$BIG" "$WROOT" 1 "$N_WAL")
        mkenv "$TMP/env-wal" "s3://$BIG/$WROOT"
        wal_lists() { jq -s '[.[] | select(.method == "GET" and (.query | test("prefix=[^&]*wal_005")))] | length' "$TMP/s3-requests.jsonl"; }
        : >"$TMP/s3-requests.jsonl"
        log "agent daemon: the WAL chain, cold to complete, then a steady run"
        t=$(now_ms)
        agent_start wal --set agent.interval=4s --set agent.check_timeout=4s \
            --set "walg.envdir=$TMP/env-wal" --set "s3.endpoint=$PROXY_URL" --set backups.retain=1 \
            --set "postgres.conninfo=host=127.0.0.1 port=$(free_port) connect_timeout=1" \
            --set "postgres.patroni_url=http://127.0.0.1:$(free_port)"
        w_cold_secs=- w_cold_reqs=- w_runs=- w_steady_reqs=- w_steady_secs=- w_segs=-
        for _ in $(seq 1 3000); do
            st=$(curl -s --max-time 2 "$AGENT_URL/checks/backups")
            if [ "$(jq -r '.details.wal_chain.complete // false' <<<"$st" 2>/dev/null)" = true ]; then
                w_cold_secs=$(awk -v ms=$(( $(now_ms) - t )) 'BEGIN { printf "%.1f", ms / 1000 }')
                w_cold_reqs=$(wal_lists)
                w_runs=$(jq -r .details.wal_listing.runs <<<"$st")
                w_segs=$(jq -r .details.wal_chain.segments <<<"$st")
                break
            fi
            sleep 0.2
        done
        if [ "$w_runs" != - ]; then
            W_RSS=$(rss_kb "$AGENT_PID") W_PSS=$(pss_kb "$AGENT_PID") W_USS=$(uss_kb "$AGENT_PID")
            n0=$(wal_lists)
            for _ in $(seq 1 300); do # two more runs: the second is a whole steady one
                st=$(curl -s --max-time 2 "$AGENT_URL/checks/backups")
                [ "$(jq -r .details.wal_listing.runs <<<"$st")" -ge $((w_runs + 2)) ] && break
                sleep 0.2
            done
            w_steady_reqs=$(awk -v a="$n0" -v b="$(wal_lists)" -v r=$(( $(jq -r .details.wal_listing.runs <<<"$st") - w_runs )) \
                'BEGIN { printf "%.1f", (r > 0) ? (b - a) / r : (b - a) }')
            w_steady_secs=$(jq -r '.duration_ms' <<<"$st" | awk '{ printf "%.2f", $1 / 1000 }')
            log "  cold: $w_segs segments in $w_runs runs, $w_cold_reqs WAL pages, ${w_cold_secs}s; steady: $w_steady_reqs WAL pages a run, ${w_steady_secs}s a run; RSS $(mib "$W_RSS") MiB"
        else
            skip "the WAL chain: not complete within 600 s ($(jq -c .details.wal_listing <<<"$st" 2>/dev/null))"
        fi
        agent_stop
        if [ -x "$S3_AWS" ]; then
            log "aws s3api list-objects-v2 of wal_005/ (through the proxy)"
            # the peak RSS of aws (a child of this Python) as getrusage reports it, in kB
            proxied "$PY" -c 'import resource, subprocess, sys
subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, check=False)
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))' \
                "$TMP/aws-maxrss" env AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER \
                AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE="$TMP/aws-config" \
                AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true AWS_PAGER='' \
                "$S3_AWS" --endpoint-url "$PROXY_URL" s3api list-objects-v2 --bucket "$BIG" \
                --prefix "$WROOT/wal_005/" --output json
            w_l_reqs=$REQS w_l_secs=$SECS w_l_rss=$(cat "$TMP/aws-maxrss" 2>/dev/null)
            log "  $w_l_reqs requests, ${w_l_secs}s, peak RSS $(mib "${w_l_rss:-0}") MiB"
            what="WAL chain over $N_WAL segments"
            row "$what, cold ($w_runs daemon runs, 4 s apart) vs aws s3api list-objects-v2 of wal_005/, S3 requests" "aws s3api" "$w_cold_reqs" "$w_l_reqs" "$w_cold_reqs" "$w_l_reqs"
            row "$what, cold ($w_runs daemon runs, 4 s apart) vs aws s3api list-objects-v2 of wal_005/, seconds" "aws s3api" "$w_cold_secs" "$w_l_secs" "$w_cold_secs" "$w_l_secs"
            row "$what, steady run vs aws s3api list-objects-v2 of wal_005/, S3 requests" "aws s3api" "$w_steady_reqs" "$w_l_reqs" "$w_steady_reqs" "$w_l_reqs"
            row "$what, steady run (the whole backups check) vs aws s3api list-objects-v2 of wal_005/, seconds" "aws s3api" "$w_steady_secs" "$w_l_secs" "$w_steady_secs" "$w_l_secs"
            if [ "$w_runs" != - ]; then
                row "agent RSS with the $N_WAL-segment chain built vs aws s3api's peak RSS listing it, MiB (lower is better)" "aws s3api" "$(mib "$W_RSS")" "$(mib "${w_l_rss:-0}")" "$W_RSS" "$w_l_rss"
            fi
        fi
        if [ "$w_runs" != - ]; then
            row "agent PSS with the $N_WAL-segment chain built vs the idle agent (1.), MiB" "agent, idle" "$(mib "$W_PSS")" "$(mib "${PSS[agent]}")" "$W_PSS" "${PSS[agent]}"
            row "agent USS with the $N_WAL-segment chain built vs the idle agent (1.), MiB" "agent, idle" "$(mib "$W_USS")" "$(mib "${USS[agent]}")" "$W_USS" "${USS[agent]}"
        fi
    fi
fi

# ---- the table --------------------------------------------------------------------------------
pver() { "$@" 2>&1 | head -1 | tr -s ' '; }
{
    echo "# spilo-agent benchmark"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
    echo
    echo "spilo-agent $("$AGENT" version | awk '{ print $2 }'); $(pver patroni --version); postgres-exporter $(prometheus-postgres-exporter --version 2>&1 | sed -n 's/.*version \([^ ]*\).*/\1/p' | head -1); $(pver wrk --version | cut -d' ' -f1-2); s3rver $(jq -r .version "$S3RVER_PREFIX/node_modules/s3rver/package.json" 2>/dev/null); $(pver "$S3_AWS" --version | cut -d' ' -f1)."
    echo
    echo "Idle: ${IDLE_S} s (measured ${t_idle} ms), checks every 10 s, each /metrics scraped every 10 s. wrk: -t$WRK_T -c$WRK_C -d${WRK_S}s --latency. S3: $N_BACKUPS backups (sentinel + metadata.json each) beside $N_WAL WAL objects in s3rver; the agent's backups check in ${a_lists:-?} listing pages. Agent RSS after the wrk runs: $(mib "$AGENT_RSS_AFTER") MiB."
    echo
    echo "| figure | peer | spilo-agent | peer | agent/peer |"
    echo "|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    [ -n "$S3_NOTE" ] && NOTES+=("$S3_NOTE")
    if [ ${#NOTES[@]} -gt 0 ]; then
        echo "Notes:"
        printf -- '- %s\n' "${NOTES[@]}"
        echo
    fi
    if [ ${#SKIPPED[@]} -gt 0 ]; then
        echo "Skipped:"
        printf -- '- %s\n' "${SKIPPED[@]}"
        echo
    fi
    echo "Took $((SECONDS - T0)) s."
} >"$OUT_DIR/results.md"
echo
cat "$OUT_DIR/results.md"
echo
echo "written to $OUT_DIR/results.md"
exit 0
