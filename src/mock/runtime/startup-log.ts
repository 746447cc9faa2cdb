import { describeTalkiTiming, TALKI_TIMINGS, type TalkiTiming } from '../../contract/talki-timing.js'
import type { Engine } from './engine.js'
import type { Logger } from './log.js'

// The first lines a person reads after `npm start`: where everything is and what holds the state. Each
// line's message stays fixed for machines (`endpoint listening`), its fields say the rest; pretty output
// reads them as one sentence (log.ts `headline`).

export interface Listening {
  /** What the socket is bound to, as given: `0.0.0.0:3000` listens on every interface. */
  address: string
  /** A URL that reaches it from this machine (127.0.0.1 for 0.0.0.0). */
  url: string
}

export interface StartupFacts {
  /** `down` when SIMULATE=down:N keeps the port closed at start. */
  endpoint: Listening & { downForMs?: number }
  admin: Listening | undefined
  /** The users' engine (its own description) and how many users it holds. */
  store: { engine: Engine; users: number }
  /** Where the simulation state, request log and downtime live. */
  state: Engine
  secret: { source: 'TALKI_SECRET'; count: number } | { source: 'file'; file: string; created: boolean }
  /** HTTPS on both ports: the certificate's file and, for TLS=self-signed, the local CA's. */
  tls?: { source: 'self-signed' | 'files'; certFile: string; caFile: string | undefined; created: boolean }
  /** Talki's timing the dashboard plays; named here when it is not Talki's own (TALKI_TIMING=demo). */
  talkiTiming?: TalkiTiming
}

export function logStartup(logger: Logger, facts: StartupFacts): void {
  const { endpoint, admin, store, state, secret, tls, talkiTiming } = facts
  if (endpoint.downForMs === undefined) {
    logger.info({ address: endpoint.address, url: endpoint.url }, 'endpoint listening')
  } else {
    logger.info(
      { address: endpoint.address, url: endpoint.url, durationMs: endpoint.downForMs },
      'endpoint down at start (SIMULATE)',
    )
  }
  if (admin) {
    logger.info({ address: admin.address, url: admin.url }, 'admin listening')
    logger.info({ url: admin.url }, 'dashboard')
  } else logger.info('admin API and dashboard off (ADMIN_PORT=off)')
  logger.info({ engine: store.engine.label, file: store.engine.where, users: store.users }, 'store:')
  logger.info({ engine: state.label, ...(state.where ? { file: state.where } : {}) }, 'state:')
  if (secret.source === 'file') {
    logger.info({ file: secret.file }, secret.created ? 'signing secret created in' : 'signing secret from')
  } else {
    logger.info({ count: secret.count }, 'signing secret from TALKI_SECRET (not shown)')
  }
  if (tls?.source === 'self-signed') {
    logger.info(
      { ca: tls.caFile, cert: tls.certFile },
      tls.created ? 'HTTPS: local CA created' : 'HTTPS: local CA from',
    )
  } else if (tls) logger.info({ cert: tls.certFile }, 'HTTPS: certificate from TLS_CERT')
  if (talkiTiming !== undefined && talkiTiming.timing !== 'real') {
    const { timeoutMs, retryDelayMs } = talkiTiming
    logger.info(
      { timing: talkiTiming.timing, timeoutMs, retryDelayMs },
      `TALKI_TIMING=${talkiTiming.timing}: ${describeTalkiTiming(talkiTiming)} (Talki's own: ${describeTalkiTiming(TALKI_TIMINGS.real)})`,
    )
  }
}
