#!/usr/bin/env bash
# The WAL chain of the backups check against s3rver, seeded with Debian's awscli: a gap that cuts
# backups off, a timeline switch (not a gap), WAL-E .lzo segments, a newest backup whose own WAL
# is incomplete (critical), and the incremental listing (the cold listing, then only
# new keys, start-after the newest seen) in the daemon with its metrics.
# Layouts follow wal-g/wal-g internal/databases/postgres/timeline.go:75,79 (history and segment
# names), wal_segment.go:102 (".partial"), internal/compression/lz4/compressor.go:12 (".lz4") and
# wal-e/wal-e wal_e/storage/base.py wal_path() ("wal_005/<segment>.lzo").
set -u
AGENT=${AGENT:-build/spilo-agent}
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/s3.sh"

s3_up "$TMP/s3"
BUCKET=acme-walchain
awss3 s3 mb "s3://$BUCKET" >/dev/null
NOW=2025-03-10T02:00:00Z

mkenv() { # mkenv DIR PREFIX
    mkdir -p "$1"
    cp "$FIXTURES/envdir/walg-s3-ok/env/"* "$1/"
    printf S3RVER >"$1/AWS_ACCESS_KEY_ID"
    printf S3RVER >"$1/AWS_SECRET_ACCESS_KEY"
    printf '%s' "$2" >"$1/WALG_S3_PREFIX"
}
seg() { printf '%08X%08X%08X' "$1" 0 "$2"; } # seg TLI N -> segment name (N < 256)
wal() { # wal ROOT TLI FROM TO [EXT]: segments FROM..TO of timeline TLI
    local ext=${5-lz4} i
    mkdir -p "$TREE/$1/wal_005"
    for ((i = $2 == 0 ? 0 : $3; i <= $4; i++)); do
        printf 'w' >"$TREE/$1/wal_005/$(seg "$2" "$i")${ext:+.$ext}"
    done
}
backup() { # backup ROOT TLI START FINISH TIME: a WAL-G backup from segment START to FINISH
    local name="base_$(seg "$2" "$3")" d="$TREE/$1/basebackups_005"
    local lsn=$(($3 * 16777216 + 40)) fin=$(($4 * 16777216 + 512))
    mkdir -p "$d/$name"
    printf '{"LSN":%d,"FinishLSN":%d,"Version":2,"PgVersion":150008,"StartTime":"%s","FinishTime":"%s","IsPermanent":false,"CompressedSize":1,"UncompressedSize":1}' \
        "$lsn" "$fin" "$5" "$5" >"$d/${name}_backup_stop_sentinel.json"
    printf '{"start_time":"%s","finish_time":"%s","start_lsn":%d,"finish_lsn":%d,"is_permanent":false}' \
        "$5" "$5" "$lsn" "$fin" >"$d/$name/metadata.json"
}
upload() { awss3 s3 cp --recursive --quiet "$TREE/" "s3://$BUCKET/"; rm -rf "$TREE"; }
walchain() { # walchain ROOT ARGS... -> the backups check as JSON; rc in RC
    mkenv "$TMP/env-$1" "s3://$BUCKET/$1"
    OUT=$("$AGENT" check --json --only backups --set "walg.envdir=$TMP/env-$1" \
        --set "s3.endpoint=$S3RVER_URL" --set backups.retain=1 --set 'backups.schedule=0 1 * * *' \
        --now "$NOW" "${@:2}" 2>"$TMP/check.err"); RC=$?
}
field() { jq -r ".checks.backups.details.wal_chain.$1" <<<"$OUT"; }
wq() { jq -r ".checks.backups.details.wal_chain | $1" <<<"$OUT"; }
TREE=$TMP/tree/$BUCKET

