import { execFile } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_SEED_OPTIONS, writeSeedFile } from '../src/mock/users/seed.js'
import { postgresAvailable } from '../support/engines/postgres.js'
import { hasRedisServer } from '../support/engines/redis.js'
import { build, ROOT } from './process.js'

// A smoke run of `npm run bench` (bench/run.ts --smoke): one second per target, a few connections, 1,000
// users. It checks that the harness measures every target and that every signed request was answered 2xx;
// nothing timed is asserted — benchmarks are not tests.

const run = promisify(execFile)
const TARGETS = ['bare', 'bare-headers', 'vendor', 'project-warn']

function newestSource(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    const time = entry.isDirectory()
      ? newestSource(path)
      : entry.name.endsWith('.ts')
        ? statSync(path).mtimeMs
        : 0
    newest = Math.max(newest, time)
  }
  return newest
}

/** dist/mock/main.js is what the project target runs: built when missing or older than any source file. */
async function ensureBuilt(): Promise<void> {
  const main = join(ROOT, 'dist/mock/main.js')
  let built = 0
  try {
    built = statSync(main).mtimeMs
  } catch {
    built = 0
  }
  if (built < newestSource(join(ROOT, 'src'))) build()
  expect(statSync(main).isFile()).toBe(true)
}

/** The rows of the first Markdown table in `text` whose header starts with `first`, keyed by its header. */
function firstTable(text: string, first = 'target'): Record<string, string>[] {
  const lines = text.split('\n')
  const start = lines.findIndex((line) => line.startsWith(`| ${first} |`))
  if (start < 0) return []
  const cells = (line: string) =>
    line
      .slice(1, -1)
      .split('|')
      .map((cell) => cell.trim())
  const header = cells(lines[start] ?? '')
  const rows: Record<string, string>[] = []
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break
    const values = cells(line)
    rows.push(Object.fromEntries(header.map((key, i) => [key, values[i] ?? ''])))
  }
  return rows
}

/** A temp data dir holding the 1,000-user store smoke mode reads, and a built project; removed after. */
function smokeDataDir(): { dir: string } {
  const data = { dir: '' }
  beforeAll(async () => {
    data.dir = await mkdtemp(join(os.tmpdir(), 'talki-bench-test-'))
    // The harness reuses a store named users-<N>.json; made here with the project's seed, in a temp dir.
    await writeSeedFile({ ...DEFAULT_SEED_OPTIONS, count: 1000, out: join(data.dir, 'users-1000.json') })
    await ensureBuilt()
  }, 120_000)
  afterAll(async () => {
    await rm(data.dir, { recursive: true, force: true })
  })
  return data
}

describe('npm run bench -- --smoke', () => {
  const data = smokeDataDir()

  it('measures the project, the vendor sample and bare node:http with every request answered 2xx', async () => {
    const args = ['--smoke', '--skip-build', '--data-dir', data.dir, '--targets', TARGETS.join(',')]
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
      cwd: ROOT,
      timeout: 45_000,
    })

    const rows = firstTable(stdout)
    expect(rows.map((row) => row.target)).toEqual(TARGETS)
    for (const row of rows) {
      expect(row.users).toBe('1,000')
      expect(Number((row['req/s'] ?? '').replaceAll(',', ''))).toBeGreaterThan(0)
      expect(row['non-2xx']).toBe('0')
      expect(row.errors).toBe('0')
    }
    expect(rows.find((row) => row.target === 'vendor')?.['× vendor']).toBe('1.00×')
    expect(rows.find((row) => row.target === 'bare')?.['× bare']).toBe('1.00×')
    // The targets against bare node:http are read off the run, the answer headers' cost beside them.
    expect(stdout).toMatch(
      /1,000 users: project-warn \d+\.\d\d× bare's throughput \(≥ 0\.9×\): (met|NOT met); server CPU a request/,
    )
    expect(stdout).toMatch(
      /1,000 users: bare with this project's answer headers \(helmet's defaults\) \d+\.\d\d× bare's throughput/,
    )
    // The one pair of these targets measured side by side: both servers at once, each one's CPU a request.
    const pairs = firstTable(stdout, 'a')
    expect(pairs.map((row) => [row.a, row.b, row.users, row['non-2xx'], row.errors])).toEqual([
      ['bare-headers', 'bare', '1,000', '0', '0'],
    ])
    expect(Number(pairs[0]?.['a CPU µs/req'])).toBeGreaterThan(0)
    expect(Number(pairs[0]?.['b CPU µs/req'])).toBeGreaterThan(0)
    expect(pairs[0]?.['a / b CPU (median of rounds)']).toMatch(/^\d+\.\d\d×$/)
    // Smoke mode never overwrites the recorded results.
    expect(stderr).not.toContain('RESULTS.md')
  }, 50_000)
})

