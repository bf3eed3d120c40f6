#!/usr/bin/env python3
"""Writes a WAL-G layout straight into s3rver's on-disk store (stdlib only).

usage: gen_layout.py BUCKET_DIR ROOT BACKUPS WAL [GAP_FROM:GAP_COUNT]

BUCKET_DIR is <s3rver directory>/<bucket>; ROOT the key prefix holding basebackups_005/ and
wal_005/. Writes BACKUPS hourly full backups (a stop sentinel and metadata.json each, as WAL-G
uploads them) and WAL segments 1..WAL of timeline 1 under wal_005/, one compressed object each
(16 MiB segments: 256 a log id), except GAP_COUNT segments from segment number GAP_FROM on (a gap
in the chain). Backup i starts at segment 2 + i * WAL / BACKUPS. Prints one JSON line:
{"backups", "wal", "objects", "latest", "now", "newest_wal"} with "now" ten minutes after the
newest backup finished and "wal" the count of WAL objects written.

s3rver 3 (lib/stores/filesystem.js) keeps the object with key a/b/c as the file
BUCKET_DIR/a/b/c._S3rver_object, with c._S3rver_object.md5 (the hex MD5 of the content, no
newline; s3rver writes it lazily when it is missing) and c._S3rver_metadata.json (the stored
headers, JSON.stringify(..., null, 2)); LastModified is the object file's mtime. That is what
`aws s3 cp` leaves there too, written here directly because uploading 120,000 objects through
s3rver takes far longer than the benchmark itself. WAL objects are written lean: the object file
only (s3rver's getMetadata computes the MD5 when .md5 is missing and the content type defaults to
binary/octet-stream), a third of the files.
"""
import datetime
import hashlib
import json
import os
import sys

SEG = 16 * 1024 * 1024


_made = set()


def put(bucket_dir, key, data, content_type, mtime, lean=False):
    """One object as s3rver stores it; lean: only the object file (s3rver computes the MD5 when
    it is missing and defaults the content type to binary/octet-stream)."""
    path = os.path.join(bucket_dir, *key.split("/"))
    d = os.path.dirname(path)
    if d not in _made:
        os.makedirs(d, exist_ok=True)
        _made.add(d)
    obj = path + "._S3rver_object"
    fd = os.open(obj, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.utime(fd, (mtime, mtime))
    finally:
        os.close(fd)
    if lean:
        return
    with open(obj + ".md5", "w") as f:
        f.write(hashlib.md5(data).hexdigest())
    with open(path + "._S3rver_metadata.json", "w") as f:
        f.write(json.dumps({"content-type": content_type}, indent=2))


def segname(seg, tli=1):
    return "%08X%08X%08X" % (tli, seg // 0x100, seg % 0x100)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def main():
    bucket_dir, root, backups, wal = sys.argv[1], sys.argv[2].strip("/"), int(sys.argv[3]), int(sys.argv[4])
    gap_from, _, gap_count = (sys.argv[5] if len(sys.argv) > 5 else "0:0").partition(":")
    gap = range(int(gap_from), int(gap_from) + int(gap_count))
    t0 = datetime.datetime(2024, 1, 1, 0, 0, 0, tzinfo=datetime.timezone.utc)
    step = max(1, wal // max(1, backups))  # WAL segments between two backups
    latest = None
    for i in range(backups):
        seg = 2 + i * step
        name = "base_" + segname(seg)
        start = t0 + datetime.timedelta(hours=i, seconds=1)
        finish = start + datetime.timedelta(seconds=33)
        lsn = seg * SEG + 0x28
        sentinel = {"LSN": lsn, "PgVersion": 150008, "FinishLSN": lsn + 0x1A00,
                    "SystemIdentifier": 7479438685861703767, "UncompressedSize": 71204906,
                    "CompressedSize": 13315317, "DataCatalogSize": 70136832, "Spec": None,
                    "ChkpNum": None, "Version": 2, "StartTime": iso(start), "FinishTime": iso(finish),
                    "DateFmt": "%Y-%m-%dT%H:%M:%S.%fZ", "Hostname": "bench-0",
                    "DataDir": "/home/postgres/pgdata/pgroot/data", "IsPermanent": False}
        meta = {"start_time": iso(start), "finish_time": iso(finish),
                "date_fmt": "%Y-%m-%dT%H:%M:%S.%fZ", "hostname": "bench-0",
                "data_dir": "/home/postgres/pgdata/pgroot/data", "pg_version": 150008,
                "start_lsn": lsn, "finish_lsn": lsn + 0x1A00, "is_permanent": False,
                "system_identifier": 7479438685861703767, "uncompressed_size": 71204906,
                "compressed_size": 13315317}
        base = root + "/basebackups_005/"
        put(bucket_dir, base + name + "/metadata.json", json.dumps(meta).encode(),
            "application/json", finish.timestamp() - 1)
        put(bucket_dir, base + name + "_backup_stop_sentinel.json", json.dumps(sentinel).encode(),
            "application/json", finish.timestamp())
        latest = (name, finish)
    written, newest = 0, None
    for j in range(wal):
        if j + 1 in gap:
            continue
        t = t0 + datetime.timedelta(seconds=j * 3600 / step)
        newest = root + "/wal_005/" + segname(j + 1) + ".lz4"
        put(bucket_dir, newest, b"lz4 %d" % j, "binary/octet-stream", t.timestamp(), lean=True)
        written += 1
    now = (latest[1] + datetime.timedelta(minutes=10)) if latest else t0
    print(json.dumps({"backups": backups, "wal": written, "objects": 2 * backups + written,
                      "latest": latest[0] if latest else None,
                      "now": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "newest_wal": newest}))


if __name__ == "__main__":
    main()
