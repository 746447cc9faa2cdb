#!/usr/bin/env node
import { readFileSync, realpathSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ConfigError } from '../mock/runtime/config-error.js'
import { readSecretFile, secretFilePath } from '../mock/runtime/secret.js'
import { DEFAULT_SEED_OPTIONS } from '../mock/users/seed-options.js'
import { sign } from '../template/signature.js'
import { NetworkError } from './http.js'
import type { Output } from './send.js'
import { TALKI_TIMEOUT_MS } from './talki.js'

// `talki-endpoint`: plays Talki's side of Backend Connect. Exit codes (README: CLI): 0 success, 1 failure
// (for `send`: Talki would show nothing), 2 usage error. Nothing here prints a stack trace for a network
// failure or a bad argument: those are one line. Each command imports what it needs when it runs, so
// `sign` or `--help` never load zod or faker.

export const DEFAULT_URL = 'http://127.0.0.1:3000/talki/customer'

export interface Io {
  argv: string[]
  env: NodeJS.ProcessEnv
  stdout: Output & { isTTY?: boolean }
  stderr: Output
  stdin: AsyncIterable<Buffer | string> & { isTTY?: boolean }
}

/** A bad argument or missing configuration: exit 2 with one line. */
export class UsageError extends Error {}

const COMMON_HELP = `Common options:
  --url U         the endpoint (default ${DEFAULT_URL})
  --secret S      the signing secret (else the first of TALKI_SECRET, else .secret beside DATA_FILE)
  --field NAME    the body key that holds the user token (default userToken)
  --timeout MS    per-request deadline (default ${TALKI_TIMEOUT_MS}, as Talki)
  -h, --help      this help`

