import { ADMIN_HELP, ADMIN_OPTIONS, withMock } from '../admin.js'
import { defineCommand } from '../command.js'
import { UsageError } from '../io.js'

export default defineCommand({
  name: 'simulate',
  synopsis: 'simulate NAME',
  summary: 'switch a scenario on in a running mock, for everyone or one user (--token)',
  help: `Usage: talki-endpoint simulate NAME [--status N] [--ms N] [--count N] [--probability P] [--token T]
                               [--admin-url U]

Switches scenario NAME on in a running mock through its admin API: the global override (every user,
unknown ones included), or with --token T that user's own scenario (saved in the store, as
PATCH /api/users/T {"simulate":…}). NAME is one of ok, slow, not_found, unauthorized, error, down,
reset, hang, malformed, wrong_shape, flaky (and the TLS faults, with TLS on).

  --status N        error's status: 500, 502, 503 or 504
  --ms N            the scenario's main time, in ms: slow's delayMs, down's durationMs, hang's maxMs,
                    flaky's windowMs
  --count N         only the next N requests (global only)
  --probability P   each request with chance P, 0 to 1 (global only)
  --token T         this user's own scenario instead of the global override

  talki-endpoint simulate slow --ms 6000
  talki-endpoint simulate error --status 503 --count 1
  talki-endpoint simulate not_found --token usr_abc123

${ADMIN_HELP}`,
  options: {
    ...ADMIN_OPTIONS,
    status: { type: 'string' },
    ms: { type: 'string' },
    count: { type: 'string' },
    probability: { type: 'string' },
    token: { type: 'string' },
  },
  async run({ values, positionals }, io) {
    const name = positionals[0]
    if (name === undefined || positionals.length > 1) throw new UsageError('simulate takes exactly one NAME')
    if (values.status !== undefined && values.ms !== undefined) {
      throw new UsageError('give --status (error) or --ms, not both')
    }
    const main = values.status ?? values.ms
    if (main !== undefined && !/^\d+$/.test(main)) {
      throw new UsageError(
        `--${values.status === undefined ? 'ms' : 'status'} must be a whole number, not "${main}"`,
      )
    }
    const limits: { count?: number; probability?: number } = {}
    if (values.count !== undefined) {
      if (!/^[1-9]\d*$/.test(values.count))
        throw new UsageError(`--count must be 1 or more, not "${values.count}"`)
      limits.count = Number(values.count)
    }
    if (values.probability !== undefined) {
      const p = Number(values.probability)
      if (!/^(0|1|0?\.\d+|1\.0*)$/.test(values.probability) || p < 0 || p > 1) {
        throw new UsageError(`--probability must be a number from 0 to 1, not "${values.probability}"`)
      }
      limits.probability = p
    }
    if (values.token !== undefined && (limits.count !== undefined || limits.probability !== undefined)) {
      throw new UsageError(
        '--count and --probability apply to the global override, not to one user (--token)',
      )
    }
    if (values.token === '') throw new UsageError('--token must not be empty')
    // SIMULATE's short form NAME:N knows which parameter N fills; the mock checks the rest (400 names it).
    const { parseSimulateText, SCENARIO_NAMES } = await import('../../mock/simulation/scenarios.js')
    if (!(SCENARIO_NAMES as readonly string[]).includes(name)) {
      throw new UsageError(`unknown scenario "${name}": one of ${SCENARIO_NAMES.join(', ')}`)
    }
    if (values.status !== undefined && name !== 'error') throw new UsageError('--status goes with error only')
    if (values.ms !== undefined && name === 'error') throw new UsageError('error takes --status, not --ms')
    const parsed = parseSimulateText(main === undefined ? name : `${name}:${main}`)
    if (!parsed.ok)
      throw new UsageError(`${main === undefined ? name : `${name} with ${main}`} ${parsed.reason}`)
    const spec = typeof parsed.spec === 'string' ? { scenario: parsed.spec } : parsed.spec
    if (!('scenario' in spec)) throw new UsageError('simulate takes a scenario NAME, not a sequence')
    const { scenario, ...params } = spec
    return withMock(values, io, async (mock) => {
      const token = values.token
      await mock.simulate(scenario, { ...params, ...limits } as never, token === undefined ? {} : { token })
      const shown = JSON.stringify({ scenario, ...params, ...limits })
      io.stdout.write(`${token === undefined ? 'global override' : `${token}'s own scenario`}: ${shown}\n`)
      return 0
    })
  },
})
