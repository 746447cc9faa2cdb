"""Talki Backend Connect: the customer endpoint on FastAPI, in one file you copy.

Talki POSTs {"userToken": "<id>"} with X-Talki-Signature, the lowercase hex HMAC-SHA256 of the raw
body keyed by your signing secret, and shows the profile this answers in the ticket sidebar.

    TALKI_SECRET=your-signing-secret PORT=3000 python3 fastapi_endpoint.py

It serves on 127.0.0.1 with uvicorn, started from the bottom of this file; in production, put HTTPS in
front. The route reads the raw body itself: a pydantic model or `await request.json()` would parse it
before the signature is checked, and a re-serialised body no longer matches what Talki signed.
"""

import asyncio
import hashlib
import hmac
import json
import os
import re
import socket
import sys

import uvicorn
from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException

ENDPOINT_PATH = '/talki/customer'
TOKEN_FIELD = 'userToken'  # Talki console: "User token field"
BODY_LIMIT = 16 * 1024  # Talki's body is a few dozen bytes
MAX_TOKEN_LENGTH = 256
LOOKUP_TIMEOUT_S = 4.0  # well inside Talki's 5 s, so Talki always gets an answer
SIGNATURE = re.compile(r'[0-9a-fA-F]{64}')  # exactly 64 hex digits: no "sha256=", no list

# Your users. Replace find_user with a query on your database (an async driver, or a blocking one
# through starlette.concurrency.run_in_threadpool). A dict's .get() finds only the keys it holds, so
# tokens such as "__proto__" or "constructor" find nobody.
USERS = {
    'usr_abc123': {
        'name': 'Alice Johnson',
        'email': 'alice@example.com',
        'plan': 'pro',
        'fields': {'mrr': 149, 'company': 'Acme Inc', 'signedUpAt': '2024-01-15', 'seats': 5},
    },
    'usr_unicode': {
        'name': 'Zoë Łukasiewicz-Ñúñez 山田太郎 🦊',
        'email': 'zoë.山田@example.com',
        'plan': 'pro ✨',
        'fields': {'company': 'Café Ünïcode 株式会社', 'city': 'Kraków', '日本語キー': 42},
    },
    'usr_minimal': {},  # a user with nothing to show: the answer is {}
}


async def find_user(token):
    return USERS.get(token)


# Every answer is JSON and never cached (it carries personal data), with the security headers helmet
# sets on the project's Node endpoint.
HEADERS = {
    'Content-Security-Policy': "default-src 'self';base-uri 'self';font-src 'self' https: data:;"
    "form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';"
    "script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests",
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Origin-Agent-Cluster': '?1',
    'Referrer-Policy': 'no-referrer',
    'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
    'X-Content-Type-Options': 'nosniff',
    'X-DNS-Prefetch-Control': 'off',
    'X-Download-Options': 'noopen',
    'X-Frame-Options': 'SAMEORIGIN',
    'X-Permitted-Cross-Domain-Policies': 'none',
    'X-XSS-Protection': '0',
    'Cache-Control': 'no-store',
}


def answer(status, body, headers=None):
    text = json.dumps(body, ensure_ascii=False, separators=(',', ':'))
    return Response(text.encode('utf-8'), status, {**HEADERS, **(headers or {})},
                    media_type='application/json; charset=utf-8')


def error(status, code, headers=None):
    return answer(status, {'error': code}, headers)


def verify_signature(body, header, secrets):
    """'valid', 'missing_signature', 'malformed_signature' or 'invalid_signature'; never raises."""
    if not header:
        return 'missing_signature'
    # The grammar first: only then is the header turned into the 32 bytes compare_digest is given.
    if not SIGNATURE.fullmatch(header):
        return 'malformed_signature'
    received = bytes.fromhex(header)
    matched = False
    for secret in secrets:  # every secret is compared (no early return), so timing tells nothing
        expected = hmac.new(secret.encode('utf-8'), body, hashlib.sha256).digest()
        matched = hmac.compare_digest(received, expected) or matched
    return 'valid' if matched else 'invalid_signature'


def _refuse(constant):
    raise ValueError(f'{constant} is not JSON')  # Python's json accepts NaN and Infinity; JSON does not


