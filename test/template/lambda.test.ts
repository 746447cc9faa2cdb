import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { createLambdaHandler } from '../../src/template/lambda.js'
import { createMapStore } from '../../src/template/map-store.js'
import { ALICE, TEST_SECRET } from '../support.js'
import { describeAdapter } from './adapter-cases.js'
import { lambdaShim } from './lambda-shim.mjs'

for (const base64 of [true, false]) {
  describeAdapter(
    `Lambda (v2 events, ${base64 ? 'base64' : 'text'} bodies)`,
    async (options) => {
      const server = lambdaShim(createLambdaHandler(options), { base64 })
      server.listen(0, '127.0.0.1')
      await once(server, 'listening')
      const { port } = server.address() as AddressInfo
      return {
        url: new URL(`http://127.0.0.1:${port}`),
        close: async () => {
          server.closeAllConnections()
          server.close()
        },
      }
    },
    { buffered: true },
  )
}

describe('createLambdaHandler', () => {
  const handler = createLambdaHandler({ secrets: [TEST_SECRET], store: createMapStore([ALICE]) })
  const body = '{"userToken":"usr_abc123"}'
  // printf '%s' '{"userToken":"usr_abc123"}' | openssl dgst -sha256 -hmac 'test-secret-0123456789'
  const signature = 'c9db3bfddcfc85e7f43790bfef0ccc2618adf476fbcbbd85227d8cf481212bd7'

  it('answers a function URL event with a base64 body', async () => {
    const result = await handler({
      rawPath: '/',
      headers: { 'x-talki-signature': signature, 'content-type': 'application/json' },
      body: Buffer.from(body).toString('base64'),
      isBase64Encoded: true,
      requestContext: { http: { method: 'POST' } },
    })
    expect(result.statusCode).toBe(200)
    expect(JSON.parse(result.body)).toMatchObject({ name: 'Alice Johnson', plan: 'pro' })
    expect(result.headers['Cache-Control']).toBe('no-store')
    expect(result.isBase64Encoded).toBe(false)
  })

  it('answers 401 when the signature covers other bytes than the decoded body', async () => {
    const result = await handler({
      headers: { 'x-talki-signature': signature },
      body: Buffer.from(`${body} `).toString('base64'),
      isBase64Encoded: true,
      requestContext: { http: { method: 'POST' } },
    })
    expect(result).toMatchObject({ statusCode: 401, body: '{"error":"invalid_signature"}' })
  })

  it('answers 503 for a store without find, and 500 internal_error JSON (told to onError) for a non-event', async () => {
    const errors: unknown[] = []
    const broken = createLambdaHandler({
      secrets: [TEST_SECRET],
      store: {} as never,
      onError: (error) => errors.push(error),
    })
    const result = await broken({
      headers: { 'x-talki-signature': signature },
      body,
      requestContext: { http: { method: 'POST' } },
    })
    expect(result).toMatchObject({ statusCode: 503, body: '{"error":"store_unavailable"}' })
    const noEvent = await broken(undefined as never)
    expect(noEvent).toMatchObject({ statusCode: 500, body: '{"error":"internal_error"}' })
    expect(errors).toHaveLength(1)
  })
})
