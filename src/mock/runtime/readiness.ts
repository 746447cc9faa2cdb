import { z } from 'zod'
import {
  type Engine,
  STATE_ENGINES,
  type StateEngineId,
  USERS_ENGINES,
  type UsersEngineId,
} from './engine.js'

// GET /readyz and GET /api/engines: which engines this replica uses, and whether each one answers now.
// /healthz stays liveness (the process runs); readiness is what a load balancer should route on.

export const EnginesSchema = z
  .object({
    users: z.enum(USERS_ENGINES).describe('Where the users live: the JSON file or PostgreSQL'),
    state: z
      .enum(STATE_ENGINES)
      .describe('Where the simulation state and request log live: this process, or Redis (shared)'),
    replica: z.string().describe('REPLICA_ID: names this replica in the shared request log'),
    labels: z
      .object({ users: z.string(), state: z.string() })
      .describe("Each engine's name for people, as the start-up log writes it"),
  })
  .meta({ id: 'Engines' })
export type Engines = z.infer<typeof EnginesSchema>

export const ReadySchema = z.union([
  z.object({ ready: z.literal(true) }),
  z.object({
    ready: z.literal(false),
    failing: z.array(z.enum(['redis', 'database'])).describe('The engines that did not answer in time'),
  }),
])

export interface Readiness {
  engines: Engines
  /** Each check resolves when its engine answers; a rejection (or no answer in time) marks it failing. */
  checks: Partial<Record<'redis' | 'database', () => Promise<void>>>
  timeoutMs: number
}

/** What an engine opener hands back that readiness reads: its description, and a check when it has one. */
export interface Opened<Id extends string> {
  engine: Engine<Id>
  /** Rejects when the engine cannot be reached; absent: always ready (it lives in this process). */
  ping?(): Promise<void>
}

export function readinessOf(
  users: Opened<UsersEngineId>,
  state: Opened<StateEngineId>,
  options: { replica: string; timeoutMs: number },
): Readiness {
  // Bound here: a check is called on its own, away from the store or state it belongs to.
  const usersPing = users.ping?.bind(users)
  const statePing = state.ping?.bind(state)
  return {
    engines: {
      users: users.engine.id,
      state: state.engine.id,
      replica: options.replica,
      labels: { users: users.engine.label, state: state.engine.label },
    },
    checks: { ...(statePing ? { redis: statePing } : {}), ...(usersPing ? { database: usersPing } : {}) },
    timeoutMs: options.timeoutMs,
  }
}

export async function failingEngines(readiness: Readiness): Promise<string[]> {
  const results = await Promise.all(
    Object.entries(readiness.checks).map(([name, check]) =>
      within(Promise.resolve().then(check), readiness.timeoutMs, name).then(
        () => null,
        () => name,
      ),
    ),
  )
  return results.filter((name) => name !== null)
}

/** An engine (Redis, the database) did not answer: the API answers 503 `store_unavailable`, never 500. */
export class StoreUnavailable extends Error {
  constructor(engine: string) {
    super(`${engine} unavailable`)
  }
}

/** `promise`, or a StoreUnavailable once `ms` have passed: nothing waits on a lost engine for long. */
export function within<T>(promise: Promise<T>, ms: number, engine: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailable(engine)), ms)
  })
  return Promise.race([promise, late])
    .catch((error: unknown) => {
      throw error instanceof StoreUnavailable ? error : new StoreUnavailable(engine)
    })
    .finally(() => clearTimeout(timer))
}

/** An engine named in the environment could not be reached at start: one line, then exit 1. */
export class EngineStartError extends Error {}
