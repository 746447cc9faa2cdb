import { ConfigError, type ExampleConfig, loadExampleConfig } from '../mock/runtime/config.js'
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

/** TLS_CERT/TLS_KEY as read by the configuration, or TLS=self-signed's certificate (made once, as the mock does). */
async function exampleTls(
  tls: ExampleConfig['tls'],
  dataFile: string,
): Promise<{ pem: { cert: string; key: string }; caFile?: string } | undefined> {
  if (tls === undefined) return undefined
  if (tls.source === 'files') return { pem: { cert: tls.cert, key: tls.key } }
  // Loaded only when used: an example over plain HTTP never loads the certificate library.
  const { ensureSelfSigned, LOCAL_HOSTS, tlsDirectory } = await import('../mock/runtime/tls-certs.js')
  const made = await ensureSelfSigned(tlsDirectory(dataFile), [...new Set([...LOCAL_HOSTS, ...tls.hosts])])
  return { pem: made.server, caFile: made.files.caFile }
}

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
  const tls = await exampleTls(config.tls, config.dataFile)
  const running = await start({
    tls: tls?.pem,
    secrets,
    store: users.store,
    tokenField: config.tokenField,
    lookupTimeoutMs: config.lookupTimeoutMs,
    bodyLimit: config.bodyLimit,
    path: config.endpointPath,
    port: config.port,
    host: config.host,
  })
  const url = reachableUrl(config.host, running.port, config.endpointPath, tls ? 'https' : 'http')
  const secretFrom = file === undefined ? 'TALKI_SECRET' : file
  process.stdout.write(
    `${name} example listening on ${url} (${users.description}; secret from ${secretFrom})\n` +
      (tls?.caFile ? `HTTPS: trust the local CA ${tls.caFile} (curl --cacert ${tls.caFile})\n` : ''),
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
