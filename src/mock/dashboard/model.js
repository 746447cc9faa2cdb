// @ts-check
// "What Talki would do": pure functions, no DOM, importable by Node (test/mock/dashboard/model.test.ts).
// Talki waits 5 s for an answer; a refused or reset connection, no answer within 5 s, or a 5xx is
// "down" and is retried once, 3 s after the attempt ended; a 4xx or a 200 is an answer. A Refresh by
// the operator is one more fetch (docs/decisions.md). Defaults are never written here: a spec is filled
// from the catalogue the server answers at GET /api/scenarios. The 5 s and 3 s are the server's
// (GET /api/timing): TALKI_TIMING=demo scales them down, and every sentence below names the ones in force.

/** @typedef {{ timing: string, timeoutMs: number, retryDelayMs: number }} TalkiTiming */

/** Talki's own until the page reads the server's at start; fixed from then on, like the engines. */
let talki = /** @type {TalkiTiming} */ ({ timing: 'real', timeoutMs: 5000, retryDelayMs: 3000 })

/** Called once at start with GET /api/timing's answer. @param {TalkiTiming} timing */
export function setTalkiTiming(timing) {
  talki = timing
}

/** The timing in force. */
export function talkiTiming() {
  return talki
}

/** `5 s`, `1.5 s`: Talki's deadline in words. */
export function talkiWait() {
  return `${talki.timeoutMs / 1000} s`
}

/** `3 s`, `1 s`: Talki's pause before its retry in words. */
export function talkiPause() {
  return `${talki.retryDelayMs / 1000} s`
}

/**
 * @typedef {{ name: string, type: string, minimum?: number, maximum?: number, default?: unknown, values?: unknown[], description?: string }} Parameter
 * @typedef {{ name: string, description?: string, parameters: Parameter[], limits?: boolean }} ScenarioInfo
 * @typedef {{ scenarios: ScenarioInfo[], override: { parameters: Parameter[] }, sequence: { parameters: Parameter[] } }} Catalogue
 * @typedef {{ scenario: string, [key: string]: any }} ScenarioObject
 * @typedef {{ sequence: Array<string | ScenarioObject>, windowMs?: number, [key: string]: any }} SequenceObject
 * @typedef {string | ScenarioObject | SequenceObject} Spec
 * @typedef {ScenarioObject | (SequenceObject & { sequence: ScenarioObject[] })} Filled a spec with every default filled
 * @typedef {'profile' | 'nothing' | 'error'} Sees what the operator sees in the customer panel
 * @typedef {{ down: boolean, status: number | null, tookMs: number, text: string, sees: Sees, closesPortMs?: number }} Meeting
 *   what one request meets; `down` means Talki counts it as down (and retries once)
 * @typedef {'first' | 'retry' | 'refresh'} Attempt
 * @typedef {{ attempt: Attempt, atMs: number, endsAtMs: number, meets: Meeting }} Try
 * @typedef {{ tries: Try[], sees: Sees, shownAtMs: number | null, refreshSees: Sees | null }} Fetch
 * @typedef {'good' | 'warn' | 'bad'} Tone
 * @typedef {{ tone: Tone, text: string }} Verdict
 * @typedef {{ override: (Filled & { count?: number, probability?: number }) | null, remaining: number | null, startup: Filled | null, downUntil?: string | null }} SimulationState
 */

// ---------------------------------------------------------------------------------------------------
// Words

/** `10 s`, `4500 ms`. @param {number} ms */
function shortMs(ms) {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`
}

/** `4.5 s`. @param {number} ms */
export function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`
}

/** Latency as people read it: `12 ms`, `4.5 s`. @param {number} ms */
export function latency(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : seconds(ms)
}

/** @param {number} n @param {string} word */
export function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

// ---------------------------------------------------------------------------------------------------
// Specs

/** @param {Spec} spec @returns {ScenarioObject | SequenceObject} */
function asObject(spec) {
  return typeof spec === 'string' ? { scenario: spec } : spec
}

