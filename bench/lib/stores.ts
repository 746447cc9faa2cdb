import { createReadStream, existsSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { runCommand } from './children.js'

/** The store for `size` users, made by the project's own seed (`npm run seed`) and reused when present. */
export async function ensureStore(root: string, dataDir: string, size: number): Promise<string> {
  const file = join(dataDir, `users-${size}.json`)
  if (existsSync(file)) return file
  await mkdir(dataDir, { recursive: true })
  const partial = `${file}.partial`
  process.stderr.write(`bench: seeding ${size} users into ${file}\n`)
  // Written beside and renamed, so an interrupted seed is never reused as a store.
  await runCommand(
    'npm',
    ['run', '--silent', 'seed', '--', '--count', String(size), '--out', partial],
    root,
    30 * 60_000,
  )
  await rename(partial, file)
  return file
}

/** A small deterministic generator (mulberry32): the same store always gives the same pool. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

interface Candidate {
  userToken?: unknown
  simulate?: unknown
}

/** A user that answers normally: the benchmark never signs for a user with its own `simulate`. */
function plainToken(record: Candidate): string | null {
  return typeof record.userToken === 'string' && record.simulate === undefined ? record.userToken : null
}

/** The layout the seed writes (src/mock/seed.ts FILE_HEAD): this line, then one record per line. */
const SEED_HEAD = '{"users":['

/**
 * `count` random tokens of users without a `simulate` field (reservoir sampling, fixed seed). A file in the
 * seed's layout is streamed one record per line, so the benchmark's memory stays small at 1,000,000 users;
 * any other layout (a reformatted file, say) is parsed whole.
 */
export async function sampleTokens(
  file: string,
  count: number,
  seed = 7,
): Promise<{ tokens: string[]; users: number }> {
  const next = random(seed)
  const tokens: string[] = []
  let users = 0
  let plain = 0
  const offer = (record: Candidate) => {
    if (typeof record.userToken !== 'string') return
    users += 1
    const token = plainToken(record)
    if (token === null) return
    plain += 1
    if (tokens.length < count) tokens.push(token)
    else {
      const slot = Math.floor(next() * plain)
      if (slot < count) tokens[slot] = token
    }
  }
  const lines = createInterface({
    input: createReadStream(file, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  })
  let first = true
  let streamed = false
  for await (const line of lines) {
    if (first) {
      first = false
      streamed = line.trim() === SEED_HEAD
      if (!streamed) break
      continue
    }
    const text = line.trim().replace(/,$/, '')
    if (text.startsWith('{')) offer(JSON.parse(text) as Candidate)
  }
  lines.close()
  if (!streamed) {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { users?: Candidate[] }
    for (const record of parsed.users ?? []) offer(record)
  }
  if (tokens.length === 0) throw new Error(`${file} holds no user without a simulate field`)
  // A small store would otherwise be walked in file order.
  for (let i = tokens.length - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1))
    ;[tokens[i], tokens[j]] = [tokens[j] as string, tokens[i] as string]
  }
  return { tokens, users }
}

export const SLOW_TOKEN = 'usr_bench_slow'

/**
 * A store with one extra user whose own scenario is `slow` for `delayMs`: the base store's users, plus
 * SLOW_TOKEN, written beside it.
 */
export async function makeSlowStore(base: string, out: string, delayMs: number): Promise<string> {
  const parsed = JSON.parse(await readFile(base, 'utf8')) as { users: unknown[] }
  parsed.users.push({
    userToken: SLOW_TOKEN,
    name: 'Slow Bench',
    simulate: { scenario: 'slow', delayMs },
  })
  await writeFile(out, `${JSON.stringify(parsed)}\n`)
  return out
}
