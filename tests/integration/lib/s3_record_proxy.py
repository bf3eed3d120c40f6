#!/usr/bin/env python3
"""A recording reverse proxy for the S3 tests (stdlib only).

Listens on 127.0.0.1:PORT, forwards every request unchanged (method, raw path and query, headers
including Host, body) to the upstream S3 server and relays the answer. Each request is appended to
the record file as one JSON line: {"method", "path", "query", "headers": [[name, value], ...],
"body_sha256", "status"}. The signature check (sigv4_verify.py) reads that file.

The listing-faithful S3 (s3_listing.py) is this proxy with answer() overridden for bucket
listings: it imports Proxy and serve() from here.

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
    record_file = None  # None: nothing is recorded
    lock = threading.Lock()

    def log_message(self, fmt, *args):  # keep stderr quiet
        pass

    def forward(self, body):
        """The upstream's answer to this request: (status, reason, [(header, value)], data)."""
        host, port = self.upstream
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in HOP_BY_HOP:
                    conn.putheader(k, v)
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            return resp.status, resp.reason, resp.getheaders(), resp.read()
        finally:
            conn.close()

    def answer(self, body):
        """What to answer; a subclass answers some requests itself."""
        return self.forward(body)

    def record(self, body, status):
        if not self.record_file:
            return
        path, _, query = self.path.partition("?")
        rec = {"method": self.command, "path": path, "query": query,
               "headers": [[k, v] for k, v in self.headers.items()],
               "body_sha256": hashlib.sha256(body).hexdigest(), "status": status}
        with self.lock:
            with open(self.record_file, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, reason, headers, data = self.answer(body)
        self.record(body, status)
        self.send_response(status, reason)
        for k, v in headers:
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle


def serve(handler, port, upstream, record_file):
    """Serves handler (Proxy or a subclass) on 127.0.0.1:port in front of HOST:PORT upstream."""
    host, _, uport = upstream.rpartition(":")
    handler.upstream = (host, int(uport))
    handler.record_file = record_file or None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    srv.daemon_threads = True
    srv.serve_forever()


def main():
    serve(Proxy, int(sys.argv[1]), sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
