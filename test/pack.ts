import { execFile } from 'node:child_process'

// Running npm as an integrator does, for the tests that pack the package and install the tarball into a scratch
// folder (test/package.test.ts, test/testing/packed.test.ts).

export const MB = 1024 * 1024

/** What npm needs to pack: the build's inputs and the files the package ships. Tests and bench stay behind. */
export const PACK_INPUTS = [
  'package.json',
  'README.md',
  'tsconfig.json',
  'tsconfig.build.json',
  'src',
  'data/seed.json',
]

/**
 * The environment of every npm and npx call: this one without npm's own `npm_*` variables (under
 * `npm test` they point npm at the clone, e.g. npm_config_local_prefix), keeping the user's cache and
 * registry so the install works offline from the cache `npm ci` filled.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig'])
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toLowerCase().startsWith('npm_') || keep.has(key.toLowerCase())) env[key] = value
  }
  delete env.NODE_ENV
  delete env.TALKI_SECRET
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', NO_COLOR: '1', ...extra }
}

export interface Ran {
  code: number
  stdout: string
  stderr: string
}

export function sh(command: string, args: string[], cwd: string, timeout = 120_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: cleanEnv(), timeout, maxBuffer: 16 * MB }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
    )
  })
}

export async function ok(command: string, args: string[], cwd: string): Promise<string> {
  const ran = await sh(command, args, cwd)
  if (ran.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${ran.code}\n${ran.stderr}`)
  return ran.stdout
}
