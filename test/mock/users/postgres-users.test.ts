import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { UserRecord } from '../../../src/mock/users/record.js'
import { NAMED_USERS } from '../../../src/mock/users/seed.js'
import { type PostgresServer, postgresAvailable, startPostgres } from '../../../support/engines/postgres.js'
import {
  buildWithSeed,
  freePort,
  killAll,
  postToken,
  privateBuildDir,
  requestJson,
  type ServerProcess,
  sleep,
  startServer,
  type Wire,
} from '../../process.js'
import { type Stack, startStack, TEST_SECRET } from '../../support.js'

// The mock server with DATABASE_URL: the same endpoint and admin API on PostgreSQL (a real server started
// for this file), several server processes sharing one database, and the database failing under it.

const HAS_POSTGRES = postgresAvailable('the mock server on PostgreSQL tests')
const PASSWORD = 'hunter2-not-in-logs'
const BUILD_DIR = privateBuildDir('postgres-test')
const ENTRY = join(BUILD_DIR, 'mock/main.js')

let postgres: PostgresServer
let databases = 0

/** A fresh, empty database; its URL carries a password (trust authentication never asks for it). */
async function freshDatabase(): Promise<string> {
  const url = new URL(await postgres.createDatabase(`mock_${++databases}`))
  url.password = PASSWORD
  return url.toString()
}

function status(wire: Wire): { status: number; body: unknown; ms: number } {
  if (wire.kind !== 'response') throw new Error(`expected an answer, got ${JSON.stringify(wire)}`)
  return { status: wire.status, body: JSON.parse(wire.body), ms: wire.ms }
}

