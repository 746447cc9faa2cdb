import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { FILE_HEAD, FILE_TAIL, type UserRecord, UserRecordSchema } from '../../../src/mock/users/record.js'
import { NAMED_USERS, writeSeedFile } from '../../../src/mock/users/seed.js'
import { loadStoreFile, openJsonStore, readStoreFile, StoreError } from '../../../src/mock/users/store.js'
import { createCustomerRoute } from '../../../src/template/customer-route.js'

let dir: string
let seedFile: string
let file: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'store-test-'))
  seedFile = join(dir, 'seed.json')
  file = join(dir, 'data', 'db.json')
  await writeSeedFile({ count: 10, seed: 1, out: seedFile })
})
afterEach(async () => {
  await chmod(dir, 0o700).catch(() => {})
  await rm(dir, { recursive: true, force: true })
})

const SEEDED = NAMED_USERS.length + 10

async function usersOnDisk(path = file): Promise<UserRecord[]> {
  return JSON.parse(await readFile(path, 'utf8')).users
}

/** Opening must fail with a StoreError whose one-line message contains every fragment. */
async function expectStoreError(open: Promise<unknown>, ...fragments: string[]): Promise<string> {
  const error = await open.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(StoreError)
  const message = (error as StoreError).message
  expect(message).not.toContain('\n')
  for (const fragment of fragments) expect(message).toContain(fragment)
  return message
}

describe('openJsonStore: creating and loading', () => {
  it('creates the store file (and its folder) from the seed when missing, byte for byte', async () => {
    const store = await openJsonStore({ file, seedFile })
    expect((await readFile(file)).equals(await readFile(seedFile))).toBe(true)
    expect((await store.list({ offset: 0, limit: 1000 })).total).toBe(SEEDED)
  })

  it('refuses a missing seed file by name when the store is missing too', async () => {
    const missing = join(dir, 'nope.json')
    await expectStoreError(openJsonStore({ file, seedFile: missing }), missing, 'not found')
    await expect(readdir(dir)).resolves.not.toContain('data')
  })

  it('ignores the seed once the store exists', async () => {
    await openJsonStore({ file, seedFile })
    const store = await openJsonStore({ file, seedFile: join(dir, 'gone.json') })
    expect(await store.find('usr_abc123')).toMatchObject({ name: 'Alice Johnson' })
  })

  it('loads a store written in any JSON layout (pretty-printed here)', async () => {
    await mkdir(join(dir, 'data'))
    const users = [{ userToken: 'usr_a', name: 'A' }, { userToken: 'usr_b' }]
    await writeFile(file, JSON.stringify({ users }, null, 2))
    const store = await openJsonStore({ file, seedFile })
    expect(await store.list({ offset: 0, limit: 10 })).toEqual({ total: 2, users })
    // Read whole, its records are kept as objects: frozen, so no caller changes the store through one.
    const found = (await store.find('usr_a')) as { name?: string }
    expect(Object.isFrozen(found)).toBe(true)
    expect(() => {
      found.name = 'Mallory'
    }).toThrow(TypeError)
    expect(await store.find('usr_a')).toEqual(users[0])
  })

  it('accepts records that need zod to decide (simulate, long unicode tokens) and the empty store', async () => {
    await mkdir(join(dir, 'data'))
    const token = `usr_${'😀'.repeat(200)}` // 404 UTF-16 units, 204 code points: zod's measure allows it
    const users = [{ userToken: token, simulate: { sequence: ['error', 'ok'] } }]
    await writeFile(file, `{"users":[\n${JSON.stringify(users[0])}\n]}\n`)
    expect(await (await openJsonStore({ file, seedFile })).find(token)).toEqual(users[0])
    await writeFile(file, '{"users":[]}')
    expect((await (await openJsonStore({ file, seedFile })).list({ offset: 0, limit: 5 })).total).toBe(0)
  })
})

