import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { hostname } from 'node:os'
import { createSecureContext } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { DEFAULT_TOKEN_FIELD } from '../../contract/defaults.js'
import { TALKI_TIMING_NAMES, TALKI_TIMINGS, type TalkiTiming } from '../../contract/talki-timing.js'
import {
  isTlsScenarioName,
  parseSimulateText,
  type SimulationSpec,
  specName,
} from '../simulation/scenarios.js'
import { ConfigError } from './config-error.js'
import { DEFAULT_DATA_FILE } from './defaults.js'
import type { LogFormat } from './log.js'

// The only file that reads process.env. Every variable is validated here; a bad value becomes a
// ConfigError whose message is the one line printed before exit 1.

export { ConfigError }

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
const LOG_FORMATS = ['json', 'pretty'] as const satisfies readonly LogFormat[]

/** The committed seed, found from this file so it resolves the same from src/ (tsx) and dist/ (built). */
export const SEED_FILE = fileURLToPath(new URL('../../../data/seed.json', import.meta.url))

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().min(min, `must be from ${min} to ${max}`).max(max, `must be from ${min} to ${max}`))

const host = z
  .string()
  .refine((value) => value === 'localhost' || isIP(value) !== 0, 'must be an IP address or localhost')

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 * 1024 }
const byteSize = z.string().transform((value, ctx) => {
  const match = /^(\d+)\s*(b|kb|mb)?$/i.exec(value.trim())
  const bytes = match ? Number(match[1]) * (SIZE_UNITS[(match[2] ?? 'b').toLowerCase()] ?? 1) : Number.NaN
  if (!(bytes >= 64 && bytes <= 10 * 1024 * 1024)) {
    ctx.addIssue({ code: 'custom', message: 'must be a size from 64b to 10mb, such as 16kb' })
    return z.NEVER
  }
  return bytes
})

// A refused list names the item (never its value): "TALKI_SECRET item 2 of 2 has trailing white space".
const secretList = z.string().transform((value, ctx) => {
  const secrets = value.split(',')
  const problem = (message: string) => {
    ctx.addIssue({ code: 'custom', message })
    return z.NEVER
  }
  if (value === '') return problem('is empty: give a secret, or unset it to use the development secret')
  for (const [i, secret] of secrets.entries()) {
    const item = secrets.length === 1 ? '' : `item ${i + 1} of ${secrets.length} `
    if (secret === '') return problem(`${item}is empty (a stray comma?)`)
    const leading = secret.trimStart() !== secret
    const trailing = secret.trimEnd() !== secret
    if (leading || trailing) {
      const where = leading && trailing ? 'leading and trailing' : leading ? 'leading' : 'trailing'
      const hint = secrets.length > 1 && leading ? ' (write the list without spaces after commas)' : ''
      return problem(
        `${item}has ${where} white space${trailing && !leading ? ' (a stray newline?)' : ''}${hint}`,
      )
    }
  }
  return secrets
})

// postgres://user:password@host:port/database — checked for shape here; reached at start (main.ts).
const databaseUrl = z.string().refine((value) => {
  try {
    const url = new URL(value)
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== ''
  } catch {
    return false
  }
}, 'must be a URL such as postgres://user:password@host:5432/database')

const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
const hostList = z.string().transform((value, ctx) => {
  const hosts = value.split(',').map((host) => host.trim())
  const bad = hosts.find((host) => !DNS_NAME.test(host) && isIP(host) === 0)
  if (bad === undefined) return hosts
  ctx.addIssue({
    code: 'custom',
    message: `must be host names or IP addresses, comma-separated: "${bad}" is neither`,
  })
  return z.NEVER
})

