import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createCustomerRoute, type EndpointOptions } from './customer-route.js'
import { readBody } from './node-handler.js'
import {
  ANSWER_HEADERS,
  type Answer,
  answers,
  checkSecrets,
  DEFAULT_BODY_LIMIT,
  DEFAULT_ENDPOINT_PATH,
} from './protocol.js'
import { verifySignature } from './signature.js'

// Talki's route for Fastify 4 and 5, as a plugin:
//
//   await app.register(fastifyCustomerRoute, { secrets: [process.env.TALKI_SECRET!], store })
//
// The plugin's context has its own content-type parsers (Fastify encapsulation): every content type is
// kept as raw bytes here, while the rest of your app keeps Fastify's JSON parsing.

export interface FastifyRouteOptions extends EndpointOptions {
  /** The route's path, default `/talki/customer`. */
  path?: string
}

export async function fastifyCustomerRoute(
  app: FastifyInstance,
  options: FastifyRouteOptions,
): Promise<void> {
  checkSecrets(options.secrets)
  const secrets = [...options.secrets]
  const path = options.path ?? DEFAULT_ENDPOINT_PATH
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT
  const onError = options.onError ?? console.error
  const answerCustomerRequest = createCustomerRoute({
    verify: (body, header) => verifySignature(body, header, secrets),
    store: options.store,
    tokenField: options.tokenField,
    lookupTimeoutMs: options.lookupTimeoutMs,
    onWarning: options.onWarning,
  })

  // 1. Size: Fastify reads the raw bytes, whatever the Content-Type, and stops at `bodyLimit` (a declared
  //    length over it is refused unread); nothing is parsed or inflated here.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body))

  // 2–5. Encoding, signature, body, lookup: customer-route.ts.
  const answerBytes = (request: FastifyRequest, rawBody: Uint8Array) =>
    answerCustomerRequest({
      rawBody,
      signature: request.headers['x-talki-signature'],
      contentEncoding: request.headers['content-encoding'],
    })

  app.post(path, async (request, reply) => {
    // No body at all (no Content-Type and no length) leaves `request.body` unset: that is zero bytes.
    const rawBody = request.body instanceof Uint8Array ? request.body : new Uint8Array(0)
    return send(reply, await answerBytes(request, rawBody))
  })

  // Every other method on the path (HEAD comes with GET): 405 with `Allow: POST`. Fastify 5 lists the
  // methods it routes; Fastify 4 has no such list, so the common ones are named.
  const supported: readonly string[] | undefined = (app as { supportedMethods?: readonly string[] })
    .supportedMethods
  const otherMethods = (supported ?? FASTIFY_4_METHODS).filter(
    (method) => method !== 'POST' && method !== 'HEAD',
  )
  app.route({
    method: otherMethods,
    url: path,
    handler: (_request, reply) => send(reply, answers.methodNotAllowed),
  })

  // Fastify's own refusals, in Talki's words: a body over the limit, a Content-Length that does not match
  // the body. A Content-Type Fastify cannot parse does not matter to Talki's route (the signature covers
  // the bytes, whatever their type): its body is read here. Anything else is logged and answered 500
  // JSON, never a stack trace.
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      request.raw.pause() // read no further: the answer's `Connection: close` ends the connection
      return send(reply, answers.payloadTooLarge)
    }
    if (error.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
      return send(reply, {
        status: 400,
        body: { error: 'invalid_body', detail: 'body length does not match' },
      })
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' && request.method === 'POST') {
      const body = await readBody(request.raw, bodyLimit)
      if (body === undefined) return reply.hijack() // the caller left mid-body
      return send(reply, body instanceof Uint8Array ? await answerBytes(request, body) : body)
    }
    onError(error)
    return send(reply, answers.internalError)
  })
}

/** Methods every Fastify 4 routes. */
const FASTIFY_4_METHODS = ['DELETE', 'GET', 'PATCH', 'PUT', 'OPTIONS']

function send(reply: FastifyReply, answer: Answer): FastifyReply {
  return reply
    .code(answer.status)
    .headers({ ...ANSWER_HEADERS, ...answer.headers })
    .send(JSON.stringify(answer.body))
}