describe('openJsonStore: a bad file stops the start and is never written', () => {
  const cases: [string, string, string[]][] = [
    ['bad JSON', '{"users":[{"userToken":"usr_a"},]}', ['not valid JSON']],
    ['an empty file', '', ['not valid JSON']],
    ['not {users:[…]}', '[{"userToken":"usr_a"}]', ['expected {"users":[…]}']],
    ['an extra top-level key', '{"users":[],"admins":[]}', ['expected {"users":[…]}']],
    [
      'a record with a wrong type',
      '{"users":[\n{"userToken":"usr_a"},\n{"userToken":"usr_b","email":42}\n]}\n',
      ['users[1] (usr_b).email: ', 'expected string'],
    ],
    [
      'a nested field value',
      '{"users":[{"userToken":"usr_a","fields":{"x":{"deep":1}}}]}',
      ['users[0] (usr_a).fields.x: ', 'Invalid input'],
    ],
    ['an unknown key', '{"users":[{"userToken":"usr_a","password":"x"}]}', ['users[0] (usr_a)', 'password']],
    ['an empty token', '{"users":[{"userToken":""}]}', ['users[0].userToken: ']],
    [
      'a bad scenario',
      '{"users":[{"userToken":"usr_a","simulate":"explode"}]}',
      ['users[0] (usr_a).simulate: '],
    ],
    [
      'a bad record whose token has odd characters',
      '{"users":[{"userToken":"a b","plan":7}]}',
      ['users[0] ("a b").plan: '],
    ],
    [
      'a duplicate token',
      '{"users":[\n{"userToken":"usr_a"},\n{"userToken":"usr_b"},\n{"userToken":"usr_a"}\n]}\n',
      ['users[2].userToken', 'duplicate', 'users[0]'],
    ],
  ]
  for (const [what, content, fragments] of cases) {
    it(`refuses ${what}, naming the file and the reason`, async () => {
      await mkdir(join(dir, 'data'))
      await writeFile(file, content)
      await expectStoreError(openJsonStore({ file, seedFile }), file, ...fragments)
      expect(await readFile(file, 'utf8')).toBe(content)
      expect(await readdir(join(dir, 'data'))).toEqual(['db.json'])
    })
  }

  it('refuses a bad seed without creating the store', async () => {
    await writeFile(seedFile, '{"users":[{"userToken":"usr_a","plan":7}]}')
    await expectStoreError(openJsonStore({ file, seedFile }), seedFile, 'users[0] (usr_a).plan')
    await expect(readFile(file)).rejects.toMatchObject({ code: 'ENOENT' })
  })
})

describe('openJsonStore: every write is on disk once it resolves', () => {
  // What every store does (order, search, upsert, remove) is tested on both stores in store-behaviour.test.ts.

  it('writes a replaced record in its place and a new one last', async () => {
    const store = await openJsonStore({ file, seedFile })
    expect(await store.upsert({ userToken: 'usr_ok', name: 'Changed' })).toBe('replaced')
    expect(await store.upsert({ userToken: 'usr_new', plan: 'free' })).toBe('created')
    const onDisk = await usersOnDisk()
    expect(onDisk).toHaveLength(SEEDED + 1)
    expect(onDisk[1]).toEqual({ userToken: 'usr_ok', name: 'Changed' })
    expect(onDisk.at(-1)).toEqual({ userToken: 'usr_new', plan: 'free' })
  })

  it('leaves the file untouched when it refuses an invalid record', async () => {
    const store = await openJsonStore({ file, seedFile })
    const before = await readFile(file)
    const bad = { userToken: 'usr_x', fields: { a: [1] } } as unknown as UserRecord
    await expect(store.upsert(bad)).rejects.toThrow(/fields\.a/)
    expect((await readFile(file)).equals(before)).toBe(true)
  })

  it('removes a user from the file', async () => {
    const store = await openJsonStore({ file, seedFile })
    expect(await store.remove('usr_hang')).toBe(true)
    expect((await usersOnDisk()).map((u) => u.userToken)).not.toContain('usr_hang')
  })

  it('keeps all of 100 concurrent upserts on disk, each resolved only once written', async () => {
    const store = await openJsonStore({ file, seedFile })
    const tokens = Array.from({ length: 100 }, (_, i) => `usr_concurrent_${i}`)
    await Promise.all(
      tokens.map(async (token) => {
        expect(await store.upsert({ userToken: token, name: token })).toBe('created')
        // Resolved means written: the file already holds this record.
        expect((await usersOnDisk()).some((u) => u.userToken === token)).toBe(true)
      }),
    )
    await store.flush()
    const onDisk = (await usersOnDisk()).map((u) => u.userToken)
    expect(onDisk.slice(SEEDED)).toEqual(tokens)
    expect(await readdir(join(dir, 'data'))).toEqual(['db.json']) // no temp file left behind
  })
})

