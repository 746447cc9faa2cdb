// A plain-JavaScript CommonJS app: require, no build step.
const { createServer } = require('node:http')
const { createMapStore } = require('talki-customer-route')
const { createNodeHttpListener } = require('talki-customer-route/node-http')
const users = require('./users.json')

const server = createServer(
  createNodeHttpListener({ secrets: [process.env.TALKI_SECRET], store: createMapStore(users) }),
)
server.listen(Number(process.env.PORT), '127.0.0.1', () => {
  console.log(`commonjs listening on http://127.0.0.1:${server.address().port}/talki/customer`)
})
