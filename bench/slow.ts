import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { percentile, type SignedRequest } from './load.js'

export interface SlowResult {
  concurrency: number
  delayMs: number
  /** The sends were spread evenly over this many ms (0: all at once). */
  spreadMs: number
  /** The most requests that were awaiting their answer at one moment. */
  peakInFlight: number
  /** Milliseconds of latency beyond the configured delay. */
  p50: number
  p99: number
  max: number
  min: number
  non200: number
}

function post(
  agent: Agent,
  url: URL,
  signed: SignedRequest,
  timeoutMs: number,
): Promise<{ status: number; ms: number }> {
  return new Promise((resolvePost, rejectPost) => {
    const began = performance.now()
    const req = request(
      url,
      {
        agent,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(signed.body),
          'x-talki-signature': signed.signature,
        },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume()
        res.once('end', () => resolvePost({ status: res.statusCode ?? 0, ms: performance.now() - began }))
        res.once('error', rejectPost)
      },
    )
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.once('error', rejectPost)
    req.end(signed.body)
  })
}

/**
 * `concurrency` requests for a user whose own scenario is `slow` with `delayMs`, and how much later than the
 * delay each answer came. The connections are opened first (one normal request each), so the numbers do not
 * include TCP set-up. With `spreadMs` < `delayMs` every request is still waiting when the last is sent, so
 * all are in flight at once, but the server is not also asked to parse them all in the same instant: the
 * result is the timer's accuracy under that concurrency. With `spreadMs` 0 the whole burst arrives at once
 * and the late answers include the time to work through it.
 */
export async function measureSlow(
  url: string,
  slowUser: SignedRequest,
  plainUser: SignedRequest,
  delayMs: number,
  concurrency: number,
  spreadMs: number,
): Promise<SlowResult> {
  const target = new URL(url)
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  try {
    const timeoutMs = delayMs + spreadMs + 15_000
    await Promise.all(Array.from({ length: concurrency }, () => post(agent, target, plainUser, timeoutMs)))
    let inFlight = 0
    let peakInFlight = 0
    const began = performance.now()
    const sends: Promise<{ status: number; ms: number }>[] = []
    for (let i = 0; i < concurrency; i += 1) {
      if (spreadMs > 0) {
        const due = began + (i * spreadMs) / concurrency
        const wait = due - performance.now()
        if (wait >= 1) await sleep(wait)
      }
      inFlight += 1
      peakInFlight = Math.max(peakInFlight, inFlight)
      sends.push(
        post(agent, target, slowUser, timeoutMs).finally(() => {
          inFlight -= 1
        }),
      )
    }
    const answers = await Promise.all(sends)
    const late = Float64Array.from(answers, (answer) => answer.ms - delayMs).sort()
    return {
      concurrency,
      delayMs,
      spreadMs,
      peakInFlight,
      p50: percentile(late, 50),
      p99: percentile(late, 99),
      max: late[late.length - 1] ?? Number.NaN,
      min: late[0] ?? Number.NaN,
      non200: answers.filter((answer) => answer.status !== 200).length,
    }
  } finally {
    agent.destroy()
  }
}
