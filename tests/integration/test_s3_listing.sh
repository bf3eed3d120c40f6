#!/usr/bin/env bash
# The listing-faithful S3 of the tests (lib/s3_listing.py in front of s3rver) against AWS S3's
# documented ListObjectsV2/ListObjects behaviour (docs.aws.amazon.com/AmazonS3/latest/API/
# API_ListObjectsV2.html): a folder whose objects are all deeper is still a common prefix, a
# delimiter of several characters ends the common prefix after the whole delimiter, max-keys counts
# common prefixes too and is capped at 1000, continuation tokens and start-after page without
# repeats, encoding-type=url round-trips odd keys, and awscli's paginator walks it to the end. The
# key set follows the store: objects put or deleted by s3rver and files written into its directory
# are listed at once. Requests are recorded, and the agent's verify with botocore.
set -u
AGENT=${AGENT:-build/spilo-agent}
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/s3.sh"

REC=$TMP/requests.jsonl
s3_up "$TMP/s3" "$REC"
BUCKET=acme-listing
awss3 s3 mb "s3://$BUCKET" >/dev/null
printf 'tar' >"$TMP/obj"
B=spilo/demo/wal/15/basebackups_005
for k in "$B/base_000000010000000000000002/tar_partitions/part_1.tar.lz4" \
    "$B/base_000000010000000000000004_backup_stop_sentinel.json" \
    "$B/base_000000010000000000000004/metadata.json" \
    "$B/base_000000010000000000000004/tar_partitions/part_1.tar.lz4" \
    "$B/base_000000010000000000000004/tar_partitions/part_2.tar.lz4" \
    "spilo/odd/a b+c ä&<x>.txt"; do
    awss3 s3 cp --quiet "$TMP/obj" "s3://$BUCKET/$k"
done
ls2() { awss3 s3api list-objects-v2 --bucket "$BUCKET" --output json "$@"; }
prefixes() { jq -r '[.CommonPrefixes[]?.Prefix] | join(" ")'; }
keys() { jq -r '[.Contents[]?.Key] | join(" ")'; }

# ---- a folder whose objects are all in a deeper folder is a common prefix ---------------------
out=$(ls2 --prefix "$B/" --delimiter /)
eq "an in-progress backup folder (only tar_partitions/ inside) is a common prefix" \
    "$B/base_000000010000000000000002/ $B/base_000000010000000000000004/" "$(prefixes <<<"$out")"
eq "... beside the sentinel" "$B/base_000000010000000000000004_backup_stop_sentinel.json" "$(keys <<<"$out")"
direct=$(S3RVER_URL=$S3RVER_DIRECT_URL ls2 --prefix "$B/" --delimiter / | prefixes)
not_contains "(s3rver itself does not report it: why the tests list through s3_listing.py)" \
    "$direct" "base_000000010000000000000002/"

# ---- a delimiter of several characters ---------------------------------------------------------
out=$(ls2 --prefix "$B/" --delimiter /tar_partitions/)
eq "delimiter /tar_partitions/: the common prefix ends after the whole delimiter" \
    "$B/base_000000010000000000000002/tar_partitions/ $B/base_000000010000000000000004/tar_partitions/" \
    "$(prefixes <<<"$out")"
eq "... and metadata.json is listed, sorted by bytes ('/' before '_')" \
    "$B/base_000000010000000000000004/metadata.json $B/base_000000010000000000000004_backup_stop_sentinel.json" \
    "$(keys <<<"$out")"
eq "... with its ETag, Size and LastModified (ISO 8601, UTC)" \
    "\"$(md5sum <"$TMP/obj" | cut -c1-32)\" 3 true" \
    "$(jq -r '.Contents[0] | "\(.ETag) \(.Size) \(.LastModified | test("^[0-9-]{10}T[0-9:]{8}"))"' <<<"$out")"

