import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import { createCustomerRoute, type Outcome } from '../../template/customer-route.js'
import { readBody } from '../../template/node-handler.js'
import { answers, MAX_TOKEN_LENGTH } from '../../template/protocol.js'
import { verifySignature } from '../../template/signature.js'
import { type Logger, requestLineWriter } from '../runtime/log.js'
import type { LookupFailure, RequestMetrics } from '../runtime/metrics.js'
import { HttpRefusal } from '../runtime/refusal.js'
import { respond } from '../runtime/respond.js'
import { answersWithUser, type ChosenScenario, type FirstDecision, USER_STEP } from '../simulation/choose.js'
import type { StateEngine } from '../state/engine.js'
import type { Findings, RequestLogStore } from '../state/request-log.js'
import type { UserRecord } from '../users/record.js'
import type { UserStore } from '../users/store.js'
import { CUT_BY_SERVER, performScenario } from './perform.js'
import { findSignatureClues } from './signature-findings.js'

export interface EndpointDeps {
  endpointPath: string
  tokenField: string
  secrets: readonly string[]
  bodyLimit: number
  lookupTimeoutMs: number
  store: Pick<UserStore, 'find'>
  logger: Logger
  /**
   * QA's failure simulation, from the state engine (src/mock/state/engine.ts); an integrator's copy leaves
   * these out. `decide`'s steps answer at once or after one round trip, and reject when the engine is lost.
   */
  decide?: Pick<StateEngine, 'decideBeforeUser' | 'decideForUser'>
  downtime?: Pick<StateEngine['downtime'], 'start' | 'isDown'>
  requestLog?: RequestLogStore
  /** GET /metrics's counts (runtime/metrics.ts); left out when nothing serves them. */
  metrics?: RequestMetrics
  hanging?: Set<Socket>
  random?: () => number
  /** Middleware run before the route, for every request (the faster path below then stays off). */
  middleware?: RequestHandler[]
}

/** The state engine could not decide (Redis lost): a temporary fault, as a failing store is. */
const STORE_UNAVAILABLE = new HttpRefusal(503, 'store_unavailable', { 'Retry-After': '3' })

/** What the lookup of one request learnt of the simulation (see `decidingStore`). */
interface Deciding {
  first: FirstDecision | undefined
  /** The override or SIMULATE chose a scenario that answers alike for every user: no lookup was made. */
  skipped: boolean
  /** The state engine could not be reached. */
  failed: boolean
}

/**
 * The store the customer route looks users up in, choosing the scenario first: a request whose override
 * or SIMULATE scenario answers alike for every user (an error, a reset…) is not looked up at all. The
 * route reaches `find` in the same synchronous run as its call (the mock's verifier is synchronous), so the
 * request is handed over in `current`; a `find` without one (never, today) looks up as usual.
 */
function decidingStore(deps: EndpointDeps, random: () => number) {
  const state = { current: undefined as Deciding | undefined }
  const decide = deps.decide
  const afterFirst = (request: Deciding, token: string, first: FirstDecision) => {
    request.first = first
    if (first !== USER_STEP && !answersWithUser(first.scenario)) {
      request.skipped = true
      return undefined
    }
    return deps.store.find(token)
  }
  const store: Pick<UserStore, 'find'> = {
    find(token) {
      const request = state.current
      state.current = undefined
      if (request === undefined || decide === undefined) return deps.store.find(token)
      const first = decide.decideBeforeUser({ token, now: Date.now(), random })
      if (!(first instanceof Promise)) return afterFirst(request, token, first)
      return first.then(
        (decided) => afterFirst(request, token, decided),
        () => {
          request.failed = true
          return undefined
        },
      )
    },
  }
  return { store, state }
}

