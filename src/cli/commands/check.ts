import { writeFile } from 'node:fs/promises'
import { defineCommand } from '../command.js'
import { UsageError } from '../io.js'
import { COMMON_HELP, COMMON_OPTIONS, commonValues, integer } from '../options.js'

export default defineCommand({
  name: 'check',
  synopsis: 'check --token KNOWN',
  summary: 'conformance suite: run it against your endpoint before Talki calls it',
  help: `Usage: talki-endpoint check --token KNOWN [--token KNOWN2 …] [--url U] [--secret S] [--field NAME]
                            [--timeout MS] [--ca FILE] [--insecure] [--json] [--junit FILE]
                            [--concurrency N]

Runs a conformance suite against any endpoint (yours): the good request (200, JSON, valid profile,
within 5 s), bad signatures (missing, empty, short, long, non-hex, non-ASCII, "sha256=" prefix,
wrong secret, another body's) → 401 and never 5xx, bodies signed as sent (odd whitespace, extra
reordered keys, unicode) → 200, unknown users (a random one, "__proto__", "constructor") → 404,
non-JSON body → 4xx; GET, HEAD, PUT, DELETE and unsigned POST with the token in the query or the
body never answer the profile; no error answer leaks the expected signature, the secret, a stack
trace or a file path; a burst of concurrent requests gets each token's own answer; over https://
the certificate is judged, and an http:// URL to a host that is not this machine fails (Talki
calls HTTPS only). A 200 without any of name, email, plan, fields fails. Cache-Control: no-store
is advised (a warning, not a failure). Each row says what to fix; each FAIL row is followed by a
curl line that repeats it (signed with $TALKI_SECRET inside the command). See docs/check.md.

  --token KNOWN   a user token the endpoint knows (required; repeat it to add users to the burst)
  --json          print one JSON report (each row's request and answer) instead of the table
  --junit FILE    also write the report as JUnit XML to FILE (one test case per row), for CI
  --concurrency N probes in flight at once (default 1: one at a time, as Talki sends them; raise it to stress)

Exit 0 when every case passes, 1 when one fails (or the endpoint cannot be reached), 2 on a usage error
(including a --junit FILE that cannot be written).

${COMMON_HELP}`,
  options: {
    ...COMMON_OPTIONS,
    token: { type: 'string', multiple: true },
    json: { type: 'boolean' },
    junit: { type: 'string' },
    concurrency: { type: 'string' },
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
    const tokens = values.token ?? []
    if (tokens.length === 0 || tokens.includes('')) {
      throw new UsageError('--token KNOWN is required: a user token the endpoint knows')
    }
    if (values.junit === '') throw new UsageError('--junit needs a FILE name')
    const concurrency = integer('--concurrency', values.concurrency, 1, 1, 100)
    const common = await commonValues(values, io.env)
    const [{ runCheck }, { formatJson, formatTable }, { useColor }] = await Promise.all([
      import('../check.js'),
      import('../check-output.js'),
      import('../sidebar.js'),
    ])
    const [token, ...others] = tokens as [string, ...string[]]
    const report = await runCheck({ ...common, token, otherTokens: others, concurrency })
    io.stdout.write(
      values.json ? formatJson(report) : formatTable(report, { color: useColor(io.env, io.stdout) }),
    )
    if (values.junit !== undefined) {
      const { formatJunit } = await import('../junit.js')
      try {
        await writeFile(values.junit, formatJunit(report))
      } catch (error) {
        throw new UsageError(`cannot write --junit ${values.junit}: ${(error as Error).message}`)
      }
    }
    return report.ok ? 0 : 1
  },
})
