import type { IncomingMessage, ServerResponse } from 'node:http'
import { Router } from 'express'
import type { EndpointOptions } from './customer-route.js'
import { createNodeHandler, writeAnswer } from './node-handler.js'
import { answers, DEFAULT_ENDPOINT_PATH } from './protocol.js'

// Talki's route for Express 4 and 5, as an ordinary router:
//
//   app.use(createExpressRoute({ secrets: [process.env.TALKI_SECRET!], store }))
//
// The signature covers the raw bytes, which this route reads itself: mount it before any body parser.
// Where a global parser must run first, let it keep the bytes for the route:
//
//   app.use(express.json({ verify: keepRawBody }))   // the same for express.urlencoded(), express.text()
//
// (`express.raw()` needs nothing: the Buffer it leaves is the bytes.) Without either, Talki's request is
// answered 500 internal_error and `onError` is told which parser took the body.

export interface ExpressRouteOptions extends EndpointOptions {
  /** The route's path, default `/talki/customer`. */
  path?: string
}

/** A Router with POST on the path (Talki's answer) and every other method on it (405, `Allow: POST`). */
export function createExpressRoute(options: ExpressRouteOptions): Router {
  const handleTalkiRequest = createNodeHandler(options)
  // Matched as configured: no case folding, no trailing slash.
  const router = Router({ caseSensitive: true, strict: true })
  router
    .route(options.path ?? DEFAULT_ENDPOINT_PATH)
    .post((req, res) => handleTalkiRequest(req, res))
    .all((_req, res) => writeAnswer(res, answers.methodNotAllowed))
  return router
}

/**
 * The `verify` option of `express.json()`, `express.urlencoded()` or `express.text()`: keeps the exact
 * bytes as `req.rawBody` (the name Stripe's and others' recipes use) so Talki's route can check them.
 */
export function keepRawBody(req: IncomingMessage, _res: ServerResponse, bytes: Buffer): void {
  ;(req as IncomingMessage & { rawBody?: Buffer }).rawBody = bytes
}
