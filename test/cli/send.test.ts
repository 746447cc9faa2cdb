import { afterEach, describe, expect, it } from 'vitest'
import { runCheck } from '../../src/cli/check.js'
import { checkAnswerBody } from '../../src/cli/judge.js'
import { runSend, type SendOptions } from '../../src/cli/send.js'
import { talkiBody } from '../../src/cli/talki.js'
import { correctEndpoint } from './fixtures/correct-endpoint.js'
import { closedPort, FIXTURE_SECRET, KNOWN_TOKEN, listen, type Running } from './fixtures/listen.js'

let running: Running | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

function capture() {
  let text = ''
  return { out: { write: (chunk: string) => (text += chunk) }, text: () => text }
}

function options(url: URL, token: string, out: SendOptions['out']): SendOptions {
  return { url, token, out, secret: FIXTURE_SECRET, field: 'userToken', timeoutMs: 5000, color: false }
}

describe('send', () => {
  it('fails plain http:// to a host that is not this machine, naming why, and sends nothing', async () => {
    const { out, text } = capture()
    const result = await runSend(options(new URL('http://api.example.com/talki/customer'), KNOWN_TOKEN, out))
    expect(result).toStrictEqual({ exitCode: 1, outcome: 'nothing', attempts: [] })
    expect(text()).toContain(
      'Talki would not call it: http:// to api.example.com, which is not this machine: Talki calls HTTPS URLs only',
    )
    expect(text()).not.toMatch(/^attempt /m)
  })

  it('shows the known user as the sidebar after one attempt', async () => {
    running = await listen(correctEndpoint())
    const { out, text } = capture()
    const result = await runSend(options(running.url, KNOWN_TOKEN, out))
    expect(result).toMatchObject({
      exitCode: 0,
      outcome: 'show',
      profile: { name: 'Alice Johnson', plan: 'pro' },
    })
    expect(result.attempts).toHaveLength(1)
    expect(text()).toMatch(/^attempt 1: 200 in \d+ ms$/m)
    expect(text()).toContain('answer matches the contract (name, email, plan, fields). Talki would show:')
    expect(text()).toContain('│ Alice Johnson')
    expect(text()).toContain('[pro]')
    expect(text()).not.toContain('\x1b[')
  })

  it('shows nothing for an unknown user, without retrying a 4xx', async () => {
    const arrivals: number[] = []
    running = await listen(correctEndpoint({ onRequest: (at) => arrivals.push(at) }))
    const { out, text } = capture()
    const result = await runSend(options(running.url, 'usr_nobody', out))
    expect(result).toMatchObject({ exitCode: 1, outcome: 'nothing' })
    expect(arrivals).toHaveLength(1)
    expect(text()).toMatch(/^attempt 1: 404 in \d+ ms {2}\{"error":"user_not_found"\}$/m)
    expect(text()).toContain('Talki would show nothing: the endpoint answered 404 (no such user).')
  })

  it('retries a 503 once, about 3 s later, as Talki does', async () => {
    const arrivals: number[] = []
    running = await listen(correctEndpoint({ failFirst: 1, onRequest: (at) => arrivals.push(at) }))
    const { out, text } = capture()
    const result = await runSend(options(running.url, KNOWN_TOKEN, out))
    expect(result.exitCode).toBe(0)
    expect(arrivals).toHaveLength(2)
    const gap = (arrivals[1] ?? 0) - (arrivals[0] ?? 0)
    expect(gap).toBeGreaterThanOrEqual(3000)
    expect(gap).toBeLessThan(3500)
    expect(text()).toMatch(/attempt 1: 503 in \d+ ms.*\nretrying in 3 s, as Talki does…\nattempt 2: 200 in/)
  }, 15_000)

  it('skips after two connection failures on a closed port, one line each', async () => {
    const url = await closedPort()
    const { out, text } = capture()
    const pauses: number[] = []
    const sleep = async (ms: number) => {
      pauses.push(ms)
    }
    const result = await runSend({ ...options(url, KNOWN_TOKEN, out), sleep })
    expect(result).toMatchObject({ exitCode: 1, outcome: 'skip' })
    expect(pauses).toEqual([3000])
    expect(text()).toMatch(
      /^attempt 2: connection refused by 127\.0\.0\.1:\d+ \(is the endpoint running\?\) \(after \d+ ms\)$/m,
    )
    expect(text()).toContain('Talki would skip: both attempts failed')
    expect(text()).not.toMatch(/\n\s+at /)
  })

  it('times out at the deadline and counts it as a failure to retry', async () => {
    running = await listen(correctEndpoint({ delayMs: 2000 }))
    const { out, text } = capture()
    const result = await runSend({
      ...options(running.url, KNOWN_TOKEN, out),
      timeoutMs: 200,
      sleep: async () => {},
    })
    expect(result.outcome).toBe('skip')
    expect(text()).toMatch(/^attempt 1: no answer within 200 ms \(after 2\d\d ms\)$/m)
  })

  it('shows nothing when the 200 breaks the contract', async () => {
    running = await listen(correctEndpoint({ answer: { name: 'Alice', plan: 3 } }))
    const { out, text } = capture()
    const result = await runSend(options(running.url, KNOWN_TOKEN, out))
    expect(result).toMatchObject({ exitCode: 1, outcome: 'nothing' })
    expect(text()).toContain(
      'Talki would show nothing: the answer breaks the contract — plan: expected string, received number.',
    )
  })

  it('exits 1 exactly when check fails the same answer (one judgement for both)', async () => {
    const textPlain: Parameters<typeof listen>[0] = (req, res) => {
      req.resume()
      req.on('end', () => res.writeHead(200, { 'Content-Type': 'text/plain' }).end('{"name":"Alice"}'))
    }
    const cases: [string, Parameters<typeof listen>[0], 0 | 1][] = [
      ['a correct endpoint', correctEndpoint(), 0],
      ['an empty profile', correctEndpoint({ answer: {} }), 0],
      ['extra keys beside the profile', correctEndpoint({ answer: { name: 'A', id: 7 } }), 0],
      ['a wrapped profile', correctEndpoint({ answer: { data: { name: 'A' } } }), 1],
      ['a renamed profile', correctEndpoint({ answer: { fullName: 'A' } }), 1],
      ['a wrong type', correctEndpoint({ answer: { name: 'A', plan: 3 } }), 1],
      ['a text/plain answer', textPlain, 1],
    ]
    for (const [what, handler, expected] of cases) {
      running = await listen(handler)
      const { out, text } = capture()
      const sent = await runSend(options(running.url, KNOWN_TOKEN, out))
      const checked = await runCheck({ ...options(running.url, KNOWN_TOKEN, out), concurrency: 4 })
      const goodFails = checked.rows.some((row) => row.name.startsWith('good request') && !row.pass)
      expect({ what, send: sent.exitCode }).toEqual({ what, send: expected })
      expect({ what, checkFails: goodFails }).toEqual({ what, checkFails: expected === 1 })
      if (expected === 1) expect(text()).toMatch(/Talki would show nothing: |check would fail this answer/)
      await running.close()
      running = undefined
    }
  })

  it('signs the body Talki builds, with the configured field', async () => {
    expect(talkiBody('userToken', 'usr_abc123')).toBe('{"userToken":"usr_abc123"}')
    expect(talkiBody('uid', 'a"b')).toBe('{"uid":"a\\"b"}')
  })
})

describe('checkAnswerBody', () => {
  it('accepts an object, notes ignored keys, and refuses non-objects and non-JSON', () => {
    expect(checkAnswerBody(Buffer.from('{"name":"A","userToken":"x"}'))).toEqual({
      ok: true,
      profile: { name: 'A' },
      ignoredKeys: ['userToken'],
    })
    expect(checkAnswerBody(Buffer.from('null'))).toEqual({
      ok: false,
      kind: 'not-object',
      reason: 'the answer is null, not a JSON object',
    })
    expect(checkAnswerBody(Buffer.from('"hi"'))).toEqual({
      ok: false,
      kind: 'not-object',
      reason: 'the answer is a string, not a JSON object',
    })
    expect(checkAnswerBody(Buffer.from('<html>'))).toEqual({
      ok: false,
      kind: 'not-json',
      reason: 'the answer is not JSON (starts with "<html>")',
    })
  })
})
