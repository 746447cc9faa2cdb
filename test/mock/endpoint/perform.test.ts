import { afterEach, describe, expect, it } from 'vitest'
import { setOverride } from '../../../src/mock/simulation/choose.js'
import {
  fillDefaults,
  type SimulationSpec,
  type UserSimulationSpec,
} from '../../../src/mock/simulation/scenarios.js'
import type { UserRecord } from '../../../src/mock/users/record.js'
import {
  type InProcessEndpoint,
  post,
  postToken,
  serveEndpoint,
  sleep,
  until,
  type Wire,
} from '../../process.js'
import { ALICE, signedRequest } from '../../support.js'

// Every per-request scenario of the README QA guide, observed on the wire: a real server on 127.0.0.1, real sockets.

const PROFILE = { name: ALICE.name, email: ALICE.email, plan: ALICE.plan, fields: ALICE.fields }

function user(userToken: string, simulate?: UserSimulationSpec): UserRecord {
  const { userToken: _, ...profile } = structuredClone(ALICE)
  return simulate === undefined ? { userToken, ...profile } : { userToken, ...profile, simulate }
}

let endpoint: InProcessEndpoint | undefined
afterEach(async () => {
  await endpoint?.close()
  endpoint = undefined
})

async function serve(users: UserRecord[] = [structuredClone(ALICE)], random?: () => number) {
  endpoint = await serveEndpoint(random ? { users, random } : { users })
  return endpoint
}

function expectResponse(wire: Wire): Extract<Wire, { kind: 'response' }> {
  if (wire.kind !== 'response') throw new Error(`expected an answer, got ${JSON.stringify(wire)}`)
  return wire
}

function override(e: InProcessEndpoint, spec: SimulationSpec) {
  setOverride(e.simulation, { simulation: fillDefaults(spec) })
}

describe('ok', () => {
  it('answers 200 and the profile', async () => {
    const e = await serve([user('usr_abc123', 'ok')])
    const wire = expectResponse(await postToken(e.url, 'usr_abc123'))
    expect(wire.status).toBe(200)
    expect(JSON.parse(wire.body)).toEqual(PROFILE)
    expect(wire.headers['cache-control']).toBe('no-store')
  })
})

describe('slow', () => {
  it('answers after delayMs, and a fast request meanwhile is not held up', async () => {
    const e = await serve([structuredClone(ALICE), user('usr_slow', { scenario: 'slow', delayMs: 300 })])
    const slow = postToken(e.url, 'usr_slow')
    await sleep(20)
    const fast = expectResponse(await postToken(e.url, 'usr_abc123'))
    expect(fast.status).toBe(200)
    expect(fast.ms).toBeLessThan(150)
    const answered = expectResponse(await slow)
    expect(answered.status).toBe(200)
    expect(JSON.parse(answered.body)).toEqual(PROFILE)
    expect(answered.ms).toBeGreaterThanOrEqual(300)
    expect(answered.ms).toBeLessThan(1300)
  })

  it('never answers before delayMs has passed since the request arrived (Node timers can fire early)', async () => {
    const e = await serve([user('usr_slow', { scenario: 'slow', delayMs: 30 })])
    const wires = await Promise.all(Array.from({ length: 20 }, () => postToken(e.url, 'usr_slow')))
    expect(wires.map((wire) => expectResponse(wire).status)).toEqual(Array(20).fill(200))
    await until(() => e.requestLog.list().length === 20)
    const held = e.requestLog.list().map((entry) => entry.latencyMs)
    expect(Math.min(...held)).toBeGreaterThanOrEqual(30)
    expect(Math.max(...held)).toBeLessThan(1000)
  })

  it('applies jitter from the injected random: 0 gives delayMs − jitterMs', async () => {
    const e = await serve([user('usr_slow', { scenario: 'slow', delayMs: 300, jitterMs: 200 })], () => 0)
    const wire = expectResponse(await postToken(e.url, 'usr_slow'))
    expect(wire.status).toBe(200)
    expect(wire.ms).toBeGreaterThanOrEqual(100)
    // Without the jitter it could not arrive before 300 ms.
    expect(wire.ms).toBeLessThan(290)
  })

  it('applies jitter from the injected random: 0.75 gives delayMs + jitterMs / 2', async () => {
    const e = await serve([user('usr_slow', { scenario: 'slow', delayMs: 300, jitterMs: 200 })], () => 0.75)
    const wire = expectResponse(await postToken(e.url, 'usr_slow'))
    expect(wire.status).toBe(200)
    expect(wire.ms).toBeGreaterThanOrEqual(400)
    expect(wire.ms).toBeLessThan(1400)
  })

  it('logs callerGaveUpMs when the caller leaves before the answer', async () => {
    const e = await serve([user('usr_slow', { scenario: 'slow', delayMs: 2000 })])
    const wire = await postToken(e.url, 'usr_slow', { timeoutMs: 250 })
    expect(wire.kind).toBe('timeout')
    await until(() => e.requestLog.list().length === 1)
    const [entry] = e.requestLog.list()
    expect(entry).toMatchObject({ token: 'usr_slow', scenario: 'slow', status: null })
    expect(entry?.callerGaveUpMs).toBeGreaterThanOrEqual(200)
    expect(entry?.callerGaveUpMs).toBeLessThan(1000)
  })
})

