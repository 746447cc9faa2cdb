import { randomBytes } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import type { Profile } from '../contract/profile.js'
import { sign } from '../template/signature.js'
import type { NetworkError } from './http.js'
import type { ProbeRequest, Result, SignatureRecipe, Verdict } from './judge.js'
import { talkiBody } from './talki.js'

// The probes that are one request each: what they send and how each answer is judged. Each reason is one
// line that says what to fix.

export interface Probe {
  id: string
  name: string
  request: ProbeRequest
  judge: (result: Result) => Verdict
}

const LENGTH_FIX =
  "check the header is exactly 64 hex digits before comparing (Node's timingSafeEqual throws on unequal lengths, Python's compare_digest on non-ASCII)"

/** The header value a recipe makes under `secret`; `undefined` sends no header. */
export function signatureOf(recipe: SignatureRecipe, secret: string): string | undefined {
  switch (recipe.kind) {
    case 'none':
      return undefined
    case 'literal':
      return recipe.value
    case 'hmac': {
      const hex = sign(secret, recipe.over)
      return `${recipe.prefix ?? ''}${recipe.cut === undefined ? hex : hex.slice(0, recipe.cut)}${recipe.suffix ?? ''}`
    }
  }
}

function noAnswer(result: { error: NetworkError }): Verdict {
  return { pass: false, reason: result.error.message }
}

/** A bad signature must get 401: anything 2xx leaks a profile, anything 5xx is a crash an attacker can trigger. */
function expect401(what: string, fix: string): (result: Result) => Verdict {
  return (result) => {
    if ('error' in result) return noAnswer(result)
    const { status } = result.answer
    if (status === 401) return { pass: true, reason: '401' }
    if (status >= 200 && status < 300) {
      return { pass: false, reason: `${status} — accepted ${what}: verify the signature before answering` }
    }
    if (status >= 500) return { pass: false, reason: `${status} — crashed on ${what}: ${fix}` }
    return {
      pass: false,
      reason: `got ${status}, expected 401 for ${what}: answer 401 whenever the signature does not verify`,
    }
  }
}

/** A body signed as sent must verify, whatever its whitespace, key order or escapes. */
function expectVerified(what: string): (result: Result) => Verdict {
  return (result) => {
    if ('error' in result) return noAnswer(result)
    const { status } = result.answer
    if (status === 200) return { pass: true, reason: '200: the raw bytes were verified' }
    if (status === 401) {
      return {
        pass: false,
        reason: `401 — ${what} signed as sent was refused: compute the HMAC over the raw bytes, not re-serialised JSON`,
      }
    }
    if (status === 400)
      return { pass: false, reason: `400 — ${what} was refused: ignore body keys you do not know` }
    return {
      pass: false,
      reason: `got ${status}, expected 200 for ${what} with a good signature: verify the raw bytes, then answer the profile`,
    }
  }
}

function expect4xx(what: string, fix: string, preferred?: number): (result: Result) => Verdict {
  return (result) => {
    if ('error' in result) return noAnswer(result)
    const { status } = result.answer
    if (preferred !== undefined && status === preferred) return { pass: true, reason: String(status) }
    if (preferred === undefined && status >= 400 && status < 500)
      return { pass: true, reason: String(status) }
    if (status >= 500) return { pass: false, reason: `${status} — crashed on ${what}: ${fix}` }
    return {
      pass: false,
      reason: `got ${status}, expected ${preferred ?? '4xx'} for ${what}: ${fix}`,
    }
  }
}

/** A token that names an inherited property, not a user: 404, never a profile read from a prototype. */
function expectUnknown(name: string): (result: Result) => Verdict {
  const fix = `look users up with a Map or Object.hasOwn, not plain-object indexing (users["${name}"] is inherited)`
  return (result) => {
    if ('error' in result) return noAnswer(result)
    const { status } = result.answer
    if (status === 404) return { pass: true, reason: '404' }
    if (status >= 200 && status < 300)
      return { pass: false, reason: `${status} — "${name}" was found as a user: ${fix}` }
    if (status >= 500) {
      return {
        pass: false,
        reason: `${status} — crashed on the unknown user "${name}": answer 404 when the lookup finds nobody, and ${fix}`,
      }
    }
    return {
      pass: false,
      reason: `got ${status}, expected 404 for the unknown user "${name}": answer 404 for a token no user has`,
    }
  }
}

