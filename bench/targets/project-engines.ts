import { join } from 'node:path'
import { readStoreFile } from '../../src/mock/users/store.js'
import { createPostgresPool, ensureUsersTable } from '../../src/template/postgres-store.js'
import { type PostgresServer, startPostgres } from '../../support/engines/postgres.js'
import type { TargetStart } from './spec.js'

// The project-engines target's users live in a private PostgreSQL (support/engines/postgres.ts), one database
// per store size, its talki_users table filled once from that size's store file with the template's own
// ensureUsersTable: the server then finds the table filled and reads no seed of its own.

export { type PostgresServer, startPostgres }

// The users in PostgreSQL (DATABASE_URL) and the state in Redis: every engine a deployment of replicas uses.
export const projectEngines: TargetStart = (context) => {
  if (context.redisUrl === undefined || context.databaseUrl === undefined)
    throw new Error('project-engines needs a redis-server (redisUrl) and a PostgreSQL database (databaseUrl)')
  return {
    script: join(context.root, 'dist/mock/main.js'),
    env: {
      LOG_LEVEL: 'warn',
      REDIS_URL: context.redisUrl,
      REDIS_PREFIX: 'bench-engines:',
      REPLICA_ID: context.replica ?? 'bench-1',
      DATABASE_URL: context.databaseUrl,
    },
    admin: true,
  }
}

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
