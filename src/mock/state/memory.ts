import type { Socket } from 'node:net'
import {
  chooseBeforeUser,
  chooseForUser,
  chooseScenario,
  clearDownOverride,
  createSimulationState,
  type SimulationState,
} from '../simulation/choose.js'
import type { Simulation } from '../simulation/scenarios.js'
import { localControl } from './control.js'
import { Downtime } from './downtime.js'
import type { StateEngine } from './engine.js'
import { RequestLog } from './request-log.js'

/** The state in this process (the default): one replica, nothing shared. Its parts stay reachable for tests. */
export interface MemoryState extends StateEngine {
  simulation: SimulationState
  requestLog: RequestLog
  downtime: Downtime
}

/**
 * `startup` is SIMULATE's scenario, if any. When a `down` ends, its override is cleared (the next request
 * is served again) and `onReopen` runs.
 */
export function openMemoryState(startup: Simulation | null, onReopen?: () => void): MemoryState {
  const simulation = createSimulationState(startup)
  const downtime = new Downtime(() => {
    clearDownOverride(simulation)
    onReopen?.()
  })
  const requestLog = new RequestLog()
  return {
    engine: { id: 'memory', label: 'in memory (this process)', where: undefined },
    simulation,
    decide: (input) => chooseScenario(input, simulation),
    decideBeforeUser: (input) => chooseBeforeUser(input, simulation),
    decideForUser: (input) => chooseForUser(input, simulation),
    control: localControl(simulation, downtime, requestLog),
    downtime,
    requestLog,
    hanging: new Set<Socket>(),
    async close() {},
  }
}
