import { afterAll, beforeAll, expect, it } from 'vitest'
import { type StartedMock, startMock } from '../../src/testing/index.js'

let mock: StartedMock
beforeAll(async () => {
  mock = await startMock()
})
afterAll(() => mock.close())

const call = (token: string, timeoutMs = 5000) => {
  const body = JSON.stringify({ userToken: token })
  const headers = { 'content-type': 'application/json', 'x-talki-signature': mock.sign(body) }
  return fetch(mock.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) })
}

it('serves the seed, signed with its own secret', async () => {
  expect((await call('usr_abc123')).status).toBe(200)
})

it('slow makes a caller with a 5 s budget give up, and the log says so', async () => {
  await mock.simulate('slow', { delayMs: 6000 })
  await expect(call('usr_abc123')).rejects.toThrow()
  const [entry] = await mock.waitForRequests(1, { token: 'usr_abc123', timeoutMs: 5000 })
  expect(entry?.callerGaveUpMs).toBeGreaterThanOrEqual(4900)
  await mock.reset()
}, 20_000)

it('not_found for one user only', async () => {
  await mock.simulate('not_found', {}, { token: 'usr_abc123' })
  expect((await call('usr_abc123')).status).toBe(404)
  const entries = await mock.waitForRequests(1, { token: 'usr_abc123' })
  expect(entries[0]).toMatchObject({ method: 'POST', status: 404, scenario: 'not_found' })
})
