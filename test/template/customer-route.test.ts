import { describe, expect, it } from 'vitest'
import type { UserRecord } from '../../src/mock/users/record.js'
import { type CustomerRouteOptions, createCustomerRoute } from '../../src/template/customer-route.js'
import { sign, verifySignature } from '../../src/template/signature.js'
import { ALICE, memoryStore, SECOND_SECRET, signedRequest, TEST_SECRET } from '../support.js'

const NOT_JSON = 'body is not UTF-8 JSON'
const BAD_TOKEN = 'userToken must be a non-empty string of at most 256 characters'

function route(overrides: Partial<CustomerRouteOptions<UserRecord>> & { secrets?: string[] } = {}) {
  const store = memoryStore()
  const secrets = overrides.secrets ?? [TEST_SECRET]
  const answer = createCustomerRoute({
    verify: (body, header) => verifySignature(body, header, secrets),
    tokenField: 'userToken',
    lookupTimeoutMs: 1000,
    store,
    ...overrides,
  })
  return { answer, store }
}

/** The raw bytes of `body` with a good signature over exactly those bytes. */
function signed(body: string | Uint8Array, secret = TEST_SECRET) {
  const rawBody = typeof body === 'string' ? new TextEncoder().encode(body) : body
  return { rawBody, signature: sign(secret, rawBody) }
}

