import { constants } from 'node:fs'
import { access, mkdir, open } from 'node:fs/promises'
import path from 'node:path'
import { Low } from 'lowdb'
import { DataFile } from 'lowdb/node'
import type { z } from 'zod'
import { FILE_HEAD, FILE_TAIL, StoreFileSchema, type UserRecord, UserRecordSchema } from './contract.js'

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

/**
 * What the store holds. The file's bytes stay in memory, untouched, and a record read from them is
 * parsed again each time it is asked for: a million parsed records cost ~1 GB and seconds of GC at
 * start, the bytes cost their size. A record upserted since is kept as an object.
 */
type State = {
  /** The file as read at open (or the seed it was created from). Never written to. */
  bytes: Buffer
  /** Line `i` of `bytes` is `bytes[starts[i], ends[i])`: one record, without its separator. */
  starts: Float64Array
  ends: Float64Array
  /** A number is a line of `bytes`, unchanged since open; an object is a record upserted since. */
  index: Map<string, number | UserRecord>
  /** Tokens in store order. */
  order: string[]
}

export async function openJsonStore(options: { file: string; seedFile: string }): Promise<UserStore> {
  const { file, seedFile } = options
  const existing = await readIfExists(file)
  let state: State
  if (existing === undefined) {
    const seed = await readIfExists(seedFile)
    if (seed === undefined)
      throw new StoreError(`${seedFile}: seed file not found (needed to create ${file})`)
    state = load(seedFile, seed)
    await mkdir(path.dirname(path.resolve(file)), { recursive: true }).catch(
      (error: NodeJS.ErrnoException) => {
        throw new StoreError(`${file}: cannot create its folder (${error.code ?? error.message})`)
      },
    )
  } else {
    state = load(file, existing)
  }
  const { index, order } = state
  await assertWritable(file, existing !== undefined)

  // lowdb's Node adapters write through steno's Writer, which writes `.<name>.tmp` beside the file and
  // renames it over the file (see node_modules/steno/lib/index.js): a crash leaves the old file or the
  // new one, never a torn one. DataFile rather than JSONFile: JSONFile pretty-prints, which makes a
  // million users ~350 MB and loses the one-record-per-line layout that `load` reads fast.
  // `serialise` returns Buffers, not the string DataFile's type asks for: steno passes its data to
  // fs.promises.writeFile, which writes an array of Buffers in turn. That writes the unchanged lines
  // straight from `bytes`, instead of building a 235 MB string (twice that in UTF-16) at 1M users.
  const adapter = new DataFile<State>(file, {
    parse: () => state,
    stringify: (data) => serialise(data) as unknown as string,
  })
  const db = new Low<State>(adapter, state)

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

  // A line is parsed afresh on every read, so callers never hold (or mutate) what the store keeps.
  const recordOf = (entry: number | UserRecord): UserRecord =>
    typeof entry === 'number' ? (parseLine(state, entry) as UserRecord) : entry

  return {
    async find(token) {
      const entry = index.get(token)
      return entry === undefined ? undefined : recordOf(entry)
    },
    async list({ q, offset, limit }) {
      const needle = q?.trim().toLowerCase()
      if (!needle) {
        const page = order.slice(offset, offset + limit)
        return {
          total: order.length,
          users: page.map((token) => recordOf(index.get(token) as number | UserRecord)),
        }
      }
      // Only lines whose text could hold the needle are parsed; the parsed record has the last word.
      const candidates = linesThatMayMatch(state, needle)
      const matches: UserRecord[] = []
      // A Map iterates in insertion order and set() on a key keeps its place: that is store order,
      // walked without a lookup per token.
      for (const entry of index.values()) {
        if (typeof entry === 'number' && candidates[entry] === 0) continue
        const user = recordOf(entry)
        if (matchesQuery(user, needle)) matches.push(user)
      }
      return { total: matches.length, users: matches.slice(offset, offset + limit) }
    },
    async upsert(input) {
      const parsed = UserRecordSchema.safeParse(input)
      if (!parsed.success)
        throw new StoreError(`${file}: refused record: ${describeIssue('user', parsed.error)}`)
      const user = parsed.data
      const replaced = index.has(user.userToken)
      if (!replaced) order.push(user.userToken)
      index.set(user.userToken, user)
      await persist()
      return replaced ? 'replaced' : 'created'
    },
    async remove(token) {
      if (!index.has(token)) return false
      order.splice(order.indexOf(token), 1)
      index.delete(token)
      await persist()
      return true
    },
    async flush() {
      await (waiting ?? running).catch(() => {})
    },
  }
}

const HEAD = Buffer.from(FILE_HEAD)
const TAIL = Buffer.from(FILE_TAIL)
const SEPARATOR = ',\n'

function parseLine(state: State, line: number): unknown {
  return JSON.parse(state.bytes.toString('utf8', state.starts[line], state.ends[line]))
}

/**
 * The file in the layout `writeSeedFile` writes, as Buffers to write in turn: unchanged lines are
 * their original bytes (a run of neighbours is one slice of `bytes`), changed ones JSON.stringify.
 */
