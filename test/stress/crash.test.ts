import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { UserRecord } from '../../src/mock/users/record.js'
import { openJsonStore } from '../../src/mock/users/store.js'
import { killAll } from '../process.js'
import { ALICE, TEST_SECRET } from '../support.js'
import {
  adminCall,
  type DataDir,
  dataDir,
  figure,
  freePort,
  runToExit,
  start,
  worldReadableServer,
} from './stress.js'

// Crash safety of the store on the real server: kill -9 in the middle of bursts of admin writes, then
// the file must parse and load, and every write the API acknowledged must be in it. Then a clean
// restart keeps all of 100 concurrent writes, a bad file stops the start untouched, and a store that
// cannot be written is a clear one-line error.

const ADMIN_TOKEN = 'stress-admin-token-5e1f'
const BULK = 20_000 // ~2 MB of store, so every write takes a while and a kill can land inside one
const ROUNDS = 5
const BURST = 300

function bulkUsers(count: number): UserRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    userToken: `usr_bulk_${i}`,
    name: `Bulk User ${i}`,
    email: `bulk${i}@example.test`,
    plan: i % 2 ? 'pro' : 'free',
    fields: { seats: i % 50, company: `Company ${i % 997}`, active: i % 3 === 0 },
  }))
}

function record(round: number, i: number): UserRecord {
  return {
    userToken: `usr_crash_${round}_${i}`,
    name: `Crash ${round}/${i}`,
    email: `crash${round}.${i}@example.test`,
    plan: 'pro',
    fields: { round, i, note: 'ü🙂'.repeat(i % 5) },
  }
}

async function adminEnv(): Promise<Record<string, string>> {
  return { ADMIN_PORT: String(await freePort()), ADMIN_TOKEN }
}

async function loadStore(data: DataDir) {
  const text = await readFile(data.dataFile, 'utf8')
  JSON.parse(text) // parses as a whole
  const store = await openJsonStore({ file: data.dataFile, seedFile: join(data.dir, 'no-seed.json') })
  return store
}

let data: DataDir
afterEach(async () => {
  await killAll()
})

describe('kill -9 during a burst of admin writes', () => {
  beforeAll(async () => {
    data = await dataDir([structuredClone(ALICE), ...bulkUsers(BULK)])
  })
  afterAll(async () => {
    await data.cleanup()
  })

  it(`${ROUNDS} rounds: the file always parses and loads, and no acknowledged write is lost`, async () => {
    let sent = 0
    let acknowledged = 0
    let midWrite = 0
    const kept = new Map<string, UserRecord>()
    for (let round = 0; round < ROUNDS; round++) {
      const env = await adminEnv()
      const { server, admin } = await start(data.dataFile, env)
      const acked: UserRecord[] = []
      const burst = Array.from({ length: BURST }, async (_, i) => {
        const user = record(round, i)
        sent++
        try {
          const { userToken, ...body } = user
          const res = await adminCall(admin, 'PUT', `/api/users/${userToken}`, { token: ADMIN_TOKEN, body })
          if (res.status === 201) acked.push(user)
          else expect(res.status).toBe(201)
        } catch {
          // The connection died with the process: not acknowledged, so the write may or may not be there.
        }
      })
      // Kill once some writes are acknowledged and more are still coming; from the second round on, at the
      // moment steno's temp file is seen (a write in progress), to land inside the write.
      const temp = join(data.dir, '.db.json.tmp')
      const deadline = performance.now() + 10_000
      while (performance.now() < deadline) {
        if (acked.length >= 10 + round * 30 && (round === 0 || existsSync(temp))) break
        await new Promise((resolve) => setImmediate(resolve))
      }
      server.child.kill('SIGKILL')
      // steno's temp file still there: the kill landed between writing it and renaming it over the store.
      if ((await readdir(data.dir)).includes('.db.json.tmp')) midWrite++
      expect((await server.exited).signal).toBe('SIGKILL')
      await Promise.all(burst)
      acknowledged += acked.length

      const store = await loadStore(data)
      for (const user of acked) expect(await store.find(user.userToken)).toEqual(user)
      for (const user of acked) kept.set(user.userToken, user)
      // Earlier rounds' acknowledged writes survive later kills too.
      for (const user of kept.values()) expect(await store.find(user.userToken)).toEqual(user)
      expect(await store.find('usr_bulk_19999')).toMatchObject({ name: 'Bulk User 19999' })
      const { total } = await store.list({ offset: 0, limit: 1 })
      expect(total).toBeGreaterThanOrEqual(1 + BULK + kept.size)
      expect(total).toBeLessThanOrEqual(1 + BULK + (round + 1) * BURST)
    }
    figure('crash_kill9_rounds', ROUNDS)
    figure('crash_writes_sent', sent)
    figure('crash_writes_acknowledged', acknowledged)
    figure('crash_acknowledged_lost', 0)
    figure('crash_killed_mid_write', midWrite)
    figure('crash_store_users', 1 + BULK)
    expect(acknowledged).toBeGreaterThan(0)

    // And the server starts again on what the last kill left.
    const { admin } = await start(data.dataFile, await adminEnv())
    const last = [...kept.values()].at(-1)
    expect(last).toBeDefined()
    const res = await adminCall(admin, 'GET', `/api/users/${last?.userToken}`, { token: ADMIN_TOKEN })
    expect(res.json).toEqual(last)
  })
})

