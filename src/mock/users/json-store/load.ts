import type { z } from 'zod'
import { MAX_TOKEN_LENGTH } from '../../../template/protocol.js'
import {
  FILE_HEAD,
  FILE_TAIL,
  PLAIN_RECORD_KEYS,
  StoreFileSchema,
  type UserRecord,
  UserRecordSchema,
} from '../record.js'
import { plainRecordToken } from './scan.js'

// How the JSON store's file is read: parsed, validated (zod has the last word) and indexed by token.

/** A store that cannot be opened or written. The message is one line naming the file. */
export class StoreError extends Error {
  override name = 'StoreError'
}

const HEAD = Buffer.from(FILE_HEAD)
const TAIL = Buffer.from(FILE_TAIL)

/**
 * What the store holds. The file's bytes stay in memory, untouched, and a record read from them is
 * parsed again each time it is asked for: a million parsed records cost ~1 GB and seconds of GC at
 * start, the bytes cost their size. A record upserted since is kept as an object.
 */
export type State = {
  /** The file as read at open (or the seed it was created from). Never written to. */
  bytes: Buffer
  /** Line `i` of `bytes` is `bytes[starts[i], ends[i])`: one record, without its separator. */
  starts: Float64Array
  ends: Float64Array
  /** A number is a line of `bytes`, unchanged since open; an object is a record upserted since. */
  /** In store order (a Map iterates in insertion order; a replaced key keeps its place). */
  index: Map<string, number | UserRecord>
}

/** Reads and validates a whole store file; the first problem becomes a StoreError naming `file`. */
export function load(file: string, bytes: Buffer): State {
  return loadLines(bytes) ?? loadWhole(file, bytes)
}

/**
 * The common layout (one record per line, as written here and by the seed), checked line by line and
 * indexed by token → line, no record kept: ~1.7 s and ~470 MB RSS at 1M users (235 MB) on the test
 * machine, against ~4 s and ~1.2 GB for a whole-file parse kept as objects. Undefined for any other
 * layout and for any line that does not parse or pass, or a duplicate token: `loadWhole` then reads
 * the file again and its errors are the truth.
 */
function loadLines(bytes: Buffer): State | undefined {
  if (bytes.length < HEAD.length + TAIL.length - 1) return undefined
  if (!bytes.subarray(0, HEAD.length).equals(HEAD)) return undefined
  if (!bytes.subarray(bytes.length - TAIL.length).equals(TAIL)) return undefined
  const end = bytes.length - TAIL.length // the "\n" that ends the last record
  const index = new Map<string, number | UserRecord>()
  let starts: Float64Array = new Float64Array(1024)
  let ends: Float64Array = new Float64Array(1024)
  let lines = 0
  let start = HEAD.length
  while (start < end) {
    let stop = bytes.indexOf(10, start)
    if (stop < 0 || stop > end) stop = end
    const last = stop === end
    // Every line but the last ends with the comma that separates records.
    if (!last && bytes[stop - 1] !== 44) return undefined
    const lineEnd = last ? stop : stop - 1
    const token = plainRecordToken(bytes, start, lineEnd) ?? checkedToken(bytes, start, lineEnd)
    if (token === undefined) return undefined
    if (lines === starts.length) {
      starts = grow(starts)
      ends = grow(ends)
    }
    starts[lines] = start
    ends[lines] = lineEnd
    index.set(token, lines)
    lines++
    if (index.size !== lines) return undefined // a duplicate token
    start = stop + 1
  }
  return { bytes, starts: starts.subarray(0, lines), ends: ends.subarray(0, lines), index }
}

/** The token of a line that JSON.parse reads as a valid record (looksValid, else zod, decides). */
function checkedToken(bytes: Buffer, start: number, end: number): string | undefined {
  let record: unknown
  try {
    record = JSON.parse(bytes.toString('utf8', start, end))
  } catch {
    return undefined
  }
  if (!looksValid(record) && !UserRecordSchema.safeParse(record).success) return undefined
  return (record as UserRecord).userToken
}

function grow(array: Float64Array): Float64Array {
  const bigger = new Float64Array(array.length * 2)
  bigger.set(array)
  return bigger
}

/** `value` and everything in it made read-only (a user record: its fields and its simulate spec). */
export function deepFrozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFrozen(inner)
    Object.freeze(value)
  }
  return value
}

/** Any JSON layout: one JSON.parse of the whole text, every record kept as an object. */
function loadWhole(file: string, bytes: Buffer): State {
  let data: unknown
  try {
    data = JSON.parse(bytes.toString('utf8'))
  } catch (error) {
    throw new StoreError(`${file}: not valid JSON (${oneLine((error as Error).message)})`)
  }
  const shape = StoreFileSchema.safeParse(data)
  if (!shape.success)
    throw new StoreError(`${file}: expected {"users":[…]}: ${describeIssue('', shape.error)}`)
  const records = shape.data.users
  const index = new Map<string, number | UserRecord>()
  for (let i = 0; i < records.length; i++) {
    const record = records[i]
    if (!looksValid(record)) {
      const parsed = UserRecordSchema.safeParse(record)
      if (!parsed.success) {
        throw new StoreError(`${file}: ${describeIssue(`users[${i}]${tokenLabel(record)}`, parsed.error)}`)
      }
    }
    const user = record as UserRecord
    const twin = index.get(user.userToken)
    if (twin !== undefined) {
      const where = `users[${i}].userToken`
      const token = JSON.stringify(user.userToken)
      throw new StoreError(
        `${file}: ${where}: duplicate token ${token} (also users[${records.indexOf(twin)}])`,
      )
    }
    // Kept as objects and handed out as they are (store.ts): frozen, so no caller changes the store.
    index.set(user.userToken, deepFrozen(user))
  }
  const none = new Float64Array(0)
  return { bytes: Buffer.alloc(0), starts: none, ends: none, index }
}

const KNOWN_KEYS = new Set<string>(PLAIN_RECORD_KEYS)

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
  return typeof token === 'string' && token.length >= 1 && token.length <= MAX_TOKEN_LENGTH
}

/** ` (usr_x)`: the token of a bad record, so it can be found by what it is as well as where. */
function tokenLabel(record: unknown): string {
  const token = isPlainObject(record) ? (record as { userToken?: unknown }).userToken : undefined
  if (typeof token !== 'string' || token === '') return ''
  const shown = token.length > 40 ? `${token.slice(0, 39)}…` : token
  return ` (${/^[\w.:@-]+$/.test(shown) ? shown : JSON.stringify(shown)})`
}

function isPlainObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
}

/** `users[12].email: Invalid input: expected string, received number` from zod's first issue. */
export function describeIssue(root: string, error: z.ZodError): string {
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

export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}
