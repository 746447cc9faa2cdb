import { readFile } from 'node:fs/promises'
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
} from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, expect } from 'vitest'
import { createSimulationState, type SimulationState } from '../../../src/mock/simulation/choose.js'
import { fillDefaults, type SimulationSpec } from '../../../src/mock/simulation/scenarios.js'
import { localControl } from '../../../src/mock/state/control.js'
import { RequestLog, type RequestLogEntry } from '../../../src/mock/state/request-log.js'
import type { UserRecord } from '../../../src/mock/users/record.js'
import { openJsonStore, type UserStore } from '../../../src/mock/users/store.js'
import { type CheckedApp, checkedAdminApp } from '../../contract.js'
import { ALICE, capturedLogger, localReadiness, tempDataDir } from '../../support.js'

// One admin app per test over a temp JSON store, served through the contract check: after each test
// every answer it received must match the document (test/contract.ts).

export const ADMIN_TOKEN = 'admin-token-for-tests'

export const BOB: UserRecord = {
  userToken: 'usr_bob',
  name: 'Bob Stone',
  email: 'bob@example.org',
  plan: 'starter',
  simulate: { scenario: 'slow', delayMs: 4500 },
}
export const CAROL: UserRecord = {
  userToken: 'usr_carol',
  name: 'Carol Diaz',
  email: 'carol@shop.test',
  plan: 'Pro',
}

/** Records what the admin API asked of the endpoint's downtime. */
function fakeDowntime() {
  const calls: string[] = []
  let until: number | null = null
  return {
    calls,
    get isDown() {
      return until !== null
    },
    get until() {
      return until
    },
    start(ms: number) {
      calls.push(`start:${ms}`)
      until = Date.now() + ms
    },
    async end() {
      calls.push('end')
      until = null
    },
  }
}

/** A RequestLog that counts its subscribers, to see the SSE stream let go. */
class CountingLog extends RequestLog {
  subscribers = 0
  override subscribe(subscriber: (entry: RequestLogEntry) => void): () => void {
    this.subscribers++
    const unsubscribe = super.subscribe(subscriber)
    return () => {
      this.subscribers--
      return unsubscribe()
    }
  }
}

export const cleanups: (() => Promise<unknown> | unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

export async function setup(
  options: {
    adminToken?: string
    users?: UserRecord[]
    startup?: SimulationSpec
    heartbeatMs?: number
    /** As if HTTPS were on: the TLS faults can be set (the servers themselves are test/mock/runtime/tls*). */
    tlsEnabled?: boolean
  } = {},
) {
  const data = await tempDataDir(structuredClone(options.users ?? [ALICE, BOB, CAROL]))
  cleanups.push(data.cleanup)
  const store = await openJsonStore({ file: data.dataFile, seedFile: data.seedFile })
  const simulation = createSimulationState(options.startup ? fillDefaults(options.startup) : null)
  const requestLog = new CountingLog()
  const downtime = fakeDowntime()
  const { logger, lines } = capturedLogger()
  // Every answer the test receives is checked against the document the app serves (test/contract.ts).
  const app = checkedAdminApp({
    adminToken: options.adminToken,
    store,
    control: localControl(simulation, downtime, requestLog),
    readiness: localReadiness(store),
    requestLog,
    logger,
    endpointPath: '/talki/customer',
    tokenField: 'userToken',
    endpointPort: 3000,
    seedFile: data.seedFile,
    ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
    ...(options.tlsEnabled === undefined ? {} : { tlsEnabled: options.tlsEnabled }),
  })
  const fileBytes = () => readFile(data.dataFile)
  const reopen = async (): Promise<UserStore> => {
    await store.flush()
    return openJsonStore({ file: data.dataFile, seedFile: data.seedFile })
  }
  return { app, data, store, simulation, requestLog, downtime, lines, fileBytes, reopen }
}

export async function listen(app: CheckedApp): Promise<{ server: Server; port: number }> {
  const server = await new Promise<Server>((resolve) => {
    const s = createServer(app).listen(0, '127.0.0.1', () => resolve(s))
  })
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(resolve)
      }),
  )
  return { server, port: (server.address() as AddressInfo).port }
}

/** Opens the SSE stream with node:http; resolves with the response once the headers are in. */
export function openStream(
  port: number,
  path = '/api/requests/stream',
  headers: Record<string, string> = {},
) {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers }, resolve)
    req.on('error', reject)
    req.setTimeout(5000, () => req.destroy(new Error('stream timed out')))
    req.end()
    cleanups.push(() => req.destroy())
  })
}

/** The parts of the simulation state an API call may change. */
export function snapshot(state: SimulationState) {
  return JSON.stringify({
    override: state.override,
    generation: state.generation,
    cursors: [...state.cursors],
  })
}

/** A 400 invalid_request whose issues are `{message, path?}`. */
export function expectIssues(body: { error: string; issues: unknown }) {
  expect(body.error).toBe('invalid_request')
  expect(Array.isArray(body.issues)).toBe(true)
  const issues = body.issues as { path?: unknown; message: unknown }[]
  expect(issues.length).toBeGreaterThan(0)
  for (const issue of issues) {
    expect(typeof issue.message).toBe('string')
    expect(Object.keys(issue).every((key) => key === 'message' || key === 'path')).toBe(true)
    if (issue.path !== undefined) expect(Array.isArray(issue.path)).toBe(true)
  }
}

/** Sends exactly these bytes and headers with node:http (supertest would add or fix some). */
export function sendRaw(
  port: number,
  options: {
    method: string
    path: string
    headers?: Record<string, string | string[]>
    body?: string | Buffer
  },
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: options.method,
      path: options.path,
      headers: { Connection: 'close', ...options.headers },
      agent: false,
    })
    req.setTimeout(5000, () => req.destroy(new Error(`${options.method} ${options.path}: no answer in 5 s`)))
    req.on('error', reject)
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      )
    })
    req.end(options.body)
  })
}
