// Hono on Node: the Web-standard handler behind @hono/node-server.
import { readFileSync } from 'node:fs'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { createMapStore } from 'talki-customer-route'
import { createWebHandler } from 'talki-customer-route/web'

const users = JSON.parse(readFileSync(new URL('./users.json', import.meta.url), 'utf8'))
const talki = createWebHandler({ secrets: [process.env.TALKI_SECRET], store: createMapStore(users) })
const app = new Hono()
app.all('/talki/customer', (c) => talki(c.req.raw))
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' }, (info) => {
  console.log(`hono listening on http://127.0.0.1:${info.port}/talki/customer`)
})
