import type { AdminClient } from '../testing/admin-client.js'
import type { MockClient } from '../testing/connect.js'
import { type Io, UsageError } from './io.js'
import { parseUrl, tlsValues } from './options.js'

// What the admin commands (simulate, clear, reset, requests) share: where the admin API is, its token, and
// one line for each way a call can fail. They speak through the same client as connectMock.

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:3001'

export const ADMIN_OPTIONS = {
  'admin-url': { type: 'string' },
  ca: { type: 'string' },
  insecure: { type: 'boolean' },
} as const

export const ADMIN_HELP = `Admin options:
  --admin-url U   the mock's admin API (default ${DEFAULT_ADMIN_URL}); ADMIN_TOKEN, when set, is sent as its bearer token
  --ca FILE       trust the certificate authority in FILE (PEM) for an https:// admin URL
  --insecure      do not verify the admin port's certificate
  -h, --help      this help

Exit 0 when the mock took the change, 1 when it refused it or could not be reached (one line says which),
2 on a usage error.`

interface AdminValues {
  'admin-url'?: string | undefined
  ca?: string | undefined
  insecure?: boolean | undefined
}

/** Runs `work` against the mock named by the options; a refusal or an unreachable admin port is one line and exit 1. */
export async function withMock(
  values: AdminValues,
  io: Io,
  work: (mock: MockClient, admin: AdminClient) => Promise<number>,
): Promise<number> {
  const text = values['admin-url'] ?? DEFAULT_ADMIN_URL
  if (!/^https?:\/\//.test(text))
    throw new UsageError(`--admin-url must be an http:// or https:// URL, not "${text}"`)
  const url = parseUrl(text)
  const tls = await tlsValues(values.ca, values.insecure === true)
  const token = io.env.ADMIN_TOKEN === '' ? undefined : io.env.ADMIN_TOKEN
  const { AdminApiError, AdminUnreachableError, createAdminClient } = await import(
    '../testing/admin-client.js'
  )
  const { mockClient } = await import('../testing/connect.js')
  try {
    const admin = createAdminClient(url, {
      ...(token === undefined ? {} : { token }),
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls.insecure ? { insecure: true } : {}),
    })
    // Neither the endpoint's URL nor the secret is needed to drive the admin API.
    return await work(mockClient(admin, { url: '', secret: '' }), admin)
  } catch (error) {
    if (error instanceof AdminApiError) {
      const hint = error.status === 401 ? ' — set ADMIN_TOKEN to the mock’s admin token' : ''
      io.stderr.write(`talki-endpoint: the mock refused: ${error.message}${hint}\n`)
      return 1
    }
    if (error instanceof AdminUnreachableError) {
      io.stderr.write(
        `talki-endpoint: admin API not reachable: ${error.message} (is the mock running? --admin-url)\n`,
      )
      return 1
    }
    throw error
  }
}
