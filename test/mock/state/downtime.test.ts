import { Agent } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import type { UserSimulationSpec } from '../../../src/mock/simulation/scenarios.js'
import type { UserRecord } from '../../../src/mock/users/record.js'
import { type InProcessEndpoint, postToken, serveEndpoint, sleep, until, type Wire } from '../../process.js'
import { ALICE } from '../../support.js'

// `down` is real downtime (README: QA guide): the port refuses connections for durationMs, open and kept-alive
// connections are cut, and the endpoint serves again on the same port.

function user(userToken: string, simulate?: UserSimulationSpec): UserRecord {
  const { userToken: _, ...profile } = structuredClone(ALICE)
  return simulate === undefined ? { userToken, ...profile } : { userToken, ...profile, simulate }
}

const USERS = [
  structuredClone(ALICE),
  user('usr_down', { scenario: 'down', durationMs: 500 }),
  user('usr_down_long', { scenario: 'down', durationMs: 20_000 }),
  user('usr_slow', { scenario: 'slow', delayMs: 2000 }),
]

let endpoint: InProcessEndpoint | undefined
const agents: Agent[] = []
afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy()
  await endpoint?.close()
  endpoint = undefined
})

async function serve(onReopen?: () => void) {
  endpoint = await serveEndpoint(onReopen ? { users: USERS, onReopen } : { users: USERS })
  return endpoint
}

/** Polls with fresh connections until the endpoint answers; resolves with the time that took. */
async function servedAgainAfter(
  e: InProcessEndpoint,
  limitMs: number,
): Promise<{ ms: number; refused: number }> {
  const startedAt = performance.now()
  let refused = 0
  for (;;) {
    const wire = await postToken(e.url, 'usr_abc123', { timeoutMs: 1000 })
    if (wire.kind === 'response') {
      expect(wire.status).toBe(200)
      return { ms: performance.now() - startedAt, refused }
    }
    expect(wire).toMatchObject({ kind: 'error', code: 'ECONNREFUSED' })
    refused++
    if (performance.now() - startedAt > limitMs) throw new Error('the endpoint did not come back')
    await sleep(20)
  }
}

function expectCut(wire: Wire): void {
  expect(wire.kind).toBe('error')
  if (wire.kind === 'error') expect(wire.code).toBe('ECONNRESET')
}

describe('down', () => {
  it('resets the triggering request, refuses connections for durationMs, then serves on the same port', async () => {
    const e = await serve()
    const triggeredAt = performance.now()
    expectCut(await postToken(e.url, 'usr_down', { timeoutMs: 2000 }))
    expect(e.downtime.isDown).toBe(true)
    const refused = await postToken(e.url, 'usr_abc123', { timeoutMs: 1000 })
    expect(refused).toMatchObject({ kind: 'error', code: 'ECONNREFUSED' })

    const back = await servedAgainAfter(e, 3000)
    const downFor = performance.now() - triggeredAt
    expect(back.refused).toBeGreaterThan(0)
    expect(downFor).toBeGreaterThanOrEqual(480)
    expect(downFor).toBeLessThan(1500)
    expect(e.downtime.isDown).toBe(false)
    expect(e.server.address()).toMatchObject({ port: e.port })

    await until(() => e.requestLog.list().some((entry) => entry.token === 'usr_down'))
    const logged = e.requestLog.list().find((entry) => entry.token === 'usr_down')
    expect(logged).toMatchObject({ scenario: 'down', status: null, callerGaveUpMs: null })
  })

  it('reports when the port reopens through isDown, until and the onEnd callback', async () => {
    let reopened = 0
    const e = await serve(() => reopened++)
    expect(e.downtime.until).toBeNull()
    const before = Date.now()
    await postToken(e.url, 'usr_down', { timeoutMs: 2000 })
    expect(e.downtime.until).toBeGreaterThanOrEqual(before + 500)
    expect(e.downtime.until).toBeLessThanOrEqual(Date.now() + 500)
    expect(reopened).toBe(0)
    await servedAgainAfter(e, 3000)
    expect(reopened).toBe(1)
    expect(e.downtime.until).toBeNull()
  })

  it('ends early on downtime.end()', async () => {
    const e = await serve()
    expectCut(await postToken(e.url, 'usr_down_long', { timeoutMs: 2000 }))
    expect(await postToken(e.url, 'usr_abc123')).toMatchObject({ kind: 'error', code: 'ECONNREFUSED' })
    await sleep(100)
    await e.downtime.end()
    const wire = await postToken(e.url, 'usr_abc123')
    expect(wire).toMatchObject({ kind: 'response', status: 200 })
    expect(e.downtime.isDown).toBe(false)
  })

  it('a new downtime while down moves the reopening to the new end', async () => {
    const e = await serve()
    await postToken(e.url, 'usr_down_long', { timeoutMs: 2000 })
    e.downtime.start(300)
    const back = await servedAgainAfter(e, 3000)
    expect(back.ms).toBeLessThan(1300)
  })

  it('cuts a kept-alive connection that is open when the port goes down', async () => {
    const e = await serve()
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    agents.push(agent)
    expect(await postToken(e.url, 'usr_abc123', { agent })).toMatchObject({ kind: 'response', status: 200 })
    const idle = Object.values(agent.freeSockets).flat()
    expect(idle).toHaveLength(1)
    const socket = idle[0]
    if (!socket) throw new Error('no kept-alive socket')
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())))

    const triggeredAt = performance.now()
    await postToken(e.url, 'usr_down', { timeoutMs: 2000 })
    const closedAt = await Promise.race([closed, sleep(1000).then(() => Number.NaN)])
    expect(closedAt - triggeredAt).toBeLessThan(300)
    // The agent's next request opens a new connection, which is refused while down.
    expect(await postToken(e.url, 'usr_abc123', { agent })).toMatchObject({
      kind: 'error',
      code: 'ECONNREFUSED',
    })
  })

  it('cuts a request in flight on another connection', async () => {
    const e = await serve()
    const slow = postToken(e.url, 'usr_slow', { timeoutMs: 4000 })
    // Let the slow request reach its timer before the port goes down.
    await sleep(150)
    const triggeredAt = performance.now()
    await postToken(e.url, 'usr_down_long', { timeoutMs: 2000 })
    const wire = await slow
    expectCut(wire)
    expect(performance.now() - triggeredAt).toBeLessThan(500)
    // The server cut it, not the caller: the request log must not say the caller gave up.
    await until(() => e.requestLog.list().some((entry) => entry.token === 'usr_slow'))
    const logged = e.requestLog.list().find((entry) => entry.token === 'usr_slow')
    expect(logged).toMatchObject({ scenario: 'slow', status: null, callerGaveUpMs: null })
    await e.downtime.end()
  })
})
