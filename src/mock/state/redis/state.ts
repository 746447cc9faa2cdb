import type { Socket } from 'node:net'
import type { Logger } from '../../runtime/log.js'
import { maskUrl } from '../../runtime/mask-url.js'
import { StoreUnavailable, within } from '../../runtime/readiness.js'
import {
  asSequence,
  type BeforeUserInput,
  type ChosenScenario,
  clearDownOverride,
  createSimulationState,
  cursorKey,
  type DecideInput,
  type Decision,
  type FirstDecision,
  type Override,
  type SimulationState,
  type Source,
  USER_STEP,
  userSimulation,
} from '../../simulation/choose.js'
import { actsOnConnections, isDown, type Simulation } from '../../simulation/scenarios.js'
import type { SimulationControl, SimulationView } from '../control.js'
import { Downtime } from '../downtime.js'
import type { StateEngine } from '../engine.js'
import type { Redis } from './connect.js'
import { RedisRequestLog } from './request-log.js'
import { CONSUME, run, SET_OVERRIDE, STEP, unlinkPrefixed } from './scripts.js'

// The simulation state shared by every replica through Redis (README "Replicas").
// - The override is read from a local copy, refreshed whenever any replica announces a change on the
//   events channel: a request with a plain override touches Redis not at all.
// - What must move atomically across replicas does so in one Lua script: a counted override's uses
//   (CONSUME) and a sequence's position per token (STEP).
// - A `down` is a key that expires when the downtime ends (a replica started meanwhile reads it) plus a
//   notice, so every replica closes its port; `up` reopens them all.
// Requests that need Redis (a counted override, a sequence or `flaky`) answer 503 store_unavailable
// while it is lost; the others are served from the local copy.

type Notice =
  | { type: 'override' }
  | { type: 'down'; durationMs: number; from: string }
  | { type: 'up'; from: string }

/** `decide` answers at once from the local copy, or after one Redis script; `ping` is Redis's PING. */
export interface RedisState extends StateEngine {
  requestLog: RedisRequestLog
  ping(): Promise<void>
}

const OK: ChosenScenario = { scenario: 'ok' }

