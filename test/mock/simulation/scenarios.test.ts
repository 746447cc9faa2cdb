import { describe, expect, it } from 'vitest'
import {
  FilledOverrideSchema,
  fillDefaults,
  OverrideSpecSchema,
  PLAIN_SCENARIO_NAMES,
  parseSimulateText,
  SCENARIO_NAMES,
  SCENARIOS,
  TLS_SCENARIO_NAMES,
  takesLimits,
  USER_SCENARIO_NAMES,
} from '../../../src/mock/simulation/scenarios.js'

// SIMULATE's short form NAME:N reads which parameter N fills from each scenario's own declaration.
describe('parseSimulateText NAME:N', () => {
  for (const s of SCENARIOS) {
    it(`${s.name}:7 ${s.main ? `fills ${s.main}` : 'is refused (no main parameter)'}`, () => {
      const parsed = parseSimulateText(`${s.name}:${s.name === 'error' ? 502 : 7}`)
      if (s.main === undefined) {
        expect(parsed).toEqual({ ok: false, reason: `scenario "${s.name}" takes no number` })
      } else {
        expect(parsed).toEqual({
          ok: true,
          spec: { scenario: s.name, [s.main]: s.name === 'error' ? 502 : 7 },
        })
      }
    })
  }
  it('declares a main parameter for exactly the scenarios with a number to give', () => {
    expect(SCENARIOS.filter((s) => s.main).map((s) => `${s.name}:${s.main}`)).toEqual([
      'slow:delayMs',
      'error:status',
      'down:durationMs',
      'hang:maxMs',
      'flaky:windowMs',
      'tls_hang:maxMs',
    ])
  })
})

describe('the scenario name lists, derived from the declarations', () => {
  it('name every scenario of the table once, split into plain, per-user and TLS', () => {
    expect([...SCENARIO_NAMES].sort()).toEqual(SCENARIOS.map((s) => s.name).sort())
    expect(new Set(SCENARIO_NAMES).size).toBe(15)
    expect(USER_SCENARIO_NAMES).toEqual([...PLAIN_SCENARIO_NAMES, 'down', 'flaky'])
    expect(TLS_SCENARIO_NAMES).toEqual(['tls_expired', 'tls_wrong_host', 'tls_untrusted', 'tls_hang'])
  })
})

describe('the override limits, derived from the declarations', () => {
  it('count and probability go with every scenario but down and the TLS faults, written and filled', () => {
    const taking = SCENARIO_NAMES.filter(takesLimits)
    expect(SCENARIO_NAMES.filter((name) => !takesLimits(name))).toEqual(['down', ...TLS_SCENARIO_NAMES])
    for (const name of SCENARIO_NAMES) {
      const limited = { scenario: name, count: 2, probability: 0.5 }
      const filled = { ...fillDefaults({ scenario: name } as never), count: 2, probability: 0.5 }
      const expected = taking.includes(name)
      expect(OverrideSpecSchema.safeParse(limited).success, name).toBe(expected)
      expect(FilledOverrideSchema.safeParse(filled).success, name).toBe(expected)
      expect(OverrideSpecSchema.safeParse({ scenario: name }).success, name).toBe(true)
    }
  })
})
