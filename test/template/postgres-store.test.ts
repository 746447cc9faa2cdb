import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCustomerRoute } from '../../src/template/customer-route.js'
import {
  createPostgresPool,
  createPostgresStore,
  ensureUsersTable,
} from '../../src/template/postgres-store.js'
import { ANSWER_HEADERS, type UserRecord } from '../../src/template/protocol.js'
import { verifySignature } from '../../src/template/signature.js'
import { type PostgresServer, postgresAvailable, startPostgres } from '../../support/engines/postgres.js'
import { postToken, sleep, type Wire } from '../process.js'
import { ALICE, TEST_SECRET } from '../support.js'

// The template's PostgreSQL store behind the template's route, served over HTTP, against a real
// PostgreSQL server started for this file (support/engines/postgres.ts).

const AVAILABLE = postgresAvailable("the template's PostgreSQL store tests")
const DEADLINE_MS = 800
const BOB: UserRecord = { userToken: 'usr_bob', name: 'Bob', plan: 'free' }
const SEED = [ALICE, BOB]

let server: PostgresServer
let pool: pg.Pool
let http: Server
let url: string
let databases = 0
const idleErrors: Error[] = []

/** A fresh database on the private server, with a pool to it. */
async function freshPool(): Promise<{ pool: pg.Pool; database: string }> {
  const database = `store_${++databases}`
  const databaseUrl = await server.createDatabase(database)
  const fresh = createPostgresPool(databaseUrl, { lookupTimeoutMs: DEADLINE_MS, max: 3 })
  return { pool: fresh, database }
}

/** The route over `store`, served by node:http the way an adapter does it. */
async function serve(
  store: ReturnType<typeof createPostgresStore>,
): Promise<{ server: Server; url: string }> {
  const answer = createCustomerRoute({
    verify: (body, header) => verifySignature(body, header, [TEST_SECRET]),
    store,
    lookupTimeoutMs: DEADLINE_MS,
  })
  const httpServer = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', async () => {
      const outcome = await answer({
        rawBody: Buffer.concat(chunks),
        signature: req.headers['x-talki-signature'],
        contentEncoding: req.headers['content-encoding'],
      })
      res.writeHead(outcome.status, { ...ANSWER_HEADERS, ...outcome.headers })
      res.end(JSON.stringify(outcome.body))
    })
  })
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve))
  const { port } = httpServer.address() as AddressInfo
  return { server: httpServer, url: `http://127.0.0.1:${port}/talki/customer` }
}

function answered(wire: Wire): { status: number; body: unknown; retryAfter?: string; ms: number } {
  if (wire.kind !== 'response') throw new Error(`expected an answer, got ${JSON.stringify(wire)}`)
  return {
    status: wire.status,
    body: JSON.parse(wire.body),
    ms: wire.ms,
    ...(wire.headers['retry-after'] === undefined ? {} : { retryAfter: String(wire.headers['retry-after']) }),
  }
}

