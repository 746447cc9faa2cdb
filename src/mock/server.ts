import { createServer, type RequestListener, type Server } from 'node:http'
import { createEndpointApp } from './endpoint/app.js'
import type { Config } from './runtime/config.js'
import { hostPort, listen, reachableUrl, SERVER_OPTIONS } from './runtime/listen.js'
import { createLogger, type Logger } from './runtime/log.js'
import { createMetrics } from './runtime/metrics.js'
import { readinessOf } from './runtime/readiness.js'
import { removeReadyFile, writeReadyFile } from './runtime/ready-file.js'
import { ensureSecret } from './runtime/secret.js'
import { logStartup } from './runtime/startup-log.js'
import type { TlsMaterial } from './runtime/tls-server.js'
import { tlsFaultOf } from './simulation/choose.js'
import { fillDefaults, isDown, type Simulation } from './simulation/scenarios.js'
import type { StateEngine } from './state/engine.js'
import { openMemoryState } from './state/memory.js'
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

/** HTTPS on both ports (TLS=self-signed, or TLS_CERT and TLS_KEY). */
export interface MockTls {
  source: 'self-signed' | 'files'
  /** The certificate the ports present. */
  certFile: string
  /** TLS=self-signed: the local CA a client trusts (`curl --cacert`). */
  caFile: string | undefined
  /** TLS=self-signed: the local CA was made on this start. */
  created: boolean
}

export interface Mock {
  config: Config
  logger: Logger
  secret: MockSecret
  /** undefined: plain HTTP. */
  tls: MockTls | undefined
  /** Listens on both ports and logs the start-up lines; resolves with the URLs that reach them. */
  listen(): Promise<MockUrls>
  /** Stops taking requests, lets those in flight finish (at most SHUTDOWN_TIMEOUT_MS), flushes the store. */
  close(): Promise<void>
  /** Requests in flight on the endpoint now. */
  inFlight(): number
}

export interface MockUrls {
  /** The endpoint's URL, path included (`http://127.0.0.1:3000/talki/customer`; https:// with TLS on). */
  endpoint: string
  /** The admin port's root URL; undefined when ADMIN_PORT=off turns it off. */
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
  const state = await openState(config, startup, logger, onReopen)
  const { downtime, hanging } = state
  const readiness = readinessOf(store, state, {
    replica: config.replicaId,
    timeoutMs: Math.min(config.lookupTimeoutMs, 2000),
  })

