import type { CheckReport } from './check.js'
import { curlBurst, curlLine } from './curl.js'
import type { CheckRow, Result } from './judge.js'

// The report for people (a table, a curl line under each FAIL row) and for machines (one JSON document).

const COLOURS = { PASS: '\x1b[32m', FAIL: '\x1b[31m', WARN: '\x1b[33m' } as const

/** The bytes of an answer's body the JSON report keeps. */
export const JSON_BODY_BYTES = 500

type Label = keyof typeof COLOURS

function verdictOf(row: CheckRow): Label {
  return row.pass ? 'PASS' : row.advisory ? 'WARN' : 'FAIL'
}

/** The line that repeats a failed row by hand, or `undefined` for a row that sent nothing. */
export function reproduction(row: CheckRow, report: CheckReport): string | undefined {
  const target = { ...report.tls, timeoutMs: report.timeoutMs }
  if (row.burst !== undefined) return curlBurst(row.burst, target)
  return row.request === undefined ? undefined : curlLine(row.request, target)
}

/** The report as a table for people: one row per case, the reason beside it, a summary line. */
export function formatTable(report: CheckReport, options: { color: boolean }): string {
  const paint = (label: Label) => (options.color ? `${COLOURS[label]}${label}\x1b[0m` : label)
  const nameWidth = Math.max(...report.rows.map((row) => [...row.name].length))
  const lines = [`talki-endpoint check ${report.url} (known user ${report.tokens.join(', ')})`, '']
  for (const row of report.rows) {
    const label = verdictOf(row)
    const pad = ' '.repeat(nameWidth - [...row.name].length)
    lines.push(`${paint(label)}  ${row.name}${pad}  ${row.reason}`)
    const curl = label === 'FAIL' ? reproduction(row, report) : undefined
    if (curl !== undefined) lines.push(`      repeat: ${curl}`)
  }
  lines.push('')
  if (!report.ok)
    lines.push('Each "repeat:" line signs with $TALKI_SECRET: export it first, then paste the line.')
  const summary = `${report.passed} passed, ${report.failed} failed, ${report.warnings} warning${report.warnings === 1 ? '' : 's'} in ${report.ms} ms`
  lines.push(
    report.ok ? `${summary} — ready for Talki` : `${summary} — not ready for Talki: fix the FAIL rows`,
  )
  return `${lines.join('\n')}\n`
}

function answerOf(result: Result | undefined) {
  if (result === undefined) return undefined
  if ('error' in result) return { error: result.error.message, kind: result.error.kind, ms: result.error.ms }
  const { status, headers, body, ms } = result.answer
  return { status, headers, body: body.subarray(0, JSON_BODY_BYTES).toString('utf8'), ms }
}

/**
 * One JSON document: each row's id, verdict, reason, the request sent (its signature as sent: a signature
 * is not the secret) and the answer (status, headers, the first 500 bytes of the body, milliseconds).
 */
export function formatJson(report: CheckReport): string {
  const rows = report.rows.map((row) => {
    const { request, result, burst: _burst, ...rest } = row
    const headers = request?.sent
    const curl = verdictOf(row) === 'FAIL' ? reproduction(row, report) : undefined
    return {
      ...rest,
      verdict: verdictOf(row),
      ...(request === undefined
        ? {}
        : {
            request: {
              method: request.method,
              url: request.url.href,
              ...(headers === undefined ? {} : { headers }),
              body: request.body ?? null,
            },
          }),
      ...(result === undefined ? {} : { answer: answerOf(result) }),
      ...(curl === undefined ? {} : { curl }),
    }
  })
  const { rows: _rows, ...head } = report
  return `${JSON.stringify({ ...head, probes: rows.length, rows }, null, 2)}\n`
}
