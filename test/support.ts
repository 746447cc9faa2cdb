import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { type Config, loadConfig } from '../src/mock/runtime/config.js'
import { createLogger, type Logger } from '../src/mock/runtime/log.js'
import { type Readiness, readinessOf } from '../src/mock/runtime/readiness.js'
import { createMock, type Mock } from '../src/mock/server.js'
import { openMemoryState } from '../src/mock/state/memory.js'
import type { UserRecord } from '../src/mock/users/record.js'
import { CheckedUsers, type UserStore } from '../src/mock/users/store.js'
import { sign } from '../src/template/signature.js'

// Shared fixtures. TEST_SECRET's known answers are written beside the tests that use them, computed with
//   printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET"

export const TEST_SECRET = 'test-secret-0123456789'
export const SECOND_SECRET = 'rotated-secret-abcdef'

export const ALICE: UserRecord = {
  userToken: 'usr_abc123',
  name: 'Alice Johnson',
  email: 'alice@example.com',
  plan: 'pro',
  fields: { mrr: 149, company: 'Acme Inc', signedUpAt: '2024-01-15', seats: 5 },
}

/** A valid signed request for `token`; change one thing per test. */
export function signedRequest(token: unknown = 'usr_abc123', secret = TEST_SECRET, field = 'userToken') {
  const body = JSON.stringify({ [field]: token })
  return { body, signature: sign(secret, body) }
}

/** An in-memory UserStore for tests that are not about persistence; counts lookups. */
export function memoryStore(users: UserRecord[] = [structuredClone(ALICE)]): UserStore & { lookups: number } {
  const byToken = new Map<string, UserRecord>(users.map((user) => [user.userToken, user]))
  return {
    engine: { id: 'json', label: 'in memory (a test double of the JSON file)', where: undefined },
    lookups: 0,
    async find(token) {
      this.lookups++
      return byToken.get(token)
    },
    async list({ q, offset, limit }) {
      const all = [...byToken.values()].filter(
        (user) =>
          !q ||
          JSON.stringify([user.userToken, user.name, user.email, user.plan])
            .toLowerCase()
            .includes(q.toLowerCase()),
      )
      return { total: all.length, users: all.slice(offset, offset + limit) }
    },
    async upsert(user) {
      const existed = byToken.has(user.userToken)
      byToken.set(user.userToken, user)
      return existed ? 'replaced' : 'created'
    },
    async remove(token) {
      return byToken.delete(token)
    },
    async replaceAll(replacement) {
      byToken.clear()
      const users = replacement instanceof CheckedUsers ? replacement.records() : replacement
      for (const user of users) byToken.set(user.userToken, user)
    },
    async flush() {},
  }
}

/** The readiness of a mock with `store` and its state in this process (nothing to reach but the store). */
export function localReadiness(store: UserStore): Readiness {
  return readinessOf(store, openMemoryState(null), { replica: 'local', timeoutMs: 1000 })
}

/** A logger whose lines are kept in memory, to assert on what was (not) logged. */
export function capturedLogger(level = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  return { logger: createLogger(level, destination), lines }
}