const EnvSchema = z.object({
  PORT: integer(0, 65535).default(3000),
  HOST: host.default('0.0.0.0'),
  ENDPOINT_PATH: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'must be a path such as /talki/customer (letters, digits, . _ ~ -)')
    .default('/talki/customer'),
  USER_TOKEN_FIELD: z
    .string()
    .regex(/^[A-Za-z_$][A-Za-z0-9_$-]{0,63}$/, 'must be a JSON key of letters, digits, _ $ or -')
    // A parsed object's `__proto__` is its prototype, not a key: the route would read an object as the token.
    .refine((value) => value !== '__proto__', 'must not be __proto__')
    .default(DEFAULT_TOKEN_FIELD),
  TALKI_SECRET: secretList.optional(),
  ADMIN_PORT: z
    .union([z.literal('off'), integer(0, 65535)], {
      error: 'must be a port from 0 to 65535 (0 picks a free one), or off to run no admin API',
    })
    .default(3001),
  ADMIN_HOST: host.default('127.0.0.1'),
  ADMIN_TOKEN: z.string().min(8, 'must be at least 8 characters').optional(),
  DATA_FILE: z.string().default(DEFAULT_DATA_FILE),
  DATABASE_URL: databaseUrl.optional(),
  SIMULATE: z
    .string()
    .transform((value, ctx) => {
      const parsed = parseSimulateText(value)
      if (parsed.ok) return parsed.spec
      ctx.addIssue({ code: 'custom', message: parsed.reason })
      return z.NEVER
    })
    .optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  LOG_FORMAT: z.enum(LOG_FORMATS, { error: `must be one of ${LOG_FORMATS.join(', ')}` }).optional(),
  BODY_LIMIT: byteSize.default(16 * 1024),
  LOOKUP_TIMEOUT_MS: integer(1, 600_000).default(4000),
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000).default(10_000),
  REDIS_URL: z
    .string()
    .refine((value) => URL.canParse(value) && /^rediss?:$/.test(new URL(value).protocol), {
      message: 'must be a redis:// or rediss:// URL, such as redis://127.0.0.1:6379',
    })
    .optional(),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:._-]{1,64}$/, 'must be 1 to 64 letters, digits or : . _ -')
    .default('talki:'),
  REPLICA_ID: z
    .string()
    .regex(/^[A-Za-z0-9:._-]{1,64}$/, 'must be 1 to 64 letters, digits or : . _ -')
    .optional(),
  TLS: z
    .enum(['self-signed'], { error: 'must be self-signed (or unset: TLS_CERT and TLS_KEY give your own)' })
    .optional(),
  TLS_CERT: z.string().optional(),
  TLS_KEY: z.string().optional(),
  TLS_HOSTS: hostList.optional(),
  READY_FILE: z.string().optional(),
  METRICS: z.enum(['on', 'off'], { error: 'must be on or off' }).default('on'),
  TALKI_TIMING: z
    .enum(TALKI_TIMING_NAMES, {
      error: `must be one of ${TALKI_TIMING_NAMES.join(', ')} (demo: Talki's timeout and retry delay scaled down)`,
    })
    .default('real'),
  NODE_ENV: z.string().optional(),
})

/** GET /api/timing: the Talki timing this server's dashboard plays (the numbers are src/contract/talki-timing.ts). */
export const TalkiTimingSchema = z
  .object({
    timing: z.enum(TALKI_TIMING_NAMES).describe('TALKI_TIMING: real (Talki’s own) or demo (scaled down)'),
    timeoutMs: z.number().int().positive().describe('How long Talki waits for an answer, in ms'),
    retryDelayMs: z.number().int().positive().describe('Talki’s pause before its one retry, in ms'),
  })
  .meta({ id: 'TalkiTiming' }) satisfies z.ZodType<TalkiTiming>

/** HTTPS on both ports: the PEM files of TLS_CERT and TLS_KEY, or TLS=self-signed's local CA. */
export type TlsConfig =
  | { source: 'files'; cert: string; key: string; certFile: string; keyFile: string }
  /** Made once beside the secret file (src/mock/runtime/tls-certs.ts) for localhost and `hosts`. */
  | { source: 'self-signed'; hosts: string[] }

