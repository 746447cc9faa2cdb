import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'

// A tiny POST client over node:http/node:https. Node's fetch refuses some ports (6000, 6665…) that an
// integrator's endpoint may well use, and a deadline here covers connect, headers and body alike.

/** The largest answer read; a profile is a few hundred bytes, so anything past this is a defect. */
export const MAX_ANSWER_BYTES = 1024 * 1024

export interface HttpAnswer {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
  /** Milliseconds from sending the request to the end of the answer. */
  ms: number
}

export type NetworkErrorKind = 'timeout' | 'connection' | 'protocol'

/** A request that got no complete answer. `message` is one line a person can act on. */
export class NetworkError extends Error {
  constructor(
    readonly kind: NetworkErrorKind,
    message: string,
    readonly ms: number,
  ) {
    super(message)
    this.name = 'NetworkError'
  }
}

export interface PostOptions {
  url: URL
  body: Uint8Array
  headers?: Record<string, string>
  timeoutMs: number
}

/** POSTs `body` and resolves with the whole answer, or rejects with a NetworkError. Never throws anything else. */
export async function post({ url, body, headers = {}, timeoutMs }: PostOptions): Promise<HttpAnswer> {
  // node:https (and TLS with it) is loaded only for an https:// URL: a local endpoint's start stays short.
  const send = url.protocol === 'https:' ? (await import('node:https')).request : httpRequest
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  return new Promise((resolve, reject) => {
    let settled = false
    const fail = (error: NetworkError) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      reject(error)
      req.destroy()
    }
    const req = send(url, {
      method: 'POST',
      // No keep-alive pool: each call stands alone, as Talki's webhook calls do, and nothing lingers.
      agent: false,
      headers: { ...headers, 'Content-Length': String(body.byteLength) },
    })
    const timer = setTimeout(
      () => fail(new NetworkError('timeout', `no answer within ${timeoutMs} ms`, elapsed())),
      timeoutMs,
    )
    req.on('error', (error: NodeJS.ErrnoException) => fail(describe(error, url, elapsed())))
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_ANSWER_BYTES) {
          fail(new NetworkError('protocol', `answer larger than ${MAX_ANSWER_BYTES} bytes`, elapsed()))
          return
        }
        chunks.push(chunk)
      })
      res.on('error', (error: NodeJS.ErrnoException) => fail(describe(error, url, elapsed())))
      res.on('aborted', () =>
        fail(new NetworkError('connection', 'connection closed in the middle of the answer', elapsed())),
      )
      res.on('end', () => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          ms: elapsed(),
        })
      })
    })
    req.end(body)
  })
}

function describe(error: NodeJS.ErrnoException, url: URL, ms: number): NetworkError {
  const where = url.host
  switch (error.code) {
    case 'ECONNREFUSED':
      return new NetworkError('connection', `connection refused by ${where} (is the endpoint running?)`, ms)
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new NetworkError('connection', `host not found: ${url.hostname}`, ms)
    case 'ECONNRESET':
      return new NetworkError('connection', `connection reset by ${where} before a complete answer`, ms)
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new NetworkError('connection', `${where} is unreachable from here`, ms)
    case 'ETIMEDOUT':
      return new NetworkError('timeout', `connecting to ${where} timed out`, ms)
    case 'HPE_INVALID_CONSTANT':
    case 'HPE_INVALID_VERSION':
    case 'HPE_INVALID_STATUS':
      return new NetworkError('protocol', `${where} did not answer HTTP (${error.code})`, ms)
    default:
      if (error.code?.startsWith('ERR_TLS') || /certificate|SSL|TLS/i.test(error.message)) {
        return new NetworkError('connection', `TLS failed with ${where}: ${oneLine(error.message)}`, ms)
      }
      if (error.message === 'socket hang up') {
        return new NetworkError('connection', `${where} closed the connection without an answer`, ms)
      }
      return new NetworkError(
        'connection',
        `${oneLine(error.message)}${error.code ? ` (${error.code})` : ''}`,
        ms,
      )
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

/** An answer's body on one line, cut to `max` characters: what the CLI shows of an unexpected answer. */
export function bodyPreview(body: Buffer, max: number): string {
  const text = oneLine(body.toString('utf8'))
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}
