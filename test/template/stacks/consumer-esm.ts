// A TypeScript service importing every entry point with ES module syntax (compiled to CommonJS or ESM).
import { createServer } from 'node:http'
import { createMapStore, type UserRecord, type Verdict, verifySignature } from 'talki-customer-route'
import { createExpressRoute, keepRawBody } from 'talki-customer-route/express'
import { fastifyCustomerRoute } from 'talki-customer-route/fastify'
import { createLambdaHandler, type LambdaHttpEvent } from 'talki-customer-route/lambda'
import { createNodeHttpListener } from 'talki-customer-route/node-http'
import { createPostgresPool, createPostgresStore } from 'talki-customer-route/postgres'
import { createWebHandler } from 'talki-customer-route/web'

const users: UserRecord[] = [{ userToken: 'usr_1', name: 'Ada Lovelace', fields: { seats: 3 } }]
const secrets = [process.env.TALKI_SECRET ?? 'dev-secret']
const store = createMapStore(users)
createServer(createNodeHttpListener({ secrets, store }))
const router = createExpressRoute({ secrets, store, path: '/hooks/talki' })
const web: (request: Request) => Promise<Response> = createWebHandler({ secrets, store })
const lambda = createLambdaHandler({ secrets, store })
const event: LambdaHttpEvent = { requestContext: { http: { method: 'POST' } }, body: '{}' }
const status: Promise<number> = lambda(event).then((result) => result.statusCode)
const verdict: Verdict = verifySignature(new Uint8Array(0), 'abc', secrets)
const postgres = createPostgresStore(createPostgresPool('postgres://localhost/app'))

// @ts-expect-error the body is bytes, not an object
verifySignature({ userToken: 'usr_1' }, 'abc', secrets)
// @ts-expect-error a store needs find()
createNodeHttpListener({ secrets, store: {} })

export { fastifyCustomerRoute, keepRawBody, postgres, router, status, verdict, web }
