import type { Socket } from 'node:net'
import express, { type NextFunction, type Request, type Response } from 'express'
import helmet from 'helmet'
import getRawBody from 'raw-body'
import type { Findings, RequestLog } from './admin/request-log.js'
import { findSignatureClues } from './admin/signature-findings.js'
import { createCustomerRoute, type Outcome } from './customer-route.js'
import type { Logger } from './log.js'
import { type ChosenScenario, chooseScenario, type SimulationState } from './simulation/choose.js'
import type { Downtime } from './simulation/downtime.js'
import { CUT_BY_SERVER, performScenario, sendOutcome } from './simulation/perform.js'
import type { UserStore } from './store.js'

export interface EndpointDeps {
  endpointPath: string
  tokenField: string
  secrets: readonly string[]
  bodyLimit: number
  lookupTimeoutMs: number
  store: Pick<UserStore, 'find'>
  logger: Logger
  /** QA's failure simulation; an integrator's copy leaves these three out. */
  simulation?: SimulationState
  downtime?: Pick<Downtime, 'start'>
  requestLog?: RequestLog
  hanging?: Set<Socket>
  random?: () => number
}

/**
 * helmet's headers plus `Cache-Control: no-store` (answers carry personal data), computed once from
 * helmet itself: setting them in one call is cheaper than running its middleware on every request.
 */
function securityHeaders(): Map<string, string> {
  const headers = new Map<string, string>()
  const recorder = {
    setHeader: (name: string, value: string) => headers.set(name, value),
    removeHeader: (name: string) => headers.delete(name),
  }
  helmet()({} as Request, recorder as unknown as Response, () => {})
  headers.set('Cache-Control', 'no-store')
  return headers
}

const TOO_LARGE: Pick<Outcome, 'status' | 'body' | 'headers'> = {
  status: 413,
  body: { error: 'payload_too_large' },
  headers: { Connection: 'close' },
}
const UNSUPPORTED_ENCODING = { status: 415, body: { error: 'unsupported_encoding' } }

export function createEndpointApp(deps: EndpointDeps) {
  const answerCustomerRequest = createCustomerRoute(deps)
  const headers = securityHeaders()
  const hanging = deps.hanging ?? new Set<Socket>()
  const random = deps.random ?? Math.random
  const logRequests = deps.logger.isLevelEnabled('info')

  const app = express()
  app.disable('x-powered-by')
  app.set('etag', false)
  // The path is matched exactly, as configured: no case folding, no trailing slash.
  app.set('case sensitive routing', true)
  app.set('strict routing', true)
  app.use((_req, res, next) => {
    res.setHeaders(headers)
    next()
  })

  app.post(deps.endpointPath, async (req, res) => {
    const startedAt = performance.now()
    const arrivedAt = Date.now()
    let outcome: Outcome | undefined
    let scenario: ChosenScenario | null = null
    let findings: Findings | null = null
    let peekedToken: string | null = null

    res.once('close', () => {
      const endedAt = performance.now()
      const finished = res.writableFinished
      const gaveUp = !finished && !(res as { [CUT_BY_SERVER]?: boolean })[CUT_BY_SERVER]
      const latencyMs = Math.round((endedAt - startedAt) * 10) / 10
      const entry = {
        token: outcome?.token ?? peekedToken ?? null,
        verdict: outcome?.verdict ?? null,
        findings,
        scenario: scenario?.scenario ?? null,
        status: finished ? res.statusCode : null,
        latencyMs,
        callerGaveUpMs: gaveUp ? Math.round(endedAt - startedAt) : null,
      }
      deps.requestLog?.record({ ...entry, startedAt, endedAt, arrivedAt })
      if (logRequests) {
        deps.logger.info(
          { token: entry.token, status: entry.status, latencyMs, scenario: entry.scenario },
          'request',
        )
      }
    })

    // Size: read at most BODY_LIMIT bytes; a larger body is refused and the connection closed.
    let rawBody: Buffer
    try {
      rawBody = await getRawBody(req, { limit: deps.bodyLimit, length: req.headers['content-length'] })
    } catch (error) {
      const type = (error as { type?: string }).type
      if (type === 'entity.too.large') return sendOutcome(res, TOO_LARGE)
      if (type === 'request.aborted') return // the caller left; the close handler logs it
      return sendOutcome(res, {
        status: 400,
        body: { error: 'invalid_body', detail: 'body length does not match' },
      })
    }
    // Encoding: the signature covers the bytes as sent; nothing is inflated.
    const encoding = req.headers['content-encoding']
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      return sendOutcome(res, UNSUPPORTED_ENCODING)
    }

    outcome = await answerCustomerRequest({ rawBody, signature: req.headers['x-talki-signature'] })

    if (deps.requestLog && outcome.token === undefined) {
      peekedToken = peekToken(rawBody, deps.tokenField)
      if (outcome.verdict === 'invalid_signature') {
        findings = findSignatureClues(rawBody, req.headers['x-talki-signature'] as string, deps.secrets)
      }
    }
    // Scenarios apply only to requests that passed the signature and body steps.
    if (deps.simulation && outcome.token !== undefined && outcome.status !== 503) {
      const decision = chooseScenario(
        { token: outcome.token, user: outcome.user, now: Date.now(), random },
        deps.simulation,
      )
      scenario = decision?.scenario ?? null
    }
    if (scenario === null) return sendOutcome(res, outcome)
    performScenario(scenario, outcome, res, {
      downtime: deps.downtime ?? { start: () => {} },
      hanging,
      random,
    })
  })

  app.all(deps.endpointPath, (_req, res) => {
    res.set('Allow', 'POST').status(405).json({ error: 'method_not_allowed' })
  })
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found' })
  })
  // Last resort: whatever happens, the caller gets JSON, never a stack trace.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (error as { status?: unknown }).status
    const clientError = typeof status === 'number' && status >= 400 && status < 500
    if (!clientError) deps.logger.error({ err: error }, 'unexpected error')
    if (res.headersSent) res.destroy()
    else if (clientError) res.status(status).json({ error: 'bad_request' })
    else res.status(500).json({ error: 'internal_error' })
  })
  return app
}

/** The token a body names, for the request log, even when its signature failed. */
function peekToken(rawBody: Buffer, field: string): string | null {
  try {
    const value = JSON.parse(rawBody.toString('utf8'))?.[field]
    return typeof value === 'string' ? value.slice(0, 256) : null
  } catch {
    return null
  }
}
