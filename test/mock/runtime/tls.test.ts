import { execFile } from 'node:child_process'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { request } from 'node:https'
import { connect } from 'node:tls'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../../src/mock/runtime/config.js'
import { createAuthority, issueCertificate } from '../../../src/mock/runtime/tls-certs.js'
import { createMock, type Mock } from '../../../src/mock/server.js'
import { freePort } from '../../process.js'
import { capturedLogger, TEST_SECRET, tempDataDir } from '../../support.js'

// HTTPS and the TLS faults seen by real TLS clients (Node's tls/https and curl) against the mock made by
// createMock, on free ports of 127.0.0.1.

const run = promisify(execFile)
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function startTls(env: Record<string, string> = {}, adminPort: number | 'off' = 'off') {
  const data = await tempDataDir()
  cleanups.push(data.cleanup)
  const { logger, lines } = capturedLogger('debug')
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    ADMIN_PORT: 'off',
    DATA_FILE: data.dataFile,
    TALKI_SECRET: TEST_SECRET,
    TLS: 'self-signed',
    ...env,
  })
  const mock = await createMock({ ...config, adminPort }, logger)
  return { mock, data, lines, config }
}

async function started(mock: Mock) {
  const urls = await mock.listen()
  cleanups.push(() => mock.close())
  return urls
}

/** What a TLS client trusting `ca` gets from a new connection: 'ok', the error code, or 'timeout'. */
function handshake(port: number, ca: string, host = 'localhost', timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', servername: host, ca })
    const timer = setTimeout(() => {
      socket.destroy()
      resolve('timeout')
    }, timeoutMs)
    socket.once('secureConnect', () => {
      clearTimeout(timer)
      socket.end()
      resolve('ok')
    })
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      resolve(error.code ?? error.message)
    })
  })
}

/** The same through node:https (hostname checked by https, as a real client does). */
function httpsStatus(url: string, ca: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', ca, agent: false, timeout: 2000 }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
    req.end('{}')
  })
}

/** Admin API calls over HTTPS, trusting the mock's CA. */
function adminClient(adminUrl: string, ca: string) {
  const call = (method: string, body?: unknown) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        `${adminUrl}api/simulation`,
        { method, ca, agent: false, headers: { 'Content-Type': 'application/json' } },
        (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        },
      )
      req.on('error', reject)
      req.end(body === undefined ? undefined : JSON.stringify(body))
    })
  return {
    put: async (body: unknown) => expect(await call('PUT', body)).toBe(200),
    clear: async () => expect(await call('DELETE')).toBe(204),
  }
}

/** A mock with its admin port on (a free port), listening. */
async function startWithAdmin(env: Record<string, string> = {}) {
  const started = await startTls(env, await freePort())
  const urls = await started.mock.listen()
  cleanups.push(() => started.mock.close())
  const ca = await readFile(started.mock.tls?.caFile ?? '', 'utf8')
  return { ...started, urls, ca, admin: adminClient(urls.admin ?? '', ca) }
}

describe('TLS=self-signed', () => {
  it('makes the local CA and the certificate once (keys mode 0600) and reuses them on the next start', async () => {
    const first = await startTls()
    const tls = first.mock.tls
    expect(tls).toMatchObject({ source: 'self-signed', created: true })
    const ca = await readFile(tls?.caFile ?? '', 'utf8')
    expect(ca).toMatch(/^-----BEGIN CERTIFICATE-----/)
    const dir = (tls?.caFile ?? '').replace(/ca\.pem$/, '') ?? ''
    for (const key of ['ca-key.pem', 'key.pem']) expect((await stat(`${dir}${key}`)).mode & 0o777).toBe(0o600)
    const cert = await readFile(`${dir}cert.pem`, 'utf8')

    const second = await createMock(first.config)
    expect(second.tls?.created).toBe(false)
    expect(await readFile(tls?.caFile ?? '', 'utf8')).toBe(ca)
    expect(await readFile(`${dir}cert.pem`, 'utf8')).toBe(cert)
  })

  it('serves HTTPS for localhost, 127.0.0.1 and ::1 and the names of TLS_HOSTS, and logs https:// URLs', async () => {
    const { mock, lines } = await startTls({ TLS_HOSTS: 'talki.test' })
    const urls = await started(mock)
    expect(urls.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/talki\/customer$/)
    expect(lines.some((line) => line.includes(urls.endpoint))).toBe(true)
    const ca = await readFile(mock.tls?.caFile ?? '', 'utf8')
    const port = Number(new URL(urls.endpoint).port)
    for (const host of ['localhost', 'talki.test']) expect(await handshake(port, ca, host)).toBe('ok')
    expect(await httpsStatus(urls.endpoint, ca)).toBe(401)
  })
})

