import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { SEED_FILE } from '../../../src/mock/runtime/config.js'
import { type Readiness, readinessOf, StoreUnavailable } from '../../../src/mock/runtime/readiness.js'
import type { SimulationControl } from '../../../src/mock/state/control.js'
import { openMemoryState } from '../../../src/mock/state/memory.js'
import { checkedAdminApp } from '../../contract.js'
import { capturedLogger, memoryStore } from '../../support.js'

// GET /readyz (readiness: every engine in use answers) beside /healthz (liveness), GET /api/engines, and a
// lost engine answering 503 store_unavailable through the admin API. The real Redis cases are in
// test/engines/replicas.test.ts; here the checks are plain functions.

const ENGINES = {
  users: 'json',
  state: 'redis',
  replica: 'r1',
  labels: { users: 'JSON file', state: 'Redis, shared by replicas' },
} as const
const ADMIN_TOKEN = 'readyz-admin-token'

// Every answer these tests receive is checked against the document the app serves.
function app(readiness: Readiness = NOTHING_TO_CHECK, control?: SimulationControl) {
  return rawApp(readiness, control)
}

function rawApp(readiness: Readiness, control?: SimulationControl) {
  const state = openMemoryState(null)
  return checkedAdminApp({
    seedFile: SEED_FILE,
    adminToken: ADMIN_TOKEN,
    store: memoryStore(),
    requestLog: state.requestLog,
    control: control ?? state.control,
    logger: capturedLogger().logger,
    endpointPath: '/talki/customer',
    tokenField: 'userToken',
    readiness,
  })
}

/** The embedded default's readiness: the JSON file and the process's memory, nothing to reach. */
const NOTHING_TO_CHECK = readinessOf(memoryStore(), openMemoryState(null), {
  replica: 'local',
  timeoutMs: 100,
})

const answering = async () => {}
const refusing = async () => {
  throw new Error('ECONNREFUSED')
}
const silent = () => new Promise<void>(() => {})

describe('GET /readyz', () => {
  it('is 200 {"ready":true} with no engine to check (the embedded default), without a token', async () => {
    const res = await request(app()).get('/readyz')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ ready: true })
    expect(res.headers['cache-control']).toBe('no-store')
  })

  it('is 200 when every engine answers', async () => {
    const res = await request(
      app({ engines: ENGINES, checks: { redis: answering, database: answering }, timeoutMs: 500 }),
    ).get('/readyz')
    expect(res.body).toEqual({ ready: true })
  })

  it('is 503 naming each engine that refuses or does not answer in time, while /healthz stays 200', async () => {
    const admin = app({ engines: ENGINES, checks: { redis: refusing, database: silent }, timeoutMs: 100 })
    const startedAt = performance.now()
    const res = await request(admin).get('/readyz')
    expect(performance.now() - startedAt).toBeLessThan(1000)
    expect(res.status).toBe(503)
    expect(res.body).toEqual({ ready: false, failing: ['redis', 'database'] })
    expect((await request(admin).get('/healthz')).body).toEqual({ ok: true })
  })
})

describe('GET /api/engines', () => {
  it('names the engines in use and the replica, behind the admin token', async () => {
    const admin = app({ engines: ENGINES, checks: {}, timeoutMs: 100 })
    expect((await request(admin).get('/api/engines')).status).toBe(401)
    const res = await request(admin).get('/api/engines').set('Authorization', `Bearer ${ADMIN_TOKEN}`)
    expect(res.body).toEqual(ENGINES)
  })
})

describe('a lost engine behind the admin API', () => {
  it('answers 503 store_unavailable with Retry-After, never 500', async () => {
    const lost = () => Promise.reject(new StoreUnavailable('redis'))
    const control: SimulationControl = { view: lost, set: lost, clear: lost, reset: lost }
    const admin = app(NOTHING_TO_CHECK, control)
    const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` }
    for (const res of [
      await request(admin).get('/api/simulation').set(auth),
      await request(admin).put('/api/simulation').set(auth).send({ scenario: 'not_found' }),
      await request(admin).delete('/api/simulation').set(auth),
      await request(admin).post('/api/reset').set(auth),
    ]) {
      expect(res.status).toBe(503)
      expect(res.body).toEqual({ error: 'store_unavailable' })
      expect(res.headers['retry-after']).toBe('3')
    }
  })
})
