import { describe, expect, it } from 'vitest'
import { scenarioCatalogue } from '../../../src/mock/admin/scenario-catalogue.js'
import {
  type Catalogue,
  effectFor,
  enginesText,
  explain,
  fillSpec,
  looksLikeRetry,
  type Sees,
  type Spec,
  setTalkiTiming,
  talkiFetch,
  talkiReads,
  talkiTiming,
} from '../../../src/mock/dashboard/model.js'

// The dashboard's "what Talki would do" model, imported by Node as the browser loads it. Talki waits
// 5 s, retries once 3 s after an attempt that met a refused or reset connection, no answer in 5 s, or a
// 5xx; a 4xx or a 200 is an answer. A Refresh is one more fetch. The defaults come from the catalogue
// GET /api/scenarios answers, built here by the same function.

const CATALOGUE: Catalogue = scenarioCatalogue()

const fill = (spec: Spec) => fillSpec(spec, CATALOGUE)

interface Case {
  name: string
  /** As written (a user's `simulate`, an override); null: no scenario. */
  spec: Spec | null
  timing?: { closedUntilMs?: number; refreshAtMs?: number; jitter?: 'early' | 'late' }
  /** Each attempt: which, when it starts (ms after the ticket opened), and what it meets. */
  tries: Array<[attempt: string, atMs: number, meets: string]>
  sees: Sees
  shownAtMs?: number | null
  refreshSees?: Sees | null
}

