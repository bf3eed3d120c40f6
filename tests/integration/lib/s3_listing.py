#!/usr/bin/env python3
"""A listing-faithful S3 for the tests: s3rver behind a reverse proxy that answers bucket listings
itself, the way AWS S3 does (stdlib only).

s3rver 3 (lib/stores/filesystem.js listObjects) lists wrongly in two ways: it reports a common
prefix only for a folder that holds an object directly (it does not descend into a directory whose
path below the prefix contains the delimiter, so basebackups_005/base_X/ is missing while all its
objects are in base_X/tar_partitions/), and with a delimiter of more than one character it cuts
the common prefix one character after the delimiter starts. Real S3 groups every key below the
prefix up to and including the first occurrence of the delimiter, whatever its length and depth
(ListObjectsV2: docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html).

Everything else (PUT, GET, HEAD, DELETE, multipart, bucket sub-resources) is forwarded to s3rver
unchanged. A GET of a bucket with only listing parameters (ListObjectsV2 with list-type=2, or
ListObjects v1) that is SigV4-signed with s3rver's access key (S3RVER) is answered here:
prefix, delimiter of any length, start-after, continuation-token, marker, max-keys (default and
cap 1000; common prefixes count toward it), KeyCount, IsTruncated, NextContinuationToken /
NextMarker, encoding-type=url, keys in UTF-8 byte order, and ETag, Size and LastModified from
s3rver's store. A listing signed otherwise (or not at all), or of a bucket that does not exist,
goes to s3rver, so that the errors are s3rver's own. Like s3rver, the signature itself is not
checked here: the tests check it from the record with botocore (sigv4_verify.py).

The key set is read from s3rver's directory (the -d it was started with): the object with key a/b/c
is the file <dir>/<bucket>/a/b/c._S3rver_object (c._S3rver_object.md5 holds its hex MD5,
c._S3rver_metadata.json its headers; LastModified is the object file's mtime, to the second as
s3rver's HEAD reports it). Per prefix the sorted key list is kept and reused while no directory
below it changed: every listing stats the directories that can hold keys under the prefix and
re-reads those whose mtime moved, and one modified less than two seconds before the last reading
is re-read every time (an mtime does not always move within one clock tick).

Requests are recorded to RECORD_FILE as s3_record_proxy.py does (same format, listings included),
so sigv4_verify.py checks them the same way.

usage: s3_listing.py PORT S3RVER_HOST:PORT S3RVER_DIR [RECORD_FILE]    (binds 127.0.0.1:PORT)
"""
import base64
import bisect
import datetime
import hashlib
import ipaddress
import os
import re
import sys
import threading
import time
import urllib.parse
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3_record_proxy  # noqa: E402

ACCESS_KEY = "S3RVER"  # s3rver's built-in account
AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256 Credential=(?P<ak>[^/]+)/")
OBJECT = "._S3rver_object"
LIST_PARAMS = {"list-type", "prefix", "delimiter", "max-keys", "start-after", "continuation-token",
               "encoding-type", "fetch-owner", "marker"}
VHOST_RE = re.compile(r"^(?:(.+)\.)?s3([-.].+)?\.localhost$")  # s3rver's vhost.js, endpoint localhost
RACY_NS = 2 * 10**9
XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"


