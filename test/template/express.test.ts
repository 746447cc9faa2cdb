import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import express, { type RequestHandler } from 'express'
import { describe, expect, it } from 'vitest'
import { startExpress } from '../../src/examples/express.js'
import { createExpressRoute, keepRawBody } from '../../src/template/express.js'
import { createMapStore } from '../../src/template/map-store.js'
import { sign } from '../../src/template/signature.js'
import { post, postToken } from '../process.js'
import { ALICE, TEST_SECRET } from '../support.js'
import { describeAdapter } from './adapter-cases.js'
import { onLoopback } from './on-loopback.js'

describeAdapter('Express', onLoopback(startExpress))

/** An app whose global body parser runs before Talki's route; resolves with its URL and what onError got. */
async function behindParser(parser: RequestHandler, run: (url: string, errors: unknown[]) => Promise<void>) {
  const errors: unknown[] = []
  const app = express()
  app.use(parser)
  app.use(
    createExpressRoute({
      secrets: [TEST_SECRET],
      store: createMapStore([ALICE]),
      bodyLimit: 1024,
      onError: (error) => errors.push(error),
    }),
  )
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}/talki/customer`, errors)
  } finally {
    server.closeAllConnections()
    server.close()
  }
}

describe('the Express route behind a global body parser', () => {
  const recipes: [string, RequestHandler][] = [
    ['express.json({ verify: keepRawBody })', express.json({ verify: keepRawBody })],
    [
      'express.text({ type: "*/*", verify: keepRawBody })',
      express.text({ type: '*/*', verify: keepRawBody }),
    ],
    ['express.raw({ type: "*/*" })', express.raw({ type: '*/*' })],
  ]
  for (const [name, parser] of recipes) {
    it(`answers the profile behind ${name}, and 413 past bodyLimit`, async () => {
      await behindParser(parser, async (url, errors) => {
        const wire = await postToken(url, 'usr_abc123')
        expect(wire).toMatchObject({ kind: 'response', status: 200 })
        expect(wire.kind === 'response' && JSON.parse(wire.body).name).toBe('Alice Johnson')
        // Within the parser's own limit (100 kB), past the route's.
        const big = `{"userToken":"usr_abc123","pad":"${'x'.repeat(2000)}"}`
        expect(await post(url, big, { signature: sign(TEST_SECRET, big) })).toMatchObject({
          status: 413,
          body: '{"error":"payload_too_large"}',
        })
        expect(errors).toStrictEqual([])
      })
    })
  }

  const lost: [string, RequestHandler][] = [
    ['express.json()', express.json()],
    ['express.text()', express.text({ type: '*/*' })],
  ]
  for (const [parser, handler] of lost) {
    it(`without the recipe, answers 500 internal_error and logs one line naming ${parser} and the fix`, async () => {
      await behindParser(handler, async (url, errors) => {
        const wire = await postToken(url, 'usr_abc123')
        expect(wire).toMatchObject({ kind: 'response', status: 500, body: '{"error":"internal_error"}' })
        expect(errors).toHaveLength(1)
        const error = errors[0] as Error
        expect(error.message).toBe(
          `Talki route: a body parser (${parser}) read the body before this route, so the bytes the signature covers are gone. Mount the Talki route before the parser, or keep the bytes: ${parser.slice(0, -1)}{ verify: keepRawBody }) with keepRawBody from the Talki route's express module`,
        )
        expect(error.stack).toBe(`Error: ${error.message}`)
      })
    })
  }
})
