import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { type CheckReport, runCheck } from '../../src/cli/check.js'
import { formatJson, formatTable } from '../../src/cli/check-output.js'
import { correctEndpoint } from './fixtures/correct-endpoint.js'
import {
  bodyParsedFirstEndpoint,
  getQueryEndpoint,
  OTHER_TOKEN,
  sharedStateEndpoint,
  signingOracleEndpoint,
} from './fixtures/defective-endpoints.js'
import { FIXTURE_SECRET, KNOWN_TOKEN, listen, type Running } from './fixtures/listen.js'

let running: Running | undefined
let child: ChildProcess | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
  child?.kill()
  child = undefined
})

const options = (url: URL, otherTokens: string[] = []) => ({
  url,
  token: KNOWN_TOKEN,
  otherTokens,
  secret: FIXTURE_SECRET,
  field: 'userToken',
  timeoutMs: 5000,
})

function failing(report: CheckReport): string[] {
  return report.rows.filter((row) => !row.pass && !row.advisory).map((row) => row.id)
}

/** Runs a line through bash with TALKI_SECRET set, as a person pasting it would. */
function bash(line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['-c', line],
      { env: { ...process.env, TALKI_SECRET: FIXTURE_SECRET }, timeout: 20_000 },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    )
  })
}

describe('check v2 catches the defects one-at-a-time probes miss', () => {
  it('a signing oracle (a 401 naming the expected signature), and its curl line reproduces it without the secret', async () => {
    running = await listen(signingOracleEndpoint())
    const report = await runCheck(options(running.url))
    expect(report.ok).toBe(false)
    expect(failing(report)).toEqual(['leak.errors'])
    const leak = report.rows.find((row) => row.id === 'leak.errors')
    expect(leak?.reason).toMatch(
      /carries the signature the endpoint expected \(in its body\): a signing oracle/,
    )
    const table = formatTable(report, { color: false })
    expect(table).not.toContain(FIXTURE_SECRET)
    const repeat = table.split('\n').find((line) => line.startsWith('      repeat: '))
    expect(repeat).toBeDefined()
    const line = (repeat as string).slice('      repeat: '.length)
    const output = await bash(line)
    expect(output).toMatch(/^HTTP\/1\.1 401/)
    expect(output).toMatch(/"expected":"[0-9a-f]{64}"/)
    const json = JSON.parse(formatJson(report))
    const row = json.rows.find((r: { id: string }) => r.id === 'leak.errors')
    expect(row).toMatchObject({ verdict: 'FAIL', request: { method: 'POST' }, answer: { status: 401 } })
    expect(row.answer.body.length).toBeLessThanOrEqual(500)
    expect(JSON.stringify(json)).not.toContain(FIXTURE_SECRET)
  }, 60_000)

  it('a GET with the token in the query string that serves the profile', async () => {
    running = await listen(getQueryEndpoint())
    const report = await runCheck(options(running.url))
    expect(failing(report)).toEqual(['unsigned.get-query'])
    const table = formatTable(report, { color: false })
    const line = (table.split('\n').find((l) => l.startsWith('      repeat: ')) as string).slice(14)
    expect(await bash(line)).toContain('Alice Johnson')
  }, 60_000)

  it('state shared across an await: answers cross between users under concurrency', async () => {
    running = await listen(sharedStateEndpoint())
    const report = await runCheck(options(running.url, [OTHER_TOKEN]))
    expect(failing(report)).toEqual(['burst.own-answers'])
    expect(report.rows.find((row) => row.id === 'burst.own-answers')?.reason).toMatch(
      /was answered (the profile of "[^"]+"|another profile|a profile): answers cross between users/,
    )
  }, 60_000)

  it('a body parser that ran before the HMAC: the reason names it', async () => {
    running = await listen(bodyParsedFirstEndpoint())
    const report = await runCheck(options(running.url))
    expect(report.ok).toBe(false)
    expect(report.rows.find((row) => row.id === 'hmac.raw-body')?.reason).toMatch(
      /^a body parser read the body before the HMAC: .*signed over an empty body is accepted/,
    )
  }, 60_000)

  it('a wrong secret is named as a possible cause, not a parser', async () => {
    running = await listen(correctEndpoint({ secret: 'another-secret' }))
    const report = await runCheck(options(running.url))
    expect(report.rows.find((row) => row.id === 'hmac.raw-body')?.reason).toMatch(
      /^every signed request is refused.*: the secret differs from the one given/,
    )
  }, 60_000)

  it('plain http:// to a host that is not this machine fails before anything is sent', async () => {
    const report = await runCheck(options(new URL('http://talki-check.invalid/talki/customer')))
    expect(report.rows).toHaveLength(1)
    expect(report.rows[0]).toMatchObject({ id: 'url.https', pass: false })
    expect(report.rows[0]?.reason).toMatch(/Talki calls HTTPS URLs only.*nothing was sent$/)
    expect(report.rows[0]?.result).toBeUndefined()
  })

  it('a Python (http.server) signing oracle', async () => {
    const script = fileURLToPath(new URL('./fixtures/oracle_endpoint.py', import.meta.url))
    child = spawn('/usr/bin/python3', [script, FIXTURE_SECRET], { stdio: ['ignore', 'pipe', 'inherit'] })
    const port = await new Promise<string>((resolve) =>
      child?.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim())),
    )
    const report = await runCheck(options(new URL(`http://127.0.0.1:${port}/talki/customer`)))
    expect(failing(report)).toEqual(['leak.errors'])
  }, 60_000)

  it('keeps passing a correct endpoint that answers only {"name": …}, with two known tokens', async () => {
    running = await listen(correctEndpoint({ answer: { name: 'Alice Johnson' } }))
    const report = await runCheck(options(running.url))
    expect(failing(report)).toEqual([])
  }, 60_000)
})
