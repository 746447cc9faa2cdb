import autocannon from 'autocannon'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { UserRecord } from '../../src/mock/users/record.js'
import { sign } from '../../src/template/signature.js'
import { killAll, sleep } from '../process.js'
import { TEST_SECRET } from '../support.js'
import {
  adminCall,
  type DataDir,
  dataDir,
  figure,
  freePort,
  type Running,
  round,
  rssMb,
  start,
} from './stress.js'

// 200,000 requests against the server process at LOG_LEVEL=warn, almost all for tokens never seen
// before, mixing valid (known and unknown users), wrongly signed (the findings are computed) and
// unsigned requests, under a global sequence override that keeps a cursor per token. Everything kept
// per request or per token is bounded (request-log ring, per-token maps), so RSS must stay flat.

const TOTAL = 200_000
const WARM_UP = 20_000
const KNOWN = 1000
const RSS_GROWTH_BOUND_MB = 40
const ADMIN_TOKEN = 'stress-memory-admin-token'

interface Prepared {
  body: string
  signature: string | null
}

/** Signed in advance so the client spends its time sending, not hashing. */
function prepare(count: number): Prepared[] {
  return Array.from({ length: count }, (_, i) => {
    const kind = i % 10
    const token =
      kind < 3 ? `usr_known_${i % KNOWN}` : `usr_${i.toString(36)}_${Math.random().toString(36).slice(2, 10)}`
    const body = JSON.stringify({ userToken: token })
    if (kind < 7) return { body, signature: sign(TEST_SECRET, body) }
    if (kind < 9) return { body, signature: sign('wrong-secret', `${body}\n`) }
    return { body, signature: null }
  })
}

async function drive(url: string, prepared: Prepared[], from: number, amount: number) {
  let next = from
  const result = await autocannon({
    url,
    connections: 32,
    amount,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        setupRequest: (request) => {
          const item = prepared[next++ % prepared.length] as Prepared
          const headers: Record<string, string> = { ...request.headers }
          if (item.signature) headers['X-Talki-Signature'] = item.signature
          return { ...request, body: item.body, headers }
        },
      },
    ],
  })
  const counts = result as unknown as Record<'1xx' | '2xx' | '3xx' | '4xx' | '5xx', number>
  return { result, counts }
}

let data: DataDir
let running: Running

beforeAll(async () => {
  const users: UserRecord[] = Array.from({ length: KNOWN }, (_, i) => ({
    userToken: `usr_known_${i}`,
    name: `Known ${i}`,
    plan: 'pro',
  }))
  data = await dataDir(users)
  running = await start(data.dataFile, {
    ADMIN_PORT: String(await freePort()),
    ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
  })
})

afterAll(async () => {
  await killAll()
  await data.cleanup()
})

describe('memory under 200,000 requests', () => {
  it('RSS stays flat after the first 20,000 and the request log holds at most 1000 entries', async () => {
    const pid = running.server.child.pid ?? 0
    const override = await adminCall(running.admin, 'PUT', '/api/simulation', {
      token: ADMIN_TOKEN,
      body: { sequence: ['ok', 'ok'], windowMs: 600_000 },
    })
    expect(override.status).toBe(200)
    const prepared = prepare(TOTAL)
    const rssStart = await rssMb(pid)

    const startedAt = performance.now()
    const first = await drive(running.url, prepared, 0, WARM_UP)
    await sleep(1000)
    const rssWarm = await rssMb(pid)

    let rssPeak = rssWarm
    const sampler = setInterval(() => {
      rssMb(pid).then(
        (mb) => {
          rssPeak = Math.max(rssPeak, mb)
        },
        () => {},
      )
    }, 500)
    const rest = await drive(running.url, prepared, WARM_UP, TOTAL - WARM_UP).finally(() =>
      clearInterval(sampler),
    )
    const seconds = (performance.now() - startedAt) / 1000
    await sleep(1000)
    const rssEnd = await rssMb(pid)

    const sum = (key: '2xx' | '4xx' | '5xx') => first.counts[key] + rest.counts[key]
    const sent = first.result.requests.total + rest.result.requests.total
    const log = await adminCall(running.admin, 'GET', '/api/requests?limit=100000', { token: ADMIN_TOKEN })
    const entries = (log.json as { requests: unknown[] }).requests.length

    figure('memory_requests', sent)
    figure('memory_requests_per_s', Math.round(sent / seconds))
    figure('memory_2xx', sum('2xx'))
    figure('memory_4xx', sum('4xx'))
    figure('memory_5xx', sum('5xx'))
    figure('memory_errors', first.result.errors + rest.result.errors)
    figure('memory_rss_start_mb', rssStart)
    figure('memory_rss_after_20k_mb', rssWarm)
    figure('memory_rss_peak_mb', rssPeak)
    figure('memory_rss_end_mb', rssEnd)
    figure('memory_rss_growth_after_20k_mb', round(rssEnd - rssWarm))
    figure('memory_request_log_entries', entries)

    expect(sent).toBeGreaterThanOrEqual(TOTAL)
    expect(first.result.errors + rest.result.errors).toBe(0)
    expect(first.result.timeouts + rest.result.timeouts).toBe(0)
    expect(sum('5xx')).toBe(0)
    // 30% known users (200); the rest 404 (unknown) or 401 (bad or missing signature).
    expect(sum('2xx')).toBeGreaterThanOrEqual(Math.floor(TOTAL * 0.3) - 100)
    expect(sum('2xx') + sum('4xx')).toBe(sent)
    expect(rssEnd - rssWarm).toBeLessThan(RSS_GROWTH_BOUND_MB)
    expect(entries).toBe(1000)
    // Still answering normally.
    const health = await adminCall(running.admin, 'GET', '/healthz')
    expect(health.status).toBe(200)
  }, 240_000)
})