/**
 * Whether an answer's body carries the known user's profile: its name or email inside it, or, for a profile
 * without either, the same JSON. Without a profile to compare with, a JSON object with one of Talki's keys.
 */
export function carriesProfile(body: Buffer, profile: Profile | undefined): boolean {
  const text = body.toString('utf8')
  const marks = [profile?.name, profile?.email].filter((v): v is string => typeof v === 'string' && v !== '')
  if (marks.length > 0) return marks.some((mark) => text.includes(mark))
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return false
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return false
  if (profile !== undefined) return Object.keys(profile).length > 0 && isDeepStrictEqual(parsed, profile)
  return ['name', 'email', 'plan', 'fields'].some((key) => Object.hasOwn(parsed, key))
}

/** An unsigned request by another method or with the token elsewhere: never a 2xx carrying the profile. */
function expectNoProfile(what: string, profile: () => Profile | undefined): (result: Result) => Verdict {
  return (result) => {
    if ('error' in result)
      return { pass: true, reason: `no answer (${result.error.message}): nothing served` }
    const { status, body } = result.answer
    if (status >= 200 && status < 300 && carriesProfile(body, profile())) {
      return {
        pass: false,
        reason: `${status} with the user's profile to ${what}, unsigned: serve the profile only on a POST whose X-Talki-Signature verifies (answer 405 to other methods, 401 to unsigned requests), and never read the token from the query string`,
      }
    }
    return { pass: true, reason: `${status}, no profile` }
  }
}

export interface ProbeContext {
  url: URL
  secret: string
  field: string
  token: string
  /** The profile the good request answered, once it has: what the unsigned probes must not serve. */
  profile: () => Profile | undefined
}

