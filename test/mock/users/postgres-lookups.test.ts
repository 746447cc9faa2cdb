import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBatchedLookup, MAX_BATCH } from '../../../src/mock/users/postgres-lookups.js'
import { type PostgresServer, postgresAvailable, startPostgres } from '../../../support/engines/postgres.js'

// The mock's batched lookups on a real PostgreSQL server started for this file. The pool is the real one;
// the only wrapper counts the statements it is given.

const HAS_POSTGRES = postgresAvailable('the batched PostgreSQL lookup tests')
const TABLE = 'talki_users'

describe.runIf(HAS_POSTGRES)('createBatchedLookup', () => {
  let postgres: PostgresServer
  let pool: pg.Pool
  let statements = 0
  const counted = {
    query: ((...args: Parameters<pg.Pool['query']>) => {
      statements += 1
      return (pool.query as (...a: unknown[]) => unknown)(...args)
    }) as pg.Pool['query'],
  }

  beforeAll(async () => {
    postgres = await startPostgres()
    pool = new pg.Pool({ connectionString: await postgres.createDatabase('lookups'), max: 4 })
    await pool.query(`CREATE TABLE ${TABLE} (user_token text PRIMARY KEY, profile json NOT NULL)`)
    await pool.query(
      `INSERT INTO ${TABLE} SELECT 'usr_' || n, json_build_object('name', 'User ' || n) FROM generate_series(1, 1000) n`,
    )
  })
  afterAll(async () => {
    await pool?.end()
    await postgres?.close()
  })

  it('answers lookups asked in one turn with one statement, each its own row', async () => {
    const lookup = createBatchedLookup(counted, TABLE)
    statements = 0
    const tokens = ['usr_1', 'usr_2', 'usr_1', 'usr_nobody', 'usr_999']
    const rows = await Promise.all(tokens.map(lookup))
    expect(statements).toBe(1)
    expect(rows.map((row) => row?.profile)).toEqual([
      { name: 'User 1' },
      { name: 'User 2' },
      { name: 'User 1' },
      undefined,
      { name: 'User 999' },
    ])
  })

  it('sends a full batch at once: more than MAX_BATCH tokens in one turn take two statements', async () => {
    const lookup = createBatchedLookup(counted, TABLE)
    statements = 0
    const tokens = Array.from({ length: MAX_BATCH + 10 }, (_, i) => `usr_${i + 1}`)
    const asked = tokens.map(lookup)
    expect(statements).toBe(1) // the full batch went as its last token was asked, before the turn ended
    const rows = await Promise.all(asked)
    expect(statements).toBe(2)
    expect(rows.every((row, i) => row?.user_token === tokens[i])).toBe(true)
  })

  it('lookups of later turns go in later statements, and read what SQL changed in between', async () => {
    const lookup = createBatchedLookup(counted, TABLE)
    statements = 0
    expect((await lookup('usr_5'))?.profile).toEqual({ name: 'User 5' })
    await pool.query(`UPDATE ${TABLE} SET profile = '{"name":"Renamed"}' WHERE user_token = 'usr_5'`)
    expect((await lookup('usr_5'))?.profile).toEqual({ name: 'Renamed' })
    expect(statements).toBe(2)
  })

  it('answers a token PostgreSQL cannot hold (U+0000) as no user, without failing the lookups beside it', async () => {
    const lookup = createBatchedLookup(counted, TABLE)
    statements = 0
    const [nul, real] = await Promise.all([lookup('usr_1\u0000'), lookup('usr_1')])
    expect(nul).toBeUndefined()
    expect(real?.profile).toEqual({ name: 'User 1' })
    expect(statements).toBe(1)
  })

  it('refuses a table name it would have to write into SQL unchecked', () => {
    expect(() => createBatchedLookup(counted, 'users; DROP TABLE x')).toThrow(/not allowed/)
  })

  it('rejects every lookup of a statement that fails, with its error', async () => {
    const lookup = createBatchedLookup(counted, 'no_such_table')
    const results = await Promise.allSettled([lookup('usr_1'), lookup('usr_2')])
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected'])
    for (const result of results) {
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: '42P01' })
    }
  })
})