/** Talki's POST: size → encoding → the customer route → the simulation → the answer, logged once. */
function createCustomerHandler(deps: EndpointDeps) {
  const random = deps.random ?? Math.random
  const deciding = decidingStore(deps, random)
  const answerCustomerRequest = createCustomerRoute({
    verify: (body, header) => verifySignature(body, header, deps.secrets),
    store: deciding.store,
    tokenField: deps.tokenField,
    lookupTimeoutMs: deps.lookupTimeoutMs,
  })
  const hanging = deps.hanging ?? new Set<Socket>()
  const downtime = deps.downtime ?? { start: () => {} }
  const logRequest = requestLineWriter(deps.logger)
  const metrics = deps.metrics
  const headerNames = new HeaderNames()

  return async function handleCustomerRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = performance.now()
    const arrivedAt = Date.now()
    let outcome: Outcome<UserRecord> | undefined
    let scenario: ChosenScenario | null = null
    let findings: Findings | null = null
    let peekedToken: string | null = null
    let bodyBytes: number | null = null

    // 'close' comes once, whatever happened: answered, cut by a scenario, or the caller gone.
    res.on('close', () => {
      const endedAt = performance.now()
      const answered = res.writableFinished
      // A `down` cuts every open connection: those requests were cut by the server, not left by the caller.
      const cut = (res as { [CUT_BY_SERVER]?: boolean })[CUT_BY_SERVER] || deps.downtime?.isDown === true
      const gaveUp = !answered && !cut
      const latencyMs = Math.round((endedAt - startedAt) * 10) / 10
      // A found user's token is the store's own string, equal to the one read from the body: the request
      // log keeps that one rather than a new string a request (see its Columns).
      const stored = outcome?.user?.userToken
      const token =
        stored !== undefined && stored === outcome?.token ? stored : (outcome?.token ?? peekedToken)
      const status = answered ? res.statusCode : null
      metrics?.request(status, scenario?.scenario ?? null, (endedAt - startedAt) / 1000)
      deps.requestLog?.record({
        method: req.method ?? 'POST',
        path: pathOf(req.url, deps.endpointPath),
        headerNames: headerNames.of(req.rawHeaders),
        bodyBytes,
        token,
        verdict: outcome?.verdict ?? null,
        findings,
        scenario: scenario?.scenario ?? null,
        status,
        latencyMs,
        callerGaveUpMs: gaveUp ? Math.round(endedAt - startedAt) : null,
        startedAt,
        endedAt,
        arrivedAt,
      })
      // The stdout line names only a token whose request verified; the request log (for QA) also shows
      // the token an unverified request claimed.
      logRequest?.({ token: outcome?.token ?? null, status, latencyMs, scenario: scenario?.scenario ?? null })
    })

    // Size: read at most BODY_LIMIT bytes (the template's reader); a larger body is refused and the
    // connection closed.
    const rawBody = await readBody(req, deps.bodyLimit)
    if (rawBody === undefined) return // the caller left; the close handler logs it
    if (!(rawBody instanceof Uint8Array)) return respond(res, rawBody)
    bodyBytes = rawBody.byteLength

    const signature = req.headers['x-talki-signature']
    const request: Deciding = { first: undefined, skipped: false, failed: false }
    deciding.state.current = request
    const answering = answerCustomerRequest({
      rawBody,
      signature,
      contentEncoding: req.headers['content-encoding'],
    })
    deciding.state.current = undefined
    outcome = await answering
    if (request.failed) throw STORE_UNAVAILABLE

    // The route looked the user up once the signature and body passed: a 503 then is the lookup failing.
    if (metrics && outcome.token !== undefined && !request.skipped) {
      metrics.lookup(outcome.status === 503 ? (outcome.body as { error: LookupFailure }).error : undefined)
    }
    if (deps.requestLog && outcome.token === undefined && outcome.verdict !== null) {
      peekedToken = peekToken(rawBody, deps.tokenField)
      if (outcome.verdict === 'invalid_signature' && typeof signature === 'string') {
        findings = findSignatureClues(rawBody, signature, deps.secrets)
      }
    }
    // Scenarios apply only to requests that passed the signature and body steps, and whose lookup (if
    // one was needed) did not fail.
    if (deps.decide && request.first !== undefined && outcome.status !== 503) {
      if (request.first !== USER_STEP) scenario = request.first.scenario
      else {
        const token = outcome.token as string
        let decision = deps.decide.decideForUser({ token, user: outcome.user, now: Date.now(), random })
        if (decision instanceof Promise) {
          try {
            decision = await decision
          } catch {
            throw STORE_UNAVAILABLE
          }
        }
        scenario = decision?.scenario ?? null
      }
    }
    performScenario(scenario, outcome, res, { downtime, hanging, random, startedAt })
  }
}

