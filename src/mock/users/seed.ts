import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import type { Faker } from '@faker-js/faker'
// One locale's entry: the package's main entry loads all ~70 locales, ~100 ms of every `seed` run.
import { faker as englishFaker } from '@faker-js/faker/locale/en'
import { FILE_HEAD, FILE_SEPARATOR, FILE_TAIL } from './file-layout.js'
import type { UserRecord } from './record.js'
import { DEFAULT_SEED_OPTIONS, type SeedOptions } from './seed-options.js'

// The deterministic data set (README: Demo guide): the named users (the vendor page's example, one user per
// scenario, edge profiles) followed by `count` faker users. Same options → same records → same bytes.

export { DEFAULT_SEED_OPTIONS, type SeedOptions }

/** Relative dates ("signed up in the last 3 years") are counted back from here, never from today. */
const REF_DATE = new Date('2025-01-01T00:00:00.000Z')

const PLANS = ['free', 'starter', 'pro', 'enterprise'] as const
const MRR: Record<(typeof PLANS)[number], [number, number]> = {
  free: [0, 0],
  starter: [19, 49],
  pro: [99, 299],
  enterprise: [1000, 5000],
}

/** The vendor page's example user, exactly as printed there. */
const VENDOR_EXAMPLE: UserRecord = {
  userToken: 'usr_abc123',
  name: 'Alice Johnson',
  email: 'alice@example.com',
  plan: 'pro',
  fields: { mrr: 149, company: 'Acme Inc', signedUpAt: '2024-01-15', seats: 5 },
}

function scenarioUser(
  slug: string,
  name: string,
  simulate: UserRecord['simulate'],
  behaviour: string,
  plan = 'starter',
): UserRecord {
  const email = `${name.toLowerCase().replace(/ /g, '.')}@example.com`
  return {
    userToken: `usr_${slug}`,
    name,
    email,
    plan,
    fields: { company: 'Scenario Labs', mrr: 49, seats: 2, signedUpAt: '2024-03-01', behaviour },
    simulate,
  }
}

const SCENARIO_USERS: UserRecord[] = [
  scenarioUser('ok', 'Olivia Ok', 'ok', 'answers normally'),
  scenarioUser(
    'slow',
    'Sam Slow',
    { scenario: 'slow', delayMs: 6000 },
    'answers after 6000 ms, past Talki’s 5 s',
  ),
  scenarioUser(
    'slow_ok',
    'Sally Slow',
    { scenario: 'slow', delayMs: 4500 },
    'answers after 4500 ms, inside 5 s',
  ),
  scenarioUser('not_found', 'Nina Notfound', 'not_found', '404 user_not_found'),
  scenarioUser('unauthorized', 'Uma Unauthorized', 'unauthorized', '401 invalid_signature'),
  scenarioUser('error', 'Eric Error', { scenario: 'error', status: 503 }, '503 simulated_error'),
  scenarioUser('down', 'Dana Down', { scenario: 'down', durationMs: 10000 }, 'port down for 10 s'),
  scenarioUser('reset', 'Rita Reset', 'reset', 'connection reset, no answer'),
  scenarioUser('hang', 'Hugo Hang', 'hang', 'no answer; socket closed after 60 s'),
  scenarioUser('malformed', 'Mia Malformed', 'malformed', '200 with a body that is not JSON'),
  scenarioUser('wrong_shape', 'Walt Wrongshape', 'wrong_shape', '200 JSON that breaks the contract'),
  scenarioUser('flaky', 'Fiona Flaky', 'flaky', 'first attempt 503, the retry gets data'),
  scenarioUser(
    'flaky_twice',
    'Felix Flaky',
    { sequence: ['error', 'error', 'ok'] },
    'attempt and retry fail, a later Refresh succeeds',
  ),
]

function manyFields(): Record<string, string | number | boolean> {
  const fields: Record<string, string | number | boolean> = {}
  for (let i = 1; i <= 60; i++) {
    const key = `field${String(i).padStart(2, '0')}`
    fields[key] = i % 3 === 0 ? i % 2 === 0 : i % 3 === 1 ? `value ${i}` : i * 10.5
  }
  return fields
}

