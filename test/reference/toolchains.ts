import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { requiredTool } from '../../support/required.js'
import { ROOT, sleep } from '../process.js'

// The reference endpoints of reference/ run on Debian's own toolchains: /usr/bin/python3 with
// python3-flask, -fastapi, -uvicorn, -pytest and -httpx, and golang-go (.ci/run installs them). With
// CI=true a missing one fails the run; elsewhere its tests are skipped, loudly.

/** Debian's interpreter, where apt puts the modules (a pyenv `python3` first on PATH has none of them). */
export const PYTHON = '/usr/bin/python3'
export const PYTHON_MODULES = ['flask', 'fastapi', 'uvicorn', 'pytest', 'httpx'] as const
export const GO = 'go'

/** Whether /usr/bin/python3 imports every one of PYTHON_MODULES. */
export function hasPython(what: string): boolean {
  let missing: string | undefined
  try {
    execFileSync(PYTHON, ['-c', `import ${PYTHON_MODULES.join(', ')}`], { stdio: 'pipe' })
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '')
    missing = /No module named '([^']+)'/.exec(stderr)?.[1] ?? PYTHON
  }
  return requiredTool(
    what,
    missing,
    'apt-get install -y python3-flask python3-fastapi python3-uvicorn python3-pytest python3-httpx',
  )
}

export function hasGo(what: string): boolean {
  let missing: string | undefined
  try {
    execFileSync(GO, ['version'], { stdio: 'ignore' })
  } catch {
    missing = GO
  }
  return requiredTool(what, missing, 'apt-get install -y golang-go')
}

export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a command to its end (never rejects): its exit code and output. */
export function run(
  file: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd ?? ROOT,
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    )
  })
}

/** Builds reference/go into a temporary folder (go run would leave its child behind when killed). */
export async function buildGoEndpoint(): Promise<string> {
  const binary = join(await mkdtemp(join(tmpdir(), 'talki-go-')), 'talki-endpoint')
  // GOPROXY=off: the module has no requirements, so nothing may be downloaded.
  const built = await run(GO, ['build', '-o', binary, '.'], {
    cwd: join(ROOT, 'reference', 'go'),
    env: { ...process.env, GOPROXY: 'off' },
    timeoutMs: 240_000,
  })
  if (built.code !== 0) throw new Error(`go build failed:\n${built.stderr}`)
  return binary
}

export interface ReferenceProcess {
  url: URL
  child: ChildProcess
  stderr(): string
  stop(): Promise<void>
}

/**
 * Starts a reference endpoint as an integrator does, with PORT=0, and resolves with the URL of its
 * "listening on" line. Only PATH and `env` reach it.
 */
export async function startReference(
  file: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ReferenceProcess> {
  const child = spawn(file, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: '0', PYTHONDONTWRITEBYTECODE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  }
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const match = / listening on (http:\/\/\S+)/.exec(stdout)
    if (match?.[1]) return { url: new URL(match[1]), child, stderr: () => stderr, stop }
    if (child.exitCode !== null || performance.now() > deadline) {
      await stop()
      throw new Error(`${file} ${args.join(' ')} did not start\nstdout: ${stdout}\nstderr: ${stderr}`)
    }
    await sleep(20)
  }
}
