import { randomBytes } from 'node:crypto'
import { sign } from '../template/signature.js'
import { NetworkError, post } from './http.js'
import { type CheckRow, judgeGood, type Result, type Verdict } from './judge.js'
import { talkiBody, talkiHeaders } from './talki.js'

// A conformance suite for any customer endpoint: each case sends one request Talki could send (or an
// attacker could) and judges the answer. Each row's reason is one line that says what to fix.

export interface CheckReport {
  url: string
  token: string
  ok: boolean
  passed: number
  failed: number
  warnings: number
  ms: number
  rows: CheckRow[]
}

export interface CheckOptions {
  url: URL
  token: string
  secret: string
  field: string
  timeoutMs: number
  /**
   * Probes in flight at once; 1 (the default) sends them one after another, as Talki sends one request
   * per ticket, so an endpoint that serves one request at a time is judged on its answers, not on a queue.
   */
  concurrency?: number
}

interface Probe {
  name: string
  body: string
  /** The X-Talki-Signature value; `undefined` sends no header. */
  signature: string | undefined
  judge: (result: Result) => Verdict
}

const LENGTH_FIX =
  "check the header is exactly 64 hex digits before comparing (Node's timingSafeEqual throws on unequal lengths, Python's compare_digest on non-ASCII)"

/** Runs every case against `url`. Never throws for a network failure: that becomes a failing row. */
export async function runCheck(options: CheckOptions): Promise<CheckReport> {
  const started = performance.now()
  const { url, token, secret, field, timeoutMs } = options
  const send = async (body: string, signature: string | undefined): Promise<Result> => {
    const headers = talkiHeaders(signature ?? '')
    if (signature === undefined) delete headers['X-Talki-Signature']
    try {
      return { answer: await post({ url, body: Buffer.from(body, 'utf8'), headers, timeoutMs }) }
    } catch (error) {
      if (error instanceof NetworkError) return { error }
      throw error
    }
  }

  // The good request goes alone so that its latency is the endpoint's own, not a queue's.
  const goodBody = talkiBody(field, token)
  const good = await send(goodBody, sign(secret, goodBody))
  const rows: CheckRow[] = []
  if ('error' in good && good.error.kind !== 'timeout') {
    rows.push({ name: 'endpoint reachable', pass: false, reason: good.error.message })
    return report(options, rows, started)
  }
  rows.push(...judgeGood(good, field))

  const probes = buildProbes(secret, field, token, goodBody)
  const results = await inPool(probes, options.concurrency ?? 1, (probe) => send(probe.body, probe.signature))
  probes.forEach((probe, i) => {
    const result = results[i] as Result
    rows.push({ name: probe.name, ...probe.judge(result), ...facts(result) })
  })
  return report(options, rows, started)
}

/** `work` for every item with at most `limit` in flight; the results in the items' order. */
async function inPool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await work(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  return results
}

function facts(result: Result): { status?: number; ms: number } {
  return 'answer' in result ? { status: result.answer.status, ms: result.answer.ms } : { ms: result.error.ms }
}

function report(options: CheckOptions, rows: CheckRow[], started: number): CheckReport {
  const failed = rows.filter((row) => !row.pass && !row.advisory).length
  const warnings = rows.filter((row) => !row.pass && row.advisory).length
  return {
    url: options.url.href,
    token: options.token,
    ok: failed === 0,
    passed: rows.filter((row) => row.pass).length,
    failed,
    warnings,
    ms: Math.round(performance.now() - started),
    rows,
  }
}

function noAnswer(result: { error: NetworkError }): Verdict {
  return { pass: false, reason: result.error.message }
}

/** A bad signature must get 401: anything 2xx leaks a profile, anything 5xx is a crash an attacker can trigger. */
function expect401(what: string, fix: string): (result: Result) => Verdict {
  return (result) => {
    if ('error' in result) return noAnswer(result)
    const { status } = result.answer
    if (status === 401) return { pass: true, reason: '401' }
    if (status >= 200 && status < 300) {
      return { pass: false, reason: `${status} — accepted ${what}: verify the signature before answering` }
    }
    if (status >= 500) return { pass: false, reason: `${status} — crashed on ${what}: ${fix}` }
    return {
      pass: false,
      reason: `got ${status}, expected 401 for ${what}: answer 401 whenever the signature does not verify`,
    }
  }
}

