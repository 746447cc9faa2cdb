# Unit tests of flask_endpoint.py with Flask's test client:  python3 -m pytest reference/python -q
# Every signature below is a known answer, computed with the command beside it.
import os
import subprocess
import sys
import time

import pytest

import flask_endpoint

SECRET = 'test-secret-0123456789'
SECOND_SECRET = 'rotated-secret-abcdef'
PATH = '/talki/customer'
ALICE = {
    'name': 'Alice Johnson',
    'email': 'alice@example.com',
    'plan': 'pro',
    'fields': {'mrr': 149, 'company': 'Acme Inc', 'signedUpAt': '2024-01-15', 'seats': 5},
}
VENDOR_BODY = '{"userToken":"usr_abc123"}'
# printf '%s' '{"userToken":"usr_abc123"}' | openssl dgst -sha256 -hmac 'test-secret-0123456789'
VENDOR_SIGNATURE = 'c9db3bfddcfc85e7f43790bfef0ccc2618adf476fbcbbd85227d8cf481212bd7'
# printf '%s' '{"userToken":"usr_abc123"}' | openssl dgst -sha256 -hmac 'rotated-secret-abcdef'
SECOND_SIGNATURE = 'dc35afae4cdc5dec3f9f3cde9f80a0082427a7ebf047fb90eb33d93af403e2d4'
SIGNED = {  # body → printf '%s' "$BODY" | openssl dgst -sha256 -hmac 'test-secret-0123456789'
    '{"userToken":"usr_minimal"}': 'cc3544845d8637e7f1c828bf5f57710faa75fcf62e368b88bd418f2198365b66',
    '{"userToken":"usr_nobody"}': 'e34375bf9d60e244d7088fa1d68588389e70d34ddaee61faf6b05bf7ace5afd2',
    '{"userToken":"__proto__"}': 'd51cf53bf9c66f8cd74019af3cabb882e3686c44f774e928f531b585ec34cc83',
    '{"userToken":"constructor"}': '4ff1d3a6a4be5f9ca6b240fbd8abe84c893a7dc75e9d3df0b3c272a14cf1ef51',
    'nope': 'e030832dcffba7d60b0c9324b4c7f56b63ce21e44f7f2b9b3610202f28cba797',
    '{"userToken":"usr_abc123","n":NaN}': '28725b3d186df1020e20b5314cd9e08132df2d6e89554e787108e6e25323d231',
    '{"user":"usr_abc123"}': 'a81a8d1de42b6fc593d4dff9d9ebc85e8b652cdbec8df839d206163b97a97133',
    '{"userToken":""}': '5c9e4f5578825b15146785f66fa1c6378bd4a20f9f92672d4d98aef0d4000a58',
    '{"userToken":"usr_slow"}': '68a1147cfd15c7db7309a68d23334e52c8823ed9b93e36c6b84dc61d57d869c1',
    '{"userToken":"usr_failing"}': '07ad032dc8be0d6265ec67ee41e6d001cf0655a4f2354c98df2d3b59356f724f',
}
# printf '{"userToken":"\377"}' | openssl dgst -sha256 -hmac 'test-secret-0123456789'
BAD_UTF8 = (b'{"userToken":"\xff"}', '3202d322873ca120b4609ff0c515a88693b071ebc482bfa739eaccdff52a80a2')
# printf '\357\273\277{"userToken":"usr_abc123"}' | openssl dgst -sha256 -hmac 'test-secret-0123456789'
WITH_BOM = (b'\xef\xbb\xbf' + VENDOR_BODY.encode(), 'e3c27b277b158588e68f5003de51e5addd3e759586d6deeee8864b6ac7ee5400')
# python3 -c "print('['*5000 + ']'*5000, end='')" | openssl dgst -sha256 -hmac 'test-secret-0123456789'
DEEP = ('[' * 5000 + ']' * 5000, 'ddb6350fc00989e4b54cd979eedbc2b8f6f7868cf74b60c4e0fcaea5f2ae712d')
NOT_JSON = {'error': 'invalid_body', 'detail': 'body is not UTF-8 JSON'}
NO_TOKEN = {'error': 'invalid_body', 'detail': 'userToken must be a non-empty string of at most 256 characters'}


def find_user(token):
    if token == 'usr_slow':
        time.sleep(2)
    if token == 'usr_failing':
        raise ConnectionError('database down')
    return flask_endpoint.find_user(token)


@pytest.fixture
def client():
    app = flask_endpoint.create_app([SECRET, SECOND_SECRET], find_user=find_user, lookup_timeout_s=0.3)
    return app.test_client()


def post(client, body, signature=None, **headers):
    body = body.encode() if isinstance(body, str) else body
    if signature is not None:
        headers['X-Talki-Signature'] = signature
    return client.post(PATH, data=body, headers=headers)


@pytest.mark.parametrize('signature', [VENDOR_SIGNATURE, SECOND_SIGNATURE, VENDOR_SIGNATURE.upper()])
def test_answers_the_profile_to_a_signature_under_either_secret(client, signature):
    response = post(client, VENDOR_BODY, signature)
    assert (response.status_code, response.get_json()) == (200, ALICE)
    assert response.headers['Cache-Control'] == 'no-store'
    assert response.headers['Content-Type'] == 'application/json; charset=utf-8'
    assert response.headers['X-Content-Type-Options'] == 'nosniff'


def test_answers_exactly_the_keys_a_user_has(client):
    body = '{"userToken":"usr_minimal"}'
    assert post(client, body, SIGNED[body]).get_json() == {}


def test_verifies_the_raw_bytes_and_skips_a_leading_bom(client):
    response = post(client, WITH_BOM[0], WITH_BOM[1])
    assert (response.status_code, response.get_json()) == (200, ALICE)


