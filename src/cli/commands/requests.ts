import type { RequestLogEntry } from '../../testing/index.js'
import { ADMIN_HELP, ADMIN_OPTIONS, withMock } from '../admin.js'
import { defineCommand } from '../command.js'
import { type Output, UsageError } from '../io.js'

export default defineCommand({
  name: 'requests',
  synopsis: 'requests',
  summary: "print a running mock's request log (--follow: as requests complete)",
  help: `Usage: talki-endpoint requests [--token T] [--json] [--follow] [--admin-url U]

Prints the request log of a running mock (GET /api/requests), oldest first, one request a line: the time it
arrived, method and path, token, status (- when no answer was sent), the scenario applied, latency, and
how long the caller waited when it gave up (Talki's 5 s timeout shows as about 5000) or the time since
the previous request for the token (Talki's retry shows as about 3000). An entry is written when the
exchange ends: the answer sent, the connection cut by a scenario, or the caller gone.

  --token T       only the requests for this user token
  --json          one JSON entry a line, as the admin API gives it
  --follow        then keep printing each request as it completes (GET /api/requests/stream) until
                  Ctrl-C; exit 1 if the mock goes away

${ADMIN_HELP}`,
  options: {
    ...ADMIN_OPTIONS,
    token: { type: 'string' },
    json: { type: 'boolean' },
    follow: { type: 'boolean' },
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
    const token = values.token
    const print = (entry: RequestLogEntry) => {
      if (token === undefined || entry.token === token) writeEntry(io.stdout, entry, values.json === true)
    }
    return withMock(values, io, async (mock, admin) => {
      if (values.follow !== true) {
        for (const entry of (await mock.requests()).reverse()) print(entry)
        return 0
      }
      // The stream opens first and what it brings waits until the log so far is printed: nothing is lost in
      // between, and an entry in both is printed once.
      const stop = new AbortController()
      const onSignal = () => stop.abort()
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      const seen = new Set<number>()
      let pending: RequestLogEntry[] | undefined = []
      const show = (entry: RequestLogEntry) => {
        if (seen.has(entry.id)) return
        seen.add(entry.id)
        print(entry)
      }
      let opened: () => void = () => {}
      const connected = new Promise<void>((resolve) => {
        opened = resolve
      })
      const streamed = admin.stream(
        (entry) => (pending ? pending.push(entry as RequestLogEntry) : show(entry as RequestLogEntry)),
        stop.signal,
        () => opened(),
      )
      try {
        await Promise.race([connected, streamed])
        for (const entry of (await mock.requests()).reverse()) show(entry)
        for (const entry of pending) show(entry)
        pending = undefined
        await streamed
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
      }
      if (stop.signal.aborted) return 0
      io.stderr.write('talki-endpoint: the mock closed the request-log stream (stopped?)\n')
      return 1
    })
  },
})

function writeEntry(out: Output, entry: RequestLogEntry, json: boolean): void {
  if (json) {
    out.write(`${JSON.stringify(entry)}\n`)
    return
  }
  const waited =
    entry.callerGaveUpMs !== null
      ? `caller gave up after ${Math.round(entry.callerGaveUpMs)} ms`
      : entry.sincePreviousMs !== null
        ? `${Math.round(entry.sincePreviousMs)} ms after the previous`
        : ''
  const columns = [
    entry.time.slice(11, 23),
    `${entry.method} ${entry.path}`,
    entry.token ?? '-',
    entry.status === null ? '-' : String(entry.status),
    entry.scenario ?? (entry.verdict === 'valid' ? '-' : (entry.verdict ?? '-')),
    `${Math.round(entry.latencyMs)} ms`,
    waited,
  ]
  out.write(`${columns.join('  ').trimEnd()}\n`)
}
