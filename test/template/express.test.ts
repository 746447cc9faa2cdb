import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { describe, expect, it } from 'vitest'
import { startExpress } from '../../src/examples/express.js'
import { createExpressRoute } from '../../src/template/express.js'
import { createMapStore } from '../../src/template/map-store.js'
import { postToken } from '../process.js'
import { ALICE, TEST_SECRET } from '../support.js'
import { describeAdapter } from './adapter-cases.js'
import { onLoopback } from './on-loopback.js'

describeAdapter('Express', onLoopback(startExpress))

describe('the Express route behind a body parser', () => {
  it('answers 500 internal_error JSON and tells onError to mount it before the parser', async () => {
    const errors: unknown[] = []
    const app = express()
    app.use(express.json())
    app.use(
      createExpressRoute({
        secrets: [TEST_SECRET],
        store: createMapStore([ALICE]),
        onError: (error) => errors.push(error),
      }),
    )
    const server = app.listen(0, '127.0.0.1')
    await once(server, 'listening')
    try {
      const { port } = server.address() as AddressInfo
      const wire = await postToken(`http://127.0.0.1:${port}/talki/customer`, 'usr_abc123')
      expect(wire).toMatchObject({ kind: 'response', status: 500, body: '{"error":"internal_error"}' })
      expect(String(errors[0])).toContain('mount it before any body parser')
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})
