import type { ChildProcess } from 'node:child_process'
import { closeSync, openSync, readdirSync, readFileSync, renameSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { basename, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { spawnTracked, stopChild } from './children.js'
import type { TargetName } from './options.js'

export interface TargetContext {
  root: string
  dataFile: string
  secret: string
  /** Each start writes the server's stdout and stderr to its own file here (cheaper than a pipe). */
  logDir: string
  /** When set, each server writes a CPU profile here on exit. */
  cpuProfDir?: string | null
  /** The redis-server the project-redis target shares its state in (bench/replicas.ts starts it). */
  redisUrl?: string
  /** The PostgreSQL database the project-engines target keeps its users in (bench/postgres.ts fills it). */
  databaseUrl?: string
  /** Names the replica (REPLICA_ID); replicas of one run share a REDIS_PREFIX. */
  replica?: string
}

interface TargetSpec {
  script: string
  env: Record<string, string>
  /** Whether the target serves its admin API (on a free port of its own): the request log is kept only then. */
  admin: boolean
}

function specOf(name: TargetName, context: TargetContext): TargetSpec {
  const project = join(context.root, 'dist/mock/main.js')
  switch (name) {
    // Every feature on: helmet's headers, simulation checks, the request log (kept while the admin API runs).
    case 'project-warn':
      return { script: project, env: { LOG_LEVEL: 'warn' }, admin: true }
    case 'project-info':
      return { script: project, env: { LOG_LEVEL: 'info' }, admin: true }
    // The same without GET /metrics and its counting (METRICS=off): what the metrics cost is read against it.
    case 'project-info-no-metrics':
      return { script: project, env: { LOG_LEVEL: 'info', METRICS: 'off' }, admin: true }
    // Neither the request log nor info lines: what those two cost together is read against this one.
    case 'project-lean':
      return { script: project, env: { LOG_LEVEL: 'warn' }, admin: false }
    // The state in Redis (REDIS_URL), as one replica of several: the request log is written there in batches.
    case 'project-redis': {
      if (context.redisUrl === undefined) throw new Error('project-redis needs a redis-server (redisUrl)')
      const replica = context.replica ?? 'bench-1'
      return {
        script: project,
        env: { LOG_LEVEL: 'warn', REDIS_URL: context.redisUrl, REDIS_PREFIX: 'bench:', REPLICA_ID: replica },
        admin: true,
      }
    }
    // The users in PostgreSQL (DATABASE_URL) and the state in Redis: every engine a deployment of replicas uses.
    case 'project-engines': {
      if (context.redisUrl === undefined || context.databaseUrl === undefined)
        throw new Error(
          'project-engines needs a redis-server (redisUrl) and a PostgreSQL database (databaseUrl)',
        )
      return {
        script: project,
        env: {
          LOG_LEVEL: 'warn',
          REDIS_URL: context.redisUrl,
          REDIS_PREFIX: 'bench-engines:',
          REPLICA_ID: context.replica ?? 'bench-1',
          DATABASE_URL: context.databaseUrl,
        },
        admin: true,
      }
    }
    case 'vendor':
      return { script: join(context.root, 'bench/vendor-sample.mjs'), env: {}, admin: false }
    case 'bare':
      return { script: join(context.root, 'bench/bare-http.mjs'), env: {}, admin: false }
    // The bare target sending this project's answer headers (helmet's defaults): what those headers cost.
    case 'bare-headers':
      return {
        script: join(context.root, 'bench/bare-http.mjs'),
        env: { BARE_HEADERS: 'helmet' },
        admin: false,
      }
  }
}

export interface RunningTarget {
  name: TargetName
  pid: number
  url: string
  /** From spawn to the `endpoint listening` line. */
  startupMs: number
  /** The admin API's base URL, for the targets that serve it. */
  adminUrl: string | null
  logFile: string
  child: ChildProcess
  cpuProfDir: string | null
}

let starts = 0
const DEFAULT_PATH = '/talki/customer'

/** The server's own log, last lines, for error messages. */
export function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no output)'
  }
}

