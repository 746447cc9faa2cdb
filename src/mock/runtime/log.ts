import { writeSync } from 'node:fs'
import { type DestinationStream, type Logger, pino } from 'pino'

export type { Logger }

// Request lines carry the token, status, latency and scenario. The secret, the signature and the admin
// token are never passed to the logger; the redaction is a second line of defence.
const REDACT = ['secret', 'secrets', 'signature', 'authorization', 'adminToken']

/** The batch's size: when a line might not fit, what waits is written first. */
const BATCH_BYTES = 64 * 1024
/** Lines that come sooner than this after a write wait out the rest of it and go together (under load). */
const COALESCE_MS = 20
const EAGAIN_PAUSE = new Int32Array(new SharedArrayBuffer(4))

/**
 * Where the server's log lines go, written synchronously in batches, and whatever is left at exit. When
 * idle a line is out at the end of its turn of the event loop (a `setImmediate`); lines that come within
 * COALESCE_MS of the last write wait for the rest of that window and go together (a `setTimeout`), or as
 * soon as the 64 KiB batch is full. Under load a write then carries hundreds of requests' lines rather
 * than the few of one turn (bench/RESULTS.md). Synchronous, so nothing waits on an asynchronous flush at exit; a closed reader (`npm start | head`) drops the rest quietly —
 * sonic-boom's `flushSync` would retry EPIPE forever. A `kill -9` loses at most the last COALESCE_MS of
 * lines.
 */
export class BatchedLines implements DestinationStream {
  readonly #fd: number
  // Lines are encoded straight into one buffer, rather than joined into a string and encoded at flush.
  readonly #batch = Buffer.allocUnsafe(BATCH_BYTES)
  #size = 0
  #scheduled = false
  #closed = false
  #writeThrough = false
  #lastWriteAt = Number.NEGATIVE_INFINITY
  readonly #coalesceMs: number

  constructor(fd: number, coalesceMs = COALESCE_MS) {
    this.#fd = fd
    this.#coalesceMs = coalesceMs
  }

  write(line: string): void {
    if (this.#closed) return
    // UTF-8 takes at most 3 bytes per UTF-16 unit: a line that might not fit goes after what waits.
    if (this.#size + line.length * 3 > BATCH_BYTES) {
      this.flush()
      if (line.length * 3 > BATCH_BYTES) {
        this.#writeAll(Buffer.from(line))
        return
      }
    }
    this.#size += this.#batch.write(line, this.#size)
    if (this.#writeThrough) this.flush()
    else if (!this.#scheduled) {
      this.#scheduled = true
      const wait = this.#lastWriteAt + this.#coalesceMs - performance.now()
      if (wait <= 0) setImmediate(this.#endOfTurn)
      else setTimeout(this.#endOfTurn, Math.ceil(wait)).unref()
    }
  }

  /** Writes what is waiting now; pino's `logger.flush(cb)` lands here. */
  flush(done?: (error?: Error) => void): void {
    if (this.#size > 0 && !this.#closed) {
      this.#lastWriteAt = performance.now()
      this.#writeAll(this.#batch.subarray(0, this.#size))
    }
    this.#size = 0
    done?.()
  }

  /** At exit no later turn comes: what is waiting is written, and every line after it at once. */
  flushForExit(): void {
    this.#writeThrough = true
    this.flush()
  }

  readonly #endOfTurn = (): void => {
    this.#scheduled = false
    this.flush()
  }

  #writeAll(bytes: Buffer): void {
    let offset = 0
    while (offset < bytes.length) {
      try {
        offset += writeSync(this.#fd, bytes, offset)
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        // A non-blocking pipe that is full: wait for the reader, as a blocking write would.
        if (code === 'EAGAIN') Atomics.wait(EAGAIN_PAUSE, 0, 0, 1)
        else {
          // The reader is gone for good; anything else (a full disk) costs this batch only.
          if (code === 'EPIPE' || code === 'EBADF') this.#closed = true
          return
        }
      }
    }
  }
}

let stdout: BatchedLines | undefined

/** One for the process, so lines of every logger stay in order and one exit hook flushes them. */
function batchedStdout(): BatchedLines {
  if (stdout === undefined) {
    const lines = new BatchedLines(1)
    process.on('exit', () => lines.flushForExit())
    stdout = lines
  }
  return stdout
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: undefined, redact: { paths: REDACT, censor: '[redacted]' } }
  return pino(options, destination ?? batchedStdout())
}

/** What the endpoint logs of each request (never the body, the signature or the secret). */
export interface RequestLine {
  token: string | null
  status: number | null
  latencyMs: number
  scenario: string | null
}

/**
 * The per-request `request` line at `info`, or undefined when `logger` would drop it. The same line pino
 * writes (`{"level":30,"time":…,"token":…,"status":…,"latencyMs":…,"scenario":…,"msg":"request"}`) into the
 * same destination (so JSON and pretty output, order and the exit flush stay as for every other line),
 * built as one template string: its four fields are fixed and none is redacted, so pino's general path
 * (the redaction wrapper, the key walk, the serializers) is work this line does not need.
 */
export function requestLineWriter(logger: Logger): ((line: RequestLine) => void) | undefined {
  if (!logger.isLevelEnabled('info')) return undefined
  const destination = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym]
  if (destination === undefined) return (line) => logger.info(line, 'request')
  const level = logger.levels.values.info
  return ({ token, status, latencyMs, scenario }) => {
    destination.write(
      `{"level":${level},"time":${Date.now()},"token":${token === null ? 'null' : JSON.stringify(token)},` +
        `"status":${status},"latencyMs":${latencyMs},"scenario":${scenario === null ? 'null' : `"${scenario}"`},"msg":"request"}\n`,
    )
  }
}

export type LogFormat = 'json' | 'pretty'

/**
 * The server's logger on stdout: human-readable lines on a terminal, one JSON object per line when piped;
 * `format` (LOG_FORMAT) overrides the guess. pino-pretty is loaded only for pretty lines, and formats each
 * JSON line synchronously into the same batched writer, so order and the exit flush stay as for JSON.
 */
export async function createServerLogger(level: string, format: LogFormat | undefined): Promise<Logger> {
  if ((format ?? (process.stdout.isTTY ? 'pretty' : 'json')) === 'json') return createLogger(level)
  const { prettyFactory } = await import('pino-pretty')
  const prettify = prettyFactory({
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: HEADLINE_KEYS.join(','),
    messageFormat: headline,
  })
  const lines = batchedStdout()
  return createLogger(level, {
    write: (line: string) => lines.write(prettify(line)),
    flush: (done?: (error?: Error) => void) => lines.flush(done),
  } as DestinationStream)
}

/** Fields a pretty line reads as part of its message rather than as trailing JSON. */
const HEADLINE_KEYS = ['address', 'url', 'file', 'engine', 'users']

/** `endpoint listening on 0.0.0.0:3000 — http://127.0.0.1:3000/talki/customer`, from the line's fields. */
function headline(log: Record<string, unknown>, messageKey: string): string {
  const field = (key: string) => (typeof log[key] === 'string' ? (log[key] as string) : undefined)
  const address = field('address')
  const url = field('url')
  return [
    String(log[messageKey] ?? ''),
    field('engine'),
    address && `on ${address}`,
    url && (address ? `— ${url}` : url),
    field('file'),
    typeof log.users === 'number' && `(${log.users} users)`,
  ]
    .filter(Boolean)
    .join(' ')
}
