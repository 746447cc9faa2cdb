import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { UserRecord } from '../../src/mock/users/record.js'
import { sign } from '../../src/template/signature.js'
import {
  build,
  freePort,
  killAll,
  post,
  postToken,
  privateBuildDir,
  requestJson,
  type ServerProcess,
  sleep,
  startServer,
  until,
} from '../process.js'
import { ALICE, TEST_SECRET } from '../support.js'

// The server as QA runs it: `node dist/mock/main.js` in a child process, observed through its exit code, its
// output and real sockets.

const USERS: UserRecord[] = [
  structuredClone(ALICE),
  { userToken: 'usr_slow_1500', name: 'Slow', simulate: { scenario: 'slow', delayMs: 1500 } },
  { userToken: 'usr_slow_5000', name: 'Slower', simulate: { scenario: 'slow', delayMs: 5000 } },
  { userToken: 'usr_hang', name: 'Hang', simulate: { scenario: 'hang', maxMs: 60_000 } },
]

let dir = ''
let dataFile = ''

// Built into a folder of its own: other test files may build or run dist/ at the same time.
const BUILD_DIR = privateBuildDir('main-test')
const ENTRY = join(BUILD_DIR, 'mock/main.js')
beforeAll(() => build(BUILD_DIR), 120_000)

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'talki-main-'))
  dataFile = join(dir, 'db.json')
  await writeFile(dataFile, `${JSON.stringify({ users: USERS })}\n`)
})

afterEach(async () => {
  await killAll()
  await rm(dir, { recursive: true, force: true })
})

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: '0',
    ADMIN_PORT: 'off',
    DATA_FILE: dataFile,
    TALKI_SECRET: TEST_SECRET,
    LOG_LEVEL: 'info',
    ...extra,
  }
}

async function started(extra: Record<string, string> = {}): Promise<{ server: ServerProcess; url: string }> {
  const server = startServer(env(extra), ENTRY)
  const line = await server.waitForLog('endpoint listening')
  return { server, url: String(line.url) }
}

/** Runs a server that must refuse to start; resolves with its exit code and output. */
async function refusedStart(extra: Record<string, string>) {
  const server = startServer(extra, ENTRY)
  const { code } = await Promise.race([
    server.exited,
    sleep(10_000).then(() => ({ code: 'still running' as const })),
  ])
  return { code, stdout: server.stdout(), stderrLines: server.stderr().split('\n').filter(Boolean) }
}

