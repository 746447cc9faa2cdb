import { ADMIN_HELP, ADMIN_OPTIONS, withMock } from '../admin.js'
import { defineCommand } from '../command.js'
import { UsageError } from '../io.js'

export default defineCommand({
  name: 'clear',
  synopsis: 'clear',
  summary: "end a running mock's global override, or one user's own scenario (--token)",
  help: `Usage: talki-endpoint clear [--token T] [--admin-url U]

Ends the global override of a running mock (DELETE /api/simulation: a down in progress ends and the port
reopens), or with --token T removes that user's own scenario from the store. SIMULATE, set at start,
stays.

  --token T       remove this user's own scenario instead

${ADMIN_HELP}`,
  options: { ...ADMIN_OPTIONS, token: { type: 'string' } },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
    if (values.token === '') throw new UsageError('--token must not be empty')
    return withMock(values, io, async (mock) => {
      const token = values.token
      await mock.clear(token === undefined ? {} : { token })
      io.stdout.write(token === undefined ? 'global override cleared\n' : `${token}'s own scenario cleared\n`)
      return 0
    })
  },
})
