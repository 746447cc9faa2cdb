import pg from 'pg'
import { DEFAULT_LOOKUP_TIMEOUT_MS, type UserRecord } from './protocol.js'
import type { UserStore } from './user-store.js'

// Users in PostgreSQL, on `pg` only (npm install pg @types/pg). Three pieces:
//   createPostgresPool   a pool whose every wait is bounded, so a sick database costs a 503, never a hang;
//   createPostgresStore  the `find` that answers Talki: one parameterised query on the primary key;
//   ensureUsersTable     creates the table if missing and fills it from seed users when it is empty.
// Already have a users table? Keep createPostgresPool and rewrite the one SELECT in createPostgresStore
// to read your own columns; the route (customer-route.ts) needs nothing else.
//
// The table, shared by the examples and the mock server (README, "PostgreSQL"):
//   position    bigserial  insertion order, so a listing shows users in the order they were added
//   user_token  text       the primary key: its B-tree index makes a lookup cost the same at any size
//   profile     json       name, email, plan, fields — `json`, not `jsonb`, because jsonb re-orders
//                          object keys and Talki shows `fields` as a list, in the order they were written

export const DEFAULT_USERS_TABLE = 'talki_users'

export interface PostgresStoreOptions {
  /** Table name, default `talki_users`: lower-case letters, digits and `_` (it is written into SQL). */
  table?: string
}

export interface PostgresPoolOptions {
  /** The lookup deadline the route uses (LOOKUP_TIMEOUT_MS, default 4000): the database's own limit. */
  lookupTimeoutMs?: number
  /** Connections kept at most (default 10). */
  max?: number
  /** Told about a connection that failed while idle in the pool (the pool drops it and opens another). */
  onIdleError?: (error: Error) => void
}

/**
 * A pool for `postgres://user:password@host:port/database`. The route answers at its deadline whatever
 * the database does (503 lookup_timeout); these bounds, a second past that deadline, make sure the
 * connection behind a late lookup is freed too, so a sick database never pins the pool:
 * - `statement_timeout`: the server itself cancels a statement (a lock, a slow plan, a `pg_sleep`);
 * - `query_timeout`: the client's own backstop for a server that stopped answering at all (the pool then
 *   closes that connection and opens a fresh one when next needed);
 * - `connectionTimeoutMillis`: connecting, or waiting for a free connection, gives up. A refused
 *   connection fails at once, so `find` rejects and the route answers 503 store_unavailable.
 */
export function createPostgresPool(connectionString: string, options: PostgresPoolOptions = {}): pg.Pool {
  const bound = (options.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS) + 1000
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: bound,
    statement_timeout: bound,
    query_timeout: bound + 1000,
    idleTimeoutMillis: 30_000,
    // Dead peers are noticed by the kernel, not only when the next query fails.
    keepAlive: true,
  })
  // A connection that breaks while idle (the server restarted, a proxy cut it) is reported here. Without
  // a listener Node would crash the process; with one, the pool drops the connection and reconnects on
  // the next query.
  pool.on('error', (error) => options.onIdleError?.(error))
  return pool
}

/** The template's `UserStore` over the users table: `find` is one indexed, parameterised SELECT. */
export function createPostgresStore(
  pool: pg.Pool,
  options: PostgresStoreOptions = {},
): UserStore<UserRecord> {
  const table = tableName(options.table)
  // The token travels as a parameter ($1), never inside the SQL text: a token such as `' OR 1=1 --` is
  // just a string that names no user. A named statement is parsed once per connection, then reused.
  const query = {
    name: `talki_find_${table}`,
    text: `SELECT user_token, profile FROM ${table} WHERE user_token = $1`,
  }
  return {
    async find(token) {
      // No cache: a change made in SQL (or by another server) is served on the next request. A failure
      // (server down, timeout) rejects, and the route answers 503.
      const { rows } = await pool.query<UserRow>({ ...query, values: [token] })
      const row = rows[0]
      return row === undefined ? undefined : toUserRecord(row)
    },
  }
}

/** Inserts `users` in order, 1000 rows a round trip, every value a parameter. Returns how many. */
export async function insertUsers(
  client: pg.ClientBase,
  users: Iterable<UserRecord>,
  options: PostgresStoreOptions = {},
): Promise<number> {
  const table = tableName(options.table)
  let inserted = 0
  let batch: UserRecord[] = []
  const insert = async () => {
    const values = batch.flatMap((user) => [user.userToken, JSON.stringify(toProfileColumn(user))])
    const rowsSql = batch.map((_, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ')
    await client.query(`INSERT INTO ${table} (user_token, profile) VALUES ${rowsSql}`, values)
    inserted += batch.length
    batch = []
  }
  for (const user of users) {
    batch.push(user)
    if (batch.length === 1000) await insert()
  }
  if (batch.length > 0) await insert()
  return inserted
}

/**
 * Creates the users table if it is missing and, only when it holds no user, inserts `seed` in order, in
 * one transaction. Returns how many users it inserted (0 when the table already had users).
 */
export async function ensureUsersTable(
  pool: pg.Pool,
  seed: Iterable<UserRecord>,
  options: PostgresStoreOptions = {},
): Promise<number> {
  const table = tableName(options.table)
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    // Filling a large seed may take longer than a lookup may: no deadline inside this transaction.
    await client.query('SET LOCAL statement_timeout = 0')
    // One server at a time past this point (released at COMMIT): two starting together would otherwise
    // race in CREATE TABLE, or both find the table empty and both fill it.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [table])
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table} (
         position bigserial NOT NULL,
         user_token text PRIMARY KEY,
         profile json NOT NULL
       )`,
    )
    // For a listing in store order (the mock's admin API); a lookup uses the primary key.
    await client.query(`CREATE INDEX IF NOT EXISTS ${table}_position ON ${table} (position)`)
    const { rows } = await client.query(`SELECT EXISTS (SELECT 1 FROM ${table}) AS filled`)
    const inserted = rows[0]?.filled ? 0 : await insertUsers(client, seed, options)
    await client.query('COMMIT')
    return inserted
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  } finally {
    client.release()
  }
}

/** A row of the users table as `pg` returns it: `json` columns arrive parsed. */
export interface UserRow {
  user_token: string
  profile: Record<string, unknown> | null
}

/** The stored record: the token plus the profile's keys (the route then answers only the profile's). */
export function toUserRecord(row: UserRow): UserRecord {
  return { userToken: row.user_token, ...row.profile }
}

/** What goes in the `profile` column: the record without its token. */
export function toProfileColumn(user: UserRecord): Omit<UserRecord, 'userToken'> {
  const { userToken: _, ...profile } = user
  return profile
}

/** The table name, checked: it is written into the SQL text, so only a plain identifier is allowed. */
export function tableName(table = DEFAULT_USERS_TABLE): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(table))
    throw new Error(`table name ${JSON.stringify(table)} is not allowed`)
  return table
}