# ---- pages: max-keys counts common prefixes, tokens continue without repeats --------------------
out=$(ls2 --prefix "$B/" --delimiter / --max-keys 2 --no-paginate)
eq "page 1 of max-keys 2: two common prefixes, truncated, KeyCount 2" "2 true 2" \
    "$(jq -r '"\(.CommonPrefixes | length) \(.IsTruncated) \(.KeyCount)"' <<<"$out")"
tok=$(jq -r .NextContinuationToken <<<"$out")
out=$(ls2 --prefix "$B/" --delimiter / --max-keys 2 --no-paginate --continuation-token "$tok")
eq "page 2: the sentinel only, not truncated, no next token" \
    "$B/base_000000010000000000000004_backup_stop_sentinel.json false null 1" \
    "$(jq -r '"\([.Contents[].Key] | join(" ")) \(.IsTruncated) \(.NextContinuationToken) \(.KeyCount)"' <<<"$out")"
eq "... and no common prefix of page 1 again" "" "$(prefixes <<<"$out")"
before=$(wc -l <"$REC")
out=$(ls2 --prefix spilo/ --page-size 1)
eq "awscli's paginator, one key a page: all 6 keys in order" \
    "$(printf '%s\n' "$B/base_000000010000000000000002/tar_partitions/part_1.tar.lz4" \
        "$B/base_000000010000000000000004/metadata.json" \
        "$B/base_000000010000000000000004/tar_partitions/part_1.tar.lz4" \
        "$B/base_000000010000000000000004/tar_partitions/part_2.tar.lz4" \
        "$B/base_000000010000000000000004_backup_stop_sentinel.json" "spilo/odd/a b+c ä&<x>.txt" |
        paste -sd' ')" "$(keys <<<"$out")"
eq "... in 6 requests, 5 of them with a continuation token" "6 5" \
    "$(tail -n +$((before + 1)) "$REC" | jq -s '[.[] | select(.query | test("list-type=2"))] |
        "\(length) \([.[] | select(.query | test("continuation-token="))] | length)"' -r)"
out=$(ls2 --prefix "$B/" --delimiter / --page-size 1)
eq "... and with a delimiter: 2 prefixes and the sentinel, each once" "2 1" \
    "$(jq -r '"\(.CommonPrefixes | length) \(.Contents | length)"' <<<"$out")"
out=$(awss3 s3api list-objects --bucket "$BUCKET" --prefix "$B/" --delimiter / --page-size 1 --output json)
eq "ListObjects v1 pages by marker alike" "2 1" \
    "$(jq -r '"\(.CommonPrefixes | length) \(.Contents | length)"' <<<"$out")"

# ---- start-after ---------------------------------------------------------------------------
out=$(ls2 --prefix "$B/" --delimiter / --start-after "$B/base_000000010000000000000002/tar_partitions/part_1.tar.lz4")
eq "start-after the last key of a folder: the listing goes on after it" \
    "$B/base_000000010000000000000004/ | $B/base_000000010000000000000004_backup_stop_sentinel.json" \
    "$(prefixes <<<"$out") | $(keys <<<"$out")"
out=$(ls2 --prefix "$B/base_000000010000000000000004/" --start-after "$B/base_000000010000000000000004/tar_partitions/part_1.tar.lz4")
eq "start-after without delimiter: only the keys after it" \
    "$B/base_000000010000000000000004/tar_partitions/part_2.tar.lz4" "$(keys <<<"$out")"

# ---- encoding-type=url (awscli asks for it and decodes): odd keys round-trip -------------------
eq "a key with space, '+', UTF-8 and XML characters round-trips" "spilo/odd/a b+c ä&<x>.txt" \
    "$(ls2 --prefix spilo/odd/ | keys)"

# ---- the key set follows the store --------------------------------------------------------
awss3 s3 rm --quiet "s3://$BUCKET/$B/base_000000010000000000000002/tar_partitions/part_1.tar.lz4"
eq "a deleted object is gone from the next listing" "$B/base_000000010000000000000004/" \
    "$(ls2 --prefix "$B/" --delimiter / | prefixes)"
