import type { IncomingMessage, ServerResponse } from 'node:http'
import { createCustomerRoute, type EndpointOptions } from './customer-route.js'
import { ANSWER_HEADERS, type Answer, answers, checkSecrets, DEFAULT_BODY_LIMIT } from './protocol.js'
import { verifySignature } from './signature.js'

// What the Node adapters share (node-http.ts, express.ts): read the raw body within the limit, run the
// customer route, write its answer. Uses only `node:` modules, no npm package.

/** Node's request and response, as node:http, Express and Fastify's `.raw` all hand them over. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>

/** Answers Talki's POST (the caller has matched the path and the method). Never rejects. */
export function createNodeHandler(options: EndpointOptions): NodeHandler {
  checkSecrets(options.secrets)
  const secrets = [...options.secrets]
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT
  const onError = options.onError ?? console.error
  const answerCustomerRequest = createCustomerRoute({
    verify: (body, header) => verifySignature(body, header, secrets),
    store: options.store,
    tokenField: options.tokenField,
    lookupTimeoutMs: options.lookupTimeoutMs,
    onWarning: options.onWarning,
  })

  return async function handleTalkiRequest(req, res) {
    try {
      // 1. Size: at most `bodyLimit` bytes are read; a larger body is refused and the connection closed.
      //    Behind a body parser that ran first (Express), the bytes it kept are used instead.
      const body = req.readableEnded ? bytesKeptByParser(req, bodyLimit) : await readBody(req, bodyLimit)
      if (body === undefined) return // the caller left before sending all of it: nobody to answer
      if (!(body instanceof Uint8Array)) return writeAnswer(res, body)
      // 2–5. Encoding, signature, body, lookup: customer-route.ts.
      const outcome = await answerCustomerRequest({
        rawBody: body,
        signature: req.headers['x-talki-signature'],
        contentEncoding: req.headers['content-encoding'],
      })
      writeAnswer(res, outcome)
    } catch (error) {
      onError(error)
      if (res.headersSent) res.destroy()
      else writeAnswer(res, answers.internalError)
    }
  }
}

/**
 * The body's exact bytes, or the 413 answer once it passes `limit` (reading stops there: the answer
 * carries `Connection: close`, so Node closes the socket instead of reading on), or undefined when the
 * caller went away mid-body.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | Answer | undefined> {
  // A declared length over the limit is refused before a byte of the body is read.
  if (Number(req.headers['content-length']) > limit) return Promise.resolve(answers.payloadTooLarge)
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    // A promise settles once: whichever of 'end', the limit or an abort comes first decides. The listeners
    // stay attached afterwards (the request is done with; they go with it), which is cheaper than off().
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= limit) return void chunks.push(chunk)
      req.pause()
      resolve(answers.payloadTooLarge)
    })
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)))
    // 'close' before 'end' (or an 'error'): the client aborted.
    const aborted = () => resolve(undefined)
    req.on('close', aborted).on('error', aborted)
  })
}

/** A request as a body parser leaves it: `express.raw()` sets `body` to the bytes, `keepRawBody` sets `rawBody`. */
type ParsedRequest = IncomingMessage & { rawBody?: unknown; body?: unknown }

/**
 * The exact bytes a body parser that ran first kept (`req.rawBody` from `express.json({ verify:
 * keepRawBody })`, or the Buffer `express.raw()` leaves in `req.body`), or the 413 answer past `limit`.
 * Without them the signature cannot be checked: that is the app's set-up, not the caller's fault, so it
 * throws (500 internal_error) with one line naming the parser and the fix, never a signature verdict.
 */
export function bytesKeptByParser(req: ParsedRequest, limit: number): Uint8Array | Answer {
  const kept = req.rawBody instanceof Uint8Array ? req.rawBody : req.body
  if (kept instanceof Uint8Array) return kept.length > limit ? answers.payloadTooLarge : kept
  const type = String(req.headers['content-type'])
  const parser =
    typeof req.body === 'string'
      ? 'express.text()'
      : type.includes('urlencoded')
        ? 'express.urlencoded()'
        : 'express.json()'
  const message =
    `Talki route: a body parser (${parser}) read the body before this route, so the bytes the signature ` +
    `covers are gone. Mount the Talki route before the parser, or keep the bytes: ` +
    `${parser.slice(0, -1)}{ verify: keepRawBody }) with keepRawBody from the Talki route's express module`
  const error = new Error(message)
  error.stack = `Error: ${message}` // one log line: the trace would only point into the parser's code
  throw error
}

/** Writes `answer` as JSON with ANSWER_HEADERS (no-store, helmet's defaults) and its own headers. */
export function writeAnswer(res: ServerResponse, answer: Answer): void {
  const text = JSON.stringify(answer.body)
  res
    .writeHead(answer.status, {
      ...ANSWER_HEADERS,
      ...answer.headers,
      'Content-Length': String(Buffer.byteLength(text)),
    })
    .end(text)
}
