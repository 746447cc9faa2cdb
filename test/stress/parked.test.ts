import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { UserRecord } from '../../src/mock/users/record.js'
import { killAll, postToken, sleep } from '../process.js'
import { ALICE, signedRequest } from '../support.js'
import { type DataDir, dataDir, figure, percentile, type Running, round, start } from './stress.js'

// Hundreds of callers parked on the real server — 300 `slow` (20 s), 200 `hang`, 50 clients sending
// their headers a byte at a time and 50 sending their body a byte at a time — while healthy signed
// requests are timed. The server's own timeouts (src/mock/main.ts SERVER_OPTIONS) must close the abusive
// sockets: headers within headersTimeout (10 s), the whole request within requestTimeout (15 s), each
// checked every second.

const HEADERS_TIMEOUT_MS = 10_000
const REQUEST_TIMEOUT_MS = 15_000
const CHECK_INTERVAL_MS = 1_000
const SLOW_MS = 20_000
const COUNTS = { slow: 300, hang: 200, slowHeader: 50, slowBody: 50 }
const HEALTHY_REQUESTS = 200
const HEALTHY_P99_BOUND_MS = 250

const USERS: UserRecord[] = [
  structuredClone(ALICE),
  { userToken: 'usr_slow20', name: 'Slow', simulate: { scenario: 'slow', delayMs: SLOW_MS } },
  { userToken: 'usr_hang', name: 'Hang', simulate: { scenario: 'hang', maxMs: 60_000 } },
]

/** A raw client socket and what happened to it, in ms since it connected. */
interface Parked {
  socket: Socket
  connectedAt: number
  received: string
  firstByteMs: number | null
  closedMs: number | null
}

function park(port: number, first: string): Promise<Parked> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const parked: Parked = { socket, connectedAt: 0, received: '', firstByteMs: null, closedMs: null }
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      parked.firstByteMs ??= performance.now() - parked.connectedAt
      parked.received += chunk
    })
    socket.on('error', () => {}) // writes after the server closed: EPIPE/ECONNRESET are the point
    socket.on('close', () => {
      parked.closedMs = performance.now() - parked.connectedAt
    })
    socket.once('connect', () => {
      parked.connectedAt = performance.now()
      if (first) socket.write(first)
      resolve(parked)
    })
    socket.once('error', reject)
  })
}

function requestHead(contentLength: number, signature: string): string {
  return (
    'POST /talki/customer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
    `X-Talki-Signature: ${signature}\r\nContent-Length: ${contentLength}\r\n\r\n`
  )
}

function fullRequest(token: string): string {
  const { body, signature } = signedRequest(token)
  return requestHead(Buffer.byteLength(body), signature) + body
}

async function healthyLatencies(url: string): Promise<number[]> {
  const latencies: number[] = []
  for (let i = 0; i < HEALTHY_REQUESTS; i++) {
    const startedAt = performance.now()
    const wire = await postToken(url, 'usr_abc123', { timeoutMs: 5000 })
    latencies.push(performance.now() - startedAt)
    expect(wire).toMatchObject({ kind: 'response', status: 200 })
  }
  return latencies
}

let data: DataDir
let running: Running

beforeAll(async () => {
  data = await dataDir(USERS)
  running = await start(data.dataFile)
})

afterAll(async () => {
  await killAll()
  await data.cleanup()
})

