import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMapStore } from '../../src/template/map-store.js'
import { createNodeHttpListener } from '../../src/template/node-http.js'
import { ANSWER_HEADERS, type UserRecord } from '../../src/template/protocol.js'
import { sign } from '../../src/template/signature.js'
import { listen, type Running } from '../cli/fixtures/listen.js'
import { checkRowCount } from '../cli/fixtures/row-count.js'
import { ROOT } from '../process.js'
import { SECOND_SECRET, TEST_SECRET } from '../support.js'
import { exchange, type WireAnswer, type WireRequest } from './exchange.js'
import {
  buildGoEndpoint,
  hasGo,
  hasPython,
  PYTHON,
  type ReferenceProcess,
  run,
  startReference,
} from './toolchains.js'

// Each reference endpoint of reference/ started as an integrator starts it (PORT=0, TALKI_SECRET with
// two secrets), then judged twice: by `talki-endpoint check` run as a command, and request by request
// against the TypeScript route (src/template/node-http.ts on the same users): same status, same JSON,
// same headers.

const HAS_PYTHON = hasPython('the Flask and FastAPI reference endpoints')
const HAS_GO = hasGo('the Go reference endpoint')
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx')
const PATH = '/talki/customer'
const BODY_LIMIT = 16 * 1024

const SEED = (JSON.parse(readFileSync(join(ROOT, 'data', 'seed.json'), 'utf8')) as { users: UserRecord[] })
  .users
const seedUser = (token: string) => {
  const user = SEED.find((record) => record.userToken === token)
  if (!user) throw new Error(`no ${token} in data/seed.json`)
  const { simulate: _simulate, ...record } = user as UserRecord & { simulate?: unknown }
  return record
}
// The references serve these two as data/seed.json has them (and a usr_unicode of their own).
const USERS = [seedUser('usr_abc123'), seedUser('usr_minimal')]

const vendorBody = '{"userToken":"usr_abc123"}'
const post = (body: string | Buffer, headers: WireRequest['headers'] = {}): WireRequest => ({
  method: 'POST',
  path: PATH,
  headers: { 'Content-Type': 'application/json', 'X-Talki-Signature': sign(TEST_SECRET, body), ...headers },
  body,
})
const signedToken = (token: string) => post(JSON.stringify({ userToken: token }))

