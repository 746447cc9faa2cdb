import { describe, expect, it } from 'vitest'
import {
  CURSORS_AFTER_SWEEP,
  chooseScenario,
  clearOverride,
  createSimulationState,
  type Decision,
  MAX_CURSORS,
  resetSimulation,
  type SimulationState,
  setOverride,
} from '../../../src/mock/simulation/choose.js'
import {
  fillDefaults,
  type SimulationSpec,
  type UserSimulationSpec,
} from '../../../src/mock/simulation/scenarios.js'
import type { UserRecord } from '../../../src/mock/users/record.js'

const noRandom = () => {
  throw new Error('random() must not be called here')
}

function user(simulate?: UserSimulationSpec, userToken = 'usr_test'): UserRecord {
  return simulate === undefined ? { userToken, name: 'Test' } : { userToken, name: 'Test', simulate }
}

function choose(
  state: SimulationState,
  opts: { token?: string; user?: UserRecord; now?: number; random?: () => number } = {},
): Decision {
  return chooseScenario(
    {
      token: opts.token ?? opts.user?.userToken ?? 'usr_unknown',
      user: opts.user,
      now: opts.now ?? 0,
      random: opts.random ?? noRandom,
    },
    state,
  )
}

const OK = { scenario: 'ok' } as const
const ERROR_500 = { scenario: 'error', status: 500 } as const
const ERROR_503 = { scenario: 'error', status: 503 } as const
const SLOW = { scenario: 'slow', delayMs: 6000, jitterMs: 0 } as const

describe('chooseScenario precedence', () => {
  const rows: {
    name: string
    override?: SimulationSpec
    startup?: SimulationSpec
    user?: UserRecord
    expected: Decision
  }[] = [
    { name: 'nothing anywhere: no scenario', expected: null },
    { name: 'known user without simulate: no scenario', user: user(), expected: null },
    { name: "the user's own scenario", user: user('slow'), expected: { scenario: SLOW, source: 'user' } },
    {
      name: 'startup beats the user',
      startup: 'error',
      user: user('slow'),
      expected: { scenario: ERROR_500, source: 'startup' },
    },
    {
      name: 'override beats startup and user',
      override: 'not_found',
      startup: 'error',
      user: user('slow'),
      expected: { scenario: { scenario: 'not_found' }, source: 'override' },
    },
    {
      name: "a global ok silences the user's own scenario",
      override: 'ok',
      user: user({ scenario: 'error', status: 503 }),
      expected: { scenario: OK, source: 'override' },
    },
    {
      name: "a startup ok silences the user's own scenario",
      startup: 'ok',
      user: user('hang'),
      expected: { scenario: OK, source: 'startup' },
    },
    {
      name: 'unknown user gets the override',
      override: 'malformed',
      expected: { scenario: { scenario: 'malformed' }, source: 'override' },
    },
    {
      name: 'unknown user gets startup',
      startup: 'wrong_shape',
      expected: { scenario: { scenario: 'wrong_shape' }, source: 'startup' },
    },
    {
      name: 'override down falls through to startup',
      override: 'down',
      startup: 'reset',
      user: user('slow'),
      expected: { scenario: { scenario: 'reset' }, source: 'startup' },
    },
    {
      name: 'override down falls through to the user',
      override: { scenario: 'down', durationMs: 5000 },
      user: user({ scenario: 'hang', maxMs: 1000 }),
      expected: { scenario: { scenario: 'hang', maxMs: 1000 }, source: 'user' },
    },
    {
      name: 'startup down falls through to the user',
      startup: 'down',
      user: user('unauthorized'),
      expected: { scenario: { scenario: 'unauthorized' }, source: 'user' },
    },
    {
      name: 'override and startup down, unknown user: no scenario',
      override: 'down',
      startup: 'down',
      expected: null,
    },
    {
      name: "a user's down is returned",
      user: user('down'),
      expected: { scenario: { scenario: 'down', durationMs: 10_000 }, source: 'user' },
    },
    {
      name: "a user's down is returned under a global down",
      override: 'down',
      user: user({ scenario: 'down', durationMs: 2500 }),
      expected: { scenario: { scenario: 'down', durationMs: 2500 }, source: 'user' },
    },
  ]

  for (const row of rows) {
    it(row.name, () => {
      const state = createSimulationState(row.startup === undefined ? null : fillDefaults(row.startup))
      if (row.override !== undefined) setOverride(state, { simulation: fillDefaults(row.override) })
      expect(choose(state, row.user === undefined ? {} : { user: row.user })).toEqual(row.expected)
    })
  }
})