/** @param {unknown} spec @returns {spec is SequenceObject} */
export function isSequence(spec) {
  return typeof spec === 'object' && spec !== null && Array.isArray(/** @type {any} */ (spec).sequence)
}

/** Whether a spec is a `down` (acted on when set, not per request). @param {Filled} spec */
export function isDownSpec(spec) {
  return !isSequence(spec) && spec.scenario === 'down'
}

/**
 * The spec with every default of the catalogue filled in (a nested `failWith` and sequence items too);
 * `count` and `probability` are kept. A spec already filled comes back equal.
 * @param {Spec} spec
 * @param {Catalogue} catalogue
 * @returns {Filled}
 */
export function fillSpec(spec, catalogue) {
  const s = asObject(spec)
  if (isSequence(s)) {
    const items = s.sequence.map((item) => /** @type {ScenarioObject} */ (fillSpec(item, catalogue)))
    return /** @type {Filled} */ (
      withDefaults({ ...s, sequence: items }, catalogue.sequence.parameters, catalogue)
    )
  }
  const info = catalogue.scenarios.find((c) => c.name === s.scenario)
  return /** @type {Filled} */ (withDefaults(s, info?.parameters ?? [], catalogue))
}

/**
 * @param {Record<string, any>} spec
 * @param {Parameter[]} parameters
 * @param {Catalogue} catalogue
 */
function withDefaults(spec, parameters, catalogue) {
  const out = { ...spec }
  for (const p of parameters) {
    if (out[p.name] === undefined && p.default !== undefined) out[p.name] = structuredClone(p.default)
    if (p.type === 'scenario' && out[p.name] !== undefined) out[p.name] = fillSpec(out[p.name], catalogue)
  }
  return out
}

/** A filled spec in words: `slow 6000 ms`, `sequence error 503 → ok (rewinds after 10 s idle)`. @param {Filled} spec @returns {string} */
export function describeSpec(spec) {
  if (isSequence(spec)) {
    const items = spec.sequence.map((item) => describeSpec(/** @type {Filled} */ (item))).join(' → ')
    return `sequence ${items} (rewinds after ${shortMs(spec.windowMs ?? 0)} idle)`
  }
  const s = /** @type {ScenarioObject} */ (spec)
  switch (s.scenario) {
    case 'slow':
      return `slow ${s.delayMs} ms${s.jitterMs ? ` ± ${s.jitterMs}` : ''}`
    case 'error':
      return `error ${s.status}`
    case 'down':
      return `down ${shortMs(s.durationMs)}`
    case 'hang':
      return `hang (closed after ${shortMs(s.maxMs)})`
    case 'tls_hang':
      return `tls_hang (closed after ${shortMs(s.maxMs)})`
    case 'flaky':
      return `flaky: ${describeSpec(s.failWith)} then ok (rewinds after ${shortMs(s.windowMs)} idle)`
    default:
      return String(s.scenario)
  }
}

/** The few words of a badge: `slow 6000 ms`, `error 503`, `sequence`. @param {Filled} spec */
export function shortName(spec) {
  if (isSequence(spec)) return 'sequence'
  const s = /** @type {ScenarioObject} */ (spec)
  if (s.scenario === 'error') return `error ${s.status}`
  if (s.scenario === 'slow') return `slow ${s.delayMs} ms`
  return String(s.scenario)
}

// ---------------------------------------------------------------------------------------------------
// One request

/** @type {Meeting} */
const REFUSED = {
  down: true,
  status: null,
  tookMs: 0,
  text: 'connection refused (port closed)',
  sees: 'nothing',
}

/** A TLS fault: the handshake fails, so no request is sent. @param {string} why @returns {Meeting} */
function tlsRefused(why) {
  return { down: true, status: null, tookMs: 0, text: `TLS handshake fails: ${why}`, sees: 'nothing' }
}

