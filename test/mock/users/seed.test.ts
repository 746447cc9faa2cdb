import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { UserRecordSchema } from '../../../src/mock/users/record.js'
import {
  DEFAULT_SEED_OPTIONS,
  generateSeed,
  NAMED_USERS,
  writeSeedFile,
} from '../../../src/mock/users/seed.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'seed-test-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const SCENARIO_TOKENS = [
  'usr_ok',
  'usr_slow',
  'usr_slow_ok',
  'usr_not_found',
  'usr_unauthorized',
  'usr_error',
  'usr_down',
  'usr_reset',
  'usr_hang',
  'usr_malformed',
  'usr_wrong_shape',
  'usr_flaky',
  'usr_flaky_twice',
]

describe('generateSeed', () => {
  it('gives deep-equal output for the same options and different users for another seed', () => {
    const a = generateSeed({ count: 30, seed: 7 })
    expect(generateSeed({ count: 30, seed: 7 })).toEqual(a)
    const b = generateSeed({ count: 30, seed: 8 })
    expect(b.users.slice(NAMED_USERS.length)).not.toEqual(a.users.slice(NAMED_USERS.length))
  })

  it('puts the named users first, then `count` faker users with unique tokens', () => {
    const { users } = generateSeed({ count: 200, seed: 1 })
    expect(users).toHaveLength(NAMED_USERS.length + 200)
    expect(users.slice(0, NAMED_USERS.length).map((u) => u.userToken)).toEqual(
      NAMED_USERS.map((u) => u.userToken),
    )
    expect(new Set(users.map((u) => u.userToken)).size).toBe(users.length)
    for (const user of users.slice(NAMED_USERS.length)) {
      expect(user.userToken).toMatch(/^usr_[0-9a-f]{8}$/)
      expect(['free', 'starter', 'pro', 'enterprise']).toContain(user.plan)
      expect(Object.keys(user.fields ?? {})).toEqual([
        'company',
        'mrr',
        'seats',
        'signedUpAt',
        'country',
        'active',
      ])
      expect(JSON.stringify(user).length).toBeLessThan(320)
    }
  })

  it('holds the vendor page example exactly, key order included', () => {
    const alice = generateSeed(DEFAULT_SEED_OPTIONS).users[0]
    expect(JSON.stringify(alice)).toBe(
      '{"userToken":"usr_abc123","name":"Alice Johnson","email":"alice@example.com","plan":"pro",' +
        '"fields":{"mrr":149,"company":"Acme Inc","signedUpAt":"2024-01-15","seats":5}}',
    )
  })

  it('has one user per scenario with its simulate field and a profile behind it', () => {
    const byToken = new Map(generateSeed({ count: 0, seed: 1 }).users.map((u) => [u.userToken, u]))
    for (const token of SCENARIO_TOKENS) {
      const user = byToken.get(token)
      expect(user?.simulate, token).toBeDefined()
      expect(user?.name, token).toBeTruthy()
    }
    expect(byToken.get('usr_slow')?.simulate).toEqual({ scenario: 'slow', delayMs: 6000 })
    expect(byToken.get('usr_slow_ok')?.simulate).toEqual({ scenario: 'slow', delayMs: 4500 })
    expect(byToken.get('usr_error')?.simulate).toEqual({ scenario: 'error', status: 503 })
    expect(byToken.get('usr_down')?.simulate).toEqual({ scenario: 'down', durationMs: 10000 })
    expect(byToken.get('usr_flaky')?.simulate).toBe('flaky')
    expect(byToken.get('usr_flaky_twice')?.simulate).toEqual({ sequence: ['error', 'error', 'ok'] })
  })

  it('has the edge profiles', () => {
    const byToken = new Map(generateSeed({ count: 0, seed: 1 }).users.map((u) => [u.userToken, u]))
    expect(byToken.get('usr_minimal')).toEqual({ userToken: 'usr_minimal' })
    const unicode = JSON.stringify(byToken.get('usr_unicode'))
    expect(unicode).toMatch(/[\u00C0-\u017F]/) // accents
    expect(unicode).toMatch(/[\u4E00-\u9FFF]/) // CJK
    expect(unicode).toMatch(/[\u0590-\u06FF]/) // Hebrew / Arabic (RTL)
    expect(unicode).toMatch(/\p{Extended_Pictographic}/u) // emoji
    const many = Object.values(byToken.get('usr_many_fields')?.fields ?? {})
    expect(many.length).toBeGreaterThanOrEqual(50)
    expect(new Set(many.map((v) => typeof v))).toEqual(new Set(['string', 'number', 'boolean']))
  })

  it('makes only records that pass UserRecordSchema', () => {
    for (const user of generateSeed({ count: 500, seed: 3 }).users) {
      expect(UserRecordSchema.safeParse(user).success, user.userToken).toBe(true)
    }
  })
})

describe('writeSeedFile', () => {
  it('writes identical bytes for the same options and different bytes for another seed', async () => {
    const one = join(dir, 'one.json')
    const two = join(dir, 'two.json')
    const other = join(dir, 'other.json')
    const result = await writeSeedFile({ count: 2000, seed: 42, out: one })
    await writeSeedFile({ count: 2000, seed: 42, out: two })
    await writeSeedFile({ count: 2000, seed: 43, out: other })
    const bytes = await readFile(one)
    expect(result).toEqual({ users: NAMED_USERS.length + 2000, bytes: bytes.length })
    expect(bytes.equals(await readFile(two))).toBe(true)
    expect(bytes.equals(await readFile(other))).toBe(false)
  })

  it('writes valid JSON with one record per line, equal to generateSeed', async () => {
    const out = join(dir, 'nested', 'seed.json')
    await writeSeedFile({ count: 25, seed: 5, out })
    const text = await readFile(out, 'utf8')
    expect(JSON.parse(text)).toEqual(generateSeed({ count: 25, seed: 5 }))
    const lines = text.split('\n')
    expect(lines[0]).toBe('{"users":[')
    expect(lines.at(-2)).toBe(']}')
    expect(lines).toHaveLength(NAMED_USERS.length + 25 + 3)
  })

  it('writes data/seed.json exactly as committed (it cannot drift from the generator)', async () => {
    const out = join(dir, 'seed.json')
    await writeSeedFile({ ...DEFAULT_SEED_OPTIONS, out })
    const committed = await readFile(new URL('../../../data/seed.json', import.meta.url))
    expect(committed.equals(await readFile(out))).toBe(true)
  })
})
