import { readFile } from 'node:fs/promises'
import { request } from 'node:https'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../src/mock/runtime/config.js'
import { createMock, type Mock, type MockUrls } from '../../../src/mock/server.js'
import {
  hasRedisServer,
  PROPAGATION_BOUND_MS,
  type RedisServer,
  startRedis,
} from '../../../support/engines/redis.js'
import { freePort } from '../../process.js'
import { TEST_SECRET, tempDataDir } from '../../support.js'

// Two replicas in this process sharing one private redis-server: a TLS fault set through one replica's
// admin API reaches the other's new connections, and clearing it there restores both.

const redisInstalled = hasRedisServer()

/** What node:https trusting `ca` gets from a new connection: the status, or the error code. */
function attempt(url: string, ca: string, method = 'POST', body?: unknown): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { method, ca, agent: false, timeout: 3000, headers: { 'Content-Type': 'application/json' } },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
    if (method === 'DELETE') req.end()
    else req.end(body === undefined ? '{}' : JSON.stringify(body))
  })
}

/** Asks until the answer is `expected` or the bound (with a generous margin for a loaded machine) passes. */
async function eventually(ask: () => Promise<number | string>, expected: number | string, boundMs: number) {
  const deadline = Date.now() + boundMs
  let last = await ask()
  while (last !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25))
    last = await ask()
  }
  expect(last).toBe(expected)
}

describe.runIf(redisInstalled)('TLS faults across replicas (REDIS_URL)', () => {
  let redis: RedisServer
  const replicas: { mock: Mock; urls: MockUrls }[] = []
  let cleanup: () => Promise<void>
  let ca: string

  beforeAll(async () => {
    redis = await startRedis()
    const data = await tempDataDir()
    cleanup = data.cleanup
    for (const id of ['a', 'b']) {
      const config = loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        ADMIN_PORT: String(await freePort()),
        DATA_FILE: data.dataFile,
        TALKI_SECRET: TEST_SECRET,
        TLS: 'self-signed',
        REDIS_URL: redis.url,
        REPLICA_ID: id,
      })
      // The same data folder: the second replica reuses the CA the first made, as replicas behind one name do.
      const mock = await createMock(config)
      replicas.push({ mock, urls: await mock.listen() })
    }
    ca = await readFile(replicas[0]?.mock.tls?.caFile ?? '', 'utf8')
  }, 60_000)

  afterAll(async () => {
    for (const { mock } of replicas) await mock.close()
    await redis?.close()
    await cleanup?.()
  })

  it('applies a TLS fault set on one replica to the other replica’s new connections, and clears it there', async () => {
    const [a, b] = replicas
    if (!a || !b) throw new Error('two replicas expected')
    expect(await attempt(b.urls.endpoint, ca)).toBe(401)
    expect(await attempt(`${a.urls.admin}api/simulation`, ca, 'PUT', 'tls_expired')).toBe(200)
    await eventually(() => attempt(b.urls.endpoint, ca), 'CERT_HAS_EXPIRED', PROPAGATION_BOUND_MS * 10)
    expect(await attempt(a.urls.endpoint, ca)).toBe('CERT_HAS_EXPIRED')
    // The admin ports keep the good certificate: the fault can always be cleared.
    expect(await attempt(`${b.urls.admin}api/simulation`, ca, 'DELETE')).toBe(204)
    await eventually(() => attempt(a.urls.endpoint, ca), 401, PROPAGATION_BOUND_MS * 10)
    expect(await attempt(b.urls.endpoint, ca)).toBe(401)
  })
})
