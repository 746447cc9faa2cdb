import type { HttpAnswer } from './http.js'
import type { Verdict } from './judge.js'

// "Error answers leak nothing": a refusal that names the signature the endpoint expected is a signing oracle
// (anyone can get any body signed), and one that carries the secret, a stack trace or a file path tells an
// attacker how the endpoint is built. Every non-2xx answer of the run is read.

export interface Refusal {
  /** The row whose request got this answer, to name it and to repeat it. */
  name: string
  answer: HttpAnswer
  /** The signature the endpoint should have expected for this request's body. */
  expectedSignature: string
}

const STACK_TRACES = [
  /\bat [\w$.<>[\] ]+ \((?:file:\/\/|node:|\/)[^)]*:\d+:\d+\)/, // Node: at fn (/app/x.js:1:2)
  /\bat (?:file:\/\/)?\/[^\s:]+:\d+:\d+/, // Node, anonymous: at /app/x.js:1:2
  /Traceback \(most recent call last\)/, // Python
  /File "[^"]+", line \d+/, // Python frames
  /\bat [\w$.]+\([\w$]+\.java:\d+\)/, // Java
]
const FILE_PATHS = [
  /(?:^|[\s"'(=:,[])\/(?:home|root|usr|var|srv|opt|app|tmp|Users|etc|workspace|code|src)\/[^\s"'<>)]+/,
  /\b[A-Za-z]:\\[^\s"'<>]+/,
  /\bnode_modules\//,
  /\b[\w.-]+\.(?:js|mjs|cjs|ts|py|rb|php|go|java|cs):\d+/,
]

/** What one refusal gives away, or `undefined` when it gives nothing away. */
function leakOf(refusal: Refusal, secret: string): string | undefined {
  const { answer, expectedSignature } = refusal
  const headers = Object.entries(answer.headers)
    .map(([key, value]) => `${key}: ${Array.isArray(value) ? value.join(', ') : value}`)
    .join('\n')
  const where = (needle: (text: string) => boolean) =>
    [needle(answer.body.toString('utf8')) ? 'body' : '', needle(headers) ? 'headers' : '']
      .filter(Boolean)
      .join(' and ')
  const signature = where((text) => text.toLowerCase().includes(expectedSignature))
  if (signature) {
    return `carries the signature the endpoint expected (in its ${signature}): a signing oracle, anyone can get any body signed — answer {"error":"invalid_signature"} and nothing more`
  }
  const withSecret = where((text) => text.includes(secret))
  if (withSecret)
    return `carries the signing secret (in its ${withSecret}): never echo the secret; rotate it now`
  const trace = where((text) => STACK_TRACES.some((re) => re.test(text)))
  if (trace) {
    return `carries a stack trace (in its ${trace}): catch errors and answer {"error":"…"} JSON; log the trace, do not send it`
  }
  const path = where((text) => FILE_PATHS.some((re) => re.test(text)))
  if (path) {
    return `carries a file path (in its ${path}): answer {"error":"…"} JSON without paths (turn off debug error pages)`
  }
  return undefined
}

/** The row's verdict and, when it fails, which refusal to repeat. */
export function judgeLeaks(refusals: readonly Refusal[], secret: string): Verdict & { culprit?: Refusal } {
  for (const refusal of refusals) {
    const leak = leakOf(refusal, secret)
    if (leak !== undefined) {
      return {
        pass: false,
        reason: `the ${refusal.answer.status} to "${refusal.name}" ${leak}`,
        culprit: refusal,
      }
    }
  }
  return {
    pass: true,
    reason: `${refusals.length} error answers read: no expected signature, secret, stack trace or file path`,
  }
}
