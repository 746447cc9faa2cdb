import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from '../free-port.js'
import { requiredTool } from '../required.js'

// A real redis-server for the engine tests: Debian's binary on a free loopback port, in a temporary
// folder, with nothing saved to disk. It can be stopped and started again on the same port mid-test
// (Redis lost while the replicas run), and is stopped by its pid at the end.

export const REDIS_SERVER = 'redis-server'

/**
 * The README's 100 ms promise (a change reaches every replica) with a margin for a loaded 2-core CI
 * machine running other test files at once; unloaded, a change shows in a few ms.
 */
export const PROPAGATION_BOUND_MS = 400

/** Whether redis-server is installed; with CI=true a missing one fails the run instead of skipping. */
export function hasRedisServer(): boolean {
  let missing: string | undefined
  try {
    execFileSync(REDIS_SERVER, ['--version'], { stdio: 'ignore' })
  } catch {
    missing = REDIS_SERVER
  }
  return requiredTool('the Redis tests', missing, 'apt-get install -y redis-server')
}

export interface RedisServer {
  port: number
  url: string
  /** The running server's pid (its CPU time is read from /proc by the benchmark). */
  pid(): number | undefined
  /** Freezes the server (SIGSTOP): connections stay open and nothing answers, as with a hung host. */
  pause(): void
  resume(): void
  /** Stops the server (SIGKILL, so nothing is flushed: as if it crashed) and waits for it to exit. */
  stop(): Promise<void>
  /** Starts it again on the same port, empty. */
  start(): Promise<void>
  /** Stops it and removes its folder. */
  close(): Promise<void>
}

/** `password` sets requirepass; the URL then carries it, as a deployment's would. */
export async function startRedis(options: { password?: string } = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'talki-redis-'))
  const port = await freePort()
  let child: ChildProcess | undefined
  let output = ''

  const start = async () => {
    output = ''
    const started = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        ...(options.password === undefined ? [] : ['--requirepass', options.password]),
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    started.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
    })
    child = started
    const deadline = performance.now() + 10_000
    while (!(await answers(port))) {
      if (started.exitCode !== null || performance.now() > deadline) {
        throw new Error(`redis-server did not start on port ${port}:\n${output}`)
      }
      await sleep(20)
    }
  }
  const stop = async () => {
    const running = child
    child = undefined
    if (!running || running.exitCode !== null) return
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve())
      running.kill('SIGKILL')
    })
  }
  await start()
  return {
    port,
    url:
      options.password === undefined
        ? `redis://127.0.0.1:${port}`
        : `redis://:${encodeURIComponent(options.password)}@127.0.0.1:${port}`,
    pid: () => child?.pid,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    stop,
    start,
    async close() {
      await stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Whether something answers PING with +PONG on the port. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    // A server with requirepass answers -NOAUTH: it is up all the same.
    socket.once('data', (data) => done(/^(\+PONG|-NOAUTH)/.test(data.toString())))
  })
}
