#!/usr/bin/env python3
"""A reverse proxy in front of an S3 server whose behaviour a test switches at run time (stdlib
only). Before each request it reads MODE_FILE:

  pass       forward to the upstream unchanged
  blackhole  read the request, never answer (the connection stays open)
  slow       wait SLOW seconds (second word of the file, default 5), then forward
  500        answer 500 InternalError (S3's XML)
  403        answer 403 AccessDenied (S3's XML)
  badxml     answer 200 with a body that is not S3 XML

A word match=TEXT after the mode applies it only to requests whose raw path and query contain
TEXT (e.g. "403 match=wal_005%2F" fails the WAL listing alone); the others are forwarded.

usage: fault_proxy.py PORT UPSTREAM_HOST:PORT MODE_FILE    (binds 127.0.0.1:PORT)
"""
import http.client
import http.server
import socketserver
import sys
import time

PORT, UPSTREAM, MODE_FILE = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ERR = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>{0}</Code><Message>{1}</Message>'
       '<RequestId>FAULT</RequestId></Error>')


def mode(path):
    try:
        words = open(MODE_FILE).read().split()
    except OSError:
        words = []
    match = [w[6:] for w in words if w.startswith("match=")]
    words = [w for w in words if not w.startswith("match=")]
    if match and match[0] not in path:
        return "pass", 5.0
    return (words + ["pass"])[0], float(words[1]) if len(words) > 1 else 5.0


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, ctype="application/xml"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        m, secs = mode(self.path)
        if m == "blackhole":
            while True:
                time.sleep(3600)
        if m == "500":
            return self.reply(500, ERR.format("InternalError", "We encountered an internal error."))
        if m == "403":
            return self.reply(403, ERR.format("AccessDenied", "Access Denied"))
        if m == "badxml":
            return self.reply(200, "<html><body>captive portal</body></html>", "text/html")
        if m == "slow":
            time.sleep(secs)
        host, port = UPSTREAM.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        conn.request("GET", self.path, headers=headers)
        r = conn.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the agent hanging up on a blackholed or slow request is the point of the test


Server(("127.0.0.1", PORT), Proxy).serve_forever()
