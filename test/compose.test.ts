import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { loadConfig } from '../src/mock/runtime/config.js'
import { ROOT } from './process.js'

// compose.yaml kept honest without a Docker engine: every file it names exists, the image runs what the
// build makes, each replica's environment passes the server's own validation, and the proxy, Redis and
// PostgreSQL are wired to the ports and names the replicas use.

interface Service {
  build?: string | { context: string; dockerfile?: string }
  image?: string
  command?: string[]
  environment?: Record<string, string>
  volumes?: string[]
  ports?: string[]
  depends_on?: string[] | Record<string, unknown>
  profiles?: string[]
}

const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
}
const services = compose.services
const replicas = Object.entries(services).filter(([, service]) => service.build !== undefined)
const nginx = readFileSync(join(ROOT, 'compose/nginx.conf'), 'utf8')

/** `${NAME:-default}` as compose reads it with NAME unset. */
function interpolate(value: string): string {
  return value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')
}
function env(service: Service): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [key, interpolate(String(value))]),
  )
}
function upstream(name: string, config = nginx): string[] {
  const block = new RegExp(`upstream ${name} \\{([^}]*)\\}`).exec(config)?.[1] ?? ''
  return [...block.matchAll(/server\s+([^;\s]+);/g)].map((match) => match[1] ?? '')
}

/** Every file or folder a service mounts from this repository exists. */
function expectBindSourcesExist(service: Service): void {
  for (const volume of service.volumes ?? []) {
    const source = volume.split(':')[0] ?? ''
    expect(existsSync(join(ROOT, source)), source).toBe(true)
  }
}

describe('compose.yaml', () => {
  it('runs two replicas of the image built from this folder, plus Redis, PostgreSQL and a proxy', () => {
    expect(replicas.map(([name]) => name)).toEqual(['replica-1', 'replica-2'])
    expect(Object.keys(services).sort()).toEqual([
      'postgres',
      'proxy',
      'proxy-tls',
      'redis',
      'replica-1',
      'replica-2',
    ])
    for (const [, service] of replicas) {
      const context = typeof service.build === 'string' ? service.build : (service.build?.context ?? '')
      expect(existsSync(join(ROOT, context, 'Dockerfile'))).toBe(true)
      expect(Object.keys(service.depends_on ?? {}).sort()).toEqual(['postgres', 'redis'])
    }
  })

  it('the image runs what `npm run build` makes', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    const cmd = /^CMD \[(.*)\]$/m.exec(dockerfile)?.[1]
    expect(cmd).toBe('"node", "dist/mock/main.js"')
    const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
      compilerOptions: { outDir: string; rootDir: string }
    }
    expect(build.compilerOptions).toMatchObject({ outDir: 'dist', rootDir: 'src' })
    expect(existsSync(join(ROOT, 'src/mock/main.ts'))).toBe(true)
    // The files the run stage copies besides dist/ exist.
    for (const [, source] of dockerfile.matchAll(/^COPY (?!--from)(\S+) /gm)) {
      for (const path of (source ?? '').split(' ')) expect(existsSync(join(ROOT, path)), path).toBe(true)
    }
  })

  it('gives each replica an environment the server accepts, sharing Redis and PostgreSQL', () => {
    const ids = new Set<string>()
    for (const [name, service] of replicas) {
      const variables = env(service)
      // NODE_ENV=production comes from the image.
      const config = loadConfig({ ...variables, NODE_ENV: 'production' })
      expect(config.adminHost, name).toBe('0.0.0.0')
      expect(config.adminToken, name).toEqual(expect.any(String))
      expect(config.secrets, name).toHaveLength(1)
      ids.add(config.replicaId)
      const redis = new URL(config.redisUrl ?? '')
      expect(redis.hostname).toBe('redis')
      expect(services.redis?.command).toEqual(expect.arrayContaining(['--port', redis.port]))
      const database = new URL(variables.DATABASE_URL ?? '')
      const postgres = env(services.postgres ?? {})
      expect(database.hostname).toBe('postgres')
      expect(database.port).toBe('5432')
      expect(database.username).toBe(postgres.POSTGRES_USER)
      expect(database.password).toBe(postgres.POSTGRES_PASSWORD)
      expect(database.pathname).toBe(`/${postgres.POSTGRES_DB}`)
    }
    expect(ids.size).toBe(replicas.length)
    // Every replica shares one secret and one prefix: they answer alike and see one state.
    expect(new Set(replicas.map(([, s]) => env(s).TALKI_SECRET)).size).toBe(1)
    expect(new Set(replicas.map(([, s]) => env(s).REDIS_PREFIX)).size).toBe(1)
  })

  it('proxies both ports round-robin to every replica, on the ports the replicas listen on', () => {
    const proxy = services.proxy ?? {}
    expectBindSourcesExist(proxy)
    expect(proxy.volumes).toContain('./compose/nginx.conf:/etc/nginx/nginx.conf:ro')
    const config = loadConfig({ ...env(replicas[0]?.[1] ?? {}), NODE_ENV: 'production' })
    const names = replicas.map(([name]) => name)
    expect(upstream('endpoint')).toEqual(names.map((name) => `${name}:${config.port}`))
    expect(upstream('admin')).toEqual(names.map((name) => `${name}:${config.adminPort}`))
    expect(nginx).toMatch(/listen 3000;/)
    expect(nginx).toMatch(/listen 3001;/)
    expect(proxy.ports).toEqual(['3000:3000', '127.0.0.1:3001:3001'])
    // Retrying on the other replica would hide a simulated failure from the caller.
    expect(nginx.match(/proxy_next_upstream off;/g)).toHaveLength(2)
  })

  it("terminates TLS in the `tls` profile: 3443 to every replica's endpoint, the certificate from compose/tls", () => {
    const proxy = services['proxy-tls'] ?? {}
    expect(proxy.profiles).toEqual(['tls'])
    expectBindSourcesExist(proxy)
    expect(proxy.volumes).toEqual([
      './compose/nginx-tls.conf:/etc/nginx/nginx.conf:ro',
      './compose/tls:/etc/nginx/tls:ro',
    ])
    expect(proxy.ports).toEqual(['3443:3443'])
    const tls = readFileSync(join(ROOT, 'compose/nginx-tls.conf'), 'utf8')
    const config = loadConfig({ ...env(replicas[0]?.[1] ?? {}), NODE_ENV: 'production' })
    expect(upstream('endpoint', tls)).toEqual(replicas.map(([name]) => `${name}:${config.port}`))
    expect(tls).toMatch(/listen 3443 ssl;/)
    expect(tls).toMatch(/ssl_certificate \/etc\/nginx\/tls\/cert\.pem;/)
    expect(tls).toMatch(/ssl_certificate_key \/etc\/nginx\/tls\/key\.pem;/)
    expect(tls.match(/proxy_next_upstream off;/g)).toHaveLength(1)
  })

  it('names only volumes it declares', () => {
    for (const service of Object.values(services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0] ?? ''
        if (!source.startsWith('.')) expect(Object.keys(compose.volumes ?? {})).toContain(source)
      }
    }
  })
})