/**
 * What one request meets under a filled plain scenario (or a user's `down`), from Talki's side.
 * `jitter` picks which end of a `slow` scenario's ± range the request gets.
 * @param {ScenarioObject} s
 * @param {'early' | 'late'} [jitter]
 * @returns {Meeting}
 */
export function meet(s, jitter = 'late') {
  switch (s.scenario) {
    case 'ok':
      return { down: false, status: 200, tookMs: 0, text: '200', sees: 'profile' }
    case 'slow': {
      const delay = Math.max(0, s.delayMs + (jitter === 'late' ? s.jitterMs : -s.jitterMs))
      if (delay <= talki.timeoutMs) {
        return {
          down: false,
          status: 200,
          tookMs: delay,
          text: `200 after ${latency(delay)}`,
          sees: 'profile',
        }
      }
      return {
        down: true,
        status: null,
        tookMs: talki.timeoutMs,
        text: `no answer within ${talkiWait()} (${latency(delay)})`,
        sees: 'nothing',
      }
    }
    case 'not_found':
      return { down: false, status: 404, tookMs: 0, text: '404 user_not_found', sees: 'nothing' }
    case 'unauthorized':
      return { down: false, status: 401, tookMs: 0, text: '401 invalid_signature', sees: 'nothing' }
    case 'error':
      return { down: true, status: s.status, tookMs: 0, text: `${s.status} simulated_error`, sees: 'nothing' }
    case 'reset':
      return { down: true, status: null, tookMs: 0, text: 'connection reset', sees: 'nothing' }
    case 'hang':
      if (s.maxMs >= talki.timeoutMs) {
        return {
          down: true,
          status: null,
          tookMs: talki.timeoutMs,
          text: `no answer within ${talkiWait()}`,
          sees: 'nothing',
        }
      }
      return {
        down: true,
        status: null,
        tookMs: s.maxMs,
        text: `connection closed after ${latency(s.maxMs)} without an answer`,
        sees: 'nothing',
      }
    case 'malformed':
      return { down: false, status: 200, tookMs: 0, text: 'a 200 whose body is not JSON', sees: 'error' }
    case 'wrong_shape':
      return {
        down: false,
        status: 200,
        tookMs: 0,
        text: 'a 200 that breaks the contract (plan a number, nested fields)',
        sees: 'error',
      }
    case 'tls_expired':
      return tlsRefused('the certificate has expired')
    case 'tls_wrong_host':
      return tlsRefused('the certificate is for another host name')
    case 'tls_untrusted':
      return tlsRefused('the certificate comes from an unknown CA')
    case 'tls_hang':
      if (s.maxMs >= talki.timeoutMs) {
        return {
          down: true,
          status: null,
          tookMs: talki.timeoutMs,
          text: `no TLS handshake within ${talkiWait()}`,
          sees: 'nothing',
        }
      }
      return {
        down: true,
        status: null,
        tookMs: s.maxMs,
        text: `connection closed after ${latency(s.maxMs)} without a TLS handshake`,
        sees: 'nothing',
      }
    case 'down':
      return {
        down: true,
        status: null,
        tookMs: 0,
        text: `connection reset, then the port closes for ${shortMs(s.durationMs)}`,
        sees: 'nothing',
        closesPortMs: s.durationMs,
      }
    default:
      return { down: false, status: 200, tookMs: 0, text: '200', sees: 'profile' }
  }
}

// ---------------------------------------------------------------------------------------------------
// One ticket: the first attempt, the retry, a Refresh

/** The items a spec steps through, and its window; null for a plain scenario. @param {Filled} spec */
function stepsOf(spec) {
  if (isSequence(spec))
    return { items: /** @type {ScenarioObject[]} */ (spec.sequence), windowMs: spec.windowMs ?? 0 }
  const s = /** @type {ScenarioObject} */ (spec)
  if (s.scenario === 'flaky') return { items: [s.failWith, { scenario: 'ok' }], windowMs: s.windowMs }
  return null
}

