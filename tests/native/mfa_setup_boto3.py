#!/usr/bin/env python3
"""Signs in with boto3, as an app's backend would, to a pool whose MFA is ON, as a user
with no second factor: InitiateAuth (USER_PASSWORD_AUTH) answers MFA_SETUP; its Session
goes to AssociateSoftwareToken, then to VerifySoftwareToken with a TOTP code computed
here (RFC 6238 with the standard library only, checked against the RFC's vector), then
to RespondToAuthChallenge with MFA_SETUP.

Environment: POOLGATE_ENDPOINT, CLIENT_ID, USERNAME, PASSWORD.
stdout: {"challenge", "parameters", "sessions": [from InitiateAuth, from
AssociateSoftwareToken, from VerifySoftwareToken], "secret", "step", "code", "status",
"result"}, or {"error": {"Code", "Message"}, "at": the operation}.
"""
import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import time

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError


def totp(secret_b32: str, step: int) -> str:
    """RFC 6238 (HMAC-SHA1, 6 digits) for one 30-second step."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1_000_000)


# RFC 6238 appendix B, SHA-1, T = 59 s: 94287082, of which 6 digits.
assert totp(base64.b32encode(b"12345678901234567890").decode(), 59 // 30) == "287082"

env = os.environ
client = boto3.client(
    "cognito-idp",
    endpoint_url=env["POOLGATE_ENDPOINT"],
    region_name="us-east-1",
    config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
)
out = {}
at = "InitiateAuth"
try:
    r = client.initiate_auth(
        ClientId=env["CLIENT_ID"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": env["USERNAME"], "PASSWORD": env["PASSWORD"]},
    )
    out["challenge"] = r.get("ChallengeName")
    out["parameters"] = r.get("ChallengeParameters", {})
    if "AuthenticationResult" in r:
        out["early_tokens"] = True
    sessions = [r["Session"]]
    at = "AssociateSoftwareToken"
    a = client.associate_software_token(Session=sessions[-1])
    out["secret"] = a["SecretCode"]
    sessions.append(a["Session"])
    at = "VerifySoftwareToken"
    step = int(time.time()) // 30
    code = totp(a["SecretCode"], step)
    v = client.verify_software_token(Session=sessions[-1], UserCode=code, FriendlyDeviceName="phone")
    out.update(step=step, code=code, status=v["Status"])
    sessions.append(v["Session"])
    at = "RespondToAuthChallenge"
    d = client.respond_to_auth_challenge(
        ClientId=env["CLIENT_ID"],
        ChallengeName="MFA_SETUP",
        Session=sessions[-1],
        ChallengeResponses={"USERNAME": env["USERNAME"]},
    )
    out["result"] = d["AuthenticationResult"]
    out["sessions"] = sessions
except ClientError as e:
    out = {"error": {"Code": e.response["Error"]["Code"], "Message": e.response["Error"].get("Message", "")}, "at": at}
json.dump(out, sys.stdout)
print()
