import { type Profile, ProfileSchema } from '../contract/profile.js'
import { bodyPreview, type HttpAnswer, type NetworkError } from './http.js'
import { TALKI_TIMEOUT_MS } from './talki.js'

// The one judgement of Talki's answer to the good request, shared by `check` (its first rows) and `send`
// (exit 1 whenever a row fails): status, content type, profile shape, the 5 s deadline, and advice.

export interface CheckRow {
  /** Stable across runs and versions: what --json, --junit and docs/check.md name the row by. */
  id: string
  name: string
  pass: boolean
  reason: string
  /** Advised, not required: a failing advisory row is a warning and does not fail the run. */
  advisory?: boolean
  status?: number
  ms?: number
  /** What the row sent (the good request's, for its rows) and what came back: for --json and the curl line. */
  request?: ProbeRequest
  result?: Result
  /** The burst's requests, all sent at once: what its curl line repeats. */
  burst?: ProbeRequest[]
}

/** How the X-Talki-Signature of a probe is made, so that a curl line can remake it from $TALKI_SECRET. */
export type SignatureRecipe =
  | { kind: 'none' }
  /** A fixed value that owes nothing to the secret (garbage, or another secret's HMAC). */
  | { kind: 'literal'; value: string }
  /** The HMAC of `over` under the secret, cut to `cut` hex digits, with `prefix`/`suffix` around it. */
  | { kind: 'hmac'; over: string; cut?: number; prefix?: string; suffix?: string }

export interface ProbeRequest {
  method: string
  url: URL
  body: string | undefined
  signature: SignatureRecipe
  /** The headers as sent, filled in when it is sent (for --json). */
  sent?: Record<string, string>
}

export type Result = { answer: HttpAnswer } | { error: NetworkError }
export type Verdict = { pass: boolean; reason: string }

/** The keys Talki reads from an answer; any other key is ignored. */
const PROFILE_KEYS = new Set(Object.keys(ProfileSchema.shape))

export type AnswerVerdict =
  | { ok: true; profile: Profile; ignoredKeys: string[] }
  /** `contract`: a JSON object whose values break the schema; the others are not a readable profile at all. */
  | { ok: false; kind: 'not-json' | 'not-object' | 'contract' | 'unread'; reason: string }

