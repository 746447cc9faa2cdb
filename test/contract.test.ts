import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { buildOpenApiDocument } from '../src/mock/admin/openapi.js'
import { type Answer, ContractChecker } from './contract.js'

// The contract check has teeth: each kind of drift from the document is caught, and no test builds an
// admin app without putting the check in front of it.

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

describe('the admin tests', () => {
  it('serve every admin app they build through checkedApp', async () => {
    const root = fileURLToPath(new URL('.', import.meta.url))
    const files = (await readdir(root, { recursive: true })).filter((file) => file.endsWith('.ts'))
    const building: string[] = []
    for (const file of files) {
      const text = await readFile(join(root, file), 'utf8')
      if (!/createAdminApp\(/.test(text) || file === 'contract.test.ts') continue
      building.push(file)
      expect(text, file).toMatch(/checkedApp\(/)
    }
    expect(building.length).toBeGreaterThanOrEqual(3)
  })
})
