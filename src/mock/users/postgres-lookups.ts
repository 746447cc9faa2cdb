import type pg from 'pg'
import type { UserRow } from '../../template/postgres-store.js'

// The mock's lookups on PostgreSQL, batched: every token asked within one turn of the event loop goes to
// the database in one statement (`user_token = ANY($1)`), so under load a round trip, a statement and a
// pool connection serve tens of requests rather than one (bench/RESULTS.md, "Replicas on Redis"). Nothing
// is cached: each lookup is answered by a query sent after it was asked, as the template's one-row `find`
// (src/template/postgres-store.ts) does. The template keeps that simpler `find` for integrators.

/** At most this many tokens in one statement; more asked in one turn go in the next statement at once. */
export const MAX_BATCH = 500

interface Waiter {
  resolve(row: UserRow | undefined): void
  reject(error: unknown): void
}

/**
 * `lookup(token)` resolves with the token's row, or undefined when no user has it; it rejects with the
 * query's error (the server down, a timeout) — every lookup of that statement does.
 */
export function createBatchedLookup(pool: Pick<pg.Pool, 'query'>, table: string) {
  // A named statement is parsed and planned once per connection, then reused.
  const query = {
    name: `talki_find_many_${table}`,
    text: `SELECT user_token, profile FROM ${table} WHERE user_token = ANY($1::text[])`,
  }
  let waiting: Map<string, Waiter[]> | undefined

  const send = (batch: Map<string, Waiter[]>) => {
    pool.query<UserRow>({ ...query, values: [[...batch.keys()]] }).then(
      ({ rows }) => {
        const found = new Map(rows.map((row) => [row.user_token, row]))
        for (const [token, waiters] of batch) {
          const row = found.get(token)
          for (const waiter of waiters) waiter.resolve(row)
        }
      },
      (error: unknown) => {
        for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error)
      },
    )
  }
  // Sent after this turn's I/O callbacks (setImmediate runs once the poll phase is done): the requests
  // that arrived together are looked up together; an idle server waits no timer.
  const sendWaiting = () => {
    const batch = waiting
    waiting = undefined
    if (batch !== undefined) send(batch)
  }

  return function lookup(token: string): Promise<UserRow | undefined> {
    return new Promise((resolve, reject) => {
      if (waiting === undefined) {
        waiting = new Map()
        setImmediate(sendWaiting)
      }
      const waiters = waiting.get(token)
      if (waiters === undefined) waiting.set(token, [{ resolve, reject }])
      else waiters.push({ resolve, reject })
      if (waiting.size >= MAX_BATCH) {
        send(waiting)
        waiting = undefined
      }
    })
  }
}