describe('answers that break on purpose', () => {
  it('not_found: 404 user_not_found for a known user', async () => {
    const e = await serve([user('usr_abc123', 'not_found')])
    const wire = expectResponse(await postToken(e.url, 'usr_abc123'))
    expect(wire.status).toBe(404)
    expect(JSON.parse(wire.body)).toEqual({ error: 'user_not_found' })
  })

  it('unauthorized: 401 invalid_signature for a good signature', async () => {
    const e = await serve([user('usr_abc123', 'unauthorized')])
    const wire = expectResponse(await postToken(e.url, 'usr_abc123'))
    expect(wire.status).toBe(401)
    expect(JSON.parse(wire.body)).toEqual({ error: 'invalid_signature' })
  })

  it.each([500, 502, 503, 504] as const)('error %i: that status and simulated_error', async (status) => {
    const e = await serve([user('usr_abc123', { scenario: 'error', status })])
    const wire = expectResponse(await postToken(e.url, 'usr_abc123'))
    expect(wire.status).toBe(status)
    expect(JSON.parse(wire.body)).toEqual({ error: 'simulated_error' })
  })

  it('malformed: 200, application/json, a body JSON.parse rejects', async () => {
    const e = await serve([user('usr_abc123', 'malformed')])
    const wire = expectResponse(await postToken(e.url, 'usr_abc123'))
    expect(wire.status).toBe(200)
    expect(wire.headers['content-type']).toMatch(/^application\/json/)
    expect(wire.body.length).toBeGreaterThan(0)
    expect(JSON.stringify(PROFILE).startsWith(wire.body)).toBe(true)
    expect(() => JSON.parse(wire.body)).toThrow()
  })

  it('malformed as the global override truncates the 404 of an unknown user', async () => {
    const e = await serve()
    override(e, 'malformed')
    const wire = expectResponse(await postToken(e.url, 'usr_nobody'))
    expect(wire.status).toBe(404)
    expect(wire.headers['content-type']).toMatch(/^application\/json/)
    expect('{"error":"user_not_found"}'.startsWith(wire.body)).toBe(true)
    expect(() => JSON.parse(wire.body)).toThrow()
  })

  it('wrong_shape: 200 JSON with plan a number and a nested object in fields', async () => {
    const e = await serve([user('usr_abc123', 'wrong_shape')])
    const wire = expectResponse(await postToken(e.url, 'usr_abc123'))
    expect(wire.status).toBe(200)
    const body = JSON.parse(wire.body)
    expect(typeof body.plan).toBe('number')
    expect(Object.values(body.fields).some((value) => typeof value === 'object' && value !== null)).toBe(true)
  })

  it('wrong_shape as the global override answers a contract-breaking profile for an unknown user', async () => {
    const e = await serve()
    override(e, 'wrong_shape')
    const wire = expectResponse(await postToken(e.url, 'usr_nobody'))
    expect(wire.status).toBe(200)
    const body = JSON.parse(wire.body)
    expect(typeof body.plan).toBe('number')
    expect(Object.values(body.fields).some((value) => typeof value === 'object' && value !== null)).toBe(true)
  })
})