@pytest.mark.parametrize('signature, verdict', [
    (None, 'missing_signature'),
    ('', 'missing_signature'),
    (VENDOR_SIGNATURE[:32], 'malformed_signature'),
    (VENDOR_SIGNATURE + '00', 'malformed_signature'),
    ('z' * 64, 'malformed_signature'),
    ('é' * 64, 'malformed_signature'),  # the vendor snippet's compare_digest raised here: 500
    ('sha256=' + VENDOR_SIGNATURE, 'malformed_signature'),
    (SIGNED['{"userToken":"usr_nobody"}'], 'invalid_signature'),
])
def test_refuses_a_bad_signature_with_401(client, signature, verdict):
    response = post(client, VENDOR_BODY, signature)
    assert (response.status_code, response.get_json()) == (401, {'error': verdict})
    assert response.headers['Cache-Control'] == 'no-store'


def test_a_signature_header_sent_twice_is_malformed(client):
    headers = [('X-Talki-Signature', VENDOR_SIGNATURE), ('X-Talki-Signature', VENDOR_SIGNATURE)]
    response = client.post(PATH, data=VENDOR_BODY, headers=headers)
    assert (response.status_code, response.get_json()) == (401, {'error': 'malformed_signature'})


@pytest.mark.parametrize('body, signature, expected', [
    ('nope', SIGNED['nope'], NOT_JSON),
    (BAD_UTF8[0], BAD_UTF8[1], NOT_JSON),
    (DEEP[0], DEEP[1], NOT_JSON),  # past Python's recursion limit: 400, not 500
    ('{"userToken":"usr_abc123","n":NaN}', SIGNED['{"userToken":"usr_abc123","n":NaN}'], NOT_JSON),
    ('{"user":"usr_abc123"}', SIGNED['{"user":"usr_abc123"}'], NO_TOKEN),
    ('{"userToken":""}', SIGNED['{"userToken":""}'], NO_TOKEN),
])
def test_refuses_a_signed_body_it_cannot_read_with_400(client, body, signature, expected):
    response = post(client, body, signature)
    assert (response.status_code, response.get_json()) == (400, expected)


@pytest.mark.parametrize('token', ['usr_nobody', '__proto__', 'constructor'])
def test_answers_404_to_a_token_no_user_has(client, token):
    body = f'{{"userToken":"{token}"}}'
    response = post(client, body, SIGNED[body])
    assert (response.status_code, response.get_json()) == (404, {'error': 'user_not_found'})


def test_answers_503_at_the_lookup_deadline(client):
    body = '{"userToken":"usr_slow"}'
    started = time.monotonic()
    response = post(client, body, SIGNED[body])
    assert (response.status_code, response.get_json()) == (503, {'error': 'lookup_timeout'})
    assert response.headers['Retry-After'] == '3'
    assert time.monotonic() - started < 1.5  # the deadline (0.3 s), not the store's 2 s


def test_answers_503_when_the_store_fails_without_telling_why(client):
    body = '{"userToken":"usr_failing"}'
    response = post(client, body, SIGNED[body])
    assert (response.status_code, response.get_json()) == (503, {'error': 'store_unavailable'})
    assert b'database down' not in response.data


def test_refuses_a_body_over_the_limit_with_413(client):
    body = VENDOR_BODY.ljust(flask_endpoint.BODY_LIMIT + 1)
    response = post(client, body, VENDOR_SIGNATURE)
    assert (response.status_code, response.get_json()) == (413, {'error': 'payload_too_large'})
    at_limit = post(client, VENDOR_BODY.ljust(flask_endpoint.BODY_LIMIT), None)
    assert at_limit.status_code == 401  # read, then refused for its signature


def test_refuses_a_compressed_body_with_415(client):
    response = post(client, VENDOR_BODY, VENDOR_SIGNATURE, **{'Content-Encoding': 'gzip'})
    assert (response.status_code, response.get_json()) == (415, {'error': 'unsupported_encoding'})
    assert post(client, VENDOR_BODY, VENDOR_SIGNATURE, **{'Content-Encoding': 'identity'}).status_code == 200


@pytest.mark.parametrize('method', ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])
def test_answers_405_with_allow_post_to_other_methods(client, method):
    response = client.open(f'{PATH}?userToken=usr_abc123', method=method, data=VENDOR_BODY)
    assert response.status_code == 405
    assert response.headers['Allow'] == 'POST'
    assert response.data == (b'' if method == 'HEAD' else b'{"error":"method_not_allowed"}')


@pytest.mark.parametrize('path', ['/', '/talki/customers', '/talki/customer/', '//talki/customer'])
def test_answers_404_json_elsewhere(client, path):
    response = client.post(path, data=VENDOR_BODY, headers={'X-Talki-Signature': VENDOR_SIGNATURE})
    assert (response.status_code, response.get_json()) == (404, {'error': 'not_found'})


@pytest.mark.parametrize('value, problem', [
    ('', 'TALKI_SECRET is not set'),
    ('a,,b', 'TALKI_SECRET item 2 of 3 is empty'),
    ('secret\n', 'TALKI_SECRET has leading or trailing white space'),
])
def test_refuses_a_secret_list_that_cannot_work(value, problem):
    with pytest.raises(ValueError, match=problem):
        flask_endpoint.read_secrets(value)
    assert flask_endpoint.read_secrets('new,old') == ['new', 'old']


def test_refuses_to_start_without_talki_secret_in_one_line():
    env = {k: v for k, v in os.environ.items() if k != 'TALKI_SECRET'}
    done = subprocess.run([sys.executable, flask_endpoint.__file__], env=env, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 1
    assert done.stderr.startswith('TALKI_SECRET is not set') and done.stderr.count('\n') == 1
