import {
  actsOnConnections,
  fillDefaults,
  isDown,
  isTlsFault,
  type PlainScenario,
  type Sequence,
  type Simulation,
  type SimulationSpec,
  type TlsFault,
} from './scenarios.js'

/** What the chooser reads of a stored user: only the user's own scenario (src/mock/users/record.ts). */
export interface UserWithScenario {
  readonly simulate?: SimulationSpec | undefined
}

// Picks the scenario for one request (README: QA guide). Pure: time and randomness come from the input, and
// the only thing it changes is the state object it is given (override count, sequence cursors).

export type Source = 'override' | 'startup' | 'user'
export interface Override {
  simulation: Simulation
  count?: number
  probability?: number
  /** Requests left when `count` was given, else null. */
  remaining: number | null
  /** Bumps on every setOverride, so a new override starts its sequences fresh. */
  generation: number
}
export interface SimulationState {
  override: Override | null
  /** From SIMULATE. */
  startup: Simulation | null
  /** Sequence positions, keyed by source, override generation, window and token (see cursorKey). */
  cursors: Map<string, { index: number; lastAt: number }>
  generation: number
}
export type ChosenScenario = PlainScenario | { scenario: 'down'; durationMs: number }
/** null: no scenario, answer normally. */
export type Decision = { scenario: ChosenScenario; source: Source } | null

/** Past this many cursors, the next new one triggers a sweep. */
export const MAX_CURSORS = 10_000
// A sweep goes down to this, so the next one is at least MAX_CURSORS - CURSORS_AFTER_SWEEP new
// cursors away: the O(n) sweep stays amortised even under a flood of random tokens.
export const CURSORS_AFTER_SWEEP = 9_000

export function createSimulationState(startup: Simulation | null): SimulationState {
  return { override: null, startup, cursors: new Map(), generation: 0 }
}

export function setOverride(
  state: SimulationState,
  override: { simulation: Simulation; count?: number; probability?: number },
): Override {
  state.generation += 1
  const next: Override = {
    simulation: override.simulation,
    ...(override.count === undefined ? {} : { count: override.count }),
    ...(override.probability === undefined ? {} : { probability: override.probability }),
    remaining: override.count ?? null,
    generation: state.generation,
  }
  state.override = next
  return next
}

export function clearOverride(state: SimulationState): void {
  state.override = null
}

/** A global `down` clears itself when the endpoint port reopens. */
export function clearDownOverride(state: SimulationState): void {
  if (isDown(state.override?.simulation)) clearOverride(state)
}

/** POST /api/reset: no override and every sequence back at its start. */
export function resetSimulation(state: SimulationState): void {
  state.override = null
  state.cursors.clear()
}

/** One request as the chooser sees it, whichever engine keeps the state (src/mock/state/engine.ts). */
export interface DecideInput {
  token: string
  user: UserWithScenario | undefined
  now: number
  random: () => number
}

/** What the chooser needs before the user is looked up: the override and SIMULATE do not read the user. */
export type BeforeUserInput = Omit<DecideInput, 'user'>

/** chooseBeforeUser's answer when neither the override nor SIMULATE decides: the user's own scenario does. */
export const USER_STEP = Symbol('userStep')
export type FirstDecision = Exclude<Decision, null> | typeof USER_STEP

export function chooseScenario(input: DecideInput, state: SimulationState): Decision {
  const first = chooseBeforeUser(input, state)
  return first === USER_STEP ? chooseForUser(input, state) : first
}

/**
 * The override's or SIMULATE's scenario, chosen before the user is looked up (their order: the override,
 * then SIMULATE, then the user's own); USER_STEP when neither applies. Whatever it changes (a count, a
 * sequence's position, the random draw of a probability) is done once: chooseForUser only goes on.
 */
export function chooseBeforeUser(input: BeforeUserInput, state: SimulationState): FirstDecision {
  const { token, now } = input
  const override = state.override
  // A global `down` is acted on when it is set, a TLS fault at each new connection, not per request:
  // neither is a scenario here. They take no probability, so no random number is drawn for them.
  if (override !== null && !actsOnConnections(override.simulation)) {
    if (override.probability === undefined || input.random() < override.probability) {
      if (override.remaining !== null) {
        override.remaining -= 1
        if (override.remaining <= 0) state.override = null
      }
      return {
        scenario: resolve(state, override.simulation, 'override', override.generation, token, now),
        source: 'override',
      }
    }
  }
  const startup = state.startup
  // SIMULATE=down is handled at start (the port opens late), a TLS fault at the handshake: not per request.
  if (startup !== null && !actsOnConnections(startup)) {
    return { scenario: resolve(state, startup, 'startup', 0, token, now), source: 'startup' }
  }
  return USER_STEP
}

