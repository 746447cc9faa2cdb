import { execFile, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { build, privateBuildDir, ROOT, requestJson, sleep } from '../process.js'

// `npm run demo` as a presenter runs it: scripts/demo.mjs starts the built server with TALKI_TIMING=demo and
// prints a numbered script; the script's `send` against a slow user takes the demo's 1.5 s + 1 s + 1.5 s,
// not Talki's real 5 s + 3 s + 5 s.

const BUILD_DIR = privateBuildDir('demo-test')
let dir = ''
const children: ReturnType<typeof spawn>[] = []

beforeAll(async () => {
  build(BUILD_DIR)
  dir = await mkdtemp(join(tmpdir(), 'talki-demo-'))
}, 120_000)

afterAll(async () => {
  for (const child of children) child.kill('SIGTERM')
  await sleep(300)
  await rm(dir, { recursive: true, force: true })
})

async function startDemo(dataFile: string): Promise<{ script: string[]; stdout: () => string }> {
  const child = spawn(process.execPath, [join(ROOT, 'scripts/demo.mjs'), join(BUILD_DIR, 'mock/main.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      ADMIN_PORT: '0',
      DATA_FILE: dataFile,
      LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let stdout = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  const deadline = performance.now() + 20_000
  while (!/^ {2}5\. /m.test(stdout)) {
    if (performance.now() > deadline || child.exitCode !== null) throw new Error(`no demo script:\n${stdout}`)
    await sleep(50)
  }
  return { script: stdout.split('\n').filter((line) => /^ {2}\d\. /.test(line)), stdout: () => stdout }
}

describe('npm run demo', () => {
  it('prints a numbered script whose send plays the demo timing against a slow user', async () => {
    const dataFile = join(dir, 'demo.json')
    const demo = await startDemo(dataFile)
    expect(demo.script.map((line) => line.trim().slice(0, 2))).toEqual(['1.', '2.', '3.', '4.', '5.'])
    expect(demo.script.map((line) => /^ {2}\d\. ([a-z ]+):/.exec(line)?.[1])).toEqual([
      'seed',
      'send',
      'simulate slow',
      'see retry',
      'clear',
    ])
    expect(demo.stdout()).toContain("Talki's timeout 1.5 s and its retry after 1 s")

    // The start-up log and the admin API name the timing in force.
    const logLine = demo
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: string; timeoutMs?: number; retryDelayMs?: number })
      .find((line) => line.msg?.startsWith('TALKI_TIMING=demo'))
    expect(logLine).toMatchObject({ timeoutMs: 1500, retryDelayMs: 1000 })
    const admin = /curl -s -X POST (http:\/\/127\.0\.0\.1:\d+\/)api\/reset/.exec(demo.script[0] ?? '')?.[1]
    expect(admin).toBeDefined()
    const timing = await requestJson('GET', `${admin}api/timing`)
    expect(timing.body).toEqual({ timing: 'demo', timeoutMs: 1500, retryDelayMs: 1000 })

    // Step 2's command, as printed, with the slow seed user (6 s, past any Talki timeout) and the built CLI.
    const send =
      /^ {2}2\. send: +TALKI_TIMING=(\S+) DATA_FILE=(\S+) npm run cli -- send usr_abc123 --url (\S+)$/.exec(
        demo.script[1] ?? '',
      )
    expect(send?.slice(1, 3)).toEqual(['demo', dataFile])
    const started = performance.now()
    const result = await promisify(execFile)(
      process.execPath,
      [join(BUILD_DIR, 'cli/main.js'), 'send', 'usr_slow', '--url', send?.[3] ?? ''],
      { env: { PATH: process.env.PATH ?? '', TALKI_TIMING: 'demo', DATA_FILE: dataFile } },
    ).catch((error: { code: number; stdout: string }) => error)
    const ms = performance.now() - started
    expect(result.stdout).toContain("TALKI_TIMING=demo: 1.5 s timeout, retry after 1 s (Talki's own: 5 s")
    expect(result.stdout).toContain('attempt 1: no answer within 1500 ms')
    expect(result.stdout).toContain('retrying in 1 s, as Talki does')
    expect(result.stdout).toContain('attempt 2: no answer within 1500 ms')
    expect(result.stdout).toContain('Talki would skip')
    // 1.5 + 1 + 1.5 s plus the CLI's start; Talki's real timing would take 13 s.
    expect(ms).toBeGreaterThan(3_900)
    expect(ms).toBeLessThan(9_000)
  }, 60_000)
})
