import type pg from 'pg'
import {
  createPostgresPool,
  ensureUsersTable,
  insertUsers,
  toProfileColumn,
  toUserRecord,
  type UserRow,
} from '../../template/postgres-store.js'
import type { Logger } from '../runtime/log.js'
import { maskUrl } from '../runtime/mask-url.js'
import { describeIssue, oneLine } from './json-store/load.js'
import { createBatchedLookup } from './postgres-lookups.js'
import { type UserRecord, UserRecordSchema } from './record.js'
import { CheckedUsers, readStoreFile, StoreError, type UserStore, validateAll } from './store.js'

// The mock's store on PostgreSQL (DATABASE_URL): the template's table (src/template/postgres-store.ts),
// lookups batched per turn of the event loop (postgres-lookups.ts), and the writes the admin API needs.
// Nothing is cached: every read goes to the database, so a user written through one server (or in SQL) is
// served by every other server sharing the database at once. A QA user's `simulate` is one more key of the
// `profile` column.

const TABLE = 'talki_users'

export interface PostgresStoreOptions {
  url: string
  seedFile: string
  lookupTimeoutMs: number
  logger: Logger
}

/**
 * A pool to DATABASE_URL, tried once: an unreachable server is a StoreError naming DATABASE_URL and its
 * host, the password masked. A connection lost later is logged (without the password) and replaced.
 */
export async function connectPostgres(
  options: Pick<PostgresStoreOptions, 'url' | 'lookupTimeoutMs'> & { logger?: Logger },
): Promise<pg.Pool> {
  const { url, logger } = options
  const pool = createPostgresPool(url, {
    lookupTimeoutMs: options.lookupTimeoutMs,
    // pg's messages name the host and user, never the password.
    onIdleError: (error) => logger?.warn({ reason: reasonOf(error) }, 'PostgreSQL connection lost'),
  })
  try {
    await pool.query('SELECT 1')
  } catch (error) {
    await pool.end().catch(() => {})
    throw new StoreError(`Cannot reach PostgreSQL at DATABASE_URL=${maskUrl(url)}: ${reasonOf(error)}`)
  }
  return pool
}

/**
 * Connects, creates the table if missing and fills it from the seed file when it is empty (see
 * connectPostgres for an unreachable server).
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<UserStore> {
  const pool = await connectPostgres(options)
  try {
    await ensureUsersTable(pool, await readStoreFile(options.seedFile))
  } catch (error) {
    await pool.end().catch(() => {})
    if (error instanceof StoreError) throw error
    throw new StoreError(
      `Cannot prepare the ${TABLE} table at DATABASE_URL=${maskUrl(options.url)}: ${reasonOf(error)}`,
    )
  }
  const lookup = createBatchedLookup(pool, TABLE)

  /** A failing query becomes a StoreError: the admin API answers 503 store_unavailable. */
  const run = async <R extends pg.QueryResultRow>(text: string, values: unknown[]) => {
    try {
      return await pool.query<R>(text, values)
    } catch (error) {
      throw new StoreError(`PostgreSQL: ${reasonOf(error)}`)
    }
  }

  return {
    engine: { id: 'postgres', label: 'PostgreSQL', where: maskUrl(options.url) },
    async find(token) {
      let row: UserRow | undefined
      try {
        row = await lookup(token)
      } catch (error) {
        throw new StoreError(`PostgreSQL: ${reasonOf(error)}`)
      }
      return row === undefined ? undefined : checked(toUserRecord(row))
    },
    async list({ q, offset, limit }) {
      const needle = q?.trim().toLowerCase() || null
      // One statement: the count of every match and one page of them in store order. strpos, not LIKE,
      // so `%` and `_` in a search are plain characters. The LEFT JOIN keeps the count when the page is
      // empty (an offset past the end).
      const { rows } = await run<{ total: number } & Partial<UserRow>>(
        `WITH matched AS (
           SELECT position, user_token, profile FROM ${TABLE}
           WHERE $1::text IS NULL
              OR strpos(lower(user_token), $1) > 0
              OR strpos(lower(profile->>'name'), $1) > 0
              OR strpos(lower(profile->>'email'), $1) > 0
              OR strpos(lower(profile->>'plan'), $1) > 0
         )
         SELECT counted.total, page.user_token, page.profile
         FROM (SELECT count(*)::int AS total FROM matched) counted
         LEFT JOIN LATERAL (SELECT * FROM matched ORDER BY position OFFSET $2 LIMIT $3) page ON true
         ORDER BY page.position`,
        [needle, offset, limit],
      )
      const total = rows[0]?.total ?? 0
      const page = rows.filter((row): row is typeof row & UserRow => row.user_token != null)
      return { total, users: page.map((row) => checked(toUserRecord(row))) }
    },
    async upsert(input) {
      const parsed = UserRecordSchema.safeParse(input)
      if (!parsed.success)
        throw new StoreError(`${TABLE}: refused record: ${describeIssue('user', parsed.error)}`)
      const user = parsed.data
      // A replaced user keeps its row, so its position: its place in the list. xmax is 0 only on a row
      // this statement inserted.
      const { rows } = await run<{ created: boolean }>(
        `INSERT INTO ${TABLE} (user_token, profile) VALUES ($1, $2)
         ON CONFLICT (user_token) DO UPDATE SET profile = EXCLUDED.profile
         RETURNING (xmax = 0) AS created`,
        [user.userToken, JSON.stringify(toProfileColumn(user))],
      )
      return rows[0]?.created ? 'created' : 'replaced'
    },
    async remove(token) {
      const { rowCount } = await run(`DELETE FROM ${TABLE} WHERE user_token = $1`, [token])
      return (rowCount ?? 0) > 0
    },
    async replaceAll(input) {
      const replacement = input instanceof CheckedUsers ? input.records() : validateAll(TABLE, input)
      // One transaction: every replica sees the old users or the new ones, never a mix or none.
      let client: pg.PoolClient
      try {
        client = await pool.connect()
      } catch (error) {
        throw new StoreError(`PostgreSQL: ${reasonOf(error)}`)
      }
      try {
        await client.query('BEGIN')
        await client.query('SET LOCAL statement_timeout = 0')
        await client.query(`DELETE FROM ${TABLE}`)
        await insertUsers(client, replacement, { table: TABLE })
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {})
        throw new StoreError(`PostgreSQL: ${reasonOf(error)}`)
      } finally {
        client.release()
      }
    },
    // Every write has been committed by the time it resolved.
    async flush() {},
    async ping() {
      await run('SELECT 1', [])
    },
    async close() {
      await pool.end()
    },
  }
}

/** A row written in SQL behind the server's back is checked like a record of the JSON store. */
function checked(user: UserRecord): UserRecord {
  const parsed = UserRecordSchema.safeParse(user)
  if (parsed.success) return parsed.data
  throw new StoreError(`${TABLE}: ${describeIssue(`user ${JSON.stringify(user.userToken)}`, parsed.error)}`)
}

function reasonOf(error: unknown): string {
  const { message, code } = error as { message?: string; code?: string }
  const text = oneLine(message || code || String(error))
  return code && !text.includes(code) ? `${text} (${code})` : text
}
