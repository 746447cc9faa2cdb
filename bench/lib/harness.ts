import type { ChildProcess } from 'node:child_process'
import { closeSync, openSync, readdirSync, readFileSync, renameSync } from 'node:fs'
import { connect } from 'node:net'
import { basename, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from '../../support/free-port.js'
import { specOf, type TargetContext, type TargetName } from '../targets/index.js'
import { spawnTracked, stopChild } from './children.js'

export type { TargetContext }
export { freePort }

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