describe('override probability', () => {
  it('applies when random() < p', () => {
    const state = createSimulationState(null)
    setOverride(state, { simulation: fillDefaults('reset'), probability: 0.5 })
    expect(choose(state, { user: user('slow'), random: () => 0.49 })).toEqual({
      scenario: { scenario: 'reset' },
      source: 'override',
    })
  })

  it('on a miss the request goes on as if there were no override (startup, then user)', () => {
    const state = createSimulationState(fillDefaults({ scenario: 'error', status: 502 }))
    setOverride(state, { simulation: fillDefaults('reset'), probability: 0.5 })
    expect(choose(state, { user: user('slow'), random: () => 0.5 })).toEqual({
      scenario: { scenario: 'error', status: 502 },
      source: 'startup',
    })
    state.startup = null
    expect(choose(state, { user: user('slow'), random: () => 0.9 })).toEqual({
      scenario: SLOW,
      source: 'user',
    })
    expect(choose(state, { random: () => 0.9 })).toBeNull()
  })

  it('a miss does not consume count', () => {
    const state = createSimulationState(null)
    const override = setOverride(state, { simulation: fillDefaults('reset'), count: 1, probability: 0.3 })
    const rolls = [0.9, 0.8, 0.1, 0.1]
    const random = () => rolls.shift() ?? 1
    const u = user('slow')
    expect(choose(state, { user: u, random })).toEqual({ scenario: SLOW, source: 'user' })
    expect(choose(state, { user: u, random })).toEqual({ scenario: SLOW, source: 'user' })
    expect(override.remaining).toBe(1)
    expect(choose(state, { user: u, random })).toEqual({
      scenario: { scenario: 'reset' },
      source: 'override',
    })
    expect(state.override).toBeNull()
    // The override is gone: the last roll is never drawn.
    expect(choose(state, { user: u, random: noRandom })).toEqual({ scenario: SLOW, source: 'user' })
    expect(rolls).toEqual([0.1])
  })

  it('is not rolled without a probability', () => {
    const state = createSimulationState(null)
    setOverride(state, { simulation: fillDefaults('malformed') })
    expect(choose(state, { random: noRandom })).toEqual({
      scenario: { scenario: 'malformed' },
      source: 'override',
    })
  })
})

describe('override count', () => {
  it('applies to the next N requests, then the override is removed', () => {
    const state = createSimulationState(null)
    const override = setOverride(state, { simulation: fillDefaults('not_found'), count: 2 })
    expect(override).toEqual({
      simulation: { scenario: 'not_found' },
      count: 2,
      remaining: 2,
      generation: 1,
    })
    const u = user({ scenario: 'error', status: 504 })
    expect(choose(state, { user: u })).toEqual({ scenario: { scenario: 'not_found' }, source: 'override' })
    expect(override.remaining).toBe(1)
    expect(state.override).toBe(override)
    expect(choose(state, { user: u })).toEqual({ scenario: { scenario: 'not_found' }, source: 'override' })
    expect(override.remaining).toBe(0)
    expect(state.override).toBeNull()
    expect(choose(state, { user: u })).toEqual({
      scenario: { scenario: 'error', status: 504 },
      source: 'user',
    })
  })

  it('without count, remaining is null and the override stays', () => {
    const state = createSimulationState(null)
    const override = setOverride(state, { simulation: fillDefaults('ok'), probability: 1 })
    expect(override).toEqual({ simulation: OK, probability: 1, remaining: null, generation: 1 })
    for (let i = 0; i < 3; i++)
      expect(choose(state, { random: () => 0.999 })).toEqual({ scenario: OK, source: 'override' })
    expect(state.override).toBe(override)
  })

  it('clearOverride removes it', () => {
    const state = createSimulationState(null)
    setOverride(state, { simulation: fillDefaults('reset') })
    clearOverride(state)
    expect(state.override).toBeNull()
    expect(choose(state, { user: user('slow') })).toEqual({ scenario: SLOW, source: 'user' })
  })
})

