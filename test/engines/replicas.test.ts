import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { RequestLogEntry } from '../../src/mock/state/request-log.js'
import type { UserRecord } from '../../src/mock/users/record.js'
import {
  hasRedisServer,
  PROPAGATION_BOUND_MS,
  type RedisServer,
  startRedis,
} from '../../support/engines/redis.js'
import {
  build,
  freePort,
  killAll,
  pollFor,
  postToken,
  privateBuildDir,
  requestJson,
  type ServerProcess,
  sleep,
  startServer,
  until,
} from '../process.js'
import { ALICE, TEST_SECRET } from '../support.js'

// Replicas as QA runs them: two or three `node dist/mock/main.js` processes sharing one real
// redis-server (REDIS_URL), each with its own copy of the users. Everything is observed over the wire.

const RUN = hasRedisServer()
const USERS: UserRecord[] = [
  structuredClone(ALICE),
  { userToken: 'usr_flaky', name: 'Flaky', simulate: { scenario: 'flaky', windowMs: 10_000 } },
  { userToken: 'usr_down', name: 'Down', simulate: { scenario: 'down', durationMs: 20_000 } },
]
const BUILD_DIR = privateBuildDir('replicas-test')
const ENTRY = join(BUILD_DIR, 'mock/main.js')

interface Replica {
  id: string
  server: ServerProcess
  endpoint: string
  admin: string
}

let redis: RedisServer
let dir = ''
let prefix = ''
let run = 0

beforeAll(async () => {
  if (!RUN) return
  build(BUILD_DIR)
  redis = await startRedis()
}, 120_000)
afterAll(async () => {
  await redis?.close()
})
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'talki-replicas-'))
  // A prefix per test: no state leaks from one test to the next.
  prefix = `test${++run}:`
})
afterEach(async () => {
  await killAll()
  await rm(dir, { recursive: true, force: true })
})

async function replica(id: string, extra: Record<string, string> = {}): Promise<Replica> {
  const dataFile = join(dir, `${id}.json`)
  await writeFile(dataFile, `${JSON.stringify({ users: USERS })}\n`)
  const server = startServer(
    {
      PORT: '0',
      ADMIN_PORT: String(await freePort()),
      DATA_FILE: dataFile,
      TALKI_SECRET: TEST_SECRET,
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      REPLICA_ID: id,
      LOOKUP_TIMEOUT_MS: '1500',
      ...extra,
    },
    ENTRY,
  )
  const endpoint = String((await server.waitForLog('endpoint listening')).url)
  const admin = String((await server.waitForLog('admin listening')).url).replace(/\/$/, '')
  return { id, server, endpoint, admin }
}

const replicas = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => replica(`r${i + 1}`)))
const status = async (url: string, token = 'usr_abc123') => {
  const wire = await postToken(url, token)
  return wire.kind === 'response' ? wire.status : wire.kind === 'error' ? wire.code : 'timeout'
}

