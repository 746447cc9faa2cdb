import {
  clearOverride,
  type Override,
  resetSimulation,
  type SimulationState,
  setOverride,
} from '../simulation/choose.js'
import { isDown, type Simulation } from '../simulation/scenarios.js'
import type { Downtime } from './downtime.js'
import type { RequestLogStore } from './request-log.js'

// What the admin API does to the simulation, whichever engine keeps it: the process (below) or Redis
// (src/mock/state/redis/state.ts), where every replica sharing it sees the change.

export interface SimulationView {
  override: Override | null
  startup: Simulation | null
  /** When the endpoint port reopens (ms since the epoch), whatever closed it; null while it is open. */
  downUntil: number | null
}

export type OverrideInput = { simulation: Simulation; count?: number; probability?: number }

export interface SimulationControl {
  view(): SimulationView | Promise<SimulationView>
  /** Replacing a global `down` ends it; a new `down` closes the port (on every replica sharing the state). */
  set(override: OverrideInput): Promise<SimulationView>
  /** No override; a `down` in progress ends. */
  clear(): Promise<void>
  /** No override, every sequence back at its start, an empty request log, no downtime. */
  reset(): Promise<void>
}

export function localControl(
  simulation: SimulationState,
  downtime: Pick<Downtime, 'start' | 'end' | 'until'>,
  requestLog: Pick<RequestLogStore, 'clear'>,
): SimulationControl {
  const view = (): SimulationView => ({
    override: simulation.override,
    startup: simulation.startup,
    downUntil: downtime.until,
  })
  return {
    view,
    async set(override) {
      const nextIsDown = isDown(override.simulation)
      // A new `down` needs no reopening: start() moves the end of the one in progress.
      if (!nextIsDown && isDown(simulation.override?.simulation)) await downtime.end()
      setOverride(simulation, override)
      if (isDown(override.simulation)) downtime.start(override.simulation.durationMs)
      return view()
    },
    async clear() {
      clearOverride(simulation)
      await downtime.end()
    },
    async reset() {
      resetSimulation(simulation)
      await requestLog.clear()
      await downtime.end()
    },
  }
}
