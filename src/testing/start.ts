import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Config, loadConfig } from '../mock/runtime/config.js'
import { createLogger } from '../mock/runtime/log.js'
import { createMock } from '../mock/server.js'
import type { ScenarioName, SimulationSpec } from '../mock/simulation/scenarios.js'
import { FILE_HEAD, FILE_SEPARATOR, FILE_TAIL, type UserRecord } from '../mock/users/record.js'
import { createAdminClient } from './admin-client.js'
import { type MockClient, mockClient } from './connect.js'

export interface StartMockOptions {
  /** The signing secret (default: a random one, read back as `mock.secret`). */
  secret?: string
  /** The users served: `'seed'` (default, data/seed.json: usr_abc123, usr_slow, …) or exactly these records. */
  users?: 'seed' | UserRecord[]
  /** A scenario from start, as SIMULATE takes it: a spec (`{ scenario: 'slow', delayMs: 6000 }`) or `'slow:6000'`. */
  simulate?: SimulationSpec | `${ScenarioName}:${number}`
  /** Log lines on stdout from this level up (default `'silent'`: none). */
  logLevel?: Config['logLevel']
}

export interface StartedMock extends MockClient {
  /** Stops both ports (requests in flight get at most 1 s) and removes the mock's temporary folder. */
  close(): Promise<void>
}

/**
 * An in-process mock on free ports of 127.0.0.1 (endpoint and admin), ready when the promise resolves, silent
 * by default. Its data live in a temporary folder of its own, so mocks started side by side share nothing.
 */
export async function startMock(options: StartMockOptions = {}): Promise<StartedMock> {
  const dir = await mkdtemp(join(tmpdir(), 'talki-mock-'))
  try {
    const dataFile = join(dir, 'db.json')
    const users = options.users ?? 'seed'
    if (users !== 'seed') {
      const lines = users.map((user) => JSON.stringify(user)).join(FILE_SEPARATOR)
      await writeFile(dataFile, `${FILE_HEAD}${lines}${FILE_TAIL}`)
    }
    const secret = options.secret ?? `mock-${randomBytes(16).toString('hex')}`
    const simulate = options.simulate
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      ADMIN_PORT: '0',
      ADMIN_HOST: '127.0.0.1',
      TALKI_SECRET: secret,
      DATA_FILE: dataFile,
      SHUTDOWN_TIMEOUT_MS: '1000',
      ...(simulate === undefined
        ? {}
        : { SIMULATE: typeof simulate === 'string' ? simulate : JSON.stringify(simulate) }),
    })
    const mock = await createMock(config, createLogger(options.logLevel ?? 'silent'))
    const urls = await mock.listen()
    const client = mockClient(createAdminClient(urls.admin as string), { url: urls.endpoint, secret })
    return {
      ...client,
      async close() {
        await mock.close()
        await rm(dir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}