describe('start-up', () => {
  it('says first where the endpoint, admin API, dashboard, data file and secret are, and which store and state', async () => {
    const { server, url } = await started({ ADMIN_PORT: '0' })
    const { admin } = await server.waitForLog('ready')
    const adminPort = new URL(String(admin)).port
    const port = new URL(url).port
    expect(adminPort).not.toBe('0')
    expect(server.logs().map(({ level, time, ...line }) => line)).toEqual([
      { msg: 'endpoint listening', address: `0.0.0.0:${port}`, url },
      { msg: 'admin listening', address: `127.0.0.1:${adminPort}`, url: admin },
      { msg: 'dashboard', url: admin },
      { msg: 'store:', engine: 'JSON file', file: dataFile, users: USERS.length },
      { msg: 'state:', engine: 'in memory (this process)' },
      { msg: 'signing secret from TALKI_SECRET (not shown)', count: 1 },
      { msg: 'ready', endpoint: url, admin },
    ])
    expect(server.stdout()).not.toContain(TEST_SECRET)
    expect(await requestJson('GET', `${admin}healthz`)).toEqual({ status: 200, body: { ok: true } })
  })

  it('READY_FILE: both URLs written once the ports listen, the file gone once it stops', async () => {
    const readyFile = join(dir, 'ready.json')
    await writeFile(readyFile, '{"endpoint":"stale"}')
    const server = startServer(env({ ADMIN_PORT: '0', READY_FILE: readyFile, LOG_LEVEL: 'warn' }), ENTRY)
    let ready: { endpoint: string; admin: string } | undefined
    await until(() => {
      readFile(readyFile, 'utf8').then(
        (text) => {
          ready = JSON.parse(text)
        },
        () => {},
      )
      return ready !== undefined && ready.endpoint !== 'stale'
    }, 10_000)
    expect(Object.keys(ready ?? {})).toEqual(['endpoint', 'admin'])
    expect(ready?.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/talki\/customer$/)
    expect(await postToken(String(ready?.endpoint), 'usr_abc123')).toMatchObject({ status: 200 })
    expect(await requestJson('GET', `${ready?.admin}healthz`)).toEqual({ status: 200, body: { ok: true } })
    server.child.kill('SIGTERM')
    expect((await server.exited).code).toBe(0)
    await expect(stat(readyFile)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('ADMIN_PORT=off: no admin API, and the ready line says so', async () => {
    const { server } = await started({ ADMIN_PORT: 'off' })
    expect(await server.waitForLog('ready')).toMatchObject({ admin: null })
    expect(server.logs().map((line) => line.msg)).toContain('admin API and dashboard off (ADMIN_PORT=off)')
  })

  it('LOG_FORMAT=pretty: readable lines with the level, time, message and the URLs in plain text', async () => {
    const adminPort = await freePort()
    const server = startServer(env({ LOG_FORMAT: 'pretty', ADMIN_PORT: String(adminPort) }), ENTRY)
    await until(() => server.stdout().includes('signing secret'), 10_000)
    const lines = server.stdout().trim().split('\n')
    expect(lines[0]).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: endpoint listening on 0\.0\.0\.0:(\d+) — http:\/\/127\.0\.0\.1:\1\/talki\/customer$/,
    )
    expect(lines).toContain(`${lines[2]?.slice(0, 15)}INFO: dashboard http://127.0.0.1:${adminPort}/`)
    expect(lines.some((line) => line.endsWith(`store: JSON file ${dataFile} (${USERS.length} users)`))).toBe(
      true,
    )
    for (const line of lines) expect(() => JSON.parse(line)).toThrow()
  })

  it('a port in use: exit 1 and one line naming the variable to change', async () => {
    const { url } = await started()
    const port = new URL(url).port
    const taken = await refusedStart(env({ PORT: port }))
    expect(taken.code).toBe(1)
    expect(taken.stderrLines).toEqual([
      `PORT ${port} is in use (0.0.0.0:${port}): stop what listens there, or set PORT=<another port> (PORT=0 picks a free one)`,
    ])
    const admin = await refusedStart(env({ ADMIN_PORT: port, ADMIN_HOST: '127.0.0.1' }))
    expect(admin.code).toBe(1)
    expect(admin.stderrLines).toEqual([
      `ADMIN_PORT ${port} is in use (127.0.0.1:${port}): stop what listens there, or set ADMIN_PORT=<another port> (ADMIN_PORT=0 picks a free one)`,
    ])
  })

  it("a request for the endpoint on the admin port: 404 naming the endpoint's port", async () => {
    const adminPort = await freePort()
    const { url } = await started({ ADMIN_PORT: String(adminPort) })
    const wrong = await post(`http://127.0.0.1:${adminPort}/talki/customer`, '{"userToken":"usr_abc123"}')
    expect(wrong).toMatchObject({ kind: 'response', status: 404 })
    const body = JSON.parse((wrong as { body: string }).body)
    expect(body.error).toBe('not_found')
    expect(body.issues[0].message).toContain(`port ${new URL(url).port}`)
  })

  it('PORT=0 picks a free port, logs it, and serves there', async () => {
    const { url } = await started()
    const port = Number(new URL(url).port)
    expect(port).toBeGreaterThan(0)
    expect(url).toBe(`http://127.0.0.1:${port}/talki/customer`)
    const wire = await postToken(url, 'usr_abc123')
    expect(wire).toMatchObject({ kind: 'response', status: 200 })
  })

  it('without TALKI_SECRET creates data/.secret (0600) and prints it once with a curl that works', async () => {
    const { TALKI_SECRET: _, ...noSecret } = env()
    const first = startServer(noSecret, ENTRY)
    await first.waitForLog('signing secret created in')
    // Printed right after the first lines, once the ports are known.
    await until(() => first.stdout().includes('curl -s'), 5000)
    const secretFile = join(dir, '.secret')
    const secret = (await readFile(secretFile, 'utf8')).trim()
    expect(secret).toMatch(/^[0-9a-f]{64}$/)
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600)
    expect(first.stdout().split(secret).length - 1).toBe(1)

    const curl =
      /curl -s (\S+) -H 'Content-Type: application\/json' -H 'X-Talki-Signature: ([0-9a-f]{64})' -d '([^']*)'/.exec(
        first.stdout(),
      )
    expect(curl).not.toBeNull()
    const [, url = '', signature = '', body = ''] = curl ?? []
    expect(signature).toBe(sign(secret, body))
    const wire = await post(url, body, { signature })
    expect(wire).toMatchObject({ kind: 'response', status: 200 })
    if (wire.kind === 'response') expect(JSON.parse(wire.body)).toMatchObject({ name: 'Alice Johnson' })

    first.child.kill('SIGTERM')
    expect((await first.exited).code).toBe(0)
    const second = startServer(noSecret, ENTRY)
    const line = await second.waitForLog('endpoint listening')
    expect(second.stdout()).not.toContain(secret)
    expect(second.stdout()).not.toContain('curl')
    // The same secret is reused: a request signed with it is answered.
    const again = await post(String(line.url), body, { signature })
    expect(again).toMatchObject({ kind: 'response', status: 200 })
  })

  it('never prints or logs a TALKI_SECRET given in the environment', async () => {
    const secret = 'env-given-secret-9f8e7d6c5b4a'
    const { server, url } = await started({ TALKI_SECRET: secret })
    const body = JSON.stringify({ userToken: 'usr_abc123' })
    expect(await post(url, body, { signature: sign(secret, body) })).toMatchObject({ status: 200 })
    expect(await post(url, body, { signature: 'ab'.repeat(32) })).toMatchObject({ status: 401 })
    expect(await post(url, body, { signature: null })).toMatchObject({ status: 401 })
    server.child.kill('SIGTERM')
    expect((await server.exited).code).toBe(0)
    expect(server.logs().filter((line) => line.msg === 'request')).toHaveLength(3)
    expect(server.stdout()).not.toContain(secret)
    expect(server.stderr()).not.toContain(secret)
    expect(server.stdout()).not.toContain(sign(secret, body))
  })
})

