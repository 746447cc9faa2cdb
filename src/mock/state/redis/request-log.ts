import type { Logger } from '../../runtime/log.js'
import { within } from '../../runtime/readiness.js'
import type { CompletedRequest, RequestLogEntry, RequestLogStore } from '../request-log.js'
import type { Redis } from './connect.js'
import { APPEND_LOG, run, unlinkPrefixed } from './scripts.js'

// The request log shared by every replica: a capped Redis list, newest first. Entries are written in
// batches (whatever completed while the previous write was on its way: one round trip per batch, not per
// request), and each batch is published so every replica's live stream shows every replica's requests.

/** How long Redis remembers when a token's last request ended (for sincePreviousMs). */
const LAST_ENDED_TTL_MS = 3_600_000
const MAX_BATCH = 500
const RETRY_MS = 500

export interface RedisLogKeys {
  list: string
  id: string
  lastEnded: string
  channel: string
}

export class RedisRequestLog implements RequestLogStore {
  readonly #redis: Redis
  readonly #keys: RedisLogKeys
  readonly #replica: string
  readonly #capacity: number
  readonly #timeoutMs: number
  readonly #logger: Logger
  /** Four arguments per entry waiting to be written (see APPEND_LOG). */
  #pending: string[] = []
  #writing: Promise<void> | undefined
  #retry: NodeJS.Timeout | undefined
  readonly #subscribers = new Set<(entry: RequestLogEntry) => void>()

  constructor(options: {
    redis: Redis
    keys: RedisLogKeys
    replica: string
    timeoutMs: number
    logger: Logger
    capacity?: number
  }) {
    this.#redis = options.redis
    this.#keys = options.keys
    this.#replica = options.replica
    this.#timeoutMs = options.timeoutMs
    this.#logger = options.logger
    this.#capacity = options.capacity ?? 1000
  }

  record(request: CompletedRequest): void {
    const tail = JSON.stringify({
      time: new Date(request.arrivedAt).toISOString(),
      method: request.method,
      path: request.path,
      headerNames: request.headerNames,
      bodyBytes: request.bodyBytes,
      token: request.token,
      verdict: request.verdict,
      findings: request.findings,
      scenario: request.scenario,
      status: request.status,
      latencyMs: request.latencyMs,
      callerGaveUpMs: request.callerGaveUpMs,
      replica: this.#replica,
    }).slice(1)
    const endedAt = request.arrivedAt + (request.endedAt - request.startedAt)
    this.#pending.push(request.token ?? '', String(request.arrivedAt), String(Math.round(endedAt)), tail)
    // While Redis is away the newest entries are kept, up to the log's own size.
    if (this.#pending.length > this.#capacity * 4)
      this.#pending.splice(0, this.#pending.length - this.#capacity * 4)
    if (this.#writing === undefined && this.#retry === undefined) this.#writing = this.#write()
  }

  /** Resolves when every entry recorded so far is in Redis (or its write failed). */
  async flush(): Promise<void> {
    while (this.#writing !== undefined) await this.#writing
  }

  async #write(): Promise<void> {
    // Entries recorded in the same turn of the event loop go in one batch.
    await new Promise((resolve) => setImmediate(resolve))
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, MAX_BATCH * 4)
      const { list, id, lastEnded, channel } = this.#keys
      try {
        await within(
          run(
            this.#redis,
            APPEND_LOG,
            [list, id],
            [String(this.#capacity), channel, lastEnded, String(LAST_ENDED_TTL_MS), ...batch],
          ),
          this.#timeoutMs,
          'redis',
        )
      } catch {
        this.#pending.unshift(...batch)
        this.#retry = setTimeout(() => {
          this.#retry = undefined
          if (this.#writing === undefined && this.#pending.length > 0) this.#writing = this.#write()
        }, RETRY_MS)
        this.#retry.unref()
        break
      }
    }
    this.#writing = undefined
  }

  async list(limit = 100): Promise<RequestLogEntry[]> {
    await this.flush()
    const lines = await within(this.#redis.lRange(this.#keys.list, 0, limit - 1), this.#timeoutMs, 'redis')
    return lines.map((line) => JSON.parse(line) as RequestLogEntry)
  }

  /** Empties the shared log and forgets when each token's last request ended, as the embedded log does. */
  async clear(): Promise<void> {
    this.#pending = []
    const redis = this.#redis
    await within(
      Promise.all([redis.del(this.#keys.list), unlinkPrefixed(redis, this.#keys.lastEnded)]),
      this.#timeoutMs,
      'redis',
    )
  }

  subscribe(subscriber: (entry: RequestLogEntry) => void): () => void {
    this.#subscribers.add(subscriber)
    return () => this.#subscribers.delete(subscriber)
  }

  /** A batch published by any replica (this one included). */
  published(message: string): void {
    if (this.#subscribers.size === 0) return
    let entries: RequestLogEntry[]
    try {
      entries = JSON.parse(message) as RequestLogEntry[]
    } catch (error) {
      this.#logger.warn({ reason: (error as Error).message }, 'unreadable request-log batch from redis')
      return
    }
    for (const entry of entries) for (const subscriber of this.#subscribers) subscriber(entry)
  }
}
