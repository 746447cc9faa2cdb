import { constants } from 'node:fs'
import { access, mkdir, open } from 'node:fs/promises'
import path from 'node:path'
import { Low } from 'lowdb'
import { DataFile } from 'lowdb/node'
import type { z } from 'zod'
import { StoreFileSchema, type UserRecord, UserRecordSchema } from './contract.js'
import { FILE_HEAD, FILE_TAIL } from './seed.js'

// The seam integrators replace to use their own database: keep the interface, swap the function that
// opens it. Everything below the interface is the JSON-file implementation.

export interface UserStore {
  /** The user with this token, looked up in a Map: own keys only, O(1) whatever the size. */
  find(token: string): Promise<UserRecord | undefined>
  /** Store order; `q` matches token, name, email or plan, case-insensitive (a scan: admin use only). */
  list(query: { q?: string; offset: number; limit: number }): Promise<{ total: number; users: UserRecord[] }>
  /** A replaced record keeps its place, a new one goes last. Resolves once the change is on disk. */
  upsert(user: UserRecord): Promise<'created' | 'replaced'>
  /** False when there was no such user. Resolves once the change is on disk. */
  remove(token: string): Promise<boolean>
  /** Resolves when every write started so far is on disk. */
  flush(): Promise<void>
}

/** A store that cannot be opened or written. The message is one line naming the file. */
export class StoreError extends Error {
  override name = 'StoreError'
}

type StoreData = { users: UserRecord[] }

export async function openJsonStore(options: { file: string; seedFile: string }): Promise<UserStore> {
  const { file, seedFile } = options
  const existing = await readIfExists(file)
  let loaded: ReturnType<typeof load>
  if (existing === undefined) {
    const seed = await readIfExists(seedFile)
    if (seed === undefined)
      throw new StoreError(`${seedFile}: seed file not found (needed to create ${file})`)
    loaded = load(seedFile, seed)
    await mkdir(path.dirname(path.resolve(file)), { recursive: true }).catch(
      (error: NodeJS.ErrnoException) => {
        throw new StoreError(`${file}: cannot create its folder (${error.code ?? error.message})`)
      },
    )
  } else {
    loaded = load(file, existing)
  }
  const { users, index } = loaded
  await assertWritable(file, existing !== undefined)

  // lowdb's Node adapters write through steno's Writer, which writes `.<name>.tmp` beside the file and
  // renames it over the file (see node_modules/steno/lib/index.js): a crash leaves the old file or the
  // new one, never a torn one. DataFile rather than JSONFile: JSONFile pretty-prints, which makes a
  // million users ~350 MB and loses the one-record-per-line layout that `load` reads fast.
  const db = new Low<StoreData>(new DataFile<StoreData>(file, { parse: JSON.parse, stringify }), {
    users: [],
  })
  db.data = { users }

  // Writes are serialised and coalesced: at most one runs, at most one waits. The waiting one serialises
  // the data when it starts, so it carries every change made before it started.
  let running: Promise<void> = Promise.resolve()
  let waiting: Promise<void> | undefined
  const persist = (): Promise<void> => {
    if (waiting) return waiting
    const next = running
      .catch(() => {})
      .then(() => {
        waiting = undefined
        return db.write()
      })
      .catch((error: Error) => {
        throw new StoreError(`${file}: write failed (${oneLine(error.message)})`)
      })
    waiting = next
    running = next
    return next
  }

  if (existing === undefined) await persist()

  return {
    async find(token) {
      return index.get(token)
    },
    async list({ q, offset, limit }) {
      const needle = q?.trim().toLowerCase()
      const matches = needle ? users.filter((user) => matchesQuery(user, needle)) : users
      return { total: matches.length, users: matches.slice(offset, offset + limit) }
    },
    async upsert(input) {
      const parsed = UserRecordSchema.safeParse(input)
      if (!parsed.success)
        throw new StoreError(`${file}: refused record: ${describeIssue('user', parsed.error)}`)
      const user = parsed.data
      const previous = index.get(user.userToken)
      if (previous) users[users.indexOf(previous)] = user
      else users.push(user)
      index.set(user.userToken, user)
      await persist()
      return previous ? 'replaced' : 'created'
    },
    async remove(token) {
      const previous = index.get(token)
      if (!previous) return false
      users.splice(users.indexOf(previous), 1)
      index.delete(token)
      await persist()
      return true
    },
    async flush() {
      await (waiting ?? running).catch(() => {})
    },
  }
}

/** The layout `writeSeedFile` writes: diff-friendly, and `load` can parse it one line at a time. */
function stringify(data: StoreData): string {
  return FILE_HEAD + data.users.map((user) => JSON.stringify(user)).join(',\n') + FILE_TAIL
}

async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    // One read of the known size: readFile's 512 KiB chunks cost ~0.5 s on a 250 MB store.
    const handle = await open(file, 'r')
    try {
      const { size } = await handle.stat()
      const bytes = Buffer.allocUnsafe(size)
      let filled = 0
      while (filled < size) {
        const { bytesRead } = await handle.read(bytes, filled, size - filled, filled)
        if (bytesRead === 0) break
        filled += bytesRead
      }
      return bytes.subarray(0, filled)
    } finally {
      await handle.close()
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw new StoreError(`${file}: cannot read (${code ?? oneLine((error as Error).message)})`)
  }
}