/** A body signed as sent must verify, whatever its whitespace, key order or escapes. */
function expectVerified(what: string): (result: Result) => Verdict {
  return (result) => {
    if ('error' in result) return noAnswer(result)
    const { status } = result.answer
    if (status === 200) return { pass: true, reason: '200: the raw bytes were verified' }
    if (status === 401) {
      return {
        pass: false,
        reason: `401 — ${what} signed as sent was refused: compute the HMAC over the raw bytes, not re-serialised JSON`,
      }
    }
    if (status === 400)
      return { pass: false, reason: `400 — ${what} was refused: ignore body keys you do not know` }
    return {
      pass: false,
      reason: `got ${status}, expected 200 for ${what} with a good signature: verify the raw bytes, then answer the profile`,
    }
  }
}

function expect4xx(what: string, fix: string, preferred?: number): (result: Result) => Verdict {
  return (result) => {
    if ('error' in result) return noAnswer(result)
    const { status } = result.answer
    if (preferred !== undefined && status === preferred) return { pass: true, reason: String(status) }
    if (preferred === undefined && status >= 400 && status < 500)
      return { pass: true, reason: String(status) }
    if (status >= 500) return { pass: false, reason: `${status} — crashed on ${what}: ${fix}` }
    return {
      pass: false,
      reason: `got ${status}, expected ${preferred ?? '4xx'} for ${what}: ${fix}`,
    }
  }
}

/** A token that names an inherited property, not a user: 404, never a profile read from a prototype. */
function expectUnknown(name: string): (result: Result) => Verdict {
  const fix = `look users up with a Map or Object.hasOwn, not plain-object indexing (users["${name}"] is inherited)`
  return (result) => {
    if ('error' in result) return noAnswer(result)
    const { status } = result.answer
    if (status === 404) return { pass: true, reason: '404' }
    if (status >= 200 && status < 300)
      return { pass: false, reason: `${status} — "${name}" was found as a user: ${fix}` }
    if (status >= 500) {
      return {
        pass: false,
        reason: `${status} — crashed on the unknown user "${name}": answer 404 when the lookup finds nobody, and ${fix}`,
      }
    }
    return {
      pass: false,
      reason: `got ${status}, expected 404 for the unknown user "${name}": answer 404 for a token no user has`,
    }
  }
}

