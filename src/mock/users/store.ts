import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { Low } from 'lowdb'
import { DataFile } from 'lowdb/node'
import type { UserStore as TemplateUserStore } from '../../template/user-store.js'
import type { Engine, UsersEngineId } from '../runtime/engine.js'
import { assertWritable, lineText, readIfExists, recordOf, serialise } from './json-store/file-io.js'
import { deepFrozen, describeIssue, load, oneLine, type State, StoreError } from './json-store/load.js'
import { type UserRecord, UserRecordSchema } from './record.js'

export { StoreError }

// The mock's store: the template's `UserStore` (src/template/user-store.ts) plus the writes the admin API
// needs. Below the interface is the JSON-file implementation; how its file is read, checked and written
// lives in json-store/.

/** The template's store (`find`, all that answering Talki needs) plus the writes the admin API makes. */
export interface UserStore extends TemplateUserStore<UserRecord> {
  /** Which engine holds the users, and where (readiness, the start-up log and the dashboard read it). */
  readonly engine: Engine<UsersEngineId>
  /** Store order; `q` matches token, name, email or plan, case-insensitive (a scan: admin use only). */
  list(query: { q?: string; offset: number; limit: number }): Promise<{ total: number; users: UserRecord[] }>
  /** A replaced record keeps its place, a new one goes last. Resolves once the change is on disk. */
  upsert(user: UserRecord): Promise<'created' | 'replaced'>
  /** False when there was no such user. Resolves once the change is on disk. */
  remove(token: string): Promise<boolean>
  /**
   * Replaces every user by `users`, in their order (POST /api/reset with `{"users":"seed"}`). Refuses
   * an invalid record or a repeated token before changing anything; `CheckedUsers` (a store file read by
   * `loadStoreFile`) were checked when read and are not checked again. Resolves once the change is on disk.
   */
  replaceAll(users: readonly UserRecord[] | CheckedUsers): Promise<void>
  /** Resolves when every write started so far is on disk. */
  flush(): Promise<void>
  /** Rejects when the engine behind the store cannot be reached (readiness); absent: always ready. */
  ping?(): Promise<void>
  /** Releases the engine's connections (at shutdown, after `flush`). */
  close?(): Promise<void>
}

/** How many parsed lines `find` keeps (a few MB at most). */
const PARSED_LINES_KEPT = 10_000

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
  const { index } = state
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

  const record = (entry: number | UserRecord): UserRecord => recordOf(state, entry)
  // Lines parsed by `find`, by line number, up to PARSED_LINES_KEPT (the oldest parsed goes first): a user
  // Talki asks for once is asked for again while an operator works (and by every load test), so it is
  // parsed once rather than per request (bench/RESULTS.md). A line's bytes never change; an upserted user
  // gets an object in the index instead of its line, and replaceAll drops the lines and this cache. The
  // records `find` hands out are shared, so they are frozen: a caller cannot change the store through one.
  const parsedLines = new Map<number, UserRecord>()
  const parsed = (line: number): UserRecord => {
    let user = parsedLines.get(line)
    if (user === undefined) {
      user = deepFrozen(recordOf(state, line))
      if (parsedLines.size >= PARSED_LINES_KEPT) parsedLines.delete(parsedLines.keys().next().value as number)
      parsedLines.set(line, user)
    }
    return user
  }

  return {
    engine: { id: 'json', label: 'JSON file', where: file },
    // Synchronous: the file is in memory, so the route needs no deadline (src/template/user-store.ts).
    find(token) {
      const entry = index.get(token)
      if (entry === undefined) return undefined
      return typeof entry === 'number' ? parsed(entry) : entry
    },
    async list({ q, offset, limit }) {
      const needle = q?.trim().toLowerCase()
      if (!needle) {
        const users: UserRecord[] = []
        let position = 0
        for (const entry of index.values()) {
          if (position++ < offset) continue
          if (users.length === limit) break
          users.push(record(entry))
        }
        return { total: index.size, users }
      }
      // A line is parsed only when its lower-cased text holds the needle, or an escape that might hide it;
      // the parsed record has the last word. Map iteration is insertion order: store order.
      const matches: UserRecord[] = []
      for (const entry of index.values()) {
        if (typeof entry === 'number' && !lineMayMatch(state, entry, needle)) continue
        const user = record(entry)
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
      index.set(user.userToken, deepFrozen(user))
      await persist()
      return replaced ? 'replaced' : 'created'
    },
    async remove(token) {
      if (!index.delete(token)) return false
      await persist()
      return true
    },
    async replaceAll(input) {
      // A store file read by loadStoreFile was validated then, and keeps its compact line index: its
      // lines become this store's lines, as if it had been opened.
      const next: State = input instanceof CheckedUsers ? input.state : usersState(validateAll(file, input))
      index.clear()
      parsedLines.clear()
      for (const [token, entry] of next.index)
        index.set(token, typeof entry === 'number' ? entry : deepFrozen(entry))
      state.bytes = next.bytes
      state.starts = next.starts
      state.ends = next.ends
      await persist()
    },
    async flush() {
      await (waiting ?? running).catch(() => {})
    },
  }
}

/** Every record valid and every token once, or a StoreError naming the first problem under `file`. */
export function validateAll(file: string, input: readonly UserRecord[]): UserRecord[] {
  const seen = new Set<string>()
  return input.map((record, i) => {
    const parsed = UserRecordSchema.safeParse(record)
    if (!parsed.success)
      throw new StoreError(`${file}: refused record: ${describeIssue(`users[${i}]`, parsed.error)}`)
    if (seen.has(parsed.data.userToken))
      throw new StoreError(`${file}: refused records: token ${parsed.data.userToken} appears twice`)
    seen.add(parsed.data.userToken)
    return parsed.data
  })
}

/** The users of a store file, validated once when read: `replaceAll` takes them without checking again. */
export class CheckedUsers {
  constructor(
    /** As `load` read it: the file's bytes and its line index. */
    readonly state: State,
  ) {}

  get size(): number {
    return this.state.index.size
  }

  records(): UserRecord[] {
    return Array.from(this.state.index.values(), (entry) => recordOf(this.state, entry))
  }
}

/** A store file (the seed), validated as the store validates its own file, with its line index. */
export async function loadStoreFile(file: string): Promise<CheckedUsers> {
  const bytes = await readIfExists(file)
  if (bytes === undefined) throw new StoreError(`${file}: not found`)
  return new CheckedUsers(load(file, bytes))
}

/** The users of a store file (the seed), validated as the store validates its own file. */
export async function readStoreFile(file: string): Promise<UserRecord[]> {
  return (await loadStoreFile(file)).records()
}

/** Records already validated, as a State with no bytes: every entry an object. */
function usersState(users: readonly UserRecord[]): State {
  const index = new Map<string, number | UserRecord>()
  for (const user of users) index.set(user.userToken, user)
  return { bytes: Buffer.alloc(0), starts: new Float64Array(0), ends: new Float64Array(0), index }
}

function matchesQuery(user: UserRecord, needle: string): boolean {
  return [user.userToken, user.name, user.email, user.plan].some((s) => s?.toLowerCase().includes(needle))
}

function lineMayMatch(state: State, line: number, needle: string): boolean {
  const text = lineText(state, line).toLowerCase()
  return text.includes(needle) || text.includes('\\')
}
