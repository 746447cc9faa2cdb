import type { Profile } from '../contract/profile.js'
import { describeTalkiTiming, TALKI_TIMINGS, type TalkiTiming } from '../contract/talki-timing.js'
import { sign } from '../template/signature.js'
import { bodyPreview, type HttpAnswer, NetworkError, post } from './http.js'
import type { Output } from './io.js'
import { judgeGood } from './judge.js'
import type { TlsOptions } from './options.js'
import { renderSidebar } from './sidebar.js'
import { talkiBody, talkiHeaders } from './talki.js'
import { plainHttpProblem } from './url-rules.js'

// Plays Talki's side of Backend Connect: the body Talki builds, the headers it sends, its 5 s timeout
// and its single retry 3 s after a failure, then the verdict an operator would see.

export type Attempt =
  | { n: number; status: number; ms: number; answer: HttpAnswer }
  | { n: number; error: NetworkError; ms: number }

export interface SendOptions {
  url: URL
  secret: string
  token: string
  field: string
  timeoutMs: number
  tls?: TlsOptions
  out: Output
  color: boolean
  /** Talki's timing (TALKI_TIMING): its retry delay, and a line saying so when it is not Talki's own. */
  timing?: TalkiTiming
  /** Overrides the timing's retry delay (tests). */
  retryDelayMs?: number
  sleep?: (ms: number) => Promise<void>
}

export interface SendResult {
  /** 1 whenever `check` would fail the answer, even one Talki might still show (a text/plain 200, one past 5 s). */
  exitCode: 0 | 1
  /** What Talki would do: show the profile, show nothing (4xx or a bad answer), or skip (both attempts down). */
  outcome: 'show' | 'nothing' | 'skip'
  attempts: Attempt[]
  profile?: Profile
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Talki retries after a timeout, a connection error or a 5xx; a 4xx or a 200 is final. A TLS failure is not
 * retried here: a certificate does not mend in 3 s, and "retrying" would read as "the endpoint is down".
 */
function retryable(attempt: Attempt): boolean {
  if ('error' in attempt) return attempt.error.kind !== 'tls'
  return attempt.status >= 500
}

/** Sends the request as Talki does and prints every attempt, the contract verdict and the sidebar. */
export async function runSend(options: SendOptions): Promise<SendResult> {
  const { url, secret, token, field, timeoutMs, out, color, tls = {} } = options
  const timing = options.timing ?? TALKI_TIMINGS.real
  const retryDelayMs = options.retryDelayMs ?? timing.retryDelayMs
  const sleep = options.sleep ?? defaultSleep
  const body = talkiBody(field, token)
  const headers = talkiHeaders(sign(secret, body))
  if (timing.timing !== 'real') {
    const real = TALKI_TIMINGS.real
    out.write(
      `TALKI_TIMING=${timing.timing}: ${describeTalkiTiming({ ...timing, timeoutMs })} ` +
        `(Talki's own: ${describeTalkiTiming(real)})\n`,
    )
  }
  out.write(`POST ${url.href}\n${body}\n`)

  // The same rule as check's url.https row: Talki would never call this URL, so nothing is sent.
  const plain = plainHttpProblem(url)
  if (plain !== undefined) {
    out.write(`Talki would not call it: ${plain}.\n`)
    return { exitCode: 1, outcome: 'nothing', attempts: [] }
  }

  const attempts: Attempt[] = []
  for (let n = 1; n <= 2; n++) {
    if (n === 2) {
      out.write(`retrying in ${retryDelayMs / 1000} s, as Talki does…\n`)
      await sleep(retryDelayMs)
    }
    const attempt = await attemptOnce(n, { url, body: Buffer.from(body), headers, timeoutMs, tls })
    attempts.push(attempt)
    out.write(`${describeAttempt(attempt)}\n`)
    if (!retryable(attempt)) break
  }

  const last = attempts[attempts.length - 1]
  if (last !== undefined && 'error' in last && last.error.kind === 'tls') {
    out.write('Talki would not connect: the TLS handshake failed (the endpoint may well be up).\n')
    out.write(
      'Serve a certificate a public CA signed for this host name, or for a local test pass --ca FILE or --insecure.\n',
    )
    return { exitCode: 1, outcome: 'skip', attempts }
  }
  if (last === undefined || 'error' in last || last.status >= 500) {
    out.write('Talki would skip: both attempts failed, the ticket opens without customer data.\n')
    out.write('An operator can press Refresh once the endpoint is back.\n')
    return { exitCode: 1, outcome: 'skip', attempts }
  }
  if (last.status !== 200) {
    const hint = statusHint(last.status)
    out.write(`Talki would show nothing: the endpoint answered ${last.status}${hint ? ` (${hint})` : ''}.\n`)
    return { exitCode: 1, outcome: 'nothing', attempts }
  }
  // The same judgement as `check`'s good-request rows: exit 1 whenever one of them would fail.
  const { rows, shape: verdict } = judgeGood({ answer: last.answer }, field)
  const failed = rows.filter((row) => !row.pass && !row.advisory)
  if (verdict === undefined) throw new Error('judgeGood judges the body of every 200')
  if (!verdict.ok) {
    out.write(`Talki would show nothing: ${verdict.reason}.\n`)
    return { exitCode: 1, outcome: 'nothing', attempts }
  }
  if (verdict.ignoredKeys.length > 0) {
    out.write(`note: Talki ignores these keys: ${verdict.ignoredKeys.join(', ')}\n`)
  }
  const shown = Object.keys(verdict.profile)
  out.write(
    shown.length > 0
      ? `answer matches the contract (${shown.join(', ')}). Talki would show:\n`
      : 'answer matches the contract but is empty. Talki would show an empty customer panel:\n',
  )
  out.write(`${renderSidebar(verdict.profile, { color })}\n`)
  for (const row of failed) out.write(`FAIL  ${row.name}: ${row.reason}\n`)
  if (failed.length > 0) out.write('talki-endpoint check would fail this answer: fix the FAIL lines above.\n')
  return { exitCode: failed.length > 0 ? 1 : 0, outcome: 'show', attempts, profile: verdict.profile }
}

async function attemptOnce(n: number, request: Parameters<typeof post>[0]): Promise<Attempt> {
  try {
    const answer = await post(request)
    return { n, status: answer.status, ms: answer.ms, answer }
  } catch (error) {
    if (error instanceof NetworkError) return { n, error, ms: error.ms }
    throw error
  }
}

function describeAttempt(attempt: Attempt): string {
  if ('error' in attempt) return `attempt ${attempt.n}: ${attempt.error.message} (after ${attempt.ms} ms)`
  const preview = attempt.status === 200 ? '' : `  ${bodyPreview(attempt.answer.body, 80)}`
  return `attempt ${attempt.n}: ${attempt.status} in ${attempt.ms} ms${preview}`
}

function statusHint(status: number): string {
  switch (status) {
    case 401:
      return 'signature refused: is the secret the one the endpoint has?'
    case 404:
      return 'no such user'
    case 400:
      return 'body refused: is --field the key the endpoint reads?'
    default:
      return status >= 300 && status < 400 ? 'a redirect: configure the final URL in Talki' : ''
  }
}
