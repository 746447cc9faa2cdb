import type { Socket } from 'node:net'
import { clearDownOverride, createSimulationState, type SimulationState } from '../simulation/choose.js'
import type { Simulation } from '../simulation/scenarios.js'
import { Downtime } from './downtime.js'
import { RequestLog } from './request-log.js'

/** What the endpoint and the admin API share: one simulation, one request log, one downtime. */
export interface SharedState {
  simulation: SimulationState
  requestLog: RequestLog
  downtime: Downtime
  /** Sockets held open by `hang`, so a shutdown can cut them at once. */
  hanging: Set<Socket>
}

/**
 * `startup` is SIMULATE's scenario, if any. When a `down` ends, its override is cleared (the next request
 * is served again) and `onReopen` runs.
 */
export function createSharedState(startup: Simulation | null, onReopen?: () => void): SharedState {
  const simulation = createSimulationState(startup)
  const downtime = new Downtime(() => {
    clearDownOverride(simulation)
    onReopen?.()
  })
  return { simulation, requestLog: new RequestLog(), downtime, hanging: new Set<Socket>() }
}