def create_app(secrets, find_user=find_user, lookup_timeout_s=LOOKUP_TIMEOUT_S):
    # No /docs or /openapi.json, and /talki/customer/ is another path (404), not a redirect.
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.router.redirect_slashes = False

    @app.post(ENDPOINT_PATH)
    async def talki_customer(request: Request):
        # 1. Size: a body over BODY_LIMIT is refused without being read, and the connection closed.
        #    (uvicorn has already refused a Content-Length that is not a number.)
        too_large = error(413, 'payload_too_large', {'Connection': 'close'})
        if int(request.headers.get('Content-Length', '0')) > BODY_LIMIT:
            return too_large
        raw = b''  # the exact bytes Talki signed
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > BODY_LIMIT:
                return too_large

        # 2. Encoding: the signature covers the bytes as sent, so nothing is inflated.
        encoding = request.headers.get('Content-Encoding')
        if encoding is not None and encoding.strip().lower() != 'identity':
            return error(415, 'unsupported_encoding')

        # 3. Verify the signature over the raw bytes, before any parsing. A header sent twice is
        #    joined with a comma, so it fails the grammar: malformed.
        verdict = verify_signature(raw, ', '.join(request.headers.getlist('X-Talki-Signature')), secrets)
        if verdict != 'valid':
            return error(401, verdict)

        # 4. Read the body: UTF-8 JSON (a leading BOM is skipped), an object whose token field is a
        #    non-empty string of at most 256 characters. Anything else is 400, never 500.
        try:
            body = json.loads(raw.decode('utf-8-sig'), parse_constant=_refuse)
        except (ValueError, RecursionError):  # bad UTF-8 or JSON; RecursionError: [[[[… nested deep
            return answer(400, {'error': 'invalid_body', 'detail': 'body is not UTF-8 JSON'})
        token = body.get(TOKEN_FIELD) if isinstance(body, dict) else None
        if not (isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_LENGTH):
            detail = f'{TOKEN_FIELD} must be a non-empty string of at most {MAX_TOKEN_LENGTH} characters'
            return answer(400, {'error': 'invalid_body', 'detail': detail})

        # 5. Look the user up, racing a deadline: a slow database must not make Talki time out, and a
        #    failing one answers 503 (Talki treats 5xx as "down" and retries once after 3 s).
        try:
            user = await asyncio.wait_for(find_user(token), lookup_timeout_s)
        except asyncio.TimeoutError:
            return error(503, 'lookup_timeout', {'Retry-After': '3'})
        except Exception as failure:
            print(f'user lookup failed: {failure!r}', file=sys.stderr)  # the log has the cause
            return error(503, 'store_unavailable', {'Retry-After': '3'})
        if user is None:
            return error(404, 'user_not_found')

        # 6. Answer the profile: only name, email, plan and fields, never the token or other columns.
        return answer(200, {key: user[key] for key in ('name', 'email', 'plan', 'fields') if key in user})

    # Other paths: 404; other methods on the path (GET, HEAD, OPTIONS…): 405. Starlette raises both.
    @app.exception_handler(HTTPException)
    async def http_error(_request, failure):
        if failure.status_code == 405:
            return error(405, 'method_not_allowed', {'Allow': 'POST'})
        return error(404, 'not_found')

    @app.exception_handler(Exception)
    async def internal_error(_request, _failure):  # uvicorn logs the exception; no stack trace here
        return error(500, 'internal_error')

    return app


def read_secrets(value):
    """TALKI_SECRET: one secret, or several separated by commas (any one verifies: rotation)."""
    if not value:
        raise ValueError("TALKI_SECRET is not set: export the signing secret from Talki's console")
    secrets = value.split(',')
    for i, secret in enumerate(secrets, 1):
        item = f'item {i} of {len(secrets)} ' if len(secrets) > 1 else ''
        if secret == '':
            raise ValueError(f'TALKI_SECRET {item}is empty (a stray comma?)')
        if secret != secret.strip():
            raise ValueError(f'TALKI_SECRET {item}has leading or trailing white space (a stray newline?)')
    return secrets


def read_port(value):
    if value is None or value == '':
        return 3000
    if not (value.isascii() and value.isdigit() and int(value) <= 65535):
        raise ValueError(f'PORT must be a port number from 0 to 65535, not {value!r}')
    return int(value)


def main():
    try:
        secrets = read_secrets(os.environ.get('TALKI_SECRET'))
        port = read_port(os.environ.get('PORT'))
    except ValueError as problem:
        sys.exit(str(problem))  # one line on stderr, exit code 1
    listener = socket.create_server(('127.0.0.1', port))  # bound here, so PORT=0 prints the port chosen
    print(f'FastAPI endpoint listening on http://127.0.0.1:{listener.getsockname()[1]}{ENDPOINT_PATH}',
          flush=True)
    server = uvicorn.Server(uvicorn.Config(create_app(secrets), log_level='warning', timeout_keep_alive=5))
    server.run(sockets=[listener])


if __name__ == '__main__':
    main()