describe('UserStore.replaceAll and readStoreFile', () => {
  it('replaces every user by the seed’s, in order, on disk and after reopening', async () => {
    const store = await openJsonStore({ file, seedFile })
    await store.upsert({ userToken: 'usr_extra', name: 'Extra' })
    await store.remove(NAMED_USERS[0]?.userToken ?? '')
    const seed = await readStoreFile(seedFile)
    expect(seed).toHaveLength(SEEDED)
    await store.replaceAll(seed)
    expect(await store.find('usr_extra')).toBeUndefined()
    expect((await store.list({ offset: 0, limit: 1000 })).users).toEqual(seed)
    expect(await usersOnDisk()).toEqual(seed)
    const reopened = await openJsonStore({ file, seedFile })
    expect((await reopened.list({ offset: 0, limit: 1000 })).users).toEqual(seed)
  })

  it('refuses an invalid record or a repeated token before changing anything', async () => {
    const store = await openJsonStore({ file, seedFile })
    const before = await readFile(file)
    const bad = [{ userToken: 'usr_a' }, { userToken: 'usr_b', plan: 5 }] as unknown as UserRecord[]
    await expect(store.replaceAll(bad)).rejects.toThrow(/users\[1\]/)
    await expect(store.replaceAll([{ userToken: 'usr_a' }, { userToken: 'usr_a' }])).rejects.toThrow(/twice/)
    expect(await store.find('usr_a')).toBeUndefined()
    expect((await store.list({ offset: 0, limit: 1 })).total).toBe(SEEDED)
    expect(await readFile(file)).toEqual(before)
  })

  it('takes a file read by loadStoreFile without validating it again, and keeps its lines as they are', async () => {
    const store = await openJsonStore({ file, seedFile })
    await store.upsert({ userToken: 'usr_extra', name: 'Extra' })
    const checked = await loadStoreFile(seedFile)
    expect(checked.size).toBe(SEEDED)
    const safeParse = vi.spyOn(UserRecordSchema, 'safeParse')
    try {
      await store.replaceAll(checked)
      expect(safeParse).not.toHaveBeenCalled()
    } finally {
      safeParse.mockRestore()
    }
    expect(await store.find('usr_extra')).toBeUndefined()
    expect((await store.list({ offset: 0, limit: 1000 })).users).toEqual(checked.records())
    // The seed's own line index: the file written is the seed's bytes, line for line.
    expect(await readFile(file)).toEqual(await readFile(seedFile))
    expect(Object.isFrozen(await store.find(NAMED_USERS[0]?.userToken ?? ''))).toBe(true)
  })

  it('readStoreFile names a missing file', async () => {
    await expectStoreError(readStoreFile(join(dir, 'nope.json')), 'nope.json', 'not found')
  })
})

describe('openJsonStore: a store that cannot be written', () => {
  it('is a StoreError at open when the folder cannot be created (a file stands in its path)', async () => {
    await writeFile(join(dir, 'blocker'), 'not a folder')
    const inside = join(dir, 'blocker', 'db.json')
    await expectStoreError(openJsonStore({ file: inside, seedFile }), inside, 'cannot create its folder')
  })

  it('is a StoreError at open for a read-only folder (root ignores the mode, so it can write)', async () => {
    await openJsonStore({ file, seedFile })
    const folder = join(dir, 'data')
    await chmod(folder, 0o500)
    let writable = true
    try {
      await writeFile(join(folder, 'probe'), 'x')
      await rm(join(folder, 'probe'))
    } catch {
      writable = false
    }
    const opening = openJsonStore({ file, seedFile })
    if (writable) {
      // Running as root: the folder really is writable, so the store must open and write.
      const store = await opening
      expect(await store.upsert({ userToken: 'usr_root' })).toBe('created')
      expect((await usersOnDisk()).at(-1)).toEqual({ userToken: 'usr_root' })
    } else {
      await expectStoreError(opening, file, 'not writable')
    }
    await chmod(folder, 0o700)
  })
})