const CASES: Case[] = [
  { name: 'no scenario', spec: null, tries: [['first', 0, '200']], sees: 'profile', shownAtMs: 0 },
  { name: 'ok', spec: 'ok', tries: [['first', 0, '200']], sees: 'profile', shownAtMs: 0 },
  // slow: inside or past the 5 s budget
  {
    name: 'slow 4500 (usr_slow_ok) answers inside 5 s',
    spec: { scenario: 'slow', delayMs: 4500 },
    tries: [['first', 0, '200 after 4.5 s']],
    sees: 'profile',
    shownAtMs: 4500,
  },
  {
    name: 'slow 5000 is still inside the budget',
    spec: { scenario: 'slow', delayMs: 5000 },
    tries: [['first', 0, '200 after 5.0 s']],
    sees: 'profile',
    shownAtMs: 5000,
  },
  {
    name: 'slow 6000 (the default) times out twice',
    spec: 'slow',
    tries: [
      ['first', 0, 'no answer within 5 s (6.0 s)'],
      ['retry', 8000, 'no answer within 5 s (6.0 s)'],
    ],
    sees: 'nothing',
    shownAtMs: null,
  },
  {
    name: 'slow 4500 ± 1000, late end: times out',
    spec: { scenario: 'slow', delayMs: 4500, jitterMs: 1000 },
    timing: { jitter: 'late' },
    tries: [
      ['first', 0, 'no answer within 5 s (5.5 s)'],
      ['retry', 8000, 'no answer within 5 s (5.5 s)'],
    ],
    sees: 'nothing',
  },
  {
    name: 'slow 4500 ± 1000, early end: answers',
    spec: { scenario: 'slow', delayMs: 4500, jitterMs: 1000 },
    timing: { jitter: 'early' },
    tries: [['first', 0, '200 after 3.5 s']],
    sees: 'profile',
    shownAtMs: 3500,
  },
  {
    name: 'slow 6000, a Refresh later times out too',
    spec: 'slow',
    timing: { refreshAtMs: 60_000 },
    tries: [
      ['first', 0, 'no answer within 5 s'],
      ['retry', 8000, 'no answer within 5 s'],
      ['refresh', 60_000, 'no answer within 5 s'],
    ],
    sees: 'nothing',
    refreshSees: 'nothing',
  },
  // error: every 5xx is "down"
  {
    name: 'error (500 by default) is retried, fails again',
    spec: 'error',
    tries: [
      ['first', 0, '500 simulated_error'],
      ['retry', 3000, '500 simulated_error'],
    ],
    sees: 'nothing',
  },
  {
    name: 'error 503 is retried, fails again',
    spec: { scenario: 'error', status: 503 },
    tries: [
      ['first', 0, '503 simulated_error'],
      ['retry', 3000, '503 simulated_error'],
    ],
    sees: 'nothing',
  },
  {
    name: 'error 504, a Refresh fails too',
    spec: { scenario: 'error', status: 504 },
    timing: { refreshAtMs: 20_000 },
    tries: [
      ['first', 0, '504 simulated_error'],
      ['retry', 3000, '504 simulated_error'],
      ['refresh', 20_000, '504 simulated_error'],
    ],
    sees: 'nothing',
    refreshSees: 'nothing',
  },
  // a user's own down: the request is reset and the port closes
  {
    name: "a user's down for 10 s: reset, then the retry is refused",
    spec: 'down',
    tries: [
      ['first', 0, 'connection reset, then the port closes for 10 s'],
      ['retry', 3000, 'connection refused'],
    ],
    sees: 'nothing',
  },
  {
    name: "a user's down for 2 s: the retry meets the user's down again",
    spec: { scenario: 'down', durationMs: 2000 },
    tries: [
      ['first', 0, 'connection reset, then the port closes for 2 s'],
      ['retry', 3000, 'connection reset, then the port closes for 2 s'],
    ],
    sees: 'nothing',
  },
  {
    name: "a user's down for 10 s: a Refresh while closed is refused",
    spec: 'down',
    timing: { refreshAtMs: 6000 },
    tries: [
      ['first', 0, 'connection reset'],
      ['retry', 3000, 'connection refused'],
      ['refresh', 6000, 'connection refused'],
    ],
    sees: 'nothing',
    refreshSees: 'nothing',
  },
  {
    name: "a user's down for 10 s: a Refresh after it meets the down again",
    spec: 'down',
    timing: { refreshAtMs: 11_000 },
    tries: [
      ['first', 0, 'connection reset'],
      ['retry', 3000, 'connection refused'],
      ['refresh', 11_000, 'connection reset'],
    ],
    sees: 'nothing',
    refreshSees: 'nothing',
  },
  // a downtime in progress (a global down): the port is closed until closedUntilMs
  {
    name: 'port closed for 10 s more: attempt and retry refused, a Refresh after it shows the profile',
    spec: null,
    timing: { closedUntilMs: 10_000, refreshAtMs: 10_000 },
    tries: [
      ['first', 0, 'connection refused'],
      ['retry', 3000, 'connection refused'],
      ['refresh', 10_000, '200'],
    ],
    sees: 'nothing',
    refreshSees: 'profile',
  },
  {
    name: 'port closed for 2 s more: the retry after 3 s gets the profile',
    spec: null,
    timing: { closedUntilMs: 2000 },
    tries: [
      ['first', 0, 'connection refused'],
      ['retry', 3000, '200'],
    ],
    sees: 'profile',
    shownAtMs: 3000,
  },
  {
    name: 'port closed for exactly 3 s more: open again for the retry',
    spec: null,
    timing: { closedUntilMs: 3000 },
    tries: [
      ['first', 0, 'connection refused'],
      ['retry', 3000, '200'],
    ],
    sees: 'profile',
  },
  {
    name: 'port closed for 2 s, then the user’s own error 503',
    spec: { scenario: 'error', status: 503 },
    timing: { closedUntilMs: 2000 },
    tries: [
      ['first', 0, 'connection refused'],
      ['retry', 3000, '503 simulated_error'],
    ],
    sees: 'nothing',
  },
  // flaky: [failWith, ok] inside windowMs
  {
    name: 'flaky (503 then ok by default): the retry gets the profile',
    spec: 'flaky',
    tries: [
      ['first', 0, '503 simulated_error'],
      ['retry', 3000, '200'],
    ],
    sees: 'profile',
    shownAtMs: 3000,
  },
  {
    name: 'flaky with a slow 6000 first: the retry at 8 s is inside the 10 s window',
    spec: { scenario: 'flaky', failWith: 'slow' },
    tries: [
      ['first', 0, 'no answer within 5 s'],
      ['retry', 8000, '200'],
    ],
    sees: 'profile',
    shownAtMs: 8000,
  },
  {
    name: 'flaky with a slow first and a 5 s window: the retry rewinds, and so does any Refresh (a timeout outlasts the window)',
    spec: { scenario: 'flaky', failWith: 'slow', windowMs: 5000 },
    timing: { refreshAtMs: 10_000 },
    tries: [
      ['first', 0, 'no answer within 5 s'],
      ['retry', 8000, 'no answer within 5 s'],
      ['refresh', 13_000, 'no answer within 5 s'],
    ],
    sees: 'nothing',
    refreshSees: 'nothing',
  },
  {
    name: 'flaky with a 3 s window: a gap of exactly 3 s rewinds',
    spec: { scenario: 'flaky', windowMs: 3000 },
    tries: [
      ['first', 0, '503 simulated_error'],
      ['retry', 3000, '503 simulated_error'],
    ],
    sees: 'nothing',
  },
  {
    name: 'flaky failing with reset',
    spec: { scenario: 'flaky', failWith: 'reset' },
    tries: [
      ['first', 0, 'connection reset'],
      ['retry', 3000, '200'],
    ],
    sees: 'profile',
  },
  // sequences
  {
    name: 'usr_flaky_twice [error, error, ok]: a Refresh inside the window shows the profile',
    spec: { sequence: ['error', 'error', 'ok'] },
    timing: { refreshAtMs: 4000 },
    tries: [
      ['first', 0, '500 simulated_error'],
      ['retry', 3000, '500 simulated_error'],
      ['refresh', 4000, '200'],
    ],
    sees: 'nothing',
    refreshSees: 'profile',
  },
  {
    name: '[error, error, ok]: a Refresh a full window after the retry starts over',
    spec: { sequence: ['error', 'error', 'ok'] },
    timing: { refreshAtMs: 13_000 },
    tries: [
      ['first', 0, '500 simulated_error'],
      ['retry', 3000, '500 simulated_error'],
      ['refresh', 13_000, '500 simulated_error'],
    ],
    sees: 'nothing',
    refreshSees: 'nothing',
  },
  {
    name: '[not_found, ok]: a 404 is an answer, not retried; a Refresh gets the profile',
    spec: { sequence: ['not_found', 'ok'] },
    timing: { refreshAtMs: 1000 },
    tries: [
      ['first', 0, '404 user_not_found'],
      ['refresh', 1000, '200'],
    ],
    sees: 'nothing',
    refreshSees: 'profile',
  },
  {
    name: '[hang, ok] with a 20 s window: the retry at 8 s gets the profile',
    spec: { sequence: ['hang', 'ok'], windowMs: 20_000 },
    tries: [
      ['first', 0, 'no answer within 5 s'],
      ['retry', 8000, '200'],
    ],
    sees: 'profile',
  },
  {
    name: '[error 502, malformed]: the retry gets a 200 Talki cannot read',
    spec: { sequence: [{ scenario: 'error', status: 502 }, 'malformed'] },
    tries: [
      ['first', 0, '502 simulated_error'],
      ['retry', 3000, 'a 200 whose body is not JSON'],
    ],
    sees: 'error',
  },
  // hang, reset and the answers Talki does not retry
  {
    name: 'hang (60 s by default): no answer in 5 s, twice',
    spec: 'hang',
    tries: [
      ['first', 0, 'no answer within 5 s'],
      ['retry', 8000, 'no answer within 5 s'],
    ],
    sees: 'nothing',
  },
  {
    name: 'hang closed after 2 s: the retry comes 3 s after that',
    spec: { scenario: 'hang', maxMs: 2000 },
    tries: [
      ['first', 0, 'connection closed after 2.0 s without an answer'],
      ['retry', 5000, 'connection closed after 2.0 s'],
    ],
    sees: 'nothing',
  },
  {
    name: 'reset, twice',
    spec: 'reset',
    tries: [
      ['first', 0, 'connection reset'],
      ['retry', 3000, 'connection reset'],
    ],
    sees: 'nothing',
  },
  {
    name: 'malformed',
    spec: 'malformed',
    tries: [['first', 0, 'a 200 whose body is not JSON']],
    sees: 'error',
  },
  {
    name: 'wrong_shape',
    spec: 'wrong_shape',
    tries: [['first', 0, 'a 200 that breaks the contract']],
    sees: 'error',
  },
  { name: 'not_found', spec: 'not_found', tries: [['first', 0, '404 user_not_found']], sees: 'nothing' },
  {
    name: 'unauthorized, a Refresh too',
    spec: 'unauthorized',
    timing: { refreshAtMs: 30_000 },
    tries: [
      ['first', 0, '401 invalid_signature'],
      ['refresh', 30_000, '401 invalid_signature'],
    ],
    sees: 'nothing',
    refreshSees: 'nothing',
  },
]