/**
 * Talki fetching one ticket's profile, from a fresh state (no earlier request for this token): the first
 * attempt at 0 ms, the retry 3 s after a "down" attempt ended, and a Refresh at `refreshAtMs` when given
 * (not before the last attempt ended). `closedUntilMs`: the port is closed until then (a `down` in
 * progress). `spec` null: no scenario, the normal answer.
 * @param {Filled | null} spec
 * @param {{ closedUntilMs?: number, refreshAtMs?: number, jitter?: 'early' | 'late' }} [timing]
 * @returns {Fetch}
 */
export function talkiFetch(spec, timing = {}) {
  const { jitter = 'late' } = timing
  let closedUntil = timing.closedUntilMs ?? 0
  const steps = spec === null ? null : stepsOf(spec)
  /** @type {{ index: number, lastAt: number } | null} */
  let cursor = null

  /** @param {Attempt} attempt @param {number} at @returns {Try} */
  const request = (attempt, at) => {
    if (at < closedUntil) return { attempt, atMs: at, endsAtMs: at, meets: REFUSED }
    /** @type {ScenarioObject} */
    let item = { scenario: 'ok' }
    if (steps) {
      // As the server counts: the next item while the previous request came less than windowMs ago.
      const last = steps.items.length - 1
      const index =
        cursor !== null && at - cursor.lastAt < steps.windowMs ? Math.min(cursor.index + 1, last) : 0
      cursor = { index, lastAt: at }
      item = steps.items[index] ?? item
    } else if (spec !== null) item = /** @type {ScenarioObject} */ (spec)
    const meets = meet(item, jitter)
    if (meets.closesPortMs !== undefined) closedUntil = at + meets.closesPortMs
    return { attempt, atMs: at, endsAtMs: at + meets.tookMs, meets }
  }

  const first = request('first', 0)
  const tries = [first]
  if (first.meets.down) tries.push(request('retry', first.endsAtMs + talki.retryDelayMs))
  const last = /** @type {Try} */ (tries.at(-1))
  const sees = last.meets.down ? 'nothing' : last.meets.sees
  /** @type {Sees | null} */
  let refreshSees = null
  if (timing.refreshAtMs !== undefined) {
    const refresh = request('refresh', Math.max(timing.refreshAtMs, last.endsAtMs))
    tries.push(refresh)
    refreshSees = refresh.meets.down ? 'nothing' : refresh.meets.sees
  }
  return { tries, sees, shownAtMs: sees === 'profile' ? last.endsAtMs : null, refreshSees }
}

/**
 * The first attempt and the retry in words, with a tone.
 * @param {Fetch} fetch
 * @returns {Verdict}
 */
function verdictOf(fetch) {
  const [first, retry] = fetch.tries
  if (!first) return { tone: 'good', text: 'Talki would show this' }
  const unusable = (/** @type {Meeting} */ m) => `${m.text}: the operator sees no customer data, or an error`
  if (retry?.attempt !== 'retry') {
    const m = first.meets
    if (m.sees === 'profile') {
      return m.tookMs > 0
        ? {
            tone: 'warn',
            text: `Talki would show this after ${latency(m.tookMs)}, inside its ${talkiWait()}`,
          }
        : { tone: 'good', text: 'Talki would show this' }
    }
    if (m.sees === 'error') return { tone: 'bad', text: `Talki would get ${unusable(m)}` }
    return { tone: 'bad', text: `Talki would show nothing: ${m.text} is an answer, not retried` }
  }
  const a = first.meets
  const b = retry.meets
  if (!b.down) {
    if (b.sees === 'profile') {
      return {
        tone: 'warn',
        text: `Talki would retry after ${talkiPause()} and then show this (the first attempt meets ${a.text}, the retry gets ${b.text})`,
      }
    }
    if (b.sees === 'error') {
      return {
        tone: 'bad',
        text: `Talki would retry after ${talkiPause()} and get ${unusable(b)} (first attempt: ${a.text})`,
      }
    }
    return {
      tone: 'bad',
      text: `Talki would show nothing: the first attempt meets ${a.text}, the retry after ${talkiPause()} gets ${b.text}`,
    }
  }
  if (a.text === b.text) {
    return {
      tone: 'bad',
      text: `Talki would skip: its attempt and its retry after ${talkiPause()} both meet ${a.text}`,
    }
  }
  return {
    tone: 'bad',
    text: `Talki would skip: the first attempt meets ${a.text}, the retry after ${talkiPause()} ${b.text}`,
  }
}