/** A store file in the one-record-per-line layout the store reads line by line. */
function lineFile(lines: string[]): string {
  return FILE_HEAD + lines.join(',\n') + FILE_TAIL
}

describe('openJsonStore: the one-record-per-line layout', () => {
  it('opens a line exactly when JSON.parse and UserRecordSchema accept the file, with the same record', async () => {
    await mkdir(join(dir, 'data'))
    // Near misses of what JSON.stringify writes: odd characters, numbers, keys, then a byte changed.
    const text = fc.string({
      unit: fc.constantFrom('a', 'Z', ' ', '"', '\\', '\t', 'é', '€', '😀', '\u0130', '\u212a', '{', ','),
      maxLength: 6,
    })
    const number = fc.oneof(
      fc.double(),
      fc.constantFrom(0, -0, 1e21, 1e-7, 5e-324, Number.MAX_VALUE),
      fc.integer(),
    )
    const plain = fc.oneof(text, number, fc.boolean())
    const wild = fc.oneof(plain, fc.constant(null), fc.dictionary(text, text), fc.constant(''))
    // Mostly records UserRecordSchema accepts, so that a changed byte or a wild value decides.
    const record = fc
      .record(
        {
          userToken: fc.oneof(
            { weight: 8, arbitrary: text.filter((t) => t !== '') },
            fc.constantFrom('', 'x'.repeat(257)),
            number,
          ),
          name: fc.oneof({ weight: 8, arbitrary: text }, wild),
          email: text,
          plan: text,
          fields: fc.oneof(
            { weight: 8, arbitrary: fc.dictionary(text, plain, { maxKeys: 4 }) },
            fc.dictionary(fc.oneof(text, fc.constant('__proto__')), wild, { maxKeys: 3 }),
            wild,
          ),
          simulate: fc.constantFrom('ok', 'explode', { scenario: 'slow', delayMs: 10 }),
          extra: text,
        },
        { requiredKeys: ['userToken'] },
      )
      .map((r) => {
        const { extra, simulate, ...rest } = r
        // An unknown key or a scenario only now and then.
        return {
          ...rest,
          ...(extra?.startsWith('a') ? { extra } : {}),
          ...(simulate === 'ok' && extra === '' ? { simulate } : {}),
        }
      })
    const edit = fc.record({
      at: fc.nat(),
      cut: fc.nat({ max: 2 }),
      put: fc.constantFrom(
        '',
        ' ',
        '"',
        '\\',
        '\t',
        '\u0001',
        '1',
        'e5',
        '-',
        '.',
        '0',
        ',',
        '}',
        '{',
        'x',
        '\u0130',
        '\xff',
        '"userToken":"d",',
        '"fields":{},',
      ),
    })
    const literal = fc.stringMatching(/^-?[0-9]{0,3}(\.[0-9]{0,2})?([eE][+-]?[0-9]{1,3})?$/)
    const line = fc
      .tuple(record, fc.option(edit, { nil: undefined, freq: 2 }), literal, fc.nat({ max: 5 }))
      .map(([r, change, num, variant]) => {
        let out = JSON.stringify(r)
        // A raw number literal as a field value, as a person might write it.
        if (variant === 1) out = `{"userToken":"usr_n","fields":{"n":${num}}}`
        if (variant === 2) out = out.replace('{', '{"userToken":"usr_first",') // a duplicate key
        if (variant === 3)
          out = `{"userToken":"usr_big","fields":{"n":${'9'.repeat(300 + (num.length % 20))}}}`
        if (!change) return out
        const at = change.at % (out.length + 1)
        return out.slice(0, at) + change.put + out.slice(at + change.cut)
      })
    const target = join(dir, 'data', 'db.json')
    await fc.assert(
      fc.asyncProperty(line, fc.option(fc.nat(), { freq: 4 }), async (one, badByteAt) => {
        // Written as UTF-8 (a lone surrogate becomes U+FFFD), sometimes with a byte that is not UTF-8.
        const bytes = Buffer.from(lineFile([one]))
        const at = FILE_HEAD.length + ((badByteAt ?? 0) % Buffer.byteLength(one))
        const content =
          badByteAt === null
            ? bytes
            : Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff]), bytes.subarray(at)])
        await writeFile(target, content)
        let expected: unknown[] | undefined
        try {
          const users = (JSON.parse(content.toString('utf8')) as { users: unknown[] }).users
          if (users.every((u) => UserRecordSchema.safeParse(u).success)) expected = users
        } catch {}
        const opened = await openJsonStore({ file: target, seedFile }).catch((e: unknown) => e)
        if (expected === undefined) {
          expect(opened, one).toBeInstanceOf(StoreError)
        } else {
          expect(opened, one).not.toBeInstanceOf(Error)
          const store = opened as Awaited<ReturnType<typeof openJsonStore>>
          expect((await store.list({ offset: 0, limit: 10 })).users, one).toEqual(expected)
          const user = expected[0] as UserRecord | undefined
          if (user) expect(await store.find(user.userToken), one).toEqual(user)
        }
      }),
      {
        numRuns: 600,
        // Each boundary of what the line reader accepts, once for sure.
        examples: [
          '{"userToken":""}',
          `{"userToken":"${'x'.repeat(256)}"}`,
          `{"userToken":"${'x'.repeat(257)}"}`,
          `{"userToken":"${'😀'.repeat(128)}"}`,
          `{"userToken":"${'😀'.repeat(129)}"}`,
          '{"userToken":"a"} ',
          '{"userToken":"a"}}',
          '{"userToken":"a"',
          '{"userToken":"a",}',
          '{"userToken":"a","userToken":""}',
          '{"userToken":"","userToken":"a"}',
          '{"userToken":"a\tb"}',
          '{"userToken":"a\\u0041"}',
          '{"userToken":"a","fields":{}}',
          '{"userToken":"a","fields":{"__proto__":1}}',
          '{"userToken":"a","fields":{"n":1e400}}',
          '{"userToken":"a","fields":{"n":-0.5,"m":0,"t":true,"f":false,"s":""}}',
          '{"userToken":"a","fields":{"n":01}}',
          '{"userToken":"a","fields":{"n":1.}}',
          '{"userToken":"a","fields":{"n":-}}',
          '{"userToken":"a","fields":{"n":tru}}',
          '{"userToken":"a","fields":{"n":null}}',
          '{"userToken":"a","fields":{"n":[1]}}',
          '{"userToken":"a","fields":{"n":1},"fields":{}}',
          '{"userToken":"a","name":1}',
          '{"userToken":"a","simulate":"ok"}',
          '{"userToken":"a","other":"x"}',
          '{"name":"a"}',
          '{}',
        ].map((example) => [example, null] as [string, number | null]),
      },
    )
  })

  it('writes the lines it did not change as their original bytes, changed ones as JSON.stringify', async () => {
    await mkdir(join(dir, 'data'))
    const kept = [
      '{"userToken": "usr_a",  "name":"A"}',
      '{"userToken":"usr_b","name":"Jos\\u00e9"}',
      '{"userToken":"usr_c"}',
    ]
    await writeFile(file, lineFile(kept))
    const store = await openJsonStore({ file, seedFile })
    expect(await store.find('usr_b')).toEqual({ userToken: 'usr_b', name: 'José' })
    expect(await store.upsert({ userToken: 'usr_b', name: 'B' })).toBe('replaced')
    expect(await store.upsert({ userToken: 'usr_d', plan: 'pro' })).toBe('created')
    expect(await readFile(file, 'utf8')).toBe(
      lineFile([
        kept[0] as string,
        '{"userToken":"usr_b","name":"B"}',
        kept[2] as string,
        '{"userToken":"usr_d","plan":"pro"}',
      ]),
    )
    expect(await store.remove('usr_c')).toBe(true)
    expect(await readFile(file, 'utf8')).toBe(
      lineFile([kept[0] as string, '{"userToken":"usr_b","name":"B"}', '{"userToken":"usr_d","plan":"pro"}']),
    )
  })

  it('replaces and removes the first line like any other', async () => {
    const store = await openJsonStore({ file, seedFile })
    expect(await store.upsert({ userToken: 'usr_abc123', name: 'Alice B' })).toBe('replaced')
    expect((await store.list({ offset: 0, limit: 1 })).users).toEqual([
      { userToken: 'usr_abc123', name: 'Alice B' },
    ])
    expect(await store.remove('usr_abc123')).toBe(true)
    expect(await store.find('usr_abc123')).toBeUndefined()
    expect(await store.remove('usr_abc123')).toBe(false)
    expect((await usersOnDisk()).map((u) => u.userToken)).not.toContain('usr_abc123')
    expect(await store.upsert({ userToken: 'usr_abc123' })).toBe('created')
    expect((await usersOnDisk()).at(-1)).toEqual({ userToken: 'usr_abc123' })
  })

  it('searches lines whose text hides the match: escapes, İ and the Kelvin sign, final sigma', async () => {
    await mkdir(join(dir, 'data'))
    await writeFile(
      file,
      lineFile([
        '{"userToken":"usr_esc","name":"Z\\u00fcrich \\u0041da"}',
        '{"userToken":"usr_dot","name":"X\u0130Y"}',
        '{"userToken":"usr_kelvin","name":"\u212aelvin"}',
        '{"userToken":"usr_sigma","name":"ΟΔΟΣ"}',
        '{"userToken":"usr_plain","name":"Plain","fields":{"note":"zürich ada kelvin"}}',
      ]),
    )
    const store = await openJsonStore({ file, seedFile })
    const tokens = async (q: string) =>
      (await store.list({ q, offset: 0, limit: 10 })).users.map((u) => u.userToken)
    expect(await tokens('zürich')).toEqual(['usr_esc'])
    expect(await tokens('ADA')).toEqual(['usr_esc'])
    expect(await tokens('xi')).toEqual(['usr_dot'])
    expect(await tokens('KELVIN')).toEqual(['usr_kelvin'])
    expect(await tokens('οδος')).toEqual(['usr_sigma'])
    expect(await tokens('usr_')).toHaveLength(5)
    await store.upsert({ userToken: 'usr_plain', name: 'Ada Plain' })
    await store.upsert({ userToken: 'usr_new', email: 'ada@example.com' })
    expect(await tokens('ada')).toEqual(['usr_esc', 'usr_plain', 'usr_new'])
    expect(await store.list({ q: 'ada', offset: 1, limit: 1 })).toEqual({
      total: 3,
      users: [{ userToken: 'usr_plain', name: 'Ada Plain' }],
    })
  })
})

