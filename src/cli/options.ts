import { readFile } from 'node:fs/promises'
import { DEFAULT_TOKEN_FIELD } from '../contract/defaults.js'
import { TALKI_TIMING_NAMES, type TalkiTiming, talkiTimingNamed } from '../contract/talki-timing.js'
import { DEFAULT_DATA_FILE } from '../mock/runtime/defaults.js'
import { UsageError } from './io.js'
import { TALKI_TIMEOUT_MS } from './talki.js'

// The options `send` and `check` share, and their validation: a bad value is a UsageError (exit 2).

/** Shown in help and errors; at run time the URL is built from the server's own defaults (serverDefaults). */
export const DEFAULT_URL = 'http://127.0.0.1:3000/talki/customer'

export const COMMON_OPTIONS = {
  url: { type: 'string' },
  secret: { type: 'string' },
  field: { type: 'string' },
  timeout: { type: 'string' },
  ca: { type: 'string' },
  insecure: { type: 'boolean' },
} as const

export const COMMON_HELP = `Common options:
  --url U         the endpoint (default ${DEFAULT_URL}, the mock's own address)
  --secret S      the signing secret (else the first of TALKI_SECRET, else .secret beside DATA_FILE,
                  ${DEFAULT_DATA_FILE} unless set)
  --field NAME    the body key that holds the user token (default ${DEFAULT_TOKEN_FIELD}, as the mock's USER_TOKEN_FIELD)
  --timeout MS    per-request deadline (default ${TALKI_TIMEOUT_MS}, as Talki)
  --ca FILE       trust the certificate authority in FILE (PEM) for an https:// URL, as well as the system's
  --insecure      do not verify the endpoint's certificate (a development certificate; Talki always verifies)
  -h, --help      this help`

/** How to reach an https:// endpoint: an extra CA, or no verification at all. */
export interface TlsOptions {
  ca?: Buffer
  /** Where `ca` was read from: what a curl line passes to --cacert. */
  caFile?: string
  insecure?: boolean
}

export interface CommonValues {
  url: URL
  secret: string
  field: string
  timeoutMs: number
  tls: TlsOptions
}

/**
 * The server's own defaults (USER_TOKEN_FIELD, DATA_FILE, PORT, ENDPOINT_PATH), read from its configuration so
 * they are written in one place. That loads zod, so only the paths that need a default call this.
 */
export async function serverDefaults(): Promise<{
  tokenField: string
  dataFile: string
  url: string
}> {
  const { loadConfig } = await import('../mock/runtime/config.js')
  const { tokenField, dataFile, port, endpointPath } = loadConfig({})
  return { tokenField, dataFile, url: `http://127.0.0.1:${port}${endpointPath}` }
}

/** The Talki timing `send` plays: TALKI_TIMING=demo scales Talki's timeout and retry delay down (docs/demos.md). */
export function talkiTimingOf(env: NodeJS.ProcessEnv): TalkiTiming {
  const timing = talkiTimingNamed(env.TALKI_TIMING)
  if (timing === undefined) {
    throw new UsageError(
      `TALKI_TIMING must be one of ${TALKI_TIMING_NAMES.join(', ')}, not "${env.TALKI_TIMING}"`,
    )
  }
  return timing
}

/** The options shared by send and check, validated: a bad one is a usage error. */
export async function commonValues(
  values: {
    url?: string | undefined
    secret?: string | undefined
    field?: string | undefined
    timeout?: string | undefined
    ca?: string | undefined
    insecure?: boolean | undefined
  },
  env: NodeJS.ProcessEnv,
): Promise<CommonValues> {
  const defaults = values.url === undefined || values.field === undefined ? await serverDefaults() : undefined
  return {
    url: parseUrl(values.url ?? defaults?.url ?? DEFAULT_URL),
    field: parseField(values.field, defaults?.tokenField),
    timeoutMs: integer('--timeout', values.timeout, TALKI_TIMEOUT_MS, 1, 600_000),
    secret: await resolveSecret(values.secret, env),
    tls: await tlsValues(values.ca, values.insecure === true),
  }
}

export async function tlsValues(caFile: string | undefined, insecure: boolean): Promise<TlsOptions> {
  if (caFile === undefined) return insecure ? { insecure } : {}
  if (caFile === '') throw new UsageError('--ca needs a FILE (a PEM certificate)')
  let ca: Buffer
  try {
    ca = await readFile(caFile)
  } catch (error) {
    throw new UsageError(`cannot read --ca ${caFile}: ${(error as Error).message}`)
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UsageError(`--ca ${caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`)
  }
  return insecure ? { ca, caFile, insecure } : { ca, caFile }
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

function parseField(text: string | undefined, fallback: string | undefined): string {
  if (text === undefined) {
    if (fallback === undefined) throw new Error('parseField needs the default field')
    return fallback
  }
  if (text === '') throw new UsageError('--field must not be empty')
  return text
}

export function integer(
  flag: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
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
  const [{ ConfigError }, { readSecretFile, secretFilePath }] = await Promise.all([
    import('../mock/runtime/config-error.js'),
    import('../mock/runtime/secret.js'),
  ])
  const dataFile =
    env.DATA_FILE === undefined || env.DATA_FILE === '' ? (await serverDefaults()).dataFile : env.DATA_FILE
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
