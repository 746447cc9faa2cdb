import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Io, run } from '../../src/cli/main.js'
import { type StartedMock, startMock } from '../../src/testing/index.js'

// The admin commands against a real mock over HTTP (started with startMock, admin token off).

function io(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = ''
  let stderr = ''
  const value: Io = {
    argv,
    env,
    stdout: { write: (text: string) => (stdout += text), isTTY: false },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Object.assign(Readable.from([]), { isTTY: false }),
  }
  return { io: value, stdout: () => stdout, stderr: () => stderr }
}

let mock: StartedMock
beforeAll(async () => {
  mock = await startMock()
})
afterAll(() => mock?.close())

const cli = async (...argv: string[]) => {
  const ran = io([...argv, '--admin-url', mock.adminUrl])
  const code = await run(ran.io)
  return { code, stdout: ran.stdout(), stderr: ran.stderr() }
}

const call = (token: string) => {
  const body = JSON.stringify({ userToken: token })
  return fetch(mock.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-talki-signature': mock.sign(body) },
    body,
  })
}

describe('talki-endpoint simulate, clear, reset, requests', { timeout: 30_000 }, () => {
  it('simulate sets the global override with its main parameter and limits', async () => {
    const ran = await cli('simulate', 'error', '--status', '503', '--count', '1')
    expect(ran).toMatchObject({ code: 0, stderr: '' })
    const state = (await fetch(new URL('api/simulation', mock.adminUrl)).then((res) => res.json())) as {
      override: unknown
    }
    expect(state.override).toMatchObject({ scenario: 'error', status: 503, count: 1 })
    expect((await call('usr_abc123')).status).toBe(503)
    expect((await call('usr_abc123')).status).toBe(200)
  })

  it('simulate --token sets one user’s own scenario; clear --token removes it', async () => {
    expect((await cli('simulate', 'not_found', '--token', 'usr_abc123')).code).toBe(0)
    expect((await mock.users.get('usr_abc123'))?.simulate).toEqual({ scenario: 'not_found' })
    expect((await call('usr_abc123')).status).toBe(404)
    expect((await cli('clear', '--token', 'usr_abc123')).code).toBe(0)
    expect((await mock.users.get('usr_abc123'))?.simulate).toBeUndefined()
  })

  it('clear ends the global override, --ms fills slow’s delay', async () => {
    expect((await cli('simulate', 'slow', '--ms', '4500')).stdout).toContain('"delayMs":4500')
    expect((await cli('clear')).code).toBe(0)
    const state = (await fetch(new URL('api/simulation', mock.adminUrl)).then((res) => res.json())) as {
      override: unknown
    }
    expect(state.override).toBeNull()
  })

  it('requests prints the log oldest first; --json one entry a line; reset empties it', async () => {
    await cli('reset')
    await call('usr_abc123')
    await call('nobody_here')
    await mock.waitForRequests(2)
    const table = await cli('requests')
    const lines = table.stdout.trim().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/POST \/talki\/customer {2}usr_abc123 {2}200 /)
    expect(lines[1]).toMatch(/nobody_here {2}404 /)
    const json = await cli('requests', '--json', '--token', 'nobody_here')
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toMatchObject([{ token: 'nobody_here', status: 404, method: 'POST' }])
    expect((await cli('reset', '--users', 'seed')).code).toBe(0)
    expect(await mock.requests()).toEqual([])
  })

  it('requests --follow prints each request as it completes, and exits 1 when the mock goes away', async () => {
    const other = await startMock()
    const ran = io(['requests', '--follow', '--admin-url', other.adminUrl])
    const following = run(ran.io)
    const body = JSON.stringify({ userToken: 'usr_abc123' })
    for (let i = 0; i < 3; i++) {
      await fetch(other.url, { method: 'POST', headers: { 'x-talki-signature': other.sign(body) }, body })
    }
    await other.waitForRequests(3)
    for (let waited = 0; ran.stdout().split('\n').length < 4 && waited < 5000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await other.close()
    expect(await following).toBe(1)
    expect(ran.stdout().trim().split('\n')).toHaveLength(3)
    expect(ran.stderr()).toContain('closed the request-log stream')
  })

  it('refusals and usage errors are one line: 1 from the mock, 2 from the command line', async () => {
    const refused = await cli('simulate', 'down', '--count', '2')
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(
      /^talki-endpoint: the mock refused: PUT \/api\/simulation: 400 invalid_request/,
    )
    expect((await cli('simulate', 'bogus')).code).toBe(2)
    expect((await cli('simulate', 'slow', '--status', '503')).code).toBe(2)
    expect((await cli('reset', '--users', 'all')).code).toBe(2)
    const unreachable = io(['clear', '--admin-url', 'http://127.0.0.1:9'])
    expect(await run(unreachable.io)).toBe(1)
    expect(unreachable.stderr()).toContain('admin API not reachable')
  })
})