describe('refusing to start', () => {
  it.each([
    ['PORT=abc', 'PORT', { PORT: 'abc' }],
    ['TALKI_SECRET= (empty)', 'TALKI_SECRET', { TALKI_SECRET: '' }],
    [
      'NODE_ENV=production without a secret',
      'TALKI_SECRET',
      { TALKI_SECRET: 'unset', NODE_ENV: 'production' },
    ],
  ])('%s: exit 1 and one stderr line naming %s', async (_, name, extra) => {
    const given = env(extra)
    if (given.TALKI_SECRET === 'unset') delete given.TALKI_SECRET
    const { code, stdout, stderrLines } = await refusedStart(given)
    expect(code).toBe(1)
    expect(stderrLines).toHaveLength(1)
    expect(stderrLines[0]).toContain(name)
    expect(stdout).toBe('')
  })

  it.each([
    ['invalid JSON', '{"users": [ {"userToken": "usr_a"}, '],
    ['a bad record', `${JSON.stringify({ users: [structuredClone(ALICE), { userToken: 42 }] })}\n`],
  ])('a store file with %s: exit 1, one line naming the file, the file unchanged', async (_, bytes) => {
    await writeFile(dataFile, bytes)
    const { code, stderrLines } = await refusedStart(env())
    expect(code).toBe(1)
    expect(stderrLines).toHaveLength(1)
    expect(stderrLines[0]).toContain(dataFile)
    expect(await readFile(dataFile, 'utf8')).toBe(bytes)
  })
})

describe('SIGTERM', () => {
  it('lets a slow request in flight finish, then exits 0', async () => {
    const { server, url } = await started()
    const slow = postToken(url, 'usr_slow_1500', { timeoutMs: 5000 })
    await sleep(300)
    const signalledAt = performance.now()
    server.child.kill('SIGTERM')
    await server.waitForLog('shutting down: draining requests')
    // No new connections once draining.
    expect(await postToken(url, 'usr_abc123', { timeoutMs: 1000 })).toMatchObject({
      kind: 'error',
      code: 'ECONNREFUSED',
    })
    const wire = await slow
    expect(wire).toMatchObject({ kind: 'response', status: 200 })
    const { code, at } = await server.exited
    expect(code).toBe(0)
    expect(at - signalledAt).toBeLessThan(3000)
  })

  it('cuts a hang at once and exits 0 quickly', async () => {
    const { server, url } = await started()
    const hang = postToken(url, 'usr_hang', { timeoutMs: 5000 })
    await sleep(300)
    const signalledAt = performance.now()
    server.child.kill('SIGTERM')
    const wire = await hang
    expect(wire).toMatchObject({ kind: 'error', code: 'ECONNRESET' })
    expect(wire.ms).toBeLessThan(1500)
    const { code, at } = await server.exited
    expect(code).toBe(0)
    expect(at - signalledAt).toBeLessThan(1500)
  })

  it('a second signal during the drain exits 1 at once', async () => {
    const { server, url } = await started()
    const slow = postToken(url, 'usr_slow_5000', { timeoutMs: 8000 })
    await sleep(300)
    server.child.kill('SIGTERM')
    await server.waitForLog('shutting down: draining requests')
    const secondAt = performance.now()
    server.child.kill('SIGTERM')
    const { code, at } = await server.exited
    expect(code).toBe(1)
    expect(at - secondAt).toBeLessThan(1000)
    expect((await slow).kind).toBe('error')
  })

  it('SHUTDOWN_TIMEOUT_MS bounds the drain', async () => {
    const { server, url } = await started({ SHUTDOWN_TIMEOUT_MS: '500' })
    const slow = postToken(url, 'usr_slow_5000', { timeoutMs: 8000 })
    await sleep(300)
    const signalledAt = performance.now()
    server.child.kill('SIGTERM')
    const { code, at } = await server.exited
    expect(code).toBe(0)
    expect(at - signalledAt).toBeGreaterThanOrEqual(450)
    expect(at - signalledAt).toBeLessThan(2000)
    expect((await slow).kind).toBe('error')
  })
})

