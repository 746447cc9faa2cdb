// The same service in CommonJS syntax (`import … = require`), as verbatimModuleSyntax wants it there.
import http = require('node:http')
import route = require('talki-customer-route')
import express = require('talki-customer-route/express')
import fastify = require('talki-customer-route/fastify')
import lambda = require('talki-customer-route/lambda')
import nodeHttp = require('talki-customer-route/node-http')
import postgres = require('talki-customer-route/postgres')
import web = require('talki-customer-route/web')

const users: route.UserRecord[] = [{ userToken: 'usr_1', name: 'Ada Lovelace', fields: { seats: 3 } }]
const secrets = [process.env.TALKI_SECRET ?? 'dev-secret']
const store = route.createMapStore(users)
http.createServer(nodeHttp.createNodeHttpListener({ secrets, store }))
express.createExpressRoute({ secrets, store, path: '/hooks/talki' })
const handler: (request: Request) => Promise<Response> = web.createWebHandler({ secrets, store })
const event: lambda.LambdaHttpEvent = { requestContext: { http: { method: 'POST' } }, body: '{}' }
const status: Promise<number> = lambda
  .createLambdaHandler({ secrets, store })(event)
  .then((r) => r.statusCode)
const verdict: route.Verdict = route.verifySignature(new Uint8Array(0), 'abc', secrets)
postgres.createPostgresStore(postgres.createPostgresPool('postgres://localhost/app'))
void [fastify.fastifyCustomerRoute, express.keepRawBody, handler, status, verdict]

// @ts-expect-error the body is bytes, not an object
route.verifySignature({ userToken: 'usr_1' }, 'abc', secrets)
// @ts-expect-error a store needs find()
nodeHttp.createNodeHttpListener({ secrets, store: {} })