  // With ADMIN_PORT=off nothing could read the request log, so none is kept.
  const requestLog = config.adminPort === 'off' ? undefined : state.requestLog
  // Likewise the metrics: counted only when the admin port serves them (GET /metrics), one registry each.
  const metrics =
    config.adminPort === 'off' || !config.metricsEnabled
      ? undefined
      : createMetrics({ replica: config.replicaId, active: () => state.control.view() })
  const endpoint = createEndpointApp({
    ...config,
    decide: state,
    downtime,
    hanging,
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
  const onRequest: RequestListener = (req, res) => {
    inFlight++
    res.on('close', settled)
    endpoint(req, res)
  }
  const tls = config.tls ? await openTls(config.tls, config.dataFile) : undefined
  // The TLS faults follow this replica's copy of the override (shared through Redis when REDIS_URL is set).
  const endpointServer = tls
    ? tls.servers.createFaultyHttpsServer(tls.material, onRequest, {
        fault: () => tlsFaultOf(state.simulation),
        hanging,
      })
    : createServer(SERVER_OPTIONS, onRequest)

  let adminServer: Server | undefined
  const openAdmin = async (adminPort: number, endpointPort: number): Promise<number> => {
    // Loaded only when enabled: with ADMIN_PORT=off none of the admin code (OpenAPI, static files) is loaded.
    const { createAdminApp } = await import('./admin/app.js')
    const admin = createAdminApp({
      ...config,
      control: state.control,
      requestLog: state.requestLog,
      readiness,
      store,
      logger,
      endpointPort,
      ...(metrics ? { metrics } : {}),
      tlsEnabled: tls !== undefined,
    })
    adminServer = tls
      ? tls.servers.createHttpsServer(tls.material, admin)
      : createServer(SERVER_OPTIONS, admin)
    return listen(adminServer, adminPort, config.adminHost, { port: 'ADMIN_PORT', host: 'ADMIN_HOST' })
  }

  return {
    config,
    logger,
    secret: { secrets, created, file },
    tls: tls && describeTls(config, tls.material),
    inFlight: () => inFlight,
    async listen() {
      if (config.readyFile) await removeReadyFile(config.readyFile)
      // SIMULATE=down:N on a fixed port: the port opens N ms after start (with PORT=0 it listens first, to
      // learn its port, and closes at once).
      const opensLater = isDown(startup) && config.port !== 0
      const port = opensLater ? config.port : await listen(endpointServer, config.port, config.host)
      const scheme = tls ? 'https' : 'http'
      const endpointUrl = reachableUrl(config.host, port, config.endpointPath, scheme)
      downtime.attach(endpointServer, { port, host: config.host })
      if (isDown(startup)) downtime.start(startup.durationMs)
      const adminPort = config.adminPort === 'off' ? undefined : await openAdmin(config.adminPort, port)
      urls = {
        endpoint: endpointUrl,
        admin: adminPort === undefined ? undefined : reachableUrl(config.adminHost, adminPort, '/', scheme),
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
        store: { engine: store.engine, users: (await store.list({ offset: 0, limit: 0 })).total },
        state: state.engine,
        secret: file
          ? { source: 'file', file, created: created !== undefined }
          : { source: 'TALKI_SECRET', count: secrets.length },
        ...(tls ? { tls: describeTls(config, tls.material) } : {}),
        talkiTiming: config.talkiTiming,
      })
      const ready = { endpoint: urls.endpoint, admin: urls.admin ?? null }
      if (config.readyFile) await writeReadyFile(config.readyFile, ready)
      logger.info(ready, 'ready')
      return urls
    },
    async close() {
      // No longer ready from the moment it stops taking requests.
      if (config.readyFile && urls) await removeReadyFile(config.readyFile)
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
      await state.close()
    },
  }
}

/** Loaded only when TLS is on: a mock over plain HTTP never loads the certificate library. */
async function openTls(config: NonNullable<Config['tls']>, dataFile: string) {
  const servers = await import('./runtime/tls-server.js')
  return { servers, material: await servers.prepareTls(config, dataFile) }
}

function describeTls(config: Config, material: TlsMaterial): MockTls {
  if (config.tls?.source === 'files') {
    return { source: 'files', certFile: config.tls.certFile, caFile: undefined, created: false }
  }
  const { files, created } = material
  return { source: 'self-signed', certFile: files.certFile, caFile: files.caFile, created }
}

/** The users: in PostgreSQL when DATABASE_URL is set, else in the JSON file. */
async function openStore(config: Config, logger: Logger): Promise<UserStore> {
  if (config.databaseUrl === undefined) {
    return openJsonStore({ file: config.dataFile, seedFile: config.seedFile })
  }
  // Loaded only when used: the embedded default never loads pg.
  const { openPostgresStore } = await import('./users/postgres-users.js')
  return openPostgresStore({ ...config, url: config.databaseUrl, logger })
}

/** The simulation state: in Redis, shared by every replica with the same URL and prefix, when REDIS_URL is set. */
async function openState(
  config: Config,
  startup: Simulation | null,
  logger: Logger,
  onReopen: () => void,
): Promise<StateEngine> {
  if (config.redisUrl === undefined) return openMemoryState(startup, onReopen)
  // Loaded only when used: the embedded default never loads the Redis client.
  const { connectRedis } = await import('./state/redis/connect.js')
  const { openRedisState } = await import('./state/redis/state.js')
  return openRedisState({
    ...(await connectRedis(config.redisUrl, logger)),
    url: config.redisUrl,
    prefix: config.redisPrefix,
    replica: config.replicaId,
    startup,
    timeoutMs: config.lookupTimeoutMs,
    logger,
    onReopen,
  })
}

async function flush(store: UserStore, logger: Logger): Promise<void> {
  try {
    await store.flush()
    await store.close?.()
  } catch (error) {
    logger.error({ err: error }, 'could not flush the store')
  }
}
