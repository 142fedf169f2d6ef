"""Runs a Cognito Lambda trigger handler, unchanged, behind poolgate's signed HTTP call.

HOOK_SECRET=<settings.hook_secret> PORT=3001 python3 wrapper.py
"""
import hashlib
import hmac
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lambda_function import lambda_handler  # the Lambda function's own file

SECRET = os.environ.get("HOOK_SECRET", "").encode()


def signed(header, body):
    parts = dict(p.split("=", 1) for p in (header or "").split(",") if "=" in p)
    t = parts.get("t", "")
    if not t.isdigit() or abs(time.time() - int(t)) > 300:
        return False
    mac = hmac.new(SECRET, t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, parts.get("v1", ""))


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if not signed(self.headers.get("x-poolgate-signature"), body):
            return self.reply(401, {})
        try:
            self.reply(200, lambda_handler(json.loads(body), None))
        except Exception as e:  # a thrown error, as Lambda reports it
            self.reply(400, {"errorType": type(e).__name__, "errorMessage": str(e)})

    def reply(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "3001"))), Hook).serve_forever()
