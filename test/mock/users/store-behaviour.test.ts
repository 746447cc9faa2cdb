import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../../src/mock/runtime/log.js'
import { openPostgresStore } from '../../../src/mock/users/postgres-users.js'
import type { UserRecord } from '../../../src/mock/users/record.js'
import { NAMED_USERS, writeSeedFile } from '../../../src/mock/users/seed.js'
import { openJsonStore, StoreError, type UserStore } from '../../../src/mock/users/store.js'
import { type PostgresServer, postgresAvailable, startPostgres } from '../../../support/engines/postgres.js'

// What every mock store promises, as one table of cases run against each store: the JSON file and
// PostgreSQL (a real server started for this file). What only the JSON file does (its layout on disk,
// a bad file) is tested in store.test.ts.

const HAS_POSTGRES = postgresAvailable('the PostgreSQL half of the store behaviour tests')
const SEEDED = NAMED_USERS.length + 10

let folder: string
let seedFile: string
let postgres: PostgresServer | undefined
let databases = 0

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'store-behaviour-'))
  seedFile = join(folder, 'seed.json')
  await writeSeedFile({ count: 10, seed: 1, out: seedFile })
  if (HAS_POSTGRES) postgres = await startPostgres()
})
afterAll(async () => {
  await postgres?.close()
  await rm(folder, { recursive: true, force: true })
})

/** One place where a store's users live: `open` opens it (again), as a restarted server would. */
interface Place {
  open(): Promise<UserStore>
}

const opened: UserStore[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close?.()))
})

const kinds: { name: string; available: boolean; place(): Promise<Place> }[] = [
  {
    name: 'JSON file',
    available: true,
    async place() {
      const file = join(await mkdtemp(join(folder, 'json-')), 'db.json')
      return { open: () => openJsonStore({ file, seedFile }) }
    },
  },
  {
    name: 'PostgreSQL',
    available: HAS_POSTGRES,
    async place() {
      const url = await (postgres as PostgresServer).createDatabase(`behaviour_${++databases}`)
      const logger = createLogger('silent')
      return { open: () => openPostgresStore({ url, seedFile, lookupTimeoutMs: 4000, logger }) }
    },
  },
]