export interface Config {
  port: number
  host: string
  endpointPath: string
  tokenField: string
  /** `undefined` when TALKI_SECRET is unset: secret.ts then supplies the development secret. */
  secrets: string[] | undefined
  /** `off`: no admin API, no dashboard, no request log; 0 picks a free port. */
  adminPort: number | 'off'
  adminHost: string
  adminToken: string | undefined
  dataFile: string
  /** The users live in PostgreSQL when set (postgres-users.ts), else in DATA_FILE. */
  databaseUrl: string | undefined
  seedFile: string
  simulate: SimulationSpec | undefined
  logLevel: (typeof LOG_LEVELS)[number]
  /** `undefined`: pretty on a terminal, JSON when piped. */
  logFormat: LogFormat | undefined
  bodyLimit: number
  lookupTimeoutMs: number
  shutdownTimeoutMs: number
  production: boolean
  /** Where the simulation state lives when replicas share it (README "Replicas"); unset: in the process. */
  redisUrl: string | undefined
  redisPrefix: string
  /** Names this process in the shared request log and labels its metrics. */
  replicaId: string
  /** Unset: plain HTTP. */
  tls: TlsConfig | undefined
  /** Written with both URLs once the ports listen, for a supervisor or a test to wait on. */
  readyFile: string | undefined
  /** GET /metrics on the admin port (METRICS=off: not served, nothing counted). */
  metricsEnabled: boolean
  /** The Talki timing the start-up log and the dashboard show (TALKI_TIMING; `npm run demo` sets demo). */
  talkiTiming: TalkiTiming
}

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\.\d+\.\d+\.\d+$/.test(address)
}

