import type { OverrideSpec, ScenarioName, UserSimulationSpec } from '../mock/simulation/scenarios.js'
import type { RequestLogEntry } from '../mock/state/request-log.js'
import type { UserRecord } from '../mock/users/record.js'
import { sign } from '../template/signature.js'
import {
  AdminApiError,
  type AdminClient,
  type AdminClientOptions,
  createAdminClient,
} from './admin-client.js'

// The mock from code (docs/qa.md "From code"), as a client of its admin API: connectMock drives a mock
// that runs elsewhere (Docker, another host); startMock wraps the same client around one it starts here.

/** The parameters of scenario N as the admin API takes them: `slow` → `{ delayMs?, jitterMs?, count?, probability? }`. */
export type ScenarioParams<N extends ScenarioName> = Omit<
  Extract<Exclude<OverrideSpec, string>, { scenario: N }>,
  'scenario'
>

/** What `requests` and `waitForRequests` keep: every field given must match (`status: null` for no answer). */
export interface RequestFilter {
  token?: string | null
  status?: number | null
  scenario?: string | null
}

export interface MockClient {
  /** The endpoint Talki would call, e.g. `http://127.0.0.1:41234/talki/customer`. */
  url: string
  /** The admin API and dashboard, ending in `/`. */
  adminUrl: string
  /** The signing secret (connectMock: the one given, else empty and `sign` throws). */
  secret: string
  /** The X-Talki-Signature of `body`'s exact bytes. */
  sign(body: string | Uint8Array): string
  /**
   * Switch scenario `name` on: the global override, or with `{ token }` that user's own `simulate`
   * (kept in the store until cleared; `count` and `probability` are for the global override only).
   */
  simulate<N extends ScenarioName>(
    name: N,
    params?: ScenarioParams<N>,
    options?: { token?: string },
  ): Promise<void>
  /** End the global override (a `down` in progress ends), or with `{ token }` remove that user's own scenario. */
  clear(options?: { token?: string }): Promise<void>
  /** Clear the override, every sequence's state and the request log; `{ users: 'seed' }` restores the seed's users too. */
  reset(options?: { users?: 'seed' }): Promise<void>
  users: {
    /** The stored record, or undefined when there is none. */
    get(token: string): Promise<UserRecord | undefined>
    /** Create or replace the whole record. */
    put(record: UserRecord): Promise<UserRecord>
    /** A JSON merge patch: only the keys named change, `null` removes one. */
    patch(token: string, patch: MergePatch<Omit<UserRecord, 'userToken'>>): Promise<UserRecord>
    /** Resolves true when there was a record to delete. */
    delete(token: string): Promise<boolean>
  }
  /** The request log, newest first (at most the last 1000 requests). */
  requests(filter?: RequestFilter): Promise<RequestLogEntry[]>
  /**
   * Resolves, newest first, once at least `count` entries match `token` (all entries without it); rejects after
   * `timeoutMs` (default 10000). An entry is written when its exchange ends: the answer sent, the connection cut
   * by a scenario, or the caller gone (a caller that gives up at 5 s is logged then, with `callerGaveUpMs`).
   */
  waitForRequests(count: number, options?: RequestFilter & { timeoutMs?: number }): Promise<RequestLogEntry[]>
}

/** Each key optional, and `null` to remove it (RFC 7396). */
export type MergePatch<T> = { [K in keyof T]?: T[K] | null }

export interface ConnectMockOptions extends AdminClientOptions {
  /** The signing secret the mock verifies with (it is never served by the admin API). */
  secret?: string
  /**
   * The endpoint's URL, when the admin API's own view is not reachable from here (a container's mapped port).
   * Otherwise read from GET /api/openapi.json: the admin URL's host, the endpoint's port and path.
   */
  url?: string
}

/** The same client as startMock's, `close()` aside, for a mock that runs elsewhere. */
export async function connectMock(
  adminUrl: string | URL,
  options: ConnectMockOptions = {},
): Promise<MockClient> {
  const admin = createAdminClient(adminUrl, options)
  const url = options.url ?? (await discoverEndpoint(admin))
  return mockClient(admin, { url, secret: options.secret ?? '' })
}

/** The endpoint as the admin API describes it: its path and port (the document's server), on the admin host. */
async function discoverEndpoint(admin: AdminClient): Promise<string> {
  type Document = {
    paths: Record<
      string,
      { post?: unknown; servers?: { url: string; variables?: { port?: { default: string } } }[] }
    >
  }
  const document = await admin.json<Document>('GET', '/api/openapi.json')
  for (const [path, item] of Object.entries(document.paths)) {
    const server = item.servers?.[0]
    if (item.post === undefined || server === undefined) continue
    const scheme = server.url.startsWith('https:') ? 'https:' : 'http:'
    const port = server.variables?.port?.default ?? ''
    return `${scheme}//${admin.base.hostname.includes(':') ? `[${admin.base.hostname}]` : admin.base.hostname}:${port}${path}`
  }
  throw new Error(`connectMock: ${admin.base.href}api/openapi.json names no endpoint; pass { url }`)
}

function matches(entry: RequestLogEntry, filter: RequestFilter): boolean {
  return (
    (filter.token === undefined || entry.token === filter.token) &&
    (filter.status === undefined || entry.status === filter.status) &&
    (filter.scenario === undefined || entry.scenario === filter.scenario)
  )
}

const userPath = (token: string) => `/api/users/${encodeURIComponent(token)}`

export function mockClient(admin: AdminClient, { url, secret }: { url: string; secret: string }): MockClient {
  const requests = async (filter: RequestFilter = {}) => {
    const { requests } = await admin.json<{ requests: RequestLogEntry[] }>('GET', '/api/requests?limit=1000')
    return requests.filter((entry) => matches(entry, filter))
  }
  return {
    url,
    adminUrl: admin.base.href,
    secret,
    sign(body) {
      if (secret === '') throw new Error('sign: no secret; pass { secret } to connectMock')
      return sign(secret, typeof body === 'string' ? body : Buffer.from(body))
    },
    async simulate(name, params, { token } = {}) {
      const spec = { scenario: name, ...params }
      if (token === undefined) await admin.json('PUT', '/api/simulation', spec)
      else await admin.json('PATCH', userPath(token), { simulate: spec as UserSimulationSpec })
    },
    async clear({ token } = {}) {
      if (token === undefined) await admin.json('DELETE', '/api/simulation')
      else await admin.json('PATCH', userPath(token), { simulate: null })
    },
    async reset(options = {}) {
      await admin.json('POST', '/api/reset', options)
    },
    users: {
      get: (token) =>
        admin.json<UserRecord | undefined>('GET', userPath(token), undefined, { missingOk: true }),
      put: (record) => admin.json<UserRecord>('PUT', userPath(record.userToken), record),
      patch: (token, patch) => admin.json<UserRecord>('PATCH', userPath(token), patch),
      async delete(token) {
        try {
          await admin.json('DELETE', userPath(token))
          return true
        } catch (error) {
          if (error instanceof AdminApiError && error.status === 404) return false
          throw error
        }
      },
    },
    requests,
    async waitForRequests(count, { timeoutMs = 10_000, ...filter } = {}) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const found = await requests(filter)
        if (found.length >= count) return found
        if (Date.now() >= deadline) {
          throw new Error(
            `waitForRequests: ${found.length} of ${count} matching requests after ${timeoutMs} ms (${JSON.stringify(filter)})`,
          )
        }
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
    },
  }
}
