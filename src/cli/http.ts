import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import type { TlsOptions } from './options.js'

// A tiny HTTP client over node:http/node:https. Node's fetch refuses some ports (6000, 6665…) that an
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

/** `tls`: the handshake failed (certificate or protocol); it is named as such, never as "down". */
export type NetworkErrorKind = 'timeout' | 'connection' | 'protocol' | 'tls'

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

export interface RequestOptions {
  url: URL
  /** POST when absent. */
  method?: string
  /** No body is sent when absent. */
  body?: Uint8Array
  headers?: Record<string, string>
  timeoutMs: number
  tls?: TlsOptions
}

/** POSTs `body` and resolves with the whole answer, or rejects with a NetworkError. Never throws anything else. */
export async function post(options: RequestOptions & { body: Uint8Array }): Promise<HttpAnswer> {
  return request(options)
}

/** Sends one request and resolves with the whole answer, or rejects with a NetworkError. */
export async function request({
  url,
  method = 'POST',
  body,
  headers = {},
  timeoutMs,
  tls = {},
}: RequestOptions): Promise<HttpAnswer> {
  // node:https (and TLS with it) is loaded only for an https:// URL: a local endpoint's start stays short.
  const https = url.protocol === 'https:'
  const send = https ? (await import('node:https')).request : httpRequest
  const tlsOptions = https ? await tlsRequestOptions(tls) : {}
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
      method,
      // No keep-alive pool: each call stands alone, as Talki's webhook calls do, and nothing lingers.
      agent: false,
      headers: body === undefined ? headers : { ...headers, 'Content-Length': String(body.byteLength) },
      ...tlsOptions,
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

/** The CA added to the system's (Node's `ca` replaces them, so both are given) and whether to verify at all. */
export async function tlsRequestOptions(
  tls: TlsOptions,
): Promise<{ ca?: (string | Buffer)[]; rejectUnauthorized: boolean }> {
  if (tls.ca === undefined) return { rejectUnauthorized: tls.insecure !== true }
  const { rootCertificates } = await import('node:tls')
  return { rejectUnauthorized: tls.insecure !== true, ca: [...rootCertificates, tls.ca] }
}

/** OpenSSL's certificate verdicts, as Node reports them in `error.code`. */
const CERTIFICATE_CODES: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'the chain ends in a self-signed CA that is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the certificate is not signed by a trusted CA',
  UNABLE_TO_GET_ISSUER_CERT: 'the issuer of the certificate is unknown',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the certificate is signed by a CA this machine does not trust',
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate is not for this host name',
}

function describe(error: NodeJS.ErrnoException, url: URL, ms: number): NetworkError {
  const where = url.host
  const code = error.code ?? ''
  const certificate = CERTIFICATE_CODES[code]
  if (certificate !== undefined) {
    return new NetworkError('tls', `TLS failed with ${where}: ${certificate} (${code})`, ms)
  }
  if (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    /certificate|SSL|TLS/i.test(error.message)
  ) {
    return new NetworkError('tls', `TLS failed with ${where}: ${oneLine(error.message)}`, ms)
  }
  switch (code) {
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
      return new NetworkError('protocol', `${where} did not answer HTTP (${code})`, ms)
    default:
      if (error.message === 'socket hang up') {
        return new NetworkError('connection', `${where} closed the connection without an answer`, ms)
      }
      return new NetworkError('connection', `${oneLine(error.message)}${code ? ` (${code})` : ''}`, ms)
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