class Store:
    """The key lists of s3rver's directory, cached per (bucket, prefix) and re-read on change."""

    def __init__(self, root):
        self.root = root
        self.dirs = {}  # directory path -> (mtime_ns, racy, [keys of files in it], [subdir names])
        self.lists = {}  # (bucket, prefix) -> (signature, sorted keys)
        self.lock = threading.Lock()

    def _dir(self, path, rel, now):
        """(keys, subdirs) of one directory, from the cache unless it may have changed."""
        st = os.stat(path)
        cached = self.dirs.get(path)
        if cached and cached[0] == st.st_mtime_ns and not cached[1]:
            return cached, False
        keys, subs = [], []
        with os.scandir(path) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    subs.append(e.name)
                elif e.name.endswith(OBJECT):
                    keys.append(rel + e.name[:-len(OBJECT)])
        entry = (st.st_mtime_ns, now - st.st_mtime_ns < RACY_NS, keys, subs)
        self.dirs[path] = entry
        return entry, True

    def keys(self, bucket, prefix):
        """The sorted keys of bucket that start with prefix (str order is UTF-8 byte order)."""
        with self.lock:
            now = time.time_ns()
            bdir = os.path.join(self.root, bucket)
            # walk the directories that can hold a key starting with prefix: those whose relative
            # path (with a trailing "/") is a prefix of it or starts with it
            sig, found, changed = [], [], False
            todo = [(bdir, "")]
            while todo:
                path, rel = todo.pop()
                try:
                    entry, fresh = self._dir(path, rel, now)
                except OSError:  # removed (or replaced) since its parent was read
                    changed = True
                    continue
                changed = changed or fresh or entry[1]
                sig.append((path, entry[0]))
                found.append(entry[2])
                for name in entry[3]:
                    sub = rel + name + "/"
                    if sub.startswith(prefix) or prefix.startswith(sub):
                        todo.append((os.path.join(path, name), sub))
            sig.sort()
            cached = self.lists.get((bucket, prefix))
            if cached and not changed and cached[0] == sig:
                return cached[1]
            keys = sorted(k for ks in found for k in ks if k.startswith(prefix))
            if len(self.lists) > 256:
                self.lists.clear()
            self.lists[(bucket, prefix)] = (sig, keys)
            return keys

    def meta(self, bucket, key):
        """(LastModified, ETag, Size) of one object as s3rver reports them; None if it is gone."""
        parts = key.split("/")
        obj = os.path.join(self.root, bucket, *parts[:-1], parts[-1] + OBJECT)
        try:
            st = os.stat(obj)
        except FileNotFoundError:
            return None
        try:
            with open(obj + ".md5", encoding="ascii") as f:
                md5 = f.read().strip()
        except FileNotFoundError:  # s3rver writes it lazily too
            h = hashlib.md5()
            with open(obj, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            md5 = h.hexdigest()
        t = datetime.datetime.fromtimestamp(int(st.st_mtime), datetime.timezone.utc)
        return t.strftime("%Y-%m-%dT%H:%M:%S.000Z"), '"%s"' % md5, st.st_size


def successor(p):
    """The smallest string greater than every string that starts with p."""
    return p[:-1] + chr(ord(p[-1]) + 1)


def list_page(keys, prefix, delimiter, after, after_prefix, max_keys):
    """One page of keys (sorted, all starting with prefix): the keys and common prefixes after
    `after` (a key; with after_prefix, a common prefix returned before: nothing below it), at most
    max_keys of both together. Returns (contents, prefixes, truncated, last item)."""
    i = bisect.bisect_left(keys, prefix)
    if after_prefix:
        i = max(i, bisect.bisect_left(keys, successor(after)))
    elif after:
        i = max(i, bisect.bisect_right(keys, after))
    contents, prefixes, last = [], [], None
    while i < len(keys):
        if len(contents) + len(prefixes) >= max_keys:
            return contents, prefixes, True, last
        key = keys[i]
        at = key.find(delimiter, len(prefix)) if delimiter else -1
        if at >= 0:
            cp = key[:at + len(delimiter)]
            prefixes.append(cp)
            last = (cp, True)
            i = bisect.bisect_left(keys, successor(cp), i)
        else:
            contents.append(key)
            last = (key, False)
            i += 1
    return contents, prefixes, False, last


def token_of(item):
    return base64.urlsafe_b64encode(("P" if item[1] else "K").encode() + item[0].encode()).decode()


def token_parse(token):
    try:
        raw = base64.urlsafe_b64decode(token.encode()).decode()
    except ValueError:
        return None
    return (raw[1:], raw[0] == "P") if raw[:1] in ("P", "K") else None


def s3_error(status, code, message, **extra):
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>%s'
            '<RequestId>LISTING</RequestId></Error>' % (code, escape(message), "".join(
                "<%s>%s</%s>" % (k, escape(v), k) for k, v in extra.items())))
    return status, "Error", [("Content-Type", "application/xml")], body.encode()