export function buildProbes({ url, field, token, profile }: ProbeContext): Probe[] {
  const goodBody = talkiBody(field, token)
  const key = JSON.stringify(field)
  const value = JSON.stringify(token)
  const whitespace = `{\n  ${key} :\t${value}\n}\n`
  const reordered = `{"source":"talki-endpoint check",${key}:${value},"attempt":1}`
  // Raw UTF-8 and \u escapes: re-serialising changes one or the other, so the HMAC no longer matches.
  const unicode = `{${key}:${value},"note":"Zoë ✓ 日本語 🙂","escaped":"\\u00e9\\u2713"}`
  const unknownBody = talkiBody(field, `talki-check-unknown-${randomBytes(6).toString('hex')}`)
  const otherBody = talkiBody(field, `${token}-other`)
  const wrongSecret = randomBytes(32).toString('hex')
  const notJson = 'this is not JSON'
  const post = (body: string, signature: SignatureRecipe): ProbeRequest => ({
    method: 'POST',
    url,
    body,
    signature,
  })
  const signed = (body: string): ProbeRequest => post(body, { kind: 'hmac', over: body })
  const withQuery = new URL(url)
  withQuery.searchParams.set(field, token)

  return [
    {
      id: 'sig.missing',
      name: 'missing signature → 401',
      request: post(goodBody, { kind: 'none' }),
      judge: expect401('a request without X-Talki-Signature', 'treat an absent header as a bad signature'),
    },
    {
      id: 'sig.empty',
      name: 'empty signature → 401',
      request: post(goodBody, { kind: 'literal', value: '' }),
      judge: expect401('an empty signature', 'treat an empty header as a bad signature'),
    },
    {
      id: 'sig.short',
      name: 'short signature → 401',
      request: post(goodBody, { kind: 'hmac', over: goodBody, cut: 32 }),
      judge: expect401('a 32-digit signature', LENGTH_FIX),
    },
    {
      id: 'sig.long',
      name: 'long signature → 401',
      request: post(goodBody, { kind: 'hmac', over: goodBody, suffix: '00' }),
      judge: expect401('a 66-digit signature', LENGTH_FIX),
    },
    {
      id: 'sig.non-hex',
      name: 'non-hex signature → 401',
      request: post(goodBody, { kind: 'literal', value: 'z'.repeat(64) }),
      judge: expect401('a non-hex signature', LENGTH_FIX),
    },
    {
      id: 'sig.non-ascii',
      name: 'non-ASCII signature → 401',
      // Latin-1 bytes: Buffer.from() makes 128 bytes of them, and Python's compare_digest raises on them.
      request: post(goodBody, { kind: 'literal', value: '\u00e9'.repeat(64) }),
      judge: expect401('a non-ASCII signature', LENGTH_FIX),
    },
    {
      id: 'sig.prefixed',
      name: '"sha256=" prefixed signature → 401',
      request: post(goodBody, { kind: 'hmac', over: goodBody, prefix: 'sha256=' }),
      judge: expect401('a "sha256="-prefixed signature', LENGTH_FIX),
    },
    {
      id: 'sig.wrong-secret',
      name: 'wrong-secret signature → 401',
      request: post(goodBody, { kind: 'literal', value: sign(wrongSecret, goodBody) }),
      judge: expect401('a signature made with another secret', 'compare against the HMAC of the raw body'),
    },
    {
      id: 'sig.other-body',
      name: 'other-body signature → 401',
      request: post(goodBody, { kind: 'hmac', over: otherBody }),
      judge: expect401("another body's signature", 'compare against the HMAC of the raw body'),
    },
    {
      id: 'raw.whitespace',
      name: 'odd whitespace, signed as sent → 200',
      request: signed(whitespace),
      judge: expectVerified('a body with odd whitespace'),
    },
    {
      id: 'raw.reordered',
      name: 'reordered keys, signed as sent → 200',
      request: signed(reordered),
      judge: expectVerified('a body with extra, reordered keys'),
    },
    {
      id: 'raw.unicode',
      name: 'unicode body, signed as sent → 200',
      request: signed(unicode),
      judge: expectVerified('a body with unicode and \\u escapes'),
    },
    {
      id: 'user.unknown',
      name: 'unknown user → 404',
      request: signed(unknownBody),
      judge: expect4xx('an unknown user', 'answer 404 when the lookup finds nobody', 404),
    },
    // A users table kept in a plain object answers these from Object.prototype: a 200, or a crash.
    ...['__proto__', 'constructor'].map((name) => ({
      id: `user.${name.replaceAll('_', '')}`,
      name: `unknown user "${name}" → 404`,
      request: signed(talkiBody(field, name)),
      judge: expectUnknown(name),
    })),
    {
      id: 'body.not-json',
      name: 'non-JSON body, good signature → 4xx',
      request: signed(notJson),
      judge: expect4xx('a body that is not JSON', 'parse inside a try and answer 400'),
    },
    {
      id: 'body.no-token',
      name: `body without "${field}" → 4xx`,
      request: signed('{}'),
      judge: expect4xx(`a body without "${field}"`, 'validate the body and answer 400'),
    },
    // Another method, or the token in the query string, with no signature: a route that serves the profile
    // there hands any user's data to whoever knows (or guesses) a token.
    ...(['GET', 'HEAD', 'PUT', 'DELETE', 'POST'] as const).flatMap((method) => {
      const inQuery: Probe = {
        id: `unsigned.${method.toLowerCase()}-query`,
        name: `unsigned ${method} ?${field}= → no profile`,
        request: { method, url: withQuery, body: undefined, signature: { kind: 'none' } },
        judge: expectNoProfile(`${method} with the token in the query string`, profile),
      }
      // HEAD answers carry no body; POST with the token in the body and no signature is sig.missing.
      if (method === 'HEAD' || method === 'POST') return [inQuery]
      const inBody: Probe = {
        id: `unsigned.${method.toLowerCase()}-body`,
        name: `unsigned ${method} with the body → no profile`,
        request: { method, url, body: goodBody, signature: { kind: 'none' } },
        judge: expectNoProfile(`${method} with the token in the body`, profile),
      }
      return [inQuery, inBody]
    }),
  ]
}
