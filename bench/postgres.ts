import { readStoreFile } from '../src/mock/users/store.js'
import { createPostgresPool, ensureUsersTable } from '../src/template/postgres-store.js'
import { type PostgresServer, startPostgres } from '../test/engines/postgres.js'

// The project-engines target's users live in a private PostgreSQL (test/engines/postgres.ts), one database
// per store size, its talki_users table filled once from that size's store file with the template's own
// ensureUsersTable: the server then finds the table filled and reads no seed of its own.

export { type PostgresServer, startPostgres }

/** The URL of a database holding the users of `dataFile`, created and filled on first use. */
export async function usersDatabase(
  server: PostgresServer,
  users: number,
  dataFile: string,
): Promise<string> {
  const name = `bench_users_${users}`
  const found = await server.sql('SELECT 1 FROM pg_database WHERE datname = $1', [name])
  const url = found.length > 0 ? server.urlFor(name) : await server.createDatabase(name)
  const pool = createPostgresPool(url, { max: 1 })
  try {
    await ensureUsersTable(pool, await readStoreFile(dataFile))
    await pool.query('ANALYZE talki_users')
  } finally {
    await pool.end()
  }
  return url
}