/** The user's own scenario, after chooseBeforeUser answered USER_STEP. */
export function chooseForUser(input: DecideInput, state: SimulationState): Decision {
  const { token, user, now } = input
  if (user !== undefined) {
    const simulation = userSimulation(user)
    if (simulation !== null) {
      return { scenario: resolve(state, simulation, 'user', 0, token, now), source: 'user' }
    }
  }
  return null
}

/**
 * Whether the answer is the stored user's (the profile, or 404 when there is none): `ok`, `slow`,
 * `malformed`, `wrong_shape`. The others answer alike for every user, so their request needs no lookup.
 */
export function answersWithUser(scenario: ChosenScenario): boolean {
  const name = scenario.scenario
  return name === 'ok' || name === 'slow' || name === 'malformed' || name === 'wrong_shape'
}

/**
 * The TLS fault new connections get: the override's when one is set (an override replaces SIMULATE's
 * scenario, so a non-TLS override means none), else SIMULATE's; null for a good handshake.
 */
export function tlsFaultOf(state: Pick<SimulationState, 'override' | 'startup'>): TlsFault | null {
  const simulation = state.override === null ? state.startup : state.override.simulation
  return isTlsFault(simulation) ? simulation : null
}

/** The user's own `simulate`, defaults filled, or null. */
export function userSimulation(user: UserWithScenario): Simulation | null {
  return user.simulate === undefined ? null : fillDefaults(user.simulate)
}

/** The sequence a stateful scenario steps through (a sequence, or `flaky` as [failWith, ok]); else null. */
export function asSequence(simulation: Simulation): Sequence | null {
  if ('sequence' in simulation) return simulation
  if (simulation.scenario === 'flaky') {
    return { sequence: [simulation.failWith, { scenario: 'ok' }], windowMs: simulation.windowMs }
  }
  return null
}

function resolve(
  state: SimulationState,
  simulation: Simulation,
  source: Source,
  generation: number,
  token: string,
  now: number,
): ChosenScenario {
  const sequence = asSequence(simulation)
  if (sequence === null) return simulation as ChosenScenario
  return step(state.cursors, cursorKey(source, generation, sequence.windowMs, token), sequence, now)
}

// The window is part of the key so a sweep knows when each cursor has expired without looking up
// where it came from. The token goes last: it may itself contain ':'.
export function cursorKey(source: Source, generation: number, windowMs: number, token: string): string {
  return `${source}:${generation}:${windowMs}:${token}`
}

function windowOf(key: string): number {
  return Number(key.split(':', 3)[2])
}

function step(
  cursors: SimulationState['cursors'],
  key: string,
  sequence: Sequence,
  now: number,
): PlainScenario {
  const last = sequence.sequence.length - 1
  let index = 0
  const cursor = cursors.get(key)
  if (cursor !== undefined) {
    // Rewind once a full window has passed without a request: a gap of exactly windowMs rewinds,
    // so windowMs 0 always gives the first item.
    if (now - cursor.lastAt < sequence.windowMs) index = Math.min(cursor.index + 1, last)
    // Re-inserted so the map stays in least-recently-used order for the sweep.
    cursors.delete(key)
  }
  cursors.set(key, { index, lastAt: now })
  if (cursors.size > MAX_CURSORS) sweep(cursors, now)
  return sequence.sequence[index] ?? { scenario: 'ok' }
}

function sweep(cursors: SimulationState['cursors'], now: number): void {
  for (const [key, cursor] of cursors) {
    if (now - cursor.lastAt >= windowOf(key)) cursors.delete(key)
  }
  // Still crowded with live cursors (many tokens inside their windows): the least recently used
  // go, and their tokens start their sequences again. The cursor just set is the newest and stays.
  for (const key of cursors.keys()) {
    if (cursors.size <= CURSORS_AFTER_SWEEP) break
    cursors.delete(key)
  }
}
