#!/usr/bin/env node
import { createServer, type Server } from 'node:http'
import { sign } from '../template/signature.js'
import { type Config, ConfigError, loadConfig } from './config.js'
import { createEndpointApp } from './endpoint.js'
import { createServerLogger, type Logger } from './log.js'
import { ensureSecret } from './secret.js'
import { createSharedState } from './shared-state.js'
import { fillDefaults, isDown } from './simulation/scenarios.js'
import { hostPort, logStartup } from './startup-log.js'
import { openJsonStore, StoreError, type UserStore } from './store.js'

// The composition root and the only file with top-level effects: read the configuration, open the
// store, start both servers, and stop them cleanly on SIGTERM/SIGINT.

const SERVER_OPTIONS = {
  // Slow or idle clients cannot pin sockets: the whole request must arrive within 15 s, its headers
  // within 10 s, and an idle kept-alive socket is closed after 5 s. Checked every second.
  requestTimeout: 15_000,
  headersTimeout: 10_000,
  keepAliveTimeout: 5_000,
  connectionsCheckingInterval: 1_000,
}

/** Listens, or throws a ConfigError naming the variable to change when the port or address is refused. */
function listen(
  server: Server,
  port: number,
  host: string,
  names: { port: string; host: string },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const refused = (error: NodeJS.ErrnoException) => reject(listenError(error, port, host, names))
    server.once('error', refused)
    server.listen(port, host, () => {
      server.off('error', refused)
      const address = server.address()
      resolve(typeof address === 'object' && address ? address.port : port)
    })
  })
}

function listenError(
  error: NodeJS.ErrnoException,
  port: number,
  host: string,
  names: { port: string; host: string },
): Error {
  const where = hostPort(host, port)
  switch (error.code) {
    case 'EADDRINUSE':
      return new ConfigError(
        `${names.port} ${port} is in use (${where}): stop what listens there, or set ${names.port}=<another port> (${names.port}=0 picks a free one)`,
      )
    case 'EACCES':
      return new ConfigError(
        `${names.port} ${port} needs privileges this process lacks (${where}): set ${names.port} to 1024 or above`,
      )
    case 'EADDRNOTAVAIL':
      return new ConfigError(
        `${names.host} ${host} is not an address of this machine: set ${names.host}=127.0.0.1 or 0.0.0.0`,
      )
    default:
      return error
  }
}

function reachableUrl(host: string, port: number, path: string): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  return `http://${shown}:${port}${path}`
}

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
  const store = await openJsonStore({ file: config.dataFile, seedFile: config.seedFile })

  const startup = config.simulate ? fillDefaults(config.simulate) : null
  // Not "endpoint listening" again: the server did not restart, its port reopened.
  const shared = createSharedState(startup, () =>
    logger.info({ url: endpointUrl }, 'endpoint back up after down'),
  )
  const { downtime, hanging } = shared

  // With ADMIN_PORT=0 nothing could read the request log, so none is kept.
  const requestLog = config.adminPort === 0 ? undefined : shared.requestLog
  const endpoint = createEndpointApp({ ...config, ...shared, requestLog, secrets, store, logger })
  const endpointServer = createServer(SERVER_OPTIONS, endpoint)
  let inFlight = 0
  let drained: () => void = () => {}
  endpointServer.on('request', (_req, res) => {
    inFlight++
    res.once('close', () => {
      if (--inFlight === 0) drained()
    })
  })

  // SIMULATE=down:N on a fixed port: the port opens N ms after start (with PORT=0 it listens first, to
  // learn its port, and closes at once).
  const opensLater = isDown(startup) && config.port !== 0
  const port = opensLater
    ? config.port
    : await listen(endpointServer, config.port, config.host, { port: 'PORT', host: 'HOST' })
  const endpointUrl = reachableUrl(config.host, port, config.endpointPath)
  downtime.attach(endpointServer, { port, host: config.host })
  if (isDown(startup)) downtime.start(startup.durationMs)

  let adminServer: Server | undefined
  let adminPort = 0
  if (config.adminPort !== 0) {
    // Loaded only when enabled: with ADMIN_PORT=0 none of the admin code (OpenAPI, static files) is loaded.
    const { createAdminApp } = await import('./admin/app.js')
    const admin = createAdminApp({ ...config, ...shared, store, logger, endpointPort: port })
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
      engine: 'JSON file',
      where: config.dataFile,
      users: (await store.list({ offset: 0, limit: 0 })).total,
    },
    state: { engine: 'in memory (this process)' },
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
    logger.info({ inFlight }, 'stopped')
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

async function flush(store: UserStore, logger: Logger): Promise<void> {
  try {
    await store.flush()
  } catch (error) {
    logger.error({ err: error }, 'could not flush the store')
  }
}

main().catch((error: unknown) => {
  // A bad configuration or store file stops the start with one line that names it.
  if (error instanceof ConfigError || error instanceof StoreError)
    process.stderr.write(`${(error as Error).message}\n`)
  else process.stderr.write(`Cannot start: ${(error as Error).stack ?? String(error)}\n`)
  process.exit(1)
})
