"""Talki Backend Connect: the customer endpoint on Flask, in one file you copy.

Talki POSTs {"userToken": "<id>"} with X-Talki-Signature, the lowercase hex HMAC-SHA256 of the raw
body keyed by your signing secret, and shows the profile this answers in the ticket sidebar.

    TALKI_SECRET=your-signing-secret PORT=3000 python3 flask_endpoint.py

This is the vendor page's Flask snippet, corrected: that one answers 500 to a non-ASCII signature
(hmac.compare_digest raises on non-ASCII text) and to an unknown user (None has no .name). Here every
refusal is JSON with its own code, and nothing answers a stack trace. It serves on 127.0.0.1 with Flask's
threaded development server; in production, serve `create_app(...)` with gunicorn or another WSGI server
behind HTTPS.
"""

import concurrent.futures
import hashlib
import hmac
import json
import os
import re
import sys

from flask import Flask, Response, request
from werkzeug.serving import make_server

ENDPOINT_PATH = '/talki/customer'
TOKEN_FIELD = 'userToken'  # Talki console: "User token field"
BODY_LIMIT = 16 * 1024  # Talki's body is a few dozen bytes
MAX_TOKEN_LENGTH = 256
LOOKUP_TIMEOUT_S = 4.0  # well inside Talki's 5 s, so Talki always gets an answer
SIGNATURE = re.compile(r'[0-9a-fA-F]{64}')  # exactly 64 hex digits: no "sha256=", no list

# Your users. Replace find_user with a query on your database. A dict's .get() finds only the keys it
# holds, so tokens such as "__proto__" or "constructor" find nobody.
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


def find_user(token):
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
    'Content-Type': 'application/json; charset=utf-8',
}


def answer(status, body, headers=None):
    text = json.dumps(body, ensure_ascii=False, separators=(',', ':'))
    return Response(text.encode('utf-8'), status, {**HEADERS, **(headers or {})})


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
    app = Flask(__name__)
    app.url_map.merge_slashes = False  # //talki/customer is another path (404), not a redirect
    lookups = concurrent.futures.ThreadPoolExecutor(max_workers=16)

    # POST only: OPTIONS, HEAD, GET, PUT, DELETE… on the path get 405 (handled below).
    @app.route(ENDPOINT_PATH, methods=['POST'], provide_automatic_options=False)
    def talki_customer():
        # 1. Size: a body over BODY_LIMIT is refused without being read. (WSGI leaves the connection to
        #    the server: Flask's closes it after every answer, so the unread rest goes with it.)
        too_large = error(413, 'payload_too_large')
        if (request.content_length or 0) > BODY_LIMIT:
            return too_large
        raw = request.stream.read(BODY_LIMIT + 1)  # the exact bytes Talki signed
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
            user = lookups.submit(find_user, token).result(timeout=lookup_timeout_s)
        except concurrent.futures.TimeoutError:
            return error(503, 'lookup_timeout', {'Retry-After': '3'})
        except Exception:
            app.logger.exception('user lookup failed')  # the log has the cause; Talki gets the code
            return error(503, 'store_unavailable', {'Retry-After': '3'})
        if user is None:
            return error(404, 'user_not_found')

        # 6. Answer the profile: only name, email, plan and fields, never the token or other columns.
        return answer(200, {key: user[key] for key in ('name', 'email', 'plan', 'fields') if key in user})

    @app.errorhandler(404)
    def not_found(_error):
        return error(404, 'not_found')

    @app.errorhandler(405)
    def method_not_allowed(_error):
        return error(405, 'method_not_allowed', {'Allow': 'POST'})

    @app.errorhandler(500)
    def internal_error(_error):  # Flask has logged the exception; the caller gets no stack trace
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
    server = make_server('127.0.0.1', port, create_app(secrets), threaded=True)
    print(f'Flask endpoint listening on http://127.0.0.1:{server.port}{ENDPOINT_PATH}', flush=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