describe('createCustomerRoute', () => {
  describe('the vendor example {"userToken":"usr_abc123"}', () => {
    it('answers 200 with exactly the profile', async () => {
      const { answer, store } = route()
      // printf '%s' '{"userToken":"usr_abc123"}' | openssl dgst -sha256 -hmac 'test-secret-0123456789'
      const outcome = await answer({
        rawBody: new TextEncoder().encode('{"userToken":"usr_abc123"}'),
        signature: 'c9db3bfddcfc85e7f43790bfef0ccc2618adf476fbcbbd85227d8cf481212bd7',
      })
      expect(outcome.status).toBe(200)
      expect(outcome.body).toEqual({
        name: 'Alice Johnson',
        email: 'alice@example.com',
        plan: 'pro',
        fields: { mrr: 149, company: 'Acme Inc', signedUpAt: '2024-01-15', seats: 5 },
      })
      expect(outcome.token).toBe('usr_abc123')
      expect(outcome.verdict).toBe('valid')
      expect(outcome.headers).toBeUndefined()
      expect(store.lookups).toBe(1)
    })
  })

  describe('with a signature that does not verify', () => {
    // One row per verdict: the route passes the verifier's verdict on; the grammar's cases are in
    // signature.test.ts.
    const body = new TextEncoder().encode('{"userToken":"usr_abc123"}')
    const rows = [
      { name: 'no header', signature: undefined, error: 'missing_signature' },
      {
        name: 'a sha256= prefix',
        signature: `sha256=${sign(TEST_SECRET, body)}`,
        error: 'malformed_signature',
      },
      {
        name: 'the HMAC of other bytes',
        signature: sign(TEST_SECRET, `${'{"userToken":"usr_abc123"}'} `),
        error: 'invalid_signature',
      },
    ]
    for (const row of rows) {
      it(`answers 401 ${row.error} for ${row.name}, without a lookup`, async () => {
        const { answer, store } = route()
        const outcome = await answer({ rawBody: body, signature: row.signature })
        expect(outcome.status).toBe(401)
        expect(outcome.body).toEqual({ error: row.error })
        expect(outcome.verdict).toBe(row.error)
        expect(outcome.token).toBeUndefined()
        expect(store.lookups).toBe(0)
      })
    }

    it('checks the signature before the body: a bad body with a bad signature is 401, not 400', async () => {
      const { answer } = route()
      const outcome = await answer({
        rawBody: new TextEncoder().encode('not json'),
        signature: '0'.repeat(64),
      })
      expect(outcome).toMatchObject({ status: 401, body: { error: 'invalid_signature' } })
    })
  })

  describe('with a signed body that is not a good request', () => {
    const rows: { name: string; body: string | Uint8Array; detail: string }[] = [
      { name: 'an empty body', body: '', detail: NOT_JSON },
      { name: 'form encoding', body: 'userToken=usr_abc123', detail: NOT_JSON },
      { name: 'truncated JSON', body: '{"userToken":"usr_abc123"', detail: NOT_JSON },
      { name: 'JSON with a trailing comma', body: '{"userToken":"usr_abc123",}', detail: NOT_JSON },
      {
        name: 'invalid UTF-8 inside the token',
        body: Buffer.from([...Buffer.from('{"userToken":"usr_'), 0xff, 0xfe, ...Buffer.from('"}')]),
        detail: NOT_JSON,
      },
      { name: 'a lone continuation byte', body: Buffer.from([0x7b, 0x80, 0x7d]), detail: NOT_JSON },
      {
        name: 'an overlong UTF-8 encoding',
        body: Buffer.from([...Buffer.from('{"userToken":"'), 0xc0, 0xaf, ...Buffer.from('"}')]),
        detail: NOT_JSON,
      },
      { name: 'a JSON array', body: '[{"userToken":"usr_abc123"}]', detail: BAD_TOKEN },
      { name: 'JSON null', body: 'null', detail: BAD_TOKEN },
      { name: 'a JSON number', body: '42', detail: BAD_TOKEN },
      { name: 'a JSON string', body: '"usr_abc123"', detail: BAD_TOKEN },
      { name: 'JSON true', body: 'true', detail: BAD_TOKEN },
      { name: 'an empty object (token absent)', body: '{}', detail: BAD_TOKEN },
      { name: 'another key only', body: '{"user_token":"usr_abc123"}', detail: BAD_TOKEN },
      { name: 'the token key in another case', body: '{"usertoken":"usr_abc123"}', detail: BAD_TOKEN },
      { name: 'a number token', body: '{"userToken":123}', detail: BAD_TOKEN },
      { name: 'a null token', body: '{"userToken":null}', detail: BAD_TOKEN },
      { name: 'an object token', body: '{"userToken":{"id":"usr_abc123"}}', detail: BAD_TOKEN },
      { name: 'an array token', body: '{"userToken":["usr_abc123"]}', detail: BAD_TOKEN },
      { name: 'a boolean token', body: '{"userToken":true}', detail: BAD_TOKEN },
      { name: 'an empty token', body: '{"userToken":""}', detail: BAD_TOKEN },
      {
        name: 'a token of 257 characters',
        body: JSON.stringify({ userToken: 'u'.repeat(257) }),
        detail: BAD_TOKEN,
      },
      {
        name: 'the token hidden under __proto__',
        body: '{"__proto__":{"userToken":"usr_abc123"}}',
        detail: BAD_TOKEN,
      },
    ]
    for (const row of rows) {
      it(`answers 400 invalid_body for ${row.name}, with a detail and no lookup`, async () => {
        const { answer, store } = route()
        const outcome = await answer(signed(row.body))
        expect(outcome.status).toBe(400)
        expect(outcome.body).toEqual({ error: 'invalid_body', detail: row.detail })
        expect(outcome.verdict).toBe('valid')
        expect(store.lookups).toBe(0)
      })
    }
  })

  describe('with a token of exactly 256 characters', () => {
    const token = 't'.repeat(256)
    it('looks it up (404 when unknown)', async () => {
      const { answer, store } = route()
      const outcome = await answer(signed(JSON.stringify({ userToken: token })))
      expect(outcome).toMatchObject({ status: 404, body: { error: 'user_not_found' }, token })
      expect(store.lookups).toBe(1)
    })
    it('answers the profile when it exists', async () => {
      const { answer } = route({ store: memoryStore([{ userToken: token, name: 'Long Token' }]) })
      const outcome = await answer(signed(JSON.stringify({ userToken: token })))
      expect(outcome).toMatchObject({ status: 200, body: { name: 'Long Token' } })
    })
  })

  describe('with a token no user has', () => {
    const tokens = [
      'usr_nobody',
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'valueOf',
      '__defineGetter__',
      'isPrototypeOf',
      'USR_ABC123',
      ' usr_abc123',
    ]
    for (const token of tokens) {
      it(`answers 404 user_not_found for ${JSON.stringify(token)}`, async () => {
        const { answer, store } = route()
        const outcome = await answer(signed(JSON.stringify({ userToken: token })))
        expect(outcome.status).toBe(404)
        expect(outcome.body).toEqual({ error: 'user_not_found' })
        expect(outcome.token).toBe(token)
        expect(store.lookups).toBe(1)
      })
    }
  })

  describe('with a user found', () => {
    const rows: { name: string; user: UserRecord; profile: Record<string, unknown> }[] = [
      {
        name: 'the full vendor profile',
        user: ALICE,
        profile: { name: ALICE.name, email: ALICE.email, plan: ALICE.plan, fields: ALICE.fields },
      },
      { name: 'a user with only a token', user: { userToken: 'usr_min' }, profile: {} },
      {
        name: 'a user with only a plan',
        user: { userToken: 'usr_min', plan: 'free' },
        profile: { plan: 'free' },
      },
      {
        name: 'a user with a simulate field',
        user: { userToken: 'usr_min', name: 'Sim', simulate: { scenario: 'slow', delayMs: 10 } },
        profile: { name: 'Sim' },
      },
    ]
    for (const row of rows) {
      it(`answers exactly the profile keys for ${row.name}, never userToken or simulate`, async () => {
        const { answer } = route({ store: memoryStore([structuredClone(row.user)]) })
        const outcome = await answer(signed(JSON.stringify({ userToken: row.user.userToken })))
        expect(outcome.status).toBe(200)
        expect(outcome.body).toStrictEqual(row.profile)
        expect(Object.keys(outcome.body)).not.toContain('userToken')
        expect(Object.keys(outcome.body)).not.toContain('simulate')
        expect(outcome.user?.userToken).toBe(row.user.userToken)
      })
    }

    it('ignores other keys in the request body', async () => {
      const { answer } = route()
      const outcome = await answer(signed('{"userToken":"usr_abc123","extra":{"nested":[1,2]},"n":1}'))
      expect(outcome.status).toBe(200)
    })

    it('verifies with any one of several secrets', async () => {
      const { answer } = route({ secrets: [TEST_SECRET, SECOND_SECRET] })
      for (const secret of [TEST_SECRET, SECOND_SECRET]) {
        const { body, signature } = signedRequest('usr_abc123', secret)
        const outcome = await answer({ rawBody: new TextEncoder().encode(body), signature })
        expect(outcome.status).toBe(200)
      }
    })
  })

  describe('with USER_TOKEN_FIELD set to customerId', () => {
    it('reads the token from customerId', async () => {
      const { answer } = route({ tokenField: 'customerId' })
      const { body, signature } = signedRequest('usr_abc123', TEST_SECRET, 'customerId')
      const outcome = await answer({ rawBody: new TextEncoder().encode(body), signature })
      expect(outcome).toMatchObject({ status: 200, token: 'usr_abc123', body: { name: 'Alice Johnson' } })
    })
    it('answers 400 invalid_body naming customerId for a body with userToken only', async () => {
      const { answer, store } = route({ tokenField: 'customerId' })
      const outcome = await answer(signed('{"userToken":"usr_abc123"}'))
      expect(outcome.status).toBe(400)
      expect(outcome.body).toEqual({
        error: 'invalid_body',
        detail: 'customerId must be a non-empty string of at most 256 characters',
      })
      expect(store.lookups).toBe(0)
    })
  })

  describe('with a store that never answers', () => {
    it('answers 503 lookup_timeout with Retry-After once the deadline passes', async () => {
      const { answer } = route({ lookupTimeoutMs: 50, store: { find: () => new Promise(() => {}) } })
      const started = performance.now()
      const outcome = await answer(signed('{"userToken":"usr_abc123"}'))
      const elapsed = performance.now() - started
      expect(outcome.status).toBe(503)
      expect(outcome.body).toEqual({ error: 'lookup_timeout' })
      expect(outcome.headers?.['Retry-After']).toBe('3')
      expect(outcome.token).toBe('usr_abc123')
      expect(elapsed).toBeGreaterThanOrEqual(45)
      expect(elapsed).toBeLessThan(1000)
    })

    it('answers 200 when the store answers inside the deadline', async () => {
      const { answer } = route({
        lookupTimeoutMs: 500,
        store: { find: async () => new Promise<UserRecord>((done) => setTimeout(() => done(ALICE), 20)) },
      })
      expect((await answer(signed('{"userToken":"usr_abc123"}'))).status).toBe(200)
    })
  })

  describe('with a store that throws', () => {
    const failures = [
      {
        name: 'rejects',
        find: async (): Promise<UserRecord | undefined> =>
          Promise.reject(new Error('db down at /secret/path')),
      },
      {
        name: 'throws synchronously',
        find: (): Promise<UserRecord | undefined> => {
          throw new Error('db down')
        },
      },
      {
        name: 'rejects with a non-Error',
        find: async (): Promise<UserRecord | undefined> => Promise.reject('nope'),
      },
    ]
    for (const failure of failures) {
      it(`answers 503 store_unavailable when the store ${failure.name}, with no stack trace`, async () => {
        const { answer } = route({ store: { find: failure.find } })
        const outcome = await answer(signed('{"userToken":"usr_abc123"}'))
        expect(outcome.status).toBe(503)
        expect(outcome.body).toEqual({ error: 'store_unavailable' })
        expect(outcome.headers?.['Retry-After']).toBe('3')
      })
    }
  })

  describe('with a stored user Talki cannot show in full', () => {
    const stored = {
      userToken: 'usr_odd',
      name: null,
      email: 'odd@example.com',
      plan: 3,
      fields: {
        company: 'Acme',
        seats: 5,
        trial: false,
        address: { city: 'Oslo' },
        closedAt: null,
        mrr: Number.NaN,
      },
    } as unknown as UserRecord
    const body = '{"userToken":"usr_odd"}'

    it('answers 200 without the values Talki cannot show, and tells onWarning once per key', async () => {
      const warnings: string[] = []
      const { answer } = route({
        store: { find: () => stored },
        onWarning: (message) => warnings.push(message),
      })
      for (let i = 0; i < 3; i++) {
        const outcome = await answer(signed(body))
        expect(outcome.status).toBe(200)
        expect(JSON.stringify(outcome.body)).toBe(
          '{"email":"odd@example.com","fields":{"company":"Acme","seats":5,"trial":false}}',
        )
      }
      expect(warnings).toStrictEqual([
        "Talki route: the store's user has a name Talki cannot show (null); it is left out of the answer",
        "Talki route: the store's user has a plan Talki cannot show (3); it is left out of the answer",
        "Talki route: the store's user has a fields.address Talki cannot show (an object); it is left out of the answer",
        "Talki route: the store's user has a fields.closedAt Talki cannot show (null); it is left out of the answer",
        "Talki route: the store's user has a fields.mrr Talki cannot show (NaN); it is left out of the answer",
      ])
    })

    it('drops fields that are not an object, and keeps an own __proto__ field as a field', async () => {
      const warnings: string[] = []
      const { answer } = route({
        store: {
          find: (token) =>
            token === 'usr_list'
              ? ({ userToken: token, name: 'L', fields: ['a'] } as unknown as UserRecord)
              : { userToken: token, fields: JSON.parse('{"__proto__":"x","ok":1}') },
        },
        onWarning: (message) => warnings.push(message),
      })
      expect((await answer(signed('{"userToken":"usr_list"}'))).body).toStrictEqual({ name: 'L' })
      const outcome = await answer(signed('{"userToken":"usr_proto"}'))
      expect(JSON.stringify(outcome.body)).toBe('{"fields":{"__proto__":"x","ok":1}}')
      expect(warnings).toStrictEqual([
        "Talki route: the store's user has a fields Talki cannot show (an array); it is left out of the answer",
      ])
    })
  })
})
