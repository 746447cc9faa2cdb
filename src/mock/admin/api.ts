import express, { type Request, type Response } from 'express'
import { z } from 'zod'
import { UserTokenSchema } from '../../contract/profile.js'
import type { Logger } from '../runtime/log.js'
import type { Override } from '../simulation/choose.js'
import {
  FilledOverrideSchema,
  FilledSimulationSchema,
  isTlsScenarioName,
  OverrideSpecSchema,
  specName,
  splitOverride,
  userTlsProblem,
} from '../simulation/scenarios.js'
import type { SimulationControl, SimulationView } from '../state/control.js'
import { RequestLogEntrySchema, type RequestLogStore } from '../state/request-log.js'
import { UserRecordSchema } from '../users/record.js'
import { type CheckedUsers, loadStoreFile, type UserStore } from '../users/store.js'
import { mergePatch } from './merge-patch.js'
import { invalidRequest, parseOrRefuse, Refusal } from './refusal.js'
import { scenarioCatalogue } from './scenario-catalogue.js'

// The admin API (README "Admin API"). Every input (body, path token, query) goes through zod before anything is
// touched, so a refused request changes nothing. Tokens are only keys of the store's Map, never paths.

export type ApiDeps = {
  store: UserStore
  requestLog: RequestLogStore
  logger: Logger
  /** The seed `POST /api/reset` with `{"users":"seed"}` restores (data/seed.json). */
  seedFile: string
  /** How often the SSE stream sends a comment so proxies and idle timers keep it open. */
  heartbeatMs?: number
  /** HTTPS is on: the TLS faults can be set. */
  tlsEnabled?: boolean
  /** The simulation, set and read through its state engine (src/mock/state/engine.ts). */
  control: SimulationControl
}

/** PUT /api/users/:token: a user record whose `userToken` may be left out (the path names it). */
export const UserRecordInputSchema = UserRecordSchema.extend({ userToken: UserTokenSchema.optional() })

/**
 * PATCH /api/users/:token: a JSON merge patch of the record (merge-patch.ts) (`null` removes a key, objects such as
 * `fields` merge key by key). What it must make is checked on the result, as a UserRecordInput.
 */
export const UserRecordPatchSchema = z
  .looseObject({})
  .describe('Keys of UserRecordInput; null removes one, objects merge; the result must be a valid record')

/** Query integers: decimal digits only (no sign, no hex, no exponent, not empty). */
function queryInteger(min: number, max: number, fallback: string) {
  return z
    .string()
    .regex(/^[0-9]+$/, 'must be decimal digits')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .prefault(fallback)
}

export const UserListQuerySchema = z.object({
  q: z.string().max(1000).optional(),
  offset: queryInteger(0, Number.MAX_SAFE_INTEGER, '0'),
  limit: queryInteger(1, 1000, '50'),
})

export const RequestListQuerySchema = z.object({
  limit: queryInteger(1, 100_000, '100'),
})

export const UserListSchema = z.object({
  total: z.number().int(),
  offset: z.number().int(),
  limit: z.number().int(),
  users: z.array(UserRecordSchema),
})

export const RequestListSchema = z.object({ requests: z.array(RequestLogEntrySchema) })

/** What GET and PUT /api/simulation answer; every scenario is shown with its defaults filled. */
export const SimulationStateSchema = z.strictObject({
  override: FilledOverrideSchema.nullable(),
  remaining: z.number().int().nullable().describe('Requests left when the override has a count'),
  startup: FilledSimulationSchema.nullable().describe('The scenario of SIMULATE, if set'),
  downUntil: z.iso
    .datetime()
    .nullable()
    .describe(
      'When the endpoint port reopens, whatever closed it (override, SIMULATE, a user); null when up',
    ),
})

/** POST /api/reset: an empty body, `{}`, or `{"users":"seed"}` to restore the seed's users as well. */
export const ResetRequestSchema = z.strictObject({
  users: z.literal('seed').optional().describe('"seed" also replaces every user by those of data/seed.json'),
})

function tokenParam(req: Request): string {
  return parseOrRefuse(UserTokenSchema, req.params.token, ['token'])
}

/** The body, or a 400 when it is zero bytes: nothing is ever replaced by nothing. */
function requiredBody(req: Request): unknown {
  if (req.body === undefined) throw invalidRequest('a body is required (the request had zero bytes)')
  return req.body
}

