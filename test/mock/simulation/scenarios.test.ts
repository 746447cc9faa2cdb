import { describe, expect, it } from 'vitest'
import { parseSimulateText, SCENARIOS } from '../../../src/mock/simulation/scenarios.js'

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