function serialise({ bytes, starts, ends, index, order }: State): Buffer[] {
  const chunks: Buffer[] = []
  let text = FILE_HEAD
  let runFrom = -1
  let runTo = -1
  const endRun = () => {
    if (runFrom < 0) return
    chunks.push(bytes.subarray(runFrom, runTo))
    runFrom = -1
  }
  for (let k = 0; k < order.length; k++) {
    const entry = index.get(order[k] as string) as number | UserRecord
    if (typeof entry === 'number') {
      const start = starts[entry] as number
      // The next line of the file: the run grows over the ",\n" between them.
      if (runFrom >= 0 && runTo + SEPARATOR.length === start) {
        runTo = ends[entry] as number
        continue
      }
      endRun()
      if (k > 0) text += SEPARATOR
      if (text) chunks.push(Buffer.from(text))
      text = ''
      runFrom = start
      runTo = ends[entry] as number
    } else {
      endRun()
      text += (k > 0 ? SEPARATOR : '') + JSON.stringify(entry)
      if (text.length >= 1 << 20) {
        chunks.push(Buffer.from(text))
        text = ''
      }
    }
  }
  endRun()
  chunks.push(Buffer.from(text + FILE_TAIL))
  return chunks
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

/** Reads and validates a whole store file; the first problem becomes a StoreError naming `file`. */
function load(file: string, bytes: Buffer): State {
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
  // The Map's keys are in insertion order: store order.
  const order = Array.from(index.keys())
  return { bytes, starts: starts.subarray(0, lines), ends: ends.subarray(0, lines), index, order }
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

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const OPEN = 0x7b
const CLOSE = 0x7d
const KEYS = ['userToken', 'name', 'email', 'plan', 'fields'].map((key) => Buffer.from(key))
const TOKEN = 0
const FIELDS = 4
const PROTO_KEY = Buffer.from('__proto__')

/**
 * The token of a line written as JSON.stringify writes a record that looksValid accepts, read from the
 * bytes without building the record (JSON.parse was ~75% of opening 1M users): an object with no
 * whitespace and no escapes, each of userToken, name, email, plan, fields at most once, strings for the
 * first four, and fields an object of strings, booleans and numbers without exponent (always finite).
 * Undefined for anything else, which `checkedToken` judges the usual way. It only ever says yes where
 * JSON.parse + looksValid would, and names the same token (test/store.test.ts checks it against them).
 */
function plainRecordToken(b: Buffer, start: number, end: number): string | undefined {
  if (b[start] !== OPEN) return undefined
  let i = start + 1
  let seen = 0
  let tokenStart = -1
  let tokenEnd = -1
  for (;;) {
    if (b[i] !== QUOTE) return undefined
    const keyEnd = stringEnd(b, i + 1, end)
    if (keyEnd < 0 || b[keyEnd + 1] !== COLON) return undefined
    const key = keyIndex(b, i + 1, keyEnd)
    if (key < 0 || seen & (1 << key)) return undefined
    seen |= 1 << key
    i = keyEnd + 2
    if (key === FIELDS) {
      i = fieldsEnd(b, i, end)
      if (i < 0) return undefined
    } else {
      if (b[i] !== QUOTE) return undefined
      const valueEnd = stringEnd(b, i + 1, end)
      if (valueEnd < 0) return undefined
      if (key === TOKEN) {
        tokenStart = i + 1
        tokenEnd = valueEnd
      }
      i = valueEnd + 1
    }
    if (b[i] === COMMA) i++
    else if (b[i] === CLOSE && i + 1 === end) break
    else return undefined
  }
  if (tokenStart < 0) return undefined
  const token = b.toString('utf8', tokenStart, tokenEnd)
  return token.length >= 1 && token.length <= 256 ? token : undefined
}

/** Which of KEYS the bytes `from`–`to` spell, or -1. */
function keyIndex(b: Buffer, from: number, to: number): number {
  const length = to - from
  for (let k = 0; k < KEYS.length; k++) {
    const key = KEYS[k] as Buffer
    if (key.length === length && b[from] === key[0] && bytesAre(b, from, to, key)) return k
  }
  return -1
}

/** Index of the quote closing a string whose text starts at `i`; -1 if it holds an escape or a control character. */
function stringEnd(b: Buffer, i: number, end: number): number {
  for (; i < end; i++) {
    const c = b[i] as number
    if (c === QUOTE) return i
    if (c === BACKSLASH || c < 0x20) return -1
  }
  return -1
}

function bytesAre(b: Buffer, from: number, to: number, key: Buffer): boolean {
  if (to - from !== key.length) return false
  for (let k = 0; k < key.length; k++) if (b[from + k] !== key[k]) return false
  return true
}

/** Index just past the `fields` object starting at `i`, or -1 if it is not a plain one. */
function fieldsEnd(b: Buffer, i: number, end: number): number {
  if (b[i] !== OPEN) return -1
  i++
  if (b[i] === CLOSE) return i + 1
  for (;;) {
    if (b[i] !== QUOTE) return -1
    const keyEnd = stringEnd(b, i + 1, end)
    if (keyEnd < 0 || b[keyEnd + 1] !== COLON || bytesAre(b, i + 1, keyEnd, PROTO_KEY)) return -1
    i = keyEnd + 2
    const c = b[i]
    if (c === QUOTE) {
      const valueEnd = stringEnd(b, i + 1, end)
      if (valueEnd < 0) return -1
      i = valueEnd + 1
    } else if (c === 0x74 /* t */ && bytesAre(b, i, i + 4, TRUE)) i += 4
    else if (c === 0x66 /* f */ && bytesAre(b, i, i + 5, FALSE)) i += 5
    else {
      i = numberEnd(b, i, end)
      if (i < 0) return -1
    }
    if (b[i] === COMMA) i++
    else if (b[i] === CLOSE) return i + 1
    else return -1
  }
}

const TRUE = Buffer.from('true')
const FALSE = Buffer.from('false')

/** Index just past a JSON number at `i` with at most 300 integer digits and no exponent, else -1. */
function numberEnd(b: Buffer, i: number, end: number): number {
  if (b[i] === 0x2d /* - */) i++
  const first = i
  if (b[i] === 0x30 /* 0 */) i++
  else while (i < end && isDigit(b[i] as number)) i++
  if (i === first || i - first > 300) return -1
  if (b[i] === 0x2e /* . */) {
    const fraction = ++i
    while (i < end && isDigit(b[i] as number)) i++
    if (i === fraction) return -1
  }
  return b[i] === 0x65 || b[i] === 0x45 ? -1 : i // e, E
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

function grow(array: Float64Array): Float64Array {
  const bigger = new Float64Array(array.length * 2)
  bigger.set(array)
  return bigger
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
  const order: string[] = []
  for (let i = 0; i < records.length; i++) {
    const record = records[i]
    if (!looksValid(record)) {
      const parsed = UserRecordSchema.safeParse(record)
      if (!parsed.success) throw new StoreError(`${file}: ${describeIssue(`users[${i}]`, parsed.error)}`)
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
    index.set(user.userToken, user)
    order.push(user.userToken)
  }
  const none = new Float64Array(0)
  return { bytes: Buffer.alloc(0), starts: none, ends: none, index, order }
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

const SEARCH_CHUNK = 1 << 20

/**
 * Marks (1) the lines of `bytes` that may hold a token, name, email or plan whose lower-cased form
 * contains `needle` (lower-cased): a superset, since the caller confirms on the parsed record. A string
 * without a backslash in its line is written as itself between quotes, so:
 * - an ASCII needle is looked for in the raw bytes lower-cased as Latin-1 (which lower-cases ASCII
 *   letters only, byte for byte, ~4× cheaper than decoding UTF-8 to UTF-16); the only characters whose
 *   toLowerCase holds ASCII are U+0130 "İ" → "i̇" and U+212A (Kelvin) → "k", so lines holding those
 *   are marked too when the needle has an i or a k;
 * - any other needle in the decoded, lower-cased text (a quote is, for toLowerCase's one context rule,
 *   final sigma, the same as the end of a string);
 * - and every line with a backslash (an escape may hide the needle) is marked.
 */
function linesThatMayMatch({ bytes, starts, ends }: State, needle: string): Uint8Array {
  const marks = new Uint8Array(starts.length)
  // Marks the line of every hit of `what` in `text`, lines [first, …) separated by "\n" as in `bytes`.
  const mark = (text: string, first: number, what: string) => {
    let line = first
    let lineStart = 0
    for (let hit = text.indexOf(what); hit >= 0; ) {
      let lineEnd = text.indexOf('\n', lineStart)
      while (lineEnd >= 0 && lineEnd < hit) {
        line++
        lineStart = lineEnd + 1
        lineEnd = text.indexOf('\n', lineStart)
      }
      marks[line] = 1
      if (lineEnd < 0) break
      hit = text.indexOf(what, lineEnd + 1)
    }
  }
  const ascii = Buffer.byteLength(needle) === needle.length
  const dotted = ascii && /[ik]/.test(needle)
  for (let first = 0; first < starts.length; ) {
    let next = first + 1
    while (next < starts.length && (ends[next] as number) - (starts[first] as number) < SEARCH_CHUNK) next++
    const from = starts[first] as number
    const to = ends[next - 1] as number
    if (ascii) {
      const text = bytes.toString('latin1', from, to)
      mark(text.toLowerCase(), first, needle)
      mark(text, first, '\\')
      if (dotted) {
        mark(text, first, LATIN1_CAPITAL_I_WITH_DOT)
        mark(text, first, LATIN1_KELVIN)
      }
    } else {
      const text = bytes.toString('utf8', from, to).toLowerCase()
      mark(text, first, needle)
      mark(text, first, '\\')
    }
    first = next
  }
  return marks
}

// Their UTF-8 bytes read as Latin-1.
const LATIN1_CAPITAL_I_WITH_DOT = Buffer.from('\u0130').toString('latin1')
const LATIN1_KELVIN = Buffer.from('\u212a').toString('latin1')

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