describe('no answer at all', () => {
  it('reset: the connection is destroyed, the caller sees ECONNRESET', async () => {
    const e = await serve([user('usr_abc123', 'reset')])
    const wire = await postToken(e.url, 'usr_abc123', { timeoutMs: 2000 })
    expect(wire.kind).toBe('error')
    if (wire.kind === 'error') {
      // 'read ECONNRESET' (the RST) or 'socket hang up'; both carry the code ECONNRESET.
      expect(wire.code).toBe('ECONNRESET')
      expect(wire.ms).toBeLessThan(500)
    }
    await until(() => e.requestLog.list().length === 1)
    expect(e.requestLog.list()[0]).toMatchObject({ scenario: 'reset', status: null, callerGaveUpMs: null })
  })

  it('hang: nothing, then the server closes the socket after maxMs', async () => {
    const e = await serve([user('usr_abc123', { scenario: 'hang', maxMs: 300 })])
    const wire = await postToken(e.url, 'usr_abc123', { timeoutMs: 3000 })
    expect(wire.kind).toBe('error')
    if (wire.kind === 'error') {
      expect(wire.code).toBe('ECONNRESET')
      expect(wire.ms).toBeGreaterThanOrEqual(290)
      expect(wire.ms).toBeLessThan(1300)
    }
    await until(() => e.requestLog.list().length === 1)
    expect(e.requestLog.list()[0]).toMatchObject({ scenario: 'hang', status: null, callerGaveUpMs: null })
    expect(e.hanging.size).toBe(0)
  })

  it('hang: the socket is tracked while held, so a shutdown can cut it', async () => {
    const e = await serve([user('usr_abc123', { scenario: 'hang', maxMs: 60_000 })])
    const wire = postToken(e.url, 'usr_abc123', { timeoutMs: 3000 })
    await until(() => e.hanging.size === 1)
    const cutAt = performance.now()
    for (const socket of e.hanging) socket.destroy()
    const result = await wire
    expect(result.kind).toBe('error')
    expect(performance.now() - cutAt).toBeLessThan(500)
  })
})

describe('flaky and sequences', () => {
  it('flaky: the first request fails with 503, the second is answered', async () => {
    const e = await serve([user('usr_flaky', 'flaky')])
    const first = expectResponse(await postToken(e.url, 'usr_flaky'))
    expect(first.status).toBe(503)
    expect(JSON.parse(first.body)).toEqual({ error: 'simulated_error' })
    const second = expectResponse(await postToken(e.url, 'usr_flaky'))
    expect(second.status).toBe(200)
    expect(JSON.parse(second.body)).toEqual(PROFILE)
    const logged = e.requestLog.list().map((entry) => [entry.scenario, entry.status])
    expect(logged).toEqual([
      ['ok', 200],
      ['error', 503],
    ])
  })

  it('a sequence is stateful per token; another token starts its own', async () => {
    const e = await serve([structuredClone(ALICE), user('usr_other')])
    override(e, { sequence: ['error', 'error', 'ok'] })
    const statuses = async (token: string) => expectResponse(await postToken(e.url, token)).status
    expect(await statuses('usr_abc123')).toBe(500)
    expect(await statuses('usr_abc123')).toBe(500)
    expect(await statuses('usr_other')).toBe(500)
    expect(await statuses('usr_abc123')).toBe(200)
    expect(await statuses('usr_abc123')).toBe(200)
    expect(await statuses('usr_other')).toBe(500)
    expect(await statuses('usr_other')).toBe(200)
  })

  it('logs sincePreviousMs as the gap between two requests for the same token', async () => {
    const e = await serve()
    await postToken(e.url, 'usr_abc123')
    await sleep(300)
    await postToken(e.url, 'usr_abc123')
    await until(() => e.requestLog.list().length === 2)
    const [second, first] = e.requestLog.list()
    expect(first?.sincePreviousMs).toBeNull()
    expect(second?.sincePreviousMs).toBeGreaterThanOrEqual(290)
    expect(second?.sincePreviousMs).toBeLessThan(800)
  })
})

describe('scenarios never apply to a refused signature', () => {
  it('a bad signature under a global error still gets 401 invalid_signature', async () => {
    const e = await serve()
    override(e, { scenario: 'error', status: 503 })
    const { body } = signedRequest('usr_abc123')
    const wire = expectResponse(await post(e.url, body, { signature: 'ab'.repeat(32) }))
    expect(wire.status).toBe(401)
    expect(JSON.parse(wire.body)).toEqual({ error: 'invalid_signature' })
    const good = expectResponse(await postToken(e.url, 'usr_abc123'))
    expect(good.status).toBe(503)
  })

  it('a missing signature under a global reset still gets 401 missing_signature', async () => {
    const e = await serve()
    override(e, 'reset')
    const wire = expectResponse(await post(e.url, signedRequest('usr_abc123').body, { signature: null }))
    expect(wire.status).toBe(401)
    expect(JSON.parse(wire.body)).toEqual({ error: 'missing_signature' })
  })
})
