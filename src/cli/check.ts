import { randomBytes } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import { judgeCertificate } from './certificate.js'
import { NetworkError, request } from './http.js'
import { type CheckRow, judgeGood, type ProbeRequest, type Result, type Verdict } from './judge.js'
import { judgeLeaks, type Refusal } from './leaks.js'
import type { TlsOptions } from './options.js'
import { buildProbes, signatureOf } from './probes.js'
import { talkiBody, talkiHeaders } from './talki.js'
import { plainHttpProblem } from './url-rules.js'

// A conformance suite for any customer endpoint: each case sends one request Talki could send (or an
// attacker could) and judges the answer; a few rows judge the run as a whole (the certificate, what the
// refusals give away, a burst of concurrent requests, why signed requests fail). docs/check.md lists them.

export interface CheckReport {
  url: string
  token: string
  tokens: string[]
  ok: boolean
  passed: number
  failed: number
  warnings: number
  ms: number
  rows: CheckRow[]
  /** How a curl line reaches the endpoint: the --ca FILE, or --insecure. */
  tls: { caFile?: string; insecure?: boolean }
  timeoutMs: number
}

export interface CheckOptions {
  url: URL
  token: string
  /** More known users (`--token` repeated): the burst mixes them, to see answers cross between users. */
  otherTokens?: string[]
  secret: string
  field: string
  timeoutMs: number
  tls?: TlsOptions
  /**
   * Probes in flight at once; 1 (the default) sends them one after another, as Talki sends one request
   * per ticket, so an endpoint that serves one request at a time is judged on its answers, not on a queue.
   */
  concurrency?: number
}

/** The burst: this many requests, this many in flight, each allowed this many times the usual deadline. */
export const BURST_SIZE = 8
export const BURST_IN_FLIGHT = 4

/** Runs every case against `url`. Never throws for a network failure: that becomes a failing row. */
export async function runCheck(options: CheckOptions): Promise<CheckReport> {
  const started = performance.now()
  const { url, token, secret, field, timeoutMs } = options
  const tls = options.tls ?? {}
  const send = async (probe: ProbeRequest, deadline = timeoutMs): Promise<Result> => {
    const signature = signatureOf(probe.signature, secret)
    const headers = talkiHeaders(signature ?? '')
    if (signature === undefined) delete headers['X-Talki-Signature']
    if (probe.body === undefined) delete headers['Content-Type']
    probe.sent = headers
    try {
      const answer = await request({
        url: probe.url,
        method: probe.method,
        ...(probe.body === undefined ? {} : { body: Buffer.from(probe.body, 'utf8') }),
        headers,
        timeoutMs: deadline,
        tls,
      })
      return { answer }
    } catch (error) {
      if (error instanceof NetworkError) return { error }
      throw error
    }
  }
  const rows: CheckRow[] = []
  const done = () => report(options, rows, started)

  const goodBody = talkiBody(field, token)
  const goodRequest: ProbeRequest = {
    method: 'POST',
    url,
    body: goodBody,
    signature: { kind: 'hmac', over: goodBody },
  }

  // Judged before anything is sent: a plain-http URL to another host is not one Talki would call.
  const plain = plainHttpProblem(url)
  if (plain !== undefined) {
    rows.push({ id: 'url.https', name: 'HTTPS URL', pass: false, reason: plain, request: goodRequest })
    return done()
  }
  if (url.protocol === 'https:') {
    const certificate = await judgeCertificate(url, tls, timeoutMs)
    if (certificate !== undefined) {
      rows.push({
        id: 'tls.certificate',
        name: 'TLS certificate',
        pass: certificate.verdict === 'pass',
        ...(certificate.verdict === 'warn' ? { advisory: true } : {}),
        reason: certificate.reason,
        request: goodRequest,
      })
      if (certificate.verdict === 'fail') return done()
    }
  }

  // The good request goes alone so that its latency is the endpoint's own, not a queue's.
  const good = await send(goodRequest)
  if ('error' in good && good.error.kind !== 'timeout') {
    rows.push({
      id: 'reachable',
      name: 'endpoint reachable',
      pass: false,
      reason: good.error.message,
      request: goodRequest,
      result: good,
    })
    return done()
  }
  const { rows: goodRows, shape } = judgeGood(good, field)
  rows.push(...goodRows.map((row) => ({ ...row, request: goodRequest, result: good })))
  const profile = shape?.ok === true ? shape.profile : undefined

  const probes = buildProbes({ url, secret, field, token, profile: () => profile })
  const results = await inPool(probes, options.concurrency ?? 1, (probe) => send(probe.request))
  const answered = new Map<string, Result>()
  probes.forEach((probe, i) => {
    const result = results[i] as Result
    answered.set(probe.id, result)
    rows.push({
      id: probe.id,
      name: probe.name,
      ...probe.judge(result),
      ...facts(result),
      request: probe.request,
      result,
    })
  })

  rows.push(await burstRow(options, good, send))

  const diagnosis = await diagnose({ good, goodBody, answered, url, send })
  const refusals: Refusal[] = []
  const refused = (name: string, probe: ProbeRequest, result: Result) => {
    if ('answer' in result && (result.answer.status < 200 || result.answer.status >= 300)) {
      refusals.push({
        name,
        answer: result.answer,
        expectedSignature: signatureOf({ kind: 'hmac', over: probe.body ?? '' }, secret) ?? '',
      })
    }
  }
  refused('good request', goodRequest, good)
  for (const [i, probe] of probes.entries()) refused(probe.name, probe.request, results[i] as Result)
  if (diagnosis.probe !== undefined)
    refused(diagnosis.probe.name, diagnosis.probe.request, diagnosis.probe.result)
  const leaks = judgeLeaks(refusals, secret)
  const culprit = leaks.culprit
  const culpritRow =
    culprit === undefined
      ? undefined
      : rows.find(
          (row) => row.result !== undefined && 'answer' in row.result && row.result.answer === culprit.answer,
        )
  rows.push({
    id: 'leak.errors',
    name: 'error answers leak nothing',
    pass: leaks.pass,
    reason: leaks.reason,
    ...(culpritRow?.request === undefined
      ? {}
      : {
          request: culpritRow.request,
          result: culpritRow.result as Result,
          ...facts(culpritRow.result as Result),
        }),
  })
  rows.push({
    id: 'hmac.raw-body',
    name: 'HMAC over the raw body, before parsing',
    ...diagnosis.verdict,
    ...(diagnosis.row ?? {}),
  })
  return done()
}

