import {
  customerRequestSchema,
  MAX_TOKEN_LENGTH,
  type Profile,
  toProfile,
  type UserRecord,
} from './contract.js'
import { type Verdict, verifySignature } from './signature.js'
import type { UserStore } from './store.js'

// The heart of Backend Connect, the code to copy into your own service. It takes the raw bytes and the
// signature header and returns what to answer; it knows nothing of Express, so it is easy to test and
// to move. src/endpoint.ts shows how an Express route feeds it (body limit, encoding) and sends the answer.

export interface CustomerRouteDeps {
  /** Signing secrets; any one of them verifies, so a rotation can be rolled out without downtime. */
  secrets: readonly string[]
  /** The body key that holds the user id (Talki console: "User token field", default `userToken`). */
  tokenField: string
  /** The lookup must finish well inside Talki's 5 s, so the caller always gets an answer. */
  lookupTimeoutMs: number
  store: Pick<UserStore, 'find'>
}

export interface Outcome {
  status: number
  body: Profile | { error: string; detail?: string }
  headers?: Record<string, string>
  /** The user token, once the body has been verified and read. */
  token?: string
  verdict: Verdict
  /** The stored user behind a 200. */
  user?: UserRecord
}

export function createCustomerRoute(deps: CustomerRouteDeps) {
  const bodySchema = customerRequestSchema(deps.tokenField)
  const utf8 = new TextDecoder('utf-8', { fatal: true })

  return async function answerCustomerRequest(request: {
    rawBody: Uint8Array
    signature: string | string[] | undefined
  }): Promise<Outcome> {
    // 1. Verify the signature over the exact bytes received, before any parsing. A re-serialised body
    //    would not match what Talki signed. verifySignature never throws, whatever the header holds.
    const verdict = verifySignature(request.rawBody, request.signature, deps.secrets)
    if (verdict !== 'valid') return { status: 401, body: { error: verdict }, verdict }

    // 2. Read the body: UTF-8, JSON, an object whose token field is a non-empty string of ≤ 256 characters.
    let json: unknown
    try {
      json = JSON.parse(utf8.decode(request.rawBody))
    } catch {
      return invalidBody('body is not UTF-8 JSON', verdict)
    }
    const parsed = bodySchema.safeParse(json)
    if (!parsed.success) {
      return invalidBody(
        `${deps.tokenField} must be a non-empty string of at most ${MAX_TOKEN_LENGTH} characters`,
        verdict,
      )
    }
    const token = parsed.data[deps.tokenField] as string

    // 3. Look the user up, racing a deadline: a slow database must not make Talki time out, and a
    //    failing one answers 503 (Talki treats 5xx as "down" and retries once after 3 s).
    let user: UserRecord | undefined
    try {
      user = await withDeadline(deps.store.find(token), deps.lookupTimeoutMs)
    } catch (error) {
      const timedOut = error === DEADLINE
      return {
        status: 503,
        body: { error: timedOut ? 'lookup_timeout' : 'store_unavailable' },
        headers: { 'Retry-After': '3' },
        token,
        verdict,
      }
    }
    if (!user) return { status: 404, body: { error: 'user_not_found' }, token, verdict }

    // 4. Answer the profile: only name, email, plan and fields — never internal keys.
    return { status: 200, body: toProfile(user), token, verdict, user }
  }
}

function invalidBody(detail: string, verdict: Verdict): Outcome {
  return { status: 400, body: { error: 'invalid_body', detail }, verdict }
}

const DEADLINE = Symbol('deadline')
const PENDING = Symbol('pending')
const settledAlready = Promise.resolve(PENDING)

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  // An in-memory store has usually answered by now: then no timer is needed at all. (A promise that is
  // already fulfilled wins the race against another fulfilled one that comes after it.)
  const first = await Promise.race([work, settledAlready])
  if (first !== PENDING) return first as T
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(DEADLINE), ms)
  })
  try {
    return await Promise.race([work, deadline])
  } finally {
    clearTimeout(timer)
  }
}