describe('100 concurrent admin writes and a clean restart', () => {
  beforeAll(async () => {
    data = await dataDir([structuredClone(ALICE), ...bulkUsers(1000)])
  })
  afterAll(async () => {
    await data.cleanup()
  })

  it('keeps every one of them (80 new users, 20 replaced)', async () => {
    const env = await adminEnv()
    const first = await start(data.dataFile, env)
    const writes: UserRecord[] = [
      ...Array.from({ length: 80 }, (_, i) => record(99, i)),
      ...Array.from({ length: 20 }, (_, i) => ({ userToken: `usr_bulk_${i * 37}`, name: `Replaced ${i}` })),
    ]
    const answers = await Promise.all(
      writes.map(({ userToken, ...body }) =>
        adminCall(first.admin, 'PUT', `/api/users/${userToken}`, { token: ADMIN_TOKEN, body }),
      ),
    )
    expect(answers.map((a) => a.status).sort()).toEqual([...Array(20).fill(200), ...Array(80).fill(201)])
    first.server.child.kill('SIGTERM')
    expect((await first.server.exited).code).toBe(0)

    const second = await start(data.dataFile, await adminEnv())
    let found = 0
    for (const user of writes) {
      const res = await adminCall(second.admin, 'GET', `/api/users/${user.userToken}`, { token: ADMIN_TOKEN })
      expect(res.json).toEqual(user)
      found++
    }
    const list = await adminCall(second.admin, 'GET', '/api/users?limit=1', { token: ADMIN_TOKEN })
    expect((list.json as { total: number }).total).toBe(1 + 1000 + 80)
    figure('concurrent_writes', writes.length)
    figure('concurrent_writes_kept_after_restart', found)
  })
})

describe('a bad store file stops the start and is left untouched', () => {
  beforeAll(async () => {
    data = await dataDir()
  })
  afterAll(async () => {
    await data.cleanup()
  })

  const good = [structuredClone(ALICE), ...bulkUsers(50)]
  const line = (users: unknown[]) => `{"users":[\n${users.map((u) => JSON.stringify(u)).join(',\n')}\n]}\n`
  const valid = line(good)
  const withRecord = (index: number, bad: unknown) => line(good.map((u, i) => (i === index ? bad : u)))
  const cases: [name: string, bytes: string, names: RegExp][] = [
    ['torn in the middle of a record', valid.slice(0, Math.floor(valid.length / 2)), /not valid JSON/],
    ['torn at a record boundary', valid.slice(0, valid.indexOf('\n', 2000) + 1), /not valid JSON/],
    ['empty (0 bytes)', '', /not valid JSON/],
    ['NUL bytes where the text was', '\0'.repeat(4096), /not valid JSON/],
    ['users not an array', '{"users":{"usr_a":{}}}', /users/],
    [
      'a record with a number as email',
      withRecord(17, { userToken: 'usr_x', email: 42 }),
      /users\[17\] \(usr_x\)\.email/,
    ],
    [
      'a record with an unknown key',
      withRecord(3, { userToken: 'usr_y', phone: '123' }),
      /users\[3\] \(usr_y\)/,
    ],
    ['a record without a token', withRecord(40, { name: 'No Token' }), /users\[40\]\.userToken/],
    [
      'a record with a nested field',
      withRecord(8, { userToken: 'usr_z', fields: { a: { b: 1 } } }),
      /users\[8\] \(usr_z\)\.fields/,
    ],
    [
      'a record with a bad simulate',
      withRecord(29, { userToken: 'usr_s', simulate: { scenario: 'slow', delayMs: -1 } }),
      /users\[29\] \(usr_s\)\.simulate/,
    ],
    ['a duplicate token', withRecord(45, { userToken: 'usr_bulk_2' }), /users\[45\]\.userToken: duplicate/],
    [
      'a 257-character token',
      withRecord(12, { userToken: 't'.repeat(257) }),
      /users\[12\] \("t{39}…"\)\.userToken/,
    ],
  ]

  it.each(cases)(
    '%s: exit 1, one stderr line naming file and record, bytes and folder untouched',
    async (_, bytes, names) => {
      await writeFile(data.dataFile, bytes)
      const before = { mtimeMs: (await stat(data.dataFile)).mtimeMs, files: (await readdir(data.dir)).sort() }
      const env = { PORT: '0', ADMIN_PORT: 'off', DATA_FILE: data.dataFile, TALKI_SECRET: TEST_SECRET }
      const { code, stdout, stderr } = await runToExit(env)
      expect(code).toBe(1)
      const lines = stderr.split('\n').filter(Boolean)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain(data.dataFile)
      expect(lines[0]).toMatch(names)
      expect(lines[0]).not.toMatch(/\bat .*\.js:\d+/)
      expect(stdout).toBe('')
      expect(await readFile(data.dataFile, 'utf8')).toBe(bytes)
      expect((await stat(data.dataFile)).mtimeMs).toBe(before.mtimeMs)
      expect((await readdir(data.dir)).sort()).toEqual(before.files)
    },
  )
})