type Send = (probe: ProbeRequest, deadline?: number) => Promise<Result>

/**
 * Why signed requests fail, when they do: a body parser that read the body before the HMAC (so the HMAC is
 * over nothing, or over re-serialised JSON), or a secret that differs from the one given.
 */
async function diagnose(input: {
  good: Result
  goodBody: string
  answered: Map<string, Result>
  url: URL
  send: Send
}): Promise<{
  verdict: Verdict
  row?: Pick<CheckRow, 'request' | 'result' | 'status' | 'ms'>
  probe?: { name: string; request: ProbeRequest; result: Result }
}> {
  const { good, goodBody, answered, url, send } = input
  const status = (id: string) => {
    const result = answered.get(id)
    return result !== undefined && 'answer' in result ? result.answer.status : undefined
  }
  const goodStatus = 'answer' in good ? good.answer.status : undefined
  const raw = ['raw.whitespace', 'raw.reordered', 'raw.unicode']
  const FIX =
    'read the raw bytes first (express.raw({ type: "*/*" }), request.get_data()) and verify them before any JSON parser'
  if (goodStatus === 200) {
    const refused = raw.filter((id) => status(id) === 401)
    if (refused.length > 0) {
      return {
        verdict: {
          pass: false,
          reason: `a body parser ran before the HMAC: Talki's compact body verifies but the same JSON in other bytes (${refused.join(', ')}) does not, so the HMAC is over re-serialised JSON — ${FIX}`,
        },
      }
    }
    return {
      verdict: {
        pass: true,
        reason: 'signed bodies verify whatever their bytes: the HMAC is over the raw body',
      },
    }
  }
  if (goodStatus !== 401 && goodStatus !== 403) {
    return {
      verdict: { pass: true, reason: 'nothing to diagnose: the good request was not refused as unsigned' },
    }
  }
  // Signed over zero bytes: accepted when the endpoint's HMAC ran over a body a parser had already read.
  const emptySigned: ProbeRequest = {
    method: 'POST',
    url,
    body: goodBody,
    signature: { kind: 'hmac', over: '' },
  }
  const result = await send(emptySigned)
  const probe = { name: 'signed over an empty body', request: emptySigned, result }
  const row = { request: emptySigned, result, ...facts(result) }
  if ('answer' in result && result.answer.status === 200) {
    return {
      verdict: {
        pass: false,
        reason: `a body parser read the body before the HMAC: every signed request is refused, but one signed over an empty body is accepted, so the HMAC runs over nothing — ${FIX}`,
      },
      row,
      probe,
    }
  }
  const unsigned = answered.get('sig.missing')
  const same =
    unsigned !== undefined &&
    'answer' in unsigned &&
    'answer' in good &&
    unsigned.answer.status === good.answer.status &&
    unsigned.answer.body.equals(good.answer.body)
  const cause = same
    ? 'every signed request is refused exactly as an unsigned one is'
    : `every signed request is refused (${goodStatus})`
  return {
    verdict: {
      pass: false,
      reason: `${cause}: the secret differs from the one given (--secret, TALKI_SECRET, data/.secret: compare them byte for byte, a trailing newline included), or a body parser consumed the body before the HMAC — ${FIX}`,
    },
    row: { request: goodRequest(goodBody, url), result: good, ...facts(good) },
    probe,
  }
}

