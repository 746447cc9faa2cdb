import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ProfileSchema } from '../../../src/contract/profile.js'
import { buildOpenApiDocument } from '../../../src/mock/admin/openapi.js'
import { ADMIN_ERRORS } from '../../../src/mock/admin/refusal.js'
import { SEED_FILE } from '../../../src/mock/runtime/config.js'
import { createMetrics } from '../../../src/mock/runtime/metrics.js'
import { openMemoryState } from '../../../src/mock/state/memory.js'
import { checkedAdminApp } from '../../contract.js'
import { capturedLogger, localReadiness, memoryStore } from '../../support.js'

type Operation = { responses: Record<string, unknown>; parameters?: unknown[]; requestBody?: unknown }
type Document = ReturnType<typeof buildOpenApiDocument>

const doc = buildOpenApiDocument({ endpointPath: '/talki/customer', tokenField: 'userToken' })
const paths = doc.paths as unknown as Record<string, Record<string, Operation>>
const schemas = doc.components.schemas as Record<string, Record<string, unknown>>

const OPERATIONS = [
  'post /talki/customer',
  'get /healthz',
  'get /readyz',
  'get /api/engines',
  'get /api/timing',
  'get /api/scenarios',
  'get /api/simulation',
  'put /api/simulation',
  'delete /api/simulation',
  'post /api/reset',
  'get /api/users',
  'get /api/users/{token}',
  'put /api/users/{token}',
  'patch /api/users/{token}',
  'delete /api/users/{token}',
  'get /api/requests',
  'delete /api/requests',
  'get /api/requests/stream',
  'get /api/openapi.json',
  'get /metrics',
]
const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options'])

function operations(document: Document): string[] {
  return Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => METHODS.has(key))
      .map((method) => `${method} ${path}`),
  )
}

function refs(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) refs(item, found)
  else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string') found.push(child)
      else refs(child, found)
    }
  }
  return found
}

/** An admin app whose every answer is checked against the document it serves. */
function adminApp(adminToken?: string) {
  const store = memoryStore()
  const state = openMemoryState(null)
  return checkedAdminApp({
    adminToken,
    store,
    control: state.control,
    readiness: localReadiness(store),
    requestLog: state.requestLog,
    logger: capturedLogger().logger,
    endpointPath: '/talki/customer',
    tokenField: 'userToken',
    seedFile: SEED_FILE,
    metrics: createMetrics({ replica: 'openapi-test' }),
  })
}