describe('the TLS faults, seen by real clients', () => {
  it('fails each new handshake as named, and the good handshake is back once cleared', async () => {
    const { mock, lines, urls, ca, admin } = await startWithAdmin()
    const caFile = mock.tls?.caFile ?? ''
    const port = Number(new URL(urls.endpoint).port)
    const expected: [string, string, RegExp][] = [
      ['tls_expired', 'CERT_HAS_EXPIRED', /certificate has expired/],
      ['tls_wrong_host', 'ERR_TLS_CERT_ALTNAME_INVALID', /no alternative certificate subject name matches/],
      ['tls_untrusted', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', /unable to get local issuer certificate/],
    ]
    // A connection opened before the fault keeps its good handshake.
    const before = connect({ port, host: '127.0.0.1', servername: 'localhost', ca })
    await new Promise((resolve) => before.once('secureConnect', resolve))
    for (const [fault, code, curlSays] of expected) {
      await admin.put(fault)
      expect(await httpsStatus(urls.endpoint, ca), fault).toBe(code)
      const curl = await run('curl', ['-sS', '--cacert', caFile, '-X', 'POST', urls.endpoint]).catch(
        (error: { code: number; stderr: string }) => error,
      )
      expect((curl as { code: number }).code, fault).toBe(60)
      expect((curl as { stderr: string }).stderr).toMatch(curlSays)
      await admin.clear()
      expect(await handshake(port, ca)).toBe('ok')
      expect(await httpsStatus(urls.endpoint, ca)).toBe(401)
    }
    expect(before.authorized).toBe(true)
    before.destroy()

    await admin.put({ scenario: 'tls_hang', maxMs: 600_000 })
    expect(await handshake(port, ca, 'localhost', 1500)).toBe('timeout')
    const curl = await run('curl', ['-sS', '--max-time', '2', '--cacert', caFile, urls.endpoint]).catch(
      (error: { code: number }) => error,
    )
    expect((curl as { code: number }).code).toBe(28)
    await admin.clear()
    expect(await handshake(port, ca)).toBe('ok')

    // No private key and no secret in any log line.
    const keys = await Promise.all(
      ['ca-key.pem', 'key.pem'].map((f) => readFile((mock.tls?.caFile ?? '').replace('ca.pem', f), 'utf8')),
    )
    const log = lines.join('\n')
    expect(log).not.toMatch(/PRIVATE KEY/)
    for (const key of keys) expect(log).not.toContain(key.split('\n')[1])
    expect(log).not.toContain(TEST_SECRET)
  })

  it('cuts a tls_hang connection at shutdown', async () => {
    const { mock } = await startTls({ SIMULATE: 'tls_hang' })
    const urls = await mock.listen()
    const ca = await readFile(mock.tls?.caFile ?? '', 'utf8')
    const port = Number(new URL(urls.endpoint).port)
    const socket = connect({ port, host: '127.0.0.1', servername: 'localhost', ca })
    const closed = new Promise<string>((resolve) => {
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'))
      socket.once('close', () => resolve('closed'))
    })
    await new Promise((resolve) => setTimeout(resolve, 300))
    const t0 = Date.now()
    await mock.close()
    expect(await closed).toMatch(/ECONNRESET|closed/)
    expect(Date.now() - t0).toBeLessThan(5000)
  })
})

describe('TLS configuration', () => {
  it('refuses a TLS fault in SIMULATE without TLS, and bad TLS files, each with one line naming the variable', async () => {
    const data = await tempDataDir()
    cleanups.push(data.cleanup)
    expect(() => loadConfig({ SIMULATE: 'tls_expired' })).toThrow(
      new ConfigError(
        'Invalid configuration: SIMULATE tls_expired needs TLS on (set TLS=self-signed, or TLS_CERT and TLS_KEY)',
      ),
    )
    expect(() => loadConfig({ TLS_CERT: `${data.dir}/none.pem`, TLS_KEY: `${data.dir}/none.pem` })).toThrow(
      /^Invalid configuration: TLS_CERT cannot be read \(.*none\.pem: ENOENT\)$/,
    )
    const authority = await createAuthority('test CA')
    const one = await issueCertificate(authority, { hosts: ['localhost'] })
    const other = await issueCertificate(authority, { hosts: ['localhost'] })
    await writeFile(`${data.dir}/cert.pem`, one.cert)
    await writeFile(`${data.dir}/key.pem`, other.key)
    await writeFile(`${data.dir}/seed.pem`, 'not a key')
    expect(() => loadConfig({ TLS_CERT: `${data.dir}/cert.pem` })).toThrow(
      'Invalid configuration: TLS_KEY is required with TLS_CERT (a PEM private key file)',
    )
    expect(() => loadConfig({ TLS_CERT: `${data.dir}/cert.pem`, TLS_KEY: `${data.dir}/seed.pem` })).toThrow(
      /TLS_KEY .*seed\.pem is not a PEM private key$/,
    )
    let mismatch = ''
    try {
      loadConfig({ TLS_CERT: `${data.dir}/cert.pem`, TLS_KEY: `${data.dir}/key.pem` })
    } catch (error) {
      mismatch = (error as Error).message
    }
    expect(mismatch).toMatch(/^Invalid configuration: TLS_KEY does not go with TLS_CERT/)
    expect(mismatch).not.toContain(other.key.split('\n')[1])
    expect(() => loadConfig({ TLS: 'self-signed', TLS_HOSTS: 'good.test,bad host' })).toThrow(
      /TLS_HOSTS must be host names or IP addresses/,
    )
  })

  it('serves TLS_CERT and TLS_KEY as given', async () => {
    const data = await tempDataDir()
    cleanups.push(data.cleanup)
    const authority = await createAuthority('operator CA')
    const server = await issueCertificate(authority, { hosts: ['localhost', '127.0.0.1'] })
    await writeFile(`${data.dir}/cert.pem`, server.cert)
    await writeFile(`${data.dir}/key.pem`, server.key)
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      ADMIN_PORT: 'off',
      DATA_FILE: data.dataFile,
      TALKI_SECRET: TEST_SECRET,
      TLS_CERT: `${data.dir}/cert.pem`,
      TLS_KEY: `${data.dir}/key.pem`,
    })
    const mock = await createMock(config)
    const urls = await started(mock)
    expect(mock.tls).toMatchObject({ source: 'files', certFile: `${data.dir}/cert.pem` })
    expect(await httpsStatus(urls.endpoint, authority.cert)).toBe(401)
  })
})
