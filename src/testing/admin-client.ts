import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http'

// One client for the mock's admin API (docs/admin-api.md): connectMock and the CLI's admin commands both
// speak through it. node:http/node:https rather than fetch, so a private CA (`ca`) can be trusted for an
// HTTPS admin port and the request-log stream reads as it arrives.

export interface AdminClientOptions {
  /** ADMIN_TOKEN of the mock, sent as `Authorization: Bearer …`. */
  token?: string
  /** PEM of the CA that signed an HTTPS admin port's certificate (TLS=self-signed: data/tls/ca.pem). */
  ca?: string | Buffer
  /** Do not verify an HTTPS admin port's certificate. */
  insecure?: boolean
  /** Per-call deadline, 10 s unless given. */
  timeoutMs?: number
}

/** A refusal from the admin API: its status and `{"error","issues"}` body. */
export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly issues: { message: string; path?: unknown[] }[],
    what: string,
  ) {
    const detail = issues.map((issue) => issue.message).join('; ')
    super(`${what}: ${status} ${code}${detail ? ` (${detail})` : ''}`)
    this.name = 'AdminApiError'
  }
}

/** The admin port could not be reached, or did not answer in time. */
export class AdminUnreachableError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AdminUnreachableError'
  }
}

export interface AdminClient {
  /** The admin port's base URL, ending in `/`. */
  base: URL
  /** One JSON call: resolves with the parsed answer (undefined for 204), `undefined` for a 404 when `missingOk`. */
  json<T>(method: string, path: string, body?: unknown, options?: { missingOk?: boolean }): Promise<T>
  /**
   * GET /api/requests/stream: calls `onOpen` once it is connected, then `onEntry` for each entry; resolves when
   * `signal` aborts or the mock ends the stream.
   */
  stream(onEntry: (entry: unknown) => void, signal: AbortSignal, onOpen?: () => void): Promise<void>
}

export function createAdminClient(adminUrl: string | URL, options: AdminClientOptions = {}): AdminClient {
  const base = new URL(adminUrl)
  if (!base.pathname.endsWith('/')) base.pathname += '/'
  const timeoutMs = options.timeoutMs ?? 10_000

  const open = async (
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<IncomingMessage> => {
    const url = new URL(path.replace(/^\//, ''), base)
    const https = url.protocol === 'https:'
    const send = https ? (await import('node:https')).request : httpRequest
    const tls: RequestOptions & { ca?: string | Buffer; rejectUnauthorized?: boolean } = https
      ? { rejectUnauthorized: options.insecure !== true, ...(options.ca ? { ca: options.ca } : {}) }
      : {}
    const all = { ...headers, ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) }
    return new Promise((resolve, reject) => {
      const req = send(url, { method, headers: all, signal, ...tls }, resolve)
      req.on('error', (error: NodeJS.ErrnoException) => {
        const why = error.name === 'AbortError' ? `no answer within ${timeoutMs} ms` : error.message
        reject(
          new AdminUnreachableError(`${method} ${url.href}: ${why}${error.code ? ` (${error.code})` : ''}`),
        )
      })
      req.end(body)
    })
  }

  return {
    base,
    async json<T>(method: string, path: string, body?: unknown, { missingOk = false } = {}): Promise<T> {
      const headers: Record<string, string> = { accept: 'application/json' }
      let text: string | undefined
      if (body !== undefined) {
        text = JSON.stringify(body)
        headers['content-type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json'
        headers['content-length'] = String(Buffer.byteLength(text))
      }
      const signal = AbortSignal.timeout(timeoutMs)
      const res = await open(method, path, headers, text, signal)
      const chunks: Buffer[] = []
      for await (const chunk of res) chunks.push(chunk as Buffer)
      const answer = Buffer.concat(chunks).toString('utf8')
      const status = res.statusCode ?? 0
      if (status === 404 && missingOk) return undefined as T
      if (status >= 400) {
        let refusal: { error?: string; issues?: { message: string }[] } = {}
        try {
          refusal = JSON.parse(answer)
        } catch {}
        throw new AdminApiError(status, refusal.error ?? 'unknown', refusal.issues ?? [], `${method} ${path}`)
      }
      return (answer === '' ? undefined : JSON.parse(answer)) as T
    },
    async stream(onEntry, signal, onOpen) {
      let res: IncomingMessage
      try {
        res = await open('GET', '/api/requests/stream', { accept: 'text/event-stream' }, undefined, signal)
      } catch (error) {
        if (signal.aborted) return
        throw error
      }
      if ((res.statusCode ?? 0) >= 400) {
        res.resume()
        throw new AdminApiError(res.statusCode ?? 0, 'stream_refused', [], 'GET /api/requests/stream')
      }
      onOpen?.()
      let buffered = ''
      try {
        for await (const chunk of res.setEncoding('utf8')) {
          buffered += chunk as string
          // One event per blank-line-terminated block; its `data:` lines joined are the entry's JSON.
          for (let end = buffered.indexOf('\n\n'); end !== -1; end = buffered.indexOf('\n\n')) {
            const block = buffered.slice(0, end)
            buffered = buffered.slice(end + 2)
            const data = block
              .split('\n')
              .filter((line) => line.startsWith('data:'))
              .map((line) => line.slice(5).replace(/^ /, ''))
              .join('\n')
            if (data !== '') onEntry(JSON.parse(data))
          }
        }
      } catch {
        // Cut by our own abort, or by the mock going away (closed, restarted): either way the stream ended.
      }
    },
  }
}
