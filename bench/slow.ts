import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'
import { percentile, type SignedRequest } from './load.js'

export interface SlowResult {
  concurrency: number
  delayMs: number
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
 * `concurrency` requests at once for a user whose own scenario is `slow` with `delayMs`, and how much later
 * than the delay each answer came. The connections are opened first (one normal request each), so the
 * numbers measure the server's timer, not TCP set-up.
 */
export async function measureSlow(
  url: string,
  slowUser: SignedRequest,
  plainUser: SignedRequest,
  delayMs: number,
  concurrency: number,
): Promise<SlowResult> {
  const target = new URL(url)
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  try {
    const timeoutMs = delayMs + 15_000
    await Promise.all(Array.from({ length: concurrency }, () => post(agent, target, plainUser, timeoutMs)))
    const answers = await Promise.all(
      Array.from({ length: concurrency }, () => post(agent, target, slowUser, timeoutMs)),
    )
    const late = Float64Array.from(answers, (answer) => answer.ms - delayMs).sort()
    return {
      concurrency,
      delayMs,
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
