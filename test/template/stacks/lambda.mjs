// AWS Lambda (API Gateway HTTP API v2 / function URL), run behind the local event shim with base64 bodies.
import { readFileSync } from 'node:fs'
import { createMapStore } from 'talki-customer-route'
import { createLambdaHandler } from 'talki-customer-route/lambda'
import { lambdaShim } from './lambda-shim.mjs'

const users = JSON.parse(readFileSync(new URL('./users.json', import.meta.url), 'utf8'))
export const handler = createLambdaHandler({
  secrets: [process.env.TALKI_SECRET],
  store: createMapStore(users),
})
const server = lambdaShim(handler, { base64: true })
server.listen(Number(process.env.PORT), '127.0.0.1', () => {
  console.log(`lambda listening on http://127.0.0.1:${server.address().port}/talki/customer`)
})