const CASES: Record<string, WireRequest> = {
  'the vendor example': post(vendorBody),
  'a query string on the path': { ...post(vendorBody), path: `${PATH}?userToken=other` },
  'the second secret (rotation)': post(vendorBody, { 'X-Talki-Signature': sign(SECOND_SECRET, vendorBody) }),
  'an uppercase signature': post(vendorBody, {
    'X-Talki-Signature': sign(TEST_SECRET, vendorBody).toUpperCase(),
  }),
  'Content-Type text/plain': post(vendorBody, { 'Content-Type': 'text/plain' }),
  'a user with nothing to show': signedToken('usr_minimal'),
  'odd whitespace and extra keys': post('{\n  "source" : 1,\t"userToken":"usr_abc123" }\n'),
  'duplicate keys, the last wins': post('{"userToken":"usr_nobody","userToken":"usr_abc123"}'),
  'a leading BOM': post(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(vendorBody)])),
  'a 256-character token': signedToken('a'.repeat(256)),
  'no signature': { ...post(vendorBody), headers: { 'Content-Type': 'application/json' } },
  'an empty signature': post(vendorBody, { 'X-Talki-Signature': '' }),
  'a short signature': post(vendorBody, { 'X-Talki-Signature': 'ab'.repeat(16) }),
  'a non-hex signature': post(vendorBody, { 'X-Talki-Signature': 'z'.repeat(64) }),
  'a non-ASCII signature': post(vendorBody, { 'X-Talki-Signature': '\u00e9'.repeat(64) }),
  'a sha256= prefix': post(vendorBody, { 'X-Talki-Signature': `sha256=${sign(TEST_SECRET, vendorBody)}` }),
  'the signature sent twice': post(vendorBody, {
    'X-Talki-Signature': [sign(TEST_SECRET, vendorBody), sign(TEST_SECRET, vendorBody)],
  }),
  'another body signature': post(vendorBody, { 'X-Talki-Signature': sign(TEST_SECRET, `${vendorBody} `) }),
  'a wrong secret': post(vendorBody, { 'X-Talki-Signature': sign('not-the-secret', vendorBody) }),
  'a body that is not JSON': post('this is not JSON'),
  'an empty body': post(''),
  'invalid UTF-8': post(Buffer.from('{"userToken":"\xff"}', 'latin1')),
  'NaN in the body': post('{"userToken":"usr_abc123","n":NaN}'),
  'JSON nested 500 deep': post(`${'['.repeat(500)}${']'.repeat(500)}`),
  'a chunked body': post(vendorBody, { 'Transfer-Encoding': 'chunked' }),
  'an array': post('["usr_abc123"]'),
  null: post('null'),
  'a number token': post('{"userToken":5}'),
  'an empty token': signedToken(''),
  'a 257-character token': signedToken('a'.repeat(257)),
  'an unknown user': signedToken('usr_nobody'),
  ...Object.fromEntries(
    ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'get', '__class__', 'keys'].map((token) => [
      `the token ${token}`,
      signedToken(token),
    ]),
  ),
  'Content-Encoding gzip': post(vendorBody, { 'Content-Encoding': 'gzip' }),
  'Content-Encoding identity': post(vendorBody, { 'Content-Encoding': ' Identity ' }),
  'an empty Content-Encoding': post(vendorBody, { 'Content-Encoding': '' }),
  'a body of exactly the limit': post(vendorBody.padEnd(BODY_LIMIT, ' ')),
  'a body one byte over the limit': post(vendorBody.padEnd(BODY_LIMIT + 1, ' ')),
  'a declared 50 MB body that never comes': {
    ...post(''),
    headers: { 'X-Talki-Signature': sign(TEST_SECRET, ''), 'Content-Length': 50 * 1024 * 1024 },
    unfinished: true,
  },
  ...Object.fromEntries(
    ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'].map((method) => [
      `${method} with the token in the query and the body, unsigned`,
      {
        method,
        path: `${PATH}?userToken=usr_abc123`,
        headers: { 'Content-Type': 'application/json' },
        body: method === 'GET' || method === 'HEAD' ? '' : vendorBody,
      },
    ]),
  ),
  'a POST to another path': { ...post(vendorBody), path: `${PATH}s` },
  'a POST with a trailing slash': { ...post(vendorBody), path: `${PATH}/` },
  'a POST to /': { ...post(vendorBody), path: '/' },
}

/** What must be equal: the status, the JSON (or empty) body, and the headers an answer carries. */
function comparable(answer: WireAnswer) {
  const headers: Record<string, string | undefined> = {}
  for (const name of [...Object.keys(ANSWER_HEADERS), 'Allow', 'Retry-After']) {
    headers[name] = answer.headers[name.toLowerCase()] as string | undefined
  }
  if (answer.status === 413) headers.Connection = answer.headers.connection
  return { status: answer.status, body: parsed(answer.body), headers }
}

function parsed(text: string): unknown {
  try {
    return text === '' ? '' : JSON.parse(text)
  } catch {
    return text
  }
}

/** `talki-endpoint check` as an integrator runs it, with the first secret of TALKI_SECRET. */
async function checkCommand(url: URL) {
  const env = { ...process.env, TALKI_SECRET: TEST_SECRET, NO_COLOR: '1' }
  const args = [join(ROOT, 'src/cli/main.ts'), 'check', '--url', url.href, '--token', 'usr_abc123', '--json']
  const result = await run(TSX, args, { env, timeoutMs: 90_000 })
  return { code: result.code, report: JSON.parse(result.stdout) as CheckJson, stderr: result.stderr }
}

interface CheckJson {
  ok: boolean
  failed: number
  warnings: number
  ms: number
  rows: { name: string; pass: boolean; reason: string }[]
}

