// Bare node:http, no framework.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createMapStore } from 'talki-customer-route'
import { createNodeHttpListener } from 'talki-customer-route/node-http'

const users = JSON.parse(readFileSync(new URL('./users.json', import.meta.url), 'utf8'))
const server = createServer(
  createNodeHttpListener({ secrets: [process.env.TALKI_SECRET], store: createMapStore(users) }),
)
server.listen(Number(process.env.PORT), '127.0.0.1', () => {
  console.log(`node:http listening on http://127.0.0.1:${server.address().port}/talki/customer`)
})
