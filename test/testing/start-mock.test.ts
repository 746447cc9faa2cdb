import { afterAll, beforeAll, expect, it } from 'vitest'
import { connectMock, type StartedMock, startMock } from '../../src/testing/index.js'

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

it('connectMock finds the endpoint from the admin API and drives the same mock', async () => {
  const remote = await connectMock(mock.adminUrl, { secret: mock.secret })
  expect(remote.url).toBe(mock.url)
  await remote.reset()
  await remote.users.put({ userToken: 'usr_qa', name: 'QA Person' })
  expect((await call('usr_qa')).status).toBe(200)
  expect(await remote.waitForRequests(1, { token: 'usr_qa', status: 200 })).toHaveLength(1)
  expect(await remote.users.patch('usr_qa', { name: null, plan: 'free' })).toEqual({
    userToken: 'usr_qa',
    plan: 'free',
  })
  expect(await remote.users.delete('usr_qa')).toBe(true)
  expect(await remote.users.delete('usr_qa')).toBe(false)
  expect(await remote.users.get('usr_qa')).toBeUndefined()
})

it('two mocks side by side share nothing; records and SIMULATE are options', async () => {
  // Time from startMock() to ready, printed for docs/qa.md: npx vitest run test/testing/start-mock.test.ts
  const started = performance.now()
  const [a, b] = await Promise.all([
    startMock({ users: [{ userToken: 'only_a', name: 'A' }] }),
    startMock({ simulate: 'error:503' }),
  ])
  console.log(`startMock() to ready, two at once: ${Math.round(performance.now() - started)} ms`)
  try {
    const post = (m: StartedMock, token: string) => {
      const body = JSON.stringify({ userToken: token })
      return fetch(m.url, { method: 'POST', headers: { 'x-talki-signature': m.sign(body) }, body })
    }
    expect((await post(a, 'only_a')).status).toBe(200)
    expect((await post(a, 'usr_abc123')).status).toBe(404)
    expect((await post(b, 'usr_abc123')).status).toBe(503)
    expect(a.secret).not.toBe(b.secret)
    expect(await b.requests({ status: 503 })).toHaveLength(1)
    expect(await a.requests()).toHaveLength(2)
  } finally {
    await Promise.all([a.close(), b.close()])
  }
})

it('a mock per test: start and close', async () => {
  // The cost of a mock in each test, printed for docs/qa.md: npx vitest run test/testing/start-mock.test.ts
  const runs = 10
  const started = performance.now()
  for (let i = 0; i < runs; i++) {
    const each = await startMock()
    await each.close()
  }
  const perMock = (performance.now() - started) / runs
  console.log(`startMock() + close(), mean of ${runs}: ${Math.round(perMock)} ms`)
  expect(perMock).toBeLessThan(5000)
}, 60_000)
