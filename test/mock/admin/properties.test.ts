import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { buildOpenApiDocument } from '../../../src/mock/admin/openapi.js'
import { listen, sendRaw, setup } from './harness.js'
import { arbitraryFor } from './schema-arbitrary.js'

// Property-based: bodies generated from the document's own request schemas, sent as they are or
// mutated (a key dropped, added or retyped, a forbidden key slipped in, the JSON cut or a byte
// broken, the wrong media type, zero bytes). Whatever is sent: no 5xx, every answer in the document
// (the harness checks it), a refusal changes nothing, and an unmutated body is accepted.

const document = buildOpenApiDocument({ endpointPath: '/talki/customer', tokenField: 'userToken' })
const components = document.components.schemas as Record<string, Record<string, unknown>>
const schema = (name: string) => arbitraryFor({ $ref: `#/components/schemas/${name}` }, components)

interface Call {
  method: 'PUT' | 'PATCH' | 'POST'
  path: string
  contentType: string
  body: unknown
}

const TOKEN = 'usr_bob'
const calls: fc.Arbitrary<Call> = fc.oneof(
  schema('Override').map((body) => ({
    method: 'PUT' as const,
    path: '/api/simulation',
    contentType: 'application/json',
    body,
  })),
  schema('UserRecordInput').map((body) => ({
    method: 'PUT' as const,
    path: `/api/users/${TOKEN}`,
    contentType: 'application/json',
    // A token in the body must match the path: a generated one is made to.
    body: { ...(body as object), ...('userToken' in (body as object) ? { userToken: TOKEN } : {}) },
  })),
  schema('UserRecordInput').map((body) => {
    const { userToken: _token, ...patch } = body as Record<string, unknown>
    return {
      method: 'PATCH' as const,
      path: `/api/users/${TOKEN}`,
      contentType: 'application/merge-patch+json',
      body: patch,
    }
  }),
  schema('ResetRequest').map((body) => ({
    method: 'POST' as const,
    path: '/api/reset',
    contentType: 'application/json',
    body,
  })),
)

type Mutation =
  | { kind: 'none' }
  | { kind: 'drop' | 'retype' | 'forbid'; index: number; value: unknown; key: string }
  | { kind: 'add'; key: string; value: unknown }
  | { kind: 'wrap' }
  | { kind: 'replace'; value: unknown }
  | { kind: 'truncate'; at: number }
  | { kind: 'byte'; at: number; byte: number }
  | { kind: 'type'; contentType: string }
  | { kind: 'empty' }

const mutations: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'none' as const }) },
  fc.record({
    kind: fc.constantFrom('drop' as const, 'retype' as const, 'forbid' as const),
    index: fc.nat(),
    value: fc.jsonValue({ maxDepth: 2 }),
    key: fc.constantFrom('__proto__', 'constructor', 'prototype'),
  }),
  fc.record({
    kind: fc.constant('add' as const),
    key: fc.string({ minLength: 1, maxLength: 12 }),
    value: fc.jsonValue(),
  }),
  fc.constant({ kind: 'wrap' as const }),
  fc.record({ kind: fc.constant('replace' as const), value: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), byte: fc.integer({ min: 0x80, max: 0xff }) }),
  fc.record({
    kind: fc.constant('type' as const),
    contentType: fc.constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=latin1',
    ),
  }),
  fc.constant({ kind: 'empty' as const }),
)

/** The objects inside a value, the value itself first: where a key can be dropped, retyped or added. */
function objectsIn(value: unknown, found: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(value)) for (const item of value) objectsIn(item, found)
  else if (value !== null && typeof value === 'object') {
    found.push(value as Record<string, unknown>)
    for (const item of Object.values(value)) objectsIn(item, found)
  }
  return found
}

