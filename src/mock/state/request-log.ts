import { z } from 'zod'
import { VERDICTS } from '../../template/protocol.js'

// What QA reads to check Talki from this side: every POST to the endpoint, newest first, in a bounded
// ring, and pushed to subscribers (the SSE stream) as each request completes. An entry is written when the
// exchange ends: the answer sent, the connection cut by a scenario, or the caller gone (Talki giving up
// after 5 s writes it then, not when a slow answer would have been ready).

export const FindingsSchema = z
  .object({
    trailingNewlineAdded: z.boolean(),
    trailingNewlineRemoved: z.boolean(),
    reserialized: z.boolean(),
    secretWhitespace: z.boolean(),
  })
  .meta({ id: 'SignatureFindings' })
export type Findings = z.infer<typeof FindingsSchema>

export const RequestLogEntrySchema = z
  .object({
    id: z.number().int(),
    time: z.string().describe('ISO time the request arrived'),
    method: z.string().describe('the HTTP method'),
    path: z.string().describe('the path the request named, without its query'),
    headerNames: z
      .array(z.string())
      .describe('the names of the headers sent, lower-case, in the order sent (never their values)'),
    bodyBytes: z
      .number()
      .int()
      .nullable()
      .describe('the size of the body read, in bytes (never the body); null when it was not read whole'),
    token: z.string().nullable(),
    verdict: z.enum(VERDICTS).nullable(),
    findings: FindingsSchema.nullable(),
    scenario: z.string().nullable(),
    status: z.number().int().nullable(),
    latencyMs: z.number(),
    callerGaveUpMs: z.number().nullable(),
    sincePreviousMs: z.number().nullable(),
    replica: z
      .string()
      .optional()
      .describe('REPLICA_ID of the replica that served it (present when the state is shared in Redis)'),
  })
  .meta({ id: 'RequestLogEntry' })
export type RequestLogEntry = z.infer<typeof RequestLogEntrySchema>

export type CompletedRequest = Omit<RequestLogEntry, 'id' | 'time' | 'sincePreviousMs' | 'replica'> & {
  /** performance.now() at arrival and at the end (answer sent, socket cut or caller gone). */
  startedAt: number
  endedAt: number
  /** Date.now() at arrival. */
  arrivedAt: number
}

const MAX_TRACKED_TOKENS = 10_000

/** The request log as the endpoint and the admin API use it: in the process (below) or in Redis. */
export interface RequestLogStore {
  record(request: CompletedRequest): void
  /** Newest first. */
  list(limit?: number): RequestLogEntry[] | Promise<RequestLogEntry[]>
  clear(): void | Promise<void>
  subscribe(subscriber: (entry: RequestLogEntry) => void): () => void
}

/** An entry as kept: the arrival time stays a number until someone reads it (an ISO string costs ~5 µs). */
type KeptEntry = Omit<RequestLogEntry, 'time'> & { arrivedAt: number }

function published(kept: KeptEntry): RequestLogEntry {
  return {
    id: kept.id,
    time: new Date(kept.arrivedAt).toISOString(),
    method: kept.method,
    path: kept.path,
    headerNames: kept.headerNames,
    bodyBytes: kept.bodyBytes,
    token: kept.token,
    verdict: kept.verdict,
    findings: kept.findings,
    scenario: kept.scenario,
    status: kept.status,
    latencyMs: kept.latencyMs,
    callerGaveUpMs: kept.callerGaveUpMs,
    sincePreviousMs: kept.sincePreviousMs,
  }
}

export class RequestLog implements RequestLogStore {
  readonly #capacity: number
  readonly #entries: KeptEntry[] = []
  #next = 0 // index of the oldest entry once the ring is full
  #id = 0
  readonly #lastEndedAt = new Map<string, number>()
  readonly #subscribers = new Set<(entry: RequestLogEntry) => void>()

  constructor(capacity = 1000) {
    this.#capacity = capacity
  }

  record(request: CompletedRequest): void {
    const { token } = request
    let sincePreviousMs: number | null = null
    if (token !== null) {
      const previous = this.#lastEndedAt.get(token)
      if (previous !== undefined) {
        sincePreviousMs = Math.round(request.startedAt - previous)
        this.#lastEndedAt.delete(token) // re-inserted below, so the map stays in least-recently-used order
      } else if (this.#lastEndedAt.size >= MAX_TRACKED_TOKENS) {
        const oldest = this.#lastEndedAt.keys().next().value
        if (oldest !== undefined) this.#lastEndedAt.delete(oldest)
      }
      this.#lastEndedAt.set(token, request.endedAt)
    }
    const entry: KeptEntry = {
      id: ++this.#id,
      arrivedAt: request.arrivedAt,
      method: request.method,
      path: request.path,
      headerNames: request.headerNames,
      bodyBytes: request.bodyBytes,
      token,
      verdict: request.verdict,
      findings: request.findings,
      scenario: request.scenario,
      status: request.status,
      latencyMs: request.latencyMs,
      callerGaveUpMs: request.callerGaveUpMs,
      sincePreviousMs,
    }
    if (this.#entries.length < this.#capacity) this.#entries.push(entry)
    else {
      this.#entries[this.#next] = entry
      this.#next = (this.#next + 1) % this.#capacity
    }
    if (this.#subscribers.size === 0) return
    const shown = published(entry)
    for (const subscriber of this.#subscribers) subscriber(shown)
  }

  /** Newest first. */
  list(limit = 100): RequestLogEntry[] {
    const ordered = [...this.#entries.slice(this.#next), ...this.#entries.slice(0, this.#next)]
    return ordered.reverse().slice(0, limit).map(published)
  }

  clear(): void {
    this.#entries.length = 0
    this.#next = 0
    this.#lastEndedAt.clear()
  }

  subscribe(subscriber: (entry: RequestLogEntry) => void): () => void {
    this.#subscribers.add(subscriber)
    return () => this.#subscribers.delete(subscriber)
  }
}
