import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { copyFile, mkdir } from 'node:fs/promises'
import { type Agent, createServer, type IncomingHttpHeaders, request, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createEndpointApp } from '../src/mock/endpoint/app.js'
import { createLogger } from '../src/mock/runtime/log.js'
import type { SimulationState } from '../src/mock/simulation/choose.js'
import type { Downtime } from '../src/mock/state/downtime.js'
import { openMemoryState } from '../src/mock/state/memory.js'
import type { RequestLog } from '../src/mock/state/request-log.js'
import type { UserRecord } from '../src/mock/users/record.js'
import { expectContract } from './contract.js'
import { memoryStore, signedRequest, TEST_SECRET } from './support.js'

// Talking to a real server over real sockets: a small node:http client that reports what arrived on
// the wire (an answer, a socket error, or nothing in time), the endpoint served in this process with
// its simulation, and the built server started as a child process.

export const ROOT = fileURLToPath(new URL('..', import.meta.url))

// ---------------------------------------------------------------------------------------------------
// The client

export type Wire =
  | { kind: 'response'; status: number; headers: IncomingHttpHeaders; body: string; ms: number }
  | { kind: 'error'; code: string; message: string; ms: number }
  /** No answer within `timeoutMs`: the client gave up and closed its socket. */
  | { kind: 'timeout'; ms: number }

export interface PostOptions {
  /** `null` sends no signature header. Defaults to the body's signature with TEST_SECRET. */
  signature?: string | null
  timeoutMs?: number
  /** `false` (the default): a fresh connection per request. */
  agent?: Agent | false
}

/** POSTs `body` and resolves with whatever happened on the wire; never rejects. */
export function post(url: string | URL, body: string, options: PostOptions = {}): Promise<Wire> {
  const startedAt = performance.now()
  const elapsed = () => Math.round(performance.now() - startedAt)
  return new Promise((resolve) => {
    let settled = false
    const settle = (wire: Wire) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(wire)
    }
    const headers: Record<string, string> = { 'Content-Type': 'application/json' }
    if (options.signature !== null) {
      headers['X-Talki-Signature'] = options.signature ?? signedRequestSignature(body)
    }
    const req = request(url, { method: 'POST', agent: options.agent ?? false, headers })
    const timer = setTimeout(() => {
      settle({ kind: 'timeout', ms: elapsed() })
      req.destroy()
    }, options.timeoutMs ?? 5000)
    const failed = (error: NodeJS.ErrnoException) =>
      settle({ kind: 'error', code: error.code ?? 'UNKNOWN', message: error.message, ms: elapsed() })
    req.on('error', failed)
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', failed)
      res.on('end', () =>
        settle({
          kind: 'response',
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          ms: elapsed(),
        }),
      )
    })
    req.end(body)
  })
}

function signedRequestSignature(body: string): string {
  const token = (JSON.parse(body) as { userToken?: unknown }).userToken
  const signed = signedRequest(token)
  // Only bodies in signedRequest's own form are signed implicitly; anything else passes a signature.
  if (signed.body !== body) throw new Error('post: pass a signature for a body signedRequest did not make')
  return signed.signature
}

/** POSTs the signed request for `token`. */
export function postToken(url: string | URL, token: string, options: Omit<PostOptions, 'signature'> = {}) {
  return post(url, signedRequest(token).body, options)
}

/**
 * A plain JSON request (the admin API): status and parsed body; rejects on a socket error, and when
 * the answer is off the server's own /api/openapi.json.
 */
export function requestJson(
  method: string,
  url: string | URL,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = request(url, {
      method,
      agent: false,
      timeout: 5000,
      headers: payload === undefined ? {} : { 'Content-Type': contentType },
    })
    req.on('timeout', () => req.destroy(new Error('requestJson: no answer in 5 s')))
    req.on('error', reject)
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => {
        const bytes = Buffer.concat(chunks)
        const target = new URL(url)
        const answer = {
          method,
          url: `${target.pathname}${target.search}`,
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: bytes,
        }
        const text = bytes.toString('utf8')
        expectContract(target.origin, undefined, answer).then(
          () => resolve({ status: answer.status, body: text === '' ? null : JSON.parse(text) }),
          reject,
        )
      })
    })
    req.end(payload)
  })
}

/** A port that was free a moment ago (for a server that cannot be asked for port 0). */
export { freePort } from '../support/free-port.js'

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Waits until `check` holds, polling every 10 ms, for at most `ms`. */
export async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = performance.now() + ms
  while (!check()) {
    if (performance.now() > deadline) throw new Error('until: condition not met in time')
    await sleep(10)
  }
}

/**
 * Calls `probe` until it returns `expected` or `boundMs` have passed, pausing `pauseMs` between calls (0:
 * none). Returns the last value seen and when it was seen, so the caller asserts both: a wait that runs out
 * ends in a failed assertion on `value`, never in a pass.
 */
export async function pollFor<T>(
  probe: () => Promise<T>,
  expected: T,
  boundMs: number,
  pauseMs = 0,
): Promise<{ value: T; ms: number }> {
  const began = performance.now()
  for (;;) {
    const value = await probe()
    const ms = performance.now() - began
    if (value === expected || ms >= boundMs) return { value, ms }
    if (pauseMs > 0) await sleep(pauseMs)
  }
}