describe('talkiFetch: every scenario × attempt × timing', () => {
  it.each(CASES)('$name', ({ spec, timing, tries, sees, shownAtMs, refreshSees }) => {
    const result = talkiFetch(spec === null ? null : fill(spec), timing)
    expect(result.tries.map((t) => [t.attempt, t.atMs])).toEqual(tries.map(([attempt, at]) => [attempt, at]))
    result.tries.forEach((t, i) => {
      expect(t.meets.text).toContain(tries[i]?.[2])
    })
    expect(result.sees).toBe(sees)
    if (shownAtMs !== undefined) expect(result.shownAtMs).toBe(shownAtMs)
    expect(result.refreshSees).toBe(refreshSees ?? null)
  })
})

describe('fillSpec', () => {
  it('fills the defaults of the catalogue, nested ones too, and keeps count and probability', () => {
    expect(fill('slow')).toEqual({ scenario: 'slow', delayMs: 6000, jitterMs: 0 })
    expect(fill({ scenario: 'flaky', failWith: 'error', count: 2 })).toEqual({
      scenario: 'flaky',
      failWith: { scenario: 'error', status: 500 },
      windowMs: 10_000,
      count: 2,
    })
    expect(fill('flaky')).toMatchObject({ failWith: { scenario: 'error', status: 503 } })
    expect(fill({ sequence: ['hang', { scenario: 'slow', delayMs: 4500 }], probability: 0.5 })).toEqual({
      sequence: [
        { scenario: 'hang', maxMs: 60_000 },
        { scenario: 'slow', delayMs: 4500, jitterMs: 0 },
      ],
      windowMs: 10_000,
      probability: 0.5,
    })
  })

  it('leaves a filled spec as it is, and takes its defaults from the catalogue it is given', () => {
    const filled = fill({ scenario: 'down', durationMs: 2500 })
    expect(fill(filled)).toEqual(filled)
    const changed = structuredClone(CATALOGUE)
    const slow = changed.scenarios
      .find((s) => s.name === 'slow')
      ?.parameters.find((p) => p.name === 'delayMs')
    if (!slow) throw new Error('no slow.delayMs in the catalogue')
    slow.default = 4000
    expect(fillSpec('slow', changed)).toMatchObject({ delayMs: 4000 })
    expect(explain(fillSpec('slow', changed)).text).toBe('Talki would show this after 4.0 s, inside its 5 s')
  })
})

