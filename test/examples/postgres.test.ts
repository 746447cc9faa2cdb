import { type ChildProcess, spawn } from 'node:child_process'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { runCheck } from '../../src/cli/check.js'
import { type PostgresServer, postgresAvailable, startPostgres } from '../engines/postgres.js'
import { postToken, ROOT, sleep, type Wire } from '../process.js'
import { TEST_SECRET } from '../support.js'

// `npm run example -- NAME` with DATABASE_URL: each example as its own process, on an empty database of a
// real PostgreSQL server (the example creates and fills its table), judged by `talki-endpoint check`; then
// the database changed behind its back in SQL, and stopped mid-run.

const HAS_POSTGRES = postgresAvailable('the examples on PostgreSQL')
const EXAMPLES = ['express', 'fastify', 'node-http', 'web'] as const

let postgres: PostgresServer
const running = new Set<ChildProcess>()

/** Starts `src/examples/main.ts NAME` as `npm run example` does (tsx), on a free port; resolves its URL. */
async function startExample(
  name: string,
  env: Record<string, string>,
): Promise<{ url: string; out(): string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/examples/main.ts', name], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', TALKI_SECRET: TEST_SECRET, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.add(child)
  child.once('exit', () => running.delete(child))
  let out = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
  })
  const deadline = performance.now() + 30_000
  for (;;) {
    const url = /listening on (http:\S+)/.exec(out)?.[1]
    if (url) return { url, out: () => out }
    if (child.exitCode !== null || performance.now() > deadline)
      throw new Error(`${name} did not start:\n${out}`)
    await sleep(20)
  }
}

function answered(wire: Wire): { status: number; body: unknown; ms: number } {
  if (wire.kind !== 'response') throw new Error(`expected an answer, got ${JSON.stringify(wire)}`)
  return { status: wire.status, body: JSON.parse(wire.body), ms: wire.ms }
}

describe.runIf(HAS_POSTGRES)('the examples on PostgreSQL', () => {
  beforeAll(async () => {
    postgres = await startPostgres()
  })
  afterEach(async () => {
    await Promise.all(
      [...running].map(
        (child) =>
          new Promise<void>((resolve) => {
            child.once('exit', () => resolve())
            child.kill('SIGKILL')
          }),
      ),
    )
  })
  afterAll(async () => {
    await postgres?.close()
  })

  for (const name of EXAMPLES) {
    it(`${name}: creates and fills its table in an empty database, and passes every row of check`, async () => {
      const database = `example_${name.replace('-', '_')}`
      const databaseUrl = await postgres.createDatabase(database)
      const example = await startExample(name, { DATABASE_URL: databaseUrl })
      expect(example.out()).toContain('users in PostgreSQL')
      const [count] = await postgres.sql<{ n: number }>(
        'SELECT count(*)::int AS n FROM talki_users',
        [],
        database,
      )
      expect(count?.n).toBeGreaterThan(50)
      const report = await runCheck({
        url: new URL(example.url),
        token: 'usr_abc123',
        secret: TEST_SECRET,
        field: 'userToken',
        timeoutMs: 5000,
      })
      const failed = report.rows.filter((row) => !row.pass)
      expect(failed).toEqual([])
      expect(report.ok).toBe(true)
      expect(report.rows.length).toBeGreaterThan(10)
    })
  }

  it('node-http: serves a name changed in SQL at once; 503 store_unavailable while the server is stopped, then back', async () => {
    const databaseUrl = await postgres.createDatabase('example_faults')
    const example = await startExample('node-http', { DATABASE_URL: databaseUrl, LOOKUP_TIMEOUT_MS: '1500' })
    await postgres.sql(
      `UPDATE talki_users SET profile = '{"name":"Changed in SQL"}' WHERE user_token = 'usr_abc123'`,
      [],
      'example_faults',
    )
    expect(answered(await postToken(example.url, 'usr_abc123'))).toMatchObject({
      status: 200,
      body: { name: 'Changed in SQL' },
    })
    await postgres.stop()
    try {
      const answer = answered(await postToken(example.url, 'usr_abc123'))
      expect(answer).toMatchObject({ status: 503, body: { error: 'store_unavailable' } })
      expect(answer.ms).toBeLessThan(1500)
    } finally {
      await postgres.start()
    }
    expect(answered(await postToken(example.url, 'usr_abc123'))).toMatchObject({
      status: 200,
      body: { name: 'Changed in SQL' },
    })
  })

  it('refuses to start, in one line with the password masked, when the database cannot be reached', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/examples/main.ts', 'express'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        PORT: '0',
        TALKI_SECRET: TEST_SECRET,
        DATABASE_URL: 'postgres://talki:hunter2-example@127.0.0.1:1/talki',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    expect(code).toBe(1)
    expect(stderr.trim().split('\n')).toEqual([
      'Cannot reach PostgreSQL at DATABASE_URL=postgres://talki:***@127.0.0.1:1/talki: connect ECONNREFUSED 127.0.0.1:1',
    ])
  })
})
