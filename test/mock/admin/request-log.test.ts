import { describe, expect, it } from 'vitest'
import {
  type CompletedRequest,
  RequestLog,
  type RequestLogEntry,
  RequestLogEntrySchema,
} from '../../../src/mock/state/request-log.js'
import { post, serveEndpoint } from '../../process.js'
import { signedRequest, TEST_SECRET } from '../../support.js'

function completed(token: string | null, startedAt: number, endedAt = startedAt + 10): CompletedRequest {
  return {
    method: 'POST',
    path: '/talki/customer',
    headerNames: ['content-type', 'x-talki-signature'],
    bodyBytes: 25,
    token,
    verdict: 'valid',
    findings: null,
    scenario: null,
    status: 200,
    latencyMs: endedAt - startedAt,
    callerGaveUpMs: null,
    startedAt,
    endedAt,
    arrivedAt: Date.UTC(2024, 0, 15, 12, 0, 0) + startedAt,
  }
}

/** Records and reads back the entry as the API shows it. */
function recorded(log: RequestLog, request: CompletedRequest): RequestLogEntry {
  log.record(request)
  const [entry] = log.list(1)
  if (entry === undefined) throw new Error('nothing recorded')
  return entry
}

describe('RequestLog', () => {
  describe('record', () => {
    it('gives each entry an increasing id and the ISO arrival time, valid against the schema', () => {
      const log = new RequestLog()
      const first = recorded(log, completed('usr_a', 0))
      const second = recorded(log, completed('usr_b', 5))
      expect(first.id).toBe(1)
      expect(second.id).toBe(2)
      expect(first.time).toBe('2024-01-15T12:00:00.000Z')
      expect(second.time).toBe('2024-01-15T12:00:00.005Z')
      expect(RequestLogEntrySchema.parse(first)).toEqual(first)
    })

    it('never stores the timing inputs it was given', () => {
      const entry = recorded(new RequestLog(), completed('usr_a', 0))
      expect(Object.keys(entry).sort()).toEqual(
        [
          'bodyBytes',
          'callerGaveUpMs',
          'findings',
          'headerNames',
          'id',
          'method',
          'path',
          'latencyMs',
          'scenario',
          'sincePreviousMs',
          'status',
          'time',
          'token',
          'verdict',
        ].sort(),
      )
    })
  })

  describe('list', () => {
    it('is newest first and honours the limit', () => {
      const log = new RequestLog()
      for (let i = 0; i < 5; i++) log.record(completed(`usr_${i}`, i * 100))
      expect(log.list().map((entry) => entry.token)).toEqual(['usr_4', 'usr_3', 'usr_2', 'usr_1', 'usr_0'])
      expect(log.list(2).map((entry) => entry.token)).toEqual(['usr_4', 'usr_3'])
    })

    it('keeps only the newest `capacity` entries once the ring wraps, still newest first', () => {
      const log = new RequestLog(3)
      for (let i = 1; i <= 8; i++) log.record(completed(`usr_${i}`, i * 100))
      expect(log.list(100).map((entry) => entry.id)).toEqual([8, 7, 6])
    })

    it('gives back every field as recorded, nulls as null and zeros as zero, after the ring has turned', () => {
      const log = new RequestLog(2)
      const cut: CompletedRequest = {
        ...completed('usr_cut', 0),
        bodyBytes: null,
        verdict: null,
        status: null,
        callerGaveUpMs: null,
        scenario: 'reset',
      }
      const gaveUp: CompletedRequest = {
        ...completed(null, 10),
        bodyBytes: 0,
        findings: {
          trailingNewlineAdded: true,
          trailingNewlineRemoved: false,
          reserialized: false,
          secretWhitespace: false,
        },
        verdict: 'invalid_signature',
        status: null,
        latencyMs: 0,
        callerGaveUpMs: 5000,
      }
      for (const request of [completed('usr_old', 0), cut, gaveUp]) log.record(request)
      expect(log.list()).toHaveLength(2)
      const [newest, older] = log.list()
      expect(newest).toEqual({
        id: 3,
        time: '2024-01-15T12:00:00.010Z',
        method: 'POST',
        path: '/talki/customer',
        headerNames: ['content-type', 'x-talki-signature'],
        bodyBytes: 0,
        token: null,
        verdict: 'invalid_signature',
        findings: gaveUp.findings,
        scenario: null,
        status: null,
        latencyMs: 0,
        callerGaveUpMs: 5000,
        sincePreviousMs: null,
      })
      expect(older).toMatchObject({ id: 2, token: 'usr_cut', bodyBytes: null, verdict: null, status: null })
      expect(older).toMatchObject({ callerGaveUpMs: null, scenario: 'reset', latencyMs: 10 })
    })

    it('holds 1000 entries by default', () => {
      const log = new RequestLog()
      for (let i = 0; i < 1005; i++) log.record(completed(null, i))
      const entries = log.list(5000)
      expect(entries).toHaveLength(1000)
      expect(entries[0]?.id).toBe(1005)
      expect(entries.at(-1)?.id).toBe(6)
    })
  })

  describe('sincePreviousMs', () => {
    it('is the gap from the end of the previous request for the same token to this start', () => {
      const log = new RequestLog()
      expect(recorded(log, completed('usr_a', 0, 5000)).sincePreviousMs).toBeNull()
      expect(recorded(log, completed('usr_b', 100, 200)).sincePreviousMs).toBeNull()
      // Talki's retry: the first attempt timed out at 5000, the retry starts 3 s later.
      expect(recorded(log, completed('usr_a', 8000, 8010)).sincePreviousMs).toBe(3000)
      expect(recorded(log, completed('usr_b', 1300, 1400)).sincePreviousMs).toBe(1100)
    })

    it('is 0, not null, for a request that starts the moment the previous one ended', () => {
      const log = new RequestLog()
      log.record(completed('usr_a', 0, 100))
      expect(recorded(log, completed('usr_a', 100, 150)).sincePreviousMs).toBe(0)
    })

    it('is null for requests without a token and does not link them', () => {
      const log = new RequestLog()
      log.record(completed(null, 0))
      expect(recorded(log, completed(null, 100)).sincePreviousMs).toBeNull()
    })
  })

  describe('clear', () => {
    it('empties the list and forgets every token, so the next request has no previous', () => {
      const log = new RequestLog()
      log.record(completed('usr_a', 0))
      log.clear()
      expect(log.list()).toEqual([])
      expect(recorded(log, completed('usr_a', 500)).sincePreviousMs).toBeNull()
      expect(log.list().map((entry) => entry.token)).toEqual(['usr_a'])
    })

    it('restarts a wrapped ring cleanly', () => {
      const log = new RequestLog(2)
      for (let i = 0; i < 5; i++) log.record(completed(`usr_${i}`, i))
      log.clear()
      log.record(completed('usr_x', 10))
      log.record(completed('usr_y', 20))
      log.record(completed('usr_z', 30))
      expect(log.list().map((entry) => entry.token)).toEqual(['usr_z', 'usr_y'])
    })
  })

  describe('subscribe', () => {
    it('pushes each recorded entry to every subscriber until it unsubscribes', () => {
      const log = new RequestLog()
      const first: number[] = []
      const second: number[] = []
      const stopFirst = log.subscribe((entry) => first.push(entry.id))
      log.subscribe((entry) => second.push(entry.id))
      log.record(completed('usr_a', 0))
      stopFirst()
      log.record(completed('usr_a', 100))
      expect(first).toEqual([1])
      expect(second).toEqual([1, 2])
    })

    it('hands subscribers the same entry that list returns', () => {
      const log = new RequestLog()
      let pushed: unknown
      log.subscribe((entry) => {
        pushed = entry
      })
      log.record(completed('usr_a', 0))
      expect(pushed).toEqual(log.list()[0])
    })
  })
})

