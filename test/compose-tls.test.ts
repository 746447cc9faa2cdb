import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCheck } from '../src/cli/check.js'
import { type StartedMock, startMock } from '../src/testing/start.js'
import { requiredTool } from '../support/required.js'
import { freePort, pollFor, ROOT } from './process.js'

// compose.yaml's `tls` profile for real: compose/nginx-tls.conf run by Debian's nginx (.ci/run installs
// it), the two replicas' addresses pointed at two mocks on this machine, the certificate made with
// docs/https.md's openssl command; `talki-endpoint check --ca` passes through it and both replicas answer.

const NGINX = '/usr/sbin/nginx'
const SECRET = 'compose-tls-secret'

/** Whether a TLS handshake that trusts `ca` succeeds on the port now. */
function handshakes(port: number, ca: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      socket.end()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

const HAS_NGINX = requiredTool(
  'the compose TLS proxy test',
  existsSync(NGINX) ? undefined : NGINX,
  'apt-get install -y nginx-light',
)

describe.runIf(HAS_NGINX)('the compose TLS proxy (compose/nginx-tls.conf) under nginx', () => {
  let dir: string
  let mocks: StartedMock[] = []
  let nginx: ChildProcess | undefined
  let port: number
  let ca: Buffer
  let stderr = ''

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'talki-compose-tls-'))
    // docs/https.md's command, in a folder of its own.
    await mkdir(join(dir, 'compose/tls'), { recursive: true })
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '30',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        'compose/tls/key.pem',
        '-out',
        'compose/tls/cert.pem',
      ],
      { cwd: dir, stdio: 'pipe' },
    )
    ca = await readFile(join(dir, 'compose/tls/cert.pem'))
    mocks = await Promise.all([startMock({ secret: SECRET }), startMock({ secret: SECRET })])
    port = await freePort()

    // The file as compose mounts it, with the container's names and paths replaced by this machine's.
    let config = await readFile(join(ROOT, 'compose/nginx-tls.conf'), 'utf8')
    mocks.forEach((mock, index) => {
      config = config.replace(`replica-${index + 1}:3000`, new URL(mock.url).host)
    })
    config = config
      .replace('listen 3443 ssl;', `listen 127.0.0.1:${port} ssl;`)
      .replaceAll('/etc/nginx/tls/', `${join(dir, 'compose/tls')}/`)
      .replace('http {', `http {\n  access_log off;`)
    expect(config).not.toMatch(/replica-|\/etc\/nginx/)
    await writeFile(join(dir, 'nginx.conf'), config)
    const globals = `daemon off; master_process off; pid ${join(dir, 'nginx.pid')}; error_log stderr;`
    nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', globals], { stdio: 'pipe' })
    nginx.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const ready = await pollFor(() => handshakes(port, ca), true, 10_000, 100)
    if (!ready.value) throw new Error(`no TLS handshake on 127.0.0.1:${port}; nginx said: ${stderr}`)
  }, 60_000)

  afterAll(async () => {
    nginx?.kill('SIGTERM')
    await Promise.all(mocks.map((mock) => mock.close()))
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('passes every row of check with --ca, and takes turns between the replicas', async () => {
    const url = new URL(`https://127.0.0.1:${port}/talki/customer`)
    const report = await runCheck({
      url,
      token: 'usr_abc123',
      secret: SECRET,
      field: 'userToken',
      timeoutMs: 5000,
      tls: { ca, caFile: join(dir, 'compose/tls/cert.pem') },
    })
    expect(report.rows.filter((row) => !row.pass).map((row) => `${row.id}: ${row.reason}`)).toEqual([])
    expect(report.rows[0]).toMatchObject({ id: 'tls.certificate', pass: true })
    const seen = await Promise.all(mocks.map((mock) => mock.requests()))
    for (const entries of seen) expect(entries.length).toBeGreaterThan(0)
  }, 60_000)
})
