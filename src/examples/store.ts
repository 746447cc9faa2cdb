import type { ExampleConfig } from '../mock/runtime/config.js'
import { readStoreFile } from '../mock/users/store.js'
import { createMapStore } from '../template/map-store.js'
import type { UserRecord } from '../template/protocol.js'
import type { UserStore } from '../template/user-store.js'

// The one place an example gets its users: the users of data/seed.json in the template's Map store, or,
// with DATABASE_URL, the template's PostgreSQL store (its table created and filled from the seed when
// empty, the same table the mock server uses).

export interface ExampleStore {
  store: UserStore<UserRecord>
  /** Shown in the "listening" line: where the users come from. */
  description: string
  close(): Promise<void>
}

export async function openExampleStore(config: ExampleConfig): Promise<ExampleStore> {
  const users = await readStoreFile(config.seedFile)
  if (config.databaseUrl !== undefined) {
    // Loaded only when used: an example on the Map store never loads pg.
    const { createPostgresStore, ensureUsersTable } = await import('../template/postgres-store.js')
    const { connectPostgres } = await import('../mock/users/postgres-users.js')
    const { maskUrl } = await import('../mock/runtime/mask-url.js')
    const pool = await connectPostgres({ url: config.databaseUrl, lookupTimeoutMs: config.lookupTimeoutMs })
    try {
      const inserted = await ensureUsersTable(pool, users)
      return {
        store: createPostgresStore(pool),
        description: `users in PostgreSQL at ${maskUrl(config.databaseUrl)}${inserted > 0 ? `, ${inserted} seeded from ${config.seedFile}` : ''}`,
        close: () => pool.end(),
      }
    } catch (error) {
      await pool.end()
      throw error
    }
  }
  return {
    store: createMapStore(users),
    description: `${users.length} users of ${config.seedFile} in memory`,
    close: async () => {},
  }
}
