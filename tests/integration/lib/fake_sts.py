#!/usr/bin/env python3
"""A fake AWS STS for the web identity tests (stdlib only).

Answers AssumeRoleWithWebIdentity (POST form or GET query) like STS does, with the credentials
given on the command line and an Expiration EXPIRES_IN seconds from now. Every request is appended
to RECORD as one JSON line {"method", "path", "params", "content_type"}. With --rotate FILE, after
each exchange the token file is rewritten with a new token ("rotated-token-N"), as the kubelet
does, so a test can prove that the client re-reads it. --deny answers 403 AccessDenied in STS's
ErrorResponse format.

usage: fake_sts.py PORT RECORD --access-key AK --secret SK --token T [--expires-in S]
                   [--rotate FILE] [--deny]
"""
import argparse
import datetime
import http.server
import json
import threading
import urllib.parse

ARGS = None
LOCK = threading.Lock()
COUNT = [0]


class Sts(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _reply(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("x-amzn-RequestId", "fake-sts-request-1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        query = urllib.parse.urlsplit(self.path).query
        params = dict(urllib.parse.parse_qsl(body or query, keep_blank_values=True))
        with LOCK:
            COUNT[0] += 1
            n = COUNT[0]
            with open(ARGS.record, "a", encoding="utf-8") as f:
                f.write(json.dumps({"method": self.command, "path": self.path, "params": params,
                                    "content_type": self.headers.get("Content-Type", "")}) + "\n")
            if ARGS.rotate:
                with open(ARGS.rotate, "w", encoding="utf-8") as f:
                    f.write(f"rotated-token-{n}\n")
        if params.get("Action") != "AssumeRoleWithWebIdentity" or not params.get("WebIdentityToken"):
            self._reply(400, "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameterValue"
                             "</Code><Message>bad request</Message></Error>"
                             "<RequestId>fake-sts-request-1</RequestId></ErrorResponse>")
            return
        if ARGS.deny:
            self._reply(403, "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                             "<Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not "
                             "authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error>"
                             "<RequestId>fake-sts-request-1</RequestId></ErrorResponse>")
            return
        exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
            seconds=ARGS.expires_in)
        role = params.get("RoleArn", "")
        session = params.get("RoleSessionName", "")
        self._reply(200, f"""<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:harbor:postgres-pod</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser>
      <Arn>{role.replace(':role/', ':assumed-role/')}/{session}</Arn>
      <AssumedRoleId>AROAEXAMPLEFAKE:{session}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>{ARGS.token}</SessionToken>
      <SecretAccessKey>{ARGS.secret}</SecretAccessKey>
      <Expiration>{exp.strftime('%Y-%m-%dT%H:%M:%SZ')}</Expiration>
      <AccessKeyId>{ARGS.access_key}</AccessKeyId>
    </Credentials>
    <Provider>arn:aws:iam::123456789012:oidc-provider/oidc.example</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>fake-sts-request-{n}</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
""")

    do_GET = do_POST = _handle


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("record")
    ap.add_argument("--access-key", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--expires-in", type=int, default=3600)
    ap.add_argument("--rotate")
    ap.add_argument("--deny", action="store_true")
    ARGS = ap.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", ARGS.port), Sts)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
