import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { CheckReport } from '../../src/cli/check.js'
import { formatJunit } from '../../src/cli/junit.js'
import { run } from '../../src/cli/main.js'
import { correctEndpoint } from './fixtures/correct-endpoint.js'
import { parseJunit } from './fixtures/junit-xml.js'
import { FIXTURE_SECRET, KNOWN_TOKEN, listen, type Running } from './fixtures/listen.js'
import { checkRowCount } from './fixtures/row-count.js'
import { vendorNodeSample } from './fixtures/vendor-node-sample.js'

const ROWS = checkRowCount()

function reportOf(rows: CheckReport['rows']): CheckReport {
  const failed = rows.filter((row) => !row.pass && !row.advisory).length
  const warnings = rows.filter((row) => !row.pass && row.advisory).length
  return {
    url: 'http://127.0.0.1:5055/talki/customer?a=1&b=2',
    token: 'usr_<abc>',
    tokens: ['usr_<abc>'],
    tls: {},
    timeoutMs: 5000,
    ok: failed === 0,
    passed: rows.length - failed - warnings,
    failed,
    warnings,
    ms: 1234,
    rows,
  }
}

describe('formatJunit', () => {
  it('writes one test case per row with counts, times and the reason as the failure message', () => {
    const report = reportOf([
      { id: 'good.status', name: 'good request → 200', pass: true, reason: '200', status: 200, ms: 12 },
      {
        id: 'good.cache-control',
        name: 'Cache-Control: no-store',
        pass: false,
        advisory: true,
        reason: 'Cache-Control is absent',
      },
      {
        id: 'sig.short',
        name: 'short signature → 401',
        pass: false,
        reason: '500 — crashed on a short signature',
        ms: 3,
      },
    ])
    const { root, suite, cases } = parseJunit(formatJunit(report))
    for (const node of [root, suite]) {
      expect(node).toMatchObject({ '@_tests': '3', '@_failures': '1', '@_errors': '0', '@_time': '1.234' })
    }
    expect(suite['@_name']).toBe('talki-endpoint check http://127.0.0.1:5055/talki/customer?a=1&b=2')
    expect(suite.properties.property).toContainEqual({ '@_name': 'token', '@_value': 'usr_<abc>' })
    expect(cases.map((c) => c['@_name'])).toEqual(report.rows.map((row) => row.name))
    expect(cases.map((c) => c['@_time'])).toEqual(['0.012', '0.000', '0.003'])
    expect(cases[0]?.failure).toBeUndefined()
    expect(cases[0]?.['system-out']).toBe('200')
    // An advisory row is a warning, as in the table: not a failure.
    expect(cases[1]?.failure).toBeUndefined()
    expect(cases[1]?.['system-out']).toBe('WARN: Cache-Control is absent')
    expect(cases[2]?.failure).toMatchObject({
      '@_message': '500 — crashed on a short signature',
      '#text': '500 — crashed on a short signature',
    })
  })

  it('escapes what XML reserves and replaces what it cannot hold', () => {
    const reason = `got <b>"quoted" & 'single'</b>\nline two\ttab \u0001\u001b[31m \ud800 ✓ 👍`
    const report = reportOf([{ id: 'odd', name: 'odd <row> & "name"', pass: false, reason }])
    const xml = formatJunit(report)
    expect(xml.includes('\u0001') || xml.includes('\u001b')).toBe(false)
    const { cases } = parseJunit(xml)
    const expected = `got <b>"quoted" & 'single'</b>\nline two\ttab \ufffd\ufffd[31m \ufffd ✓ 👍`
    expect(cases[0]?.['@_name']).toBe('odd <row> & "name"')
    // Newlines and tabs survive in the attribute as character references.
    expect(cases[0]?.failure?.['@_message']).toBe(expected)
    expect(cases[0]?.failure?.['#text']).toBe(expected)
  })
})

describe('check --junit FILE', () => {
  let dir: string
  const endpoints: Running[] = []
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'talki-junit-'))
  })
  afterEach(async () => {
    await Promise.all(endpoints.splice(0).map((endpoint) => endpoint.close()))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  async function serve(handler: Parameters<typeof listen>[0]): Promise<URL> {
    const endpoint = await listen(handler)
    endpoints.push(endpoint)
    return endpoint.url
  }

  async function check(url: URL, extra: string[]) {
    let stdout = ''
    let stderr = ''
    const code = await run({
      argv: ['check', '--url', url.href, '--token', KNOWN_TOKEN, '--secret', FIXTURE_SECRET, ...extra],
      env: {},
      stdout: { write: (text: string) => (stdout += text), isTTY: false },
      stderr: { write: (text: string) => (stderr += text) },
      stdin: Readable.from([]),
    })
    return { code, stdout, stderr }
  }

  it('writes the same verdicts as --json: every row, and each failing row with its reason', async () => {
    const file = join(dir, 'vendor.xml')
    const result = await check(await serve(vendorNodeSample()), ['--json', '--junit', file])
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout) as CheckReport
    const { suite, cases } = parseJunit(await readFile(file, 'utf8'))
    expect(suite['@_tests']).toBe(String(report.rows.length))
    expect(suite['@_failures']).toBe(String(report.failed))
    expect(report.failed).toBe(5)
    const failures = cases.filter((c) => c.failure !== undefined)
    expect(failures.map((c) => [c['@_name'], c.failure?.['@_message']])).toEqual(
      report.rows.filter((row) => !row.pass && !row.advisory).map((row) => [row.name, row.reason]),
    )
  })

  it('writes a suite without failures for a correct endpoint, beside the table', async () => {
    const file = join(dir, 'good.xml')
    const result = await check(await serve(correctEndpoint()), ['--junit', file])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`${ROWS} passed, 0 failed`)
    const { suite, cases } = parseJunit(await readFile(file, 'utf8'))
    expect(suite).toMatchObject({ '@_tests': String(ROWS), '@_failures': '0' })
    expect(cases).toHaveLength(ROWS)
    expect(cases.every((c) => c.failure === undefined)).toBe(true)
  })

  it('exits 2 with one line when the file cannot be written', async () => {
    const url = await serve(correctEndpoint())
    const result = await check(url, ['--junit', join(dir, 'no-such-folder', 'report.xml')])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^talki-endpoint: cannot write --junit .*no-such-folder.*ENOENT/)
    expect(result.stderr.split('\n')).toHaveLength(3)
  })
})
