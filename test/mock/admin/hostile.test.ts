import { readdir, readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createSimulationState,
  type SimulationState,
  setOverride,
} from '../../../src/mock/simulation/choose.js'
import { fillDefaults } from '../../../src/mock/simulation/scenarios.js'
import { localControl } from '../../../src/mock/state/control.js'
import { RequestLog } from '../../../src/mock/state/request-log.js'
import type { UserRecord } from '../../../src/mock/users/record.js'
import { openJsonStore } from '../../../src/mock/users/store.js'
import { type CheckedApp, checkedAdminApp } from '../../contract.js'
import { ALICE, capturedLogger, localReadiness, tempDataDir } from '../../support.js'
import { sendRaw } from './harness.js'

// Hostile requests to the admin API, one app for the whole table: after every row the store file, the
// simulation, the request log and the folder are exactly as before, nothing answered 5xx, and the app
// still serves a legitimate call. Sent with node:http so paths and headers go on the wire as written.

const ADMIN_TOKEN = 'admin-token-Hostile-0123'
const AUTH = `Bearer ${ADMIN_TOKEN}`

const BOB: UserRecord = { userToken: 'usr_bob', name: 'Bob Stone', plan: 'starter' }

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

interface Row {
  name: string
  method: string
  path: string
  /** Defaults to the right bearer token; `null` sends none. Arrays send the header once per item. */
  authorization?: string | string[] | null
  headers?: Record<string, string>
  body?: string | Buffer
  status: number
  /** The exact JSON answer; `invalid_request` rows only check that issues are there. */
  error: string
}

const json = { 'Content-Type': 'application/json' }
const big = (bytes: number) => JSON.stringify({ sequence: Array.from({ length: bytes / 5 }, () => 'ok') })

