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

export type CompletedRequest = Omit<
  RequestLogEntry,
  'id' | 'time' | 'sincePreviousMs' | 'replica' | 'headerNames'
> & {
  /** Read only: the endpoint hands the same frozen list to every request that sent the same names. */
  headerNames: readonly string[]
  /** performance.now() at arrival and at the end (answer sent, socket cut or caller gone). */
  startedAt: number
  endedAt: number
  /** Date.now() at arrival. */
  arrivedAt: number
}

/**
 * Tokens whose last end is remembered for sincePreviousMs. Past this, the token first seen longest ago is
 * forgotten: an update keeps its key's place (insertion order), one hash lookup a request fewer than
 * moving it to the end as a least-recently-used order would.
 */
const MAX_TRACKED_TOKENS = 10_000

/** The request log as the endpoint and the admin API use it: in the process (below) or in Redis. */
export interface RequestLogStore {
  record(request: CompletedRequest): void
  /** Newest first. */
  list(limit?: number): RequestLogEntry[] | Promise<RequestLogEntry[]>
  clear(): void | Promise<void>
  subscribe(subscriber: (entry: RequestLogEntry) => void): () => void
}

/** A number column's null: every kept number is finite, so NaN can stand for "none". */
const NONE = Number.NaN
const orNone = (value: number | null) => (value === null ? NONE : value)
const orNull = (value: number) => (Number.isNaN(value) ? null : value)
const NO_NAMES: readonly string[] = []

/**
 * The ring, one column per field: numbers in typed arrays, strings and findings by reference. No object
 * is kept per request: a kept object lives long enough to be copied by the young generation's collector and
 * promoted, and the thousand-entry ring of objects cost about a tenth of a request's CPU under load
 * (docs/benchmarks.md). A slot's fields are overwritten in place as the ring turns.
 */
class Columns {
  readonly id: Float64Array
  readonly arrivedAt: Float64Array
  readonly bodyBytes: Float64Array
  readonly status: Float64Array
  readonly latencyMs: Float64Array
  readonly callerGaveUpMs: Float64Array
  readonly sincePreviousMs: Float64Array
  readonly method: string[]
  readonly path: string[]
  readonly headerNames: (readonly string[])[]
  readonly token: (string | null)[]
  readonly verdict: (RequestLogEntry['verdict'] | null)[]
  readonly findings: (Findings | null)[]
  readonly scenario: (string | null)[]

  constructor(capacity: number) {
    this.id = new Float64Array(capacity)
    this.arrivedAt = new Float64Array(capacity)
    this.bodyBytes = new Float64Array(capacity)
    this.status = new Float64Array(capacity)
    this.latencyMs = new Float64Array(capacity)
    this.callerGaveUpMs = new Float64Array(capacity)
    this.sincePreviousMs = new Float64Array(capacity)
    this.method = new Array(capacity).fill('')
    this.path = new Array(capacity).fill('')
    this.headerNames = new Array(capacity).fill(NO_NAMES)
    this.token = new Array(capacity).fill(null)
    this.verdict = new Array(capacity).fill(null)
    this.findings = new Array(capacity).fill(null)
    this.scenario = new Array(capacity).fill(null)
  }

  write(slot: number, id: number, request: CompletedRequest, sincePreviousMs: number | null): void {
    this.id[slot] = id
    this.arrivedAt[slot] = request.arrivedAt
    this.bodyBytes[slot] = orNone(request.bodyBytes)
    this.status[slot] = orNone(request.status)
    this.latencyMs[slot] = request.latencyMs
    this.callerGaveUpMs[slot] = orNone(request.callerGaveUpMs)
    this.sincePreviousMs[slot] = orNone(sincePreviousMs)
    this.method[slot] = request.method
    this.path[slot] = request.path
    this.headerNames[slot] = request.headerNames
    this.token[slot] = request.token
    this.verdict[slot] = request.verdict
    this.findings[slot] = request.findings
    this.scenario[slot] = request.scenario
  }

  /** The slot as the admin API shows it; the arrival time becomes an ISO string only now (~5 µs each). */
  read(slot: number): RequestLogEntry {
    return {
      id: this.id[slot] as number,
      time: new Date(this.arrivedAt[slot] as number).toISOString(),
      method: this.method[slot] as string,
      path: this.path[slot] as string,
      headerNames: [...(this.headerNames[slot] as readonly string[])],
      bodyBytes: orNull(this.bodyBytes[slot] as number),
      token: this.token[slot] ?? null,
      verdict: this.verdict[slot] ?? null,
      findings: this.findings[slot] ?? null,
      scenario: this.scenario[slot] ?? null,
      status: orNull(this.status[slot] as number),
      latencyMs: this.latencyMs[slot] as number,
      callerGaveUpMs: orNull(this.callerGaveUpMs[slot] as number),
      sincePreviousMs: orNull(this.sincePreviousMs[slot] as number),
    }
  }
}

export class RequestLog implements RequestLogStore {
  readonly #capacity: number
  #columns: Columns
  #size = 0
  #next = 0 // the slot the next entry goes in; once the ring is full, also its oldest entry
  #id = 0
  readonly #lastEndedAt = new Map<string, number>()
  readonly #subscribers = new Set<(entry: RequestLogEntry) => void>()

  constructor(capacity = 1000) {
    this.#capacity = capacity
    this.#columns = new Columns(capacity)
  }

  record(request: CompletedRequest): void {
    const { token } = request
    let sincePreviousMs: number | null = null
    if (token !== null) {
      const previous = this.#lastEndedAt.get(token)
      if (previous !== undefined) sincePreviousMs = Math.round(request.startedAt - previous)
      else if (this.#lastEndedAt.size >= MAX_TRACKED_TOKENS) {
        const oldest = this.#lastEndedAt.keys().next().value
        if (oldest !== undefined) this.#lastEndedAt.delete(oldest)
      }
      this.#lastEndedAt.set(token, request.endedAt)
    }
    const slot = this.#next
    this.#columns.write(slot, ++this.#id, request, sincePreviousMs)
    this.#next = (slot + 1) % this.#capacity
    if (this.#size < this.#capacity) this.#size += 1
    if (this.#subscribers.size === 0) return
    const shown = this.#columns.read(slot)
    for (const subscriber of this.#subscribers) subscriber(shown)
  }

  /** Newest first. */
  list(limit = 100): RequestLogEntry[] {
    const count = Math.min(limit, this.#size)
    const entries: RequestLogEntry[] = []
    for (let back = 1; back <= count; back += 1) {
      entries.push(this.#columns.read((this.#next - back + this.#capacity) % this.#capacity))
    }
    return entries
  }

  clear(): void {
    this.#columns = new Columns(this.#capacity) // cleared entries' tokens are not kept either
    this.#size = 0
    this.#next = 0
    this.#lastEndedAt.clear()
  }

  subscribe(subscriber: (entry: RequestLogEntry) => void): () => void {
    this.#subscribers.add(subscriber)
    return () => this.#subscribers.delete(subscriber)
  }
}
