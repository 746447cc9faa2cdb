import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { UserRecord } from '../../src/mock/users/record.js'
import { openJsonStore } from '../../src/mock/users/store.js'
import { killAll, postToken, sleep, until, type Wire } from '../process.js'
import { ALICE, signedRequest } from '../support.js'
import { adminCall, type DataDir, dataDir, figure, freePort, type Running, start } from './stress.js'

// SIGTERM on a busy server, heavier than test/main.test.ts: 16 slow requests (0.5–3.5 s), 4 callers still
// sending their body, 2 hung requests, 2 idle kept-alive sockets and a burst of admin writes, all at once.
// The slow ones and the late bodies get their answers, hangs and idle sockets are cut at once, new
// connections are refused, every acknowledged write is on disk, exit 0 soon after the last answer.
// Then a second signal in the middle of the same kind of load exits 1 at once and leaves a store that loads.

const ADMIN_TOKEN = 'stress-shutdown-admin-token'
const SLOW_DELAYS = Array.from({ length: 16 }, (_, i) => 500 + i * 200)
const MAX_DELAY = Math.max(...SLOW_DELAYS)

const USERS: UserRecord[] = [
  structuredClone(ALICE),
  ...SLOW_DELAYS.map((delayMs) => ({
    userToken: `usr_slow_${delayMs}`,
    name: `Slow ${delayMs}`,
    simulate: { scenario: 'slow' as const, delayMs },
  })),
  { userToken: 'usr_slow_5000', name: 'Slow 5000', simulate: { scenario: 'slow', delayMs: 5000 } },
  { userToken: 'usr_hang', name: 'Hang', simulate: { scenario: 'hang', maxMs: 60_000 } },
]

interface RawClient {
  socket: Socket
  received: string
  closedAt: number | null
}

function rawClient(port: number, first: string): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const client: RawClient = { socket, received: '', closedAt: null }
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      client.received += chunk
    })
    socket.on('close', () => {
      client.closedAt = performance.now()
    })
    socket.on('error', () => {})
    socket.once('connect', () => {
      socket.write(first)
      resolve(client)
    })
    socket.once('error', reject)
  })
}