/** The bytes and headers to send; `changed` says whether the body is no longer the generated one. */
function apply(
  call: Call,
  mutation: Mutation,
): { headers: Record<string, string>; bytes: Buffer; changed: boolean } {
  const body = structuredClone(call.body)
  const headers: Record<string, string> = { 'Content-Type': call.contentType }
  let changed = true
  const objects = objectsIn(body)
  const target =
    objects.length > 0 ? objects[('index' in mutation ? mutation.index : 0) % objects.length] : undefined
  const keys = target ? Object.keys(target) : []
  const key = keys.length > 0 ? keys[('index' in mutation ? mutation.index : 0) % keys.length] : undefined
  let value: unknown = body
  switch (mutation.kind) {
    case 'none':
      changed = false
      break
    case 'drop':
      if (target && key !== undefined) delete target[key]
      else changed = false
      break
    case 'retype':
      if (target && key !== undefined) target[key] = mutation.value
      else changed = false
      break
    case 'forbid':
      if (target) Object.defineProperty(target, mutation.key, { value: mutation.value, enumerable: true })
      else changed = false
      break
    case 'add':
      if (target) Object.defineProperty(target, mutation.key, { value: mutation.value, enumerable: true })
      else changed = false
      break
    case 'wrap':
      value = [body]
      break
    case 'replace':
      value = mutation.value
      break
    case 'type':
      headers['Content-Type'] = mutation.contentType
      break
    default:
      break
  }
  let bytes = Buffer.from(JSON.stringify(value))
  if (mutation.kind === 'truncate') bytes = bytes.subarray(0, mutation.at % bytes.length)
  if (mutation.kind === 'byte') {
    bytes = Buffer.from(bytes)
    bytes[mutation.at % bytes.length] = mutation.byte
  }
  if (mutation.kind === 'empty') bytes = Buffer.alloc(0)
  return { headers, bytes, changed }
}

/**
 * A valid patch may still make an invalid record: a `simulate` object merges into the stored one, so
 * `{"scenario":"error"}` over `{"scenario":"slow","delayMs":4500}` keeps delayMs (RFC 7396 semantics).
 */
function mergesIntoSimulate(call: Call, answer: { status: number; body: string }): boolean {
  if (call.method !== 'PATCH' || answer.status !== 400) return false
  const { issues } = JSON.parse(answer.body) as { issues: { path?: unknown[] }[] }
  return issues.every((issue) => issue.path?.[0] === 'simulate')
}

describe('the admin API under generated and mutated bodies', () => {
  it('never answers 5xx or off the document, changes nothing when it refuses, accepts what the schema allows', async () => {
    // With HTTPS on, every scenario the schema allows is accepted (the TLS faults too).
    const { app, fileBytes } = await setup({ tlsEnabled: true })
    const { port } = await listen(app)
    const read = async () => ({
      users: (await sendRaw(port, { method: 'GET', path: '/api/users?limit=1000' })).body,
      simulation: (await sendRaw(port, { method: 'GET', path: '/api/simulation' })).body,
      bytes: (await fileBytes()).toString('base64'),
    })
    await fc.assert(
      fc.asyncProperty(calls, mutations, async (call, mutation) => {
        const { headers, bytes, changed } = apply(call, mutation)
        const before = await read()
        const answer = await sendRaw(port, { method: call.method, path: call.path, headers, body: bytes })
        expect(answer.status).toBeLessThan(500)
        if (answer.status >= 400) {
          expect(await read()).toEqual(before)
          expect(JSON.parse(answer.body).error).toMatch(/^[a-z_]+$/)
        }
        if (!changed && !mergesIntoSimulate(call, answer))
          expect(answer.status, answer.body).toBeLessThan(300)
      }),
      { numRuns: 300 },
    )
  })

  it('reads a query integer only when it is decimal digits in range, and refuses anything else with 400', async () => {
    const { app } = await setup()
    const { port } = await listen(app)
    const values = fc.oneof(
      fc.nat({ max: 2000 }).map(String),
      fc.string({ maxLength: 6 }),
      fc.constantFrom('0x10', '1e3', '', '+5', '-1', '5.0', ' 5', '٣', '1_000', '99999999999999999999'),
    )
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('offset', 'limit'), values, async (name, value) => {
        const answer = await sendRaw(port, {
          method: 'GET',
          path: `/api/users?${name}=${encodeURIComponent(value)}`,
        })
        const n = Number(value)
        const fits =
          /^[0-9]+$/.test(value) && (name === 'offset' ? Number.isSafeInteger(n) : n >= 1 && n <= 1000)
        expect(answer.status, `${name}=${value}`).toBe(fits ? 200 : 400)
        if (fits) expect(JSON.parse(answer.body)[name]).toBe(n)
      }),
      { numRuns: 200 },
    )
  })
})