describe('explain: the words the sidebar shows', () => {
  it.each([
    [null, {}, 'good', 'Talki would show this'],
    [{ scenario: 'slow', delayMs: 4500 }, {}, 'warn', 'Talki would show this after 4.5 s, inside its 5 s'],
    [
      'slow',
      {},
      'bad',
      'Talki would skip: its attempt and its retry after 3 s both meet no answer within 5 s (6.0 s)',
    ],
    [
      { scenario: 'slow', delayMs: 4500, jitterMs: 1000 },
      {},
      'warn',
      'Talki may time out, the delay varies around 5 s. Late: Talki would skip: its attempt and its retry after 3 s both meet no answer within 5 s (5.5 s). Early: Talki would show this after 3.5 s, inside its 5 s',
    ],
    [
      'flaky',
      {},
      'warn',
      'Talki would retry after 3 s and then show this (the first attempt meets 503 simulated_error, the retry gets 200)',
    ],
    [
      { sequence: ['error', 'error', 'ok'] },
      {},
      'bad',
      'Talki would skip: its attempt and its retry after 3 s both meet 500 simulated_error; a Refresh within 10 s would show this',
    ],
    [
      { sequence: ['not_found', 'ok'] },
      {},
      'bad',
      'Talki would show nothing: 404 user_not_found is an answer, not retried; a Refresh within 10 s would show this',
    ],
    [
      null,
      { closedUntilMs: 9000 },
      'bad',
      'Talki would skip: its attempt and its retry after 3 s both meet connection refused (port closed); a Refresh once the port reopens would show this',
    ],
    [
      'down',
      {},
      'bad',
      'Talki would skip: the first attempt meets connection reset, then the port closes for 10 s, the retry after 3 s connection refused (port closed)',
    ],
    [
      'malformed',
      {},
      'bad',
      'Talki would get a 200 whose body is not JSON: the operator sees no customer data, or an error',
    ],
    ['unauthorized', {}, 'bad', 'Talki would show nothing: 401 invalid_signature is an answer, not retried'],
  ] as const)('%j %j → %s', (spec, timing, tone, text) => {
    expect(explain(spec === null ? null : fill(spec as Spec), timing)).toMatchObject({ tone, text })
  })
})

