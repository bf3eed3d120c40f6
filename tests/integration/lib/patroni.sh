# Sourced by integration tests: a two-member Patroni cluster (Debian's patroni 3) on one etcd
# (Debian's etcd-server, v2 API), every port on 127.0.0.1 and free, run as the unprivileged test
# user of pg.sh. Needs pg.sh and common.sh sourced first.
#
#   patroni_start DIR        etcd + members m1 and m2; waits until m1 leads and m2 streams.
#                            Exports PATRONI_M1_API, PATRONI_M2_API (http://127.0.0.1:port),
#                            PATRONI_M1_PG, PATRONI_M2_PG (conninfo) and PATRONI_SCOPE.
#   patroni_role API         prints the member's role from its REST API (primary/replica)
#   patroni_switchover DIR TO  switches the leader to member TO (m1|m2) and waits for it
#   patroni_stop DIR         stops members and etcd

PATRONI_SCOPE=agent-test

_patroni_wait() { # _patroni_wait SECONDS CMD...
    local secs=$1 i
    shift
    for ((i = 0; i < secs * 10; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

patroni_role() { # Patroni 3.0 says "master", later versions "primary": print "primary"
    curl -s --max-time 2 "$1/patroni" | jq -r '.role // empty | sub("^master$"; "primary")' 2>/dev/null
}

_patroni_is() { # _patroni_is ROLE API: evaluated afresh on every try of _patroni_wait
    [ "$(patroni_role "$2")" == "$1" ]
}

_patroni_streaming() { # _patroni_streaming API
    [ "$(curl -s --max-time 2 "$1/patroni" | jq -r .state 2>/dev/null)" == running ] &&
        _patroni_is replica "$1"
}

_patroni_member_conf() { # DIR NAME API_PORT PG_PORT ETCD_PORT
    local dir=$1 name=$2 api=$3 pg=$4 etcd=$5
    mkdir -p "$dir/$name"
    cat >"$dir/$name.yml" <<YML
scope: $PATRONI_SCOPE
name: $name
log:
  level: WARNING
restapi:
  listen: 127.0.0.1:$api
  connect_address: 127.0.0.1:$api
etcd:
  host: 127.0.0.1:$etcd
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 5
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: false
      parameters:
        wal_level: replica
        max_wal_senders: 5
        archive_mode: "on"
        archive_command: "cp %p $dir/archive/%f"
  initdb:
    - encoding: UTF8
  pg_hba:
    - local all all trust
    - local replication postgres trust
    - local replication standby trust
    - host all all 127.0.0.1/32 trust
    - host replication standby 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:$pg
  connect_address: 127.0.0.1:$pg
  data_dir: $dir/$name/data
  bin_dir: $PG_BIN
  pgpass: $dir/$name/pgpass
  authentication:
    superuser:
      username: postgres
      password: postgres-test-only
    replication:
      username: standby
      password: standby-test-only
  parameters:
    unix_socket_directories: $dir/$name
YML
    echo "host=$dir/$name port=$pg user=postgres dbname=postgres sslmode=disable"
}

patroni_start() {
    local dir=$1 etcd_port etcd_peer a1 a2 p1 p2
    _pg_install || return 1
    mkdir -p "$dir/archive"
    _pg_prepare_owner "$dir" || return 1
    etcd_port=$(free_port); etcd_peer=$(free_port)
    a1=$(free_port); a2=$(free_port); p1=$(free_port); p2=$(free_port)
    _pg_as_owner "$dir" etcd --name test --data-dir "$dir/etcd" --enable-v2=true \
        --listen-client-urls "http://127.0.0.1:$etcd_port" \
        --advertise-client-urls "http://127.0.0.1:$etcd_port" \
        --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
        --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
        --initial-cluster "test=http://127.0.0.1:$etcd_peer" >"$dir/etcd.log" 2>&1 &
    echo $! >"$dir/etcd.pid"
    on_exit "patroni_stop '$dir'"
    _patroni_wait 20 curl -sf "http://127.0.0.1:$etcd_port/health" || { echo "etcd did not start" >&2; return 1; }
    PATRONI_M1_PG=$(_patroni_member_conf "$dir" m1 "$a1" "$p1" "$etcd_port")
    PATRONI_M2_PG=$(_patroni_member_conf "$dir" m2 "$a2" "$p2" "$etcd_port")
    PATRONI_M1_API="http://127.0.0.1:$a1"
    PATRONI_M2_API="http://127.0.0.1:$a2"
    chown -R "$(_pg_owner):" "$dir" 2>/dev/null
    chmod 0700 "$dir/m1" "$dir/m2"
    _pg_as_owner "$dir" patroni "$dir/m1.yml" >"$dir/m1.log" 2>&1 &
    echo $! >"$dir/m1.pid"
    _patroni_wait 60 _patroni_is primary "$PATRONI_M1_API" ||
        { echo "patroni m1 did not become primary" >&2; tail -20 "$dir/m1.log" >&2; return 1; }
    _pg_as_owner "$dir" patroni "$dir/m2.yml" >"$dir/m2.log" 2>&1 &
    echo $! >"$dir/m2.pid"
    _patroni_wait 90 _patroni_streaming "$PATRONI_M2_API" ||
        { echo "patroni m2 did not start streaming" >&2; tail -20 "$dir/m2.log" >&2; return 1; }
    export PATRONI_M1_API PATRONI_M2_API PATRONI_M1_PG PATRONI_M2_PG PATRONI_SCOPE
}

patroni_switchover() {
    local dir=$1 to=$2 from api
    if [ "$to" == m2 ]; then from=m1; api=$PATRONI_M2_API; else from=m2; api=$PATRONI_M1_API; fi
    curl -s -XPOST "$PATRONI_M1_API/switchover" -H 'Content-Type: application/json' \
        -d "{\"leader\":\"$from\",\"candidate\":\"$to\"}" >"$dir/switchover.out" 2>&1
    _patroni_wait 60 _patroni_is primary "$api"
}

patroni_stop() {
    local dir=$1 f
    for f in "$dir/m2.pid" "$dir/m1.pid" "$dir/etcd.pid"; do
        [ -f "$f" ] || continue
        kill -TERM "$(cat "$f")" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$(cat "$f")" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$(cat "$f")" 2>/dev/null
        rm -f "$f"
    done
    # The pid files hold the runuser wrappers' subshells (as root): stop the processes they
    # started by their command lines too. Patroni leaves postmasters behind when killed hard.
    pkill -TERM -f "patroni $dir/m[12].yml" 2>/dev/null
    pkill -TERM -f "etcd --name test --data-dir $dir/etcd" 2>/dev/null
    for _ in $(seq 1 100); do
        pgrep -f "patroni $dir/m[12].yml|--data-dir $dir/etcd" >/dev/null || break
        sleep 0.1
    done
    pkill -KILL -f "patroni $dir/m[12].yml|--data-dir $dir/etcd" 2>/dev/null
    pkill -KILL -f "$dir/m[12]/data" 2>/dev/null
    return 0
}