sleep 3 # past the window in which a directory is re-read on every listing
awss3 s3 cp --quiet "$TMP/obj" "s3://$BUCKET/$B/base_000000010000000000000006/tar_partitions/part_1.tar.lz4"
eq "an object put later is in the next listing" \
    "$B/base_000000010000000000000004/ $B/base_000000010000000000000006/" \
    "$(ls2 --prefix "$B/" --delimiter / | prefixes)"
sleep 3
/usr/bin/python3 "$S3_REPO_DIR/tests/bench/gen_layout.py" "$TMP/s3/$BUCKET" spilo/gen 0 1500 >/dev/null
out=$(ls2 --prefix spilo/gen/wal_005/ --no-paginate)
eq "1,500 objects written into the store: the default page is 1,000, truncated" "1000 true" \
    "$(jq -r '"\(.KeyCount) \(.IsTruncated)"' <<<"$out")"
out=$(ls2 --prefix spilo/gen/wal_005/ --max-keys 5000 --no-paginate)
eq "max-keys above 1,000 is capped at 1,000" "1000" "$(jq -r .KeyCount <<<"$out")"
eq "all 1,500 through the paginator" "1500" "$(ls2 --prefix spilo/gen/wal_005/ | jq '.Contents | length')"

q='Contents[].[Key, ETag, Size, LastModified]'
mine=$(ls2 --query "$q" --output text)
theirs=$(S3RVER_URL=$S3RVER_DIRECT_URL ls2 --query "$q" --output text)
eq "without delimiter s3rver lists right: the same keys, ETags, sizes and times ($(wc -l <<<"$mine") objects)" \
    "$theirs" "$mine"

# ---- not ours to answer: a listing with another access key goes to s3rver ---------------------
err=$(AWS_ACCESS_KEY_ID=AKIAOTHER AWS_SECRET_ACCESS_KEY=other AWS_CONFIG_FILE=/dev/null \
    AWS_SHARED_CREDENTIALS_FILE=/dev/null "$S3_AWS" --endpoint-url "$S3RVER_URL" --region us-east-1 \
    s3api list-objects-v2 --bucket "$BUCKET" 2>&1 >/dev/null)
contains "a listing with an unknown access key is refused as s3rver refuses it" "$err" "InvalidAccessKeyId"

# ---- the agent's requests through it verify with botocore ----------------------------------
mkdir -p "$TMP/env"
cp "$FIXTURES/envdir/walg-s3-ok/env/"* "$TMP/env/"
printf S3RVER >"$TMP/env/AWS_ACCESS_KEY_ID"
printf S3RVER >"$TMP/env/AWS_SECRET_ACCESS_KEY"
printf '%s' "s3://$BUCKET/spilo/demo/wal/15" >"$TMP/env/WALG_S3_PREFIX"
cp "$TMP/env/WALG_S3_PREFIX" "$TMP/env/WALE_S3_PREFIX"
before=$(wc -l <"$REC")
out=$("$AGENT" check --json --only backups --set "walg.envdir=$TMP/env" --set "s3.endpoint=$S3RVER_URL" \
    --now 2026-01-01T00:00:00Z 2>"$TMP/check.err")
eq "the agent sees the backup" "base_000000010000000000000004" \
    "$(jq -r .checks.backups.details.latest.name <<<"$out")"
tail -n +$((before + 1)) "$REC" >"$TMP/agent.jsonl"
v=$(sigv4_verify "$TMP/agent.jsonl" --access-key S3RVER --secret S3RVER --region eu-central-1 2>&1)
check "the agent's requests, listings included, verify with botocore ($(tail -1 <<<"$v"))" \
    grep -q "verified [1-9][0-9]*, failed 0" <<<"$v"
finish
