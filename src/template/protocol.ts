// The rules of Talki's Backend Connect that every stack shares: what Talki sends, what it accepts back,
// and the answers an endpoint gives. No npm package and no `node:` module, so this file runs on Node,
// Bun, Deno and Cloudflare Workers alike.

/** What `verifySignature` concludes about a request's `X-Talki-Signature` header. */
export const VERDICTS = ['valid', 'missing_signature', 'malformed_signature', 'invalid_signature'] as const
export type Verdict = (typeof VERDICTS)[number]

/** Exactly 64 hex digits, either case: no `sha256=` prefix, no list, no white space. */
export const SIGNATURE_GRAMMAR = /^[0-9a-fA-F]{64}$/

/** The header Talki signs with (lower case: how Node and the Fetch API's `Headers` name it). */
export const SIGNATURE_HEADER = 'x-talki-signature'

/** Longest user token accepted. */
export const MAX_TOKEN_LENGTH = 256

/** Default body key that holds the user id (Talki console: "User token field"). */
export const DEFAULT_TOKEN_FIELD = 'userToken'

/** Default path of the route (Talki console: "Endpoint URL"). */
export const DEFAULT_ENDPOINT_PATH = '/talki/customer'

/** Default largest body accepted: Talki's body is a few dozen bytes. */
export const DEFAULT_BODY_LIMIT = 16 * 1024

/** Default deadline of the lookup: well inside Talki's 5 s, so the caller always gets an answer. */
export const DEFAULT_LOOKUP_TIMEOUT_MS = 4000

/** A value in `fields`: Talki renders strings, numbers and booleans, nothing nested. */
export type FieldValue = string | number | boolean

/** What the endpoint answers and Talki shows in the ticket sidebar. Every key is optional. */
export interface Profile {
  name?: string
  email?: string
  plan?: string
  fields?: Record<string, FieldValue>
}

/** A stored user: the profile and the token that finds it. Your own records may carry more. */
export interface UserRecord extends Profile {
  userToken: string
}

/** Every error code an endpoint answers, each with its status in `answers` below. */
export type ErrorCode =
  | 'payload_too_large'
  | 'unsupported_encoding'
  | 'missing_signature'
  | 'malformed_signature'
  | 'invalid_signature'
  | 'invalid_body'
  | 'user_not_found'
  | 'lookup_timeout'
  | 'store_unavailable'
  | 'method_not_allowed'
  | 'not_found'
  | 'internal_error'

/** One error shape for every refusal. */
export interface ErrorBody {
  error: ErrorCode
  detail?: string
}

/** What to send: a status, a JSON body and the headers beyond `ANSWER_HEADERS`. */
export interface Answer {
  status: number
  body: Profile | ErrorBody
  headers?: Record<string, string>
}

/**
 * Headers on every answer: JSON, never cached (it carries personal data), and helmet's defaults written
 * out, so no middleware is needed (the mock's test/template/protocol.test.ts keeps them equal to
 * helmet's own).
 */
export const ANSWER_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests",
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Origin-Agent-Cluster': '?1',
  'Referrer-Policy': 'no-referrer',
  'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
  'X-Content-Type-Options': 'nosniff',
  'X-DNS-Prefetch-Control': 'off',
  'X-Download-Options': 'noopen',
  'X-Frame-Options': 'SAMEORIGIN',
  'X-Permitted-Cross-Domain-Policies': 'none',
  'X-XSS-Protection': '0',
  'Cache-Control': 'no-store',
  'Content-Type': 'application/json; charset=utf-8',
}

/** The fixed answers that do not depend on the request. */
export const answers = {
  payloadTooLarge: { status: 413, body: { error: 'payload_too_large' }, headers: { Connection: 'close' } },
  unsupportedEncoding: { status: 415, body: { error: 'unsupported_encoding' } },
  methodNotAllowed: { status: 405, body: { error: 'method_not_allowed' }, headers: { Allow: 'POST' } },
  notFound: { status: 404, body: { error: 'not_found' } },
  internalError: { status: 500, body: { error: 'internal_error' } },
} as const satisfies Record<string, Answer>

/** Talki sends no `Content-Encoding`; anything but `identity` is refused, never inflated. */
export function isIdentityEncoding(header: string | null | undefined): boolean {
  return header === undefined || header === null || header.trim().toLowerCase() === 'identity'
}

/**
 * The user token a JSON value names, if it is an object whose `tokenField` is a non-empty string of at
 * most MAX_TOKEN_LENGTH characters; else undefined. Other keys are ignored.
 */
export function readUserToken(json: unknown, tokenField: string): string | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined
  // biome-ignore lint/suspicious/noPrototypeBuiltins: Object.hasOwn is ES2022; apps built for ES2020 use this file too
  if (!Object.prototype.hasOwnProperty.call(json, tokenField)) return undefined
  const token = (json as Record<string, unknown>)[tokenField]
  return typeof token === 'string' && token.length > 0 && token.length <= MAX_TOKEN_LENGTH ? token : undefined
}

/** The keys of a user record that an answer may carry; never `userToken` or anything else stored. */
export function toProfile(user: Profile): Profile {
  return readProfile(user).profile
}

/**
 * What Talki can show of a stored record, and the keys dropped on the way: `name`, `email` and `plan`
 * must be strings, `fields` an object of strings, finite numbers and booleans. Anything else (a `null`
 * from a database column, a nested object, a date object) is left out of the answer rather than sent,
 * and named in `dropped` (`plan`, `fields.address`, …) so the caller can log it. Never `userToken` or
 * other stored keys.
 */
export function readProfile(user: Profile): { profile: Profile; dropped: string[] } {
  const profile: Profile = {}
  const dropped: string[] = []
  for (const key of ['name', 'email', 'plan'] as const) {
    const value: unknown = user[key]
    if (value === undefined) continue
    if (typeof value === 'string') profile[key] = value
    else dropped.push(key)
  }
  const fields: unknown = user.fields
  if (fields !== undefined) {
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) dropped.push('fields')
    else {
      const shown: Record<string, FieldValue> = {}
      for (const [key, value] of Object.entries(fields)) {
        if (value === undefined) continue
        if (!isFieldValue(value)) dropped.push(`fields.${key}`)
        // A `__proto__` key from JSON.parse is an own key; assigning it would set the prototype instead.
        else if (key === '__proto__') Object.defineProperty(shown, key, { value, enumerable: true })
        else shown[key] = value
      }
      profile.fields = shown
    }
  }
  return { profile, dropped }
}

function isFieldValue(value: unknown): value is FieldValue {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  )
}

/**
 * Refuses a secret list that cannot work, at start rather than on Talki's first request: none at all (an
 * unset `TALKI_SECRET` read as `[process.env.TALKI_SECRET]` gives `[undefined]`), an empty secret, or one
 * with white space at either end (the classic `\n` from an env file).
 */
export function checkSecrets(secrets: readonly string[]): void {
  const given: readonly unknown[] = Array.isArray(secrets) ? secrets : []
  if (given.every((secret) => secret === undefined || secret === null || secret === '')) {
    throw new Error(
      'Talki signing secret: none given. Set TALKI_SECRET (the secret from the Talki console) and pass it as the `secrets` option',
    )
  }
  for (const [i, secret] of given.entries()) {
    const which = `Talki signing secret #${i + 1} of ${given.length} in \`secrets\``
    if (typeof secret !== 'string') throw new Error(`${which} is not a string (got ${typeof secret})`)
    if (secret === '') throw new Error(`${which} is empty`)
    if (secret.trim() !== secret) {
      throw new Error(`${which} starts or ends with white space (a stray newline?)`)
    }
  }
}
