import { hostname } from 'node:os'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, loadExampleConfig, SEED_FILE } from '../../../src/mock/runtime/config.js'

/** Loads a config, or returns the ConfigError it threw (anything else fails the test). */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`)
}

const DEFAULTS = {
  port: 3000,
  host: '0.0.0.0',
  endpointPath: '/talki/customer',
  tokenField: 'userToken',
  secrets: undefined,
  adminPort: 3001,
  adminHost: '127.0.0.1',
  adminToken: undefined,
  dataFile: 'data/db.json',
  databaseUrl: undefined,
  seedFile: SEED_FILE,
  simulate: undefined,
  logLevel: 'info',
  logFormat: undefined,
  bodyLimit: 16 * 1024,
  lookupTimeoutMs: 4000,
  shutdownTimeoutMs: 10_000,
  production: false,
  redisUrl: undefined,
  redisPrefix: 'talki:',
  replicaId: `${hostname()}:${process.pid}`,
  readyFile: undefined,
  metricsEnabled: true,
  talkiTiming: { timing: 'real', timeoutMs: 5000, retryDelayMs: 3000 },
}

const VARIABLES = [
  'PORT',
  'HOST',
  'ENDPOINT_PATH',
  'USER_TOKEN_FIELD',
  'ADMIN_PORT',
  'ADMIN_HOST',
  'ADMIN_TOKEN',
  'DATA_FILE',
  'DATABASE_URL',
  'SIMULATE',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'BODY_LIMIT',
  'LOOKUP_TIMEOUT_MS',
  'SHUTDOWN_TIMEOUT_MS',
  'NODE_ENV',
  'REDIS_URL',
  'REDIS_PREFIX',
  'REPLICA_ID',
  'READY_FILE',
  'TALKI_TIMING',
]

describe('loadConfig', () => {
  describe('with an empty environment', () => {
    it('answers every default of the README configuration table', () => {
      expect(loadConfig({})).toEqual(DEFAULTS)
    })
    it('finds the committed seed beside the project', () => {
      expect(SEED_FILE).toMatch(/[/\\]data[/\\]seed\.json$/)
    })
  })

  describe('with every variable set to an empty value', () => {
    it('treats each one as unset and answers the defaults', () => {
      const env = Object.fromEntries(VARIABLES.map((name) => [name, '']))
      expect(loadConfig(env)).toEqual(DEFAULTS)
    })
    for (const name of VARIABLES) {
      it(`treats ${name}= as unset`, () => {
        expect(loadConfig({ [name]: '' })).toEqual(DEFAULTS)
      })
    }
  })

  describe('with good values', () => {
    const rows: {
      env: Record<string, string>
      expected: Partial<typeof DEFAULTS> | Record<string, unknown>
    }[] = [
      { env: { PORT: '0' }, expected: { port: 0 } },
      { env: { PORT: '65535' }, expected: { port: 65535 } },
      { env: { HOST: '127.0.0.1' }, expected: { host: '127.0.0.1' } },
      { env: { HOST: '::' }, expected: { host: '::' } },
      { env: { HOST: 'localhost' }, expected: { host: 'localhost' } },
      { env: { ENDPOINT_PATH: '/hooks/talki' }, expected: { endpointPath: '/hooks/talki' } },
      { env: { USER_TOKEN_FIELD: 'customerId' }, expected: { tokenField: 'customerId' } },
      { env: { TALKI_SECRET: 'one' }, expected: { secrets: ['one'] } },
      { env: { TALKI_SECRET: 'new,old' }, expected: { secrets: ['new', 'old'] } },
      { env: { TALKI_SECRET: 'a,b,c' }, expected: { secrets: ['a', 'b', 'c'] } },
      { env: { ADMIN_PORT: '0' }, expected: { adminPort: 0 } },
      { env: { ADMIN_PORT: 'off' }, expected: { adminPort: 'off' } },
      { env: { READY_FILE: '/tmp/x/ready.json' }, expected: { readyFile: '/tmp/x/ready.json' } },
      { env: { ADMIN_HOST: '::1' }, expected: { adminHost: '::1' } },
      { env: { DATA_FILE: '/tmp/x/db.json' }, expected: { dataFile: '/tmp/x/db.json' } },
      {
        env: { DATABASE_URL: 'postgres://talki:pw@db:5432/talki' },
        expected: { databaseUrl: 'postgres://talki:pw@db:5432/talki' },
      },
      {
        env: { DATABASE_URL: 'postgresql://127.0.0.1/x' },
        expected: { databaseUrl: 'postgresql://127.0.0.1/x' },
      },
      { env: { SIMULATE: 'slow' }, expected: { simulate: 'slow' } },
      { env: { SIMULATE: 'slow:6000' }, expected: { simulate: { scenario: 'slow', delayMs: 6000 } } },
      {
        env: { SIMULATE: '{"scenario":"error","status":502}' },
        expected: { simulate: { scenario: 'error', status: 502 } },
      },
      { env: { LOG_LEVEL: 'silent' }, expected: { logLevel: 'silent' } },
      { env: { LOG_LEVEL: 'debug' }, expected: { logLevel: 'debug' } },
      { env: { LOG_FORMAT: 'json' }, expected: { logFormat: 'json' } },
      { env: { LOG_FORMAT: 'pretty' }, expected: { logFormat: 'pretty' } },
      { env: { BODY_LIMIT: '1mb' }, expected: { bodyLimit: 1024 * 1024 } },
      { env: { BODY_LIMIT: '16KB' }, expected: { bodyLimit: 16 * 1024 } },
      { env: { BODY_LIMIT: '64b' }, expected: { bodyLimit: 64 } },
      { env: { BODY_LIMIT: '2048' }, expected: { bodyLimit: 2048 } },
      { env: { LOOKUP_TIMEOUT_MS: '50' }, expected: { lookupTimeoutMs: 50 } },
      { env: { SHUTDOWN_TIMEOUT_MS: '0' }, expected: { shutdownTimeoutMs: 0 } },
      {
        env: { NODE_ENV: 'production', TALKI_SECRET: 's3cret' },
        expected: { production: true, secrets: ['s3cret'] },
      },
      { env: { NODE_ENV: 'test' }, expected: { production: false } },
      { env: { REDIS_URL: 'redis://127.0.0.1:6379' }, expected: { redisUrl: 'redis://127.0.0.1:6379' } },
      {
        env: { REDIS_URL: 'rediss://:pw@cache.internal:6380/2' },
        expected: { redisUrl: 'rediss://:pw@cache.internal:6380/2' },
      },
      { env: { REDIS_PREFIX: 'qa:staging:' }, expected: { redisPrefix: 'qa:staging:' } },
      { env: { REPLICA_ID: 'web-2' }, expected: { replicaId: 'web-2' } },
      { env: { METRICS: 'off' }, expected: { metricsEnabled: false } },
      {
        env: { TALKI_TIMING: 'demo' },
        expected: { talkiTiming: { timing: 'demo', timeoutMs: 1500, retryDelayMs: 1000 } },
      },
    ]
    for (const row of rows) {
      it(`reads ${JSON.stringify(row.env)}`, () => {
        expect(loadConfig(row.env)).toEqual({ ...DEFAULTS, ...row.expected })
      })
    }
  })

  describe('with a bad value', () => {
    const rows: { env: Record<string, string>; names: string }[] = [
      { env: { PORT: 'abc' }, names: 'PORT' },
      { env: { PORT: '70000' }, names: 'PORT' },
      { env: { PORT: '-1' }, names: 'PORT' },
      { env: { PORT: '80.5' }, names: 'PORT' },
      { env: { PORT: ' 3000' }, names: 'PORT' },
      { env: { HOST: 'nope' }, names: 'HOST' },
      { env: { HOST: '999.1.1.1' }, names: 'HOST' },
      { env: { ENDPOINT_PATH: 'nopath' }, names: 'ENDPOINT_PATH' },
      { env: { ENDPOINT_PATH: '/talki/:id' }, names: 'ENDPOINT_PATH' },
      { env: { ENDPOINT_PATH: '/' }, names: 'ENDPOINT_PATH' },
      { env: { USER_TOKEN_FIELD: 'user token' }, names: 'USER_TOKEN_FIELD' },
      { env: { USER_TOKEN_FIELD: '__proto__' }, names: 'USER_TOKEN_FIELD' },
      { env: { ADMIN_PORT: '65536' }, names: 'ADMIN_PORT' },
      { env: { ADMIN_PORT: 'no' }, names: 'ADMIN_PORT' },
      { env: { ADMIN_HOST: 'example.com' }, names: 'ADMIN_HOST' },
      { env: { ADMIN_TOKEN: 'short' }, names: 'ADMIN_TOKEN' },
      { env: { DATABASE_URL: 'mysql://u:p@db/x' }, names: 'DATABASE_URL' },
      { env: { DATABASE_URL: 'db:5432' }, names: 'DATABASE_URL' },
      { env: { DATABASE_URL: 'postgres:///x' }, names: 'DATABASE_URL' },
      { env: { LOG_LEVEL: 'loud' }, names: 'LOG_LEVEL' },
      { env: { LOG_LEVEL: 'INFO' }, names: 'LOG_LEVEL' },
      { env: { BODY_LIMIT: 'huge' }, names: 'BODY_LIMIT' },
      { env: { BODY_LIMIT: '1b' }, names: 'BODY_LIMIT' },
      { env: { BODY_LIMIT: '20mb' }, names: 'BODY_LIMIT' },
      { env: { BODY_LIMIT: '16gb' }, names: 'BODY_LIMIT' },
      { env: { LOOKUP_TIMEOUT_MS: '-1' }, names: 'LOOKUP_TIMEOUT_MS' },
      { env: { LOOKUP_TIMEOUT_MS: '0' }, names: 'LOOKUP_TIMEOUT_MS' },
      { env: { LOOKUP_TIMEOUT_MS: '1e3' }, names: 'LOOKUP_TIMEOUT_MS' },
      { env: { SHUTDOWN_TIMEOUT_MS: 'soon' }, names: 'SHUTDOWN_TIMEOUT_MS' },
      { env: { LOG_FORMAT: 'yaml' }, names: 'LOG_FORMAT' },
      { env: { SIMULATE: 'bogus' }, names: 'SIMULATE' },
      { env: { SIMULATE: 'slow:abc' }, names: 'SIMULATE' },
      { env: { SIMULATE: 'ok:5' }, names: 'SIMULATE' },
      { env: { SIMULATE: '{"scenario":"slow"' }, names: 'SIMULATE' },
      // `count` belongs to the run-time override (admin API), not to the scenario SIMULATE starts with.
      { env: { SIMULATE: '{"scenario":"error","count":3}' }, names: 'SIMULATE' },
      { env: { SIMULATE: '{"scenario":"slow","delayMs":-5}' }, names: 'SIMULATE' },
      { env: { TALKI_SECRET: '' }, names: 'TALKI_SECRET' },
      { env: { TALKI_SECRET: 'a,,b' }, names: 'TALKI_SECRET' },
      { env: { TALKI_SECRET: 'a,' }, names: 'TALKI_SECRET' },
      { env: { TALKI_SECRET: 'from-an-env-file\n' }, names: 'TALKI_SECRET' },
      { env: { TALKI_SECRET: ' leading-space' }, names: 'TALKI_SECRET' },
      { env: { TALKI_SECRET: 'trailing-tab\t' }, names: 'TALKI_SECRET' },
      { env: { TALKI_SECRET: 'new, old' }, names: 'TALKI_SECRET' },
      { env: { NODE_ENV: 'production' }, names: 'TALKI_SECRET' },
      { env: { ADMIN_HOST: '0.0.0.0' }, names: 'ADMIN_TOKEN' },
      { env: { ADMIN_HOST: '192.168.1.10' }, names: 'ADMIN_TOKEN' },
      { env: { ADMIN_HOST: '::' }, names: 'ADMIN_TOKEN' },
      { env: { REDIS_URL: 'localhost:6379' }, names: 'REDIS_URL' },
      { env: { REDIS_URL: 'http://127.0.0.1:6379' }, names: 'REDIS_URL' },
      { env: { REDIS_PREFIX: 'has space' }, names: 'REDIS_PREFIX' },
      { env: { REDIS_PREFIX: 'glob*' }, names: 'REDIS_PREFIX' },
      { env: { METRICS: 'yes' }, names: 'METRICS' },
      { env: { TALKI_TIMING: 'fast' }, names: 'TALKI_TIMING' },
      { env: { REPLICA_ID: 'a/b' }, names: 'REPLICA_ID' },
    ]
    for (const row of rows) {
      it(`refuses ${JSON.stringify(row.env)} with one line naming ${row.names}`, () => {
        const { message } = configError(row.env)
        expect(message).not.toMatch(/[\r\n]/)
        expect(message).toMatch(new RegExp(`\\b${row.names}\\b`))
      })
    }
  })

  describe('with the admin API on a non-loopback address', () => {
    it('starts with an ADMIN_TOKEN', () => {
      const config = loadConfig({ ADMIN_HOST: '0.0.0.0', ADMIN_TOKEN: 'a-long-admin-token' })
      expect(config.adminHost).toBe('0.0.0.0')
      expect(config.adminToken).toBe('a-long-admin-token')
    })
    it('needs no token when ADMIN_PORT=off disables the admin API', () => {
      const config = loadConfig({ ADMIN_HOST: '0.0.0.0', ADMIN_PORT: 'off' })
      expect(config.adminPort).toBe('off')
      expect(config.adminToken).toBeUndefined()
    })
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) {
      it(`needs no token on the loopback address ${address}`, () => {
        expect(loadConfig({ ADMIN_HOST: address }).adminHost).toBe(address)
      })
    }
  })

  describe('error messages', () => {
    const SECRET = 'do-not-print-this-secret'
    const TOKEN = 'do-not-print-this-admin-token'
    const rows: Record<string, string>[] = [
      { TALKI_SECRET: `${SECRET}\n` },
      { TALKI_SECRET: ` ${SECRET}` },
      { TALKI_SECRET: `${SECRET},` },
      { TALKI_SECRET: `${SECRET},,other` },
      { ADMIN_TOKEN: 'x' },
      { PORT: 'abc', TALKI_SECRET: SECRET, ADMIN_TOKEN: TOKEN },
      { ADMIN_HOST: 'nope', TALKI_SECRET: SECRET, ADMIN_TOKEN: TOKEN },
      { NODE_ENV: 'production', ADMIN_TOKEN: TOKEN },
      { SIMULATE: 'bogus', TALKI_SECRET: SECRET, ADMIN_TOKEN: TOKEN },
      { DATABASE_URL: `mysql://talki:${SECRET}@db/x` },
      { DATABASE_URL: `postgres://talki:${SECRET}@` },
      { REDIS_URL: `http://user:${SECRET}@127.0.0.1:6379` },
    ]
    for (const env of rows) {
      it(`never contain the secret, the admin token or a database password (${Object.keys(env).join(', ')})`, () => {
        const { message } = configError(env)
        expect(message).not.toContain(SECRET)
        expect(message).not.toContain(TOKEN)
        if (env.ADMIN_TOKEN === 'x') expect(message).not.toMatch(/"x"/)
      })
    }
    it('say which item of a TALKI_SECRET list is bad, and how', () => {
      const cases: [string, string][] = [
        [
          `${SECRET}, other`,
          'TALKI_SECRET item 2 of 2 has leading white space (write the list without spaces after commas)',
        ],
        [`${SECRET},other\n`, 'TALKI_SECRET item 2 of 2 has trailing white space (a stray newline?)'],
        [`${SECRET}\n`, 'TALKI_SECRET has trailing white space (a stray newline?)'],
        [`a,,${SECRET}`, 'TALKI_SECRET item 2 of 3 is empty (a stray comma?)'],
        [` ${SECRET} `, 'TALKI_SECRET has leading and trailing white space'],
        ['', 'TALKI_SECRET is empty: give a secret, or unset it to use the development secret'],
      ]
      for (const [value, expected] of cases) {
        expect(configError({ TALKI_SECRET: value }).message).toBe(`Invalid configuration: ${expected}`)
      }
    })
    it('show the bad value of an ordinary variable, so the user sees what was read', () => {
      expect(configError({ PORT: 'abc' }).message).toContain('"abc"')
    })
  })
})

