import { createServer, type Server } from 'node:http'
import { createEndpointApp } from './endpoint/app.js'
import type { Config } from './runtime/config.js'
import { hostPort, listen, reachableUrl, SERVER_OPTIONS } from './runtime/listen.js'
import { createLogger, type Logger } from './runtime/log.js'
import { maskUrl } from './runtime/mask-url.js'
import { createMetrics } from './runtime/metrics.js'
import type { Readiness } from './runtime/readiness.js'
import { ensureSecret } from './runtime/secret.js'
import { logStartup } from './runtime/startup-log.js'
import { fillDefaults, isDown, type Simulation } from './simulation/scenarios.js'
import { createSharedState } from './state/memory.js'
import { openJsonStore, type UserStore } from './users/store.js'

// The composition root: createMock(config) opens the secret, the store and the state engine and builds both
// servers, not yet listening. main.ts (signals, exit codes) and the tests both start the mock through it.

/** The signing secrets in force, and where a development secret came from (created on this start or not). */
export interface MockSecret {
  secrets: string[]
  /** The secret file when the secrets came from it (no TALKI_SECRET). */
  file: string | undefined
  /** The secret written to `file` on this start, to be shown once. */
  created: string | undefined
}

export interface Mock {
  config: Config
  logger: Logger
  secret: MockSecret
  /** Listens on both ports and logs the start-up lines; resolves with the URLs that reach them. */
  listen(): Promise<MockUrls>
  /** Stops taking requests, lets those in flight finish (at most SHUTDOWN_TIMEOUT_MS), flushes the store. */
  close(): Promise<void>
  /** Requests in flight on the endpoint now. */
  inFlight(): number
}

export interface MockUrls {
  /** The endpoint's URL, path included (`http://127.0.0.1:3000/talki/customer`). */
  endpoint: string
  /** The admin port's root URL; undefined when ADMIN_PORT=0 turns it off. */
  admin: string | undefined
}

/** Silent unless a logger is given: a test or a library caller decides where log lines go. */
export async function createMock(config: Config, logger: Logger = createLogger('silent')): Promise<Mock> {
  const { secrets, created, file } = await ensureSecret(config)
  const store = await openStore(config, logger)

  const startup = config.simulate ? fillDefaults(config.simulate) : null
  let urls: MockUrls | undefined
  // Not "endpoint listening" again: the server did not restart, its port reopened.
  const onReopen = () => logger.info({ url: urls?.endpoint }, 'endpoint back up after down')
  const state = config.redisUrl
    ? await sharedInRedis(config, config.redisUrl, startup, logger, onReopen)
    : inProcess(startup, onReopen)
  const { downtime, hanging } = state
  const database = storePing(config, store)
  const readiness: Readiness = {
    engines: {
      users: config.databaseUrl ? 'postgres' : 'json',
      state: config.redisUrl ? 'redis' : 'memory',
      replica: config.replicaId,
    },
    checks: {
      ...(state.ping ? { redis: state.ping } : {}),
      ...(database ? { database } : {}),
    },
    timeoutMs: Math.min(config.lookupTimeoutMs, 2000),
  }

  // With ADMIN_PORT=0 nothing could read the request log, so none is kept.
  const requestLog = config.adminPort === 0 ? undefined : state.requestLog
  // Likewise the metrics: counted only when the admin port serves them (GET /metrics), one registry each.
  const metrics =
    config.adminPort === 0 || !config.metricsEnabled
      ? undefined
      : createMetrics({ replica: config.replicaId, active: state.active })
  const endpoint = createEndpointApp({
    ...config,
    ...state.endpoint,
    requestLog,
    secrets,
    store,
    logger,
    ...(metrics ? { metrics } : {}),
  })
  // Requests in flight, counted for the drain at shutdown; one listener function shared by every request.
  let inFlight = 0
  let drained: () => void = () => {}
  const settled = () => {
    if (--inFlight === 0) drained()
  }
  const endpointServer = createServer(SERVER_OPTIONS, (req, res) => {
    inFlight++
    res.on('close', settled)
    endpoint(req, res)
  })

  let adminServer: Server | undefined
  const openAdmin = async (endpointPort: number): Promise<number> => {
    // Loaded only when enabled: with ADMIN_PORT=0 none of the admin code (OpenAPI, static files) is loaded.
    const { createAdminApp } = await import('./admin/app.js')
    const admin = createAdminApp({
      ...config,
      ...state.admin,
      readiness,
      store,
      logger,
      endpointPort,
      ...(metrics ? { metrics } : {}),
    })
    adminServer = createServer(SERVER_OPTIONS, admin)
    return listen(adminServer, config.adminPort, config.adminHost, { port: 'ADMIN_PORT', host: 'ADMIN_HOST' })
  }

  return {
    config,
    logger,
    secret: { secrets, created, file },
    inFlight: () => inFlight,
    async listen() {
      // SIMULATE=down:N on a fixed port: the port opens N ms after start (with PORT=0 it listens first, to
      // learn its port, and closes at once).
      const opensLater = isDown(startup) && config.port !== 0
      const port = opensLater ? config.port : await listen(endpointServer, config.port, config.host)
      const endpointUrl = reachableUrl(config.host, port, config.endpointPath)
      downtime.attach(endpointServer, { port, host: config.host })
      if (isDown(startup)) downtime.start(startup.durationMs)
      const adminPort = config.adminPort === 0 ? undefined : await openAdmin(port)
      urls = {
        endpoint: endpointUrl,
        admin: adminPort === undefined ? undefined : reachableUrl(config.adminHost, adminPort, '/'),
      }
      logStartup(logger, {
        endpoint: {
          address: hostPort(config.host, port),
          url: endpointUrl,
          ...(isDown(startup) ? { downForMs: startup.durationMs } : {}),
        },
        admin:
          adminPort === undefined
            ? undefined
            : { address: hostPort(config.adminHost, adminPort), url: urls.admin ?? '' },
        store: {
          engine: config.databaseUrl ? 'PostgreSQL' : 'JSON file',
          where: config.databaseUrl ? maskUrl(config.databaseUrl) : config.dataFile,
          users: (await store.list({ offset: 0, limit: 0 })).total,
        },
        state: config.redisUrl
          ? {
              engine: `Redis, shared by replicas (prefix ${config.redisPrefix}, replica ${config.replicaId})`,
              where: maskUrl(config.redisUrl),
            }
          : { engine: 'in memory (this process)' },
        secret: file
          ? { source: 'file', file, created: created !== undefined }
          : { source: 'TALKI_SECRET', count: secrets.length },
      })
      return urls
    },
    async close() {
      downtime.cancel()
      endpointServer.close()
      endpointServer.closeIdleConnections()
      for (const socket of hanging) socket.destroy()
      adminServer?.close()
      adminServer?.closeAllConnections()
      await new Promise<void>((resolve) => {
        drained = resolve
        if (inFlight === 0) resolve()
        setTimeout(resolve, config.shutdownTimeoutMs).unref()
      })
      endpointServer.closeAllConnections()
      await flush(store, logger)
      await state.close?.()
    },
  }
}

