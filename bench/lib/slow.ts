import { connect, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { spawnTracked } from './children.js'
import { percentile, type SignedRequest } from './load.js'

/** Lateness in milliseconds: latency minus the configured delay. */
export interface Lateness {
  p50: number
  p99: number
  max: number
  min: number
}

/** What the client saw: one process of its own (bench/lib/slow-client.ts), on raw sockets. */
export interface SlowClientResult {
  peakInFlight: number
  late: Lateness
  non200: number
}

export interface SlowResult extends SlowClientResult {
  concurrency: number
  delayMs: number
  /** The sends were spread evenly over this many ms (0: all at once). */
  spreadMs: number
  /** The server's own view: the request log's latencyMs (arrival to answer written), minus the delay. */
  serverLate: Lateness | null
}

export interface SlowPlan {
  url: string
  slowUser: SignedRequest
  plainUser: SignedRequest
  delayMs: number
  concurrency: number
  spreadMs: number
}

export function lateness(latencies: readonly number[], delayMs: number): Lateness {
  const late = Float64Array.from(latencies, (latency) => latency - delayMs).sort()
  return {
    p50: percentile(late, 50),
    p99: percentile(late, 99),
    max: late[late.length - 1] ?? Number.NaN,
    min: late[0] ?? Number.NaN,
  }
}

function requestBytes(url: URL, signed: SignedRequest): Buffer {
  return Buffer.from(
    `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(signed.body)}\r\nX-Talki-Signature: ${signed.signature}\r\n\r\n` +
      signed.body,
  )
}

/**
 * One keep-alive connection that sends a request and times its whole answer. A raw socket rather than
 * node:http's client: an HTTP client's per-response objects bring garbage collections of several
 * milliseconds into a figure that is meant to be the server's.
 */
class TimedConnection {
  readonly #socket: Socket
  #received = ''
  #sentAt = 0
  #settle: ((answer: { status: number; ms: number } | Error) => void) | null = null

  constructor(url: URL) {
    this.#socket = connect({ host: url.hostname, port: Number(url.port) })
    this.#socket.setNoDelay(true)
    this.#socket.setEncoding('latin1')
    this.#socket.on('data', (chunk: string) => this.#onData(chunk))
    this.#socket.on('error', (error) => this.#settle?.(error))
    this.#socket.on('close', () => this.#settle?.(new Error('the server closed the connection')))
  }

  send(bytes: Buffer, timeoutMs: number): Promise<{ status: number; ms: number }> {
    return new Promise((resolveSend, rejectSend) => {
      const timer = setTimeout(() => this.#settle?.(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
      this.#settle = (answer) => {
        clearTimeout(timer)
        this.#settle = null
        if (answer instanceof Error) rejectSend(answer)
        else resolveSend(answer)
      }
      this.#received = ''
      this.#sentAt = performance.now()
      this.#socket.write(bytes)
    })
  }

  #onData(chunk: string): void {
    const at = performance.now()
    this.#received += chunk
    const headEnd = this.#received.indexOf('\r\n\r\n')
    if (headEnd < 0) return
    const length = /\r\ncontent-length: *(\d+)/i.exec(this.#received.slice(0, headEnd))
    if (this.#received.length < headEnd + 4 + Number(length?.[1] ?? 0)) return
    const status = Number(this.#received.slice(9, 12))
    this.#received = ''
    this.#settle?.({ status, ms: at - this.#sentAt })
  }

  close(): void {
    this.#settle = null
    this.#socket.destroy()
  }
}

/**
 * `concurrency` requests for a user whose own scenario is `slow` with `delayMs`, and how much later than the
 * delay each answer came. The connections are opened first (one normal request each), so the numbers do not
 * include TCP set-up. With `spreadMs` < `delayMs` every request is still waiting when the last is sent, so
 * all are in flight at once, but the server is not also asked to parse them all in the same instant: the
 * result is the timer's accuracy under that concurrency. With `spreadMs` 0 the whole burst arrives at once
 * and the late answers include the time to work through it.
 */
export async function measureSlow(plan: SlowPlan): Promise<SlowClientResult> {
  const url = new URL(plan.url)
  const slow = requestBytes(url, plan.slowUser)
  const plain = requestBytes(url, plan.plainUser)
  const timeoutMs = plan.delayMs + plan.spreadMs + 15_000
  const connections = Array.from({ length: plan.concurrency }, () => new TimedConnection(url))
  try {
    await Promise.all(connections.map((connection) => connection.send(plain, timeoutMs)))
    let inFlight = 0
    let peakInFlight = 0
    const began = performance.now()
    const sends: Promise<{ status: number; ms: number }>[] = []
    for (const [i, connection] of connections.entries()) {
      if (plan.spreadMs > 0) {
        const wait = began + (i * plan.spreadMs) / plan.concurrency - performance.now()
        if (wait >= 1) await sleep(wait)
      }
      inFlight += 1
      peakInFlight = Math.max(peakInFlight, inFlight)
      sends.push(
        connection.send(slow, timeoutMs).finally(() => {
          inFlight -= 1
        }),
      )
    }
    const answers = await Promise.all(sends)
    return {
      peakInFlight,
      late: lateness(
        answers.map((answer) => answer.ms),
        plan.delayMs,
      ),
      non200: answers.filter((answer) => answer.status !== 200).length,
    }
  } finally {
    for (const connection of connections) connection.close()
  }
}

const CLIENT = fileURLToPath(new URL('./slow-client.ts', import.meta.url))

/** measureSlow in a fresh process (bench/lib/slow-client.ts), started the way this one was (tsx's loader). */
export function measureSlowApart(plan: SlowPlan): Promise<SlowClientResult> {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawnTracked(process.execPath, [...process.execArgv, CLIENT, JSON.stringify(plan)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
    })
    child.once('error', rejectRun)
    child.once('close', (code, signal) => {
      if (code !== 0)
        return rejectRun(new Error(`bench/lib/slow-client.ts failed (${signal ?? `exit ${code}`})`))
      try {
        resolveRun(JSON.parse(out) as SlowClientResult)
      } catch {
        rejectRun(new Error(`bench/lib/slow-client.ts printed no result: ${out.slice(0, 200)}`))
      }
    })
  })
}