const STACKS = [
  {
    name: 'Flask',
    available: HAS_PYTHON,
    start: () =>
      startReference(PYTHON, ['reference/python/flask_endpoint.py'], {
        TALKI_SECRET: `${TEST_SECRET},${SECOND_SECRET}`,
      }),
    refuse: () =>
      run(PYTHON, ['reference/python/flask_endpoint.py'], { env: { PATH: process.env.PATH ?? '' } }),
  },
  {
    name: 'FastAPI',
    available: HAS_PYTHON,
    start: () =>
      startReference(PYTHON, ['reference/python/fastapi_endpoint.py'], {
        TALKI_SECRET: `${TEST_SECRET},${SECOND_SECRET}`,
      }),
    refuse: () =>
      run(PYTHON, ['reference/python/fastapi_endpoint.py'], {
        env: { PATH: process.env.PATH ?? '', TALKI_SECRET: '' },
      }),
  },
  {
    name: 'Go net/http',
    available: HAS_GO,
    start: async () =>
      startReference(await goBinary(), [], { TALKI_SECRET: `${TEST_SECRET},${SECOND_SECRET}` }),
    refuse: async () => run(await goBinary(), [], { env: { PATH: process.env.PATH ?? '' } }),
  },
]

let built: Promise<string> | undefined
const goBinary = () => {
  built ??= buildGoEndpoint()
  return built
}

let typescript: Running
beforeAll(async () => {
  typescript = await listen(
    createNodeHttpListener({
      secrets: [TEST_SECRET, SECOND_SECRET],
      store: createMapStore(USERS),
      onError: () => {},
    }),
  )
})
afterAll(() => typescript.close())

for (const stack of STACKS) {
  describe.runIf(stack.available)(`the ${stack.name} reference endpoint`, () => {
    let endpoint: ReferenceProcess
    beforeAll(async () => {
      endpoint = await stack.start()
    }, 300_000)
    afterAll(() => endpoint.stop())

    it('passes every row of talki-endpoint check (exit 0, no warning)', async () => {
      const { code, report, stderr } = await checkCommand(endpoint.url)
      expect(report.rows.filter((row) => !row.pass)).toStrictEqual([])
      expect({ code, ok: report.ok, failed: report.failed, warnings: report.warnings }).toStrictEqual({
        code: 0,
        ok: true,
        failed: 0,
        warnings: 0,
      })
      expect(report.rows).toHaveLength(checkRowCount(endpoint.url))
      expect(stderr).not.toMatch(/\n\s+at /)
      console.info(`${stack.name}: talki-endpoint check passed ${report.rows.length} rows in ${report.ms} ms`)
    }, 120_000)

    it('answers every request exactly as the TypeScript route does: status, JSON and headers', async () => {
      const differences: unknown[] = []
      for (const [name, wire] of Object.entries(CASES)) {
        const [expected, got] = await Promise.all([
          exchange(typescript.url, wire),
          exchange(endpoint.url, wire),
        ])
        const want = comparable(expected)
        const have = comparable(got)
        try {
          expect(have).toStrictEqual(want)
        } catch {
          differences.push({ case: name, typescript: want, [stack.name]: have })
        }
      }
      expect(differences).toStrictEqual([])
    }, 60_000)

    it("answers a burst of 80 interleaved requests, 20 in flight, each with its own token's answer", async () => {
      const tokens = ['usr_abc123', 'usr_nobody', 'usr_unicode', '__proto__', 'usr_minimal', 'constructor']
      const alone = new Map<string, unknown>()
      for (const token of tokens)
        alone.set(token, comparable(await exchange(endpoint.url, signedToken(token))))
      const burst = Array.from({ length: 80 }, (_, i) => tokens[i % tokens.length] as string)
      const answers: { token: string; answer: unknown }[] = []
      const worker = async () => {
        for (let token = burst.shift(); token !== undefined; token = burst.shift()) {
          answers.push({ token, answer: comparable(await exchange(endpoint.url, signedToken(token))) })
        }
      }
      await Promise.all(Array.from({ length: 20 }, worker))
      expect(answers).toHaveLength(80)
      for (const { token, answer } of answers)
        expect({ token, answer }).toStrictEqual({ token, answer: alone.get(token) })
      expect(new Set(answers.map(({ answer }) => (answer as { status: number }).status))).toStrictEqual(
        new Set([200, 404]),
      )
    }, 60_000)

    it('answers Alice exactly as data/seed.json has her', async () => {
      const { userToken: _token, ...profile } = seedUser('usr_abc123')
      const answer = await exchange(endpoint.url, post(vendorBody))
      expect(JSON.parse(answer.body)).toStrictEqual(profile)
    })

    it('refuses to start without TALKI_SECRET, with one line naming it and exit code 1', async () => {
      const result = await stack.refuse()
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/^TALKI_SECRET is not set[^\n]*\n$/)
      expect(result.stdout).toBe('')
    }, 120_000)
  })
}
