import type { Socket } from 'node:net'
import type { Engine, StateEngineId } from '../runtime/engine.js'
import type {
  BeforeUserInput,
  DecideInput,
  Decision,
  FirstDecision,
  SimulationState,
} from '../simulation/choose.js'
import type { SimulationControl } from './control.js'
import type { Downtime } from './downtime.js'
import type { RequestLogStore } from './request-log.js'

/**
 * Where the simulation state, the request log and the downtime live, whichever engine keeps them: this
 * process (memory.ts) or Redis, shared by replicas (redis/state.ts). The endpoint, the admin API and
 * src/mock/server.ts use only this shape and never ask which engine they have.
 */
export interface StateEngine {
  readonly engine: Engine<StateEngineId>
  /** Picks the scenario for one request: at once, or after one round trip to a shared engine. */
  decide(input: DecideInput): Decision | Promise<Decision>
  /**
   * `decide` in two steps, so that a request whose answer does not depend on the user is not looked up:
   * the override's or SIMULATE's scenario, or USER_STEP (src/mock/simulation/choose.ts)…
   */
  decideBeforeUser(input: BeforeUserInput): FirstDecision | Promise<FirstDecision>
  /** …then, after USER_STEP only, the user's own scenario. */
  decideForUser(input: DecideInput): Decision | Promise<Decision>
  /** What the admin API does to the simulation. */
  control: SimulationControl
  downtime: Pick<Downtime, 'start' | 'end' | 'isDown' | 'attach' | 'cancel'>
  requestLog: RequestLogStore
  /** This engine's copy of the override in force and SIMULATE's scenario, read as each TLS connection opens. */
  simulation: Pick<SimulationState, 'override' | 'startup'>
  /** Sockets held open by `hang`, so a shutdown can cut them at once. */
  hanging: Set<Socket>
  /** Rejects when the engine cannot be reached (readiness); absent: it lives in this process. */
  ping?(): Promise<void>
  /** Writes what is pending and lets the engine's connections go (at shutdown). */
  close(): Promise<void>
}