const HELP: Record<string, string> = {
  main: `talki-endpoint — play Talki's side of Backend Connect against any customer endpoint

Usage: talki-endpoint <command> [options]

Commands:
  sign [BODY]                  print the X-Talki-Signature for BODY (or stdin)
  send TOKEN                   POST {"userToken":TOKEN} as Talki does and show what Talki would show
  check --token KNOWN          conformance suite: run it against your endpoint before Talki calls it
  serve                        start the mock endpoint and its admin API here (data in ./data)
  seed                         write the deterministic data set (data/seed.json)
  help [COMMAND]               help for a command

Options: --version prints the version, --help this help.
Exit codes: 0 success, 1 failure (send: Talki would show nothing; check: a case failed), 2 usage error.
Run 'talki-endpoint <command> --help' for a command's options.`,
  sign: `Usage: talki-endpoint sign [BODY] [--secret S]

Prints the lowercase hex HMAC-SHA256 of BODY's exact bytes (or of stdin's, when BODY is absent):
the same as  printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET".
Nothing is added or removed: no trailing newline. Use -- before a BODY that starts with '-'.

  --secret S      the signing secret (else the first of TALKI_SECRET, else .secret beside DATA_FILE)
  -h, --help      this help

Exit 0 with the signature printed, 2 on a usage error (no secret, no BODY).`,
  send: `Usage: talki-endpoint send TOKEN [--url U] [--secret S] [--field NAME] [--timeout MS]

Signs {"userToken":"TOKEN"} and POSTs it exactly as Talki does: Content-Type application/json,
X-Talki-Signature, a 5 s deadline, one retry 3 s after a timeout, connection error or 5xx.
Prints each attempt, checks the answer against the contract and draws the ticket sidebar
(no colours when NO_COLOR is set or output is not a terminal).

Exit 0 when Talki would show the profile, 1 when it would show nothing or skip (or check would fail
the answer), 2 on a usage error.

${COMMON_HELP}`,
  check: `Usage: talki-endpoint check --token KNOWN [--url U] [--secret S] [--field NAME] [--timeout MS]
                            [--json] [--junit FILE] [--concurrency N]

Runs a conformance suite against any endpoint (yours): the good request (200, JSON, valid profile,
within 5 s), bad signatures (missing, empty, short, long, non-hex, non-ASCII, "sha256=" prefix,
wrong secret, another body's) → 401 and never 5xx, bodies signed as sent (odd whitespace, extra
reordered keys, unicode) → 200, unknown users (a random one, "__proto__", "constructor") → 404,
non-JSON body → 4xx. A 200 without any of name, email, plan, fields fails. Cache-Control: no-store
is advised (a warning, not a failure). Each row says what to fix.

  --token KNOWN   a user token the endpoint knows (required)
  --json          print a machine-readable report instead of the table
  --junit FILE    also write the report as JUnit XML to FILE (one test case per row), for CI
  --concurrency N probes in flight at once (default 1: one at a time, as Talki sends them; raise it to stress)

Exit 0 when every case passes, 1 when one fails (or the endpoint cannot be reached), 2 on a usage error
(including a --junit FILE that cannot be written).

${COMMON_HELP}`,
  serve: `Usage: talki-endpoint serve

Starts the mock endpoint (POST /talki/customer on 0.0.0.0:3000) and its admin API and dashboard
(127.0.0.1:3001) in the working folder: users in ./data/db.json, created from the packaged seed on
the first start, and a development secret in ./data/.secret unless TALKI_SECRET is set (send and
check in the same folder find it). Configured by environment variables, as npm start:

  PORT=4000 ADMIN_PORT=off SIMULATE=slow:6000 talki-endpoint serve

(PORT, HOST, ADMIN_PORT, ADMIN_HOST, ADMIN_TOKEN, TALKI_SECRET, DATA_FILE, SIMULATE, LOG_LEVEL, …:
see the README's Configuration.) Stops cleanly on SIGTERM or Ctrl-C, draining requests in flight.

  -h, --help      this help

Exit 0 after a clean stop, 1 when the configuration or the data file is bad or the port is taken
(one line names it), 2 on a usage error.`,
  seed: `Usage: talki-endpoint seed [--count N] [--seed N] [--out FILE]

Writes the deterministic data set: the vendor page's example user, one user per scenario, edge
cases, and faker users from a fixed seed. Needs @faker-js/faker, a development dependency: from
an installed package, npm install @faker-js/faker first.

  --count N       number of generated users (default ${DEFAULT_SEED_OPTIONS.count})
  --seed N        faker seed (default ${DEFAULT_SEED_OPTIONS.seed})
  --out FILE      where to write (default data/seed.json)
  -h, --help      this help

Exit 0 once written, 1 when the file cannot be written or faker is missing, 2 on a usage error.`,
}

const COMMON_OPTIONS = {
  url: { type: 'string' },
  secret: { type: 'string' },
  field: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

/** Runs one command line and returns the exit code. Throws only for a bug, never for bad input or the network. */
export async function run(io: Io): Promise<number> {
  const [command, ...rest] = io.argv
  try {
    switch (command) {
      case undefined:
        io.stderr.write(`${HELP.main}\n`)
        return 2
      case 'help':
      case '--help':
      case '-h': {
        const topic = command === 'help' ? rest[0] : undefined
        if (topic !== undefined && !isCommand(topic)) throw new UsageError(`unknown command "${topic}"`)
        io.stdout.write(`${HELP[topic ?? 'main']}\n`)
        return 0
      }
      case '--version':
      case '-v':
        io.stdout.write(`${packageVersion()}\n`)
        return 0
      case 'sign':
        return await signCommand(rest, io)
      case 'send':
        return await sendCommand(rest, io)
      case 'check':
        return await checkCommand(rest, io)
      case 'serve':
        return await serveCommand(rest, io)
      case 'seed':
        return await seedCommand(rest, io)
      default:
        throw new UsageError(`unknown command "${command}"`)
    }
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      const topic = command !== undefined && isCommand(command) ? ` ${command}` : ''
      io.stderr.write(
        `talki-endpoint: ${(error as Error).message.replace(/\s*\n\s*/g, ' ')}\nRun 'talki-endpoint${topic} --help' for usage.\n`,
      )
      return 2
    }
    if (error instanceof NetworkError) {
      io.stderr.write(`talki-endpoint: ${error.message}\n`)
      return 1
    }
    throw error
  }
}