/**
 * What Talki would do for one ticket, in words: the attempt and the retry, and whether a Refresh helps.
 * A `slow` jitter that straddles the 5 s budget is told both ways.
 * @param {Filled | null} spec
 * @param {{ closedUntilMs?: number }} [timing]
 * @returns {Verdict & { sees: Sees }}
 */
export function explain(spec, timing = {}) {
  const late = talkiFetch(spec, { ...timing, jitter: 'late' })
  const early = talkiFetch(spec, { ...timing, jitter: 'early' })
  const lateVerdict = verdictOf(late)
  if (early.sees !== late.sees) {
    const earlyVerdict = verdictOf(early)
    return {
      tone: 'warn',
      sees: late.sees,
      text: `Talki may time out, the delay varies around ${talkiWait()}. Late: ${lateVerdict.text}. Early: ${earlyVerdict.text}`,
    }
  }
  if (late.sees === 'profile') return { ...lateVerdict, sees: late.sees }
  return { ...lateVerdict, text: lateVerdict.text + refreshHint(spec, late, timing), sees: late.sees }
}

/**
 * When a Refresh would show the profile: right after the retry, only within a sequence's window, or
 * once the port has reopened.
 * @param {Filled | null} spec
 * @param {Fetch} fetch
 * @param {{ closedUntilMs?: number }} timing
 */
function refreshHint(spec, fetch, timing) {
  const last = /** @type {Try} */ (fetch.tries.at(-1))
  const soon = talkiFetch(spec, { ...timing, refreshAtMs: last.endsAtMs + 1000 }).refreshSees
  const steps = spec === null ? null : stepsOf(spec)
  if (soon === 'profile') {
    if (steps) {
      const later = talkiFetch(spec, { ...timing, refreshAtMs: last.atMs + steps.windowMs }).refreshSees
      if (later !== 'profile') return `; a Refresh within ${shortMs(steps.windowMs)} would show this`
    }
    return '; a Refresh would show this'
  }
  const closedUntil = timing.closedUntilMs ?? 0
  if (closedUntil > last.endsAtMs) {
    const reopened = talkiFetch(spec, { ...timing, refreshAtMs: closedUntil }).refreshSees
    if (reopened === 'profile') return '; a Refresh once the port reopens would show this'
  }
  return ''
}

// ---------------------------------------------------------------------------------------------------
// Which scenario applies to a user (global override, SIMULATE, the user's own), and what it does

/**
 * The scenario that would apply to this user, strongest first, and what Talki would do with it.
 * `now` and the state's `downUntil` place a downtime in progress on the ticket's time line.
 * @param {{ simulation: SimulationState, simulate: Spec | undefined, catalogue: Catalogue, now: number }} input
 * @returns {{ tone: Tone, sees: Sees, lines: string[] }}
 */
