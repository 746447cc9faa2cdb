import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { runCheck } from '../../src/cli/check.js'
import { type PostgresServer, postgresAvailable, startPostgres } from '../../support/engines/postgres.js'
import { checkRowCount } from '../cli/fixtures/row-count.js'
import { killAll, postToken, ROOT, type ServerProcess, sleep, startServer, type Wire } from '../process.js'
import { TEST_SECRET } from '../support.js'

// Each example as an integrator runs it (`npm run example -- NAME` is `tsx src/examples/main.ts NAME`),
// started as its own process, judged by `talki-endpoint check`, then stopped with SIGTERM — on the Map
// store, and with DATABASE_URL on a real PostgreSQL server started for this file.

const HAS_POSTGRES = postgresAvailable('the examples on PostgreSQL')

const ENTRY = `${ROOT}src/examples/main.ts`
const NAMES = ['express', 'fastify', 'node-http', 'web'] as const

function startExample(args: string[], env: Record<string, string> = {}): ServerProcess {
  return startServer(
    { NODE_OPTIONS: '--import tsx', PORT: '0', HOST: '127.0.0.1', TALKI_SECRET: TEST_SECRET, ...env },
    ENTRY,
    args,
  )
}

/** The URL of the "listening" line, once printed. */
async function listeningUrl(example: ServerProcess, timeoutMs = 20_000): Promise<URL> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const match = / listening on (https?:\/\/\S+)/.exec(example.stdout())
    if (match?.[1]) return new URL(match[1])
    if (performance.now() > deadline) {
      throw new Error(`no "listening" line\nstdout: ${example.stdout()}\nstderr: ${example.stderr()}`)
    }
    await sleep(20)
  }
}

afterEach(killAll)

/** Every row of `talki-endpoint check` passes against `url`. */
async function expectCheckPasses(url: URL): Promise<void> {
  const report = await runCheck({
    url,
    token: 'usr_abc123',
    secret: TEST_SECRET,
    field: 'userToken',
    timeoutMs: 5000,
  })
  expect(report.rows.filter((row) => !row.pass)).toStrictEqual([])
  expect(report.ok).toBe(true)
  expect(report.rows).toHaveLength(checkRowCount(url))
}

