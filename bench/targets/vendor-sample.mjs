// The vendor page's Node.js / Express sample (Talki's Backend Connect page, "Verify the signature"),
// made runnable with as few changes as possible so the benchmark can compare against it. Every change
// is marked CHANGE; everything between the BEGIN/END lines is the vendor's code as printed.
//
// Environment: PORT (0 = a free port), HOST (default 127.0.0.1), TALKI_SECRET, DATA_FILE (a store file
// `{"users":[…]}` as the project's seed writes it).

import { readFileSync } from 'node:fs'
// CHANGE: this file is an ES module (the project is "type": "module"); createRequire keeps the vendor's
// `require` lines exactly as printed.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
// CHANGE: the page assumes `express` is in scope ("Install: npm install express") and an `app` exists.
const express = require('express')
const app = express()

// CHANGE: the page assumes a `db` with `db.users.findById`, a database lookup. Here it serves the same users
// as the other targets: DATA_FILE is read once and indexed in a Map, so each lookup is O(1) — fair to the
// vendor (a linear `users.find()` would be far slower at 100,000 users and is not what the page implies).
// It stays async because the page awaits it, as a real database call would be.
const { users } = JSON.parse(readFileSync(process.env.DATA_FILE, 'utf8'))
const index = new Map(users.map((user) => [user.userToken, user]))
const db = { users: { findById: async (id) => index.get(id) } }

// ---- BEGIN vendor code ----
// biome-ignore lint/style/useNodejsImportProtocol: the vendor's line, kept as printed
const crypto = require('crypto')
// Install: npm install express
// CHANGE: `async` added — the page uses `await` inside a non-async handler, a syntax error as printed.
app.post('/talki/customer', express.raw({ type: 'application/json' }), async (req, res) => {
  const sig = req.headers['x-talki-signature']
  const expected = crypto
    .createHmac('sha256', process.env.TALKI_SECRET)
    .update(req.body) // raw Buffer — do NOT parse before verifying
    .digest('hex')
  if (!sig || !crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(expected))) {
    return res.status(401).json({ error: 'Invalid signature' })
  }
  const { userToken } = JSON.parse(req.body)
  const user = await db.users.findById(userToken)
  if (!user) return res.status(404).json({ error: 'User not found' })
  res.json({
    name: user.name,
    email: user.email,
    plan: user.plan, // rendered as a badge in Talki
    // CHANGE: the page builds `fields` from columns (`mrr: user.mrr, company: user.company,
    // signedUpAt: user.createdAt`); the shared store keeps custom fields in one object, so the same
    // users get the same answer from every target.
    fields: user.fields,
  })
})
// ---- END vendor code ----

// CHANGE: the page never listens. The ready line is the one the project's server logs (pino's shape), so
// the benchmark driver treats every target alike.
const server = app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address()
  const url = `http://${address}:${port}/talki/customer`
  console.log(JSON.stringify({ level: 30, time: Date.now(), msg: 'endpoint listening', url }))
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