/** A temp folder with a seed file of the given users; removed by `cleanup`. */
export async function tempDataDir(users: UserRecord[] = [structuredClone(ALICE)]) {
  const dir = await mkdtemp(join(tmpdir(), 'talki-test-'))
  const seedFile = join(dir, 'seed.json')
  await writeFile(seedFile, JSON.stringify({ users }, null, 2))
  return {
    dir,
    seedFile,
    dataFile: join(dir, 'db.json'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
}

// ---------------------------------------------------------------------------------------------------
// The whole stack in this process, wired as src/mock/main.ts wires it: the endpoint and the admin app (with
// the dashboard) on free ports of 127.0.0.1, over a temp copy of data/seed.json.

export interface Stack {
  endpointUrl: string
  endpointPort: number
  adminUrl: string
  store: UserStore
  close(): Promise<void>
}

export async function startStack(
  options: { adminToken?: string; secret?: string; databaseUrl?: string } = {},
): Promise<Stack> {
  const { createServer } = await import('node:http')
  const { checkedAdminApp } = await import('./contract.js')
  const { createEndpointApp } = await import('../src/mock/endpoint/app.js')
  const { openJsonStore } = await import('../src/mock/users/store.js')
  const { fileURLToPath } = await import('node:url')

  const dir = await mkdtemp(join(tmpdir(), 'talki-stack-'))
  const seedFile = fileURLToPath(new URL('../data/seed.json', import.meta.url))
  const logger = createLogger('silent')
  // The users in PostgreSQL when a database is given (its table created and seeded when empty).
  const store =
    options.databaseUrl === undefined
      ? await openJsonStore({ file: join(dir, 'db.json'), seedFile })
      : await (await import('../src/mock/users/postgres-users.js')).openPostgresStore({
          url: options.databaseUrl,
          seedFile,
          lookupTimeoutMs: 4000,
          logger,
        })
  const shared = openMemoryState(null)
  const { downtime, hanging, requestLog } = shared
  const endpoint = createEndpointApp({
    decide: shared,
    downtime,
    hanging,
    requestLog,
    endpointPath: '/talki/customer',
    tokenField: 'userToken',
    secrets: [options.secret ?? TEST_SECRET],
    bodyLimit: 16 * 1024,
    lookupTimeoutMs: 4000,
    store,
    logger,
  })
  // Every answer of the admin port (the browser's included) is checked against its document.
  const checkedAdmin = checkedAdminApp({
    control: shared.control,
    requestLog,
    readiness: readinessOf(store, shared, { replica: 'local', timeoutMs: 1000 }),
    adminToken: options.adminToken,
    store,
    logger,
    endpointPath: '/talki/customer',
    tokenField: 'userToken',
    seedFile,
  })
  const listen = (server: import('node:http').Server) =>
    new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as import('node:net').AddressInfo).port)),
    )
  const endpointServer = createServer(endpoint)
  const adminServer = createServer(checkedAdmin)
  const endpointPort = await listen(endpointServer)
  const adminPort = await listen(adminServer)
  downtime.attach(endpointServer, { port: endpointPort, host: '127.0.0.1' })
  const stop = (server: import('node:http').Server) =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve()
      server.close(() => resolve())
      server.closeAllConnections()
    })
  return {
    endpointUrl: `http://127.0.0.1:${endpointPort}/talki/customer`,
    endpointPort,
    adminUrl: `http://127.0.0.1:${adminPort}/`,
    store,
    close: async () => {
      downtime.cancel()
      for (const socket of hanging) socket.destroy()
      await Promise.all([stop(endpointServer), stop(adminServer)])
      await store.flush()
      await store.close?.()
      await rm(dir, { recursive: true, force: true })
      const violations = await checkedAdmin.violations()
      if (violations.length > 0)
        throw new Error(`admin answers broke the contract:\n${violations.join('\n')}`)
    },
  }
}

// ---------------------------------------------------------------------------------------------------
// The mock as src/mock/main.ts runs it, composed by createMock, in this process on free ports of 127.0.0.1.

export interface StartedServer {
  mock: Mock
  /** The endpoint's URL, path included. */
  endpoint: string
  /** The admin port's root URL (ends in /); undefined with ADMIN_PORT=off. */
  admin: string | undefined
  close(): Promise<void>
}

/**
 * createMock over `env` (PORT=0, ADMIN_PORT=0, HOST=127.0.0.1 and TEST_SECRET unless `env` says otherwise;
 * give DATA_FILE a temp file), listening; `overrides` set config values no variable names (seedFile).
 * Silent unless a logger is given.
 */
export async function startedServer(
  env: Record<string, string>,
  options: { logger?: Logger; overrides?: Partial<Config> } = {},
): Promise<StartedServer> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    ADMIN_PORT: '0',
    TALKI_SECRET: TEST_SECRET,
    ...env,
  })
  const mock = await createMock({ ...config, ...options.overrides }, options.logger)
  const urls = await mock.listen()
  return { mock, endpoint: urls.endpoint, admin: urls.admin, close: () => mock.close() }
}
