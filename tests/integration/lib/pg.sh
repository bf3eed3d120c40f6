# Sourced by integration tests: a throwaway PostgreSQL 15 cluster per test directory.
#
#   pg_start DIR [PG_HBA_FILE]   initdb (once) + start (a running one is left as is); listens on
#                                127.0.0.1:<free port> and on a unix socket; superuser "postgres";
#                                exports PGHOST_TEST (socket directory), PGPORT_TEST,
#                                PG_CONNINFO_TEST (socket) and PG_CONNINFO_TCP_TEST (127.0.0.1)
#   pg_stop DIR                  fast shutdown (immediate + kill if that hangs); idempotent
#   pg_restart DIR               stop + start with the same port and socket
#   pg_reload DIR                SIGHUP, and waits until the postmaster has re-read its files
#   pg_psql DIR SQL              runs SQL as postgres; unaligned, tuples only, stops on error
#   pg_hba_set DIR FILE          replaces pg_hba.conf (then pg_reload)
#   pg_cleanup_all               stops every cluster this shell started (and removes the socket
#                                directories made under /tmp)
#
# PG_TEST_SSL=1 before pg_start: a self-signed certificate (openssl) and ssl = on.
# As root the server runs as the system user $PG_TEST_USER (default spiloagent-test, created when
# missing) and postgresql-15 is installed with apt-get when initdb is missing; as any other user
# it runs as that user. Each started cluster is stopped when the calling script exits: through
# common.sh's on_exit when that is loaded, else through an EXIT trap set here when the caller has
# none. A caller with its own EXIT trap must call pg_cleanup_all from it.
#
# Layout of DIR: data/ (PGDATA), log/server.log, run/ (socket directory, unless DIR is too long for
# a socket path; then a short directory under /tmp), pg.env (port and socket directory, so the
# helpers also work from subshells).

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_TEST_USER=${PG_TEST_USER:-spiloagent-test}
PG_STARTED_DIRS=()

_pg_log() { echo "pg.sh: $*" >&2; }

# The user that owns and runs the cluster.
_pg_owner() {
    if [ "$(id -u)" -eq 0 ]; then echo "$PG_TEST_USER"; else id -un; fi
}

# Runs a command as the cluster owner, from DIR (a root-only cwd would make initdb complain).
_pg_as_owner() {
    local dir=$1
    shift
    if [ "$(id -u)" -eq 0 ]; then
        (cd "$dir" && runuser -u "$PG_TEST_USER" -- "$@")
    else
        (cd "$dir" && "$@")
    fi
}