const rows: Row[] = [
  // Body: not JSON, or JSON of the wrong shape.
  {
    name: 'truncated JSON',
    method: 'PUT',
    path: '/api/simulation',
    headers: json,
    body: '{"scenario":',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'single-quoted JSON',
    method: 'PUT',
    path: '/api/users/usr_bob',
    headers: json,
    body: "{'name':'x'}",
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'invalid UTF-8 in a JSON string',
    method: 'PUT',
    path: '/api/users/usr_bob',
    headers: json,
    body: Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'an empty JSON body',
    method: 'PUT',
    path: '/api/simulation',
    headers: json,
    body: '',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'a body declared as text',
    method: 'PUT',
    path: '/api/simulation',
    headers: { 'Content-Type': 'text/plain' },
    body: '{"scenario":"slow"}',
    status: 415,
    error: 'unsupported_media_type',
  },
  {
    name: 'an unknown charset',
    method: 'PUT',
    path: '/api/simulation',
    headers: { 'Content-Type': 'application/json; charset=latin1' },
    body: '{"scenario":"slow"}',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'an unknown Content-Encoding',
    method: 'PUT',
    path: '/api/simulation',
    headers: { ...json, 'Content-Encoding': 'compress' },
    body: '{"scenario":"slow"}',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'a body over the 1 MB limit',
    method: 'PUT',
    path: '/api/simulation',
    headers: json,
    body: big(1_100_000),
    status: 413,
    error: 'payload_too_large',
  },
  // Simulation: wrong types, unknown scenarios, parameters out of range.
  {
    name: 'a scenario as a number',
    method: 'PUT',
    path: '/api/simulation',
    headers: json,
    body: '{"scenario":5}',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'an error status as a string',
    method: 'PUT',
    path: '/api/simulation',
    headers: json,
    body: '{"scenario":"error","status":"503"}',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'an unknown scenario',
    method: 'PUT',
    path: '/api/simulation',
    headers: json,
    body: '{"scenario":"explode"}',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'an unknown scenario in a sequence',
    method: 'PUT',
    path: '/api/simulation',
    headers: json,
    body: '{"sequence":["ok","explode"]}',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'down with a count',
    method: 'PUT',
    path: '/api/simulation',
    headers: json,
    body: '{"scenario":"down","count":2}',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'probability 2',
    method: 'PUT',
    path: '/api/simulation',
    headers: json,
    body: '{"scenario":"slow","probability":2}',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'a delay of 1e308 ms',
    method: 'PUT',
    path: '/api/simulation',
    headers: json,
    body: '{"scenario":"slow","delayMs":1e308}',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: '__proto__ as a body key of the simulation',
    method: 'PUT',
    path: '/api/simulation',
    headers: json,
    body: '{"scenario":"slow","__proto__":{"count":1}}',
    status: 400,
    error: 'invalid_request',
  },
  // Users: wrong types, prototype keys, tokens that look like paths or are too long.
  {
    name: 'a name as an array',
    method: 'PUT',
    path: '/api/users/usr_bob',
    headers: json,
    body: '{"name":["Bob"]}',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'fields as an array',
    method: 'PUT',
    path: '/api/users/usr_bob',
    headers: json,
    body: '{"fields":[1,2]}',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: '__proto__ as a body key of a user',
    method: 'PUT',
    path: '/api/users/usr_bob',
    headers: json,
    body: '{"__proto__":{"name":"x"}}',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'constructor.prototype as a body key',
    method: 'PUT',
    path: '/api/users/usr_bob',
    headers: json,
    body: '{"constructor":{"prototype":{"polluted":true}}}',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'fields.__proto__ beside a nested field',
    method: 'PUT',
    path: '/api/users/usr_bob',
    headers: json,
    body: '{"fields":{"__proto__":{"polluted":true},"address":{"city":"Paris"}}}',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'a body token that differs from the path',
    method: 'PUT',
    path: '/api/users/usr_bob',
    headers: json,
    body: '{"userToken":"usr_abc123"}',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'GET __proto__ as a token',
    method: 'GET',
    path: '/api/users/__proto__',
    status: 404,
    error: 'user_not_found',
  },
  {
    name: 'DELETE __proto__ as a token',
    method: 'DELETE',
    path: '/api/users/__proto__',
    status: 404,
    error: 'user_not_found',
  },
  {
    name: 'DELETE constructor as a token',
    method: 'DELETE',
    path: '/api/users/constructor',
    status: 404,
    error: 'user_not_found',
  },
  {
    name: 'GET an encoded traversal token',
    method: 'GET',
    path: '/api/users/..%2F..%2Fetc%2Fpasswd',
    status: 404,
    error: 'user_not_found',
  },
  {
    name: 'DELETE an encoded traversal token',
    method: 'DELETE',
    path: '/api/users/..%2F..%2Fetc%2Fpasswd',
    status: 404,
    error: 'user_not_found',
  },
  { name: 'GET a NUL token', method: 'GET', path: '/api/users/%00', status: 404, error: 'user_not_found' },
  {
    name: 'GET a raw traversal path',
    method: 'GET',
    path: '/api/users/../../etc/passwd',
    status: 404,
    error: 'not_found',
  },
  {
    name: 'GET an encoded traversal outside /api',
    method: 'GET',
    path: '/..%2F..%2F..%2Fetc%2Fpasswd',
    status: 404,
    error: 'not_found',
  },
  {
    name: 'GET a dot-dot traversal outside /api',
    method: 'GET',
    path: '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    status: 404,
    error: 'not_found',
  },
  { name: 'GET the store file by name', method: 'GET', path: '/db.json', status: 404, error: 'not_found' },
  {
    name: 'GET a 300-character token',
    method: 'GET',
    path: `/api/users/${'t'.repeat(300)}`,
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'PUT a 300-character token',
    method: 'PUT',
    path: `/api/users/${'t'.repeat(300)}`,
    headers: json,
    body: '{"name":"Long"}',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'a broken percent-encoding in a token',
    method: 'DELETE',
    path: '/api/users/%E0%A4%A',
    status: 400,
    error: 'invalid_request',
  },
  // Queries.
  {
    name: 'a list limit above 1000',
    method: 'GET',
    path: '/api/users?limit=5000',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'a negative offset',
    method: 'GET',
    path: '/api/users?offset=-1',
    status: 400,
    error: 'invalid_request',
  },
  { name: 'q given twice', method: 'GET', path: '/api/users?q=a&q=b', status: 400, error: 'invalid_request' },
  {
    name: 'a request-log limit of 0',
    method: 'GET',
    path: '/api/requests?limit=0',
    status: 400,
    error: 'invalid_request',
  },
  // Authentication.
  {
    name: 'no bearer (PUT simulation)',
    method: 'PUT',
    path: '/api/simulation',
    authorization: null,
    headers: json,
    body: '{"scenario":"slow"}',
    status: 401,
    error: 'unauthorized',
  },
  {
    name: 'no bearer (DELETE a user)',
    method: 'DELETE',
    path: '/api/users/usr_bob',
    authorization: null,
    status: 401,
    error: 'unauthorized',
  },
  {
    name: 'a wrong bearer (POST reset)',
    method: 'POST',
    path: '/api/reset',
    authorization: 'Bearer wrong-token-00000000',
    status: 401,
    error: 'unauthorized',
  },
  {
    name: 'the token in another case',
    method: 'DELETE',
    path: '/api/simulation',
    authorization: `Bearer ${ADMIN_TOKEN.toUpperCase()}`,
    status: 401,
    error: 'unauthorized',
  },
  {
    name: 'the token with one character more',
    method: 'DELETE',
    path: '/api/requests',
    authorization: `${AUTH}x`,
    status: 401,
    error: 'unauthorized',
  },
  {
    name: 'the token as a prefix only',
    method: 'DELETE',
    path: '/api/requests',
    authorization: AUTH.slice(0, -1),
    status: 401,
    error: 'unauthorized',
  },
  {
    name: 'the token without a scheme',
    method: 'GET',
    path: '/api/users',
    authorization: ADMIN_TOKEN,
    status: 401,
    error: 'unauthorized',
  },
  {
    name: 'the token as Basic credentials',
    method: 'GET',
    path: '/api/users',
    authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`,
    status: 401,
    error: 'unauthorized',
  },
  {
    name: 'a wrong bearer, then the right one',
    method: 'POST',
    path: '/api/reset',
    authorization: ['Bearer wrong-token-00000000', AUTH],
    status: 401,
    error: 'unauthorized',
  },
  {
    name: 'the token in the query of a user route',
    method: 'DELETE',
    path: `/api/users/usr_bob?token=${ADMIN_TOKEN}`,
    authorization: null,
    status: 401,
    error: 'unauthorized',
  },
  {
    name: 'the token in the query of the simulation',
    method: 'GET',
    path: `/api/simulation?token=${ADMIN_TOKEN}`,
    authorization: null,
    status: 401,
    error: 'unauthorized',
  },
  {
    name: 'the token in the query of a non-GET on the stream path',
    method: 'POST',
    path: `/api/requests/stream?token=${ADMIN_TOKEN}`,
    authorization: null,
    status: 405,
    error: 'method_not_allowed',
  },
  {
    name: 'the token in the query, given twice, of the stream',
    method: 'GET',
    path: `/api/requests/stream?token=${ADMIN_TOKEN}&token=${ADMIN_TOKEN}`,
    authorization: null,
    status: 401,
    error: 'unauthorized',
  },
  // Methods no route takes.
  {
    name: 'PATCH the simulation',
    method: 'PATCH',
    path: '/api/simulation',
    headers: json,
    body: '{"scenario":"slow"}',
    status: 405,
    error: 'method_not_allowed',
  },
  {
    name: 'POST a user',
    method: 'POST',
    path: '/api/users/usr_bob',
    headers: json,
    body: '{"name":"x"}',
    status: 405,
    error: 'method_not_allowed',
  },
  {
    name: 'DELETE all users',
    method: 'DELETE',
    path: '/api/users',
    status: 405,
    error: 'method_not_allowed',
  },
  {
    name: 'PUT the request log',
    method: 'PUT',
    path: '/api/requests',
    headers: json,
    body: '{"requests":[]}',
    status: 405,
    error: 'method_not_allowed',
  },
  { name: 'GET reset', method: 'GET', path: '/api/reset', status: 405, error: 'method_not_allowed' },
  { name: 'DELETE healthz', method: 'DELETE', path: '/healthz', status: 405, error: 'method_not_allowed' },
]

function send(
  port: number,
  row: Pick<Row, 'method' | 'path' | 'authorization' | 'headers' | 'body'>,
): Promise<Answer> {
  const headers: Record<string, string | string[]> = { ...row.headers }
  const authorization = row.authorization === undefined ? AUTH : row.authorization
  if (authorization !== null) headers.Authorization = authorization
  return sendRaw(port, {
    method: row.method,
    path: row.path,
    headers,
    ...(row.body === undefined ? {} : { body: row.body }),
  })
}

let app: CheckedApp
let server: Server
let port = 0
let data: Awaited<ReturnType<typeof tempDataDir>>
let simulation: SimulationState
let requestLog: RequestLog
let logLines: string[]
const before = { bytes: Buffer.alloc(0), files: [] as string[], simulation: '', state: '', log: '' }

function stateOf(state: SimulationState): string {
  return JSON.stringify({
    override: state.override,
    generation: state.generation,
    cursors: [...state.cursors],
  })
}

beforeAll(async () => {
  data = await tempDataDir([structuredClone(ALICE), structuredClone(BOB)])
  const store = await openJsonStore({ file: data.dataFile, seedFile: data.seedFile })
  simulation = createSimulationState(null)
  setOverride(simulation, { simulation: fillDefaults({ scenario: 'error', status: 503 }), count: 3 })
  requestLog = new RequestLog()
  requestLog.record({
    method: 'POST',
    path: '/talki/customer',
    headerNames: ['content-type', 'x-talki-signature'],
    bodyBytes: 25,
    token: 'usr_abc123',
    verdict: 'valid',
    findings: null,
    scenario: null,
    status: 200,
    latencyMs: 1,
    callerGaveUpMs: null,
    startedAt: 0,
    endedAt: 1,
    arrivedAt: Date.now(),
  })
  const captured = capturedLogger()
  logLines = captured.lines
  const downtime = {
    isDown: false,
    until: null,
    start: () => {
      throw new Error('a hostile request started downtime')
    },
    end: async () => {},
  }
  app = checkedAdminApp({
    adminToken: ADMIN_TOKEN,
    store,
    control: localControl(simulation, downtime, requestLog),
    readiness: localReadiness(store),
    requestLog,
    logger: captured.logger,
    endpointPath: '/talki/customer',
    tokenField: 'userToken',
    seedFile: data.seedFile,
  })
  server = await new Promise<Server>((resolve) => {
    const s = createServer(app).listen(0, '127.0.0.1', () => resolve(s))
  })
  port = (server.address() as AddressInfo).port
  before.bytes = await readFile(data.dataFile)
  before.files = (await readdir(data.dir)).sort()
  before.simulation = (await send(port, { method: 'GET', path: '/api/simulation' })).body
  before.state = stateOf(simulation)
  before.log = JSON.stringify(requestLog.list())
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await data.cleanup()
  // Every answer of the table, checked against the document the app serves.
  expect(await app.violations()).toEqual([])
})

describe('the admin API under hostile requests', () => {
  it('has a table of at least 25 rows', () => {
    expect(rows.length).toBeGreaterThanOrEqual(25)
    expect(new Set(rows.map((row) => row.name)).size).toBe(rows.length)
  })

  it.each(rows)('$method $name → $status $error, nothing changed, still serving', async (row) => {
    const answer = await send(port, row)
    expect(answer.status).toBe(row.status)
    expect(answer.status).toBeLessThan(500)
    expect(answer.headers['content-type']).toMatch(/^application\/json/)
    const body = JSON.parse(answer.body) as { error?: unknown; issues?: unknown }
    if (row.error === 'invalid_request') {
      expect(Object.keys(body).sort()).toEqual(['error', 'issues'])
      expect(body.error).toBe('invalid_request')
      expect(Array.isArray(body.issues) && body.issues.length > 0).toBe(true)
    } else {
      expect(body.error).toBe(row.error)
      expect(Object.keys(body).every((key) => key === 'error' || key === 'issues')).toBe(true)
    }
    expect(answer.body).not.toMatch(/\bat .*\.(js|ts):\d+/)
    expect(answer.body).not.toContain('root:') // /etc/passwd never served

    expect(await readFile(data.dataFile)).toEqual(before.bytes)
    expect((await readdir(data.dir)).sort()).toEqual(before.files)
    expect(stateOf(simulation)).toBe(before.state)
    expect(JSON.stringify(requestLog.list())).toBe(before.log)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()

    const after = await send(port, { method: 'GET', path: '/api/simulation' })
    expect(after.status).toBe(200)
    expect(after.body).toBe(before.simulation)
    const users = await send(port, { method: 'GET', path: '/api/users/usr_bob' })
    expect(JSON.parse(users.body)).toEqual(BOB)
  })

  it('refuses a lone fields.__proto__ key with 400 naming it, never drops it', async () => {
    const path = '/api/users/usr_proto_fields'
    const put = await send(port, {
      method: 'PUT',
      path,
      headers: json,
      body: '{"fields":{"__proto__":{"polluted":true},"seats":5}}',
    })
    expect(put.status).toBe(400)
    expect(JSON.parse(put.body)).toEqual({
      error: 'invalid_request',
      issues: [
        { message: 'the key "__proto__" is not accepted anywhere in a body', path: ['fields', '__proto__'] },
      ],
    })
    expect((await send(port, { method: 'GET', path })).status).toBe(404)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(await readFile(data.dataFile)).toEqual(before.bytes)
  })

  it('logged no stack trace and no 5xx, and never the admin token', () => {
    const text = logLines.join('\n')
    expect(text).not.toContain(ADMIN_TOKEN)
    expect(text).not.toContain(ADMIN_TOKEN.toUpperCase())
    expect(logLines.filter((line) => /"level":50/.test(line))).toEqual([])
  })
})