describe.runIf(AVAILABLE)('the template PostgreSQL store (real PostgreSQL)', () => {
  beforeAll(async () => {
    server = await startPostgres()
  })
  afterAll(async () => {
    await server?.close()
  })

  describe('behind the route, over HTTP', () => {
    beforeAll(async () => {
      const databaseUrl = await server.createDatabase('template_store')
      pool = createPostgresPool(databaseUrl, {
        lookupTimeoutMs: DEADLINE_MS,
        max: 3,
        onIdleError: (error) => idleErrors.push(error),
      })
      await ensureUsersTable(pool, SEED)
      ;({ server: http, url } = await serve(createPostgresStore(pool)))
    })
    afterAll(async () => {
      await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()))
      await pool?.end()
    })

    it('answers a stored user with its profile, fields in the order they were written', async () => {
      const wire = await postToken(url, 'usr_abc123')
      expect(answered(wire)).toMatchObject({ status: 200 })
      // The raw text, not a parsed object: `json` keeps the key order (jsonb would sort it).
      expect((wire as { body: string }).body).toBe(
        '{"name":"Alice Johnson","email":"alice@example.com","plan":"pro",' +
          '"fields":{"mrr":149,"company":"Acme Inc","signedUpAt":"2024-01-15","seats":5}}',
      )
    })

    it('answers 404 for unknown tokens, SQL in a token and prototype names', async () => {
      const count = () => server.sql('SELECT count(*)::int AS n FROM talki_users', [], 'template_store')
      const before = await count()
      for (const token of [
        'usr_nobody',
        "' OR 1=1 --",
        "usr_abc123' OR '1'='1",
        '$1',
        '__proto__',
        'toString',
      ]) {
        expect(answered(await postToken(url, token)), token).toMatchObject({
          status: 404,
          body: { error: 'user_not_found' },
        })
      }
      // The injection attempt changed nothing either.
      expect(await count()).toEqual(before)
    })

    it('serves a change made in SQL behind its back on the very next request', async () => {
      await server.sql(
        `UPDATE talki_users SET profile = '{"name":"Bobby Tables","plan":"team"}' WHERE user_token = 'usr_bob'`,
        [],
        'template_store',
      )
      expect(answered(await postToken(url, 'usr_bob'))).toMatchObject({
        status: 200,
        body: { name: 'Bobby Tables', plan: 'team' },
      })
      await server.sql(
        `INSERT INTO talki_users (user_token, profile) VALUES ('usr_sql', '{"email":"sql@example.com"}')`,
        [],
        'template_store',
      )
      expect(answered(await postToken(url, 'usr_sql'))).toMatchObject({
        status: 200,
        body: { email: 'sql@example.com' },
      })
    })

    it('answers 503 lookup_timeout in time while a pg_sleep holds the table, and the pool recovers', async () => {
      // Another session locks the table and sleeps past the deadline: every lookup waits on that lock.
      const holder = server.sql(
        'BEGIN; LOCK TABLE talki_users IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT',
        [],
        'template_store',
      )
      try {
        await sleep(200)
        // As many lookups as the pool has connections: each gets its answer at the deadline.
        const sent = performance.now()
        const stuck = await Promise.all([1, 2, 3].map(() => postToken(url, 'usr_abc123')))
        for (const wire of stuck) {
          const answer = answered(wire)
          expect(answer).toMatchObject({ status: 503, body: { error: 'lookup_timeout' }, retryAfter: '3' })
          expect(answer.ms).toBeGreaterThanOrEqual(DEADLINE_MS - 50)
          expect(answer.ms).toBeLessThan(DEADLINE_MS + 1000)
        }
        // A second past the deadline the server cancels those statements (statement_timeout): none of
        // them still holds a connection, although the lock is still held.
        await sleep(Math.max(0, sent + DEADLINE_MS + 1500 - performance.now()))
        const waiting = await server.sql(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'SELECT user_token%'`,
        )
        expect(waiting).toEqual([{ n: 0 }])
      } finally {
        await holder
      }
      const after = answered(await postToken(url, 'usr_abc123'))
      expect(after.status).toBe(200)
      expect(after.ms).toBeLessThan(500)
    })

    it('answers 503 store_unavailable at once while the server is stopped, and reconnects by itself', async () => {
      expect(answered(await postToken(url, 'usr_abc123')).status).toBe(200)
      await server.stop()
      try {
        for (const token of ['usr_abc123', 'usr_nobody']) {
          const answer = answered(await postToken(url, token, { timeoutMs: DEADLINE_MS + 2000 }))
          expect(answer).toMatchObject({ status: 503, body: { error: 'store_unavailable' }, retryAfter: '3' })
          expect(answer.ms).toBeLessThan(DEADLINE_MS)
        }
      } finally {
        await server.start()
      }
      // The pool told its owner about the connections the shutdown broke, and did not crash the process.
      expect(idleErrors.length).toBeGreaterThan(0)
      expect(answered(await postToken(url, 'usr_abc123'))).toMatchObject({
        status: 200,
        body: { name: 'Alice Johnson' },
      })
    })
  })

  describe('ensureUsersTable', () => {
    it('creates the table when missing and fills it in order, only when it is empty', async () => {
      const { pool: fresh, database } = await freshPool()
      try {
        expect(await ensureUsersTable(fresh, SEED)).toBe(2)
        const tokens = async () =>
          (await server.sql('SELECT user_token FROM talki_users ORDER BY position', [], database)).map(
            (row) => row.user_token,
          )
        expect(await tokens()).toEqual(['usr_abc123', 'usr_bob'])
        // Not empty: nothing is added, nothing is overwritten.
        await server.sql(
          `UPDATE talki_users SET profile = '{"name":"Kept"}' WHERE user_token = 'usr_bob'`,
          [],
          database,
        )
        expect(await ensureUsersTable(fresh, [{ userToken: 'usr_other' }])).toBe(0)
        expect(await tokens()).toEqual(['usr_abc123', 'usr_bob'])
        expect(await createPostgresStore(fresh).find('usr_bob')).toEqual({
          userToken: 'usr_bob',
          name: 'Kept',
        })
        // Emptied: filled again.
        await server.sql('DELETE FROM talki_users', [], database)
        expect(await ensureUsersTable(fresh, [{ userToken: 'usr_other' }])).toBe(1)
        expect(await tokens()).toEqual(['usr_other'])
      } finally {
        await fresh.end()
      }
    })

    it('fills the table once when two servers start together, and in batches for a large seed', async () => {
      const { pool: fresh, database } = await freshPool()
      const other = createPostgresPool(server.urlFor(database), { lookupTimeoutMs: DEADLINE_MS })
      try {
        const many = Array.from({ length: 2500 }, (_, i) => ({ userToken: `usr_${i}`, name: `User ${i}` }))
        const inserted = await Promise.all([ensureUsersTable(fresh, many), ensureUsersTable(other, many)])
        expect(inserted.sort((a, b) => a - b)).toEqual([0, 2500])
        const [last] = await server.sql(
          'SELECT user_token, count(*) OVER ()::int AS n FROM talki_users ORDER BY position DESC LIMIT 1',
          [],
          database,
        )
        expect(last).toEqual({ user_token: 'usr_2499', n: 2500 })
      } finally {
        await Promise.all([fresh.end(), other.end()])
      }
    })

    it('refuses a table name that is not a plain identifier', () => {
      // Building a pool opens no connection.
      const unused = createPostgresPool('postgres://nobody@127.0.0.1:1/none')
      expect(() => createPostgresStore(unused, { table: 'users; DROP TABLE x' })).toThrow(/not allowed/)
    })
  })
})