// Checked at open, so a read-only volume stops the start with one line instead of failing the first edit.
// steno needs the folder (for its temp file and the rename) as well as the file.
async function assertWritable(file: string, exists: boolean): Promise<void> {
  const folder = path.dirname(path.resolve(file))
  for (const [target, what] of [[folder, 'its folder'], ...(exists ? [[file, 'the file']] : [])] as const) {
    try {
      await access(target, constants.W_OK)
    } catch (error) {
      throw new StoreError(`${file}: ${what} is not writable (${(error as NodeJS.ErrnoException).code})`)
    }
  }
}

/** Parses and validates a whole store file; the first problem becomes a StoreError naming `file`. */
function load(file: string, bytes: Buffer): { users: UserRecord[]; index: Map<string, UserRecord> } {
  const records = parseRecords(file, bytes)
  const index = new Map<string, UserRecord>()
  for (let i = 0; i < records.length; i++) {
    const record = records[i]
    if (!looksValid(record)) {
      const parsed = UserRecordSchema.safeParse(record)
      if (!parsed.success) throw new StoreError(`${file}: ${describeIssue(`users[${i}]`, parsed.error)}`)
    }
    const user = record as UserRecord
    const twin = index.get(user.userToken)
    if (twin) {
      const where = `users[${i}].userToken`
      const token = JSON.stringify(user.userToken)
      throw new StoreError(
        `${file}: ${where}: duplicate token ${token} (also users[${records.indexOf(twin)}])`,
      )
    }
    index.set(user.userToken, user)
  }
  // Every record passed the checks above, so the parsed array is the users array as it stands.
  return { users: records as UserRecord[], index }
}

/**
 * The records of a store file. The common layout (one record per line, as written here and by the seed)
 * is parsed line by line, faster than one JSON.parse of the whole text (1M users: ~2.5 s against ~4.5 s
 * on the test machine) since every parse is small; any other layout,
 * or any line that does not parse, goes to a whole-file JSON.parse, whose result and errors are the truth.
 */
function parseRecords(file: string, bytes: Buffer): unknown[] {
  const text = bytes.toString('utf8')
  const fast = parseLines(text)
  if (fast) return fast
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw new StoreError(`${file}: not valid JSON (${oneLine((error as Error).message)})`)
  }
  const shape = StoreFileSchema.safeParse(data)
  if (!shape.success)
    throw new StoreError(`${file}: expected {"users":[…]}: ${describeIssue('', shape.error)}`)
  return shape.data.users
}

function parseLines(text: string): unknown[] | undefined {
  if (!text.startsWith(FILE_HEAD) || !text.endsWith(FILE_TAIL)) return undefined
  const end = text.length - FILE_TAIL.length // the "\n" that ends the last record
  const records: unknown[] = []
  let start = FILE_HEAD.length
  try {
    while (start < end) {
      let stop = text.indexOf('\n', start)
      if (stop < 0 || stop > end) stop = end
      const last = stop === end
      // Every line but the last ends with the comma that separates records.
      if (!last && text.charCodeAt(stop - 1) !== 44) return undefined
      records.push(JSON.parse(text.slice(start, last ? stop : stop - 1)))
      start = stop + 1
    }
  } catch {
    return undefined
  }
  return records
}

const KNOWN_KEYS = new Set(['userToken', 'name', 'email', 'plan', 'fields'])

/**
 * A cheap check that only ever says yes to what UserRecordSchema accepts; anything else (a `simulate`
 * field, an odd key, a long token, a wrong type) goes to zod, which decides and gives the reason.
 */
function looksValid(record: unknown): boolean {
  if (!isPlainObject(record)) return false
  for (const key in record) {
    if (!KNOWN_KEYS.has(key)) return false
    const value = (record as Record<string, unknown>)[key]
    if (key === 'fields') {
      if (!isPlainObject(value)) return false
      for (const field in value) {
        if (field === '__proto__') return false
        const v = (value as Record<string, unknown>)[field]
        if (
          typeof v !== 'string' &&
          typeof v !== 'boolean' &&
          !(typeof v === 'number' && Number.isFinite(v))
        ) {
          return false
        }
      }
    } else if (typeof value !== 'string') return false
  }
  const token = (record as { userToken?: unknown }).userToken
  return typeof token === 'string' && token.length >= 1 && token.length <= 256
}

function isPlainObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
}

function matchesQuery(user: UserRecord, needle: string): boolean {
  return [user.userToken, user.name, user.email, user.plan].some((s) => s?.toLowerCase().includes(needle))
}

/** `users[12].email: Invalid input: expected string, received number` from zod's first issue. */
function describeIssue(root: string, error: z.ZodError): string {
  const issue = error.issues[0]
  let where = root
  for (const key of issue?.path ?? []) {
    if (typeof key === 'number') where += `[${key}]`
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) where += where ? `.${key}` : key
    else where += `[${JSON.stringify(String(key))}]`
  }
  const reason = oneLine(issue?.message ?? 'invalid')
  return where ? `${where}: ${reason}` : reason
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}