export function createEndpointApp(deps: EndpointDeps) {
  const handleCustomerRequest = createCustomerHandler(deps)
  const app = express()
  app.disable('x-powered-by')
  app.set('etag', false)
  // The path is matched exactly, as configured: no case folding, no trailing slash.
  app.set('case sensitive routing', true)
  app.set('strict routing', true)

  const middleware = deps.middleware ?? []
  if (middleware.length > 0) app.use(...middleware)
  app.post(deps.endpointPath, handleCustomerRequest)

  app.all(deps.endpointPath, () => {
    throw HttpRefusal.of(answers.methodNotAllowed)
  })
  app.use(() => {
    throw HttpRefusal.of(answers.notFound)
  })
  const answerError = errorAnswerer(deps.logger)
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => answerError(error, res))

  // The faster path: Talki's POST to the exact path goes straight to the same handler that `app.post`
  // registers, skipping Express's router and the per-request prototype swap — most of Express's cost for
  // this route (bench/RESULTS.md). Every other request goes through the app as usual. It is the mock's
  // own: the template's Express route (src/template/express.ts) is a plain router route. With middleware
  // given, every request takes the router, so that the middleware runs for the exact path too
  // (test/mock/endpoint.test.ts shows both paths answer alike).
  if (middleware.length > 0) return app
  const express_ = app as unknown as {
    handle(req: IncomingMessage, res: ServerResponse, next?: NextFunction): void
  }
  const route = express_.handle.bind(app)
  express_.handle = (req, res, next) => {
    if (req.method === 'POST' && req.url === deps.endpointPath) {
      handleCustomerRequest(req, res).catch((error: unknown) => answerError(error, res))
    } else route(req, res, next)
  }
  return app
}

/**
 * The one place the endpoint answers a refusal or an error, for the router and the faster path alike:
 * a refusal with its status and headers, a client error Express raised as 400 bad_request, anything else
 * 500 internal_error (logged), never a stack trace. Written as every endpoint answer is (runtime/respond.ts).
 */
function errorAnswerer(logger: Logger) {
  return (error: unknown, res: ServerResponse): void => {
    const refusal = refusalFor(error)
    if (refusal === undefined) logger.error({ err: error }, 'unexpected error')
    if (res.headersSent) {
      res.destroy()
      return
    }
    const { status, body, headers } = refusal ?? HttpRefusal.of(answers.internalError)
    respond(res, { status, body, headers })
  }
}

function refusalFor(error: unknown): HttpRefusal | undefined {
  if (error instanceof HttpRefusal) return error
  const status = (error as { status?: unknown } | null)?.status
  if (typeof status === 'number' && status >= 400 && status < 500)
    return new HttpRefusal(status, 'bad_request')
  return undefined
}

/** The token a body names, for the request log, even when its signature failed. */
function peekToken(rawBody: Uint8Array, field: string): string | null {
  try {
    const value = JSON.parse(Buffer.from(rawBody).toString('utf8'))?.[field]
    return typeof value === 'string' ? value.slice(0, MAX_TOKEN_LENGTH) : null
  } catch {
    return null
  }
}

/**
 * The path without its query: a query is the caller's to carry, not the log's to keep. Talki's own path is
 * given as the configured string, so the request log keeps that one rather than a new string a request.
 */
function pathOf(url: string | undefined, endpointPath: string): string {
  if (url === endpointPath) return endpointPath
  const path = url ?? '/'
  const query = path.indexOf('?')
  return query === -1 ? path : path.slice(0, query)
}

/**
 * A request's header names: lower-case, once each, in the order sent. Talki's requests all send the same
 * names, so the last list is handed out again (frozen) when a request's names match it: the request log
 * then keeps one list for them all rather than one a request.
 */
class HeaderNames {
  #last: readonly string[] = Object.freeze([])
  readonly #scratch: string[] = []

  of(rawHeaders: readonly string[]): readonly string[] {
    const names = this.#scratch
    names.length = 0
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = String(rawHeaders[i]).toLowerCase()
      if (!names.includes(name)) names.push(name)
    }
    const last = this.#last
    if (names.length !== last.length || names.some((name, i) => name !== last[i])) {
      this.#last = Object.freeze([...names])
    }
    return this.#last
  }
}