describe('buildOpenApiDocument', () => {
  it('is an OpenAPI 3.1 document', () => {
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.jsonSchemaDialect).toBe('https://json-schema.org/draft/2020-12/schema')
    expect(doc.info.title).toBe('talki-customer-endpoint')
  })

  it('has every operation of the endpoint and the admin API, and no other', () => {
    expect(operations(doc).sort()).toEqual([...OPERATIONS].sort())
  })

  it('generates the schemas from zod rather than writing them by hand', () => {
    // ProfileSchema carries `.meta({ id })`, so zod puts it under $defs when converted on its own.
    const generated = z.toJSONSchema(ProfileSchema, { io: 'input', target: 'draft-2020-12' })
    expect(schemas.Profile).toEqual(generated.$defs?.Profile)
    expect(schemas.Profile).toMatchObject({ type: 'object', properties: { plan: { type: 'string' } } })
    expect(schemas.UserToken).toEqual({ type: 'string', minLength: 1, maxLength: 256 })
    expect(schemas.UserRecord).toMatchObject({
      type: 'object',
      required: ['userToken'],
      additionalProperties: false,
      properties: { userToken: { $ref: '#/components/schemas/UserToken' } },
    })
    expect(schemas.UserRecordInput?.required).toBeUndefined()
  })

  it('refers to shared schemas under components.schemas, and every reference resolves', () => {
    const all = refs(doc)
    expect(all.length).toBeGreaterThan(20)
    for (const ref of all) {
      expect(ref).toMatch(/^#\/components\/schemas\/[A-Za-z]+$/)
      expect(schemas[ref.slice('#/components/schemas/'.length)], ref).toBeDefined()
    }
    expect((schemas.UserRecord?.properties as Record<string, unknown> | undefined)?.simulate).toEqual({
      $ref: '#/components/schemas/UserSimulation',
    })
    for (const [name, schema] of Object.entries(schemas)) {
      expect(schema.$schema, name).toBeUndefined()
      expect(schema.$id, name).toBeUndefined()
    }
  })

  it('documents the endpoint: signature header, Profile on 200, Error on every refusal', () => {
    const post = paths['/talki/customer']?.post
    expect(post?.parameters).toEqual([
      expect.objectContaining({ name: 'X-Talki-Signature', in: 'header', required: true }),
    ])
    expect(schemas.Signature).toMatchObject({ type: 'string', pattern: '^[0-9a-fA-F]{64}$' })
    expect(post?.responses['200']).toMatchObject({
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Profile' } } },
    })
    for (const status of ['400', '401', '404', '413', '415', '503']) {
      expect(post?.responses[status], status).toMatchObject({
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      })
    }
  })

  it('follows ENDPOINT_PATH and USER_TOKEN_FIELD', () => {
    const custom = buildOpenApiDocument({ endpointPath: '/hooks/talki', tokenField: 'uid' })
    expect(Object.keys(custom.paths)).toContain('/hooks/talki')
    expect(Object.keys(custom.paths)).not.toContain('/talki/customer')
    expect(custom.components.schemas.CustomerRequest).toMatchObject({
      type: 'object',
      required: ['uid'],
      properties: { uid: { $ref: '#/components/schemas/UserToken' } },
    })
  })

  it('generates query parameters from the zod query schemas', () => {
    const list = paths['/api/users']?.get?.parameters as { name: string; schema: Record<string, unknown> }[]
    expect(list.map((parameter) => parameter.name)).toEqual(['q', 'offset', 'limit'])
    // Query values are text: decimal digits only, so `0x10`, `1e3` and an empty value are refused.
    expect(list[2]?.schema).toEqual({ default: '50', type: 'string', pattern: '^[0-9]+$' })
  })

  it('lists, for every admin refusal, the codes its status carries, in the one AdminError shape', () => {
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      if (path === '/talki/customer') continue
      expect((item as { description?: string }).description, path).toMatch(
        /405 method_not_allowed with Allow: /,
      )
      for (const [method, operation] of Object.entries(item)) {
        if (!METHODS.has(method)) continue
        for (const [status, response] of Object.entries((operation as Operation).responses)) {
          if (Number(status) < 400) continue
          // Not a refusal: readiness answers {"ready":false,"failing":[…]} (README: Replicas).
          if (path === '/readyz' && status === '503') continue
          const schema = (response as { content: Record<string, { schema: Record<string, unknown> }> })
            .content['application/json']?.schema
          expect(schema?.$ref, `${method} ${path} ${status}`).toBe('#/components/schemas/AdminError')
          const codes = (schema?.properties as { error: { enum: string[] } } | undefined)?.error.enum ?? []
          expect(codes.length, `${method} ${path} ${status}`).toBeGreaterThan(0)
          for (const code of codes)
            expect(ADMIN_ERRORS[code as keyof typeof ADMIN_ERRORS]).toBe(Number(status))
        }
      }
    }
    expect(schemas.AdminError).toEqual({
      type: 'object',
      properties: {
        error: { type: 'string' },
        issues: {
          type: 'array',
          items: expect.objectContaining({ required: ['message'], additionalProperties: false }),
        },
      },
      required: ['error'],
      additionalProperties: false,
    })
  })

  it('documents PATCH with merge patch only, and the 405 answer with its Allow header', () => {
    const patch = paths['/api/users/{token}']?.patch as unknown as { requestBody: { content: object } }
    expect(Object.keys(patch.requestBody.content)).toEqual(['application/merge-patch+json'])
    const notAllowed = (doc.components as unknown as { responses: Record<string, { headers: object }> })
      .responses.MethodNotAllowed
    expect(notAllowed?.headers).toHaveProperty('Allow')
  })

  it('marks every /api operation as needing the admin token, and /healthz as open', () => {
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const [method, operation] of Object.entries(item)) {
        if (!METHODS.has(method)) continue
        const { security, responses } = operation as {
          security?: unknown[]
          responses: Record<string, unknown>
        }
        if (path.startsWith('/api/')) {
          expect(security, `${method} ${path}`).toContainEqual({ adminToken: [] })
          expect(responses['401'], `${method} ${path}`).toBeDefined()
        }
      }
    }
    expect((paths['/healthz']?.get as { security?: unknown } | undefined)?.security).toEqual([])
    expect((paths['/metrics']?.get as { security?: unknown[] } | undefined)?.security).toContainEqual({
      adminToken: [],
    })
  })

  it('leaves GET /metrics out when the server does not serve it (METRICS=off)', () => {
    const without = buildOpenApiDocument({
      endpointPath: '/talki/customer',
      tokenField: 'userToken',
      metrics: false,
    })
    expect(operations(without)).not.toContain('get /metrics')
    expect(operations(without).length).toBe(OPERATIONS.length - 1)
  })
})

describe('GET /metrics', () => {
  it('answers Prometheus text behind the admin token, 405 to other methods, each as documented', async () => {
    const app = adminApp('secret-admin')
    const refused = await request(app).get('/metrics')
    expect(refused.status).toBe(401)
    expect(refused.body).toEqual({ error: 'unauthorized' })
    const res = await request(app).get('/metrics').set('Authorization', 'Bearer secret-admin')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.text).toContain('# TYPE talki_endpoint_requests_total counter')
    expect(res.text).toContain(
      'talki_override_active{scenario="none",source="none",replica="openapi-test"} 0',
    )
    const post = await request(app).post('/metrics').set('Authorization', 'Bearer secret-admin')
    expect(post.status).toBe(405)
    expect(post.headers.allow).toBe('GET')
  })
})

describe('GET /api/openapi.json', () => {
  it('serves the document, behind the admin token', async () => {
    const app = adminApp('secret-admin')
    expect((await request(app).get('/api/openapi.json')).status).toBe(401)
    const res = await request(app).get('/api/openapi.json').set('Authorization', 'Bearer secret-admin')
    expect(res.status).toBe(200)
    expect(res.body).toEqual(JSON.parse(JSON.stringify(doc)))
    expect(res.body.components.schemas.Profile).toBeDefined()
    expect(res.body.components.schemas.UserRecord).toBeDefined()
  })

  it('lists only routes the admin app serves, each answering a documented status', async () => {
    const app = adminApp()
    for (const operation of OPERATIONS) {
      const [method = '', path = ''] = operation.split(' ')
      if (!path.startsWith('/api/') || path === '/api/requests/stream') continue
      const url = path.replace('{token}', 'usr_abc123')
      const call = request(app)[method as 'get' | 'put' | 'post' | 'delete' | 'patch'](url)
      const res = await (method === 'put'
        ? call.send(path === '/api/simulation' ? '"ok"' : '{}').type('json')
        : method === 'patch'
          ? call.send('{}').type('application/merge-patch+json')
          : call)
      expect(res.body, operation).not.toEqual({ error: 'not_found' })
      expect(Object.keys(paths[path]?.[method]?.responses ?? {}), operation).toContain(String(res.status))
    }
  })
})
