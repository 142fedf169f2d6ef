#!/usr/bin/env python3
"""Captures requests that real AWS clients sign, as fixtures for poolgate's SigV4 tests.

Listens on 127.0.0.1:PORT, writes each request it receives (head and body, as sent) to
PREFIX-N.http, answers `{"UserPools": []}`. Point boto3 or the AWS CLI at it:

    scripts/capture-sigv4-request.py /tmp/boto3 18931 2 &
    python3 -c 'import boto3; c = boto3.client("cognito-idp", endpoint_url="http://127.0.0.1:18931",
        region_name="eu-west-1", aws_access_key_id="poolgate",
        aws_secret_access_key="fixture-secret-0123456789abcdef"); c.list_user_pools(MaxResults=10)'

The fixtures in tests/fixtures/sigv4/ were signed with that access key id and secret.
"""
import socket
import sys


def main() -> None:
    prefix, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(5)
    for i in range(count):
        conn, _ = srv.accept()
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, value = line.split(b":", 1)
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            body += conn.recv(65536)
        with open(f"{prefix}-{i}.http", "wb") as f:
            f.write(head + b"\r\n\r\n" + body)
        answer = b'{"UserPools": []}'
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(answer) + answer
        )
        conn.close()


if __name__ == "__main__":
    main()