describe('effectFor: which scenario applies, strongest first', () => {
  const NOW = Date.parse('2026-01-01T00:00:00.000Z')
  const state = (over: Record<string, unknown> = {}) => ({
    override: null,
    remaining: null,
    startup: null,
    downUntil: null,
    ...over,
  })
  const effect = (simulation: ReturnType<typeof state>, simulate?: Spec) =>
    effectFor({ simulation: simulation as never, simulate, catalogue: CATALOGUE, now: NOW })

  it('no scenario, the user’s own, SIMULATE over the user’s own', () => {
    expect(effect(state())).toEqual({
      tone: 'good',
      sees: 'profile',
      lines: ['Talki would show this — no scenario applies'],
    })
    expect(effect(state(), { scenario: 'slow' }).lines).toEqual([
      "Talki would skip: its attempt and its retry after 3 s both meet no answer within 5 s (6.0 s) — the user's own scenario: slow 6000 ms",
    ])
    expect(effect(state({ startup: fill('ok') }), 'reset').lines[0]).toBe(
      'Talki would show this — SIMULATE at start: ok',
    )
    // SIMULATE=down:N only opened the port late: the user's own scenario applies.
    expect(effect(state({ startup: fill('down') }), 'not_found').lines[0]).toBe(
      "Talki would show nothing: 404 user_not_found is an answer, not retried — the user's own scenario: not_found",
    )
  })

  it('a global override, with a count or a probability, over the rest', () => {
    const error = fill({ scenario: 'error', status: 503 })
    expect(effect(state({ override: error }), 'ok')).toMatchObject({ tone: 'bad', sees: 'nothing' })
    expect(effect(state({ override: { ...error, count: 2 }, remaining: 1 })).lines).toEqual([
      'Talki would skip: its attempt and its retry after 3 s both meet 503 simulated_error — global override: error 503 for the next 1 request',
      'After that: Talki would show this — no scenario applies',
    ])
    const chaos = effect(state({ override: { ...error, probability: 0.25 } }))
    expect(chaos.lines[0]).toMatch(/^25 % of requests: Talki would skip/)
    expect(chaos.lines[1]).toBe('Otherwise: Talki would show this — no scenario applies')
  })

  it('a downtime in progress, from downUntil: refused until then', () => {
    const down = state({
      override: fill({ scenario: 'down', durationMs: 10_000 }),
      downUntil: new Date(NOW + 8000).toISOString(),
    })
    expect(effect(down).lines).toEqual([
      'Talki would skip: its attempt and its retry after 3 s both meet connection refused (port closed); a Refresh once the port reopens would show this — no scenario applies (the port is closed for 8.0 s more); the global down clears itself when the port reopens',
    ])
    const almostOver = state({ downUntil: new Date(NOW + 1500).toISOString() })
    expect(effect(almostOver)).toMatchObject({ tone: 'warn', sees: 'profile' })
    const over = state({ downUntil: new Date(NOW - 1).toISOString() })
    expect(effect(over).lines).toEqual(['Talki would show this — no scenario applies'])
  })
})