describe('loadExampleConfig', () => {
  it('serves on port 5055 by default, with the server defaults for the rest', () => {
    expect(loadExampleConfig({})).toStrictEqual({
      tls: undefined,
      port: 5055,
      host: '0.0.0.0',
      endpointPath: '/talki/customer',
      tokenField: 'userToken',
      secrets: undefined,
      dataFile: 'data/db.json',
      databaseUrl: undefined,
      seedFile: SEED_FILE,
      bodyLimit: 16 * 1024,
      lookupTimeoutMs: 4000,
    })
  })

  it('reads PORT, BODY_LIMIT, LOOKUP_TIMEOUT_MS and TALKI_SECRET as the server does', () => {
    const config = loadExampleConfig({
      PORT: '0',
      BODY_LIMIT: '2kb',
      LOOKUP_TIMEOUT_MS: '250',
      TALKI_SECRET: 'a,b',
    })
    expect(config).toMatchObject({ port: 0, bodyLimit: 2048, lookupTimeoutMs: 250, secrets: ['a', 'b'] })
  })

  it('ignores the admin variables (an example has no admin API)', () => {
    expect(loadExampleConfig({ ADMIN_HOST: '0.0.0.0' }).port).toBe(5055)
  })

  it('refuses a bad value with the same one line as the server', () => {
    expect(() => loadExampleConfig({ LOOKUP_TIMEOUT_MS: 'soon' })).toThrow(
      /^Invalid configuration: LOOKUP_TIMEOUT_MS must be a whole number/,
    )
  })
})