export async function openRedisState(options: {
  /** REDIS_URL, to say where the state is (masked). */
  url: string
  commands: Redis
  subscriber: Redis
  prefix: string
  replica: string
  startup: Simulation | null
  timeoutMs: number
  logger: Logger
  onReopen?: () => void
}): Promise<RedisState> {
  const { commands, subscriber, prefix, replica, timeoutMs, logger } = options
  const keys = {
    override: `${prefix}override`,
    generation: `${prefix}generation`,
    down: `${prefix}down`,
    cursor: `${prefix}seq:`,
    lastEnded: `${prefix}last:`,
    events: `${prefix}events`,
  }
  const local: SimulationState = createSimulationState(options.startup)
  const localDowntime = new Downtime(() => {
    clearDownOverride(local)
    options.onReopen?.()
  })
  const requestLog = new RedisRequestLog({
    redis: commands,
    keys: {
      list: `${prefix}log`,
      id: `${prefix}log:id`,
      lastEnded: keys.lastEnded,
      channel: `${prefix}log:events`,
    },
    replica,
    timeoutMs,
    logger,
  })
  const ask = <T>(promise: Promise<T>): Promise<T> => within(promise, timeoutMs, 'redis')
  const notice = (n: Notice) => JSON.stringify(n)

  const refresh = async (): Promise<void> => {
    const fields = await ask(commands.hGetAll(keys.override))
    local.override = parseOverride(fields as Record<string, string>)
  }
  // Only at start and after a loss: a notice missed meanwhile. (Read on every override notice, it would
  // race the `up` that follows a DELETE and close the port again.)
  const refreshAll = async (): Promise<void> => {
    const [, downLeftMs] = await Promise.all([refresh(), ask(commands.pTTL(keys.down))])
    if (downLeftMs > 0 && !localDowntime.isDown) localDowntime.start(downLeftMs)
  }
  const warn = (error: unknown) => {
    logger.warn({ reason: (error as Error).message }, 'could not read the shared simulation state')
  }
  const refreshLater = () => void refresh().catch(warn)
  const refreshAllLater = () => void refreshAll().catch(warn)

  await subscriber.subscribe(keys.events, (message) => {
    let n: Notice
    try {
      n = JSON.parse(message) as Notice
    } catch {
      return
    }
    if (n.type === 'override') refreshLater()
    else if (n.from === replica) return
    else if (n.type === 'down') localDowntime.start(n.durationMs)
    else void localDowntime.end()
  })
  await subscriber.subscribe(`${prefix}log:events`, (message) => requestLog.published(message))
  // After a loss, whatever changed meanwhile (or a Redis restarted empty) is read again.
  commands.on('ready', refreshAllLater)
  subscriber.on('ready', refreshAllLater)
  await refresh()

  const downtime = {
    attach(...args: Parameters<Downtime['attach']>) {
      localDowntime.attach(...args)
      // A replica started during a shared `down` closes its port as soon as it has one.
      refreshAllLater()
    },
    cancel: localDowntime.cancel.bind(localDowntime),
    get isDown() {
      return localDowntime.isDown
    },
    start(durationMs: number) {
      localDowntime.start(durationMs)
      if (durationMs <= 0) return
      void ask(
        commands
          .multi()
          .set(keys.down, String(Date.now() + durationMs), { PX: durationMs })
          .publish(keys.events, notice({ type: 'down', durationMs, from: replica }))
          .exec(),
      ).catch(() => logger.warn('could not tell the other replicas about a down (redis unavailable)'))
    },
    async end() {
      await localDowntime.end()
      await ask(
        commands
          .multi()
          .del(keys.down)
          .publish(keys.events, notice({ type: 'up', from: replica }))
          .exec(),
      )
    },
  }

  const step = (simulation: Simulation, source: Source, generation: number, token: string) => {
    const sequence = asSequence(simulation)
    if (sequence === null) return { scenario: simulation as ChosenScenario, source }
    const key = keys.cursor + cursorKey(source, generation, sequence.windowMs, token)
    return ask(run(commands, STEP, [key], [String(sequence.windowMs)])).then((n) => {
      const index = Math.min(Number(n) - 1, sequence.sequence.length - 1)
      return { scenario: sequence.sequence[index] ?? OK, source }
    })
  }

  const startupStep = (input: BeforeUserInput): FirstDecision | Promise<FirstDecision> => {
    const startup = local.startup
    if (startup !== null && !actsOnConnections(startup)) return step(startup, 'startup', 0, input.token)
    return USER_STEP
  }

  const decideForUser = (input: DecideInput): Decision | Promise<Decision> => {
    const simulation = input.user === undefined ? null : userSimulation(input.user)
    return simulation === null ? null : step(simulation, 'user', 0, input.token)
  }

  // One script call at most: CONSUME also steps the override's sequence when it has one.
  const decideBeforeUser = (input: BeforeUserInput): FirstDecision | Promise<FirstDecision> => {
    const override = local.override
    if (override === null || actsOnConnections(override.simulation)) return startupStep(input)
    if (override.probability !== undefined && input.random() >= override.probability) {
      return startupStep(input)
    }
    if (override.remaining === null)
      return step(override.simulation, 'override', override.generation, input.token)
    if (!commands.isReady) return Promise.reject(new StoreUnavailable('redis'))
    const sequence = asSequence(override.simulation)
    const cursor =
      sequence === null
        ? []
        : [keys.cursor + cursorKey('override', override.generation, sequence.windowMs, input.token)]
    return ask(
      run(
        commands,
        CONSUME,
        [keys.override, ...cursor],
        [
          String(override.generation),
          keys.events,
          notice({ type: 'override' }),
          sequence === null ? '' : String(sequence.windowMs),
        ],
      ),
    ).then((n) => {
      if (Number(n) < 0) return startupStep(input)
      if (sequence === null) return { scenario: override.simulation as ChosenScenario, source: 'override' }
      const index = Math.min(Number(n) - 1, sequence.sequence.length - 1)
      return { scenario: sequence.sequence[index] ?? OK, source: 'override' }
    })
  }

  const decide = (input: DecideInput): Decision | Promise<Decision> => {
    const first = decideBeforeUser(input)
    if (first instanceof Promise) return first.then((d) => (d === USER_STEP ? decideForUser(input) : d))
    return first === USER_STEP ? decideForUser(input) : first
  }

  const shown = (): SimulationView => ({ ...local, downUntil: localDowntime.until })

  const control: SimulationControl = {
    async view() {
      await refresh()
      return shown()
    },
    async set(override) {
      if (!isDown(override.simulation) && isDown(local.override?.simulation)) await downtime.end()
      const spec = JSON.stringify({
        simulation: override.simulation,
        ...(override.count === undefined ? {} : { count: override.count }),
        ...(override.probability === undefined ? {} : { probability: override.probability }),
      })
      const expiresMs = isDown(override.simulation) ? Math.max(1, override.simulation.durationMs) : ''
      await ask(
        run(
          commands,
          SET_OVERRIDE,
          [keys.override, keys.generation],
          [
            spec,
            override.count === undefined ? '' : String(override.count),
            String(expiresMs),
            keys.events,
            notice({ type: 'override' }),
          ],
        ),
      )
      await refresh()
      if (isDown(override.simulation)) downtime.start(override.simulation.durationMs)
      return shown()
    },
    async clear() {
      await ask(
        commands
          .multi()
          .del(keys.override)
          .publish(keys.events, notice({ type: 'override' }))
          .exec(),
      )
      local.override = null
      await downtime.end()
    },
    async reset() {
      await ask(
        (async () => {
          await commands.del(keys.override)
          await unlinkPrefixed(commands, keys.cursor)
          await commands.publish(keys.events, notice({ type: 'override' }))
        })(),
      )
      local.override = null
      await requestLog.clear()
      await downtime.end()
    },
  }

  return {
    engine: {
      id: 'redis',
      label: 'Redis, shared by replicas',
      where: `${maskUrl(options.url)} (prefix ${prefix}, replica ${replica})`,
    },
    decide,
    decideBeforeUser,
    decideForUser,
    control,
    downtime,
    requestLog,
    hanging: new Set<Socket>(),
    simulation: local,
    async ping() {
      // Without its subscriber a replica would miss other replicas' changes: not ready either.
      if (!subscriber.isReady) throw new StoreUnavailable('redis')
      await ask(commands.ping())
    },
    async close() {
      await requestLog.flush()
      commands.destroy()
      subscriber.destroy()
    },
  }
}

function parseOverride(fields: Record<string, string>): Override | null {
  if (fields.spec === undefined) return null
  const spec = JSON.parse(fields.spec) as Pick<Override, 'simulation' | 'count' | 'probability'>
  return {
    ...spec,
    remaining: fields.remaining === undefined ? null : Number(fields.remaining),
    generation: Number(fields.generation),
  }
}