/** Checks a 200 answer's body against the contract: a JSON object with only the documented types. */
export function checkAnswerBody(body: Buffer): AnswerVerdict {
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    const start = body.toString('utf8', 0, 40).replace(/\s+/g, ' ')
    return {
      ok: false,
      kind: 'not-json',
      reason: `the answer is not JSON (starts with ${JSON.stringify(start)})`,
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    const kind = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`
    return { ok: false, kind: 'not-object', reason: `the answer is ${kind}, not a JSON object` }
  }
  const result = ProfileSchema.safeParse(parsed)
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join('.') : '(root)'
      // A bad `fields` value fails every branch of the union; say what the branches accept.
      const message = issue.code === 'invalid_union' ? 'expected a string, number or boolean' : issue.message
      return `${where}: ${message.replace(/^Invalid input: /, '')}`
    })
    return { ok: false, kind: 'contract', reason: `the answer breaks the contract — ${problems.join('; ')}` }
  }
  const ignoredKeys = Object.keys(parsed).filter((key) => !PROFILE_KEYS.has(key))
  if (Object.keys(result.data).length === 0 && ignoredKeys.length > 0) {
    return {
      ok: false,
      kind: 'unread',
      reason: unreadProfile(parsed as Record<string, unknown>, ignoredKeys),
    }
  }
  return { ok: true, profile: result.data, ignoredKeys }
}

function isJsonContentType(value: string | undefined): boolean {
  return value !== undefined && /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(value.trim())
}

/**
 * A 200 whose object has none of Talki's keys but others: Talki shows an empty panel. A single object
 * key is a wrapper (`{"data":{…}}`); anything else is a renamed profile.
 */
function unreadProfile(answer: Record<string, unknown>, keys: string[]): string {
  const [only] = keys
  const inner = only === undefined ? undefined : answer[only]
  if (keys.length === 1 && inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
    return `the profile is wrapped in "${only}": Talki reads name, email, plan and fields at the top level and would show an empty panel — answer the object inside "${only}" itself`
  }
  return `the answer has none of name, email, plan, fields, only ${keys.join(', ')}: Talki would show an empty panel — rename them to name, email, plan, and put anything else inside fields`
}

/**
 * The rows of the good request, and the answer's body judged once (`shape`, absent when there is no 200):
 * `send` draws the sidebar from that same verdict.
 */
export function judgeGood(result: Result, field: string): { rows: CheckRow[]; shape?: AnswerVerdict } {
  const name = 'good request'
  if ('error' in result) {
    const { ms } = result.error
    const missing = { pass: false, reason: 'no answer to check: fix the "within 5 s" row first', ms }
    const rows: CheckRow[] = [
      { id: 'good.status', name: `${name} → 200`, ...missing },
      { id: 'good.content-type', name: `${name} → JSON content type`, ...missing },
      { id: 'good.profile', name: `${name} → valid profile`, ...missing },
      {
        id: 'good.deadline',
        name: `${name} → within 5 s`,
        pass: false,
        reason: `${result.error.message} — Talki gives up at 5 s; race the lookup against a deadline (e.g. 4 s) and answer 503`,
        ms,
      },
      {
        id: 'good.cache-control',
        name: 'Cache-Control: no-store',
        advisory: true,
        pass: false,
        reason: 'no answer to check',
        ms,
      },
    ]
    return { rows }
  }
  const { answer } = result
  const { status, ms } = answer
  const rows: CheckRow[] = []
  rows.push({
    id: 'good.status',
    name: `${name} → 200`,
    status,
    ms,
    ...goodStatus(status, field, answer.body),
  })

  const contentType = answer.headers['content-type']
  rows.push({
    id: 'good.content-type',
    name: `${name} → JSON content type`,
    status,
    ms,
    ...(status !== 200
      ? { pass: false, reason: 'no 200 answer to check: fix the "→ 200" row first' }
      : isJsonContentType(contentType)
        ? { pass: true, reason: contentType ?? '' }
        : {
            pass: false,
            reason: `Content-Type is ${contentType ?? 'absent'}; answer with application/json`,
          }),
  })

  const shape = status === 200 ? checkAnswerBody(answer.body) : undefined
  rows.push({
    id: 'good.profile',
    name: `${name} → valid profile`,
    status,
    ms,
    ...(shape === undefined
      ? { pass: false, reason: 'no 200 answer to check: fix the "→ 200" row first' }
      : shape.ok
        ? {
            pass: true,
            reason:
              `keys: ${Object.keys(shape.profile).join(', ') || '(none)'}` +
              (shape.ignoredKeys.length > 0 ? `; Talki ignores ${shape.ignoredKeys.join(', ')}` : ''),
          }
        : {
            pass: false,
            reason:
              shape.kind === 'contract'
                ? `${shape.reason}; name, email, plan are strings, fields values are scalars`
                : shape.reason,
          }),
  })

  const margin = TALKI_TIMEOUT_MS - ms
  rows.push({
    id: 'good.deadline',
    name: `${name} → within 5 s`,
    status,
    ms,
    ...(margin > 0
      ? { pass: true, reason: `answered in ${ms} ms, ${margin} ms to spare` }
      : {
          pass: false,
          reason: `answered in ${ms} ms, ${-margin} ms past Talki's 5 s: Talki would give up and retry`,
        }),
  })

  const cacheControl = answer.headers['cache-control']
  const noStore = cacheControl !== undefined && /(?:^|,)\s*no-store\s*(?:,|$)/i.test(cacheControl)
  rows.push({
    id: 'good.cache-control',
    name: 'Cache-Control: no-store',
    advisory: true,
    status,
    ms,
    ...(noStore
      ? { pass: true, reason: cacheControl }
      : {
          pass: false,
          reason: `Cache-Control is ${cacheControl ?? 'absent'}; send no-store, the answer carries personal data`,
        }),
  })
  return shape === undefined ? { rows } : { rows, shape }
}

function goodStatus(status: number, field: string, body: Buffer): Verdict {
  if (status === 200) return { pass: true, reason: '200' }
  const said = preview(body)
  if (status === 401) {
    return {
      pass: false,
      reason: `401${said} — a correct signature was refused: does the endpoint use this secret?`,
    }
  }
  if (status === 404) {
    return {
      pass: false,
      reason: `404${said} — the known user was not found: is --token a user the endpoint has?`,
    }
  }
  if (status === 400) {
    return {
      pass: false,
      reason: `400${said} — the body was refused: does the endpoint read the key "${field}"?`,
    }
  }
  if (status >= 500)
    return {
      pass: false,
      reason: `${status}${said} — the endpoint failed on the request Talki sends: check its logs and answer 200 with the profile`,
    }
  return {
    pass: false,
    reason: `${status}${said} — answer 200 with the profile to a good signature for a known user`,
  }
}

function preview(body: Buffer): string {
  const text = bodyPreview(body, 60)
  return text === '' ? '' : ` ${text}`
}
