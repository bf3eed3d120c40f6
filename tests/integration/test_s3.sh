#!/usr/bin/env bash
# The S3 client (agent/s3.c, agent/sts.c, agent/s3xml.c) through tests/tools/s3tool against real
# components: s3rver (npm) seeded by Debian's awscli with the healthy-3-backups fixture and 2,500
# generated objects, a recording proxy whose requests botocore's SigV4 verifies, a fake STS for web
# identity, and a fake S3 that answers every kind of error. s3rver itself checks no signature:
# the proxy's records are what prove the signing.
set -u
# shellcheck disable=SC2034 # read by common.sh
TEST_NAME=test_s3
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/common.sh
. tests/integration/lib/s3.sh
S3TOOL=${TOOLS_DIR:-build/tools}/s3tool
BUCKET=acme-harbor-pg-backups
FIX=$FIXTURES/s3/healthy-3-backups
ROOT=spilo/postgresql-harbor-harborcluster/5e0c7d7a-2b1f-4f4e-9a53-1c8d2e7b9f40/wal/15
PAGED=spilo/paged-cluster/wal/15/basebackups_005/
OUT=$TMP/out
mkdir -p "$OUT"

# Secrets of this run: none of them may show up in anything s3tool prints.
SECRET="s3test-secret-$RANDOM$RANDOM/x+y"
SESSION_TOKEN="s3test-session-$RANDOM$RANDOM+/="
STS_SECRET="s3test-sts-secret-$RANDOM$RANDOM"
STS_TOKEN="s3test-sts-token-$RANDOM$RANDOM"
WEB_TOKEN="s3test-web-identity-$RANDOM$RANDOM.eyJhbGciOi"
ROLE=arn:aws:iam::123456789012:role/spilo-backup-reader

for need in "$S3TOOL" "$S3_AWS" "$S3_PY"; do
    if [ ! -x "$need" ]; then
        nok "$need is there (make ${TOOLS_DIR:-build/tools}/s3tool; make deps)"
        finish
        exit
    fi
done

# run NAME ARGS...: s3tool with its output in $OUT/NAME.{out,err}; sets RC, STDOUT, STDERR.
run() {
    local name=$1
    shift
    "$S3TOOL" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
    RC=$?
    STDOUT=$(cat "$OUT/$name.out")
    STDERR=$(cat "$OUT/$name.err")
}
line() { # line KEY TEXT: the value after "KEY<TAB>" in TEXT
    printf '%s\n' "$2" | awk -F'\t' -v k="$1" '$1 == k { print $2; exit }'
}

# ---- s3rver, seeded --------------------------------------------------------------------------
if ! s3rver_ensure; then
    nok "s3rver is installed (npm install s3rver@3)"
    finish
    exit
fi
if ! s3_start "$TMP/s3rver"; then
    nok "s3rver starts"
    finish
    exit
fi
ok "s3rver listens on $S3RVER_URL"
quiet() { "$@" >>"$TMP/seed.log" 2>&1 || { tail -5 "$TMP/seed.log"; return 1; }; }
check "bucket $BUCKET created with awscli" quiet awss3 s3 mb "s3://$BUCKET"
check "fixture healthy-3-backups uploaded" quiet s3_seed_tree "$BUCKET" "$FIX/$BUCKET"
mkdir -p "$TMP/gen"
for ((i = 0; i < 2500; i++)); do
    printf -v name 'part_%04d.tar.lz4' "$i"
    printf 'object %d\n' "$i" >"$TMP/gen/$name"
done
check "2,500 generated objects uploaded" quiet s3_seed_tree "$BUCKET" "$TMP/gen" "$PAGED"
ODD_KEY="spilo/odd keys/a b+c=d,é~(1)&x;y.json"
printf '{"odd": true}\n' >"$TMP/odd.json"
check "an object with an awkward key uploaded" quiet awss3 s3 cp --only-show-errors "$TMP/odd.json" "s3://$BUCKET/$ODD_KEY"

REC=$TMP/records.jsonl
if ! s3proxy_start "$S3RVER_PORT" "$REC"; then
    nok "recording proxy starts"
    finish
    exit
