#!/usr/bin/env node
import { createServer, type Server } from 'node:http'
import { sign } from '../template/signature.js'
import { createEndpointApp } from './endpoint/app.js'
import { type Config, ConfigError, loadConfig } from './runtime/config.js'
import { hostPort, listen, reachableUrl, SERVER_OPTIONS } from './runtime/listen.js'
import { createServerLogger, type Logger } from './runtime/log.js'
import { maskUrl } from './runtime/mask-url.js'
import { EngineStartError, type Readiness } from './runtime/readiness.js'
import { ensureSecret } from './runtime/secret.js'
import { logStartup } from './runtime/startup-log.js'
import { fillDefaults, isDown, type Simulation } from './simulation/scenarios.js'
import { createSharedState } from './state/memory.js'
import { openJsonStore, StoreError, type UserStore } from './users/store.js'

// The composition root and the only file with top-level effects: read the configuration, open the
// store, start both servers, and stop them cleanly on SIGTERM/SIGINT.

function printCreatedSecret(config: Config, secret: string, file: string, url: string): void {
  const body = `{"${config.tokenField}":"usr_abc123"}`
  process.stdout.write(
    `\nCreated a development signing secret in ${file} (shown once; set TALKI_SECRET to use your own):\n` +
      `  ${secret}\nTry the vendor page's example request:\n` +
      `  curl -s ${url} -H 'Content-Type: application/json' -H 'X-Talki-Signature: ${sign(secret, body)}' -d '${body}'\n\n`,
  )
}

async function main(): Promise<void> {
  const config = loadConfig()
  const logger = await createServerLogger(config.logLevel, config.logFormat)
  const { secrets, created, file } = await ensureSecret(config)
  const store = await openStore(config, logger)

  const startup = config.simulate ? fillDefaults(config.simulate) : null
  // Not "endpoint listening" again: the server did not restart, its port reopened.
  const onReopen = () => logger.info({ url: endpointUrl }, 'endpoint back up after down')
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
  const endpoint = createEndpointApp({ ...config, ...state.endpoint, requestLog, secrets, store, logger })
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

  // SIMULATE=down:N on a fixed port: the port opens N ms after start (with PORT=0 it listens first, to
  // learn its port, and closes at once).
  const opensLater = isDown(startup) && config.port !== 0
  const port = opensLater ? config.port : await listen(endpointServer, config.port, config.host)
  const endpointUrl = reachableUrl(config.host, port, config.endpointPath)
  downtime.attach(endpointServer, { port, host: config.host })
  if (isDown(startup)) downtime.start(startup.durationMs)

  let adminServer: Server | undefined
  let adminPort = 0
  if (config.adminPort !== 0) {
    // Loaded only when enabled: with ADMIN_PORT=0 none of the admin code (OpenAPI, static files) is loaded.
    const { createAdminApp } = await import('./admin/app.js')
    const admin = createAdminApp({ ...config, ...state.admin, readiness, store, logger, endpointPort: port })
    adminServer = createServer(SERVER_OPTIONS, admin)
    adminPort = await listen(adminServer, config.adminPort, config.adminHost, {
      port: 'ADMIN_PORT',
      host: 'ADMIN_HOST',
    })
  }

  logStartup(logger, {
    endpoint: {
      address: hostPort(config.host, port),
      url: endpointUrl,
      ...(isDown(startup) ? { downForMs: startup.durationMs } : {}),
    },
    admin: adminServer && {
      address: hostPort(config.adminHost, adminPort),
      url: reachableUrl(config.adminHost, adminPort, '/'),
    },
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
  // Printed once the ports are known, so the example request names the real one (PORT=0 picks it).
  if (created && file) {
    logger.flush()
    printCreatedSecret(config, created, file, endpointUrl)
  }

  let stopping = false
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    stopping = true
    logger.info({ signal, inFlight }, 'shutting down: draining requests')
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
    logger.info({ inFlight }, 'stopped')
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
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

main().catch((error: unknown) => {
  // A bad configuration or store file stops the start with one line that names it.
  if (error instanceof ConfigError || error instanceof StoreError || error instanceof EngineStartError)
    process.stderr.write(`${(error as Error).message}\n`)
  else process.stderr.write(`Cannot start: ${(error as Error).stack ?? String(error)}\n`)
  process.exit(1)
})
