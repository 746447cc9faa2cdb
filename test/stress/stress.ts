import { execFileSync, spawn } from 'node:child_process'
import { chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import type { UserRecord } from '../../src/mock/users/record.js'
import { expectContract, loadContract } from '../contract.js'
import { freePort, ROOT, type ServerProcess, sleep, startServer } from '../process.js'
import { ALICE, TEST_SECRET } from '../support.js'

// Shared by the stress files: a temp data folder, the server started on it, an admin client, and the
// `FIGURE name=value` lines that the README's Guarantees section quotes.

/** Prints one measured figure in the form the README quotes: `FIGURE name=value`. */
export function figure(name: string, value: number | string): void {
  console.log(`FIGURE ${name}=${value}`)
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] ?? Number.NaN
}

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits

export { freePort }

/** The resident set size of a process in MB, from /proc/<pid>/status. */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1])
  return round(kb / 1024)
}

export interface DataDir {
  dir: string
  dataFile: string
  cleanup(): Promise<void>
}

/** A temp folder holding `db.json` with these users. */
export async function dataDir(users: UserRecord[] = [structuredClone(ALICE)]): Promise<DataDir> {
  const dir = await mkdtemp(join(tmpdir(), 'talki-stress-'))
  const dataFile = join(dir, 'db.json')
  await writeFile(dataFile, `${JSON.stringify({ users })}\n`)
  return { dir, dataFile, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

export interface Running {
  server: ServerProcess
  /** The endpoint URL, from the `endpoint listening` line. */
  url: string
  /** The admin base URL (`http://127.0.0.1:<port>`) when an admin port was given. */
  admin: string
}

/**
 * Starts `node dist/mock/main.js` on `dataFile` with the endpoint on a free port; the admin API only when
 * `ADMIN_PORT` is in `env`. Ready once the endpoint port accepts a connection (at LOG_LEVEL=warn there is
 * no "endpoint listening" line to wait for).
 */
export async function start(dataFile: string, env: Record<string, string> = {}): Promise<Running> {
  const port = await freePort()
  const server = startServer({
    PORT: String(port),
    ADMIN_PORT: 'off',
    DATA_FILE: dataFile,
    TALKI_SECRET: TEST_SECRET,
    LOG_LEVEL: 'warn',
    ...env,
  })
  let exited = false
  void server.exited.then(() => {
    exited = true
  })
  const deadline = performance.now() + 30_000
  const ports = [port, ...(env.ADMIN_PORT && env.ADMIN_PORT !== 'off' ? [Number(env.ADMIN_PORT)] : [])]
  for (const target of ports) {
    while (!(await accepts(target))) {
      if (exited || performance.now() > deadline) {
        throw new Error(`server not listening on ${target} (exited: ${exited})\n${server.stderr()}`)
      }
      await sleep(20)
    }
  }
  const admin = ports[1] ? `http://127.0.0.1:${ports[1]}` : ''
  // The document is had now, while the server runs and with its token: answers to calls made after a kill,
  // or with a wrong token on purpose, are still checked against it.
  if (admin) await loadContract(admin, env.ADMIN_TOKEN)
  return { server, url: `http://127.0.0.1:${port}/talki/customer`, admin }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** A JSON call to the admin API; never throws for an HTTP status. */
export async function adminCall(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<{ status: number; text: string; json: unknown }> {
  const headers: Record<string, string> = {}
  if (options.token) headers.Authorization = `Bearer ${options.token}`
  if (options.body !== undefined) headers['Content-Type'] = 'application/json'
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    signal: AbortSignal.timeout(10_000),
  })
  const text = await res.text()
  await expectContract(base, options.token, {
    method,
    url: path,
    status: res.status,
    headers: Object.fromEntries(res.headers),
    body: Buffer.from(text),
  })
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return { status: res.status, text, json }
}

/**
 * A copy of the built server that another user can run wherever the clone sits (a clone inside a folder
 * only its owner can enter cannot be read by `nobody`): dist/, package.json, data/seed.json and the
 * production dependencies, in a fresh folder under the system's temp folder, readable by all.
 */
export async function worldReadableServer(): Promise<{
  entry: string
  dir: string
  cleanup(): Promise<void>
}> {
  const dir = await mkdtemp(join(tmpdir(), 'talki-app-'))
  const packages = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((path) => path.includes('node_modules'))
  for (const source of ['dist', 'package.json', 'data/seed.json', ...packages]) {
    const path = relative(ROOT, resolve(ROOT, source))
    await cp(join(ROOT, path), join(dir, path), { recursive: true })
  }
  execFileSync('chmod', ['-R', 'a+rX', dir])
  await chmod(dir, 0o755)
  return {
    entry: join(dir, 'dist/mock/main.js'),
    dir,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
}

/**
 * Runs `node dist/mock/main.js` (or `entry`) to its exit (for starts that must be refused), optionally through a wrapper
 * command such as `setpriv … --` to run it as another user. Killed after `timeoutMs`.
 */
export function runToExit(
  env: Record<string, string>,
  options: { wrapper?: string[]; timeoutMs?: number; entry?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const entry = options.entry ?? `${ROOT}dist/mock/main.js`
  const [command, ...args] = [...(options.wrapper ?? []), process.execPath, entry]
  return new Promise((resolve, reject) => {
    const child = spawn(command ?? process.execPath, args, {
      cwd: options.entry === undefined ? ROOT : tmpdir(),
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}
