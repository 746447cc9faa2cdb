import { createServer as createHttpServer } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { createEndpointApp } from '../../../src/mock/endpoint/app.js'
import { createLogger } from '../../../src/mock/runtime/log.js'
import { createMetrics } from '../../../src/mock/runtime/metrics.js'
import type { Mock } from '../../../src/mock/server.js'
import { signedRequest, startedServer, TEST_SECRET, tempDataDir } from '../../support.js'

// GET /metrics of a whole mock (createMock) on real ports: a few signed requests, one scrape, exact counts.

const ADMIN_TOKEN = 'metrics-admin-token'
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** `name{labels} value` lines of the text format, keyed by name and labels as written. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    samples.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return samples
}

async function startMock(
  env: Record<string, string> = {},
): Promise<{ mock: Mock; endpoint: string; admin: string }> {
  const data = await tempDataDir()
  cleanups.push(data.cleanup)
  const server = await startedServer(
    { ADMIN_TOKEN, DATA_FILE: data.dataFile, REPLICA_ID: 'replica-a', ...env },
    { overrides: { seedFile: data.seedFile } },
  )
  cleanups.push(server.close)
  return { mock: server.mock, endpoint: server.endpoint, admin: server.admin ?? '' }
}

async function post(endpoint: string, token: string, signature?: string): Promise<number> {
  const signed = signedRequest(token)
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-talki-signature': signature ?? signed.signature },
    body: signed.body,
  })
  await res.arrayBuffer()
  return res.status
}

