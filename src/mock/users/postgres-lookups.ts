import type pg from 'pg'
import { tableName, type UserRow } from '../../template/postgres-store.js'

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
  const name = tableName(table)
  // A named statement is parsed and planned once per connection, then reused.
  const query = {
    name: `talki_find_many_${name}`,
    text: `SELECT user_token, profile FROM ${name} WHERE user_token = ANY($1::text[])`,
  }
  let waiting: Map<string, Waiter[]> | undefined

  const send = (batch: Map<string, Waiter[]>) => {
    const fail = (error: unknown) => {
      for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error)
    }
    let answer: Promise<pg.QueryResult<UserRow>>
    try {
      answer = pool.query<UserRow>({ ...query, values: [[...batch.keys()]] })
    } catch (error) {
      fail(error) // pg's pool rejects rather than throws; a query that throws fails its batch all the same
      return
    }
    answer.then(({ rows }) => {
      const found = new Map(rows.map((row) => [row.user_token, row]))
      for (const [token, waiters] of batch) {
        const row = found.get(token)
        for (const waiter of waiters) waiter.resolve(row)
      }
    }, fail)
  }
  // Sent after this turn's I/O callbacks (setImmediate runs once the poll phase is done): the requests
  // that arrived together are looked up together; an idle server waits no timer.
  const sendWaiting = () => {
    const batch = waiting
    waiting = undefined
    if (batch !== undefined) send(batch)
  }

  return function lookup(token: string): Promise<UserRow | undefined> {
    // PostgreSQL's text cannot hold U+0000, so no stored token has one; sent, it would fail the whole
    // statement and every lookup batched with it.
    if (token.includes('\u0000')) return Promise.resolve(undefined)
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