// ---------------------------------------------------------------------------------------------------
// The endpoint in this process, with its failure simulation, on 127.0.0.1 and a free port

export interface InProcessEndpoint {
  url: URL
  port: number
  server: Server
  simulation: SimulationState
  downtime: Downtime
  hanging: Set<Socket>
  requestLog: RequestLog
  close(): Promise<void>
}

export async function serveEndpoint(
  options: { users?: UserRecord[]; random?: () => number; onReopen?: () => void } = {},
): Promise<InProcessEndpoint> {
  const shared = openMemoryState(null, options.onReopen)
  const { downtime, hanging } = shared
  const app = createEndpointApp({
    decide: shared,
    downtime,
    hanging,
    requestLog: shared.requestLog,
    endpointPath: '/talki/customer',
    tokenField: 'userToken',
    secrets: [TEST_SECRET],
    bodyLimit: 16 * 1024,
    lookupTimeoutMs: 4000,
    store: memoryStore(options.users),
    logger: createLogger('silent'),
    ...(options.random ? { random: options.random } : {}),
  })
  const server = createServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  downtime.attach(server, { port, host: '127.0.0.1' })
  return {
    url: new URL(`http://127.0.0.1:${port}/talki/customer`),
    port,
    server,
    ...shared,
    close: async () => {
      downtime.cancel()
      for (const socket of hanging) socket.destroy()
      await new Promise<void>((resolve) => {
        if (!server.listening) return resolve()
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}

// ---------------------------------------------------------------------------------------------------
// The built server as a child process: `node dist/mock/main.js` directly, so signals reach it (npm would exit
// at once on SIGTERM and leave node behind).

/**
 * Builds the server (tsc -p tsconfig.build.json) into dist/, or into `outDir`: a test file that runs
 * beside others in the same vitest run builds into its own folder, so it never rewrites files another
 * test's server is loading. An `outDir` under node_modules/.cache still resolves the project's packages.
 */
export function build(outDir?: string): void {
  const args = outDir === undefined ? ['run', 'build'] : ['run', 'build', '--', '--outDir', outDir]
  execFileSync('npm', args, { cwd: ROOT, stdio: 'pipe', timeout: 120_000 })
}

/** A private build folder for one test file (see build). Its dist has no data/seed.json beside it (buildWithSeed). */
export function privateBuildDir(name: string): string {
  return `${ROOT}node_modules/.cache/talki-test-builds/${name}`
}

/**
 * Builds into a private folder (see build) and puts data/seed.json where the built config looks for it,
 * two folders above its own file (src/mock/config.ts): for servers that seed PostgreSQL or reset to it.
 */
export async function buildWithSeed(outDir: string): Promise<void> {
  build(outDir)
  await mkdir(join(outDir, '..', 'data'), { recursive: true })
  await copyFile(join(ROOT, 'data', 'seed.json'), join(outDir, '..', 'data', 'seed.json'))
}

export type LogLine = Record<string, unknown> & { msg?: string }

export interface ServerProcess {
  child: ChildProcess
  stdout(): string
  stderr(): string
  /** The pino JSON lines of stdout so far; other lines are skipped. */
  logs(): LogLine[]
  /** The first log line with this `msg`; rejects if the process exits first or after `timeoutMs`. */
  waitForLog(msg: string, timeoutMs?: number): Promise<LogLine>
  /** Resolves when the process has exited; `at` is performance.now() then. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
}

const started = new Set<ChildProcess>()

/**
 * Starts `node dist/mock/main.js` with only PATH from this environment plus `env`, so nothing of the test
 * runner's own (NODE_ENV=test, a TALKI_SECRET) leaks in.
 */
export function startServer(
  env: Record<string, string>,
  entry = `${ROOT}dist/mock/main.js`,
  args: readonly string[] = [],
): ServerProcess {
  const child = spawn(process.execPath, [entry, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  started.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) => {
      child.once('exit', (code, signal) => {
        started.delete(child)
        resolve({ code, signal, at: performance.now() })
      })
    },
  )
  let hasExited = false
  void exited.then(() => {
    hasExited = true
  })
  const logs = (): LogLine[] =>
    stdout.split('\n').flatMap((line) => {
      if (!line.startsWith('{')) return []
      try {
        return [JSON.parse(line) as LogLine]
      } catch {
        return []
      }
    })
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    logs,
    exited,
    async waitForLog(msg, timeoutMs = 10_000) {
      const deadline = performance.now() + timeoutMs
      for (;;) {
        const line = logs().find((entry) => entry.msg === msg)
        if (line) return line
        if (hasExited || performance.now() > deadline) {
          throw new Error(`no "${msg}" log line (exited: ${hasExited})\nstdout: ${stdout}\nstderr: ${stderr}`)
        }
        await sleep(10)
      }
    },
  }
}

/** Kills every server this file started that is still running (afterEach). */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...started].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve())
          child.kill('SIGKILL')
        }),
    ),
  )
}