function buildProbes(secret: string, field: string, token: string, goodBody: string): Probe[] {
  const good = sign(secret, goodBody)
  const key = JSON.stringify(field)
  const value = JSON.stringify(token)
  const whitespace = `{\n  ${key} :\t${value}\n}\n`
  const reordered = `{"source":"talki-endpoint check",${key}:${value},"attempt":1}`
  // Raw UTF-8 and \u escapes: re-serialising changes one or the other, so the HMAC no longer matches.
  const unicode = `{${key}:${value},"note":"Zoë ✓ 日本語 🙂","escaped":"\\u00e9\\u2713"}`
  const unknownBody = talkiBody(field, `talki-check-unknown-${randomBytes(6).toString('hex')}`)
  const otherBody = talkiBody(field, `${token}-other`)
  const wrongSecret = randomBytes(32).toString('hex')
  const notJson = 'this is not JSON'

  return [
    {
      name: 'missing signature → 401',
      body: goodBody,
      signature: undefined,
      judge: expect401('a request without X-Talki-Signature', 'treat an absent header as a bad signature'),
    },
    {
      name: 'empty signature → 401',
      body: goodBody,
      signature: '',
      judge: expect401('an empty signature', 'treat an empty header as a bad signature'),
    },
    {
      name: 'short signature → 401',
      body: goodBody,
      signature: good.slice(0, 32),
      judge: expect401('a 32-digit signature', LENGTH_FIX),
    },
    {
      name: 'long signature → 401',
      body: goodBody,
      signature: `${good}00`,
      judge: expect401('a 66-digit signature', LENGTH_FIX),
    },
    {
      name: 'non-hex signature → 401',
      body: goodBody,
      signature: 'z'.repeat(64),
      judge: expect401('a non-hex signature', LENGTH_FIX),
    },
    {
      name: 'non-ASCII signature → 401',
      body: goodBody,
      // Latin-1 bytes: Buffer.from() makes 128 bytes of them, and Python's compare_digest raises on them.
      signature: '\u00e9'.repeat(64),
      judge: expect401('a non-ASCII signature', LENGTH_FIX),
    },
    {
      name: '"sha256=" prefixed signature → 401',
      body: goodBody,
      signature: `sha256=${good}`,
      judge: expect401('a "sha256="-prefixed signature', LENGTH_FIX),
    },
    {
      name: 'wrong-secret signature → 401',
      body: goodBody,
      signature: sign(wrongSecret, goodBody),
      judge: expect401('a signature made with another secret', 'compare against the HMAC of the raw body'),
    },
    {
      name: 'other-body signature → 401',
      body: goodBody,
      signature: sign(secret, otherBody),
      judge: expect401("another body's signature", 'compare against the HMAC of the raw body'),
    },
    {
      name: 'odd whitespace, signed as sent → 200',
      body: whitespace,
      signature: sign(secret, whitespace),
      judge: expectVerified('a body with odd whitespace'),
    },
    {
      name: 'reordered keys, signed as sent → 200',
      body: reordered,
      signature: sign(secret, reordered),
      judge: expectVerified('a body with extra, reordered keys'),
    },
    {
      name: 'unicode body, signed as sent → 200',
      body: unicode,
      signature: sign(secret, unicode),
      judge: expectVerified('a body with unicode and \\u escapes'),
    },
    {
      name: 'unknown user → 404',
      body: unknownBody,
      signature: sign(secret, unknownBody),
      judge: expect4xx('an unknown user', 'answer 404 when the lookup finds nobody', 404),
    },
    // A users table kept in a plain object answers these from Object.prototype: a 200, or a crash.
    ...['__proto__', 'constructor'].map((name) => {
      const body = talkiBody(field, name)
      return {
        name: `unknown user "${name}" → 404`,
        body,
        signature: sign(secret, body),
        judge: expectUnknown(name),
      }
    }),
    {
      name: 'non-JSON body, good signature → 4xx',
      body: notJson,
      signature: sign(secret, notJson),
      judge: expect4xx('a body that is not JSON', 'parse inside a try and answer 400'),
    },
    {
      name: `body without "${field}" → 4xx`,
      body: '{}',
      signature: sign(secret, '{}'),
      judge: expect4xx(`a body without "${field}"`, 'validate the body and answer 400'),
    },
  ]
}

const COLOURS = { PASS: '\x1b[32m', FAIL: '\x1b[31m', WARN: '\x1b[33m' } as const

/** The report as a table for people: one row per case, the reason beside it, a summary line. */
export function formatTable(report: CheckReport, options: { color: boolean }): string {
  const paint = (label: keyof typeof COLOURS) => (options.color ? `${COLOURS[label]}${label}\x1b[0m` : label)
  const nameWidth = Math.max(...report.rows.map((row) => [...row.name].length))
  const lines = [`talki-endpoint check ${report.url} (known user ${report.token})`, '']
  for (const row of report.rows) {
    const label = row.pass ? 'PASS' : row.advisory ? 'WARN' : 'FAIL'
    const pad = ' '.repeat(nameWidth - [...row.name].length)
    lines.push(`${paint(label)}  ${row.name}${pad}  ${row.reason}`)
  }
  lines.push('')
  const summary = `${report.passed} passed, ${report.failed} failed, ${report.warnings} warning${report.warnings === 1 ? '' : 's'} in ${report.ms} ms`
  lines.push(
    report.ok ? `${summary} — ready for Talki` : `${summary} — not ready for Talki: fix the FAIL rows`,
  )
  return `${lines.join('\n')}\n`
}

export function formatJson(report: CheckReport): string {
  return `${JSON.stringify(report, null, 2)}\n`
}