/** The users: in PostgreSQL when DATABASE_URL is set, else in the JSON file. */
async function openStore(config: Config, logger: Logger): Promise<UserStore> {
  if (config.databaseUrl === undefined) {
    return openJsonStore({ file: config.dataFile, seedFile: config.seedFile })
  }
  // Loaded only when used: the embedded default never loads pg.
  const { openPostgresStore } = await import('./users/postgres-users.js')
  const store = await openPostgresStore({ ...config, url: config.databaseUrl, logger })
  logger.info({ database: maskUrl(config.databaseUrl) }, 'users in PostgreSQL')
  return store
}

/** The simulation state in this process (the default): one replica, nothing shared. */
function inProcess(startup: Simulation | null, onReopen: () => void) {
  const shared = createSharedState(startup, onReopen)
  const { simulation, downtime, requestLog, hanging } = shared
  return {
    downtime,
    hanging,
    requestLog,
    endpoint: { simulation, downtime, hanging },
    admin: { simulation, downtime, requestLog },
    active: () => simulation,
    ping: undefined,
    close: undefined,
  }
}

/** REDIS_URL: the state shared by every replica with the same URL and prefix (README "Replicas"). */
async function sharedInRedis(
  config: Config,
  url: string,
  startup: Simulation | null,
  logger: Logger,
  onReopen: () => void,
) {
  // Loaded only when used: the embedded default never loads the Redis client.
  const { connectRedis } = await import('./state/redis/connect.js')
  const { openRedisState } = await import('./state/redis/state.js')
  const redis = await connectRedis(url, logger)
  const shared = await openRedisState({
    ...redis,
    prefix: config.redisPrefix,
    replica: config.replicaId,
    startup,
    timeoutMs: config.lookupTimeoutMs,
    logger,
    onReopen,
  })
  const { decide, control, downtime, requestLog, hanging } = shared
  return {
    downtime,
    hanging,
    requestLog,
    endpoint: { decide, downtime, hanging },
    admin: { control, requestLog },
    active: () => control.view(),
    ping: shared.ping,
    close: shared.close,
  }
}

/** The database's health check for /readyz; the JSON file in this process has none to report. */
function storePing(config: Config, store: UserStore): (() => Promise<void>) | undefined {
  if (config.databaseUrl === undefined || store.ping === undefined) return undefined
  return () => store.ping?.() ?? Promise.resolve()
}

async function flush(store: UserStore, logger: Logger): Promise<void> {
  try {
    await store.flush()
    await store.close?.()
  } catch (error) {
    logger.error({ err: error }, 'could not flush the store')
  }
}
