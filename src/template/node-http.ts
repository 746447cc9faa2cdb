import type { IncomingMessage, ServerResponse } from 'node:http'
import type { EndpointOptions } from './customer-route.js'
import { createNodeHandler, writeAnswer } from './node-handler.js'
import { answers, DEFAULT_ENDPOINT_PATH } from './protocol.js'

// Talki's route on bare `node:http`, no framework:
//
//   import { createServer } from 'node:http'
//   createServer(createNodeHttpListener({ secrets: [process.env.TALKI_SECRET!], store })).listen(5055)

export interface NodeHttpOptions extends EndpointOptions {
  /** The route's path, default `/talki/customer`; a query string does not change the match. */
  path?: string
}

/** A `node:http` request listener: POST on the path → Talki's answer, other methods → 405, else 404. */
export function createNodeHttpListener(options: NodeHttpOptions) {
  const path = options.path ?? DEFAULT_ENDPOINT_PATH
  const handleTalkiRequest = createNodeHandler(options)
  return function talkiListener(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/'
    const query = url.indexOf('?')
    if ((query === -1 ? url : url.slice(0, query)) !== path) writeAnswer(res, answers.notFound)
    else if (req.method !== 'POST') writeAnswer(res, answers.methodNotAllowed)
    else void handleTalkiRequest(req, res)
  }
}
