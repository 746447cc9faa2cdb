import type { ExampleConfig } from '../mock/config.js'
import { readUserFile } from '../mock/store.js'
import { createMapStore } from '../template/map-store.js'
import type { UserRecord } from '../template/protocol.js'
import type { UserStore } from '../template/user-store.js'

// The one place an example gets its users: today the users of data/seed.json in the template's Map store.

export interface ExampleStore {
  store: UserStore<UserRecord>
  /** Shown in the "listening" line: where the users come from. */
  description: string
  close(): Promise<void>
}

export async function openExampleStore(config: ExampleConfig): Promise<ExampleStore> {
  const users = await readUserFile(config.seedFile)
  return {
    store: createMapStore(users),
    description: `${users.length} users of ${config.seedFile} in memory`,
    close: async () => {},
  }
}
