import { randomBytes } from 'node:crypto'
import { rename, rm, writeFile } from 'node:fs/promises'

// READY_FILE: what a supervisor, a container health check or a test waits on instead of scraping logs.

export interface ReadyUrls {
  endpoint: string
  /** `null` with ADMIN_PORT=off. */
  admin: string | null
}

/** Written whole or not at all (a temporary file renamed over it): a reader never sees half of it. */
export async function writeReadyFile(file: string, urls: ReadyUrls): Promise<void> {
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(temporary, `${JSON.stringify(urls)}\n`)
  await rename(temporary, file)
}

/** A file left by an earlier run must not announce this one before it listens. */
export async function removeReadyFile(file: string): Promise<void> {
  await rm(file, { force: true })
}