describe('an entry written by the endpoint', () => {
  it('names the method, the path without its query, the header names and the body size, never the values', async () => {
    const endpoint = await serveEndpoint()
    try {
      const { body, signature } = signedRequest('usr_abc123')
      const wire = await post(`${endpoint.url}?q=1`, body, { signature })
      expect(wire).toMatchObject({ kind: 'response', status: 200 })
      const [entry] = await endpoint.requestLog.list()
      expect(entry).toMatchObject({
        method: 'POST',
        path: '/talki/customer',
        headerNames: ['content-type', 'x-talki-signature', 'host', 'connection', 'content-length'],
        bodyBytes: Buffer.byteLength(body),
      })
      const shown = JSON.stringify(entry)
      expect(shown).not.toContain(signature)
      expect(shown).not.toContain(TEST_SECRET)
      expect(shown).not.toContain(body)
    } finally {
      await endpoint.close()
    }
  })

  it("names each request's own headers when they change from one request to the next", async () => {
    const endpoint = await serveEndpoint()
    try {
      const { body } = signedRequest('usr_abc123')
      await post(endpoint.url, body)
      await post(endpoint.url, body, { signature: null })
      await post(endpoint.url, body)
      const entries = await endpoint.requestLog.list()
      const signed = ['content-type', 'x-talki-signature', 'host', 'connection', 'content-length']
      const unsigned = ['content-type', 'host', 'connection', 'content-length']
      expect(entries.map((entry) => entry.headerNames)).toEqual([signed, unsigned, signed])
      expect(entries.map((entry) => entry.status)).toEqual([200, 401, 200])
    } finally {
      await endpoint.close()
    }
  })
})
