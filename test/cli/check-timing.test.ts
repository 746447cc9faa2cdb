import { afterEach, describe, expect, it } from 'vitest'
import { type CheckReport, runCheck } from '../../src/cli/check.js'
import { correctEndpoint } from './fixtures/correct-endpoint.js'
import { FIXTURE_SECRET, KNOWN_TOKEN, listen, type Running } from './fixtures/listen.js'
import { singleWorkerEndpoint } from './fixtures/single-worker-endpoint.js'

// check against endpoints that take Talki's real 5 s or queue past it: each waits out real deadlines
// (about 80 s together here), so they live apart from test/cli/check.test.ts and out of test:quick.

let running: Running | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

async function checkAgainst(
  handler: Parameters<typeof listen>[0],
  options: { concurrency?: number } = {},
): Promise<CheckReport> {
  running = await listen(handler)
  return runCheck({
    url: running.url,
    token: KNOWN_TOKEN,
    secret: FIXTURE_SECRET,
    field: 'userToken',
    timeoutMs: 5000,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
  })
}

function failing(report: CheckReport): string[] {
  return report.rows.filter((row) => !row.pass && !row.advisory).map((row) => row.name)
}

function row(report: CheckReport, name: string) {
  const found = report.rows.find((r) => r.name === name)
  if (!found) throw new Error(`no row named ${name}`)
  return found
}

describe('check, in real time', () => {
  it('names a slow endpoint (5.5 s) and, with --concurrency 20, stays bounded by about two timeouts', async () => {
    const report = await checkAgainst(correctEndpoint({ delayMs: 5500 }), { concurrency: 20 })
    expect(row(report, 'good request → within 5 s')).toMatchObject({ pass: false })
    expect(row(report, 'good request → within 5 s').reason).toMatch(
      /^no answer within 5000 ms — Talki gives up at 5 s/,
    )
    expect(row(report, 'unknown user → 404').pass).toBe(true)
    expect(report.ms).toBeLessThan(11_000)
  }, 60_000)

  it('passes a correct single-worker endpoint (one request at a time, 1.5 s lookups): probes go one by one', async () => {
    const report = await checkAgainst(singleWorkerEndpoint())
    expect(failing(report)).toEqual([])
    expect(report.ok).toBe(true)
    const slowest = Math.max(...report.rows.map((r) => r.ms ?? 0))
    expect(slowest).toBeLessThan(3000)
  }, 90_000)

  it("--concurrency 20 stresses the same single worker until its queue passes Talki's 5 s", async () => {
    const report = await checkAgainst(singleWorkerEndpoint(), { concurrency: 20 })
    expect(report.ok).toBe(false)
    expect(report.rows.some((r) => r.reason.startsWith('no answer within 5000 ms'))).toBe(true)
  }, 90_000)
})
