#!/usr/bin/python3
"""Verifies the SigV4 signature of recorded S3 requests with botocore (Debian's awscli vendors it:
run with /usr/bin/python3). For every JSON line of the record file (s3_record_proxy.py), rebuilds
the request from what was on the wire - method, raw path, raw query, the headers named in
SignedHeaders, x-amz-date - recomputes the signature with botocore's S3SigV4Auth and the secret
given here, and compares it with the Authorization header. Also checks that the query string is
in SigV4 canonical form (sorted, RFC 3986 encoded), the scope, and the session token header.

usage: sigv4_verify.py RECORDS --access-key AK --secret SK [--region R] [--token T]
prints "ok ..." / "FAIL ..." per request and "verified N, failed M"; exits 1 if any failed or
there was no request.
"""
import argparse
import json
import re
import sys
import urllib.parse

import awscli  # noqa: F401  (makes the vendored botocore importable as "botocore")
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<ak>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, ?SignedHeaders=(?P<signed>[^,]+), ?Signature=(?P<sig>[0-9a-f]{64})$")


def canonical_query(raw):
    """The canonical form of raw as botocore/AWS would build it from the decoded parameters."""
    if not raw:
        return ""
    pairs = urllib.parse.parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    enc = sorted((urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                 for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in enc)


def verify(rec, args):
    headers = {}
    for k, v in rec["headers"]:
        headers.setdefault(k.lower(), v)
    auth = headers.get("authorization", "")
    m = AUTH_RE.match(auth)
    if not m:
        return "no SigV4 Authorization header"
    if m["ak"] != args.access_key:
        return f"signed with access key {m['ak']}, expected {args.access_key}"
    if m["region"] != args.region or m["service"] != "s3":
        return f"scope {m['region']}/{m['service']}, expected {args.region}/s3"
    signed = m["signed"].split(";")
    for need in ("host", "x-amz-date", "x-amz-content-sha256"):
        if need not in signed:
            return f"{need} is not signed ({m['signed']})"
    if args.token is not None:
        if headers.get("x-amz-security-token") != args.token:
            return "x-amz-security-token missing or not the expected session token"
        if "x-amz-security-token" not in signed:
            return "x-amz-security-token is not signed"
    elif "x-amz-security-token" in headers:
        return "unexpected x-amz-security-token"
    if rec["query"] != canonical_query(rec["query"]):
        return f"query is not canonical: {rec['query']!r} vs {canonical_query(rec['query'])!r}"
    amz_date = headers.get("x-amz-date", "")
    url = "http://" + headers["host"] + rec["path"] + ("?" + rec["query"] if rec["query"] else "")
    req = AWSRequest(method=rec["method"], url=url,
                     headers={h: headers[h] for h in signed if h in headers})
    req.context["timestamp"] = amz_date
    signer = S3SigV4Auth(Credentials(args.access_key, args.secret, args.token), "s3", args.region)
    canonical = signer.canonical_request(req)
    expected = signer.signature(signer.string_to_sign(req, canonical), req)
    if expected != m["sig"]:
        return "signature mismatch"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("records")
    ap.add_argument("--access-key", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--token")
    args = ap.parse_args()
    ok = bad = 0
    with open(args.records, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            why = verify(rec, args)
            what = rec["method"] + " " + rec["path"] + ("?" + rec["query"][:80] if rec["query"] else "")
            if why:
                bad += 1
                print(f"FAIL {what}: {why}")
            else:
                ok += 1
                print(f"ok {what}")
    print(f"verified {ok}, failed {bad}")
    sys.exit(0 if ok and not bad else 1)


if __name__ == "__main__":
    main()
