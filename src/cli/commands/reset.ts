import { ADMIN_HELP, ADMIN_OPTIONS, withMock } from '../admin.js'
import { defineCommand } from '../command.js'
import { UsageError } from '../io.js'

export default defineCommand({
  name: 'reset',
  synopsis: 'reset',
  summary: "clear a running mock's override, sequences and request log (--users seed: its users too)",
  help: `Usage: talki-endpoint reset [--users seed] [--admin-url U]

POST /api/reset on a running mock: clears the global override (a down in progress ends), rewinds every
sequence and empties the request log.

  --users seed    also put every user back as in the mock's data/seed.json

${ADMIN_HELP}`,
  options: { ...ADMIN_OPTIONS, users: { type: 'string' } },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
    if (values.users !== undefined && values.users !== 'seed') {
      throw new UsageError(`--users takes "seed", not "${values.users}"`)
    }
    return withMock(values, io, async (mock) => {
      await mock.reset(values.users === 'seed' ? { users: 'seed' } : {})
      io.stdout.write(values.users === 'seed' ? 'reset, users back to the seed\n' : 'reset\n')
      return 0
    })
  },
})