describe('sequences', () => {
  const twice: SimulationSpec = { sequence: ['error', 'error', 'ok'] }

  it('advance per token independently, and the last item repeats', () => {
    const state = createSimulationState(fillDefaults(twice))
    const at = (token: string, now: number) => choose(state, { token, now })
    expect(at('a', 0)).toEqual({ scenario: ERROR_500, source: 'startup' })
    expect(at('a', 1)).toEqual({ scenario: ERROR_500, source: 'startup' })
    expect(at('b', 2)).toEqual({ scenario: ERROR_500, source: 'startup' })
    expect(at('a', 3)).toEqual({ scenario: OK, source: 'startup' })
    expect(at('a', 4)).toEqual({ scenario: OK, source: 'startup' })
    expect(at('a', 5)).toEqual({ scenario: OK, source: 'startup' })
    expect(at('b', 6)).toEqual({ scenario: ERROR_500, source: 'startup' })
    expect(at('b', 7)).toEqual({ scenario: OK, source: 'startup' })
  })

  it('rewinds once windowMs has passed without a request for that token, not before', () => {
    const state = createSimulationState(null)
    const u = user({ sequence: ['error', 'slow', 'ok'], windowMs: 10_000 })
    const at = (now: number) => choose(state, { user: u, now })
    expect(at(0)).toEqual({ scenario: ERROR_500, source: 'user' })
    expect(at(9_999)).toEqual({ scenario: SLOW, source: 'user' })
    expect(at(19_998)).toEqual({ scenario: OK, source: 'user' })
    // A gap of exactly windowMs rewinds.
    expect(at(29_998)).toEqual({ scenario: ERROR_500, source: 'user' })
    expect(at(30_000)).toEqual({ scenario: SLOW, source: 'user' })
  })

  it('windowMs 0 always gives the first item', () => {
    const state = createSimulationState(fillDefaults({ sequence: ['reset', 'ok'], windowMs: 0 }))
    expect(choose(state, { now: 5 })).toEqual({ scenario: { scenario: 'reset' }, source: 'startup' })
    expect(choose(state, { now: 5 })).toEqual({ scenario: { scenario: 'reset' }, source: 'startup' })
  })

  it('are kept per source: an override does not move the user position', () => {
    const state = createSimulationState(null)
    const u = user(twice)
    expect(choose(state, { user: u, now: 0 })).toEqual({ scenario: ERROR_500, source: 'user' })
    setOverride(state, { simulation: fillDefaults({ sequence: ['not_found', 'ok'] }), count: 1 })
    expect(choose(state, { user: u, now: 1 })).toEqual({
      scenario: { scenario: 'not_found' },
      source: 'override',
    })
    expect(choose(state, { user: u, now: 2 })).toEqual({ scenario: ERROR_500, source: 'user' })
    expect(choose(state, { user: u, now: 3 })).toEqual({ scenario: OK, source: 'user' })
  })

  it('a new override starts fresh, even with the same sequence', () => {
    const state = createSimulationState(null)
    const simulation = fillDefaults({ sequence: ['error', 'ok'] })
    setOverride(state, { simulation })
    expect(choose(state, { now: 0 })).toEqual({ scenario: ERROR_500, source: 'override' })
    expect(choose(state, { now: 1 })).toEqual({ scenario: OK, source: 'override' })
    setOverride(state, { simulation })
    expect(choose(state, { now: 2 })).toEqual({ scenario: ERROR_500, source: 'override' })
    clearOverride(state)
    setOverride(state, { simulation })
    expect(state.override?.generation).toBe(3)
    expect(choose(state, { now: 3 })).toEqual({ scenario: ERROR_500, source: 'override' })
  })

  it('resetSimulation clears the override and every cursor', () => {
    const state = createSimulationState(null)
    const u = user(twice)
    choose(state, { user: u, now: 0 })
    choose(state, { user: u, now: 1 })
    setOverride(state, { simulation: fillDefaults('reset') })
    resetSimulation(state)
    expect(state.override).toBeNull()
    expect(state.cursors.size).toBe(0)
    expect(choose(state, { user: u, now: 2 })).toEqual({ scenario: ERROR_500, source: 'user' })
  })

  it('usr_flaky_twice: attempt and retry fail, a later Refresh inside the window succeeds', () => {
    const state = createSimulationState(null)
    const u = user(twice, 'usr_flaky_twice')
    expect(choose(state, { user: u, now: 0 })).toEqual({ scenario: ERROR_500, source: 'user' })
    expect(choose(state, { user: u, now: 3_000 })).toEqual({ scenario: ERROR_500, source: 'user' })
    expect(choose(state, { user: u, now: 8_000 })).toEqual({ scenario: OK, source: 'user' })
  })
})