export function effectFor({ simulation, simulate, catalogue, now }) {
  const downUntil = simulation.downUntil ? Date.parse(simulation.downUntil) : Number.NaN
  const closedUntilMs = Number.isFinite(downUntil) ? Math.max(0, downUntil - now) : 0
  const timing = { closedUntilMs }
  const downNote = closedUntilMs > 0 ? ` (the port is closed for ${seconds(closedUntilMs)} more)` : ''

  /** @param {Filled | null} spec @param {string} source */
  const from = (spec, source) => {
    const result = explain(spec, timing)
    return { tone: result.tone, sees: result.sees, line: `${result.text} — ${source}` }
  }
  const below = () => {
    // SIMULATE=down only opened the port late; like the server, it is no scenario per request.
    if (simulation.startup && !isDownSpec(simulation.startup)) {
      return from(simulation.startup, `SIMULATE at start: ${describeSpec(simulation.startup)}${downNote}`)
    }
    if (simulate !== undefined) {
      const own = fillSpec(simulate, catalogue)
      return from(own, `the user's own scenario: ${describeSpec(own)}${downNote}`)
    }
    return from(null, `no scenario applies${downNote}`)
  }

  const override = simulation.override
  if (override === null || isDownSpec(override)) {
    const b = below()
    if (override !== null) b.line = `${b.line}; the global down clears itself when the port reopens`
    return { tone: b.tone, sees: b.sees, lines: [b.line] }
  }
  const main = from(override, `global override: ${describeSpec(override)}${downNote}`)
  const left = simulation.remaining !== null ? ` for the next ${plural(simulation.remaining, 'request')}` : ''
  if (override.probability !== undefined && override.probability < 1) {
    const other = below()
    const pct = Math.round(override.probability * 100)
    const tone =
      main.tone === 'good' ? other.tone : main.tone === 'bad' || other.tone === 'bad' ? 'bad' : 'warn'
    return {
      tone,
      sees: main.sees,
      lines: [`${pct} % of requests${left}: ${main.line}`, `Otherwise: ${other.line}`],
    }
  }
  if (left) {
    const other = below()
    return { tone: main.tone, sees: main.sees, lines: [`${main.line}${left}`, `After that: ${other.line}`] }
  }
  return { tone: main.tone, sees: main.sees, lines: [main.line] }
}

// ---------------------------------------------------------------------------------------------------
// The request log, read as Talki would

/** @typedef {{ status: number | null, verdict: string | null, scenario: string | null, callerGaveUpMs: number | null }} LoggedOutcome */

/** How Talki reads a logged request, or null when it is a plain answer. @param {LoggedOutcome} e */
export function talkiReads(e) {
  if (e.callerGaveUpMs !== null)
    return `Talki counts a timeout as down: it retries once after ${talkiPause()}`
  if (e.status === null) {
    return e.verdict === null
      ? null
      : `no answer: Talki counts this as down and retries once after ${talkiPause()}`
  }
  if (e.status >= 500) return `${e.status}: Talki counts this as down and retries once after ${talkiPause()}`
  if (e.status >= 400) return `${e.status} is an answer: Talki shows nothing and does not retry`
  if (e.scenario === 'malformed') return 'a 200 whose body is not JSON: Talki cannot show it'
  if (e.scenario === 'wrong_shape') return 'a 200 that breaks the contract: Talki may show nothing'
  return null
}

/** Whether a gap between two requests for one token looks like Talki's retry. @param {number} sincePreviousMs */
export function looksLikeRetry(sincePreviousMs) {
  // A fifth of the pause either side: 600 ms at 3 s, 200 ms at TALKI_TIMING=demo's 1 s.
  return Math.abs(sincePreviousMs - talki.retryDelayMs) <= talki.retryDelayMs / 5
}

// ---------------------------------------------------------------------------------------------------
// The engines in use

/** @typedef {{ users: 'json' | 'postgres', state: 'memory' | 'redis', replica: string, labels: { users: string, state: string } }} Engines */

/**
 * The header's line: where the users and the simulation state live, and, when replicas may share them,
 * which replica serves this page (the log names the replica of each request).
 * @param {Engines} engines
 */
export function enginesText(engines) {
  // The labels are the engines' own (src/mock/runtime/engine.ts): nothing here names an engine again.
  const shared = engines.users === 'postgres' || engines.state === 'redis'
  return [
    `users: ${engines.labels.users}`,
    `state: ${engines.labels.state}`,
    ...(shared ? [`replica ${engines.replica}`] : []),
  ].join(' · ')
}
