import { ConfigError, loadExampleConfig } from '../mock/runtime/config.js'
import { reachableUrl } from '../mock/runtime/listen.js'
import { ensureSecret } from '../mock/runtime/secret.js'
import { StoreError } from '../mock/users/store.js'
import { startExpress } from './express.js'
import { startFastify } from './fastify.js'
import { startNodeHttp } from './node-http.js'
import type { StartExample } from './serve.js'
import { openExampleStore } from './store.js'
import { startWeb } from './web.js'

// `npm run example -- NAME`: one adapter of src/template/ served on its own, configured like the server
// (PORT default 5055, ENDPOINT_PATH, TALKI_SECRET else data/.secret, BODY_LIMIT, LOOKUP_TIMEOUT_MS).

const EXAMPLES: Record<string, StartExample> = {
  express: startExpress,
  fastify: startFastify,
  'node-http': startNodeHttp,
  web: startWeb,
}
/** How long a stopping example lets in-flight requests finish. */
const GRACE_MS = 5000

async function main(): Promise<void> {
  const name = process.argv[2] ?? ''
  const start = Object.hasOwn(EXAMPLES, name) ? EXAMPLES[name] : undefined
  if (start === undefined || process.argv.length > 3) {
    process.stderr.write(`usage: npm run example -- ${Object.keys(EXAMPLES).join('|')}\n`)
    process.exit(2)
  }
  const config = loadExampleConfig()
  const { secrets, file } = await ensureSecret(config)
  const users = await openExampleStore(config)
  const running = await start({
    secrets,
    store: users.store,
    tokenField: config.tokenField,
    lookupTimeoutMs: config.lookupTimeoutMs,
    bodyLimit: config.bodyLimit,
    path: config.endpointPath,
    port: config.port,
    host: config.host,
  })
  const url = reachableUrl(config.host, running.port, config.endpointPath)
  const secretFrom = file === undefined ? 'TALKI_SECRET' : file
  process.stdout.write(
    `${name} example listening on ${url} (${users.description}; secret from ${secretFrom})\n`,
  )

  let stopping = false
  const stop = async () => {
    if (stopping) process.exit(1)
    stopping = true
    await running.close(GRACE_MS)
    await users.close()
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof StoreError) process.stderr.write(`${error.message}\n`)
  else process.stderr.write(`Cannot start: ${(error as Error).message ?? String(error)}\n`)
  process.exit(1)
})
