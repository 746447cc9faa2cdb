// Express 4 with a global JSON body parser that runs before Talki's route: keepRawBody keeps the bytes.
import { readFileSync } from 'node:fs'
import express from 'express'
import { createMapStore } from 'talki-customer-route'
import { createExpressRoute, keepRawBody } from 'talki-customer-route/express'

const users = JSON.parse(readFileSync(new URL('./users.json', import.meta.url), 'utf8'))
const app = express()
app.use(express.json({ verify: keepRawBody }))
app.use(createExpressRoute({ secrets: [process.env.TALKI_SECRET], store: createMapStore(users) }))
// express.json() refuses a body that is not JSON before the route runs: answer in JSON, not with Express 4's
// HTML error page (which carries a stack trace outside production).
app.use((error, _req, res, _next) => {
  const status = error.status >= 400 && error.status < 500 ? error.status : 500
  res
    .status(status)
    .json({ error: status === 413 ? 'payload_too_large' : status < 500 ? 'invalid_body' : 'internal_error' })
})
const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => {
  console.log(`express 4 listening on http://127.0.0.1:${server.address().port}/talki/customer`)
})