describe('npm run example -- NAME', () => {
  for (const name of NAMES) {
    it(`serves ${name}: every row of talki-endpoint check passes, and SIGTERM exits 0`, async () => {
      const example = startExample([name], { ENDPOINT_PATH: '/hooks/talki' })
      const url = await listeningUrl(example)
      expect(url.pathname).toBe('/hooks/talki')
      expect(example.stdout()).toMatch(
        new RegExp(
          `^${name} example listening on http://127\\.0\\.0\\.1:\\d+/hooks/talki \\(\\d+ users of .*seed\\.json in memory; secret from TALKI_SECRET\\)\\n$`,
        ),
      )

      await expectCheckPasses(url)

      example.child.kill('SIGTERM')
      expect(await example.exited).toMatchObject({ code: 0, signal: null })
      expect(example.stderr()).toBe('')
    }, 60_000)
  }

  it('verifies with the development secret file beside DATA_FILE when TALKI_SECRET is unset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'talki-example-'))
    try {
      const secret = 'dev-secret-from-file-0123456789'
      writeFileSync(join(dir, '.secret'), `${secret}\n`, { mode: 0o600 })
      const example = startServer(
        { NODE_OPTIONS: '--import tsx', PORT: '0', HOST: '127.0.0.1', DATA_FILE: join(dir, 'db.json') },
        ENTRY,
        ['node-http'],
      )
      const url = await listeningUrl(example)
      expect(example.stdout()).toContain(`secret from ${join(dir, '.secret')}`)
      const report = await runCheck({ url, token: 'usr_abc123', secret, field: 'userToken', timeoutMs: 5000 })
      expect(report.rows.filter((row) => !row.pass)).toStrictEqual([])
      example.child.kill('SIGINT')
      expect((await example.exited).code).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it('answers an unknown NAME with the usage line and exit code 2', async () => {
    const example = startExample(['koa'])
    expect((await example.exited).code).toBe(2)
    expect(example.stderr()).toBe('usage: npm run example -- express|fastify|node-http|web\n')
    expect(example.stdout()).toBe('')
  }, 30_000)

  it('stops at a bad BODY_LIMIT with one line naming it and exit code 1', async () => {
    const example = startExample(['web'], { BODY_LIMIT: 'lots' })
    expect((await example.exited).code).toBe(1)
    expect(example.stderr()).toMatch(/^Invalid configuration: BODY_LIMIT must be a size .*\n$/)
  }, 30_000)
})

function answered(wire: Wire): { status: number; body: unknown; ms: number } {
  if (wire.kind !== 'response') throw new Error(`expected an answer, got ${JSON.stringify(wire)}`)
  return { status: wire.status, body: JSON.parse(wire.body), ms: wire.ms }
}

describe.runIf(HAS_POSTGRES)('npm run example -- NAME with DATABASE_URL (PostgreSQL)', () => {
  let postgres: PostgresServer
  beforeAll(async () => {
    postgres = await startPostgres()
  })
  afterAll(async () => {
    await postgres?.close()
  })

  for (const name of NAMES) {
    it(`serves ${name} from an empty database it fills: every row of check passes, and SIGTERM exits 0`, async () => {
      const database = `example_${name.replace('-', '_')}`
      const example = startExample([name], { DATABASE_URL: await postgres.createDatabase(database) })
      const url = await listeningUrl(example)
      expect(example.stdout()).toMatch(
        new RegExp(
          `^${name} example listening on http://127\\.0\\.0\\.1:\\d+/talki/customer \\(users in PostgreSQL at postgres://postgres@127\\.0\\.0\\.1:\\d+/${database}, \\d+ seeded from .*seed\\.json; secret from TALKI_SECRET\\)\\n$`,
        ),
      )
      const [count] = await postgres.sql<{ n: number }>(
        'SELECT count(*)::int AS n FROM talki_users',
        [],
        database,
      )
      expect(count?.n).toBeGreaterThan(50)
      await expectCheckPasses(url)
      example.child.kill('SIGTERM')
      expect(await example.exited).toMatchObject({ code: 0, signal: null })
      expect(example.stderr()).toBe('')
    }, 60_000)
  }

  it('serves a name changed in SQL at once; 503 store_unavailable while the database is stopped, then back', async () => {
    const database = 'example_faults'
    const example = startExample(['node-http'], {
      DATABASE_URL: await postgres.createDatabase(database),
      LOOKUP_TIMEOUT_MS: '1500',
    })
    const url = await listeningUrl(example)
    await postgres.sql(
      `UPDATE talki_users SET profile = '{"name":"Changed in SQL"}' WHERE user_token = 'usr_abc123'`,
      [],
      database,
    )
    expect(answered(await postToken(url, 'usr_abc123'))).toMatchObject({
      status: 200,
      body: { name: 'Changed in SQL' },
    })
    await postgres.stop()
    try {
      const answer = answered(await postToken(url, 'usr_abc123'))
      expect(answer).toMatchObject({ status: 503, body: { error: 'store_unavailable' } })
      expect(answer.ms).toBeLessThan(1500)
    } finally {
      await postgres.start()
    }
    expect(answered(await postToken(url, 'usr_abc123'))).toMatchObject({
      status: 200,
      body: { name: 'Changed in SQL' },
    })
    expect(example.child.exitCode).toBeNull()
  }, 60_000)

  it('stops in one line, the password masked, when the database cannot be reached', async () => {
    const example = startExample(['express'], {
      DATABASE_URL: 'postgres://talki:hunter2-example@127.0.0.1:1/talki',
    })
    expect((await example.exited).code).toBe(1)
    expect(example.stderr()).toBe(
      'Cannot reach PostgreSQL at DATABASE_URL=postgres://talki:***@127.0.0.1:1/talki: connect ECONNREFUSED 127.0.0.1:1\n',
    )
    expect(example.stdout()).toBe('')
  }, 30_000)
})