# ---- a gap: 15..17 are missing, the two older backups are cut off -----------------------------
wal gap 1 1 0x14; wal gap 1 0x18 0x30
backup gap 1 0x03 0x04 2025-03-08T01:00:01Z
backup gap 1 0x10 0x11 2025-03-09T01:00:01Z
backup gap 1 0x20 0x21 2025-03-10T01:00:01Z
upload
walchain gap
eq "a gap is a warning (exit 1)" "1:warning" "$RC:$(jq -r .checks.backups.status <<<"$OUT")"
contains "the summary names the gap" "$(jq -r .checks.backups.summary <<<"$OUT")" \
    "WAL gap on timeline 1: 000000010000000000000015..000000010000000000000017"
eq "one gap, first and last missing segment" "1 000000010000000000000015 000000010000000000000017" \
    "$(field relevant_gaps) $(field 'gaps[0].first') $(field 'gaps[0].last')"
eq "the backups it cuts off, newest first" \
    "base_000000010000000000000010 base_000000010000000000000003" "$(wq '.gaps[0].cuts_off | join(" ")')"
eq "the window starts at the oldest backup after the gap" "2025-03-10T01:00:01Z base_000000010000000000000020" \
    "$(field window.first_recoverability_at) $(field window.from_backup)"
check "the window ends at the newest segment's LastModified" test "$(field window.last_archived_at)" != null
eq "per backup: consistent, and restorable to now only after the gap" "true:false true:false true:true" \
    "$(wq '[.backups[] | "\(.consistent):\(.restorable_to_now)"] | join(" ")')"
eq "the cut-off backup reaches the segment before the gap" "000000010000000000000015" \
    "$(field 'backups[0].first_missing.first')"
text=$("$AGENT" check --only backups --set "walg.envdir=$TMP/env-gap" --set "s3.endpoint=$S3RVER_URL" \
    --set backups.retain=1 --now "$NOW" 2>/dev/null)
contains "check's text report shows the chain" "$text" "WAL chain: timeline 1, newest 000000010000000000000030"
contains "... and the gap" "$text" "gap on timeline 1: 000000010000000000000015..000000010000000000000017, cuts off 2 backup(s)"

# ---- a timeline switch: promotion in segment 10; tli 1 ends with 10.partial, tli 2 goes on ------
wal tl 1 1 0x0F
printf 'p' >"$TREE/tl/wal_005/$(seg 1 0x10).partial.lz4"
printf 'h' >"$TREE/tl/wal_005/00000002.history.lz4"
wal tl 2 0x10 0x20
backup tl 1 0x03 0x04 2025-03-09T01:00:01Z
backup tl 2 0x18 0x19 2025-03-10T01:00:01Z
upload
walchain tl
eq "a timeline switch is not a gap" "0 0" "$(field relevant_gaps) $(field gaps_total)"
eq "both backups restorable to now across the switch" "2" "$(field restorable_backups)"
eq "recovery follows timeline 2" "2 000000020000000000000020" "$(field target_timeline) $(field newest_segment)"
eq "timeline 2 switched from 1 at segment 10" "1 000000020000000000000010" \
    "$(field 'timelines[1].switched_from.timeline') $(field 'timelines[1].switched_from.at')"
eq "status ok" "ok" "$(jq -r .checks.backups.status <<<"$OUT")"

# ---- WAL-E: .lzo segments and a WAL-E backup ---------------------------------------------------
wal wale 1 1 8 lzo
d=$TREE/wale/basebackups_005
mkdir -p "$d/base_$(seg 1 3)_00000040"
printf '9.6' >"$d/base_$(seg 1 3)_00000040/extended_version.txt"
printf '{"wal_segment_backup_stop":"%s","wal_segment_offset_backup_stop":"00000200","expanded_size_bytes":100}' \
    "$(seg 1 4)" >"$d/base_$(seg 1 3)_00000040_backup_stop_sentinel.json"
upload
walchain wale
eq "WAL-E .lzo segments form one range" "8 1" "$(field segments) $(field ranges)"
eq "the WAL-E backup is consistent and restorable to now" "true true" \
    "$(field 'backups[0].consistent') $(field 'backups[0].restorable_to_now')"

