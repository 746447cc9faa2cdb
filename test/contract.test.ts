import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { buildOpenApiDocument } from '../src/mock/admin/openapi.js'
import { type Answer, ContractChecker, checkedApp } from './contract.js'

// The contract check has teeth: each kind of drift from the document is caught, and a checked app reports
// it (test/contract-hooks.ts, a setup file, asks every checked app after each test; biome.json keeps test/
// from building an admin app any other way).

const checker = new ContractChecker(
  JSON.parse(
    JSON.stringify(buildOpenApiDocument({ endpointPath: '/talki/customer', tokenField: 'userToken' })),
  ),
)
const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' }
const answer = (
  method: string,
  url: string,
  status: number,
  body: unknown,
  headers: Answer['headers'] = JSON_TYPE,
) => ({
  method,
  url,
  status,
  headers,
  body: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
})
const STATE = { override: null, remaining: null, startup: null, downUntil: null }

describe('ContractChecker', () => {
  it('passes answers as documented', () => {
    expect(checker.check(answer('GET', '/api/simulation', 200, STATE))).toBeUndefined()
    expect(checker.check(answer('GET', '/api/users/x', 404, { error: 'user_not_found' }))).toBeUndefined()
    expect(checker.check(answer('DELETE', '/api/requests', 204, undefined, {}))).toBeUndefined()
    expect(
      checker.check(
        answer('POST', '/healthz', 405, { error: 'method_not_allowed' }, { ...JSON_TYPE, allow: 'GET' }),
      ),
    ).toBeUndefined()
    expect(
      checker.check(answer('GET', '/index.html', 200, 'page', { 'content-type': 'text/html' })),
    ).toBeUndefined()
  })

  const drifts: [name: string, answer: Answer, complaint: RegExp][] = [
    [
      'a status the operation does not list',
      answer('GET', '/api/simulation', 400, { error: 'invalid_request' }),
      /status not documented/,
    ],
    [
      'a missing key',
      answer('GET', '/api/simulation', 200, { override: null, remaining: null, startup: null }),
      /downUntil/,
    ],
    [
      'a spec without its defaults',
      answer('GET', '/api/simulation', 200, { ...STATE, override: { scenario: 'slow' } }),
      /delayMs/,
    ],
    [
      'a code the status does not list',
      answer('GET', '/api/users/x', 404, { error: 'not_found' }),
      /allowed values/,
    ],
    [
      'a refusal with another shape',
      answer('GET', '/api/users/x', 404, { error: 'user_not_found', detail: 'x' }),
      /additional/,
    ],
    [
      'a wrong content type',
      answer('GET', '/api/users', 200, {}, { 'content-type': 'text/plain' }),
      /content type/,
    ],
    ['a body on a 204', answer('DELETE', '/api/requests', 204, { ok: true }, {}), /without a body/],
    [
      'a 404 for a method the path lacks',
      answer('POST', '/healthz', 404, { error: 'not_found' }),
      /must answer 405/,
    ],
    [
      'a 405 with the wrong Allow',
      answer('POST', '/healthz', 405, { error: 'method_not_allowed' }, { ...JSON_TYPE, allow: 'GET, POST' }),
      /Allow/,
    ],
    ['an unknown /api path answered 200', answer('GET', '/api/nope', 200, {}), /401 or 404/],
  ]
  for (const [name, drift, complaint] of drifts) {
    it(`catches ${name}`, () => {
      expect(checker.check(drift)).toMatch(complaint)
    })
  }
})

describe('checkedApp', () => {
  it('reports an answer off the document it serves (what the after-each check in test/contract.ts asserts)', async () => {
    const document = buildOpenApiDocument({ endpointPath: '/talki/customer', tokenField: 'userToken' })
    const app = checkedApp((req, res) => {
      res.setHeader('content-type', 'application/json; charset=utf-8')
      // The document itself, then a /api/simulation answer missing three of its keys.
      res.end(JSON.stringify(req.url === '/api/openapi.json' ? document : { override: null }))
    })
    expect((await request(app).get('/api/simulation')).status).toBe(200)
    expect(await app.takeViolations()).toEqual([expect.stringMatching(/GET \/api\/simulation → 200: body/)])
    // Taken once: the after-each check of this test sees none left.
    expect(await app.takeViolations()).toEqual([])
  })

  it('fails every check when the document cannot be fetched', async () => {
    const app = checkedApp((_req, res) => {
      res.statusCode = 404
      res.end()
    })
    await request(app).get('/api/simulation')
    await expect(app.takeViolations()).rejects.toThrow(/GET \/api\/openapi.json answered 404/)
    app.forget()
  })
})
