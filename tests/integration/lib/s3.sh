# shellcheck shell=bash
# Sourced by the S3 integration tests (after common.sh): s3rver from npm (installed on demand into
# build/node, which is git-ignored), Debian's awscli to seed it, and the small Python servers of
# this directory (listing-faithful S3, recording proxy, fake STS, fake failing S3). Every server
# binds 127.0.0.1 on a free port and is stopped on exit.

S3_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
S3_REPO_DIR=$(cd "$S3_LIB_DIR/../../.." && pwd)
# Debian's python3 (not a pyenv one on PATH): botocore comes with Debian's awscli.
S3_PY=${S3_PY:-/usr/bin/python3}
# Debian's awscli, not whatever `aws` is first on PATH.
S3_AWS=${S3_AWS:-/usr/bin/aws}
S3RVER_PREFIX=${S3RVER_PREFIX:-$S3_REPO_DIR/build/node}
S3RVER_BIN=$S3RVER_PREFIX/node_modules/.bin/s3rver

# s3rver_ensure: installs s3rver 3 with npm unless it is there already.
s3rver_ensure() {
    [ -x "$S3RVER_BIN" ] && return 0
    command -v npm >/dev/null || { echo "npm is missing (make deps)" >&2; return 1; }
    mkdir -p "$S3RVER_PREFIX"
    npm install --no-audit --no-fund --silent --prefix "$S3RVER_PREFIX" s3rver@3 >&2 || return 1
    [ -x "$S3RVER_BIN" ]
}

# wait_port PORT [SECONDS]: until 127.0.0.1:PORT accepts a TCP connection (no request is sent, so
# nothing lands in a recording).
wait_port() {
    local port=$1 secs=${2:-10} i
    for ((i = 0; i < secs * 20; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    return 1
}

# s3rver_start DIR: starts s3rver on a free port with DIR as its store; sets S3RVER_PORT and
# S3RVER_URL. Virtual-host requests to BUCKET.s3.localhost are understood too. Node >= 17 needs
# the legacy OpenSSL provider for s3rver's DES continuation tokens.
s3rver_start() {
    local dir=$1
    mkdir -p "$dir"
    S3RVER_PORT=$(free_port)
    S3RVER_URL="http://127.0.0.1:$S3RVER_PORT"
    NODE_OPTIONS=--openssl-legacy-provider "$S3RVER_BIN" -d "$dir" -a 127.0.0.1 -p "$S3RVER_PORT" \
        --service-endpoint localhost --silent >"$dir.log" 2>&1 &
    S3RVER_PID=$!
    on_exit "kill $S3RVER_PID"
    wait_port "$S3RVER_PORT" 15
}

# s3_start DIR [RECORD_FILE]: s3rver (s3rver_start) behind the listing-faithful S3
# (s3_listing.py: bucket listings answered like AWS S3 from s3rver's store in DIR, everything else
# forwarded); S3RVER_PORT and S3RVER_URL then name the lister, S3RVER_DIRECT_URL s3rver itself.
# With RECORD_FILE every request is recorded there as s3proxy_start records it.
s3_start() {
    local dir=$1 rec=${2:-} port
    s3rver_start "$dir" || return 1
    export S3RVER_DIRECT_URL=$S3RVER_URL
    port=$(free_port)
    "$S3_PY" "$S3_LIB_DIR/s3_listing.py" "$port" "127.0.0.1:$S3RVER_PORT" "$dir" ${rec:+"$rec"} \
        >"$dir.listing.log" 2>&1 &
    S3_LISTING_PID=$!
    on_exit "kill $S3_LISTING_PID"
    S3RVER_PORT=$port
    S3RVER_URL="http://127.0.0.1:$port"
    wait_port "$port" 10
}

# s3_up DIR [RECORD_FILE]: s3rver_ensure and s3_start, or the test ends here with one failure.
s3_up() {
    s3rver_ensure && s3_start "$@" && return 0
    nok "s3rver and the listing-faithful S3 start (npm install s3rver; make deps)"
    finish
    exit 1
}

# awss3 ARGS...: Debian's aws against s3rver with its built-in dummy account; no ~/.aws.
awss3() {
    if [ ! -f "$TMP/aws-config" ]; then
        printf '[default]\nregion = us-east-1\ns3 =\n    max_concurrent_requests = 32\n' >"$TMP/aws-config"
    fi
    AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_SESSION_TOKEN='' \
        AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE="$TMP/aws-config" \
        AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true AWS_PAGER='' \
        "$S3_AWS" --endpoint-url "$S3RVER_URL" "$@"
}

# s3_seed_tree BUCKET DIR [KEY_PREFIX]: uploads every file under DIR; key = KEY_PREFIX + path.
s3_seed_tree() {
    awss3 s3 cp --recursive --only-show-errors "$2" "s3://$1/${3:-}"
}

# s3proxy_start UPSTREAM_PORT RECORD_FILE: the recording reverse proxy; sets PROXY_PORT.
s3proxy_start() {
    PROXY_PORT=$(free_port)
    "$S3_PY" "$S3_LIB_DIR/s3_record_proxy.py" "$PROXY_PORT" "127.0.0.1:$1" "$2" \
        >"$TMP/proxy-$PROXY_PORT.log" 2>&1 &
    on_exit "kill $!"
    wait_port "$PROXY_PORT" 10
}

# fake_sts_start RECORD_FILE ARGS...: fake_sts.py on a free port; sets STS_PORT.
fake_sts_start() {
    local rec=$1
    shift
    STS_PORT=$(free_port)
    "$S3_PY" "$S3_LIB_DIR/fake_sts.py" "$STS_PORT" "$rec" "$@" >"$TMP/sts-$STS_PORT.log" 2>&1 &
    FAKE_STS_PID=$!
    on_exit "kill $FAKE_STS_PID"
    wait_port "$STS_PORT" 10
}

# fake_s3_errors_start [SECRET...]: fake_s3_errors.py on a free port (the secrets are echoed by
# the "echosecret" bucket); sets FAKE_S3_PORT.
fake_s3_errors_start() {
    FAKE_S3_PORT=$(free_port)
    "$S3_PY" "$S3_LIB_DIR/fake_s3_errors.py" "$FAKE_S3_PORT" "$@" >"$TMP/fake-s3.log" 2>&1 &
    on_exit "kill $!"
    wait_port "$FAKE_S3_PORT" 10
}

# sigv4_verify RECORDS ARGS...: botocore's check of every recorded request (sigv4_verify.py).
sigv4_verify() {
    "$S3_PY" "$S3_LIB_DIR/sigv4_verify.py" "$@"
}