function simulationState(state: SimulationView): z.input<typeof SimulationStateSchema> {
  const override = state.override
  const until = state.downUntil
  return {
    override: override === null ? null : showOverride(override),
    remaining: override?.remaining ?? null,
    startup: state.startup,
    downUntil: until === null ? null : new Date(until).toISOString(),
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
  const { store, requestLog, logger, control } = deps
  const heartbeatMs = deps.heartbeatMs ?? HEARTBEAT_MS
  // Exact paths, as the document writes them: `/api/users/` or `/API/users` is not one of them.
  const api = express.Router({ caseSensitive: true, strict: true })
  const catalogue = scenarioCatalogue()

  api.get('/scenarios', (_req, res) => {
    res.json(catalogue)
  })

  api.get('/simulation', async (_req, res) => {
    res.json(simulationState(await control.view()))
  })

  api.put('/simulation', async (req, res) => {
    const spec = parseOrRefuse(OverrideSpecSchema, requiredBody(req))
    const name = specName(spec)
    if (isTlsScenarioName(name) && deps.tlsEnabled !== true) {
      throw new Refusal('tls_not_enabled', [
        {
          message: `${name} acts on TLS handshakes and this mock serves plain HTTP: start it with TLS=self-signed, or TLS_CERT and TLS_KEY`,
          ...(typeof spec === 'string' ? {} : { path: ['scenario'] }),
        },
      ])
    }
    const override = splitOverride(spec)
    const state = await control.set(override)
    logger.info({ override: state.override && showOverride(state.override) }, 'simulation override set')
    res.json(simulationState(state))
  })

  api.delete('/simulation', async (_req, res) => {
    await control.clear()
    logger.info('simulation override cleared')
    res.status(204).end()
  })

  api.post('/reset', async (req, res) => {
    // Zero bytes is no body (`undefined`); a JSON `null` is a body, and the schema refuses it.
    const { users } = parseOrRefuse(ResetRequestSchema, req.body === undefined ? {} : req.body)
    // The seed is read and checked before anything is reset: a bad seed changes nothing.
    const seedUsers = users === 'seed' ? await readSeed(deps.seedFile, logger) : undefined
    await control.reset()
    if (seedUsers) await store.replaceAll(seedUsers)
    logger.info({ users: seedUsers ? 'seed' : 'kept' }, 'simulation and request log reset')
    res.status(204).end()
  })

  api.get('/users', async (req, res) => {
    const { q, offset, limit } = parseOrRefuse(UserListQuerySchema, req.query)
    const page = await store.list({ ...(q ? { q } : {}), offset, limit })
    res.json({ total: page.total, offset, limit, users: page.users })
  })

  api.get('/users/:token', async (req, res) => {
    const user = await store.find(tokenParam(req))
    if (user === undefined) throw new Refusal('user_not_found')
    res.json(user)
  })

  const save = async (token: string, input: unknown, res: Response, created: number) => {
    const tlsProblem = userTlsProblem((input as { simulate?: unknown } | null)?.simulate)
    if (tlsProblem !== undefined) throw invalidRequest(tlsProblem, ['simulate'])
    const body = parseOrRefuse(UserRecordInputSchema, input)
    if (body.userToken !== undefined && body.userToken !== token) {
      throw invalidRequest('userToken in the body must match the token in the path', ['userToken'])
    }
    const user = { ...body, userToken: token }
    const result = await store.upsert(user)
    logger.info({ token, result }, 'user saved')
    res.status(result === 'created' ? created : 200).json(user)
  }

  api.put('/users/:token', async (req, res) => {
    const token = tokenParam(req)
    await save(token, requiredBody(req), res, 201)
  })

  api.patch('/users/:token', async (req, res) => {
    const token = tokenParam(req)
    const patch = parseOrRefuse(UserRecordPatchSchema, requiredBody(req))
    const stored = await store.find(token)
    if (stored === undefined) throw new Refusal('user_not_found')
    await save(token, mergePatch(stored, patch), res, 200)
  })

  api.delete('/users/:token', async (req, res) => {
    const token = tokenParam(req)
    const removed = await store.remove(token)
    if (!removed) throw new Refusal('user_not_found')
    logger.info({ token }, 'user removed')
    res.status(204).end()
  })

  api.get('/requests', async (req, res) => {
    const { limit } = parseOrRefuse(RequestListQuerySchema, req.query)
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

async function readSeed(seedFile: string, logger: Logger): Promise<CheckedUsers> {
  try {
    return await loadStoreFile(seedFile)
  } catch (error) {
    logger.error({ err: error }, 'POST /api/reset: the seed could not be read')
    throw new Refusal('seed_unreadable', [{ message: `${seedFile} could not be read: nothing was reset` }])
  }
}

/** Past this many unread bytes a stream is a client that stopped reading: it is cut, not buffered. */
const MAX_BUFFERED_BYTES = 1 << 20
/** Request-log streams open at once, at most (the next one is refused 429 too_many_streams). */
export const MAX_STREAMS = 64
/** A comment line this often keeps an idle request-log stream open through proxies. */
export const HEARTBEAT_MS = 15_000

function streamRequests(
  req: Request,
  res: Response,
  requestLog: RequestLogStore,
  heartbeatMs: number,
  streams: { open: number },
): void {
  if (streams.open >= MAX_STREAMS) throw new Refusal('too_many_streams')
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