_pg_install() {
    [ -x "$PG_BIN/initdb" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        _pg_log "$PG_BIN/initdb is missing: run 'apt-get install postgresql-15' as root"
        return 1
    fi
    _pg_log "installing postgresql-15 with apt-get"
    apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            postgresql-15 >/dev/null || return 1
    [ -x "$PG_BIN/initdb" ]
}

# As root: the unprivileged owner exists and can reach DIR (mktemp -d makes 0700 directories, so
# the ancestors of DIR that the owner cannot traverse get o+x, nothing more).
_pg_prepare_owner() {
    local dir=$1 d
    [ "$(id -u)" -eq 0 ] || return 0
    if ! id -u "$PG_TEST_USER" >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$PG_TEST_USER" || return 1
    fi
    d=$(dirname "$dir")
    while [ "$d" != "/" ]; do
        if ! runuser -u "$PG_TEST_USER" -- test -x "$d" 2>/dev/null; then
            chmod o+x "$d" || return 1
        fi
        d=$(dirname "$d")
    done
    chown -R "$PG_TEST_USER:" "$dir"
}

_pg_free_port() {
    local p
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' && return 0
    fi
    # No python3: try random high ports until one refuses a connection.
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# Loads DIR/pg.env into PGPORT_TEST and PGHOST_TEST and exports the conninfo strings.
_pg_load_env() {
    local dir=$1
    [ -f "$dir/pg.env" ] || { _pg_log "no cluster in $dir (run pg_start first)"; return 1; }
    PGPORT_TEST=$(sed -n 's/^port=//p' "$dir/pg.env")
    PGHOST_TEST=$(sed -n 's/^socket_dir=//p' "$dir/pg.env")
    PG_CONNINFO_TEST="host=$PGHOST_TEST port=$PGPORT_TEST user=postgres dbname=postgres"
    PG_CONNINFO_TCP_TEST="host=127.0.0.1 port=$PGPORT_TEST user=postgres dbname=postgres"
    export PGHOST_TEST PGPORT_TEST PG_CONNINFO_TEST PG_CONNINFO_TCP_TEST
}

_pg_write_conf() {
    local dir=$1 port=$2 sock=$3
    cat >"$dir/data/spilo_agent_test.conf" <<EOF
# written by tests/integration/lib/pg.sh
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 30
shared_buffers = 16MB
logging_collector = off
log_connections = on
log_line_prefix = '%m [%p] %u@%d '
ssl = $([ -f "$dir/data/server.crt" ] && echo on || echo off)
EOF
    printf 'port=%s\nsocket_dir=%s\n' "$port" "$sock" >"$dir/pg.env"
    [ "$(id -u)" -eq 0 ] && chown "$PG_TEST_USER:" "$dir/data/spilo_agent_test.conf" "$dir/pg.env"
    return 0
}

_pg_ctl_start() {
    local dir=$1
    _pg_as_owner "$dir" "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log/server.log" -w -t 30 \
        start >/dev/null
}

pg_start() {
    local dir=${1:?usage: pg_start DIR [PG_HBA_FILE]} hba=${2:-} sock port try
    _pg_install || return 1
    mkdir -p "$dir" && dir=$(cd "$dir" && pwd) || return 1
    mkdir -p "$dir/log" "$dir/run"
    if _pg_running "$dir"; then
        _pg_load_env "$dir"
        return
    fi
    # A socket path is at most 107 bytes: fall back to a short directory under /tmp.
    sock="$dir/run"
    if [ $((${#sock} + 16)) -gt 100 ]; then
        sock=$(mktemp -d /tmp/spilo-pg.XXXXXX) || return 1
        chmod 0755 "$sock"
        [ "$(id -u)" -eq 0 ] && chown "$PG_TEST_USER:" "$sock" 2>/dev/null
    fi
    _pg_prepare_owner "$dir" || return 1
    [ "$(id -u)" -eq 0 ] && [ "$sock" != "$dir/run" ] && chown "$PG_TEST_USER:" "$sock"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        _pg_as_owner "$dir" "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
            --locale=C --no-sync --no-instructions >"$dir/log/initdb.log" 2>&1 || {
            _pg_log "initdb failed:"
            cat "$dir/log/initdb.log" >&2
            return 1
        }
        echo "include 'spilo_agent_test.conf'" >>"$dir/data/postgresql.conf"
    fi
    if [ "${PG_TEST_SSL:-0}" = 1 ] && [ ! -f "$dir/data/server.crt" ]; then
        openssl req -new -x509 -days 7 -nodes -subj /CN=localhost -keyout "$dir/data/server.key" \
            -out "$dir/data/server.crt" >/dev/null 2>&1 || { _pg_log "openssl failed"; return 1; }
        chmod 0600 "$dir/data/server.key"
        [ "$(id -u)" -eq 0 ] && chown "$PG_TEST_USER:" "$dir/data/server.key" "$dir/data/server.crt"
    fi
    if [ -n "$hba" ]; then
        pg_hba_set "$dir" "$hba" || return 1
    fi
    # The free port can be taken between the probe and the bind: retry with another one.
    for try in 1 2 3 4 5; do
        port=$(_pg_free_port) || { _pg_log "no free port"; return 1; }
        _pg_write_conf "$dir" "$port" "$sock"
        if _pg_ctl_start "$dir"; then
            PG_STARTED_DIRS+=("$dir")
            _pg_register_cleanup "$dir"
            _pg_load_env "$dir"
            return 0
        fi
        _pg_log "start on port $port failed (try $try):"
        tail -5 "$dir/log/server.log" >&2
    done
    return 1
}

# Stops the cluster and removes its socket directory when that is outside DIR.
_pg_forget() {
    local dir=$1 sock
    pg_stop "$dir"
    sock=$(sed -n 's/^socket_dir=//p' "$dir/pg.env" 2>/dev/null)
    case "$sock" in
    /tmp/spilo-pg.*) rm -rf "$sock" ;;
    esac
}

_pg_register_cleanup() {
    local dir=$1
    if declare -F on_exit >/dev/null; then
        on_exit "_pg_forget '$dir'"
    elif [ -z "$(trap -p EXIT)" ]; then
        trap pg_cleanup_all EXIT
    fi
}

_pg_running() {
    [ -f "$1/data/postmaster.pid" ] &&
        _pg_as_owner "$1" "$PG_BIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

pg_stop() {
    local dir=${1:?usage: pg_stop DIR} pid
    [ -d "$dir/data" ] || return 0
    dir=$(cd "$dir" && pwd)
    _pg_running "$dir" || return 0
    if ! _pg_as_owner "$dir" "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 20 stop \
        >/dev/null 2>&1; then
        _pg_as_owner "$dir" "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop \
            >/dev/null 2>&1
    fi
    if [ -f "$dir/data/postmaster.pid" ]; then
        pid=$(head -1 "$dir/data/postmaster.pid")
        [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    return 0
}

pg_restart() {
    local dir=${1:?usage: pg_restart DIR}
    dir=$(cd "$dir" && pwd) || return 1
    pg_stop "$dir"
    _pg_ctl_start "$dir" || { tail -5 "$dir/log/server.log" >&2; return 1; }
    _pg_load_env "$dir"
}

pg_psql() {
    local dir=${1:?usage: pg_psql DIR SQL} sql=${2:?usage: pg_psql DIR SQL}
    _pg_load_env "$dir" || return 1
    PGCONNECT_TIMEOUT=10 "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PGHOST_TEST" \
        -p "$PGPORT_TEST" -U postgres -d postgres -c "$sql"
}

pg_hba_set() {
    local dir=${1:?usage: pg_hba_set DIR FILE} file=${2:?usage: pg_hba_set DIR FILE}
    cp "$file" "$dir/data/pg_hba.conf" || return 1
    chmod 0600 "$dir/data/pg_hba.conf"
    [ "$(id -u)" -eq 0 ] && chown "$PG_TEST_USER:" "$dir/data/pg_hba.conf"
    return 0
}

# SIGHUP is asynchronous: wait until a new backend sees a newer pg_conf_load_time(), i.e. the
# postmaster has re-read postgresql.conf and pg_hba.conf.
pg_reload() {
    local dir=${1:?usage: pg_reload DIR} before now
    if ! before=$(pg_psql "$dir" "SELECT pg_conf_load_time()" 2>/dev/null); then
        # The loaded pg_hba.conf does not let psql in over the socket: reload blind and give the
        # postmaster a moment (pg_conf_load_time cannot be asked).
        _pg_as_owner "$dir" "$PG_BIN/pg_ctl" -D "$dir/data" reload >/dev/null || return 1
        sleep 1
        return 0
    fi
    _pg_as_owner "$dir" "$PG_BIN/pg_ctl" -D "$dir/data" reload >/dev/null || return 1
    for _ in $(seq 1 100); do
        # locked out by the new pg_hba: it is loaded (the old one let psql in)
        now=$(pg_psql "$dir" "SELECT pg_conf_load_time()" 2>/dev/null) || return 0
        [ -n "$now" ] && [ "$now" != "$before" ] && return 0
        sleep 0.1
    done
    _pg_log "reload of $dir not seen within 10 s"
    return 1
}

pg_cleanup_all() {
    local d
    for d in "${PG_STARTED_DIRS[@]}"; do _pg_forget "$d"; done
    PG_STARTED_DIRS=()
}