/** A port that was free a moment ago: the same for every target, and known before the server logs anything. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, rejectPort) => {
    const probe = createServer()
    probe.once('error', rejectPort)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      probe.close(() => resolvePort(port))
    })
  })
}

/** Whether something accepts connections on the port; the probe connection is closed at once. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const socket = connect({ port, host: '127.0.0.1' })
    socket.once('connect', () => {
      socket.destroy()
      resolveProbe(true)
    })
    socket.once('error', () => resolveProbe(false))
  })
}

function readyUrl(file: string): string | null {
  const text = readFileSync(file, 'utf8')
  for (const line of text.split('\n')) {
    if (!line.includes('endpoint listening')) continue
    try {
      const entry: unknown = JSON.parse(line)
      if (typeof entry === 'object' && entry !== null && 'url' in entry && typeof entry.url === 'string') {
        return entry.url
      }
    } catch {
      // a partly written line: read again on the next poll
    }
  }
  return null
}

/**
 * Starts a target with the same environment shape for all (only 127.0.0.1, a free port, a fixed secret)
 * and waits until it is ready: its `endpoint listening` line, or its port accepting connections (the
 * project logs that line at `info`, so at LOG_LEVEL=warn the port is what tells). A minimal environment,
 * so nothing from the caller's shell changes a run.
 */
export async function startTarget(
  name: TargetName,
  context: TargetContext,
  timeoutMs: number,
): Promise<RunningTarget> {
  const spec = specOf(name, context)
  starts += 1
  const logFile = join(context.logDir, `${starts}-${name}-${basename(context.dataFile, '.json')}.log`)
  const port = await freePort()
  const adminPort = spec.admin ? await freePort() : 'off'
  const out = openSync(logFile, 'w')
  const began = performance.now()
  const profile = context.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', context.cpuProfDir] : []
  const child = spawnTracked(process.execPath, [...profile, spec.script], {
    cwd: context.root,
    stdio: ['ignore', out, out],
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      TALKI_SECRET: context.secret,
      DATA_FILE: context.dataFile,
      ADMIN_PORT: String(adminPort),
      ...spec.env,
    },
  })
  closeSync(out)
  const pid = child.pid
  if (pid === undefined) throw new Error(`${name}: could not start ${spec.script}`)

  const deadline = began + timeoutMs
  while (performance.now() < deadline) {
    const logged = readyUrl(logFile)
    if (logged !== null || (await accepts(port))) {
      const startupMs = performance.now() - began
      const url = new URL(logged ?? `http://127.0.0.1:${port}${DEFAULT_PATH}`)
      // The benchmark only ever talks to loopback, on the port it chose.
      url.hostname = '127.0.0.1'
      url.port = String(port)
      return {
        name,
        pid,
        url: url.toString(),
        startupMs,
        adminUrl: spec.admin ? `http://127.0.0.1:${adminPort}` : null,
        logFile,
        child,
        cpuProfDir: context.cpuProfDir ?? null,
      }
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited before it was ready:\n${logTail(logFile)}`)
    }
    await sleep(10)
  }
  await stopChild(child, 1000)
  throw new Error(`${name} was not ready within ${timeoutMs} ms:\n${logTail(logFile)}`)
}

/** Kilobytes from /proc/<pid>/status: VmHWM is the peak resident set since start, VmRSS the current one. */
export function memoryKb(pid: number, field: 'VmHWM' | 'VmRSS'): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)
    return match?.[1] === undefined ? null : Number(match[1])
  } catch {
    return null
  }
}

export async function stopTarget(target: RunningTarget): Promise<void> {
  await stopChild(target.child, 5000)
  if (target.cpuProfDir === null) return
  // node names the profile CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile; name it after the run instead.
  for (const file of readdirSync(target.cpuProfDir)) {
    if (file.includes(`.${target.pid}.`) && file.endsWith('.cpuprofile')) {
      renameSync(
        join(target.cpuProfDir, file),
        join(target.cpuProfDir, `${basename(target.logFile, '.log')}.cpuprofile`),
      )
    }
  }
}
