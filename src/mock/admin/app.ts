import { isUtf8 } from 'node:buffer'
import { createHash, timingSafeEqual } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import express, { type NextFunction, type Request, type Response } from 'express'
import helmet from 'helmet'
import type { Logger } from '../log.js'
import { failingEngines, type Readiness, StoreUnavailable } from '../readiness.js'
import { StoreError } from '../store.js'
import { type ApiDeps, createApiRouter, InvalidRequest } from './api.js'
import { buildOpenApiDocument } from './openapi.js'

export type AdminDeps = ApiDeps & {
  adminToken: string | undefined
  endpointPath: string
  tokenField: string
  /** What GET /readyz checks: each named engine answers, or it is listed as failing. */
  readiness?: Readiness
  /** The endpoint's real port, named when a request for the endpoint reaches the admin port by mistake. */
  endpointPort?: number
}

// Resolves to src/mock/dashboard/ from src/mock/admin (tsx) and from dist/mock/admin (built) alike: no copy step.
const DASHBOARD_DIR = fileURLToPath(new URL('../../../src/mock/dashboard/', import.meta.url))
const BODY_LIMIT = '1mb'
const STREAM_PATH = '/requests/stream'

export function createAdminApp(deps: AdminDeps): express.Express {
  const app = express()
  app.disable('x-powered-by')
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

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true })
  })
  const readiness = deps.readiness
  app.get('/readyz', async (_req, res) => {
    res.set('Cache-Control', 'no-store')
    const failing = readiness ? await failingEngines(readiness) : []
    if (failing.length === 0) res.json({ ready: true })
    else res.status(503).json({ ready: false, failing })
  })

  const openApi = buildOpenApiDocument({ endpointPath: deps.endpointPath, tokenField: deps.tokenField })
  app.use(
    '/api',
    (_req, res, next) => {
      res.set('Cache-Control', 'no-store')
      next()
    },
    bearerAuth(deps.adminToken),
    requireJsonBody,
    // Without the check, body-parser decodes invalid UTF-8 to U+FFFD and the store keeps the damage.
    express.json({ limit: BODY_LIMIT, strict: false, verify: refuseInvalidUtf8 }),
    createApiRouter(deps),
  )
  app.get('/api/openapi.json', (_req, res) => {
    res.json(openApi)
  })
  app.get('/api/engines', (_req, res) => {
    res.json(readiness?.engines ?? { users: 'json', state: 'memory', replica: 'local' })
  })
  app.use('/api', (_req, res) => {
    res.status(404).json({ error: 'not_found' })
  })

  // Talki's request sent to the admin port is a common slip: the 404 says where the endpoint is.
  app.all(deps.endpointPath, (_req, res) => {
    const port = deps.endpointPort === undefined ? 'its own port (PORT)' : `port ${deps.endpointPort}`
    res.status(404).json({
      error: 'not_found',
      issues: [
        {
          message: `this is the admin port; the endpoint ${deps.endpointPath} listens on ${port}, send Talki's requests there`,
        },
      ],
    })
  })
  app.use(express.static(DASHBOARD_DIR))
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found' })
  })
  app.use(errorHandler(deps.logger))
  return app
}

/**
 * `Authorization: Bearer <token>` on every /api call when a token is configured; the SSE stream may
 * carry it as `?token=` because EventSource cannot send headers. Both sides are hashed first, so the
 * comparison is constant-time and the same length whatever was sent.
 */
function bearerAuth(adminToken: string | undefined) {
  if (!adminToken) return (_req: Request, _res: Response, next: NextFunction) => next()
  const expected = sha256(adminToken)
  return (req: Request, res: Response, next: NextFunction) => {
    let given: string | undefined = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')?.[1]
    if (given === undefined && req.method === 'GET' && req.path === STREAM_PATH) {
      const token = req.query.token
      if (typeof token === 'string') given = token
    }
    if (given !== undefined && timingSafeEqual(sha256(given), expected)) return next()
    res.set('WWW-Authenticate', 'Bearer').status(401).json({ error: 'unauthorized' })
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/**
 * A body must be declared JSON. Besides clarity this keeps other sites out: a browser can only send
 * `application/json` cross-origin after a CORS preflight, which this server never grants.
 */
function requireJsonBody(req: Request, res: Response, next: NextFunction) {
  const empty =
    req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] ?? '0') === '0'
  if (!empty && !req.is('application/json')) {
    res.status(415).json({ error: 'unsupported_media_type' })
    return
  }
  next()
}

function refuseInvalidUtf8(_req: unknown, _res: unknown, bytes: Buffer): void {
  if (!isUtf8(bytes)) throw new Error('invalid UTF-8')
}

const BODY_ERRORS: Record<string, [number, string]> = {
  'entity.parse.failed': [400, 'invalid_json'],
  'entity.too.large': [413, 'payload_too_large'],
  'entity.verify.failed': [400, 'invalid_json'],
  'encoding.unsupported': [415, 'unsupported_encoding'],
  'charset.unsupported': [415, 'unsupported_charset'],
  'request.size.invalid': [400, 'invalid_body'],
}

/** Every error becomes JSON; only a fault of ours is a 5xx, and no stack trace is ever sent. */
function errorHandler(logger: Logger) {
  return (error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      res.destroy()
      return
    }
    if (error instanceof StoreUnavailable) {
      res.status(503).set('Retry-After', '3').json({ error: 'store_unavailable' })
      return
    }
    if (error instanceof InvalidRequest) {
      res.status(400).json({ error: 'invalid_request', issues: error.issues })
      return
    }
    const { type, status } = error as { type?: unknown; status?: unknown }
    if (type === 'request.aborted') {
      res.destroy()
      return
    }
    const known = typeof type === 'string' ? BODY_ERRORS[type] : undefined
    if (known) {
      res.status(known[0]).json({ error: known[1] })
      return
    }
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res.status(status).json({ error: 'bad_request' })
      return
    }
    if (error instanceof StoreError) {
      // The database is unreachable or refused the work: a temporary fault of the store, not a bug.
      logger.error({ reason: error.message }, 'store unavailable')
      res.status(503).set('Retry-After', '3').json({ error: 'store_unavailable' })
      return
    }
    logger.error({ err: error }, 'admin API error')
    res.status(500).json({ error: 'internal_error' })
  }
}