describe('parked slow and hung callers', () => {
  it('do not delay healthy requests, and the server times out slow-header and slow-body clients', async () => {
    const port = Number(new URL(running.url).port)
    // Warm-up, then the baseline with nothing parked.
    for (let i = 0; i < 50; i++) await postToken(running.url, 'usr_abc123')
    const baseline = await healthyLatencies(running.url)

    const parkedAt = performance.now()
    const slow = await Promise.all(
      Array.from({ length: COUNTS.slow }, () => park(port, fullRequest('usr_slow20'))),
    )
    const hang = await Promise.all(
      Array.from({ length: COUNTS.hang }, () => park(port, fullRequest('usr_hang'))),
    )
    // Slow headers: the request line and headers a byte every 200 ms, never the blank line that ends them.
    const headerText = `${requestHead(20, 'a'.repeat(64)).slice(0, -2)}X-Pad: ${'p'.repeat(500)}`
    const slowHeader = await Promise.all(Array.from({ length: COUNTS.slowHeader }, () => park(port, '')))
    // Slow body: complete headers announcing 200 bytes, then a byte every 200 ms.
    const { signature } = signedRequest('usr_abc123')
    const slowBody = await Promise.all(
      Array.from({ length: COUNTS.slowBody }, () => park(port, requestHead(200, signature))),
    )
    let sent = 0
    const trickle = setInterval(() => {
      for (const parked of slowHeader)
        if (!parked.socket.destroyed) parked.socket.write(headerText[sent] ?? 'p')
      for (const parked of slowBody) if (!parked.socket.destroyed) parked.socket.write(sent === 0 ? '{' : ' ')
      sent++
    }, 200)

    try {
      await sleep(1500)
      const underLoad = await healthyLatencies(running.url)
      const measuredAt = performance.now() - parkedAt

      const figures = {
        baseline_p50_ms: round(percentile(baseline, 50)),
        baseline_p99_ms: round(percentile(baseline, 99)),
        parked_p50_ms: round(percentile(underLoad, 50)),
        parked_p99_ms: round(percentile(underLoad, 99)),
        parked_max_ms: round(Math.max(...underLoad)),
      }
      figure('parked_callers', COUNTS.slow + COUNTS.hang + COUNTS.slowHeader + COUNTS.slowBody)
      for (const [name, value] of Object.entries(figures)) figure(name, value)
      figure('parked_healthy_requests', HEALTHY_REQUESTS * 2)
      expect(figures.parked_p99_ms).toBeLessThan(HEALTHY_P99_BOUND_MS)
      // Still parked while we measured: nothing answered the slow ones early, nothing closed a hang.
      expect(measuredAt).toBeLessThan(HEADERS_TIMEOUT_MS - CHECK_INTERVAL_MS)
      for (const parked of [...slow, ...hang]) expect(parked.received).toBe('')

      // The server closes the slow-header sockets after headersTimeout and the slow-body ones after
      // requestTimeout, each checked every second.
      const margin = CHECK_INTERVAL_MS + 2000
      const deadline = performance.now() + REQUEST_TIMEOUT_MS + margin
      while (performance.now() < deadline && [...slowHeader, ...slowBody].some((p) => p.closedMs === null)) {
        await sleep(100)
      }
      const headerClosed = slowHeader.map((p) => p.closedMs ?? Number.POSITIVE_INFINITY)
      const bodyClosed = slowBody.map((p) => p.closedMs ?? Number.POSITIVE_INFINITY)
      figure('slow_header_closed_min_ms', round(Math.min(...headerClosed), 0))
      figure('slow_header_closed_max_ms', round(Math.max(...headerClosed), 0))
      figure('slow_body_closed_min_ms', round(Math.min(...bodyClosed), 0))
      figure('slow_body_closed_max_ms', round(Math.max(...bodyClosed), 0))
      for (const ms of headerClosed) {
        expect(ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100)
        expect(ms).toBeLessThan(HEADERS_TIMEOUT_MS + margin)
      }
      for (const ms of bodyClosed) {
        expect(ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100)
        expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS + margin)
      }
      // Closed with Node's 408 or silently, never a 2xx or a 5xx.
      const abusive = [...slowHeader, ...slowBody]
      for (const parked of abusive) expect(parked.received).toMatch(/^(HTTP\/1\.1 408 |$)/)
      figure('slow_clients_answered_408', abusive.filter((p) => p.received !== '').length)

      // The 300 slow callers get their answer at about 20 s; the hung ones are still held, answerless.
      const slowDeadline = parkedAt + SLOW_MS + 5000
      while (performance.now() < slowDeadline && slow.some((p) => !p.received.includes('"Slow"')))
        await sleep(100)
      const answered = slow.filter(
        (p) => /^HTTP\/1\.1 200 /.test(p.received) && p.received.includes('"Slow"'),
      )
      figure('parked_slow_answered', `${answered.length}/${COUNTS.slow}`)
      figure('parked_slow_answer_max_ms', round(Math.max(...slow.map((p) => p.firstByteMs ?? Number.NaN)), 0))
      expect(answered).toHaveLength(COUNTS.slow)
      for (const parked of slow) expect(parked.firstByteMs).toBeGreaterThanOrEqual(SLOW_MS - 50)
      for (const parked of hang) {
        expect(parked.received).toBe('')
        expect(parked.closedMs).toBeNull()
      }
      expect(await postToken(running.url, 'usr_abc123')).toMatchObject({ kind: 'response', status: 200 })
    } finally {
      clearInterval(trickle)
      for (const parked of [...slow, ...hang, ...slowHeader, ...slowBody]) parked.socket.destroy()
    }
  }, 90_000)
})
