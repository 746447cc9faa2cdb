import { createHmac } from 'node:crypto'
import autocannon from 'autocannon'

export interface SignedRequest {
  token: string
  body: string
  signature: string
}

/** Signed once, before any load: the load generator only copies bytes, as Talki's requests would arrive. */
export function signedPool(tokens: readonly string[], secret: string): SignedRequest[] {
  return tokens.map((token) => {
    const body = JSON.stringify({ userToken: token })
    return { token, body, signature: createHmac('sha256', secret).update(body).digest('hex') }
  })
}

/** One request by hand before the load, so a wrong secret or path fails loudly instead of as 100% non-2xx. */
export async function preflight(url: string, request: SignedRequest): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-talki-signature': request.signature },
    body: request.body,
    signal: AbortSignal.timeout(10_000),
  })
  const text = await response.text()
  if (response.status !== 200) {
    throw new Error(`preflight ${request.token} at ${url}: ${response.status} ${text.slice(0, 200)}`)
  }
  JSON.parse(text)
}

export interface LoadResult {
  responses: number
  reqPerSec: number
  /** Milliseconds, exact percentiles over every response (autocannon's own histogram rounds to 1 ms). */
  p50: number
  p99: number
  non2xx: number
  /** Connection errors, timeouts included. */
  errors: number
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1] ?? Number.NaN
}

const MAX_SAMPLES = 20_000_000

/**
 * Drives `url` for `duration` seconds with `connections` keep-alive connections, pipelining 1. Each
 * request takes the next entry of the shared pool, so the connections spread over random users instead
 * of walking the same list in step.
 */
export async function drive(
  url: string,
  pool: readonly SignedRequest[],
  connections: number,
  duration: number,
): Promise<LoadResult> {
  const target = new URL(url)
  let cursor = 0
  let latencies = new Float64Array(1 << 16)
  let count = 0
  let non2xx = 0
  const instance = autocannon({
    url: target.origin,
    connections,
    pipelining: 1,
    duration,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: target.pathname,
        setupRequest: (request) => {
          const next = pool[cursor] as SignedRequest
          cursor = cursor + 1 === pool.length ? 0 : cursor + 1
          return {
            ...request,
            headers: { 'content-type': 'application/json', 'x-talki-signature': next.signature },
            body: next.body,
          }
        },
      },
    ],
  })
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status < 200 || status > 299) non2xx += 1
    if (count === latencies.length && count < MAX_SAMPLES) {
      const grown = new Float64Array(latencies.length * 2)
      grown.set(latencies)
      latencies = grown
    }
    if (count < latencies.length) latencies[count] = ms
    count += 1
  })
  // autocannon stops itself after `duration`; this only guards against a run that never ends.
  const guard = setTimeout(() => instance.stop(), (duration + 30) * 1000)
  const result = await instance
  clearTimeout(guard)
  const sorted = latencies.subarray(0, Math.min(count, latencies.length)).sort()
  const seconds = (result.finish.getTime() - result.start.getTime()) / 1000
  return {
    responses: count,
    reqPerSec: seconds > 0 ? count / seconds : 0,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    non2xx: Math.max(non2xx, result.non2xx),
    errors: result.errors,
  }
}