describe('openJsonStore: find and the lookup deadline (one fast path)', () => {
  it('answers find synchronously, so the route applies no deadline and sets no timer', async () => {
    const store = await openJsonStore({ file, seedFile })
    const token = NAMED_USERS[0]?.userToken ?? ''
    const found = store.find(token)
    expect(found instanceof Promise).toBe(false)
    expect((found as UserRecord | undefined)?.userToken).toBe(token)

    // The deadline lives in one place, the route (src/template/customer-route.ts); a tiny one would
    // fire at once if it were armed.
    const route = createCustomerRoute({ verify: () => 'valid', store, lookupTimeoutMs: 1 })
    const setTimer = vi.spyOn(globalThis, 'setTimeout')
    try {
      const outcome = await route({
        rawBody: Buffer.from(JSON.stringify({ userToken: token })),
        signature: 'x',
      })
      expect(outcome.status).toBe(200)
      expect(setTimer).not.toHaveBeenCalled()
    } finally {
      setTimer.mockRestore()
    }
  })

  it('still answers 503 lookup_timeout when a store that returns a promise misses the deadline', async () => {
    const slow = { find: () => new Promise<undefined>((done) => setTimeout(() => done(undefined), 2000)) }
    const route = createCustomerRoute({ verify: () => 'valid', store: slow, lookupTimeoutMs: 50 })
    const outcome = await route({ rawBody: Buffer.from('{"userToken":"usr_x"}'), signature: 'x' })
    expect(outcome.status).toBe(503)
    expect(outcome.body).toEqual({ error: 'lookup_timeout' })
    expect(outcome.headers).toEqual({ 'Retry-After': '3' })
  })
})