function head(token: string, keepAlive: boolean) {
  const { body, signature } = signedRequest(token)
  return {
    body,
    head:
      `POST /talki/customer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Connection: ${keepAlive ? 'keep-alive' : 'close'}\r\nX-Talki-Signature: ${signature}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
  }
}

let data: DataDir
let running: Running
let port = 0

beforeEach(async () => {
  data = await dataDir(USERS)
  running = await start(data.dataFile, {
    ADMIN_PORT: String(await freePort()),
    ADMIN_TOKEN,
    LOG_LEVEL: 'info',
  })
  port = Number(new URL(running.url).port)
})

afterEach(async () => {
  await killAll()
  await data.cleanup()
})

/**
 * Admin writes that keep coming: `workers` loops, each PUTting a new user as soon as its previous one
 * was answered, until the admin API stops answering. `acked` holds the records answered 201.
 */
function keepWriting(workers: number, tag: string): { acked: UserRecord[]; done: Promise<void> } {
  const acked: UserRecord[] = []
  let n = 0
  const done = Promise.all(
    Array.from({ length: workers }, async () => {
      for (;;) {
        const i = n++
        const user: UserRecord = { userToken: `usr_${tag}_${i}`, name: `Written ${i}`, fields: { i } }
        const { userToken, ...body } = user
        try {
          const res = await adminCall(running.admin, 'PUT', `/api/users/${userToken}`, {
            token: ADMIN_TOKEN,
            body,
          })
          if (res.status !== 201) return
          acked.push(user)
        } catch {
          return // cut by the shutdown: not acknowledged
        }
      }
    }),
  ).then(() => {})
  return { acked, done }
}

async function loadStore() {
  return openJsonStore({ file: data.dataFile, seedFile: join(data.dir, 'no-seed.json') })
}

describe('SIGTERM on a busy server', () => {
  it('answers 20 in-flight requests (16 slow, 4 mid-body), cuts hangs and idle sockets, flushes writes, exits 0', async () => {
    const issuedAt = performance.now()
    const slow = SLOW_DELAYS.map((ms) => postToken(running.url, `usr_slow_${ms}`, { timeoutMs: 10_000 }))
    const hang = [0, 1].map(() =>
      postToken(running.url, 'usr_hang', { timeoutMs: 10_000 }).then((wire) => ({
        wire,
        at: performance.now(),
      })),
    )
    const midBody = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const { head: text, body } = head('usr_abc123', false)
        const client = await rawClient(port, text + body.slice(0, 5))
        return { client, rest: body.slice(5) }
      }),
    )
    const idle = await Promise.all(
      [0, 1].map(() => {
        const request = head('usr_abc123', true)
        return rawClient(port, request.head + request.body)
      }),
    )
    const writes = keepWriting(8, 'term')
    await sleep(300)
    expect(idle.every((c) => c.received.startsWith('HTTP/1.1 200 ') && c.closedAt === null)).toBe(true)

    const signalledAt = performance.now()
    running.server.child.kill('SIGTERM')
    await running.server.waitForLog('shutting down: draining requests')
    const refused = await postToken(running.url, 'usr_abc123', { timeoutMs: 1000 })
    await sleep(300)
    for (const { client, rest } of midBody) client.socket.write(rest)

    const slowWires = await Promise.all(slow)
    const hangWires = await Promise.all(hang)
    const { code, at } = await running.server.exited
    await writes.done
    for (const { client } of midBody) await until(() => client.closedAt !== null)

    const answered = [
      ...slowWires.filter((w) => w.kind === 'response' && w.status === 200),
      ...midBody.filter(({ client }) => /^HTTP\/1\.1 200 [\s\S]*"Alice Johnson"/.test(client.received)),
    ]
    const exitMs = Math.round(at - signalledAt)
    const store = await loadStore()
    let kept = 0
    for (const user of writes.acked)
      if (JSON.stringify(await store.find(user.userToken)) === JSON.stringify(user)) kept++

    figure('shutdown_in_flight', slowWires.length + midBody.length)
    figure('shutdown_answered', answered.length)
    figure('shutdown_exit_after_signal_ms', exitMs)
    // The last slow answer is due MAX_DELAY after it was sent; the process waits for it, and no longer.
    const lastDue = issuedAt + MAX_DELAY
    figure('shutdown_last_slow_due_after_signal_ms', Math.round(lastDue - signalledAt))
    figure('shutdown_exit_after_last_due_ms', Math.round(at - lastDue))
    figure(
      'shutdown_hang_cut_after_signal_ms',
      Math.round(Math.max(...hangWires.map((h) => h.at)) - signalledAt),
    )
    figure('shutdown_writes_acknowledged', writes.acked.length)
    figure('shutdown_writes_on_disk', kept)

    expect(code).toBe(0)
    expect(answered).toHaveLength(20)
    for (const [i, wire] of slowWires.entries()) {
      expect(wire).toMatchObject({ kind: 'response', status: 200 })
      if (wire.kind === 'response') expect(JSON.parse(wire.body)).toEqual({ name: `Slow ${SLOW_DELAYS[i]}` })
    }
    expect(refused).toMatchObject({ kind: 'error', code: 'ECONNREFUSED' })
    for (const { wire, at: cutAt } of hangWires) {
      expect(wire).toMatchObject({ kind: 'error', code: 'ECONNRESET' } satisfies Partial<Wire>)
      expect(cutAt - signalledAt).toBeLessThan(500)
    }
    for (const client of idle)
      expect((client.closedAt ?? Number.POSITIVE_INFINITY) - signalledAt).toBeLessThan(1000)
    expect(at).toBeGreaterThanOrEqual(lastDue - 50)
    expect(at - lastDue).toBeLessThan(1500)
    expect(writes.acked.length).toBeGreaterThan(0)
    expect(kept).toBe(writes.acked.length)
    const stopped = running.server.logs().find((line) => line.msg === 'stopped')
    expect(stopped).toMatchObject({ inFlight: 0 })
  })

  it('a second signal (SIGINT after SIGTERM) under 20 slow requests and a write burst exits 1 at once; the store loads', async () => {
    const slow = Array.from({ length: 20 }, () =>
      postToken(running.url, 'usr_slow_5000', { timeoutMs: 10_000 }),
    )
    const writes = keepWriting(8, 'twice')
    await sleep(300)
    running.server.child.kill('SIGTERM')
    await running.server.waitForLog('shutting down: draining requests')
    const secondAt = performance.now()
    running.server.child.kill('SIGINT')
    const { code, at } = await running.server.exited
    const wires = await Promise.all(slow)
    await writes.done
    const exitMs = Math.round(at - secondAt)
    figure('second_signal_exit_ms', exitMs)
    figure('second_signal_cut_in_flight', wires.filter((w) => w.kind === 'error').length)
    expect(code).toBe(1)
    expect(exitMs).toBeLessThan(500)
    expect(wires.every((w) => w.kind === 'error')).toBe(true)
    expect(running.server.logs().some((line) => line.msg === 'second signal: exiting now')).toBe(true)
    // Exiting at once may drop a write still in the air, but never tears the file.
    const store = await loadStore()
    expect(await store.find('usr_abc123')).toEqual(ALICE)
    for (const user of writes.acked) expect(await store.find(user.userToken)).toEqual(user)
    figure('second_signal_writes_acknowledged_on_disk', writes.acked.length)
  })
})