describe('flaky', () => {
  it('gives failWith then ok, and rewinds after its window', () => {
    const state = createSimulationState(null)
    const u = user('flaky', 'usr_flaky')
    expect(choose(state, { user: u, now: 0 })).toEqual({ scenario: ERROR_503, source: 'user' })
    expect(choose(state, { user: u, now: 3_000 })).toEqual({ scenario: OK, source: 'user' })
    expect(choose(state, { user: u, now: 4_000 })).toEqual({ scenario: OK, source: 'user' })
    expect(choose(state, { user: u, now: 14_000 })).toEqual({ scenario: ERROR_503, source: 'user' })
  })

  it('as an override, with its own failWith and window, for an unknown user', () => {
    const state = createSimulationState(null)
    setOverride(state, {
      simulation: fillDefaults({ scenario: 'flaky', failWith: 'reset', windowMs: 3_000 }),
    })
    expect(choose(state, { now: 0 })).toEqual({ scenario: { scenario: 'reset' }, source: 'override' })
    expect(choose(state, { now: 2_999 })).toEqual({ scenario: OK, source: 'override' })
    expect(choose(state, { now: 5_999 })).toEqual({ scenario: { scenario: 'reset' }, source: 'override' })
  })
})

describe("the user's simulate", () => {
  it('is read afresh on every request: a changed simulate on the same record applies at once', () => {
    const state = createSimulationState(null)
    const u = user('slow')
    expect(choose(state, { user: u })).toEqual({ scenario: SLOW, source: 'user' })
    u.simulate = { scenario: 'error', status: 502 }
    expect(choose(state, { user: u })).toEqual({
      scenario: { scenario: 'error', status: 502 },
      source: 'user',
    })
  })
})

describe('cursor map stays bounded', () => {
  const sequence = fillDefaults({ sequence: ['error', 'ok'], windowMs: 10_000 })

  it('a flood of random tokens inside the window never grows it past MAX_CURSORS', () => {
    const state = createSimulationState(sequence)
    let largest = 0
    for (let i = 0; i < 3 * MAX_CURSORS; i++) {
      expect(choose(state, { token: `tok_${i}`, now: i })).toEqual({ scenario: ERROR_500, source: 'startup' })
      largest = Math.max(largest, state.cursors.size)
    }
    expect(largest).toBe(MAX_CURSORS)
    expect(state.cursors.size).toBeLessThanOrEqual(MAX_CURSORS)
    expect(state.cursors.size).toBeGreaterThanOrEqual(CURSORS_AFTER_SWEEP)
    // The most recent token keeps its position.
    const last = `tok_${3 * MAX_CURSORS - 1}`
    expect(choose(state, { token: last, now: 3 * MAX_CURSORS })).toEqual({ scenario: OK, source: 'startup' })
  })

  it('sweeps cursors idle for their window and keeps the live ones', () => {
    const state = createSimulationState(sequence)
    for (let i = 0; i < MAX_CURSORS / 2; i++) choose(state, { token: `old_${i}`, now: 0 })
    for (let i = 0; i < MAX_CURSORS / 2; i++) choose(state, { token: `live_${i}`, now: 5_000 })
    expect(state.cursors.size).toBe(MAX_CURSORS)
    // One more at t=10000: every old_ cursor has been idle exactly its window and goes.
    expect(choose(state, { token: 'new', now: 10_000 })).toEqual({ scenario: ERROR_500, source: 'startup' })
    expect(state.cursors.size).toBe(MAX_CURSORS / 2 + 1)
    expect(choose(state, { token: 'live_0', now: 10_001 })).toEqual({ scenario: OK, source: 'startup' })
    expect(choose(state, { token: 'old_0', now: 10_002 })).toEqual({ scenario: ERROR_500, source: 'startup' })
  })
})
