#!/usr/bin/env python3
"""Drives poolgate's Cognito API with boto3, as an admin's script would.

Environment: POOLGATE_ENDPOINT (the gateway's URL), AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION; POOLGATE_SKEW_S shifts the signer's clock.

    client.py calls   stdin: [["Operation", {params}], ...]
                      stdout: [{"ok": answer as boto3 parsed it, "raw": the JSON as sent}
                               | {"error": {"Code", "Message"}, "status", "headers"}]
    client.py raw TARGET CONTENT_TYPE   stdin: the body, sent as is, signed by botocore
                      stdout: {"status", "headers", "body"}
"""
import datetime
import json
import os
import sys
import urllib.error
import urllib.request

import boto3
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

ENDPOINT = os.environ["POOLGATE_ENDPOINT"]
REGION = os.environ.get("AWS_DEFAULT_REGION", "eu-west-1")
SKEW = int(os.environ.get("POOLGATE_SKEW_S", "0"))

if SKEW:
    _now = botocore.auth.get_current_datetime

    def _skewed(*args, **kwargs):
        return _now(*args, **kwargs) + datetime.timedelta(seconds=SKEW)

    botocore.auth.get_current_datetime = _skewed


def plain(value):
    """Makes an answer JSON-printable (datetimes as epoch seconds, bytes as text)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return value.decode()
    return value


def calls() -> None:
    client = boto3.client(
        "cognito-idp",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        config=Config(retries={"max_attempts": 1}),
    )
    raw = {}

    def keep_raw(http_response=None, **_kwargs):
        raw["body"] = http_response.content if http_response is not None else b""

    client.meta.events.register("after-call.cognito-idp", keep_raw)
    out = []
    for op, params in json.load(sys.stdin):
        raw.clear()
        try:
            answer = plain(client._make_api_call(op, params))
            body = raw.get("body") or b"{}"
            out.append({"ok": answer, "raw": json.loads(body)})
        except ClientError as e:
            out.append(
                {
                    "error": {
                        "Code": e.response["Error"]["Code"],
                        "Message": e.response["Error"].get("Message", ""),
                    },
                    "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
                    "headers": dict(e.response["ResponseMetadata"].get("HTTPHeaders", {})),
                }
            )
    json.dump(out, sys.stdout)


def raw(target: str, content_type: str) -> None:
    body = sys.stdin.buffer.read()
    req = AWSRequest(
        method="POST",
        url=ENDPOINT + "/",
        data=body,
        headers={"Content-Type": content_type, "X-Amz-Target": target},
    )
    creds = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    botocore.auth.SigV4Auth(creds, "cognito-idp", REGION).add_auth(req)
    prepared = req.prepare()
    r = urllib.request.Request(ENDPOINT + "/", data=body, method="POST")
    for k, v in prepared.headers.items():
        r.add_header(k, v)
    try:
        with urllib.request.urlopen(r) as resp:
            status, headers, text = resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as e:
        status, headers, text = e.code, dict(e.headers), e.read().decode()
    json.dump({"status": status, "headers": {k.lower(): v for k, v in headers.items()}, "body": text}, sys.stdout)


if __name__ == "__main__":
    if sys.argv[1] == "calls":
        calls()
    elif sys.argv[1] == "raw":
        raw(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: client.py calls | raw TARGET CONTENT_TYPE")