describe('the request log read as Talki would', () => {
  const entry = { status: 200, verdict: 'valid', scenario: null, callerGaveUpMs: null }
  it.each([
    [entry, null],
    [
      { ...entry, callerGaveUpMs: 5001, status: null },
      'Talki counts a timeout as down: it retries once after 3 s',
    ],
    [
      { ...entry, status: null, scenario: 'reset' },
      'no answer: Talki counts this as down and retries once after 3 s',
    ],
    [{ ...entry, status: null, verdict: null }, null],
    [{ ...entry, status: 503 }, '503: Talki counts this as down and retries once after 3 s'],
    [{ ...entry, status: 404 }, '404 is an answer: Talki shows nothing and does not retry'],
    [{ ...entry, scenario: 'malformed' }, 'a 200 whose body is not JSON: Talki cannot show it'],
    [{ ...entry, scenario: 'wrong_shape' }, 'a 200 that breaks the contract: Talki may show nothing'],
  ])('%j → %s', (e, words) => {
    expect(talkiReads(e)).toBe(words)
  })

  it('a gap of about 3 s between two requests for one token looks like the retry', () => {
    expect([2300, 3000, 3600, 5000].map(looksLikeRetry)).toEqual([false, true, true, false])
  })
})

describe('the engines line in the header', () => {
  it.each([
    [
      { users: 'json', state: 'memory', replica: 'host:1', labels: { users: 'JSON file', state: 'memory' } },
      'users: JSON file · state: memory',
    ],
    [
      { users: 'postgres', state: 'memory', replica: 'r2', labels: { users: 'PostgreSQL', state: 'memory' } },
      'users: PostgreSQL · state: memory · replica r2',
    ],
    [
      { users: 'json', state: 'redis', replica: 'r1', labels: { users: 'JSON file', state: 'Redis' } },
      'users: JSON file · state: Redis · replica r1',
    ],
  ] as const)('%j → %s', (engines, words) => {
    expect(enginesText(engines)).toBe(words)
  })
})

describe('under TALKI_TIMING=demo (GET /api/timing: 1.5 s timeout, retry after 1 s)', () => {
  const catalogue = scenarioCatalogue() as Catalogue
  const real = talkiTiming()
  it('times out, retries and words it with the demo numbers', () => {
    setTalkiTiming({ timing: 'demo', timeoutMs: 1500, retryDelayMs: 1000 })
    try {
      const slow = fillSpec({ scenario: 'slow', delayMs: 2000 }, catalogue)
      expect(explain(slow).text).toBe(
        'Talki would skip: its attempt and its retry after 1 s both meet no answer within 1.5 s (2.0 s)',
      )
      expect(explain(fillSpec({ scenario: 'slow', delayMs: 1200 }, catalogue)).text).toBe(
        'Talki would show this after 1.2 s, inside its 1.5 s',
      )
      expect(looksLikeRetry(1100)).toBe(true)
      expect(looksLikeRetry(3000)).toBe(false)
    } finally {
      setTalkiTiming(real)
    }
    expect(talkiTiming()).toEqual({ timing: 'real', timeoutMs: 5000, retryDelayMs: 3000 })
  })
})
