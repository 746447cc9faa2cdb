import { createHash, timingSafeEqual } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import express, { type NextFunction, type Request, type Response } from 'express'
import helmet from 'helmet'
import { TALKI_TIMINGS, type TalkiTiming } from '../../contract/talki-timing.js'
import type { Logger } from '../runtime/log.js'
import { METRICS_CONTENT_TYPE, type Metrics } from '../runtime/metrics.js'
import { failingEngines, type Readiness, StoreUnavailable } from '../runtime/readiness.js'
import { StoreError } from '../users/store.js'
import { type ApiDeps, createApiRouter } from './api.js'
import { ADMIN_BODY_LIMIT, jsonBody } from './json-body.js'
import { buildOpenApiDocument, methodsOf, type OpenApiDocument } from './openapi.js'
import { invalidRequest, Refusal } from './refusal.js'

export type AdminDeps = ApiDeps & {
  adminToken: string | undefined
  endpointPath: string
  tokenField: string
  /** The engines in use (GET /api/engines) and what GET /readyz checks: each answers, or is listed as failing. */
  readiness: Readiness
  /** The endpoint's real port, named when a request for the endpoint reaches the admin port by mistake. */
  endpointPort?: number
  /** What GET /metrics serves; without it (METRICS=off) the path is not found. */
  metrics?: Pick<Metrics, 'render'>
  /** GET /api/timing (TALKI_TIMING); Talki's own when not given. */
  talkiTiming?: TalkiTiming
}

// Resolves to src/mock/dashboard/ from src/mock/admin (tsx) and from dist/mock/admin (built) alike: no copy step.
const DASHBOARD_DIR = fileURLToPath(new URL('../../../src/mock/dashboard/', import.meta.url))
const STREAM_PATH = '/requests/stream'

export function createAdminApp(deps: AdminDeps): express.Express {
  const app = express()
  app.disable('x-powered-by')
  // Exact paths, as the document writes them (see the API router).
  app.enable('case sensitive routing')
  app.enable('strict routing')
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          'script-src': ["'self'"],
          'style-src': ["'self'"],
          'connect-src': ["'self'"],
          // The admin port is plain HTTP: upgrading the dashboard's own requests would break it.
          'upgrade-insecure-requests': null,
        },
      },
    }),
  )

  const openApi = buildOpenApiDocument({
    endpointPath: deps.endpointPath,
    tokenField: deps.tokenField,
    metrics: deps.metrics !== undefined,
    ...(deps.endpointPort === undefined ? {} : { endpointPort: deps.endpointPort }),
    tls: deps.tlsEnabled === true,
  })
  app.use(methodNotAllowed(openApi, deps.endpointPath))

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true })
  })
  const readiness = deps.readiness
  app.get('/readyz', async (_req, res) => {
    res.set('Cache-Control', 'no-store')
    const failing = await failingEngines(readiness)
    if (failing.length === 0) res.json({ ready: true })
    else res.status(503).json({ ready: false, failing })
  })

  const metrics = deps.metrics
  if (metrics) {
    // Behind the admin token like the API (a scrape config sends it as a bearer token): the counts show
    // the traffic and the override in force, which is the admin port's to tell.
    app.get('/metrics', bearerAuth(deps.adminToken), async (_req, res) => {
      const text = await metrics.render()
      res.set('Cache-Control', 'no-store').type(METRICS_CONTENT_TYPE).send(text)
    })
  }

  app.use(
    '/api',
    (_req, res, next) => {
      res.set('Cache-Control', 'no-store')
      next()
    },
    bearerAuth(deps.adminToken),
    jsonBody(ADMIN_BODY_LIMIT),
    createApiRouter(deps),
  )
  app.get('/api/openapi.json', (_req, res) => {
    res.json(openApi)
  })
  app.get('/api/engines', (_req, res) => {
    res.json(readiness.engines)
  })
  const talkiTiming = deps.talkiTiming ?? TALKI_TIMINGS.real
  app.get('/api/timing', (_req, res) => {
    res.json(talkiTiming)
  })
  app.use('/api', () => {
    throw new Refusal('not_found')
  })

  // Talki's request sent to the admin port is a common slip: the 404 says where the endpoint is.
  app.all(deps.endpointPath, () => {
    const port = deps.endpointPort === undefined ? 'its own port (PORT)' : `port ${deps.endpointPort}`
    throw new Refusal('not_found', [
      {
        message: `this is the admin port; the endpoint ${deps.endpointPath} listens on ${port}, send Talki's requests there`,
      },
    ])
  })
  app.use(express.static(DASHBOARD_DIR))
  app.use(() => {
    throw new Refusal('not_found')
  })
  app.use(errorHandler(deps.logger))
  return app
}

/**
 * A method the document does not list for a path of the document: 405 with `Allow`, before anything
 * else (HEAD and OPTIONS included: the document is the whole truth). The endpoint's own path is served
 * on the other port, so it is not this app's to answer.
 */
function methodNotAllowed(document: OpenApiDocument, endpointPath: string) {
  const routes = Object.entries(document.paths)
    .filter(([path]) => path !== endpointPath)
    .map(([path, item]) => ({
      pattern: new RegExp(`^${path.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`),
      allow: methodsOf(item),
    }))
  return (req: Request, _res: Response, next: NextFunction) => {
    const route = routes.find((r) => r.pattern.test(req.path))
    if (!route || route.allow.includes(req.method)) return next()
    const allow = route.allow.join(', ')
    next(new Refusal('method_not_allowed', [{ message: `${req.path} answers ${allow}` }], { Allow: allow }))
  }
}

/**
 * `Authorization: Bearer <token>` on every /api call when a token is configured; the SSE stream may
 * carry it as `?token=` because EventSource cannot send headers. Both sides are hashed first, so the
 * comparison is constant-time and the same length whatever was sent.
 */
function bearerAuth(adminToken: string | undefined) {
  if (!adminToken) return (_req: Request, _res: Response, next: NextFunction) => next()
  const expected = sha256(adminToken)
  return (req: Request, _res: Response, next: NextFunction) => {
    let given: string | undefined = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')?.[1]
    if (given === undefined && req.method === 'GET' && req.path === STREAM_PATH) {
      const token = req.query.token
      if (typeof token === 'string') given = token
    }
    if (given !== undefined && timingSafeEqual(sha256(given), expected)) return next()
    next(new Refusal('unauthorized'))
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/**
 * The one place an admin refusal is answered: every error becomes the one refusal shape, with the headers
 * its refusal carries; only a fault of ours is a 5xx, and no stack trace is ever sent.
 */
function errorHandler(logger: Logger) {
  return (error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      res.destroy()
      return
    }
    if ((error as { type?: unknown }).type === 'request.aborted') {
      res.destroy()
      return
    }
    const refusal = refusalFor(error, logger)
    res.set(refusal.headers).status(refusal.status).json(refusal.body)
  }
}

function refusalFor(error: unknown, logger: Logger): Refusal {
  if (error instanceof Refusal) return error
  if (error instanceof StoreUnavailable || error instanceof StoreError) {
    // PostgreSQL or Redis is lost or refused the work: a temporary fault of an engine, not a bug.
    logger.warn({ reason: error.message }, 'store unavailable')
    return new Refusal('store_unavailable')
  }
  // Express could not percent-decode a path parameter (only the user token has one).
  if (error instanceof URIError) return invalidRequest('the token is not valid percent-encoding', ['token'])
  logger.error({ err: error }, 'admin API error')
  return new Refusal('internal_error')
}
