import {
  type Answer,
  answers,
  DEFAULT_LOOKUP_TIMEOUT_MS,
  DEFAULT_TOKEN_FIELD,
  isIdentityEncoding,
  MAX_TOKEN_LENGTH,
  readProfile,
  readUserToken,
  type UserRecord,
  type Verdict,
} from './protocol.js'
import type { UserStore } from './user-store.js'

// The heart of Backend Connect, the code every adapter (express.ts, fastify.ts, node-http.ts, web.ts)
// shares. It takes the raw bytes and two headers and returns what to answer; it knows no framework, so
// it is easy to test and to move. Reading the body within the size limit is the adapter's job.

export interface CustomerRouteOptions<U extends UserRecord = UserRecord> {
  /** Checks the signature header over the raw bytes: signature.ts (Node) or web.ts (Web Crypto). */
  verify(body: Uint8Array, header: string | string[] | null | undefined): Verdict | Promise<Verdict>
  store: UserStore<U>
  /** The body key that holds the user id (Talki console: "User token field"), default `userToken`. */
  tokenField?: string | undefined
  /** The lookup must finish well inside Talki's 5 s, so the caller always gets an answer (default 4000). */
  lookupTimeoutMs?: number | undefined
  /** Told once per key about a stored value Talki cannot show (dropped from the answer); default console.warn. */
  onWarning?: ((message: string) => void) | undefined
}

/** What every adapter (express.ts, fastify.ts, node-http.ts, web.ts) is given. */
export interface EndpointOptions<U extends UserRecord = UserRecord> {
  /** The signing secrets; any one verifies (rotation). Checked at start: see `checkSecrets`. */
  secrets: readonly string[]
  store: UserStore<U>
  /** The body key that holds the user id, default `userToken`. */
  tokenField?: string | undefined
  /** Deadline of the lookup, default 4000 ms. */
  lookupTimeoutMs?: number | undefined
  /** Largest body read, in bytes, default 16 KiB; a larger one is answered 413 and never read. */
  bodyLimit?: number | undefined
  /** Called with anything unexpected (the caller gets 500 JSON, never a stack trace); default console.error. */
  onError?: ((error: unknown) => void) | undefined
  /**
   * Told once per key about a value `find` returned that Talki cannot show (a `null` or nested field
   * value, a plan that is not a string): it is left out of the answer, never sent. Default console.warn.
   */
  onWarning?: ((message: string) => void) | undefined
}

export interface CustomerRequest {
  /** The body exactly as received, already read within the size limit. */
  rawBody: Uint8Array
  /** The `X-Talki-Signature` header as the framework hands it over. */
  signature: string | string[] | null | undefined
  /** The `Content-Encoding` header, if any. */
  contentEncoding?: string | null | undefined
}

/** What to answer, and what was learnt on the way (for logs). */
export interface Outcome<U extends UserRecord = UserRecord> extends Answer {
  /** The signature's verdict; null when the request was refused before that step. */
  verdict: Verdict | null
  /** The user token, once the body has been verified and read. */
  token?: string
  /** The stored user behind a 200. */
  user?: U
}

export function createCustomerRoute<U extends UserRecord>(options: CustomerRouteOptions<U>) {
  const tokenField = options.tokenField ?? DEFAULT_TOKEN_FIELD
  const lookupTimeoutMs = options.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS
  const utf8 = new TextDecoder('utf-8', { fatal: true })
  const onWarning = options.onWarning ?? console.warn
  // Each key is told once: a column full of nulls must not write a line per request.
  const warned = new Set<string>()

  return async function answerCustomerRequest(request: CustomerRequest): Promise<Outcome<U>> {
    // 1. Encoding: the signature covers the bytes as sent, so nothing is inflated.
    if (!isIdentityEncoding(request.contentEncoding)) return { ...answers.unsupportedEncoding, verdict: null }

    // 2. Verify the signature over the exact bytes received, before any parsing: a re-serialised body
    //    would not match what Talki signed. The verifier never throws, whatever the header holds.
    const pending = options.verify(request.rawBody, request.signature)
    const verdict = typeof pending === 'string' ? pending : await pending
    if (verdict !== 'valid') return { status: 401, body: { error: verdict }, verdict }

    // 3. Read the body: UTF-8, JSON, an object whose token field is a non-empty string of ≤ 256 characters.
    let json: unknown
    try {
      json = JSON.parse(utf8.decode(request.rawBody))
    } catch {
      return invalidBody('body is not UTF-8 JSON')
    }
    const token = readUserToken(json, tokenField)
    if (token === undefined) {
      return invalidBody(`${tokenField} must be a non-empty string of at most ${MAX_TOKEN_LENGTH} characters`)
    }

    // 4. Look the user up, racing a deadline: a slow database must not make Talki time out, and a
    //    failing one answers 503 (Talki treats 5xx as "down" and retries once after 3 s). A store in
    //    memory answers at once: no deadline needed.
    let user: U | undefined
    try {
      const found = options.store.find(token)
      user = isPromiseLike(found) ? await withDeadline(Promise.resolve(found), lookupTimeoutMs) : found
    } catch (error) {
      const error_ = error === DEADLINE ? 'lookup_timeout' : 'store_unavailable'
      return { status: 503, body: { error: error_ }, headers: { 'Retry-After': '3' }, token, verdict }
    }
    if (!user) return { status: 404, body: { error: 'user_not_found' }, token, verdict }

    // 5. Answer the profile: only name, email, plan and fields — never the token or other stored keys —
    //    and only values Talki can show (strings; in fields also numbers and booleans).
    const { profile, dropped } = readProfile(user)
    for (const key of dropped) {
      if (warned.has(key) || warned.size >= MAX_WARNED_KEYS) continue
      warned.add(key)
      onWarning(
        `Talki route: the store's user has a ${key} Talki cannot show (${describe(user, key)}); it is left out of the answer`,
      )
    }
    return { status: 200, body: profile, token, verdict, user }
  }

  function invalidBody(detail: string): Outcome<U> {
    return { status: 400, body: { error: 'invalid_body', detail }, verdict: 'valid' }
  }
}

/** Enough for any real profile; bounds the memory of keys already told about. */
const MAX_WARNED_KEYS = 100

/** What kind of value sits at `key` (`plan`, `fields.x`): its type, never the value (it may be personal). */
function describe(user: UserRecord, key: string): string {
  const value: unknown = key.startsWith('fields.')
    ? (user.fields as Record<string, unknown> | undefined)?.[key.slice('fields.'.length)]
    : (user as unknown as Record<string, unknown>)[key]
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'number') return String(value)
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

const DEADLINE = Symbol('deadline')
const PENDING = Symbol('pending')
const settledAlready = Promise.resolve(PENDING)

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function'
}

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  // An in-memory store has usually answered by now: then no timer is needed at all. (A promise that is
  // already fulfilled wins the race against another fulfilled one that comes after it.)
  const first = await Promise.race([work, settledAlready])
  if (first !== PENDING) return first as T
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(DEADLINE), ms)
  })
  try {
    return await Promise.race([work, deadline])
  } finally {
    clearTimeout(timer)
  }
}