function isCommand(name: string): boolean {
  return name !== 'main' && Object.hasOwn(HELP, name)
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')
}

async function signCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { secret: COMMON_OPTIONS.secret, help: COMMON_OPTIONS.help },
    allowPositionals: true,
  })
  if (values.help) return help('sign', io)
  if (positionals.length > 1) throw new UsageError('sign takes one BODY; quote it')
  const secret = await resolveSecret(values.secret, io.env)
  let body: Buffer
  if (positionals[0] !== undefined) {
    body = Buffer.from(positionals[0], 'utf8')
  } else {
    if (io.stdin.isTTY) throw new UsageError('give BODY as an argument or pipe it on stdin')
    const chunks: Buffer[] = []
    for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
    body = Buffer.concat(chunks)
  }
  io.stdout.write(`${sign(secret, body)}\n`)
  return 0
}

async function sendCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: COMMON_OPTIONS, allowPositionals: true })
  if (values.help) return help('send', io)
  const token = positionals[0]
  if (token === undefined || positionals.length > 1) throw new UsageError('send takes exactly one TOKEN')
  if (token === '') throw new UsageError('TOKEN must not be empty')
  const common = await commonValues(values, io.env)
  const [{ runSend }, { useColor }] = await Promise.all([import('./send.js'), import('./sidebar.js')])
  const result = await runSend({ ...common, token, out: io.stdout, color: useColor(io.env, io.stdout) })
  return result.exitCode
}

async function checkCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...COMMON_OPTIONS,
      token: { type: 'string' },
      json: { type: 'boolean' },
      junit: { type: 'string' },
      concurrency: { type: 'string' },
    },
    allowPositionals: true,
  })
  if (values.help) return help('check', io)
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
  if (values.token === undefined || values.token === '') {
    throw new UsageError('--token KNOWN is required: a user token the endpoint knows')
  }
  if (values.junit === '') throw new UsageError('--junit needs a FILE name')
  const concurrency = integer('--concurrency', values.concurrency, 1, 1, 100)
  const common = await commonValues(values, io.env)
  const [{ formatJson, formatTable, runCheck }, { useColor }] = await Promise.all([
    import('./check.js'),
    import('./sidebar.js'),
  ])
  const report = await runCheck({ ...common, token: values.token, concurrency })
  io.stdout.write(
    values.json ? formatJson(report) : formatTable(report, { color: useColor(io.env, io.stdout) }),
  )
  if (values.junit !== undefined) {
    const { formatJunit } = await import('./junit.js')
    try {
      await writeFile(values.junit, formatJunit(report))
    } catch (error) {
      throw new UsageError(`cannot write --junit ${values.junit}: ${(error as Error).message}`)
    }
  }
  return report.ok ? 0 : 1
}

/** Loads the server, which starts itself and owns the process from then on (it exits on SIGTERM/SIGINT). */
async function serveCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { help: COMMON_OPTIONS.help },
    allowPositionals: true,
  })
  if (values.help) return help('serve', io)
  if (positionals.length > 0) {
    throw new UsageError(
      `unexpected argument "${positionals[0]}": serve is configured by environment variables`,
    )
  }
  await import('../mock/main.js')
  return 0
}

