// Express 5, Talki's route mounted before the app's own body parser.
import { readFileSync } from 'node:fs'
import express from 'express'
import { createMapStore } from 'talki-customer-route'
import { createExpressRoute } from 'talki-customer-route/express'

const users = JSON.parse(readFileSync(new URL('./users.json', import.meta.url), 'utf8'))
const app = express()
app.use(createExpressRoute({ secrets: [process.env.TALKI_SECRET], store: createMapStore(users) }))
app.use(express.json())
const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => {
  console.log(`express 5 listening on http://127.0.0.1:${server.address().port}/talki/customer`)
})
