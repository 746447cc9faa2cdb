// Express 4 with a global JSON body parser that runs before Talki's route: keepRawBody keeps the bytes.
import { readFileSync } from 'node:fs'
import express from 'express'
import { createMapStore } from 'talki-customer-route'
import { createExpressRoute, keepRawBody } from 'talki-customer-route/express'

const users = JSON.parse(readFileSync(new URL('./users.json', import.meta.url), 'utf8'))
const app = express()
app.use(express.json({ verify: keepRawBody }))
app.use(createExpressRoute({ secrets: [process.env.TALKI_SECRET], store: createMapStore(users) }))
const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => {
  console.log(`express 4 listening on http://127.0.0.1:${server.address().port}/talki/customer`)
})