# ---- the newest backup's own WAL is incomplete: critical --------------------------------------
wal incomplete 1 1 0x12; wal incomplete 1 0x14 0x16
backup incomplete 1 0x03 0x04 2025-03-09T01:00:01Z
backup incomplete 1 0x12 0x14 2025-03-10T01:00:01Z
upload
walchain incomplete
eq "the newest backup cannot reach consistency: critical (exit 2)" "2:critical" \
    "$RC:$(jq -r .checks.backups.status <<<"$OUT")"
contains "the summary names the missing segment" "$(jq -r .checks.backups.summary <<<"$OUT")" \
    "WAL 000000010000000000000013..000000010000000000000013 is not in S3"
eq "consistent false for it" "false" "$(field 'backups[1].consistent')"

# ---- the daemon: the cold listing (two pages), then only new keys; the metrics ---------------
wal big 1 0 0xFF
for ((l = 1; l <= 0x5; l++)); do
    for ((i = 0; i < 256; i++)); do printf 'w' >"$TREE/big/wal_005/$(printf '%08X%08X%08X' 1 "$l" "$i").lz4"; done
done
backup big 1 0x10 0x11 2025-03-10T01:00:01Z
upload
mkenv "$TMP/env-big" "s3://$BUCKET/big"
agent_start wc --set agent.interval=2s --set agent.check_timeout=2s --set "walg.envdir=$TMP/env-big" \
    --set "s3.endpoint=$S3RVER_URL" --set backups.retain=1
check "agent ready" wait_http "$AGENT_URL/readyz" 200 15
for _ in $(seq 1 60); do
    st=$(curl -s "$AGENT_URL/checks/backups")
    [ "$(jq -r .details.wal_chain.complete <<<"$st")" = true ] && break
    sleep 0.5
done
eq "the cold listing completes: 1536 segments, one range" "true 1536 1" \
    "$(jq -r '.details.wal_chain | "\(.complete) \(.segments) \(.ranges)"' <<<"$st")"
metrics=$(curl -s "$AGENT_URL/metrics")
contains "gaps metric" "$metrics" "spilo_agent_wal_gaps 0"
contains "restorable backups metric" "$metrics" "spilo_agent_backups_restorable 1"
contains "first recoverability metric" "$metrics" "spilo_agent_wal_first_recoverability_timestamp_seconds 1741568401"
contains "last archived metric" "$metrics" "spilo_agent_wal_last_archived_timestamp_seconds "
if command -v promtool >/dev/null; then
    lint=$(promtool check metrics <<<"$metrics" 2>&1); rc=$?
    eq "promtool check metrics is clean (${lint:0:200})" "0" "$rc"
fi
runs=$(jq -r .details.wal_listing.runs <<<"$st")
mkdir -p "$TREE/big/wal_005"
printf 'w' >"$TREE/big/wal_005/$(printf '%08X%08X%08X' 1 6 0).lz4"
upload
for _ in $(seq 1 20); do
    st=$(curl -s "$AGENT_URL/checks/backups")
    [ "$(jq -r .details.wal_chain.segments <<<"$st")" = 1537 ] && break
    sleep 0.5
done
eq "a new segment is picked up by the steady listing" "1537 000000010000000600000000" \
    "$(jq -r '.details.wal_chain | "\(.segments) \(.newest_segment)"' <<<"$st")"
check "a steady run costs the backups listing, metadata and one WAL page ($(jq -r .details.s3_requests <<<"$st") requests)" \
    test "$(jq -r .details.s3_requests <<<"$st")" -le 4
check "listing state carried across runs (runs $runs -> $(jq -r .details.wal_listing.runs <<<"$st"))" \
    test "$(jq -r .details.wal_listing.runs <<<"$st")" -gt "$runs"
agent_stop
eq "the daemon stops cleanly" "0" "$AGENT_RC"
not_contains "no leaked handles" "$(cat "$AGENT_LOG")" "open handles"
finish
