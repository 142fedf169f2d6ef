#!/usr/bin/env python3
"""Signs in to poolgate with pycognito's SRP (AWSSRP: USER_SRP_AUTH, then
PASSWORD_VERIFIER), as pycognito's Cognito.authenticate does. The tokens are verified
by the Rust test against the gateway's JWKS (pycognito's own check of an ID token's
at_hash does not run on Python 3; Cognito's API-issued ID tokens carry none).

Environment: POOLGATE_ENDPOINT, POOL_ID, CLIENT_ID, USERNAME, PASSWORD, and
CLIENT_SECRET for a client with a secret (pycognito then sends SECRET_HASH).
stdout: {"ok": {"id_token", "access_token", "refresh_token"}}
        or {"error": {"Code", "Message"}}
"""
import json
import os

import boto3
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP

client = boto3.client(
    "cognito-idp", endpoint_url=os.environ["POOLGATE_ENDPOINT"], region_name="us-east-1"
)
srp = AWSSRP(
    username=os.environ["USERNAME"],
    password=os.environ["PASSWORD"],
    pool_id=os.environ["POOL_ID"],
    client_id=os.environ["CLIENT_ID"],
    client_secret=os.environ.get("CLIENT_SECRET"),
    client=client,
)
try:
    tokens = srp.authenticate_user()
except ClientError as e:
    print(json.dumps({"error": e.response["Error"]}))
else:
    result = tokens["AuthenticationResult"]
    print(json.dumps({"ok": {
        "id_token": result["IdToken"],
        "access_token": result["AccessToken"],
        "refresh_token": result.get("RefreshToken"),
    }}))