describe('a store that cannot be written is a clear start-up error', () => {
  beforeAll(async () => {
    data = await dataDir()
  })
  const cleanups: (() => Promise<void>)[] = []
  afterAll(async () => {
    await chmod(data.dir, 0o700)
    await data.cleanup()
    for (const cleanup of cleanups) await cleanup()
  })

  const asNobody = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--']
  const env = () => ({ PORT: '0', ADMIN_PORT: 'off', DATA_FILE: data.dataFile, TALKI_SECRET: TEST_SECRET })

  it('a read-only data folder (run as nobody): exit 1, one line naming the file and why', async () => {
    // setpriv needs root (and util-linux): check that it can drop to nobody at all.
    const canDrop = (await output([...asNobody, 'id', '-u'])).trim() === '65534'
    if (!canDrop) {
      // Without setpriv (or not root), fall back to a folder path that runs through a regular file.
      await writeFile(join(data.dir, 'blocker'), 'a file, not a folder')
      const inside = join(data.dir, 'blocker', 'db.json')
      const { code, stderr } = await runToExit({ ...env(), DATA_FILE: inside })
      expect(code).toBe(1)
      expect(stderr.trim().startsWith(`${inside}: cannot create its folder`)).toBe(true)
      figure('readonly_check', 'enotdir-fallback')
      return
    }
    // nobody may not be able to reach the clone (a folder only its owner can enter): run a copy it can read.
    const app = await worldReadableServer()
    cleanups.push(app.cleanup)
    const asNobodyRun = { wrapper: asNobody, entry: app.entry }
    // The folder and file belong to root; nobody may read them but not write.
    await chmod(data.dir, 0o755)
    await chmod(data.dataFile, 0o644)
    const bytes = await readFile(data.dataFile)
    const { code, stdout, stderr } = await runToExit(env(), asNobodyRun)
    expect(code).toBe(1)
    expect(stdout).toBe('')
    expect(stderr.split('\n').filter(Boolean)).toEqual([
      `${data.dataFile}: its folder is not writable (EACCES)`,
    ])
    expect(await readFile(data.dataFile)).toEqual(bytes)

    // The same folder without a store: it would be created from the seed, and cannot be.
    const missing = join(data.dir, 'missing.json')
    const second = await runToExit({ ...env(), DATA_FILE: missing }, asNobodyRun)
    expect(second.code).toBe(1)
    expect(second.stderr.split('\n').filter(Boolean)).toEqual([
      `${missing}: its folder is not writable (EACCES)`,
    ])

    // A writable folder but a read-only file.
    const folder = join(data.dir, 'open')
    await mkdir(folder)
    await chmod(folder, 0o777)
    const file = join(folder, 'db.json')
    await writeFile(file, bytes)
    await chmod(file, 0o444)
    const third = await runToExit({ ...env(), DATA_FILE: file }, asNobodyRun)
    expect(third.code).toBe(1)
    expect(third.stderr.split('\n').filter(Boolean)).toEqual([`${file}: the file is not writable (EACCES)`])
    expect(await readFile(file)).toEqual(bytes)
    figure('readonly_check', 'setpriv-nobody')
  })
})

function output(argv: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(argv[0] ?? 'false', argv.slice(1), { timeout: 5000 }, (error, stdout) =>
      resolve(error ? '' : stdout),
    )
  })
}