fi
EP="http://127.0.0.1:$PROXY_PORT"
STATIC=(--endpoint "$EP" --path-style --bucket "$BUCKET" --region us-east-1)
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=$SECRET
unset AWS_SESSION_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE AWS_ENDPOINT AWS_REGION \
    AWS_S3_FORCE_PATH_STYLE WALG_S3_CA_CERT_FILE S3_BUCKET AWS_ENDPOINT_URL_STS

# ---- listings ---------------------------------------------------------------------------------
run list-delim "${STATIC[@]}" list "$ROOT/basebackups_005/" /
eq "list with delimiter exits 0" 0 "$RC"
expected=$(grep -v '^#' "$FIX/listing.tsv" | awk -F'\t' -v p="$ROOT/basebackups_005/" \
    'index($1, p) == 1 && index(substr($1, length(p) + 1), "/") == 0 { print $1 "\t" $2 }' | sort)
got=$(printf '%s\n' "$STDOUT" | awk -F'\t' '$1 ~ /^spilo\// { print $1 "\t" $2 }' | sort)
eq "delimiter listing: the 3 sentinels with their sizes" "$expected" "$got"
eq "delimiter listing: 3 common prefixes (one per backup)" \
    "$(printf 'prefix\t%s/basebackups_005/base_%s/\n' "$ROOT" 000000010000000000000003 "$ROOT" 000000010000000000000016 "$ROOT" 00000001000000000000003A)" \
    "$(printf '%s\n' "$STDOUT" | grep '^prefix')"
check "LastModified printed with milliseconds" \
    grep -qE $'\t[0-9]+\t20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$' "$OUT/list-delim.out"

run list-all "${STATIC[@]}" list "$ROOT/"
expected=$(grep -v '^#' "$FIX/listing.tsv" | awk -F'\t' '{ print $1 "\t" $2 }' | sort)
got=$(printf '%s\n' "$STDOUT" | awk -F'\t' '$1 ~ /^spilo\// { print $1 "\t" $2 }' | sort)
eq "full listing of the prefix equals listing.tsv (86 keys and sizes)" "$expected" "$got"
eq "86 objects" 86 "$(printf '%s\n' "$got" | grep -c .)"

