import { DEFAULT_TOKEN_FIELD } from '../../contract/defaults.js'
import { defineCommand } from '../command.js'
import { UsageError } from '../io.js'
import { COMMON_HELP, COMMON_OPTIONS, commonValues, talkiTimingOf } from '../options.js'

export default defineCommand({
  name: 'send',
  synopsis: 'send TOKEN',
  summary: `POST {"${DEFAULT_TOKEN_FIELD}":TOKEN} as Talki does and show what Talki would show`,
  help: `Usage: talki-endpoint send TOKEN [--url U] [--secret S] [--field NAME] [--timeout MS]
                           [--ca FILE] [--insecure]

Signs {"${DEFAULT_TOKEN_FIELD}":"TOKEN"} (the key is --field's) and POSTs it exactly as Talki does: Content-Type application/json,
X-Talki-Signature, a 5 s deadline, one retry 3 s after a timeout, connection error or 5xx.
With TALKI_TIMING=demo (as npm run demo prints) the deadline is 1.5 s and the retry comes after 1 s.
Prints each attempt, checks the answer against the contract and draws the ticket sidebar
(no colours when NO_COLOR is set or output is not a terminal). A TLS failure (untrusted, expired
or misnamed certificate) is named as one and not retried: waiting does not fix a certificate.
A plain http:// URL to a host that is not this machine fails without sending: Talki calls
HTTPS URLs only.

Exit 0 when Talki would show the profile, 1 when it would show nothing or skip (or check would fail
the answer), 2 on a usage error.

${COMMON_HELP}`,
  options: COMMON_OPTIONS,
  async run({ values, positionals }, io) {
    const token = positionals[0]
    if (token === undefined || positionals.length > 1) throw new UsageError('send takes exactly one TOKEN')
    if (token === '') throw new UsageError('TOKEN must not be empty')
    const timing = talkiTimingOf(io.env)
    const common = await commonValues(values, io.env)
    // --timeout, when given, wins over the timing's deadline; the retry delay is the timing's.
    const timeoutMs = values.timeout === undefined ? timing.timeoutMs : common.timeoutMs
    const [{ runSend }, { useColor }] = await Promise.all([import('../send.js'), import('../sidebar.js')])
    const color = useColor(io.env, io.stdout)
    const result = await runSend({ ...common, timeoutMs, timing, token, out: io.stdout, color })
    return result.exitCode
  },
})
