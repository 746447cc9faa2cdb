import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCheck } from '../../src/cli/check.js'
import { formatTable } from '../../src/cli/check-output.js'
import { loadConfig } from '../../src/mock/runtime/config.js'
import { createMock } from '../../src/mock/server.js'
import { TEST_SECRET, tempDataDir } from '../support.js'
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

// The mock itself with TLS=self-signed and a TLS fault from the start (SIMULATE): each new connection gets
// the fault's certificate, issued by the mock's local CA, which --ca trusts; so the only problem left is the
// one the fault makes, and check must name it.
describe("check against the mock's TLS faults", () => {
  const faults: [string, RegExp][] = [
    [
      'tls_expired',
      /^Talki would refuse the certificate: the certificate expired on \d{4}-\d{2}-\d{2}: renew it$/,
    ],
    [
      'tls_wrong_host',
      /^Talki would refuse the certificate: the certificate is for another host name \(DNS:wrong-host\.invalid\), not localhost: issue it for the host name Talki calls$/,
    ],
  ]
  for (const [fault, reason] of faults) {
    it(`names ${fault} in the certificate row and stops there, not ok`, async () => {
      const data = await tempDataDir()
      const config = loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        ADMIN_PORT: 'off',
        DATA_FILE: data.dataFile,
        TALKI_SECRET: TEST_SECRET,
        TLS: 'self-signed',
        SIMULATE: fault,
      })
      const mock = await createMock(config)
      try {
        const url = new URL((await mock.listen()).endpoint)
        url.hostname = 'localhost'
        const mockCaFile = mock.tls?.caFile ?? ''
        const report = await runCheck({
          url,
          token: 'usr_abc123',
          secret: TEST_SECRET,
          field: 'userToken',
          timeoutMs: 5000,
          tls: { ca: await readFile(mockCaFile), caFile: mockCaFile },
        })
        expect(report.ok).toBe(false)
        expect(report.rows).toHaveLength(1)
        expect(report.rows[0]).toMatchObject({ id: 'tls.certificate', pass: false })
        expect(report.rows[0]?.reason).toMatch(reason)
        expect(formatTable(report, { color: false })).toMatch(
          /^FAIL {2}TLS certificate {2,}Talki would refuse/m,
        )
      } finally {
        await mock.close()
        await data.cleanup()
      }
    }, 60_000)
  }
})
