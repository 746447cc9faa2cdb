import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { ConfigError } from './config-error.js'

// The development secret: when TALKI_SECRET is unset (and not in production), a random secret is
// created once in `.secret` beside DATA_FILE, mode 0600, and reused by the server and the CLI.

export function secretFilePath(dataFile: string): string {
  return join(dirname(dataFile), '.secret')
}

/** Reads the secret file; `undefined` when it does not exist. A bad file is a ConfigError. */
export async function readSecretFile(file: string): Promise<string | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ConfigError(`Cannot read the secret file ${file}: ${(error as Error).message}`)
  }
  const secret = text.replace(/\r?\n$/, '')
  if (secret === '' || secret.trim() !== secret || secret.includes(',')) {
    throw new ConfigError(
      `The secret file ${file} must hold one secret without white space; delete it to make a new one`,
    )
  }
  return secret
}

/**
 * The secrets the endpoint verifies with: TALKI_SECRET when given, else the development secret,
 * created when missing. `created` is set only on the run that created it, so it is shown once.
 */
export async function ensureSecret(config: {
  secrets: string[] | undefined
  dataFile: string
}): Promise<{ secrets: string[]; created?: string; file?: string }> {
  if (config.secrets) return { secrets: config.secrets }
  const file = secretFilePath(config.dataFile)
  const existing = await readSecretFile(file)
  if (existing !== undefined) return { secrets: [existing], file }
  const secret = randomBytes(32).toString('hex')
  try {
    await mkdir(dirname(file), { recursive: true })
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    // Another process created it a moment ago: use that one.
    const raced = (error as NodeJS.ErrnoException).code === 'EEXIST' ? await readSecretFile(file) : undefined
    if (raced !== undefined) return { secrets: [raced], file }
    throw new ConfigError(`Cannot create the secret file ${file}: ${(error as Error).message}`)
  }
  return { secrets: [secret], created: secret, file }
}
