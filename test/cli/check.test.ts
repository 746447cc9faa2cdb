import { afterEach, describe, expect, it } from 'vitest'
import { type CheckReport, runCheck } from '../../src/cli/check.js'
import { formatJson, formatTable } from '../../src/cli/check-output.js'
import { correctEndpoint } from './fixtures/correct-endpoint.js'
import { flaskSamplePort } from './fixtures/flask-sample-port.js'
import { closedPort, FIXTURE_SECRET, KNOWN_TOKEN, listen, type Running } from './fixtures/listen.js'
import { reserialisingEndpoint } from './fixtures/reserialising-endpoint.js'
import { checkRowCount } from './fixtures/row-count.js'
import { vendorNodeSample } from './fixtures/vendor-node-sample.js'

const ROWS = checkRowCount()

let running: Running | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

async function checkAgainst(
  handler: Parameters<typeof listen>[0],
  options: { timeoutMs?: number; concurrency?: number } = {},
): Promise<CheckReport> {
  running = await listen(handler)
  return runCheck({
    url: running.url,
    token: KNOWN_TOKEN,
    secret: FIXTURE_SECRET,
    field: 'userToken',
    timeoutMs: options.timeoutMs ?? 5000,
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

describe('check', () => {
  it('passes every row on a correct endpoint', async () => {
    const report = await checkAgainst(correctEndpoint())
    expect(failing(report)).toEqual([])
    expect(report.warnings).toBe(0)
    expect(report.ok).toBe(true)
    expect(report.rows.map((r) => r.name)).toEqual([
      'good request → 200',
      'good request → JSON content type',
      'good request → valid profile',
      'good request → within 5 s',
      'Cache-Control: no-store',
      'missing signature → 401',
      'empty signature → 401',
      'short signature → 401',
      'long signature → 401',
      'non-hex signature → 401',
      'non-ASCII signature → 401',
      '"sha256=" prefixed signature → 401',
      'wrong-secret signature → 401',
      'other-body signature → 401',
      'odd whitespace, signed as sent → 200',
      'reordered keys, signed as sent → 200',
      'unicode body, signed as sent → 200',
      'unknown user → 404',
      'unknown user "__proto__" → 404',
      'unknown user "constructor" → 404',
      'non-JSON body, good signature → 4xx',
      'body without "userToken" → 4xx',
      'unsigned GET ?userToken= → no profile',
      'unsigned GET with the body → no profile',
      'unsigned HEAD ?userToken= → no profile',
      'unsigned PUT ?userToken= → no profile',
      'unsigned PUT with the body → no profile',
      'unsigned DELETE ?userToken= → no profile',
      'unsigned DELETE with the body → no profile',
      'unsigned POST ?userToken= → no profile',
      'concurrent answers belong to the token asked',
      'error answers leak nothing',
      'HMAC over the raw body, before parsing',
    ])
    expect(new Set(report.rows.map((r) => r.id)).size).toBe(report.rows.length)
    expect(row(report, 'good request → within 5 s').reason).toMatch(/^answered in \d+ ms, \d+ ms to spare$/)
  })

  it("names the vendor Node sample's timingSafeEqual crash on wrong-length signatures", async () => {
    const report = await checkAgainst(vendorNodeSample())
    expect(failing(report)).toEqual([
      'short signature → 401',
      'long signature → 401',
      'non-ASCII signature → 401',
      '"sha256=" prefixed signature → 401',
      'non-JSON body, good signature → 4xx',
    ])
    expect(row(report, 'short signature → 401').reason).toMatch(
      /^500 — crashed on a 32-digit signature: .*64 hex/,
    )
    expect(row(report, 'short signature → 401').status).toBe(500)
    // It never sends Cache-Control: a warning that does not fail the run on its own.
    expect(row(report, 'Cache-Control: no-store')).toMatchObject({ pass: false, advisory: true })
    expect(report.warnings).toBe(1)
  })

  it('names an endpoint that re-serialises JSON before verifying', async () => {
    const report = await checkAgainst(reserialisingEndpoint())
    expect(failing(report)).toEqual([
      'odd whitespace, signed as sent → 200',
      'unicode body, signed as sent → 200',
      'HMAC over the raw body, before parsing',
    ])
    expect(row(report, 'HMAC over the raw body, before parsing').reason).toMatch(
      /^a body parser ran before the HMAC: .*raw\.whitespace, raw\.unicode/,
    )
    expect(row(report, 'unicode body, signed as sent → 200').reason).toContain('not re-serialised JSON')
  })

  it("names the Flask sample's 500s: unknown user, non-JSON, missing token, non-ASCII header", async () => {
    const report = await checkAgainst(flaskSamplePort())
    expect(failing(report)).toEqual([
      'non-ASCII signature → 401',
      'unknown user → 404',
      'unknown user "__proto__" → 404',
      'unknown user "constructor" → 404',
      'non-JSON body, good signature → 4xx',
      'body without "userToken" → 4xx',
      'concurrent answers belong to the token asked',
    ])
    expect(row(report, 'unknown user → 404').reason).toBe(
      '500 — crashed on an unknown user: answer 404 when the lookup finds nobody',
    )
  })

  it('names a wrong shape: plan a number, a nested object in fields', async () => {
    const report = await checkAgainst(
      correctEndpoint({ answer: { name: 'Alice', plan: 3, fields: { ok: true, nested: { deep: 1 } } } }),
    )
    expect(failing(report)).toEqual(['good request → valid profile'])
    const { reason } = row(report, 'good request → valid profile')
    expect(reason).toContain('plan: expected string, received number')
    expect(reason).toContain('fields.nested: expected a string, number or boolean')
  })

  it('fails a JSON array answer and a text/plain content type', async () => {
    const report = await checkAgainst((_req, res) => {
      _req.resume()
      _req.on('end', () => res.writeHead(200, { 'Content-Type': 'text/plain' }).end('[1,2]'))
    })
    expect(row(report, 'good request → JSON content type').reason).toBe(
      'Content-Type is text/plain; answer with application/json',
    )
    expect(row(report, 'good request → valid profile').reason).toMatch(
      /^the answer is an array, not a JSON object/,
    )
    // It answers 200 to everything: every bad signature is "accepted".
    expect(row(report, 'missing signature → 401').reason).toMatch(
      /^200 — accepted a request without X-Talki-Signature/,
    )
  })

  it('fails a profile wrapped in {"data":…}: Talki would show an empty panel', async () => {
    const report = await checkAgainst(
      correctEndpoint({ answer: { data: { name: 'Alice Johnson', plan: 'pro' } } }),
    )
    expect(failing(report)).toEqual(['good request → valid profile'])
    expect(row(report, 'good request → valid profile').reason).toBe(
      'the profile is wrapped in "data": Talki reads name, email, plan and fields at the top level and would show an empty panel — answer the object inside "data" itself',
    )
  })

  it('fails a renamed profile (fullName, mail) and passes an empty one ({} is a user with nothing to show)', async () => {
    const renamed = await checkAgainst(
      correctEndpoint({ answer: { fullName: 'Alice Johnson', mail: 'a@x.io' } }),
    )
    expect(failing(renamed)).toEqual(['good request → valid profile'])
    expect(row(renamed, 'good request → valid profile').reason).toBe(
      'the answer has none of name, email, plan, fields, only fullName, mail: Talki would show an empty panel — rename them to name, email, plan, and put anything else inside fields',
    )
    await running?.close()
    const empty = await checkAgainst(correctEndpoint({ answer: {} }))
    expect(failing(empty)).toEqual([])
  })

  it('fails users kept in a plain object: "__proto__" and "constructor" are found', async () => {
    const report = await checkAgainst(correctEndpoint({ plainObjectUsers: true }))
    expect(failing(report)).toEqual(['unknown user "__proto__" → 404', 'unknown user "constructor" → 404'])
    expect(row(report, 'unknown user "__proto__" → 404').reason).toBe(
      '200 — "__proto__" was found as a user: look users up with a Map or Object.hasOwn, not plain-object indexing (users["__proto__"] is inherited)',
    )
  })

  it('says what to change on every failing row, even for an endpoint that answers 403 to everything', async () => {
    const report = await checkAgainst((req, res) => {
      req.resume()
      req.on('end', () =>
        res.writeHead(403, { 'Content-Type': 'application/json' }).end('{"error":"forbidden"}'),
      )
    })
    const failed = report.rows.filter((r) => !r.pass)
    expect(failed.length).toBeGreaterThan(10)
    for (const r of failed) {
      expect({ name: r.name, reason: r.reason }).toEqual({
        name: r.name,
        reason: expect.stringMatching(/(: |; | — ).*\b(answer|verify|compute|check|is --token|does|fix)/),
      })
    }
  })

  it('fails cleanly with one row on a closed port', async () => {
    const url = await closedPort()
    const report = await runCheck({
      url,
      token: KNOWN_TOKEN,
      secret: FIXTURE_SECRET,
      field: 'userToken',
      timeoutMs: 2000,
    })
    expect(report.ok).toBe(false)
    expect(report.rows).toHaveLength(1)
    expect(report.rows[0]).toMatchObject({
      id: 'reachable',
      name: 'endpoint reachable',
      pass: false,
      reason: `connection refused by ${url.host} (is the endpoint running?)`,
    })
  })

  it('prints a plain table without colour and a JSON report for machines', async () => {
    const report = await checkAgainst(vendorNodeSample())
    const table = formatTable(report, { color: false })
    expect(table).not.toContain('\x1b[')
    expect(table).toMatch(/^FAIL {2}short signature → 401 +500 — crashed/m)
    expect(table).toMatch(/^WARN {2}Cache-Control: no-store +Cache-Control is absent/m)
    expect(table.trimEnd().split('\n').at(-1)).toMatch(
      new RegExp(`^${ROWS - 6} passed, 5 failed, 1 warning in \\d+ ms — not ready for Talki`),
    )
    expect(formatTable(report, { color: true })).toContain('\x1b[31mFAIL\x1b[0m')
    const json = JSON.parse(formatJson(report))
    expect(json).toMatchObject({ ok: false, passed: ROWS - 6, failed: 5, warnings: 1, token: KNOWN_TOKEN })
    expect(json.rows[7]).toMatchObject({ name: 'short signature → 401', pass: false, status: 500 })
  })
})
