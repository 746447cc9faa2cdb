import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { UserRecord } from '../src/contract.js'
import { createLogger, type Logger } from '../src/log.js'
import { sign } from '../src/signature.js'
import type { UserStore } from '../src/store.js'

// Shared fixtures. TEST_SECRET's known answers are written beside the tests that use them, computed with
//   printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET"

export const TEST_SECRET = 'test-secret-0123456789'
export const SECOND_SECRET = 'rotated-secret-abcdef'

export const ALICE: UserRecord = {
  userToken: 'usr_abc123',
  name: 'Alice Johnson',
  email: 'alice@example.com',
  plan: 'pro',
  fields: { mrr: 149, company: 'Acme Inc', signedUpAt: '2024-01-15', seats: 5 },
}

/** A valid signed request for `token`; change one thing per test. */
export function signedRequest(token: unknown = 'usr_abc123', secret = TEST_SECRET, field = 'userToken') {
  const body = JSON.stringify({ [field]: token })
  return { body, signature: sign(secret, body) }
}

/** An in-memory UserStore for tests that are not about persistence; counts lookups. */
export function memoryStore(users: UserRecord[] = [structuredClone(ALICE)]): UserStore & { lookups: number } {
  const byToken = new Map(users.map((user) => [user.userToken, user]))
  return {
    lookups: 0,
    async find(token) {
      this.lookups++
      return byToken.get(token)
    },
    async list({ q, offset, limit }) {
      const all = [...byToken.values()].filter(
        (user) =>
          !q ||
          JSON.stringify([user.userToken, user.name, user.email, user.plan])
            .toLowerCase()
            .includes(q.toLowerCase()),
      )
      return { total: all.length, users: all.slice(offset, offset + limit) }
    },
    async upsert(user) {
      const existed = byToken.has(user.userToken)
      byToken.set(user.userToken, user)
      return existed ? 'replaced' : 'created'
    },
    async remove(token) {
      return byToken.delete(token)
    },
    async flush() {},
  }
}

/** A logger whose lines are kept in memory, to assert on what was (not) logged. */
export function capturedLogger(level = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  return { logger: createLogger(level, destination), lines }
}

/** A temp folder with a seed file of the given users; removed by `cleanup`. */
export async function tempDataDir(users: UserRecord[] = [structuredClone(ALICE)]) {
  const dir = await mkdtemp(join(tmpdir(), 'talki-test-'))
  const seedFile = join(dir, 'seed.json')
  await writeFile(seedFile, JSON.stringify({ users }, null, 2))
  return {
    dir,
    seedFile,
    dataFile: join(dir, 'db.json'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
}
