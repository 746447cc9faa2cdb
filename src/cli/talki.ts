import { TALKI_TIMINGS } from '../contract/talki-timing.js'

// What Talki sends and how long it waits: the one home of the request the CLI plays.

/** Talki's deadline for an answer: no answer within 5 s counts as down (docs/qa.md). */
export const TALKI_TIMEOUT_MS = TALKI_TIMINGS.real.timeoutMs
/** Talki's pause before its one retry, after which it skips (docs/qa.md). */
export const TALKI_RETRY_DELAY_MS = TALKI_TIMINGS.real.retryDelayMs

/** The body exactly as Talki builds it: one key, compact JSON. */
export function talkiBody(field: string, token: string): string {
  return JSON.stringify({ [field]: token })
}

/** The headers Talki sends with a body signed under `secret`. */
export function talkiHeaders(signature: string): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    'X-Talki-Signature': signature,
    'User-Agent': 'talki-endpoint-cli',
  }
}