describe.runIf(HAS_POSTGRES)('the mock server on PostgreSQL', () => {
  beforeAll(async () => {
    postgres = await startPostgres()
  })
  afterAll(async () => {
    await postgres?.close()
  })

  describe('in process: endpoint and admin API over HTTP', () => {
    let stack: Stack
    let databaseUrl: string
    beforeAll(async () => {
      databaseUrl = await freshDatabase()
      stack = await startStack({ databaseUrl })
    })
    afterAll(async () => {
      await stack?.close()
    })
    const admin = (path: string) => new URL(path, stack.adminUrl)
    const database = () => new URL(databaseUrl).pathname.slice(1)

    it('lists the seeded users in seed order', async () => {
      const { status: code, body } = await requestJson('GET', admin('/api/users?limit=5'))
      expect(code).toBe(200)
      const page = body as { total: number; users: UserRecord[] }
      expect(page.users.map((u) => u.userToken)).toEqual(NAMED_USERS.slice(0, 5).map((u) => u.userToken))
      expect(page.users[0]).toEqual(NAMED_USERS[0])
      expect(page.total).toBeGreaterThanOrEqual(NAMED_USERS.length)
    })

    it('answers the endpoint from the table: 200 profile, 404 unknown, 404 for SQL in a token', async () => {
      expect(status(await postToken(stack.endpointUrl, 'usr_abc123'))).toMatchObject({
        status: 200,
        body: { name: 'Alice Johnson', plan: 'pro' },
      })
      for (const token of ['usr_nobody', "' OR 1=1 --", '__proto__']) {
        expect(status(await postToken(stack.endpointUrl, token)), token).toMatchObject({
          status: 404,
          body: { error: 'user_not_found' },
        })
      }
    })

    it('PUT creates (201) then replaces in place (200), GET reads, DELETE removes (204, then 404)', async () => {
      const user = { name: 'Pat Doe', plan: 'team', fields: { seats: 3 } }
      expect(await requestJson('PUT', admin('/api/users/usr_pat'), user)).toEqual({
        status: 201,
        body: { userToken: 'usr_pat', ...user },
      })
      // Served by the endpoint at once: Refresh in Talki shows it.
      expect(status(await postToken(stack.endpointUrl, 'usr_pat'))).toMatchObject({ status: 200, body: user })
      expect(await requestJson('PUT', admin('/api/users/usr_ok'), { name: 'Replaced' })).toMatchObject({
        status: 200,
      })
      const listed = (await requestJson('GET', admin('/api/users?limit=1000'))).body as {
        users: UserRecord[]
      }
      const tokens = listed.users.map((u) => u.userToken)
      expect(tokens[1]).toBe('usr_ok')
      expect(tokens.at(-1)).toBe('usr_pat')
      expect(await requestJson('GET', admin('/api/users/usr_ok'))).toEqual({
        status: 200,
        body: { userToken: 'usr_ok', name: 'Replaced' },
      })
      expect((await requestJson('DELETE', admin('/api/users/usr_pat'))).status).toBe(204)
      expect(await requestJson('DELETE', admin('/api/users/usr_pat'))).toEqual({
        status: 404,
        body: { error: 'user_not_found' },
      })
      expect(status(await postToken(stack.endpointUrl, 'usr_pat')).status).toBe(404)
    })

    it('serves a user changed in SQL behind its back on the next request', async () => {
      await postgres.sql(
        `UPDATE talki_users SET profile = '{"name":"Alice Renamed"}' WHERE user_token = 'usr_abc123'`,
        [],
        database(),
      )
      expect(status(await postToken(stack.endpointUrl, 'usr_abc123'))).toMatchObject({
        status: 200,
        body: { name: 'Alice Renamed' },
      })
      expect((await requestJson('GET', admin('/api/users/usr_abc123'))).body).toEqual({
        userToken: 'usr_abc123',
        name: 'Alice Renamed',
      })
    })
    it('refuses to serve a row written in SQL that breaks the record rules: 503, never a 500', async () => {
      await postgres.sql(
        `INSERT INTO talki_users (user_token, profile) VALUES ('usr_bad', '{"fields":{"x":{"deep":1}}}')`,
        [],
        database(),
      )
      try {
        expect(status(await postToken(stack.endpointUrl, 'usr_bad'))).toMatchObject({
          status: 503,
          body: { error: 'store_unavailable' },
        })
        expect(await requestJson('GET', admin('/api/users/usr_bad'))).toEqual({
          status: 503,
          body: { error: 'store_unavailable' },
        })
        // Writing a good record over it through the admin API repairs it.
        expect((await requestJson('PUT', admin('/api/users/usr_bad'), { name: 'Fixed' })).status).toBe(200)
        expect(status(await postToken(stack.endpointUrl, 'usr_bad'))).toMatchObject({
          status: 200,
          body: { name: 'Fixed' },
        })
      } finally {
        await postgres.sql(`DELETE FROM talki_users WHERE user_token = 'usr_bad'`, [], database())
      }
    })
  })

  describe('the built server as processes', () => {
    beforeAll(async () => {
      await buildWithSeed(BUILD_DIR)
    }, 120_000)
    afterEach(async () => {
      await killAll()
    })

    async function started(databaseUrl: string, extra: Record<string, string> = {}) {
      const adminPort = await freePort()
      const server = startServer(
        {
          PORT: '0',
          ADMIN_PORT: String(adminPort),
          DATABASE_URL: databaseUrl,
          TALKI_SECRET: TEST_SECRET,
          LOG_LEVEL: 'info',
          ...extra,
        },
        ENTRY,
      )
      const line = await server.waitForLog('endpoint listening', 20_000)
      await server.waitForLog('admin listening')
      return { server, url: String(line.url), admin: `http://127.0.0.1:${adminPort}` }
    }

    const noPassword = (server: ServerProcess) => {
      expect(server.stdout()).not.toContain(PASSWORD)
      expect(server.stderr()).not.toContain(PASSWORD)
    }

    it('two servers on one database: a user written through one is served by the other at once', async () => {
      const databaseUrl = await freshDatabase()
      const [a, b] = await Promise.all([started(databaseUrl), started(databaseUrl)])
      // Seeded once, although both started together.
      const [count] = await postgres.sql(
        'SELECT count(*)::int AS n FROM talki_users',
        [],
        `mock_${databases}`,
      )
      const listed = (await requestJson('GET', `${b.admin}/api/users?limit=1`)).body as { total: number }
      expect(listed.total).toBe(count?.n)
      for (const name of ['First', 'Second', 'Third']) {
        expect((await requestJson('PUT', `${a.admin}/api/users/usr_shared`, { name })).status).toBeLessThan(
          300,
        )
        expect(status(await postToken(b.url, 'usr_shared'))).toMatchObject({ status: 200, body: { name } })
      }
      expect((await requestJson('DELETE', `${b.admin}/api/users/usr_shared`)).status).toBe(204)
      expect(status(await postToken(a.url, 'usr_shared')).status).toBe(404)
      const storeLine = a.server.logs().find((line) => line.msg === 'store:')
      expect(storeLine?.engine).toBe('PostgreSQL')
      expect(storeLine?.file).toContain('***')
      noPassword(a.server)
      noPassword(b.server)
    })

    it('an unreachable database at start: exit 1, one line naming DATABASE_URL and the host, password masked', async () => {
      const port = await freePort()
      const server = startServer(
        {
          PORT: '0',
          ADMIN_PORT: 'off',
          TALKI_SECRET: TEST_SECRET,
          DATABASE_URL: `postgres://talki:${PASSWORD}@127.0.0.1:${port}/talki`,
        },
        ENTRY,
      )
      const { code } = await Promise.race([server.exited, sleep(15_000).then(() => ({ code: 'running' }))])
      expect(code).toBe(1)
      const lines = server.stderr().split('\n').filter(Boolean)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain('DATABASE_URL')
      expect(lines[0]).toContain(`127.0.0.1:${port}`)
      expect(lines[0]).toContain('talki:***@')
      expect(lines[0]).toContain('ECONNREFUSED')
      noPassword(server)
    })

    it('a DATABASE_URL that is not a postgres:// URL stops the start, without echoing it', async () => {
      const server = startServer(
        {
          PORT: '0',
          ADMIN_PORT: 'off',
          TALKI_SECRET: TEST_SECRET,
          DATABASE_URL: `mysql://u:${PASSWORD}@h/db`,
        },
        ENTRY,
      )
      expect((await server.exited).code).toBe(1)
      expect(server.stderr().trim()).toBe(
        'Invalid configuration: DATABASE_URL must be a URL such as postgres://user:password@host:5432/database',
      )
    })

    it('the database lost while running: 503 store_unavailable in time, never 500; back by itself', async () => {
      const databaseUrl = await freshDatabase()
      const { server, url, admin } = await started(databaseUrl, { LOOKUP_TIMEOUT_MS: '1500' })
      expect(status(await postToken(url, 'usr_abc123')).status).toBe(200)
      await postgres.stop()
      try {
        for (const token of ['usr_abc123', 'usr_nobody', 'usr_abc123']) {
          const answer = status(await postToken(url, token, { timeoutMs: 5000 }))
          expect(answer).toMatchObject({ status: 503, body: { error: 'store_unavailable' } })
          expect(answer.ms).toBeLessThan(1500)
        }
        expect(await requestJson('GET', `${admin}/api/users`)).toEqual({
          status: 503,
          body: { error: 'store_unavailable' },
        })
        expect((await requestJson('PUT', `${admin}/api/users/usr_x`, { name: 'X' })).status).toBe(503)
        // Liveness is not the database's business.
        expect(await requestJson('GET', `${admin}/healthz`)).toEqual({ status: 200, body: { ok: true } })
      } finally {
        await postgres.start()
      }
      // No reconnect step: the next request opens a fresh connection.
      expect(status(await postToken(url, 'usr_abc123'))).toMatchObject({
        status: 200,
        body: { name: 'Alice Johnson' },
      })
      expect((await requestJson('GET', `${admin}/api/users?limit=1`)).status).toBe(200)
      expect(server.child.exitCode).toBeNull()
      expect(server.logs().some((line) => line.msg === 'PostgreSQL connection lost')).toBe(true)
      // SIGTERM still drains and closes the pool, and exits 0.
      server.child.kill('SIGTERM')
      expect(await server.exited).toMatchObject({ code: 0, signal: null })
      noPassword(server)
    })
  })
})