for (const kind of kinds) {
  describe.runIf(kind.available)(`UserStore on the ${kind.name}`, () => {
    /** A fresh place, opened once. */
    async function fresh(): Promise<{ store: UserStore; reopen(): Promise<UserStore> }> {
      const place = await kind.place()
      const reopen = async () => {
        const store = await place.open()
        opened.push(store)
        return store
      }
      return { store: await reopen(), reopen }
    }
    const allTokens = async (store: UserStore) =>
      (await store.list({ offset: 0, limit: 1000 })).users.map((u) => u.userToken)

    it('is filled from the seed when new, in seed order, and never again once it has users', async () => {
      const { store, reopen } = await fresh()
      const tokens = await allTokens(store)
      expect(tokens).toHaveLength(SEEDED)
      expect(tokens.slice(0, NAMED_USERS.length)).toEqual(NAMED_USERS.map((u) => u.userToken))
      await store.remove('usr_abc123')
      await store.upsert({ userToken: 'usr_added' })
      const again = await reopen()
      expect(await again.find('usr_abc123')).toBeUndefined()
      expect((await allTokens(again)).at(-1)).toBe('usr_added')
      expect((await again.list({ offset: 0, limit: 1 })).total).toBe(SEEDED)
    })

    it('finds by token and not by prototype keys or SQL', async () => {
      const { store } = await fresh()
      expect(await store.find('usr_abc123')).toEqual(NAMED_USERS[0])
      for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '', "' OR 1=1 --"]) {
        expect(await store.find(key), key).toBeUndefined()
      }
    })

    it('lists in store order with offset, limit and a case-insensitive q over token, name, email, plan', async () => {
      const { store } = await fresh()
      const page = await store.list({ offset: 1, limit: 2 })
      expect(page.total).toBe(SEEDED)
      expect(page.users.map((u) => u.userToken)).toEqual(['usr_ok', 'usr_slow'])
      const tokens = async (q: string) =>
        (await store.list({ q, offset: 0, limit: 10 })).users.map((u) => u.userToken)
      expect(await tokens('ALICE')).toEqual(['usr_abc123'])
      expect(await tokens('  alice@EXAMPLE  ')).toEqual(['usr_abc123'])
      expect((await store.list({ q: 'usr_slow', offset: 0, limit: 10 })).total).toBe(2)
      expect((await store.list({ q: 'MANYFIELDS@example', offset: 0, limit: 10 })).total).toBe(1)
      const enterprise = await store.list({ q: 'Enterprise', offset: 0, limit: 1000 })
      expect(enterprise.total).toBeGreaterThan(0)
      for (const user of enterprise.users) {
        expect(`${user.userToken} ${user.name} ${user.email} ${user.plan}`.toLowerCase()).toContain(
          'enterprise',
        )
      }
      // Only those four keys are searched, and `%` or `_` are plain characters.
      expect(await store.list({ q: 'Acme Inc', offset: 0, limit: 10 })).toEqual({ total: 0, users: [] })
      expect(await store.list({ q: '%', offset: 0, limit: 10 })).toEqual({ total: 0, users: [] })
      expect(await store.list({ q: 'nobody-at-all', offset: 0, limit: 10 })).toEqual({ total: 0, users: [] })
      expect((await store.list({ offset: SEEDED - 1, limit: 10 })).users).toHaveLength(1)
      expect(await store.list({ offset: SEEDED + 5, limit: 10 })).toEqual({ total: SEEDED, users: [] })
      expect(await store.list({ q: 'alice', offset: 5, limit: 10 })).toEqual({ total: 1, users: [] })
    })

    it('upserts: a replaced record keeps its place, a new one goes last, also after reopening', async () => {
      const { store, reopen } = await fresh()
      expect(await store.upsert({ userToken: 'usr_ok', name: 'Changed' })).toBe('replaced')
      expect(await store.upsert({ userToken: 'usr_new', plan: 'free' })).toBe('created')
      const tokens = await allTokens(store)
      expect(tokens).toHaveLength(SEEDED + 1)
      expect(tokens[1]).toBe('usr_ok')
      expect(tokens.at(-1)).toBe('usr_new')
      expect(await store.find('usr_ok')).toEqual({ userToken: 'usr_ok', name: 'Changed' })
      const reopened = await reopen()
      expect(await reopened.find('usr_ok')).toEqual({ userToken: 'usr_ok', name: 'Changed' })
      expect(await reopened.find('usr_new')).toEqual({ userToken: 'usr_new', plan: 'free' })
      expect(await allTokens(reopened)).toEqual(tokens)
    })

    it('keeps simulate, unicode and the order of fields as written', async () => {
      const { store, reopen } = await fresh()
      const token = `usr_${'😀'.repeat(200)}` // 404 UTF-16 units, 204 code points: zod's measure allows it
      const user: UserRecord = {
        userToken: token,
        name: 'Zoë 東京',
        fields: { zeta: 1, alpha: 'a', mid: true },
        simulate: { sequence: ['error', 'ok'] },
      }
      expect(await store.upsert(user)).toBe('created')
      const found = (await (await reopen()).find(token)) as UserRecord
      expect(found).toEqual(user)
      expect(Object.keys(found.fields ?? {})).toEqual(['zeta', 'alpha', 'mid'])
    })

    it('refuses an invalid record in upsert and changes nothing', async () => {
      const { store } = await fresh()
      const bad = { userToken: 'usr_x', fields: { a: [1] } } as unknown as UserRecord
      await expect(store.upsert(bad)).rejects.toThrow(StoreError)
      await expect(store.upsert(bad)).rejects.toThrow(/fields\.a/)
      expect(await store.find('usr_x')).toBeUndefined()
      expect((await store.list({ offset: 0, limit: 1 })).total).toBe(SEEDED)
    })

    it('removes a user, and says false for an unknown one, also after reopening', async () => {
      const { store, reopen } = await fresh()
      expect(await store.remove('usr_hang')).toBe(true)
      expect(await store.remove('usr_hang')).toBe(false)
      expect(await store.find('usr_hang')).toBeUndefined()
      const reopened = await reopen()
      expect(await allTokens(reopened)).not.toContain('usr_hang')
      expect((await reopened.list({ offset: 0, limit: 1 })).total).toBe(SEEDED - 1)
    })

    it('keeps all of 100 concurrent upserts, in the order they were made', async () => {
      const { store, reopen } = await fresh()
      const tokens = Array.from({ length: 100 }, (_, i) => `usr_concurrent_${i}`)
      const results = await Promise.all(
        tokens.map((token) => store.upsert({ userToken: token, name: token })),
      )
      expect(results.every((result) => result === 'created')).toBe(true)
      await store.flush()
      const kept = (await allTokens(await reopen())).slice(SEEDED)
      expect([...kept].sort()).toEqual([...tokens].sort())
    })

    it('hands out records a caller cannot change the store through (a fresh copy, or frozen)', async () => {
      const { store } = await fresh()
      // Each change either lands on a copy or throws on a frozen record (ES modules run in strict mode).
      const attempt = (change: () => void) => {
        try {
          change()
        } catch (error) {
          expect(error).toBeInstanceOf(TypeError)
        }
      }
      await store.upsert({ userToken: 'usr_upserted', name: 'Upserted', fields: { seats: 3 } })
      for (const token of ['usr_abc123', 'usr_upserted']) {
        const user = (await store.find(token)) as UserRecord
        attempt(() => {
          user.name = 'Mallory'
        })
        attempt(() => {
          ;(user.fields as Record<string, unknown>).mrr = 0
        })
      }
      const listed = (await store.list({ offset: 0, limit: 1 })).users[0] as UserRecord
      attempt(() => {
        listed.plan = 'stolen'
      })
      expect(await store.find('usr_abc123')).toEqual(NAMED_USERS[0])
      expect(await store.find('usr_upserted')).toEqual({
        userToken: 'usr_upserted',
        name: 'Upserted',
        fields: { seats: 3 },
      })
      expect((await store.list({ offset: 0, limit: 1 })).users[0]).toEqual(NAMED_USERS[0])
    })

    it('answers ping while its engine is there (the JSON file in this process has none)', async () => {
      const { store } = await fresh()
      if (store.engine.id === 'json') expect(store.ping).toBeUndefined()
      else await expect(store.ping?.()).resolves.toBeUndefined()
    })
  })
}
