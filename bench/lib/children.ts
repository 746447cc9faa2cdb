import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process'

// Every process the benchmark starts is registered here, so an error, Ctrl-C or a plain exit ends them all.
const live = new Set<ChildProcess>()

export function spawnTracked(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, options)
  live.add(child)
  child.once('exit', () => live.delete(child))
  child.once('error', () => live.delete(child))
  return child
}

/** Runs a command to completion with its output passed through to stderr; rejects on a non-zero exit. */
export function runCommand(command: string, args: string[], cwd: string, timeoutMs: number): Promise<void> {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawnTracked(command, args, { cwd, stdio: ['ignore', process.stderr, process.stderr] })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      rejectRun(new Error(`${command} ${args.join(' ')} took longer than ${timeoutMs} ms`))
    }, timeoutMs)
    child.once('error', (error) => {
      clearTimeout(timer)
      rejectRun(error)
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolveRun()
      else rejectRun(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`))
    })
  })
}

/** Asks a child to stop, and kills it if it has not exited within `graceMs`. */
export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolveStop) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolveStop()
    })
    child.kill('SIGTERM')
  })
}

export function killAll(): void {
  for (const child of live) child.kill('SIGKILL')
  live.clear()
}

export interface ReadyChild {
  child: ChildProcess
  /** The first stdout line `isReady` accepted. */
  line: string
  /** From spawn to that line. */
  ms: number
  /** SIGTERM to the child's whole process group, SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>
}

/**
 * Starts a command in a process group of its own (so `npm start`'s sh and the node under it get the signal
 * alike) and resolves at the first stdout line `isReady` accepts; rejects, and kills the group, when the
 * child exits first or `timeoutMs` pass. Tracked like spawnTracked, so killAll ends it too.
 */
export function startUntilReady(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; isReady: (line: string) => boolean; timeoutMs: number },
): Promise<ReadyChild> {
  const started = performance.now()
  const child = spawnTracked(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  const exited = new Promise<void>((done) => child.once('exit', () => done()))
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal)
    } catch {
      // already gone
    }
  }
  const stop = async (graceMs = 5000) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    signalGroup('SIGTERM')
    const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }
  return new Promise((resolveReady, rejectReady) => {
    let out = ''
    let err = ''
    const timer = setTimeout(() => {
      signalGroup('SIGKILL')
      rejectReady(
        new Error(`${command} ${args.join(' ')}: not ready within ${options.timeoutMs} ms\n${out}\n${err}`),
      )
    }, options.timeoutMs)
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk
    })
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      const line = out.split('\n').find(options.isReady)
      if (line === undefined) return
      const ms = performance.now() - started
      clearTimeout(timer)
      child.stdout?.removeAllListeners('data')
      child.stdout?.resume()
      resolveReady({ child, line, ms, stop })
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      rejectReady(new Error(`${command} ${args.join(' ')} exited ${code}\n${out}\n${err}`))
    })
  })
}