describe('npm run bench:profile', () => {
  it("lists a CPU profile's functions by self time, idle samples left out", async () => {
    const dir = await mkdtemp(join(os.tmpdir(), 'talki-profile-test-'))
    try {
      // Three frames: idle 500 µs (left out), `hot` 300 µs in two samples, `cold` 100 µs: busy 400 µs.
      const frame = (id: number, functionName: string, url = '') => ({
        id,
        callFrame: { functionName, url, lineNumber: 9 },
      })
      const profile = {
        nodes: [frame(1, '(idle)'), frame(2, 'hot', 'file:///x/dist/mock/endpoint.js'), frame(3, 'cold')],
        samples: [1, 2, 3, 2],
        timeDeltas: [500, 100, 100, 200],
      }
      const file = join(dir, 'server.cpuprofile')
      await writeFile(file, JSON.stringify(profile))
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/profile-top.ts', file], {
        cwd: ROOT,
        timeout: 15_000,
      })
      expect(stdout).toContain('busy 0 ms')
      const rows = firstTable(stdout, 'self')
      expect(rows).toEqual([
        { self: '75.0 %', function: '`hot dist/mock/endpoint.js:10`' },
        { self: '25.0 %', function: '`cold`' },
      ])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 20_000)

  it('prints its usage for --help, and the usage with exit code 2 for an unknown option', async () => {
    const script = ['--import', 'tsx', 'bench/profile-top.ts']
    const help = await run(process.execPath, [...script, '--help'], { cwd: ROOT, timeout: 15_000 })
    expect(help.stdout).toBe('usage: npm run bench:profile -- <file.cpuprofile> [--top 20]\n')
    const wrong = await run(process.execPath, [...script, '--bogus'], { cwd: ROOT, timeout: 15_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    )
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toMatch(/^bench:profile: Unknown option '--bogus'/)
    expect(wrong.stderr).toContain('usage: npm run bench:profile --')
    expect(wrong.stderr).not.toMatch(/\n\s+at /)
  }, 20_000)
})

describe.runIf(postgresAvailable('the engines bench smoke test') && hasRedisServer())(
  'npm run bench -- --smoke --targets project-engines',
  () => {
    const data = smokeDataDir()

    it('serves the users from a PostgreSQL it starts and fills, with the engines CPU and the replicas rows', async () => {
      const args = ['--smoke', '--skip-build', '--data-dir', data.dir, '--targets', 'project-engines']
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
        cwd: ROOT,
        timeout: 50_000,
      })

      const [row] = firstTable(stdout)
      expect(row?.target).toBe('project-engines')
      expect(row?.['non-2xx']).toBe('0')
      expect(row?.errors).toBe('0')
      // redis-server and PostgreSQL did work for the requests: their CPU is counted.
      expect(Number(row?.['engines CPU µs/req'])).toBeGreaterThan(0)
      const replicaRows = firstTable(stdout.slice(stdout.indexOf('## Replicas on Redis')))
      expect(replicaRows.map((r) => [r['users in'], r.replicas, r['non-2xx'], r.errors])).toEqual([
        ['PostgreSQL', '1', '0', '0'],
        ['PostgreSQL', '2', '0', '0'],
      ])
      for (const replica of replicaRows) expect(Number(replica['PostgreSQL CPU µs/req'])).toBeGreaterThan(0)
    }, 60_000)
  },
)

describe('npm run bench:startup -- --rounds 2', () => {
  beforeAll(ensureBuilt, 120_000)

  it('prints a median, a range and a verdict against the README bounds for npm start, the server and every command', async () => {
    const args = ['--import', 'tsx', 'bench/startup.ts', '--rounds', '2', '--skip-results']
    const { stdout } = await run(process.execPath, args, { cwd: ROOT, timeout: 80_000 })
    const rows = firstTable(stdout, 'what')
    expect(rows.map((row) => row.what)).toEqual([
      'node -e 0',
      'node dist/mock/main.js',
      'npm start',
      'talki-endpoint help',
      'talki-endpoint sign',
      'talki-endpoint send',
      "talki-endpoint send, start-up (requests' own time taken off)",
      'talki-endpoint check',
      "talki-endpoint check, start-up (requests' own time taken off)",
      'talki-endpoint seed',
      'npm run cli -- help',
    ])
    // The times are the benchmark's figures, not the test's: a loaded machine moves them. The test asserts
    // that each was measured and judged against its bound.
    for (const row of rows) expect(row['median ms'], row.what).toMatch(/^\d+$/)
    const judged = rows.filter((row) => row['bound ms'] !== '')
    expect(judged.map((row) => row.what)).toEqual([
      'npm start',
      'talki-endpoint help',
      'talki-endpoint sign',
      "talki-endpoint send, start-up (requests' own time taken off)",
      "talki-endpoint check, start-up (requests' own time taken off)",
      'talki-endpoint seed',
    ])
    for (const row of judged) expect(row['bound ms'], row.what).toMatch(/^(within|NOT within) (1500|250)$/)
    const users = (JSON.parse(await readFile(join(ROOT, 'data/seed.json'), 'utf8')) as { users: unknown[] })
      .users
    expect(stdout).toContain(`\`data/seed.json\`, ${users.length} users`)
  }, 90_000)
})
