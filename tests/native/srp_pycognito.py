#!/usr/bin/env python3
"""Signs in to poolgate with pycognito's SRP (USER_SRP_AUTH, then PASSWORD_VERIFIER),
and verifies the tokens with pycognito's own checks (JWKS signature, issuer, audience,
token_use).

Environment: POOLGATE_ENDPOINT, POOL_ID, CLIENT_ID, USERNAME, PASSWORD.
stdout: {"ok": {"id_token", "access_token", "refresh_token", "username"}}
        or {"error": {"Code", "Message"}}
"""
import json
import os

from botocore.exceptions import ClientError
from pycognito import Cognito

endpoint = os.environ["POOLGATE_ENDPOINT"]


class Gateway(Cognito):
    """Tokens are checked against the gateway's issuer and JWKS instead of AWS's."""

    @property
    def user_pool_url(self):
        return endpoint


user = Gateway(
    os.environ["POOL_ID"],
    os.environ["CLIENT_ID"],
    user_pool_region="us-east-1",
    username=os.environ["USERNAME"],
    boto3_client_kwargs={"endpoint_url": endpoint},
)
try:
    user.authenticate(password=os.environ["PASSWORD"])
except ClientError as e:
    print(json.dumps({"error": e.response["Error"]}))
else:
    print(json.dumps({"ok": {
        "id_token": user.id_token,
        "access_token": user.access_token,
        "refresh_token": user.refresh_token,
        "username": user.username,
    }}))