class Lister(s3_record_proxy.Proxy):
    store = None

    def bucket_listed(self):
        """The bucket when this request is a bucket listing we answer, else None."""
        if self.command != "GET":
            return None
        path, _, query = self.path.partition("?")
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        m = VHOST_RE.match(host)
        if m:
            if not m.group(1) or path != "/":
                return None
            bucket = m.group(1)
        else:
            try:
                ipaddress.ip_address(host.strip("[]"))
                vhost = False
            except ValueError:
                vhost = host not in ("localhost", "")
            if vhost:
                if path != "/":
                    return None
                bucket = host
            else:
                bucket = urllib.parse.unquote(path.strip("/"))
                if not bucket or "/" in bucket or path.count("/") > 2:
                    return None
        names = {k for k, _ in urllib.parse.parse_qsl(query, keep_blank_values=True)}
        if not names <= LIST_PARAMS or not os.path.isdir(os.path.join(self.store.root, bucket)):
            return None
        m = AUTH_RE.match(self.headers.get("Authorization") or "")
        return bucket if m and m["ak"] == ACCESS_KEY else None

    def answer(self, body):
        bucket = self.bucket_listed()
        if bucket is None:
            return self.forward(body)
        q = dict(urllib.parse.parse_qsl(self.path.partition("?")[2], keep_blank_values=True))
        return self.listing(bucket, q)

    def listing(self, bucket, q):
        v2 = q.get("list-type") == "2"
        prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
        enc = q.get("encoding-type")
        if enc not in (None, "url"):
            return s3_error(400, "InvalidArgument", "Invalid Encoding Method specified in Request",
                            ArgumentName="encoding-type", ArgumentValue=enc)
        raw_max = q.get("max-keys", "1000")
        if not re.fullmatch(r"-?\d+", raw_max) or not 0 <= int(raw_max) <= 2147483647:
            return s3_error(400, "InvalidArgument", "Provided max-keys not an integer or within "
                            "integer range", ArgumentName="max-keys", ArgumentValue=raw_max)
        max_keys = min(1000, int(raw_max))
        token = q.get("continuation-token")
        if v2:
            if "marker" in q:
                return s3_error(400, "InvalidArgument",
                                "Marker unsupported with REST.GET.BUCKET in list-type=2",
                                ArgumentName="marker")
            if token is not None:
                parsed = token_parse(token)
                if parsed is None:
                    return s3_error(400, "InvalidArgument",
                                    "The continuation token provided is incorrect",
                                    ArgumentName="continuation-token")
                after, after_prefix = parsed
            else:
                after, after_prefix = q.get("start-after", ""), False
        else:
            if token is not None or "start-after" in q:
                return s3_error(400, "InvalidArgument", "continuation-token and start-after are "
                                "only supported with list-type=2")
            after, after_prefix = q.get("marker", ""), False
            # a v1 marker that is a common prefix returned before skips what is below it
            if delimiter and after.endswith(delimiter) and after.startswith(prefix):
                after_prefix = after.find(delimiter, len(prefix)) == len(after) - len(delimiter)
        keys = self.store.keys(bucket, prefix)
        contents, prefixes, truncated, last = list_page(keys, prefix, delimiter, after,
                                                        after_prefix, max_keys)
        # (an object deleted since its directory was read is left out)
        contents = [(k, m) for k, m in ((k, self.store.meta(bucket, k)) for k in contents) if m]

        def out(s):
            return escape(urllib.parse.quote_plus(s, safe="/") if enc else s)

        x = ['<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="%s">' % XMLNS,
             "<Name>%s</Name><Prefix>%s</Prefix>" % (escape(bucket), out(prefix))]
        if v2:
            if token is not None:
                x.append("<ContinuationToken>%s</ContinuationToken>" % escape(token))
            if "start-after" in q:  # echoed when sent, even beside a token
                x.append("<StartAfter>%s</StartAfter>" % out(q["start-after"]))
            if truncated:
                x.append("<NextContinuationToken>%s</NextContinuationToken>" % token_of(last))
            x.append("<KeyCount>%d</KeyCount>" % (len(contents) + len(prefixes)))
        else:
            x.append("<Marker>%s</Marker>" % out(after))
            if truncated and delimiter:
                x.append("<NextMarker>%s</NextMarker>" % out(last[0]))
        x.append("<MaxKeys>%s</MaxKeys>" % escape(raw_max))
        if delimiter:
            x.append("<Delimiter>%s</Delimiter>" % out(delimiter))
        if enc:
            x.append("<EncodingType>url</EncodingType>")
        x.append("<IsTruncated>%s</IsTruncated>" % ("true" if truncated else "false"))
        owner = not v2 or q.get("fetch-owner") == "true"
        for key, m in contents:
            x.append("<Contents><Key>%s</Key><LastModified>%s</LastModified><ETag>%s</ETag>"
                     "<Size>%d</Size>%s<StorageClass>STANDARD</StorageClass></Contents>" % (
                         out(key), m[0], escape(m[1]), m[2],
                         "<Owner><ID>123456789000</ID><DisplayName>S3rver</DisplayName></Owner>"
                         if owner else ""))
        for p in prefixes:
            x.append("<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>" % out(p))
        x.append("</ListBucketResult>")
        return 200, "OK", [("Content-Type", "application/xml"),
                           ("x-amz-request-id", "LISTING")], "".join(x).encode()


def main():
    Lister.store = Store(os.path.abspath(sys.argv[3]))
    s3_record_proxy.serve(Lister, int(sys.argv[1]), sys.argv[2],
                          sys.argv[4] if len(sys.argv) > 4 else None)


if __name__ == "__main__":
    main()
