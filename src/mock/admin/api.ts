import express, { type Request, type Response } from 'express'
import { z } from 'zod'
import { UserRecordSchema, UserTokenSchema } from '../contract.js'
import type { Logger } from '../log.js'
import type { Override, SimulationState } from '../simulation/choose.js'
import { localControl, type SimulationControl, type SimulationView } from '../simulation/control.js'
import type { Downtime } from '../simulation/downtime.js'
import { OverrideSpecSchema, SimulationSpecSchema, splitOverride } from '../simulation/scenarios.js'
import type { UserStore } from '../store.js'
import { RequestLogEntrySchema, type RequestLogStore } from './request-log.js'

// The admin API (README: Admin API). Every input (body, path token, query) goes through zod before anything is
// touched, so a refused request changes nothing. Tokens are only keys of the store's Map, never paths.

export type ApiDeps = {
  store: UserStore
  requestLog: RequestLogStore
  logger: Logger
  /** How often the SSE stream sends a comment so proxies and idle timers keep it open. */
  heartbeatMs?: number
} & (
  | { simulation: SimulationState; downtime: Pick<Downtime, 'start' | 'end' | 'isDown'> }
  /** The override kept elsewhere (Redis, shared by replicas): set and read through its engine. */
  | { control: SimulationControl }
)

/** PUT /api/users/:token: a user record whose `userToken` may be left out (the path names it). */
export const UserRecordInputSchema = UserRecordSchema.extend({ userToken: UserTokenSchema.optional() })

export const UserListQuerySchema = z.object({
  q: z.string().max(1000).optional(),
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
})

export const RequestListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100_000).default(100),
})

export const UserListSchema = z.object({
  total: z.number().int(),
  offset: z.number().int(),
  limit: z.number().int(),
  users: z.array(UserRecordSchema),
})

export const RequestListSchema = z.object({ requests: z.array(RequestLogEntrySchema) })

/** What GET and PUT /api/simulation answer; the scenarios are shown with every default filled. */
export const SimulationStateSchema = z.object({
  override: OverrideSpecSchema.nullable(),
  remaining: z.number().int().nullable().describe('Requests left when the override has a count'),
  startup: SimulationSpecSchema.nullable().describe('The scenario of SIMULATE, if set'),
})

export const ValidationErrorSchema = z.object({
  error: z.literal('invalid_request'),
  issues: z.array(
    z.looseObject({
      code: z.string(),
      path: z.array(z.union([z.string(), z.number()])),
      message: z.string(),
    }),
  ),
})

/** Thrown by the helpers below; the app's error handler turns it into the 400 answer. */
export class InvalidRequest extends Error {
  constructor(readonly issues: readonly z.core.$ZodIssue[]) {
    super('invalid_request')
  }
}

function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input)
  if (!result.success) throw new InvalidRequest(result.error.issues)
  return result.data
}

function tokenParam(req: Request): string {
  return parse(UserTokenSchema, req.params.token)
}

function simulationState(state: SimulationView): z.input<typeof SimulationStateSchema> {
  const override = state.override
  return {
    override: override === null ? null : showOverride(override),
    remaining: override?.remaining ?? null,
    startup: state.startup,
  }
}

function showOverride(override: Override) {
  return {
    ...override.simulation,
    ...(override.count === undefined ? {} : { count: override.count }),
    ...(override.probability === undefined ? {} : { probability: override.probability }),
  }
}

export function createApiRouter(deps: ApiDeps): express.Router {
  const { store, requestLog, logger } = deps
  const control = 'control' in deps ? deps.control : localControl(deps.simulation, deps.downtime, requestLog)
  const heartbeatMs = deps.heartbeatMs ?? 15_000
  const api = express.Router()

  api.get('/simulation', async (_req, res) => {
    res.json(simulationState(await control.view()))
  })

  api.put('/simulation', async (req, res) => {
    const override = splitOverride(parse(OverrideSpecSchema, req.body))
    const state = await control.set(override)
    logger.info({ override: state.override && showOverride(state.override) }, 'simulation override set')
    res.json(simulationState(state))
  })

  api.delete('/simulation', async (_req, res) => {
    await control.clear()
    logger.info('simulation override cleared')
    res.status(204).end()
  })

  api.post('/reset', async (_req, res) => {
    await control.reset()
    logger.info('simulation and request log reset')
    res.status(204).end()
  })

  api.get('/users', async (req, res) => {
    const { q, offset, limit } = parse(UserListQuerySchema, req.query)
    const page = await store.list({ ...(q ? { q } : {}), offset, limit })
    res.json({ total: page.total, offset, limit, users: page.users })
  })

  api.get('/users/:token', async (req, res) => {
    const user = await store.find(tokenParam(req))
    if (user === undefined) res.status(404).json({ error: 'user_not_found' })
    else res.json(user)
  })

  api.put('/users/:token', async (req, res) => {
    const token = tokenParam(req)
    const body = parse(UserRecordInputSchema, req.body)
    if (body.userToken !== undefined && body.userToken !== token) {
      throw new InvalidRequest([
        {
          code: 'custom',
          path: ['userToken'],
          message: 'userToken in the body must match the token in the path',
          input: undefined,
        },
      ])
    }
    const user = { ...body, userToken: token }
    const result = await store.upsert(user)
    logger.info({ token, result }, 'user saved')
    res.status(result === 'created' ? 201 : 200).json(user)
  })

  api.delete('/users/:token', async (req, res) => {
    const token = tokenParam(req)
    const removed = await store.remove(token)
    if (!removed) {
      res.status(404).json({ error: 'user_not_found' })
      return
    }
    logger.info({ token }, 'user removed')
    res.status(204).end()
  })

  api.get('/requests', async (req, res) => {
    const { limit } = parse(RequestListQuerySchema, req.query)
    res.json({ requests: await requestLog.list(limit) })
  })

  api.delete('/requests', async (_req, res) => {
    await requestLog.clear()
    res.status(204).end()
  })

  const streams = { open: 0 }
  api.get('/requests/stream', (req, res) => streamRequests(req, res, requestLog, heartbeatMs, streams))

  return api
}

/** Past this many unread bytes a stream is a client that stopped reading: it is cut, not buffered. */
const MAX_BUFFERED_BYTES = 1 << 20
const MAX_STREAMS = 64

function streamRequests(
  req: Request,
  res: Response,
  requestLog: RequestLogStore,
  heartbeatMs: number,
  streams: { open: number },
): void {
  if (streams.open >= MAX_STREAMS) {
    res.status(429).json({ error: 'too_many_streams' })
    return
  }
  streams.open += 1
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  })
  res.write(': connected\n\n')
  const send = (chunk: string) => {
    if (res.writableLength > MAX_BUFFERED_BYTES) res.destroy()
    else res.write(chunk)
  }
  const unsubscribe = requestLog.subscribe((entry) => send(`data: ${JSON.stringify(entry)}\n\n`))
  const heartbeat = setInterval(() => send(': heartbeat\n\n'), heartbeatMs)
  let closed = false
  const close = () => {
    if (closed) return
    closed = true
    streams.open -= 1
    clearInterval(heartbeat)
    unsubscribe()
  }
  req.once('close', close)
  res.once('close', close)
}
