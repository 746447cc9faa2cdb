import { type DestinationStream, type Logger, pino } from 'pino'

export type { Logger }

// Request lines carry the token, status, latency and scenario. The secret, the signature and the admin
// token are never passed to the logger; the redaction is a second line of defence.
const REDACT = ['secret', 'secrets', 'signature', 'authorization', 'adminToken']

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: undefined, redact: { paths: REDACT, censor: '[redacted]' } }
  // Synchronous writes to stdout: a line is out before the next one, nothing is lost on a crash, and a
  // closed pipe (`npm start | head`) cannot block the exit — pino's asynchronous default waits forever
  // for a flush that a broken pipe never finishes.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: true }))
}
