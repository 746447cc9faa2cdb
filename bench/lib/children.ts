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
