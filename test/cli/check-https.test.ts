import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCheck } from '../../src/cli/check.js'
import { makeCertificates } from './fixtures/certs.js'
import { correctEndpoint } from './fixtures/correct-endpoint.js'
import { FIXTURE_SECRET, KNOWN_TOKEN, listen, type Running } from './fixtures/listen.js'

let running: Running
let caFile: string
let dir: string
let ca: Buffer
beforeAll(async () => {
  const certs = await makeCertificates()
  dir = await mkdtemp(join(tmpdir(), 'talki-https-'))
  caFile = join(dir, 'ca.pem')
  await writeFile(caFile, certs.ca)
  ca = Buffer.from(certs.ca)
  running = await listen(createServer({ cert: certs.cert, key: certs.key }, correctEndpoint()))
})
afterAll(async () => {
  await running.close()
  await rm(dir, { recursive: true, force: true })
})

function httpsUrl(host: string): URL {
  const url = new URL(running.url)
  url.protocol = 'https:'
  url.hostname = host
  return url
}

const base = { token: KNOWN_TOKEN, secret: FIXTURE_SECRET, field: 'userToken', timeoutMs: 5000 }

describe('check over HTTPS', () => {
  it('passes an endpoint whose private CA is given by --ca', async () => {
    const report = await runCheck({ ...base, url: httpsUrl('localhost'), tls: { ca, caFile } })
    expect(report.rows.filter((r) => !r.pass).map((r) => r.id)).toEqual([])
    expect(report.rows[0]).toMatchObject({ id: 'tls.certificate', pass: true })
    expect(report.rows[0]?.reason).toMatch(/^TLSv1\.[23], trusted chain, for localhost/)
  }, 60_000)

  it('fails the certificate row, named as TLS, without --ca; --insecure makes it a warning', async () => {
    const untrusted = await runCheck({ ...base, url: httpsUrl('localhost') })
    expect(untrusted.rows).toHaveLength(1)
    expect(untrusted.rows[0]).toMatchObject({ id: 'tls.certificate', pass: false })
    expect(untrusted.rows[0]?.reason).toMatch(/^Talki would refuse the certificate: the chain is not trusted/)
    const insecure = await runCheck({ ...base, url: httpsUrl('localhost'), tls: { insecure: true } })
    expect(insecure.ok).toBe(true)
    expect(insecure.rows[0]).toMatchObject({ id: 'tls.certificate', pass: false, advisory: true })
  }, 60_000)
})
