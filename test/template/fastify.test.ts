import type { FastifyInstance } from 'fastify'
import Fastify4 from 'fastify4'
import { startFastify } from '../../src/examples/fastify.js'
import { fastifyCustomerRoute } from '../../src/template/fastify.js'
import { ANSWER_HEADERS, answers } from '../../src/template/protocol.js'
import { describeAdapter } from './adapter-cases.js'
import { onLoopback } from './on-loopback.js'

describeAdapter('Fastify 5', onLoopback(startFastify))

// Fastify 4 (installed as `fastify4`), the way an app on it registers the plugin.
describeAdapter('Fastify 4', async (options) => {
  const app = Fastify4()
  // The plugin's types come from this repository's Fastify 5; in a Fastify 4 app they come from Fastify 4
  // (package-stacks.test.ts type-checks that), so here the two copies' instance types are bridged.
  await app.register(fastifyCustomerRoute as unknown as Parameters<typeof app.register>[0], options)
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).headers(ANSWER_HEADERS).send(JSON.stringify(answers.notFound.body)),
  )
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = (app as unknown as FastifyInstance).server.address() as { port: number }
  return {
    url: new URL(`http://127.0.0.1:${port}`),
    close: async () => {
      app.server.closeAllConnections()
      await app.close()
    },
  }
})