function goodRequest(body: string, url: URL): ProbeRequest {
  return { method: 'POST', url, body, signature: { kind: 'hmac', over: body } }
}

/**
 * Answers belong to the token asked: known and unknown tokens interleaved, several in flight; each answer must
 * be that token's own profile (as answered one at a time) or 404. Timing is not judged: each request may wait
 * behind the others in flight.
 */
async function burstRow(options: CheckOptions, good: Result, send: Send): Promise<CheckRow> {
  const { url, field, token, timeoutMs } = options
  const base = { id: 'burst.own-answers', name: 'concurrent answers belong to the token asked' }
  const reference = new Map<string, unknown>()
  const referenceOf = (result: Result): unknown => {
    if (!('answer' in result) || result.answer.status !== 200) return undefined
    try {
      return JSON.parse(result.answer.body.toString('utf8'))
    } catch {
      return undefined
    }
  }
  const first = referenceOf(good)
  if (first === undefined) {
    return {
      ...base,
      pass: false,
      reason: 'no 200 JSON answer one at a time to compare with: fix the good request rows first',
    }
  }
  reference.set(token, first)
  for (const other of options.otherTokens ?? []) {
    if (reference.has(other)) continue
    const body = talkiBody(field, other)
    const result = await send(goodRequest(body, url))
    const answer = referenceOf(result)
    if (answer === undefined) {
      const said = 'answer' in result ? String(result.answer.status) : result.error.message
      return {
        ...base,
        pass: false,
        reason: `--token ${other} got ${said} one at a time, not a 200 JSON profile: give tokens the endpoint knows`,
        request: goodRequest(body, url),
        result,
      }
    }
    reference.set(other, answer)
  }
  const known = [...reference.keys()]
  const unknown = [0, 1].map(() => `talki-check-burst-${randomBytes(6).toString('hex')}`)
  // Unknown and known alternate, so that a request in flight is always overlapped by another token's.
  const order = Array.from({ length: BURST_SIZE }, (_, i) =>
    i % 2 === 1
      ? (known[((i - 1) / 2) % known.length] as string)
      : (unknown[(i / 2) % unknown.length] as string),
  )

  const requests = order.map((t) => goodRequest(talkiBody(field, t), url))
  const results = await inPool(requests, BURST_IN_FLIGHT, (probe) => send(probe, timeoutMs * BURST_IN_FLIGHT))
  for (const [i, result] of results.entries()) {
    const asked = order[i] as string
    const request = requests[i] as ProbeRequest
    const fail = (reason: string): CheckRow => ({
      ...base,
      pass: false,
      reason,
      request,
      result,
      ...facts(result),
      burst: requests,
    })
    if ('error' in result)
      return fail(
        `in a burst of ${BURST_SIZE} (${BURST_IN_FLIGHT} in flight), "${asked}" got no answer: ${result.error.message} — serve concurrent requests (or queue them) without dropping any`,
      )
    const { status } = result.answer
    if (status === 404) continue
    const answer = referenceOf(result)
    const own = reference.get(asked)
    if (status === 200 && own !== undefined && isDeepStrictEqual(answer, own)) continue
    if (status === 200) {
      const whose = known.find((k) => k !== asked && isDeepStrictEqual(answer, reference.get(k)))
      const got =
        whose === undefined
          ? own === undefined
            ? 'a profile'
            : 'another profile'
          : `the profile of "${whose}"`
      return fail(
        `in a burst of ${BURST_SIZE} (${BURST_IN_FLIGHT} in flight), "${asked}" was answered ${got}: answers cross between users — keep each request's token and user in local variables, never in state shared across an await`,
      )
    }
    return fail(
      `in a burst of ${BURST_SIZE} (${BURST_IN_FLIGHT} in flight), "${asked}" got ${status}: each answer must be that token's profile or 404, under concurrency too`,
    )
  }
  return {
    ...base,
    pass: true,
    reason: `${BURST_SIZE} requests, ${BURST_IN_FLIGHT} in flight (${known.length} known, ${unknown.length} unknown tokens): each got its own profile or 404`,
  }
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
  const tls = options.tls ?? {}
  return {
    url: options.url.href,
    token: options.token,
    tokens: [options.token, ...(options.otherTokens ?? [])],
    ok: failed === 0,
    passed: rows.filter((row) => row.pass).length,
    failed,
    warnings,
    ms: Math.round(performance.now() - started),
    rows,
    tls: {
      ...(tls.caFile === undefined ? {} : { caFile: tls.caFile }),
      ...(tls.insecure ? { insecure: true } : {}),
    },
    timeoutMs: options.timeoutMs,
  }
}
