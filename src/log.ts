import { type DestinationStream, type Logger, pino } from 'pino'

export type { Logger }

// Request lines carry the token, status, latency and scenario. The secret, the signature and the admin
// token are never passed to the logger; the redaction is a second line of defence.
const REDACT = ['secret', 'secrets', 'signature', 'authorization', 'adminToken', '*.secret', '*.signature']

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: undefined, redact: { paths: REDACT, censor: '[redacted]' } }
  return destination ? pino(options, destination) : pino(options)
}
