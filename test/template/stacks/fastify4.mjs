// Fastify 4: the plugin keeps its own content-type parsers; the rest of the app parses JSON as usual.
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import { createMapStore } from 'talki-customer-route'
import { fastifyCustomerRoute } from 'talki-customer-route/fastify'

const users = JSON.parse(readFileSync(new URL('./users.json', import.meta.url), 'utf8'))
const app = Fastify()
await app.register(fastifyCustomerRoute, {
  secrets: [process.env.TALKI_SECRET],
  store: createMapStore(users),
})
app.post('/orders', async (request) => ({ received: request.body }))
const url = await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
console.log(`fastify 4 listening on ${url}/talki/customer`)
