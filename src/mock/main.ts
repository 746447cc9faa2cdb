#!/usr/bin/env node
import { sign } from '../template/signature.js'
import { ConfigError, loadConfig } from './runtime/config.js'
import { createServerLogger } from './runtime/log.js'
import { EngineStartError } from './runtime/readiness.js'
import { createMock } from './server.js'
import { StoreError } from './users/store.js'

// The process entry and the only file with top-level effects: read the configuration, start the mock
// (src/mock/server.ts composes it), and stop it cleanly on SIGTERM/SIGINT with the right exit code.

async function main(): Promise<void> {
  const config = loadConfig()
  const logger = await createServerLogger(config.logLevel, config.logFormat)
  // A crash ends with its error as the last line: the logger's exit hook writes every line still waiting
  // (runtime/log.ts), so no request line is lost, and the exit code is 1 as without the handlers.
  const crash = (msg: string) => (error: unknown) => {
    logger.fatal({ err: error }, msg)
    process.exit(1)
  }
  process.on('uncaughtException', crash('uncaught exception'))
  process.on('unhandledRejection', crash('unhandled rejection'))
  const mock = await createMock(config, logger)
  const urls = await mock.listen()
  const { created, file } = mock.secret
  const caFile = mock.tls?.caFile
  const cacert = caFile ? `--cacert ${caFile} ` : ''
  // Printed once the ports are known, so the example request names the real one (PORT=0 picks it).
  if (created && file) {
    logger.flush()
    const body = `{"${config.tokenField}":"usr_abc123"}`
    process.stdout.write(
      `\nCreated a development signing secret in ${file} (shown once; set TALKI_SECRET to use your own):\n` +
        `  ${created}\nTry the vendor page's example request:\n` +
        `  curl -s ${cacert}${urls.endpoint} -H 'Content-Type: application/json' -H 'X-Talki-Signature: ${sign(created, body)}' -d '${body}'\n\n`,
    )
  }
  // TLS=self-signed: every start says which CA to trust (it is no secret), with a request that uses it.
  if (caFile) {
    logger.flush()
    const check = urls.admin ? `${urls.admin}healthz` : `-X POST ${urls.endpoint}`
    process.stdout.write(
      `\nHTTPS with a local certificate authority${mock.tls?.created ? ' (created now)' : ''}: trust ${caFile} in your clients:\n` +
        `  curl ${cacert}${check}\n` +
        `  npx talki-endpoint check --ca ${caFile} --url ${urls.endpoint} --token usr_abc123\n\n`,
    )
  }

  let stopping = false
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    stopping = true
    logger.info({ signal, inFlight: mock.inFlight() }, 'shutting down: draining requests')
    await mock.close()
    logger.info({ inFlight: mock.inFlight() }, 'stopped')
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((error: unknown) => {
  // A bad configuration or store file stops the start with one line that names it.
  if (error instanceof ConfigError || error instanceof StoreError || error instanceof EngineStartError)
    process.stderr.write(`${(error as Error).message}\n`)
  else process.stderr.write(`Cannot start: ${(error as Error).stack ?? String(error)}\n`)
  process.exit(1)
})
