#!/usr/bin/env python3
"""A recording reverse proxy for the S3 tests (stdlib only).

Listens on 127.0.0.1:PORT, forwards every request unchanged (method, raw path and query, headers
including Host, body) to the upstream S3 server and relays the answer. Each request is appended to
the record file as one JSON line: {"method", "path", "query", "headers": [[name, value], ...],
"body_sha256", "status"}. The signature check (sigv4_verify.py) reads that file.

usage: s3_record_proxy.py PORT UPSTREAM_HOST:UPSTREAM_PORT RECORD_FILE
"""
import hashlib
import http.client
import http.server
import json
import sys
import threading

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade"}


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None
    record_file = None
    lock = threading.Lock()

    def log_message(self, fmt, *args):  # keep stderr quiet
        pass

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        headers = [[k, v] for k, v in self.headers.items()]
        host, port = self.upstream
        conn = http.client.HTTPConnection(host, port, timeout=30)
        fwd = {}
        for k, v in self.headers.items():
            if k.lower() not in HOP_BY_HOP:
                fwd[k] = v
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in fwd.items():
            conn.putheader(k, v)
        conn.endheaders(body if body else None)
        resp = conn.getresponse()
        data = resp.read()
        rec = {"method": self.command, "path": path, "query": query, "headers": headers,
               "body_sha256": hashlib.sha256(body).hexdigest(), "status": resp.status}
        with self.lock:
            with open(self.record_file, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle


def main():
    port = int(sys.argv[1])
    host, _, uport = sys.argv[2].rpartition(":")
    Proxy.upstream = (host, int(uport))
    Proxy.record_file = sys.argv[3]
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Proxy)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
