import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../mock/runtime/config.js'
import { createLogger } from '../mock/runtime/log.js'
import { createMock } from '../mock/server.js'
import type { OverrideSpec } from '../mock/simulation/scenarios.js'
import type { RequestLogEntry } from '../mock/state/request-log.js'
import type { UserRecord } from '../mock/users/record.js'
import { sign } from '../template/signature.js'

// The mock from code (docs/qa.md "From code"): startMock runs one in this process on free ports;
// connectMock drives one that runs elsewhere. Both speak only the admin HTTP API.

export type { OverrideSpec, RequestLogEntry, UserRecord }

export interface MockClient {
  url: string
  adminUrl: string
  secret: string
  sign(body: string): string
  /** The global override (`{ token }` unset), or one user's own scenario. */
  simulate(name: string, params?: Record<string, unknown>, options?: { token?: string }): Promise<void>
  clear(): Promise<void>
  reset(options?: { users?: 'seed' }): Promise<void>
  users: {
    get(token: string): Promise<UserRecord | undefined>
    put(record: UserRecord): Promise<void>
    patch(token: string, patch: Record<string, unknown>): Promise<void>
    delete(token: string): Promise<void>
  }
  requests(filter?: { token?: string }): Promise<RequestLogEntry[]>
  waitForRequests(count: number, options?: { token?: string; timeoutMs?: number }): Promise<RequestLogEntry[]>
}

export interface StartedMock extends MockClient {
  close(): Promise<void>
}

export interface StartMockOptions {
  secret?: string
  users?: 'seed' | UserRecord[]
  simulate?: string
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
}

/** An in-process mock on free ports (127.0.0.1), ready when the promise resolves, silent by default. */
export async function startMock(options: StartMockOptions = {}): Promise<StartedMock> {
  const dir = await mkdtemp(join(tmpdir(), 'talki-mock-'))
  const secret = options.secret ?? `test-${Math.random().toString(36).slice(2)}-secret`
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    ADMIN_PORT: '0',
    TALKI_SECRET: secret,
    DATA_FILE: join(dir, 'db.json'),
    SHUTDOWN_TIMEOUT_MS: '1000',
    ...(options.simulate ? { SIMULATE: options.simulate } : {}),
  })
  const mock = await createMock(config, createLogger(options.logLevel ?? 'silent'))
  const urls = await mock.listen()
  const client = await connectMock(urls.admin ?? '', { url: urls.endpoint, secret })
  if (Array.isArray(options.users)) {
    const { users } = await client.adminJson<{ users: UserRecord[] }>('GET', '/api/users?limit=1000')
    for (const user of users) await client.users.delete(user.userToken)
    for (const user of options.users) await client.users.put(user)
  }
  return {
    ...client,
    async close() {
      await mock.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** The same client for a mock that runs elsewhere (Docker, another host), through its admin API. */
export async function connectMock(
  adminUrl: string,
  options: { token?: string; url?: string; secret?: string } = {},
): Promise<MockClient & { adminJson<T = void>(method: string, path: string, body?: unknown): Promise<T> }> {
  const base = adminUrl.replace(/\/$/, '')
  const adminJson = async <T = void>(method: string, path: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = {}
    if (body !== undefined)
      headers['content-type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json'
    if (options.token) headers.authorization = `Bearer ${options.token}`
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await res.text()
    if (res.status === 404 && method === 'GET') return undefined as T
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`)
    return (text === '' ? undefined : JSON.parse(text)) as T
  }
  const secret = options.secret ?? ''
  const requests = async (filter: { token?: string } = {}) => {
    const { requests } = await adminJson<{ requests: RequestLogEntry[] }>('GET', '/api/requests?limit=1000')
    return filter.token === undefined ? requests : requests.filter((entry) => entry.token === filter.token)
  }
  return {
    url: options.url ?? '',
    adminUrl: `${base}/`,
    secret,
    adminJson,
    sign: (body) => sign(secret, body),
    async simulate(name, params = {}, { token } = {}) {
      const spec = { scenario: name, ...params }
      if (token === undefined) await adminJson('PUT', '/api/simulation', spec)
      else await adminJson('PATCH', `/api/users/${encodeURIComponent(token)}`, { simulate: spec })
    },
    clear: () => adminJson('DELETE', '/api/simulation'),
    reset: (resetOptions = {}) => adminJson('POST', '/api/reset', resetOptions),
    users: {
      get: (token) => adminJson<UserRecord | undefined>('GET', `/api/users/${encodeURIComponent(token)}`),
      put: (record) => adminJson('PUT', `/api/users/${encodeURIComponent(record.userToken)}`, record),
      patch: (token, patch) => adminJson('PATCH', `/api/users/${encodeURIComponent(token)}`, patch),
      delete: (token) => adminJson('DELETE', `/api/users/${encodeURIComponent(token)}`),
    },
    requests,
    async waitForRequests(count, { token, timeoutMs = 10_000 } = {}) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const found = await requests(token === undefined ? {} : { token })
        if (found.length >= count) return found
        if (Date.now() > deadline)
          throw new Error(`waitForRequests: ${found.length} of ${count} requests after ${timeoutMs} ms`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
  }
}
