#!/usr/bin/env python3
"""A fake S3 that only fails, for the error-summary tests (stdlib only). Path-style requests; the
bucket name picks the failure:

  denied         403 AccessDenied                      nosuchbucket  404 NoSuchBucket
  nosuchkey      404 NoSuchKey                         sigmismatch   403 SignatureDoesNotMatch
  badkey         403 InvalidAccessKeyId                expired       400 ExpiredToken
  redirect       301 PermanentRedirect + x-amz-bucket-region: eu-west-1, <Endpoint>
  authregion     400 AuthorizationHeaderMalformed with <Region>eu-north-1</Region>
  unavailable    500 InternalError                     slowdown      503 SlowDown, empty body
  html           200 with an HTML page                 truncated     200 with cut-off XML
  huge           200 with a 20 MiB body                 blackhole     reads the request, never answers
  echo           403 whose <Message> echoes the x-amz-security-token and Authorization headers
                 (the client must scrub them)
  echosecret     403 whose <Message> is 240 characters, then every SECRET given on the command line
                 (the client must scrub them before it cuts the message to 256 bytes)
  looptoken      200 listings that are always truncated with the same NextContinuationToken
  slashonly      501 NotImplemented for a listing whose delimiter is not "/" (as some S3-compatible
                 stores answer), an empty listing otherwise

usage: fake_s3_errors.py PORT [SECRET...]
"""
import http.server
import sys
import time
import urllib.parse

ERR = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{msg}</Message>'
       '{extra}<RequestId>FAKE{code_upper}REQ</RequestId><HostId>fakehostid=</HostId></Error>')


def err(code, msg, extra=""):
    return ERR.format(code=code, msg=msg, extra=extra, code_upper=code.upper()[:8])


class Fake(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, body, headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("x-amz-request-id", "FAKEREQ0001")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        bucket = self.path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
        xml = [("Content-Type", "application/xml")]
        if bucket == "denied":
            self._send(403, err("AccessDenied", "Access Denied"), xml)
        elif bucket == "nosuchbucket":
            self._send(404, err("NoSuchBucket", "The specified bucket does not exist",
                                "<BucketName>nosuchbucket</BucketName>"), xml)
        elif bucket == "nosuchkey":
            self._send(404, err("NoSuchKey", "The specified key does not exist."), xml)
        elif bucket == "sigmismatch":
            self._send(403, err("SignatureDoesNotMatch", "The request signature we calculated does "
                                "not match the signature you provided. Check your key and signing "
                                "method.", "<AWSAccessKeyId>AKIAEXAMPLEKEY1</AWSAccessKeyId>"), xml)
        elif bucket == "badkey":
            self._send(403, err("InvalidAccessKeyId", "The AWS Access Key Id you provided does not "
                                "exist in our records."), xml)
        elif bucket == "expired":
            self._send(400, err("ExpiredToken", "The provided token has expired."), xml)
        elif bucket == "redirect":
            self._send(301, err("PermanentRedirect", "The bucket you are attempting to access must "
                                "be addressed using the specified endpoint.",
                                "<Endpoint>redirect.s3.eu-west-1.amazonaws.com</Endpoint>"
                                "<Bucket>redirect</Bucket>"),
                       xml + [("x-amz-bucket-region", "eu-west-1")])
        elif bucket == "authregion":
            self._send(400, err("AuthorizationHeaderMalformed", "The authorization header is "
                                "malformed; the region 'us-east-1' is wrong; expecting "
                                "'eu-north-1'", "<Region>eu-north-1</Region>"), xml)
        elif bucket == "unavailable":
            self._send(500, err("InternalError", "We encountered an internal error. Please try "
                                "again."), xml)
        elif bucket == "slowdown":
            self._send(503, b"")
        elif bucket == "html":
            self._send(200, "<html><head><title>Welcome to nginx!</title></head><body>"
                            "<h1>Welcome to nginx!</h1></body></html>",
                       [("Content-Type", "text/html")])
        elif bucket == "truncated":
            self._send(200, '<?xml version="1.0"?><ListBucketResult><Name>truncated</Name>'
                            '<Contents><Key>a</Key><Size>1', xml)
        elif bucket == "huge":
            self._send(200, b"<ListBucketResult>" + b" " * (20 << 20), xml)
        elif bucket == "blackhole":
            time.sleep(8)
            self.close_connection = True
        elif bucket == "echo":
            tok = self.headers.get("x-amz-security-token", "")
            auth = self.headers.get("Authorization", "")
            self._send(403, err("AccessDenied", f"token {tok} auth {auth}"), xml)
        elif bucket == "echosecret":
            self._send(403, err("AccessDenied", "x" * 240 + " " + " ".join(sys.argv[2:])), xml)
        elif bucket == "looptoken":
            self._send(200, '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>looptoken'
                            '</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>'
                            '<IsTruncated>true</IsTruncated><NextContinuationToken>same-token'
                            '</NextContinuationToken></ListBucketResult>', xml)
        elif bucket == "slashonly":
            query = urllib.parse.parse_qs(self.path.partition("?")[2])
            if query.get("delimiter", ["/"])[0] != "/":
                self._send(501, err("NotImplemented", "A header you provided implies "
                                    "functionality that is not implemented"), xml)
            else:
                self._send(200, '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>'
                                'slashonly</Name><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>'
                                '<IsTruncated>false</IsTruncated></ListBucketResult>', xml)
        else:
            self._send(404, err("NoSuchBucket", "unknown fake bucket"), xml)


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Fake)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