const EDGE_USERS: UserRecord[] = [
  { userToken: 'usr_minimal' },
  {
    userToken: 'usr_unicode',
    name: 'Zoë Łukasiewicz-Ñúñez 山田太郎 🦊',
    email: 'zoë.山田@example.com',
    plan: 'pro ✨',
    fields: {
      company: 'Café Ünïcode 株式会社',
      city: 'Kraków',
      arabic: 'مرحبا بالعالم',
      hebrew: 'שלום עולם',
      emoji: '👩🏽‍💻🚀🎉',
      'clé spéciale': 'värde',
      日本語キー: 42,
      signedUpAt: '2024-02-29',
    },
  },
  {
    userToken: 'usr_many_fields',
    name: 'Max Manyfields',
    email: 'max.manyfields@example.com',
    plan: 'enterprise',
    fields: manyFields(),
  },
]

/** The users every seed holds, in this order, before the faker users. */
export const NAMED_USERS: readonly UserRecord[] = [VENDOR_EXAMPLE, ...SCENARIO_USERS, ...EDGE_USERS]

/**
 * A token unique per index without remembering the ones already made: multiplying by an odd constant
 * (then xor) is a bijection on 32-bit integers, so distinct indexes give distinct 8-hex-digit ids.
 * Named tokens hold letters past `f` or are not 8 characters long, so they cannot collide.
 */
function fakerToken(index: number, seed: number): string {
  const mixed = (Math.imul(index + 1, 0x9e3779b1) ^ Math.imul(seed, 0x85ebca6b)) >>> 0
  return `usr_${mixed.toString(16).padStart(8, '0')}`
}

/** Yields the whole seed one record at a time, so a million users never sit in memory at once. */
function* seedRecords(options: SeedOptions): Generator<UserRecord> {
  yield* NAMED_USERS.map((user) => structuredClone(user))
  // A fresh instance per run (two runs may interleave), with the English definitions the entry loaded.
  const FakerClass = englishFaker.constructor as typeof Faker
  const faker = new FakerClass({ locale: englishFaker.rawDefinitions, seed: options.seed })
  faker.setDefaultRefDate(REF_DATE)
  for (let i = 0; i < options.count; i++) {
    const firstName = faker.person.firstName()
    const lastName = faker.person.lastName()
    const plan = faker.helpers.arrayElement(PLANS)
    const [min, max] = MRR[plan]
    yield {
      userToken: fakerToken(i, options.seed),
      name: `${firstName} ${lastName}`,
      email: faker.internet.exampleEmail({ firstName, lastName }).toLowerCase(),
      plan,
      fields: {
        company: faker.company.name(),
        mrr: faker.number.int({ min, max }),
        seats: plan === 'free' ? 1 : faker.number.int({ min: 1, max: plan === 'enterprise' ? 500 : 25 }),
        signedUpAt: faker.date.past({ years: 3 }).toISOString().slice(0, 10),
        country: faker.location.country(),
        active: faker.datatype.boolean({ probability: 0.85 }),
      },
    }
  }
}

export function generateSeed(options: SeedOptions): { users: UserRecord[] } {
  return { users: [...seedRecords(options)] }
}

/**
 * Streams the seed to `out` (through a temp file renamed into place, so a crash leaves no torn seed).
 * Memory stays bounded whatever `count` is; same options → identical bytes.
 */
export async function writeSeedFile(
  options: SeedOptions & { out: string },
): Promise<{ users: number; bytes: number }> {
  await mkdir(path.dirname(path.resolve(options.out)), { recursive: true })
  const temp = `${options.out}.${process.pid}.tmp`
  const stream = createWriteStream(temp)
  let users = 0
  let bytes = 0
  let chunk = FILE_HEAD
  const push = async (text: string) => {
    bytes += Buffer.byteLength(text)
    // events.once rejects if the stream errors while we wait.
    if (!stream.write(text)) await once(stream, 'drain')
  }
  try {
    for (const user of seedRecords(options)) {
      chunk += (users === 0 ? '' : FILE_SEPARATOR) + JSON.stringify(user)
      users++
      if (chunk.length >= 1 << 16) {
        await push(chunk)
        chunk = ''
      }
    }
    await push(chunk + FILE_TAIL)
    stream.end()
    await once(stream, 'finish')
    await rename(temp, options.out)
  } catch (error) {
    stream.destroy()
    await rm(temp, { force: true })
    throw error
  }
  return { users, bytes }
}