: >"$REC"
run list-paged "${STATIC[@]}" list "$PAGED"
eq "paginated listing exits 0" 0 "$RC"
eq "2,500 objects across pages" 2500 "$(grep -c "^$PAGED" "$OUT/list-paged.out")"
eq "keys in order, none twice" "" "$(grep "^$PAGED" "$OUT/list-paged.out" | cut -f1 | LC_ALL=C sort -c -u 2>&1)"
eq "3 pages" 3 "$(line pages "$STDOUT")"
eq "3 requests counted" 3 "$(line requests "$STDOUT")"
eq "3 requests on the wire" 3 "$(wc -l <"$REC")"
eq "every page asks max-keys=1000 with list-type=2" 3 "$(grep -c '"query": "[^"]*list-type=2&max-keys=1000' "$REC")"
eq "pages 2 and 3 carry a continuation token" 2 "$(grep -c 'continuation-token=' "$REC")"

run list-capped "${STATIC[@]}" --max-pages 2 list "$PAGED"
eq "max-pages 2: 2,000 objects" 2000 "$(grep -c "^$PAGED" "$OUT/list-capped.out")"
eq "max-pages 2: reported as truncated" 1 "$(line truncated "$STDOUT")"
run list-small "${STATIC[@]}" --page-size 700 list "$PAGED"
eq "page size 700: 4 pages" 4 "$(line pages "$STDOUT")"
run list-after "${STATIC[@]}" --start-after "${PAGED}part_2489.tar.lz4" list "$PAGED"
eq "start-after: the 10 keys after it" 10 "$(grep -c "^$PAGED" "$OUT/list-after.out")"
run list-empty "${STATIC[@]}" list "spilo/nothing-here/"
eq "empty prefix: exit 0, no objects" "0 0" "$RC $(grep -c '^spilo/' "$OUT/list-empty.out")"

# ---- get ------------------------------------------------------------------------------------------
SENTINEL=$ROOT/basebackups_005/base_00000001000000000000003A_backup_stop_sentinel.json
run get-sentinel "${STATIC[@]}" --out "$TMP/sentinel.json" get "$SENTINEL"
eq "get sentinel exits 0" 0 "$RC"
check "sentinel body equals the fixture" cmp -s "$TMP/sentinel.json" "$FIX/$BUCKET/$SENTINEL"
run get-odd "${STATIC[@]}" get "$ODD_KEY"
eq "get of a key with spaces, +, =, &, ; and UTF-8" '{"odd": true}' "$STDOUT"
run list-odd "${STATIC[@]}" list "spilo/odd keys/a b+"
eq "listing with an awkward prefix finds the key" "$ODD_KEY" "$(printf '%s\n' "$STDOUT" | grep '^spilo/' | cut -f1)"
run get-missing "${STATIC[@]}" get "$ROOT/basebackups_005/no_such_backup.json"
eq "missing key exits 1" 1 "$RC"
contains "missing key: NoSuchKey" "$STDERR" $'error\tno_such_key\t404\tNoSuchKey'
run get-toolarge "${STATIC[@]}" --max-bytes 100 get "$SENTINEL"
contains "object over --max-bytes: too_large" "$STDERR" $'error\ttoo_large'

# ---- SigV4, verified by botocore ------------------------------------------------------------------
out=$(sigv4_verify "$REC" --access-key S3RVER --secret "$SECRET" --region us-east-1 2>&1)
rc=$?
eq "botocore verifies every request signed with static keys" 0 "$rc"
contains "botocore: no failure" "$out" "failed 0"
[ "$rc" -eq 0 ] || printf '%s\n' "$out" | grep FAIL | head -5
n_rec=$(wc -l <"$REC")
check "at least 15 requests recorded and verified ($n_rec)" test "$n_rec" -ge 15
check "the awkward key was requested with SigV4 path encoding" \
    grep -q '"path": "/acme-harbor-pg-backups/spilo/odd%20keys/a%20b%2Bc%3Dd%2C%C3%A9~%281%29%26x%3By.json"' "$REC"

out=$(sigv4_verify "$REC" --access-key S3RVER --secret "not-the-secret" --region us-east-1 2>&1)
rc=$?
eq "a wrong secret fails the verification" 1 "$rc"
contains "wrong secret: signature mismatch" "$out" "signature mismatch"
contains "wrong secret: nothing verified" "$out" "verified 0,"

: >"$REC"
run list-session "${STATIC[@]}" --session-token "$SESSION_TOKEN" list "$PAGED"
eq "session credentials: listing works" "0 2500" "$RC $(grep -c "^$PAGED" "$OUT/list-session.out")"
run get-session "${STATIC[@]}" --session-token "$SESSION_TOKEN" get "$SENTINEL"
out=$(sigv4_verify "$REC" --access-key S3RVER --secret "$SECRET" --token "$SESSION_TOKEN" 2>&1)
eq "botocore verifies the session-token requests (token header signed)" 0 "$?"
contains "session token: 4 requests verified" "$out" "verified 4, failed 0"

: >"$REC"
run list-vhost --endpoint "http://s3.localhost:$PROXY_PORT" --bucket "$BUCKET" list "$ROOT/basebackups_005/" /
eq "virtual-host style listing works" "0 3" "$RC $(grep -c '^prefix' "$OUT/list-vhost.out")"
check "virtual-host style: the bucket is in the Host header" \
    grep -q "\"Host\", \"$BUCKET.s3.localhost:$PROXY_PORT\"" "$REC"
check "virtual-host style: the path is /" grep -q '"path": "/", "query": "delimiter=%2F&' "$REC"
out=$(sigv4_verify "$REC" --access-key S3RVER --secret "$SECRET" 2>&1)
eq "botocore verifies the virtual-host request" 0 "$?"

# ---- web identity (IRSA) through a fake STS ------------------------------------------------------
STS_REC=$TMP/sts.jsonl
printf '%s\n' "$WEB_TOKEN" >"$TMP/token"
fake_sts_start "$STS_REC" --access-key S3RVER --secret "$STS_SECRET" --token "$STS_TOKEN" \
    --expires-in 3600 || nok "fake STS starts"
webid() { # the web identity arguments for the fake STS started last
    WEBID=(--endpoint "$EP" --path-style --bucket "$BUCKET" --role-arn "$ROLE" --token-file "$TMP/token"
        --sts-endpoint "http://127.0.0.1:$STS_PORT" --access-key "" --secret-key "")
}
webid
: >"$REC"
(
    unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
    "$S3TOOL" "${WEBID[@]}" --repeat 3 list "$ROOT/basebackups_005/" / >"$OUT/webid.out" 2>"$OUT/webid.err"
)
eq "web identity: listing works" 3 "$(grep -c '^prefix' "$OUT/webid.out")"
eq "web identity: one STS exchange for 3 listings (cached)" 1 "$(line sts_requests "$(cat "$OUT/webid.out")")"
eq "web identity: 3 S3 requests" 3 "$(line requests "$(cat "$OUT/webid.out")")"
sts_line=$(head -1 "$STS_REC")
contains "STS got the token file's content" "$sts_line" "\"WebIdentityToken\": \"$WEB_TOKEN\""
contains "STS got the role ARN" "$sts_line" "\"RoleArn\": \"$ROLE\""
contains "STS got RoleSessionName spilo-agent" "$sts_line" '"RoleSessionName": "spilo-agent"'
contains "STS got Action and Version" "$sts_line" '"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15"'
contains "STS request is a POST form" "$sts_line" '"method": "POST"'
out=$(sigv4_verify "$REC" --access-key S3RVER --secret "$STS_SECRET" --token "$STS_TOKEN" 2>&1)
eq "S3 requests signed with the STS credentials and their session token" 0 "$?"
contains "STS credentials: 3 requests verified" "$out" "verified 3, failed 0"

kill "$FAKE_STS_PID" 2>/dev/null
: >"$STS_REC"
fake_sts_start "$STS_REC" --access-key S3RVER --secret "$STS_SECRET" --token "$STS_TOKEN" \
    --expires-in 120 --rotate "$TMP/token" || nok "fake STS (short-lived, rotating) starts"
webid
(
    unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
    "$S3TOOL" "${WEBID[@]}" --repeat 2 get "$SENTINEL" >"$OUT/webid-rotate.out" 2>"$OUT/webid-rotate.err"
)
eq "credentials with < 5 min left are refreshed: 2 exchanges for 2 requests" 2 \
    "$(line sts_requests "$(cat "$OUT/webid-rotate.err")")"
eq "the token file is re-read for each exchange (rotated token sent)" \
    "\"$WEB_TOKEN\" \"rotated-token-1\"" \
    "$(sed -n 's/.*"WebIdentityToken": \("[^"]*"\).*/\1/p' "$STS_REC" | tr '\n' ' ' | sed 's/ $//')"
printf '%s\n' "$WEB_TOKEN" >"$TMP/token"

kill "$FAKE_STS_PID" 2>/dev/null
fake_sts_start "$TMP/sts-deny.jsonl" --access-key S3RVER --secret "$STS_SECRET" --token "$STS_TOKEN" \
    --deny || nok "fake STS (deny) starts"
webid
run webid-deny "${WEBID[@]}" list "$ROOT/"
eq "STS AccessDenied: exit 1" 1 "$RC"
contains "STS AccessDenied: credentials error" "$STDERR" $'error\tcredentials\t403\tAccessDenied'
contains "STS AccessDenied: names the role and its trust policy" "$STDERR" "role $ROLE"
contains "STS AccessDenied: says what to fix" "$STDERR" "trust policy"
run webid-nofile --endpoint "$EP" --path-style --bucket "$BUCKET" --role-arn "$ROLE" \
    --token-file "$TMP/no-such-token" --sts-endpoint "http://127.0.0.1:$STS_PORT" --access-key "" --secret-key "" list "$ROOT/"
contains "missing token file: credentials error naming the file" "$STDERR" "Cannot use AWS_WEB_IDENTITY_TOKEN_FILE: '$TMP/no-such-token' cannot be read"
run webid-nosts --endpoint "$EP" --path-style --bucket "$BUCKET" --role-arn "$ROLE" \
    --token-file "$TMP/token" --sts-endpoint "http://127.0.0.1:$(free_port)" --access-key "" --secret-key "" list "$ROOT/"
contains "STS unreachable: credentials error naming the STS host" "$STDERR" "Cannot reach STS endpoint 127.0.0.1:"

# ---- error replies ----------------------------------------------------------------------------------
fake_s3_errors_start "$SECRET" "$SESSION_TOKEN" || nok "fake failing S3 starts"
FE=(--endpoint "http://127.0.0.1:$FAKE_S3_PORT" --path-style --session-token "$SESSION_TOKEN")
expect_error() { # expect_error BUCKET KIND SUMMARY-PART [ARGS...]
    local b=$1 kind=$2 part=$3
    shift 3
    run "err-$b" "${FE[@]}" --bucket "$b" "$@" list "spilo/x/wal/15/basebackups_005/"
    eq "$b: exit 1" 1 "$RC"
    contains "$b: kind $kind" "$STDERR" $'error\t'"$kind"$'\t'
    contains "$b: summary" "$STDERR" "$part"
}
expect_error denied access_denied "lack s3:ListBucket on arn:aws:s3:::denied"
expect_error nosuchbucket no_such_bucket "check WALG_S3_PREFIX"
expect_error sigmismatch signature "AWS_SECRET_ACCESS_KEY does not belong to the access key ending in RVER"
expect_error badkey invalid_access_key "check AWS_ACCESS_KEY_ID"
expect_error expired expired_token "S3 refused AWS_SESSION_TOKEN (ExpiredToken"
expect_error redirect wrong_region "is in region eu-west-1, not us-east-1 (PermanentRedirect"
contains "redirect: set AWS_REGION=eu-west-1" "$STDERR" "set AWS_REGION=eu-west-1"
contains "redirect: region hint from x-amz-bucket-region" "$STDERR" $'PermanentRedirect\teu-west-1'
expect_error authregion wrong_region "set AWS_REGION=eu-north-1"
expect_error unavailable unavailable "is unavailable (InternalError"
expect_error slowdown unavailable "is unavailable (HTTP 503"
expect_error html malformed "is not an S3 reply"
contains "html: wrong endpoint?" "$STDERR" "wrong endpoint (AWS_ENDPOINT)"
expect_error truncated malformed "not well-formed XML"
expect_error huge too_large "too large"
expect_error echo access_denied "S3 denied listing"
not_contains "echoed session token is scrubbed from the message" "$STDERR" "$SESSION_TOKEN"
contains "echoed session token shows as ***" "$STDERR" "token ***"
# A continuation token that repeats: detected at the second page and reported as what S3 did
# (it used to take about 900 LIST requests and end in a misleading "did not finish").
expect_error looptoken malformed "NextContinuationToken that S3 already gave before"
contains "looptoken: stopped at the second page" "$STDERR" "page 2 of the listing"
# The secret key echoed past 240 characters: scrubbed before the 256-byte cut, so no prefix is left.
expect_error echosecret access_denied "S3 denied listing"
not_contains "secret key echoed at the cut: no prefix of it is left" "$STDERR" "${SECRET:0:12}"
not_contains "... nor of the session token" "$STDERR" "${SESSION_TOKEN:0:12}"
contains "... both show as ***" "$STDERR" " *** ***"
run err-get-denied "${FE[@]}" --bucket denied get "spilo/x/metadata.json"
contains "get AccessDenied: s3:GetObject on the key" "$STDERR" "lack s3:GetObject on arn:aws:s3:::denied/spilo/x/metadata.json"

start=$(date +%s%N)
expect_error blackhole timeout "did not answer within 1s" --timeout-ms 1000
elapsed=$((($(date +%s%N) - start) / 1000000))
check "timeout fires after ~1 s ($elapsed ms)" test "$elapsed" -lt 4000
contains "timeout: names the endpoint" "$STDERR" "127.0.0.1:$FAKE_S3_PORT"
run err-refused --endpoint "http://127.0.0.1:$(free_port)" --path-style --bucket b list x/
contains "connection refused: unreachable" "$STDERR" $'error\tunreachable\t0'
contains "connection refused: names the endpoint" "$STDERR" "Cannot reach S3 endpoint 127.0.0.1:"

start=$(date +%s%N)
run cancel "${FE[@]}" --bucket blackhole --cancel-after-ms 200 list x/
elapsed=$((($(date +%s%N) - start) / 1000000))
eq "cancel: exit 0, no callback after cancel" "0 cancelled" "$RC $(head -1 "$OUT/cancel.out")"
check "cancel: returns at once ($elapsed ms)" test "$elapsed" -lt 3000

# ---- configuration errors -------------------------------------------------------------------------
run cfg-nocreds --endpoint "$EP" --bucket "$BUCKET" --access-key "" --secret-key "" list x/
eq "no credentials: exit 78" 78 "$RC"
contains "no credentials: says what to set" "$STDERR" "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE"
run cfg-walescheme --endpoint "https+path://s3.eu-central-1.amazonaws.com:443" --bucket "$BUCKET" list x/
eq "WAL-E endpoint scheme: exit 78" 78 "$RC"
contains "WAL-E endpoint scheme: says how to fix" "$STDERR" "AWS_S3_FORCE_PATH_STYLE=true"
run cfg-ca --endpoint "$EP" --bucket "$BUCKET" --ca-file "$TMP/no-ca.pem" list x/
contains "unreadable CA file: named" "$STDERR" "WALG_S3_CA_CERT_FILE $TMP/no-ca.pem is not readable"
run tls-noca --endpoint "https://127.0.0.1:$PROXY_PORT" --path-style --bucket "$BUCKET" --timeout-ms 2000 list x/
contains "TLS to a plain-HTTP port: a TLS error" "$STDERR" $'error\ttls\t0'
contains "TLS error: names the endpoint and WALG_S3_CA_CERT_FILE" "$STDERR" "TLS with S3 endpoint 127.0.0.1:$PROXY_PORT failed"

# ---- valgrind: one full run (STS + 3 pages) -------------------------------------------------------
if command -v valgrind >/dev/null; then
    kill "$FAKE_STS_PID" 2>/dev/null
    fake_sts_start "$TMP/sts-vg.jsonl" --access-key S3RVER --secret "$STS_SECRET" --token "$STS_TOKEN" ||
        nok "fake STS (valgrind) starts"
    (
        unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
        valgrind --quiet --leak-check=full --error-exitcode=99 --suppressions=tests/valgrind.supp \
            "$S3TOOL" --endpoint "$EP" --path-style --bucket "$BUCKET" --role-arn "$ROLE" \
            --token-file "$TMP/token" --sts-endpoint "http://127.0.0.1:$STS_PORT" list "$PAGED" \
            >"$OUT/valgrind.out" 2>"$OUT/valgrind.err"
    )
    rc=$?
    eq "s3tool under valgrind (STS + 3 pages): no error, no leak, loop closed" 0 "$rc"
    [ "$rc" -eq 0 ] || tail -30 "$OUT/valgrind.err"
    eq "s3tool under valgrind: 2,500 objects" 2500 "$(grep -c "^$PAGED" "$OUT/valgrind.out")"
else
    nok "valgrind is installed (make deps)"
fi

# ---- no secret in any output ----------------------------------------------------------------------
leaks=""
for s in "$SECRET" "$SESSION_TOKEN" "$STS_SECRET" "$STS_TOKEN" "$WEB_TOKEN"; do
    if grep -rlF -- "$s" "$OUT" >/dev/null 2>&1; then leaks="$leaks ${s:0:14}...($(grep -rlF -- "$s" "$OUT" | xargs -n1 basename | tr '\n' ' '))"; fi
done
eq "no secret key, session token or web identity token in any s3tool output ($(find "$OUT" -type f | wc -l) files)" "" "$leaks"

finish
