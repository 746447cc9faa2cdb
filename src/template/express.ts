import { Router } from 'express'
import type { EndpointOptions } from './customer-route.js'
import { createNodeHandler, writeAnswer } from './node-handler.js'
import { answers, DEFAULT_ENDPOINT_PATH } from './protocol.js'

// Talki's route for Express 5, as an ordinary router:
//
//   app.use(createExpressRoute({ secrets: [process.env.TALKI_SECRET!], store }))
//
// Mount it before any body parser (express.json(), express.raw(), …) or mount those on your own paths:
// the signature covers the raw bytes, which this route reads itself.

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
