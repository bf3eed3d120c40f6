# Sourced by the tests that talk to the Kubernetes API (after common.sh): a CA and a server
# certificate for 127.0.0.1 made with openssl, and the recording API server (fake_kube_api.py)
# over TLS on a free port, stopped on exit.
#
#   kube_certs DIR                   DIR/ca.crt, DIR/ca.key, DIR/srv.crt, DIR/srv.key
#   kube_client_cert DIR NAME CN     DIR/NAME.crt and DIR/NAME.key: a client certificate for CN
#                                    (clientAuth) signed by DIR/ca.crt
#   kube_api_start DIR NS USER ...   starts the server (extra arguments passed on) with the token
#                                    in DIR/token, the request log DIR/requests.jsonl, the store
#                                    DIR/store.json and the control file DIR/control.json; sets
#                                    KUBE_API (https://127.0.0.1:PORT) and KUBE_API_PID

KUBE_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

kube_certs() {
    local k=$1
    mkdir -p "$k"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=fake-kube-ca -keyout "$k/ca.key" -out "$k/ca.crt" 2>/dev/null &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -subj /CN=kube-apiserver -keyout "$k/srv.key" -out "$k/srv.csr" 2>/dev/null &&
        printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
            >"$k/ext" &&
        openssl x509 -req -in "$k/srv.csr" -CA "$k/ca.crt" -CAkey "$k/ca.key" -CAcreateserial \
            -days 2 -extfile "$k/ext" -out "$k/srv.crt" 2>/dev/null &&
        [ -s "$k/srv.crt" ]
}

kube_client_cert() {
    local k=$1 n=$2 cn=$3
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$cn" \
        -keyout "$k/$n.key" -out "$k/$n.csr" 2>/dev/null &&
        printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' >"$k/$n.ext" &&
        openssl x509 -req -in "$k/$n.csr" -CA "$k/ca.crt" -CAkey "$k/ca.key" -CAcreateserial \
            -days 2 -extfile "$k/$n.ext" -out "$k/$n.crt" 2>/dev/null &&
        [ -s "$k/$n.crt" ]
}

kube_api_start() {
    local k=$1 ns=$2 user=$3 i
    shift 3
    [ -s "$k/token" ] || head -c 24 /dev/urandom | base64 >"$k/token"
    [ -f "$k/control.json" ] || echo '{}' >"$k/control.json"
    : >"$k/requests.jsonl"
    : >"$k/port"
    python3 "$KUBE_LIB_DIR/fake_kube_api.py" --cert "$k/srv.crt" --key "$k/srv.key" \
        --token-file "$k/token" --log "$k/requests.jsonl" --store "$k/store.json" \
        --control "$k/control.json" --namespace "$ns" --user "$user" "$@" \
        >"$k/port" 2>"$k/fake.err" &
    KUBE_API_PID=$!
    on_exit "kill $KUBE_API_PID"
    for ((i = 0; i < 100; i++)); do [ -s "$k/port" ] && break; sleep 0.05; done
    KUBE_API="https://127.0.0.1:$(head -1 "$k/port")"
    [ -s "$k/port" ]
}
