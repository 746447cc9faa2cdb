import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Profile } from '../../contract/profile.js'
import type { Outcome } from '../../template/customer-route.js'
import { respond, respondText } from '../runtime/respond.js'
import type { ChosenScenario } from '../simulation/choose.js'
import type { Downtime } from '../state/downtime.js'
import type { UserRecord } from '../users/record.js'

// Carries out a scenario on the wire. Some answers break the contract on purpose (malformed,
// wrong_shape); some send nothing at all (reset, hang, down).

export interface PerformDeps {
  downtime: Pick<Downtime, 'start'>
  /** Sockets held open by `hang`, so a shutdown can cut them at once. */
  hanging: Set<Socket>
  random: () => number
  /** performance.now() when the request arrived: a delay counts from then, not from when it was chosen. */
  startedAt: number
}

/** Marks a response whose socket the server cut on purpose, so it is not logged as the caller giving up. */
export const CUT_BY_SERVER = Symbol('cutByServer')
type Cuttable = ServerResponse & { [CUT_BY_SERVER]?: boolean }

const WRONG_SHAPE: Record<string, unknown> = {
  name: 'Wrong Shape',
  plan: 42,
  fields: { nested: { not: 'allowed' } },
}

function cut(res: Cuttable): void {
  res[CUT_BY_SERVER] = true
  // resetAndDestroy sends a TCP RST, so the caller sees ECONNRESET rather than a clean close.
  const socket = res.req.socket
  if (!socket.destroyed) socket.resetAndDestroy()
}

export function performScenario(
  scenario: ChosenScenario | null,
  outcome: Outcome<UserRecord>,
  res: ServerResponse,
  deps: PerformDeps,
): void {
  if (scenario === null) {
    respond(res, outcome)
    return
  }
  switch (scenario.scenario) {
    case 'ok':
      respond(res, outcome)
      return
    case 'slow': {
      const jitter = scenario.jitterMs === 0 ? 0 : Math.round((deps.random() * 2 - 1) * scenario.jitterMs)
      const answerAt = deps.startedAt + scenario.delayMs + jitter
      let timer: NodeJS.Timeout | undefined
      const answerWhenDue = (): void => {
        const remaining = answerAt - performance.now()
        // Node's timers run on the event loop's millisecond clock, read at the start of a turn, so one can
        // fire a little early; a delay is never shorter than asked.
        if (remaining > 0) timer = setTimeout(answerWhenDue, Math.ceil(remaining))
        else if (!res.destroyed) respond(res, outcome)
      }
      answerWhenDue()
      res.once('close', () => clearTimeout(timer))
      return
    }
    case 'not_found':
      respond(res, { status: 404, body: { error: 'user_not_found' } })
      return
    case 'unauthorized':
      respond(res, { status: 401, body: { error: 'invalid_signature' } })
      return
    case 'error':
      respond(res, { status: scenario.status, body: { error: 'simulated_error' } })
      return
    case 'reset':
      cut(res)
      return
    case 'down':
      cut(res)
      deps.downtime.start(scenario.durationMs)
      return
    case 'hang': {
      const socket = res.req.socket
      deps.hanging.add(socket)
      const timer = setTimeout(() => {
        ;(res as Cuttable)[CUT_BY_SERVER] = true
        socket.destroy()
      }, scenario.maxMs)
      socket.once('close', () => {
        clearTimeout(timer)
        deps.hanging.delete(socket)
      })
      return
    }
    case 'malformed': {
      // Valid JSON cut in half: a truncated document, with an honest Content-Length.
      const json = JSON.stringify(outcome.body)
      respondText(res, outcome.status, json.slice(0, Math.max(1, Math.floor(json.length / 2))))
      return
    }
    case 'wrong_shape': {
      const profile = outcome.status === 200 ? (outcome.body as Profile) : undefined
      const body = profile
        ? { ...profile, plan: 42, fields: { ...profile.fields, nested: { not: 'allowed' } } }
        : WRONG_SHAPE
      respond(res, { status: 200, body })
      return
    }
  }
}