/** Validates the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty value counts as unset, except TALKI_SECRET= which is an empty secret and refused.
  const given: Record<string, string> = {}
  for (const key of Object.keys(EnvSchema.shape)) {
    const value = env[key]
    if (value !== undefined && (value !== '' || key === 'TALKI_SECRET')) given[key] = value
  }
  const parsed = EnvSchema.safeParse(given)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const name = String(issue?.path[0] ?? 'environment')
    // A URL may carry a password: it is never echoed.
    const secret = ['TALKI_SECRET', 'ADMIN_TOKEN', 'DATABASE_URL', 'REDIS_URL'].includes(name)
    const shown = secret ? '' : ` (got ${JSON.stringify(given[name])})`
    throw new ConfigError(`Invalid configuration: ${name} ${issue?.message ?? 'is not valid'}${shown}`)
  }
  const e = parsed.data
  if (e.ADMIN_PORT !== 'off' && !isLoopback(e.ADMIN_HOST) && e.ADMIN_TOKEN === undefined) {
    throw new ConfigError(
      `Invalid configuration: ADMIN_TOKEN is required when ADMIN_HOST (${e.ADMIN_HOST}) is not a loopback address`,
    )
  }
  const tls = tlsConfig(e)
  const simulated = e.SIMULATE === undefined ? undefined : specName(e.SIMULATE)
  if (tls === undefined && isTlsScenarioName(simulated)) {
    throw new ConfigError(
      `Invalid configuration: SIMULATE ${simulated} needs TLS on (set TLS=self-signed, or TLS_CERT and TLS_KEY)`,
    )
  }
  const production = e.NODE_ENV === 'production'
  if (production && e.TALKI_SECRET === undefined) {
    throw new ConfigError('Invalid configuration: TALKI_SECRET is required when NODE_ENV=production')
  }
  return {
    port: e.PORT,
    host: e.HOST,
    endpointPath: e.ENDPOINT_PATH,
    tokenField: e.USER_TOKEN_FIELD,
    secrets: e.TALKI_SECRET,
    adminPort: e.ADMIN_PORT,
    adminHost: e.ADMIN_HOST,
    adminToken: e.ADMIN_TOKEN,
    dataFile: e.DATA_FILE,
    databaseUrl: e.DATABASE_URL,
    seedFile: SEED_FILE,
    simulate: e.SIMULATE,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    bodyLimit: e.BODY_LIMIT,
    lookupTimeoutMs: e.LOOKUP_TIMEOUT_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    production,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    replicaId: e.REPLICA_ID ?? `${hostname()}:${process.pid}`,
    tls,
    readyFile: e.READY_FILE,
    metricsEnabled: e.METRICS === 'on',
    talkiTiming: TALKI_TIMINGS[e.TALKI_TIMING],
  }
}

/** The TLS variables as one choice; the PEM files are read and checked here, each error naming its variable. */
function tlsConfig(e: {
  TLS?: 'self-signed' | undefined
  TLS_CERT?: string | undefined
  TLS_KEY?: string | undefined
  TLS_HOSTS?: string[] | undefined
}): TlsConfig | undefined {
  const invalid = (message: string) => new ConfigError(`Invalid configuration: ${message}`)
  if (e.TLS === 'self-signed') {
    if (e.TLS_CERT !== undefined || e.TLS_KEY !== undefined) {
      throw invalid('TLS=self-signed makes its own certificate: unset TLS_CERT and TLS_KEY, or unset TLS')
    }
    return { source: 'self-signed', hosts: e.TLS_HOSTS ?? [] }
  }
  if (e.TLS_HOSTS !== undefined) {
    throw invalid('TLS_HOSTS names the hosts of TLS=self-signed’s certificate: set TLS=self-signed too')
  }
  if (e.TLS_CERT === undefined && e.TLS_KEY === undefined) return undefined
  if (e.TLS_CERT === undefined) throw invalid('TLS_CERT is required with TLS_KEY (a PEM certificate file)')
  if (e.TLS_KEY === undefined) throw invalid('TLS_KEY is required with TLS_CERT (a PEM private key file)')
  const cert = readPem('TLS_CERT', e.TLS_CERT, /-----BEGIN CERTIFICATE-----/, 'a PEM certificate')
  const key = readPem('TLS_KEY', e.TLS_KEY, /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/, 'a PEM private key')
  try {
    createSecureContext({ cert, key })
  } catch (error) {
    // OpenSSL's reason names no key material ("key values mismatch"); the key is never echoed.
    throw invalid(`TLS_KEY does not go with TLS_CERT (${(error as Error).message})`)
  }
  return { source: 'files', cert, key, certFile: e.TLS_CERT, keyFile: e.TLS_KEY }
}

function readPem(name: string, file: string, begins: RegExp, what: string): string {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new ConfigError(`Invalid configuration: ${name} cannot be read (${file}: ${reason})`)
  }
  if (!begins.test(text)) throw new ConfigError(`Invalid configuration: ${name} ${file} is not ${what}`)
  return text
}

/** What an integrator example (src/examples/) is configured with. */
export interface ExampleConfig
  extends Pick<
    Config,
    | 'port'
    | 'host'
    | 'endpointPath'
    | 'tokenField'
    | 'secrets'
    | 'dataFile'
    | 'databaseUrl'
    | 'seedFile'
    | 'bodyLimit'
    | 'lookupTimeoutMs'
    | 'tls'
  > {}

/** The server's variables, read and checked the same way, with PORT 5055 by default and no admin API. */
export function loadExampleConfig(env: NodeJS.ProcessEnv = process.env): ExampleConfig {
  const config = loadConfig({ ...env, PORT: env.PORT || String(EXAMPLE_PORT), ADMIN_PORT: 'off' })
  const { port, host, endpointPath, tokenField, secrets, dataFile, databaseUrl, seedFile } = config
  const { bodyLimit, lookupTimeoutMs, tls } = config
  return {
    tls,
    port,
    host,
    endpointPath,
    tokenField,
    secrets,
    dataFile,
    databaseUrl,
    seedFile,
    bodyLimit,
    lookupTimeoutMs,
  }
}

/** The examples' default port. */
export const EXAMPLE_PORT = 5055