describe.runIf(RUN)('replicas sharing Redis', () => {
  it('an override set on one replica applies on the others within PROPAGATION_BOUND_MS (the README promises 100 ms), and DELETE clears it everywhere', async () => {
    const [a, b, c] = await replicas(3)
    if (!a || !b || !c) throw new Error('three replicas')
    expect(await status(b.endpoint)).toBe(200)
    const put = await requestJson('PUT', `${a.admin}/api/simulation`, { scenario: 'not_found' })
    expect(put.status).toBe(200)
    // Polled without pause on both others. The README promises 100 ms; the bound leaves room for a loaded
    // 2-core CI machine running other test files at once (unloaded, the change shows in a few ms).
    const applied = await Promise.all(
      [b, c].map((r) => pollFor(() => status(r.endpoint), 404, PROPAGATION_BOUND_MS)),
    )
    expect(applied.map((seen) => seen.value)).toEqual([404, 404])
    expect(Math.max(...applied.map((seen) => seen.ms))).toBeLessThan(PROPAGATION_BOUND_MS)
    expect((await requestJson('GET', `${c.admin}/api/simulation`)).body).toMatchObject({
      override: { scenario: 'not_found' },
    })
    expect((await requestJson('DELETE', `${c.admin}/api/simulation`)).status).toBe(204)
    const cleared = await Promise.all(
      [a, b].map((r) => pollFor(() => status(r.endpoint), 200, PROPAGATION_BOUND_MS)),
    )
    expect(cleared.map((seen) => seen.value)).toEqual([200, 200])
    expect(Math.max(...cleared.map((seen) => seen.ms))).toBeLessThan(PROPAGATION_BOUND_MS)
  })

  it('count: 5 is consumed exactly 5 times across three replicas under concurrent load', async () => {
    const all = await replicas(3)
    const [a] = all
    if (!a) throw new Error('replicas')
    const put = await requestJson('PUT', `${a.admin}/api/simulation`, {
      scenario: 'error',
      status: 503,
      count: 5,
    })
    expect(put.body).toMatchObject({ remaining: 5 })
    await sleep(50) // the notice reaches every replica
    const statuses = await Promise.all(
      Array.from({ length: 90 }, (_, i) => status(all[i % 3]?.endpoint ?? '')),
    )
    expect(statuses.filter((s) => s === 503)).toHaveLength(5)
    expect(statuses.filter((s) => s === 200)).toHaveLength(85)
    expect((await requestJson('GET', `${all[2]?.admin}/api/simulation`)).body).toMatchObject({
      override: null,
      remaining: null,
    })
  })

  it('sequences and flaky windows advance per token across replicas', async () => {
    const [a, b] = await replicas(2)
    if (!a || !b) throw new Error('two replicas')
    // usr_flaky's own `flaky`: Talki's attempt fails on one replica, the retry on the other gets data.
    expect(await status(a.endpoint, 'usr_flaky')).toBe(503)
    expect(await status(b.endpoint, 'usr_flaky')).toBe(200)
    expect(await status(a.endpoint, 'usr_flaky')).toBe(200)

    await requestJson('PUT', `${b.admin}/api/simulation`, { sequence: ['error', 'not_found', 'ok'] })
    await sleep(50)
    expect(await status(a.endpoint)).toBe(500)
    expect(await status(b.endpoint)).toBe(404)
    expect(await status(a.endpoint)).toBe(200)
    expect(await status(b.endpoint)).toBe(200)
    // Another token starts its own sequence.
    expect(await status(b.endpoint, 'usr_flaky')).toBe(500)
    // POST /api/reset rewinds every sequence (and clears the override).
    expect((await requestJson('POST', `${a.admin}/api/reset`)).status).toBe(204)
    await sleep(50)
    expect(await status(a.endpoint, 'usr_flaky')).toBe(503)

    // A window without a request for that token rewinds it, whichever replica served it last.
    await requestJson('PUT', `${a.admin}/api/simulation`, { sequence: ['error', 'ok'], windowMs: 400 })
    await sleep(50)
    expect(await status(a.endpoint)).toBe(500)
    expect(await status(b.endpoint)).toBe(200)
    await sleep(600)
    expect(await status(b.endpoint)).toBe(500)
    expect(await status(a.endpoint)).toBe(200)
  })

  it('a down closes every replica’s port, a replica started meanwhile stays down, and DELETE reopens all', async () => {
    const [a, b] = await replicas(2)
    if (!a || !b) throw new Error('two replicas')
    await requestJson('PUT', `${a.admin}/api/simulation`, { scenario: 'down', durationMs: 20_000 })
    await sleep(100)
    expect(await status(a.endpoint)).toBe('ECONNREFUSED')
    expect(await status(b.endpoint)).toBe('ECONNREFUSED')
    const late = await replica('r3')
    await sleep(100)
    expect(await status(late.endpoint)).toBe('ECONNREFUSED')
    expect((await requestJson('GET', `${b.admin}/healthz`)).status).toBe(200)

    const reopenAll = async (via: Replica) => {
      expect((await requestJson('DELETE', `${via.admin}/api/simulation`)).status).toBe(204)
      const reopened = await Promise.all(
        [a, b, late].map((r) => pollFor(() => status(r.endpoint), 200, 1000, 10)),
      )
      expect(reopened.map((seen) => seen.value)).toEqual([200, 200, 200])
    }
    await reopenAll(b)

    // A user's own `down` (usr_down) takes every replica down too.
    expect(await status(late.endpoint, 'usr_down')).toBe('ECONNRESET')
    await sleep(100)
    expect(await status(a.endpoint)).toBe('ECONNREFUSED')
    expect(await status(b.endpoint)).toBe('ECONNREFUSED')
    await reopenAll(a)
  })

  it('one request log and one stream for every replica, each entry naming its replica', async () => {
    const [a, b] = await replicas(2)
    if (!a || !b) throw new Error('two replicas')
    const streamed: RequestLogEntry[] = []
    const stream = openStream(`${b.admin}/api/requests/stream`, (entry) => streamed.push(entry))
    await stream.opened
    try {
      // Each entry reaches the stream (on the other replica too) before the next request is sent, so the
      // order is known: entries from different replicas are ordered by when they reach Redis.
      expect(await status(a.endpoint)).toBe(200)
      await until(() => streamed.length >= 1, 2000)
      expect(await status(b.endpoint, 'usr_nobody')).toBe(404)
      await until(() => streamed.length >= 2, 2000)
      expect(await status(a.endpoint)).toBe(200)
      await until(() => streamed.length >= 3, 2000)
      expect(streamed.map((e) => [e.replica, e.token, e.status])).toEqual([
        ['r1', 'usr_abc123', 200],
        ['r2', 'usr_nobody', 404],
        ['r1', 'usr_abc123', 200],
      ])
      const listed = (await requestJson('GET', `${a.admin}/api/requests`)).body as {
        requests: RequestLogEntry[]
      }
      // Newest first.
      expect(listed.requests.map((e) => [e.replica, e.token, e.status])).toEqual([
        ['r1', 'usr_abc123', 200],
        ['r2', 'usr_nobody', 404],
        ['r1', 'usr_abc123', 200],
      ])
      expect(listed.requests.toReversed()).toEqual(streamed)
      const ids = listed.requests.map((e) => e.id)
      expect(new Set(ids).size).toBe(3)
      // The second request for usr_abc123 knows when the first ended, on whichever replica.
      expect(listed.requests[0]?.sincePreviousMs).toEqual(expect.any(Number))
      expect(listed.requests[2]?.sincePreviousMs).toBeNull()
    } finally {
      stream.close()
    }
    expect((await requestJson('POST', `${b.admin}/api/reset`)).status).toBe(204)
    expect((await requestJson('GET', `${a.admin}/api/requests`)).body).toEqual({ requests: [] })
  })

  it('Redis lost mid-run: no 500, no hang, /readyz 503 until it is back, then the shared state works again', async () => {
    const [a, b] = await replicas(2)
    if (!a || !b) throw new Error('two replicas')
    expect((await requestJson('GET', `${a.admin}/readyz`)).body).toEqual({ ready: true })
    await requestJson('PUT', `${a.admin}/api/simulation`, { sequence: ['error', 'ok'] })
    await sleep(50)
    await redis.stop()

    const startedAt = performance.now()
    const wires = await Promise.all(
      [a, b].map((r) => postToken(r.endpoint, 'usr_abc123', { timeoutMs: 5000 })),
    )
    for (const wire of wires) {
      expect(wire.kind).toBe('response')
      if (wire.kind !== 'response') continue
      expect(wire.status).toBe(503)
      expect(JSON.parse(wire.body)).toEqual({ error: 'store_unavailable' })
    }
    // Within LOOKUP_TIMEOUT_MS (1500 here).
    expect(performance.now() - startedAt).toBeLessThan(1500)
    const ready = await requestJson('GET', `${b.admin}/readyz`)
    expect(ready).toEqual({ status: 503, body: { ready: false, failing: ['redis'] } })
    expect((await requestJson('GET', `${b.admin}/healthz`)).status).toBe(200)
    const put = await requestJson('PUT', `${a.admin}/api/simulation`, { scenario: 'not_found' })
    expect(put).toEqual({ status: 503, body: { error: 'store_unavailable' } })

    await redis.start() // empty: the override is gone with the old server
    const back = await Promise.all(
      [a, b].map((r) =>
        pollFor(async () => (await requestJson('GET', `${r.admin}/readyz`)).status, 200, 5000, 50),
      ),
    )
    expect(back.map((seen) => seen.value)).toEqual([200, 200])
    expect(await status(a.endpoint)).toBe(200)
    expect(
      (await requestJson('PUT', `${a.admin}/api/simulation`, { scenario: 'not_found', count: 1 })).status,
    ).toBe(200)
    await sleep(50)
    expect(await status(b.endpoint)).toBe(404)
    expect(await status(a.endpoint)).toBe(200)
    expect(a.server.stdout() + b.server.stdout()).not.toMatch(/"level":50/)
  })

  it('a Redis that hangs: answers 503 store_unavailable at LOOKUP_TIMEOUT_MS, not later, and /readyz 503', async () => {
    const [a] = await replicas(1)
    if (!a) throw new Error('one replica')
    await requestJson('PUT', `${a.admin}/api/simulation`, { sequence: ['error', 'ok'] })
    redis.pause()
    try {
      const wire = await postToken(a.endpoint, 'usr_abc123', { timeoutMs: 5000 })
      expect(wire.kind).toBe('response')
      if (wire.kind === 'response') {
        expect(wire.status).toBe(503)
        expect(JSON.parse(wire.body)).toEqual({ error: 'store_unavailable' })
        // LOOKUP_TIMEOUT_MS is 1500 here.
        expect(wire.ms).toBeGreaterThanOrEqual(1400)
        expect(wire.ms).toBeLessThan(2500)
      }
      expect(await requestJson('GET', `${a.admin}/readyz`)).toEqual({
        status: 503,
        body: { ready: false, failing: ['redis'] },
      })
    } finally {
      redis.resume()
    }
    const resumed = await pollFor(
      async () => (await requestJson('GET', `${a.admin}/readyz`)).status,
      200,
      3000,
      50,
    )
    expect(resumed.value).toBe(200)
  })

  it('a password in REDIS_URL reaches no log line, whether Redis answers, is lost or comes back', async () => {
    const PASSWORD = 'pw-never-logged-7c1e'
    const guarded = await startRedis({ password: PASSWORD })
    try {
      const dataFile = join(dir, 'guarded.json')
      await writeFile(dataFile, `${JSON.stringify({ users: USERS })}\n`)
      const server = startServer(
        {
          PORT: '0',
          ADMIN_PORT: String(await freePort()),
          DATA_FILE: dataFile,
          TALKI_SECRET: TEST_SECRET,
          REDIS_URL: guarded.url,
          LOG_LEVEL: 'debug',
        },
        ENTRY,
      )
      const endpoint = String((await server.waitForLog('endpoint listening')).url)
      expect(await status(endpoint)).toBe(200)
      await guarded.stop()
      const lost = await server.waitForLog('redis connection lost')
      expect(String(lost.redis)).toContain('***')
      await guarded.start()
      await server.waitForLog('redis connection back')
      expect(await status(endpoint)).toBe(200)
      expect(server.stdout() + server.stderr()).not.toContain(PASSWORD)
    } finally {
      await guarded.close()
    }
  })

  it('an unreachable Redis at start: exit 1, one line naming REDIS_URL and the host, no password', async () => {
    const port = await freePort()
    await writeFile(join(dir, 'db.json'), `${JSON.stringify({ users: USERS })}\n`)
    const server = startServer(
      {
        PORT: '0',
        ADMIN_PORT: 'off',
        DATA_FILE: join(dir, 'db.json'),
        TALKI_SECRET: TEST_SECRET,
        REDIS_URL: `redis://default:s3cret-pass@127.0.0.1:${port}/0`,
      },
      ENTRY,
    )
    const { code } = await server.exited
    expect(code).toBe(1)
    const lines = server.stderr().split('\n').filter(Boolean)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('REDIS_URL')
    expect(lines[0]).toContain(`127.0.0.1:${port}`)
    expect(server.stderr() + server.stdout()).not.toContain('s3cret-pass')
  })
})

/** Reads the admin API's SSE stream with node:http; `opened` resolves on the `: connected` comment. */
function openStream(url: string, onEntry: (entry: RequestLogEntry) => void) {
  let resolveOpened: () => void = () => {}
  const opened = new Promise<void>((resolve) => {
    resolveOpened = resolve
  })
  const req = request(url, { agent: false })
  let buffer = ''
  req.on('response', (res) => {
    res.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk
      let end = buffer.indexOf('\n\n')
      while (end !== -1) {
        const event = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        if (event.startsWith(': connected')) resolveOpened()
        if (event.startsWith('data: ')) onEntry(JSON.parse(event.slice(6)) as RequestLogEntry)
        end = buffer.indexOf('\n\n')
      }
    })
  })
  req.on('error', () => {})
  req.end()
  return { opened, close: () => req.destroy() }
}