async function scrape(admin: string): Promise<Map<string, number>> {
  const res = await fetch(`${admin}metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
  return parse(await res.text())
}

/** The counts are written when each exchange's socket work ends: scrape until all `count` are in. */
async function scrapeAfter(admin: string, count: number): Promise<Map<string, number>> {
  const deadline = Date.now() + 10_000
  let samples = await scrape(admin)
  while ((samples.get('talki_endpoint_request_duration_seconds_count{replica="replica-a"}') ?? 0) < count) {
    if (Date.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, 20))
    samples = await scrape(admin)
  }
  expect(samples.get('talki_endpoint_request_duration_seconds_count{replica="replica-a"}')).toBe(count)
  return samples
}

describe('GET /metrics', () => {
  it('counts requests by status and scenario, lookups, latency and the override, labelled with the replica', async () => {
    const { endpoint, admin } = await startMock()
    const bad = '0'.repeat(64)
    expect([
      await post(endpoint, 'usr_abc123'),
      await post(endpoint, 'usr_abc123'),
      await post(endpoint, 'usr_abc123'),
      await post(endpoint, 'usr_nobody'),
      await post(endpoint, 'usr_abc123', bad),
    ]).toEqual([200, 200, 200, 404, 401])

    // An override for the next two requests shows in the gauge while it is in force.
    const put = await fetch(`${admin}api/simulation`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scenario: 'error', status: 502, count: 2 }),
    })
    expect(put.status).toBe(200)
    const during = await scrapeAfter(admin, 5)
    expect(during.get('talki_override_active{scenario="error",source="admin",replica="replica-a"}')).toBe(1)
    expect([await post(endpoint, 'usr_abc123'), await post(endpoint, 'usr_abc123')]).toEqual([502, 502])

    const after = await scrapeAfter(admin, 7)
    const requests = [...after].filter(([name]) => name.startsWith('talki_endpoint_requests_total'))
    expect(Object.fromEntries(requests)).toEqual({
      'talki_endpoint_requests_total{status="200",scenario="none",replica="replica-a"}': 3,
      'talki_endpoint_requests_total{status="404",scenario="none",replica="replica-a"}': 1,
      'talki_endpoint_requests_total{status="401",scenario="none",replica="replica-a"}': 1,
      'talki_endpoint_requests_total{status="502",scenario="error",replica="replica-a"}': 2,
    })
    // The 401 stopped before the lookup, and the `error` override answers alike for every user, so its two
    // requests were not looked up: 3 + 1 lookups, none failed.
    expect(after.get('talki_store_lookups_total{replica="replica-a"}')).toBe(4)
    expect(
      after.get('talki_store_lookup_failures_total{reason="store_unavailable",replica="replica-a"}'),
    ).toBe(0)
    expect(after.get('talki_store_lookup_failures_total{reason="lookup_timeout",replica="replica-a"}')).toBe(
      0,
    )
    expect(after.get('talki_endpoint_request_duration_seconds_bucket{le="+Inf",replica="replica-a"}')).toBe(7)
    // The count ran out: no override any more.
    expect(after.get('talki_override_active{scenario="none",source="none",replica="replica-a"}')).toBe(0)
    expect(after.has('talki_override_active{scenario="error",source="admin",replica="replica-a"}')).toBe(
      false,
    )
    expect(after.has('process_cpu_seconds_total{replica="replica-a"}')).toBe(true)
  }, 30_000)

  it('shows SIMULATE as the scenario in force, and needs the admin token', async () => {
    const { admin } = await startMock({ SIMULATE: 'slow' })
    const refused = await fetch(`${admin}metrics`)
    expect(refused.status).toBe(401)
    expect(await refused.json()).toEqual({ error: 'unauthorized' })
    const samples = await scrape(admin)
    expect(samples.get('talki_override_active{scenario="slow",source="SIMULATE",replica="replica-a"}')).toBe(
      1,
    )
  }, 30_000)

  it('is not served with METRICS=off', async () => {
    const { admin } = await startMock({ METRICS: 'off' })
    const res = await fetch(`${admin}metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    expect(res.status).toBe(404)
  }, 30_000)

  it('counts the store failing and missing its deadline as lookup failures', async () => {
    const metrics = createMetrics({ replica: 'replica-b' })
    let calls = 0
    const store = {
      // The first lookup throws, the second never answers (the 100 ms deadline passes).
      find: (): Promise<undefined> =>
        ++calls === 1 ? Promise.reject(new Error('connection lost')) : new Promise<undefined>(() => {}),
    }
    const app = createEndpointApp({
      endpointPath: '/talki/customer',
      tokenField: 'userToken',
      secrets: [TEST_SECRET],
      bodyLimit: 16 * 1024,
      lookupTimeoutMs: 100,
      store,
      logger: createLogger('silent'),
      metrics,
    })
    const server = createHttpServer(app)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise((resolve) => server.close(resolve)))
    const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}/talki/customer`
    expect([await post(endpoint, 'usr_abc123'), await post(endpoint, 'usr_abc123')]).toEqual([503, 503])
    const samples = parse(await metrics.render())
    expect(samples.get('talki_store_lookups_total{replica="replica-b"}')).toBe(2)
    expect(
      samples.get('talki_store_lookup_failures_total{reason="store_unavailable",replica="replica-b"}'),
    ).toBe(1)
    expect(
      samples.get('talki_store_lookup_failures_total{reason="lookup_timeout",replica="replica-b"}'),
    ).toBe(1)
  }, 30_000)

  it('counts every request of a stream longer than its batch, by status and scenario, once each', async () => {
    const metrics = createMetrics({ replica: 'replica-c' })
    // 2,500 requests: more than two batches of counts waiting for prom-client, then a scrape, then more.
    for (let i = 0; i < 2500; i += 1) {
      if (i % 5 === 0) metrics.request(null, 'reset', 0.002)
      else metrics.request(200, null, 0.0005)
      metrics.lookup()
    }
    let samples = parse(await metrics.render())
    const requests = (status: string, scenario: string) =>
      samples.get(
        `talki_endpoint_requests_total{status="${status}",scenario="${scenario}",replica="replica-c"}`,
      )
    expect(requests('200', 'none')).toBe(2000)
    expect(requests('none', 'reset')).toBe(500)
    expect(samples.get('talki_endpoint_request_duration_seconds_count{replica="replica-c"}')).toBe(2500)
    expect(
      samples.get('talki_endpoint_request_duration_seconds_bucket{le="0.001",replica="replica-c"}'),
    ).toBe(2000)
    expect(samples.get('talki_endpoint_request_duration_seconds_sum{replica="replica-c"}')).toBeCloseTo(2, 9)
    expect(samples.get('talki_store_lookups_total{replica="replica-c"}')).toBe(2500)

    metrics.request(503, null, 0.004)
    metrics.lookup('store_unavailable')
    samples = parse(await metrics.render())
    expect(requests('200', 'none')).toBe(2000)
    expect(requests('503', 'none')).toBe(1)
    expect(samples.get('talki_endpoint_request_duration_seconds_count{replica="replica-c"}')).toBe(2501)
    expect(samples.get('talki_store_lookups_total{replica="replica-c"}')).toBe(2501)
  })
})
