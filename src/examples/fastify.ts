import Fastify, { type FastifyInstance } from 'fastify'
import { SERVER_OPTIONS } from '../mock/runtime/listen.js'
import { fastifyCustomerRoute } from '../template/fastify.js'
import { ANSWER_HEADERS, answers } from '../template/protocol.js'
import type { StartExample } from './serve.js'

// A Fastify 5 app with Talki's plugin and a JSON 404 for every other path.
export const startFastify: StartExample = async (options) => {
  const timeouts = {
    requestTimeout: SERVER_OPTIONS.requestTimeout,
    keepAliveTimeout: SERVER_OPTIONS.keepAliveTimeout,
  }
  // One type for both: the routes and the server calls below are the same over HTTP and HTTPS.
  const app = (
    options.tls ? Fastify({ ...timeouts, https: options.tls }) : Fastify(timeouts)
  ) as FastifyInstance
  await app.register(fastifyCustomerRoute, options)
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).headers(ANSWER_HEADERS).send(JSON.stringify(answers.notFound.body)),
  )
  await app.listen({ port: options.port, host: options.host })
  const address = app.server.address()
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: async (graceMs) => {
      setTimeout(() => app.server.closeAllConnections(), graceMs).unref()
      await app.close()
    },
  }
}
