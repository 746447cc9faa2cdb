import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createAuthority, issueCertificate, type Pem } from '../../src/mock/runtime/tls-certs.js'
import { killAll, ROOT, sleep, startServer } from '../process.js'
import { signedRequest, TEST_SECRET } from '../support.js'

// `npm run example -- NAME` with TLS_CERT and TLS_KEY: each example serves HTTPS with the given
// certificate, and a client trusting its CA gets the vendor page's answer.

const NAMES = ['express', 'fastify', 'node-http', 'web'] as const
let dir: string
let authority: Pem

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'talki-example-tls-'))
  authority = await createAuthority('example test CA')
  const server = await issueCertificate(authority, { hosts: ['localhost', '127.0.0.1'] })
  await writeFile(join(dir, 'cert.pem'), server.cert)
  await writeFile(join(dir, 'key.pem'), server.key, { mode: 0o600 })
})
afterAll(() => rm(dir, { recursive: true, force: true }))
afterEach(killAll)

function post(url: string, ca: string): Promise<{ status: number; body: string }> {
  const { body, signature } = signedRequest('usr_abc123')
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca,
        agent: false,
        headers: { 'Content-Type': 'application/json', 'X-Talki-Signature': signature },
      },
      (res) => {
        let text = ''
        res.on('data', (chunk) => {
          text += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

describe('npm run example -- NAME with TLS_CERT and TLS_KEY', () => {
  for (const name of NAMES) {
    it(`serves ${name} over HTTPS`, async () => {
      const example = startServer(
        {
          NODE_OPTIONS: '--import tsx',
          PORT: '0',
          HOST: '127.0.0.1',
          TALKI_SECRET: TEST_SECRET,
          TLS_CERT: join(dir, 'cert.pem'),
          TLS_KEY: join(dir, 'key.pem'),
        },
        `${ROOT}src/examples/main.ts`,
        [name],
      )
      let url: string | undefined
      const deadline = performance.now() + 30_000
      while (url === undefined && performance.now() < deadline) {
        url = / listening on (https:\/\/\S+)/.exec(example.stdout())?.[1]
        if (url === undefined) await sleep(50)
      }
      expect(url, `stdout: ${example.stdout()}\nstderr: ${example.stderr()}`).toMatch(
        /^https:\/\/127\.0\.0\.1:\d+\/talki\/customer$/,
      )
      const answer = await post(url ?? '', authority.cert)
      expect(answer.status).toBe(200)
      expect(JSON.parse(answer.body)).toMatchObject({ name: expect.any(String) })
      example.child.kill('SIGTERM')
      expect(await example.exited).toMatchObject({ code: 0, signal: null })
    }, 60_000)
  }
})