async function seedCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      count: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      help: COMMON_OPTIONS.help,
    },
    allowPositionals: true,
  })
  if (values.help) return help('seed', io)
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
  const count = integer('--count', values.count, DEFAULT_SEED_OPTIONS.count, 0, 1_000_000)
  const seed = integer('--seed', values.seed, DEFAULT_SEED_OPTIONS.seed, 0, 2 ** 32 - 1)
  const out = values.out === undefined || values.out === '' ? 'data/seed.json' : values.out
  const seedModule = await importSeed()
  if (seedModule === undefined) {
    io.stderr.write(
      'talki-endpoint: seed needs @faker-js/faker, a development dependency: npm install @faker-js/faker\n',
    )
    return 1
  }
  try {
    const written = await seedModule.writeSeedFile({ count, seed, out })
    io.stdout.write(`wrote ${written.users} users (${written.bytes} bytes) to ${out}\n`)
    return 0
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (typeof code === 'string' && code.startsWith('E')) {
      io.stderr.write(`talki-endpoint: cannot write ${out}: ${(error as Error).message}\n`)
      return 1
    }
    throw error
  }
}

/** seed.ts needs faker, a development dependency: `undefined` when an installed package lacks it. */
async function importSeed(): Promise<typeof import('../mock/users/seed.js') | undefined> {
  try {
    return await import('../mock/users/seed.js')
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException
    if (code === 'ERR_MODULE_NOT_FOUND' && message.includes('@faker-js/faker')) return undefined
    throw error
  }
}

/** The version in the package.json beside dist/ (or src/), so it is right from a clone and from the tarball. */
function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
  return (JSON.parse(text) as { version: string }).version
}

function help(command: string, io: Io): number {
  io.stdout.write(`${HELP[command]}\n`)
  return 0
}

/** The options shared by send and check, validated: a bad one is a usage error. */
async function commonValues(
  values: { url?: string; secret?: string; field?: string; timeout?: string },
  env: NodeJS.ProcessEnv,
): Promise<{ url: URL; secret: string; field: string; timeoutMs: number }> {
  return {
    url: parseUrl(values.url ?? DEFAULT_URL),
    field: parseField(values.field),
    timeoutMs: integer('--timeout', values.timeout, TALKI_TIMEOUT_MS, 1, 600_000),
    secret: await resolveSecret(values.secret, env),
  }
}

export function parseUrl(text: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(`--url "${text}" is not a URL (e.g. ${DEFAULT_URL})`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url must be http:// or https://, not ${url.protocol}`)
  }
  return url
}

function parseField(text: string | undefined): string {
  if (text === undefined) return 'userToken'
  if (text === '') throw new UsageError('--field must not be empty')
  return text
}

function integer(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, not "${text}"`)
  }
  return Number(text)
}

/**
 * The secret to sign with: `--secret`, else the first of `TALKI_SECRET` (a comma-separated list, taken as is),
 * else the development secret in `.secret` beside DATA_FILE. None of them → a usage error saying how to give one.
 */
export async function resolveSecret(flag: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  if (flag !== undefined) {
    if (flag === '') throw new UsageError('--secret must not be empty')
    return flag
  }
  const list = env.TALKI_SECRET
  if (list !== undefined) {
    const first = list.split(',')[0] ?? ''
    if (first === '') throw new UsageError('TALKI_SECRET is set but its first secret is empty')
    return first
  }
  const dataFile = env.DATA_FILE === undefined || env.DATA_FILE === '' ? 'data/db.json' : env.DATA_FILE
  const file = secretFilePath(dataFile)
  let secret: string | undefined
  try {
    secret = await readSecretFile(file)
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message)
    throw error
  }
  if (secret === undefined) {
    throw new UsageError(
      `no signing secret: pass --secret S, set TALKI_SECRET, or start the server once to create ${file}`,
    )
  }
  return secret
}

function isEntryPoint(): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (isEntryPoint()) {
  // A reader that stops early (`talki-endpoint send … | head`) closes the pipe: the rest of the output
  // goes nowhere, quietly, and the exit code still says how the command went.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error
      stream.write = () => true
    })
  }
  const code = await run({
    argv: process.argv.slice(2),
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
  })
  process.exitCode = code
}
