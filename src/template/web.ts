import { createCustomerRoute, type EndpointOptions } from './customer-route.js'
import {
  ANSWER_HEADERS,
  type Answer,
  answers,
  checkSecrets,
  DEFAULT_BODY_LIMIT,
  SIGNATURE_GRAMMAR,
  type Verdict,
} from './protocol.js'

// Talki's route as a Web-standard handler, `(request: Request) => Promise<Response>`, verifying with Web
// Crypto. It touches no `node:` module, so the same file serves:
//   - Next.js App Router:  export const POST = createWebHandler({ secrets, store })  (app/talki/customer/route.ts)
//   - Hono:                app.post('/talki/customer', (c) => handler(c.req.raw))
//   - Bun / Deno:          Bun.serve({ fetch: handler }), Deno.serve(handler)
//   - Cloudflare Workers:  export default { fetch: handler }  (secrets from `env`: see the README)
// (with `path` set, so that other paths answer 404 where the handler receives every request).

export interface WebHandlerOptions extends EndpointOptions {
  /** When set, a request to another path answers 404; leave it unset where the framework routes. */
  path?: string
}

export function createWebHandler(options: WebHandlerOptions): (request: Request) => Promise<Response> {
  checkSecrets(options.secrets)
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT
  const onError = options.onError ?? console.error
  const answerCustomerRequest = createCustomerRoute({
    verify: createWebVerifier(options.secrets),
    store: options.store,
    tokenField: options.tokenField,
    lookupTimeoutMs: options.lookupTimeoutMs,
    onWarning: options.onWarning,
  })

  return async function handleTalkiRequest(request) {
    try {
      if (options.path !== undefined && new URL(request.url).pathname !== options.path) {
        return toResponse(answers.notFound)
      }
      if (request.method !== 'POST') return toResponse(answers.methodNotAllowed)
      // 1. Size: at most `bodyLimit` bytes are read.
      const body = await readWebBody(request, bodyLimit)
      if (!(body instanceof Uint8Array)) return toResponse(body)
      // 2–5. Encoding, signature, body, lookup: customer-route.ts. (`Headers.get` joins a repeated header
      //      with ", ", which the signature grammar refuses as malformed.)
      const outcome = await answerCustomerRequest({
        rawBody: body,
        signature: request.headers.get('x-talki-signature'),
        contentEncoding: request.headers.get('content-encoding'),
      })
      return toResponse(outcome)
    } catch (error) {
      onError(error)
      return toResponse(answers.internalError)
    }
  }
}

/**
 * The same verdicts as signature.ts's `verifySignature`, with Web Crypto: the header must be 64 hex
 * digits (either case) and match the HMAC-SHA256 of the exact bytes under one of the secrets. Every
 * secret is compared, in constant time, none returns early.
 */
export function createWebVerifier(
  secrets: readonly string[],
): (body: Uint8Array, header: string | string[] | null | undefined) => Promise<Verdict> {
  // Imported on first use: some runtimes (Workers) allow crypto work only inside a request.
  let keys: Promise<HmacKey[]> | undefined
  const encoder = new TextEncoder()
  const importKeys = () =>
    Promise.all(
      secrets.map((secret) =>
        crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
          'sign',
        ]),
      ),
    )
  return async (body, header) => {
    if (header === undefined || header === null || header === '') return 'missing_signature'
    if (typeof header !== 'string' || !SIGNATURE_GRAMMAR.test(header)) return 'malformed_signature'
    keys ??= importKeys()
    const received = header.toLowerCase()
    // Web Crypto wants bytes over a plain ArrayBuffer; a copy of a few dozen bytes guarantees that.
    const data = new Uint8Array(body)
    let matched = false
    for (const key of await keys) {
      const expected = toHex(new Uint8Array(await crypto.subtle.sign('HMAC', key, data)))
      matched = sameHex(received, expected) || matched
    }
    return matched ? 'valid' : 'invalid_signature'
  }
}

/** A `CryptoKey` (named so that the file type-checks with Node's types and with the DOM's alike). */
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>

/** The body's bytes, or the 413 answer once it passes `limit` (reading stops there). */
async function readWebBody(request: Request, limit: number): Promise<Uint8Array | Answer> {
  // A declared length over the limit is refused before a byte of the body is read.
  if (Number(request.headers.get('content-length')) > limit) return answers.payloadTooLarge
  if (request.body === null) return new Uint8Array(0)
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    // Stop reading; the answer's `Connection: close` lets the server drop the rest with the socket.
    if (size > limit) {
      reader.releaseLock()
      return answers.payloadTooLarge
    }
    chunks.push(value)
  }
  const body = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    body.set(chunk, offset)
    offset += chunk.byteLength
  }
  return body
}

function toResponse(answer: Answer): Response {
  return new Response(JSON.stringify(answer.body), {
    status: answer.status,
    headers: { ...ANSWER_HEADERS, ...answer.headers },
  })
}

function toHex(bytes: Uint8Array): string {
  let hex = ''
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0')
  return hex
}

/** Equal-length lowercase hex strings compared without an early exit. */
function sameHex(a: string, b: string): boolean {
  let difference = a.length ^ b.length
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return difference === 0
}
