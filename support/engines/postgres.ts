import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { chown, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { freePort } from '../free-port.js'
import { requiredTool } from '../required.js'

// A private PostgreSQL server for one test file: Debian's binaries (`apt-get install postgresql`, which
// .ci/run does), a data folder of its own under the system temp folder, a free loopback port, a unix
// socket in that folder, trust authentication. PostgreSQL refuses to run as root: as root the folder is
// handed to the `postgres` user and the server runs as that user, which is never asked to read a file of
// the project (the clone may sit in a folder only its owner can enter). Stopped by pid.

const VERSIONS_DIR = '/usr/lib/postgresql'

/** The bin folder of Debian's PostgreSQL: 15 when installed, else the newest there is. */
function findBinDir(): string | undefined {
  if (existsSync(`${VERSIONS_DIR}/15/bin/initdb`)) return `${VERSIONS_DIR}/15/bin`
  const versions = existsSync(VERSIONS_DIR) ? readdirSync(VERSIONS_DIR) : []
  const found = versions
    .filter((version) => existsSync(`${VERSIONS_DIR}/${version}/bin/initdb`))
    .sort((a, b) => Number(b) - Number(a))[0]
  return found === undefined ? undefined : `${VERSIONS_DIR}/${found}/bin`
}

const BIN = findBinDir()

/**
 * Whether the tests can start PostgreSQL. With CI=true its absence is an error: the engine tests must run
 * there, not be skipped. Elsewhere the caller skips them, and this says so loudly.
 */
export function postgresAvailable(what: string): boolean {
  const missing = BIN === undefined ? `PostgreSQL (${VERSIONS_DIR}/15/bin/initdb)` : undefined
  return requiredTool(what, missing, 'apt-get install -y postgresql')
}

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  url: string
  port: number
  /** The postmaster's pid while it runs (the benchmark reads its CPU time, and its sessions', from /proc). */
  pid(): number | undefined
  /** A URL for another database on the same server (see createDatabase). */
  urlFor(database: string): string
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>
  /** Runs one statement as the superuser on `database` (default `postgres`), on a connection of its own. */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
    database?: string,
  ): Promise<R[]>
  /** Fast shutdown (SIGINT: sessions are ended, the port closes); resolves once the process has exited. */
  stop(): Promise<void>
  /** Starts it again on the same port and data folder; resolves once it accepts connections. */
  start(): Promise<void>
  /** Stops it and removes its folder. */
  close(): Promise<void>
}

const asRoot = process.getuid?.() === 0

// A test process that exits before its teardown still stops its servers (SIGQUIT: immediate shutdown)
// and removes what it can of their folders.
const running = new Set<ChildProcess>()
const folders = new Set<string>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGQUIT')
  for (const folder of folders) {
    try {
      rmSync(folder, { recursive: true, force: true, maxRetries: 3 })
    } catch {}
  }
})

/** Runs a PostgreSQL binary, as the `postgres` user when this process is root. */
function command(binary: string, args: string[]): [string, string[]] {
  const path = `${BIN}/${binary}`
  return asRoot
    ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--clear-groups', path, ...args]]
    : [path, args]
}

export async function startPostgres(): Promise<PostgresServer> {
  if (BIN === undefined) throw new Error('startPostgres: PostgreSQL is not installed')
  // The folder is created by this process, then given to `postgres`; nothing of the project is inside.
  const dir = await mkdtemp(join(tmpdir(), 'talki-pg-'))
  folders.add(dir)
  const data = join(dir, 'data')
  const socketDir = join(dir, 'socket')
  await mkdir(socketDir)
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    await chown(dir, uid, gid)
    await chown(socketDir, uid, gid)
  }
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' }
  const [initdb, initArgs] = command('initdb', [
    '--pgdata',
    data,
    '--username',
    'postgres',
    '--auth',
    'trust',
    '--encoding',
    'UTF8',
    // A UTF-8 locale, so lower() folds every letter, as the JSON store's toLowerCase does.
    '--locale',
    'C.UTF-8',
    '--no-sync',
  ])
  execFileSync(initdb, initArgs, { cwd: dir, env, stdio: 'pipe', timeout: 60_000 })

  let port = await freePort()
  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let log = ''

  const start = async () => {
    const [postgres, args] = command('postgres', [
      '-D',
      data,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${socketDir}`,
      // A test database: durability is not needed, speed is.
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=100',
    ])
    log = ''
    const proc = spawn(postgres, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    child = proc
    running.add(proc)
    proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      log += chunk
    })
    proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      log += chunk
    })
    exited = new Promise((resolve) =>
      proc.once('exit', () => {
        running.delete(proc)
        resolve()
      }),
    )
    const deadline = performance.now() + 30_000
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`PostgreSQL exited at start:\n${log}`)
      const client = new pg.Client({ connectionString: url('postgres'), connectionTimeoutMillis: 1000 })
      client.on('error', () => {})
      try {
        await client.connect()
        await client.end()
        return
      } catch {
        await client.end().catch(() => {})
      }
      if (performance.now() > deadline) throw new Error(`PostgreSQL did not accept connections:\n${log}`)
      await sleep(50)
    }
  }

  const stop = async () => {
    const proc = child
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    proc.kill('SIGINT')
    const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(killer)
  }

  const sql = async <R extends pg.QueryResultRow>(
    text: string,
    values: unknown[] = [],
    database = 'postgres',
  ) => {
    const client = new pg.Client({ connectionString: url(database), connectionTimeoutMillis: 5000 })
    client.on('error', () => {})
    await client.connect()
    try {
      return (await client.query<R>(text, values)).rows
    } finally {
      await client.end().catch(() => {})
    }
  }

  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await start()
        break
      } catch (error) {
        // Another process took the port between freePort() and the bind: try another one.
        if (attempt === 3 || !/could not (bind|create listen socket)/i.test(log)) throw error
        port = await freePort()
      }
    }
  } catch (error) {
    await stop()
    await rm(dir, { recursive: true, force: true })
    folders.delete(dir)
    throw error
  }

  return {
    url: url('postgres'),
    port,
    pid: () => (child?.exitCode === null && child.signalCode === null ? child.pid : undefined),
    urlFor: url,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`createDatabase: bad name ${name}`)
      await sql(`CREATE DATABASE ${name}`)
      return url(name)
    },
    sql,
    stop,
    start,
    async close() {
      await stop()
      await rm(dir, { recursive: true, force: true })
      folders.delete(dir)
    },
  }
}