describe('SIMULATE=down:800', () => {
  it('refuses connections at first and serves after about 800 ms', async () => {
    const server = startServer(env({ SIMULATE: 'down:800' }), ENTRY)
    const down = await server.waitForLog('endpoint down at start (SIMULATE)')
    const downAt = performance.now()
    const url = String(down.url)
    expect(await postToken(url, 'usr_abc123', { timeoutMs: 1000 })).toMatchObject({
      kind: 'error',
      code: 'ECONNREFUSED',
    })
    let refused = 1
    for (;;) {
      const wire = await postToken(url, 'usr_abc123', { timeoutMs: 1000 })
      if (wire.kind === 'response') {
        expect(wire.status).toBe(200)
        break
      }
      expect(wire).toMatchObject({ kind: 'error', code: 'ECONNREFUSED' })
      refused++
      expect(performance.now() - downAt).toBeLessThan(3000)
      await sleep(25)
    }
    const servedAfter = performance.now() - downAt
    expect(refused).toBeGreaterThan(5)
    expect(servedAfter).toBeGreaterThanOrEqual(700)
    expect(servedAfter).toBeLessThan(1800)
    // The port reopened: the log says so, and does not read like a restart.
    expect(server.logs().some((line) => line.msg === 'endpoint back up after down' && line.url === url)).toBe(
      true,
    )
    expect(server.logs().some((line) => line.msg === 'endpoint listening')).toBe(false)
  })
})

describe('SIMULATE=down:60000 seen from the admin API', () => {
  it('shows the startup scenario filled and downUntil a minute ahead; DELETE /api/simulation reopens the port', async () => {
    const adminPort = await freePort()
    const startedAt = Date.now()
    const server = startServer(env({ SIMULATE: 'down:60000', ADMIN_PORT: String(adminPort) }), ENTRY)
    const down = await server.waitForLog('endpoint down at start (SIMULATE)')
    await server.waitForLog('admin listening')
    const admin = `http://127.0.0.1:${adminPort}`
    const state = (await requestJson('GET', `${admin}/api/simulation`)).body as {
      startup: unknown
      downUntil: string
    }
    expect(state.startup).toEqual({ scenario: 'down', durationMs: 60000 })
    expect(Date.parse(state.downUntil)).toBeGreaterThanOrEqual(startedAt + 60000)
    expect(Date.parse(state.downUntil)).toBeLessThan(Date.now() + 60000)
    expect((await requestJson('DELETE', `${admin}/api/simulation`)).status).toBe(204)
    expect((await postToken(String(down.url), 'usr_abc123', { timeoutMs: 2000 })).kind).toBe('response')
    const after = (await requestJson('GET', `${admin}/api/simulation`)).body as { downUntil: unknown }
    expect(after.downUntil).toBeNull()
  })
})

describe('a global down set through the admin API', () => {
  it('closes the endpoint port at once, /healthz still answers, and it clears itself when the port reopens', async () => {
    const adminPort = await freePort()
    const { server, url } = await started({ ADMIN_PORT: String(adminPort), ADMIN_HOST: '127.0.0.1' })
    await server.waitForLog('admin listening')
    const admin = `http://127.0.0.1:${adminPort}`
    // Up before (this also fetches the document requestJson checks answers against, outside the timing).
    const before = await requestJson('GET', `${admin}/api/simulation`)
    expect(before.body).toMatchObject({ override: null, downUntil: null })
    const put = await requestJson('PUT', `${admin}/api/simulation`, { scenario: 'down', durationMs: 800 })
    expect(Date.parse((put.body as { downUntil: string }).downUntil)).toBeGreaterThan(Date.now())
    expect(put.status).toBe(200)
    const downAt = performance.now()
    expect(await postToken(url, 'usr_abc123', { timeoutMs: 1000 })).toMatchObject({
      kind: 'error',
      code: 'ECONNREFUSED',
    })
    expect(await requestJson('GET', `${admin}/healthz`)).toMatchObject({ status: 200 })
    for (;;) {
      const wire = await postToken(url, 'usr_abc123', { timeoutMs: 1000 })
      if (wire.kind === 'response') break
      expect(wire).toMatchObject({ kind: 'error', code: 'ECONNREFUSED' })
      expect(performance.now() - downAt).toBeLessThan(3000)
      await sleep(25)
    }
    expect(performance.now() - downAt).toBeGreaterThanOrEqual(700)
    const after = await requestJson('GET', `${admin}/api/simulation`)
    expect(after.status).toBe(200)
    expect((after.body as { override: unknown }).override).toBeNull()
  })
})
