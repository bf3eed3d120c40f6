#!/usr/bin/env python3
"""Writes a WAL-G layout straight into s3rver's on-disk store (stdlib only).

usage: gen_layout.py BUCKET_DIR ROOT BACKUPS WAL

BUCKET_DIR is <s3rver directory>/<bucket>; ROOT the key prefix holding basebackups_005/ and
wal_005/. Writes BACKUPS hourly full backups (a stop sentinel and metadata.json each, as WAL-G
uploads them) and WAL objects under wal_005/, one compressed segment each, WAL in all. Prints one
JSON line: {"backups", "wal", "objects", "latest", "now"} with "now" ten minutes after the newest
backup finished.

s3rver 3 (lib/stores/filesystem.js) keeps the object with key a/b/c as the file
BUCKET_DIR/a/b/c._S3rver_object, with c._S3rver_object.md5 (the hex MD5 of the content, no
newline; s3rver writes it lazily when it is missing) and c._S3rver_metadata.json (the stored
headers, JSON.stringify(..., null, 2)); LastModified is the object file's mtime. That is what
`aws s3 cp` leaves there too, written here directly because uploading 120,000 objects through
s3rver takes far longer than the benchmark itself.
"""
import datetime
import hashlib
import json
import os
import sys

SEG = 16 * 1024 * 1024


def put(bucket_dir, key, data, content_type, mtime):
    path = os.path.join(bucket_dir, *key.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    obj = path + "._S3rver_object"
    with open(obj, "wb") as f:
        f.write(data)
    with open(obj + ".md5", "w") as f:
        f.write(hashlib.md5(data).hexdigest())
    with open(path + "._S3rver_metadata.json", "w") as f:
        f.write(json.dumps({"content-type": content_type}, indent=2))
    os.utime(obj, (mtime, mtime))


def segname(seg, tli=1):
    return "%08X%08X%08X" % (tli, seg // 0x100, seg % 0x100)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def main():
    bucket_dir, root, backups, wal = sys.argv[1], sys.argv[2].strip("/"), int(sys.argv[3]), int(sys.argv[4])
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
    for j in range(wal):
        t = t0 + datetime.timedelta(seconds=j * 3600 / step)
        put(bucket_dir, root + "/wal_005/" + segname(j + 1) + ".lz4", b"lz4 %d" % j,
            "binary/octet-stream", t.timestamp())
    now = (latest[1] + datetime.timedelta(minutes=10)) if latest else t0
    print(json.dumps({"backups": backups, "wal": wal, "objects": 2 * backups + wal,
                      "latest": latest[0] if latest else None,
                      "now": now.strftime("%Y-%m-%dT%H:%M:%SZ")}))


if __name__ == "__main__":
    main()
