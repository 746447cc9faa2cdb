import { z } from 'zod'
import {
  customerRequestSchema,
  ErrorBodySchema,
  ProfileSchema,
  UserTokenSchema,
} from '../../contract/profile.js'
import { SIGNATURE_GRAMMAR } from '../../template/protocol.js'
import { TalkiTimingSchema } from '../runtime/config.js'
import { EnginesSchema, ReadySchema } from '../runtime/readiness.js'
import {
  FilledOverrideSchema,
  FilledSimulationSchema,
  OverrideSpecSchema,
  SimulationSpecSchema,
  UserSimulationSpecSchema,
} from '../simulation/scenarios.js'
import { FindingsSchema, RequestLogEntrySchema } from '../state/request-log.js'
import { UserRecordSchema } from '../users/record.js'
import {
  HEARTBEAT_MS,
  MAX_STREAMS,
  RequestListQuerySchema,
  RequestListSchema,
  ResetRequestSchema,
  SimulationStateSchema,
  UserListQuerySchema,
  UserListSchema,
  UserRecordInputSchema,
  UserRecordPatchSchema,
} from './api.js'
import { ADMIN_BODY_LIMIT, MERGE_PATCH } from './json-body.js'
import { ADMIN_ERROR_HEADERS, ADMIN_ERRORS, type AdminErrorCode, AdminErrorSchema } from './refusal.js'
import { ScenarioCatalogueSchema } from './scenario-catalogue.js'

// The OpenAPI 3.1 document of the endpoint and the admin API. Paths, operations and status codes are
// written here as data; every schema is generated from the zod schemas the server validates with, so
// the document cannot drift from the code.

const REF_ROOT = '#/components/schemas/'

/** The schemas named in the document, by component name. */
function componentSchemas(tokenField: string) {
  return {
    Profile: ProfileSchema,
    Error: ErrorBodySchema,
    AdminError: AdminErrorSchema,
    CustomerRequest: customerRequestSchema(tokenField),
    Signature: z
      .string()
      .regex(SIGNATURE_GRAMMAR)
      .describe('Lowercase hex HMAC-SHA256 of the raw body, keyed by the signing secret'),
    UserToken: UserTokenSchema,
    UserRecord: UserRecordSchema,
    UserRecordInput: UserRecordInputSchema,
    UserRecordPatch: UserRecordPatchSchema,
    UserList: UserListSchema,
    Simulation: SimulationSpecSchema,
    UserSimulation: UserSimulationSpecSchema,
    Override: OverrideSpecSchema,
    FilledSimulation: FilledSimulationSchema,
    FilledOverride: FilledOverrideSchema,
    SimulationState: SimulationStateSchema,
    ScenarioCatalogue: ScenarioCatalogueSchema,
    ResetRequest: ResetRequestSchema,
    SignatureFindings: FindingsSchema,
    RequestLogEntry: RequestLogEntrySchema,
    RequestList: RequestListSchema,
    Health: z.object({ ok: z.literal(true) }),
    Ready: ReadySchema,
    Engines: EnginesSchema,
    TalkiTiming: TalkiTimingSchema,
  } satisfies Record<string, z.ZodType>
}
type ComponentName = keyof ReturnType<typeof componentSchemas>

function generateSchemas(schemas: Record<string, z.ZodType>): Record<string, unknown> {
  const registry = z.registry<{ id: string }>()
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id })
  const { schemas: generated } = z.toJSONSchema(registry, {
    io: 'input',
    target: 'draft-2020-12',
    uri: (id) => `${REF_ROOT}${id}`,
  })
  // Inside a components object the document's own dialect applies and `$ref`s point at siblings, so
  // the per-schema `$schema` and `$id` are dropped.
  const components: Record<string, unknown> = {}
  for (const [id, schema] of Object.entries(generated)) {
    const { $schema: _dialect, $id: _id, ...rest } = schema as Record<string, unknown>
    components[id] = rest
  }
  return components
}

const ref = (name: ComponentName) => ({ $ref: `${REF_ROOT}${name}` })
const json = (name: ComponentName) => ({ 'application/json': { schema: ref(name) } })
const answer = (description: string, name: ComponentName) => ({ description, content: json(name) })
const error = (description: string) => answer(description, 'Error')
const noContent = (description: string) => ({ description })

/** What each admin refusal means, by code; an operation lists the codes it can answer. */
const REFUSALS: Record<AdminErrorCode, string> = {
  invalid_request:
    'invalid_request: the input was refused (a body that is not JSON, zero bytes where a body is needed, a forbidden key, a bad query or path); nothing changed',
  unauthorized: 'unauthorized: ADMIN_TOKEN is set and the bearer token is missing or wrong',
  not_found: 'not_found: no such path',
  user_not_found: 'user_not_found: no user has this token',
  method_not_allowed: 'method_not_allowed: the path does not answer this method (see Allow)',
  payload_too_large: `payload_too_large: the body is over ${ADMIN_BODY_LIMIT / 1024 / 1024} MB`,
  unsupported_media_type: 'unsupported_media_type: the body is not of the media type the operation takes',
  too_many_streams: `too_many_streams: ${MAX_STREAMS} streams are open already`,
  internal_error: 'internal_error: a fault of the server (logged), never an answer to bad input',
  tls_not_enabled:
    'tls_not_enabled: a TLS fault needs HTTPS on (TLS=self-signed, or TLS_CERT and TLS_KEY); nothing changed',
  seed_unreadable: 'seed_unreadable: data/seed.json could not be read or is not valid; nothing was reset',
  store_unavailable:
    'store_unavailable: PostgreSQL (DATABASE_URL) or Redis (REDIS_URL) cannot do the work now; try again after Retry-After',
}

/** The refusal answers for these codes, one response per status, each listing its codes. */
function refusals(...codes: AdminErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, AdminErrorCode[]>()
  for (const code of codes)
    byStatus.set(ADMIN_ERRORS[code], [...(byStatus.get(ADMIN_ERRORS[code]) ?? []), code])
  const responses: Record<string, unknown> = {}
  for (const [status, list] of byStatus) {
    // The headers every refusal of these codes carries (the 405's Allow is the MethodNotAllowed response's).
    const headers = Object.entries(
      Object.assign({}, ...list.map((code) => ADMIN_ERROR_HEADERS[code])) as Record<string, string>,
    )
    responses[String(status)] = {
      description: list.map((code) => REFUSALS[code]).join('; '),
      ...(headers.length === 0
        ? {}
        : {
            headers: Object.fromEntries(
              headers.map(([name, value]) => [name, { schema: { type: 'string', const: value } }]),
            ),
          }),
      content: {
        'application/json': { schema: { ...ref('AdminError'), properties: { error: { enum: list } } } },
      },
    }
  }
  return responses
}

/** What an operation that reads a body may refuse, beside its own codes. */
const BODY_REFUSALS: AdminErrorCode[] = ['invalid_request', 'payload_too_large', 'unsupported_media_type']

const adminSecurity = [{ adminToken: [] }]
const tokenPath = {
  name: 'token',
  in: 'path',
  required: true,
  description:
    'The user token, URL-encoded; it is only a key, never a file path. Bad percent-encoding is a 400',
  schema: ref('UserToken'),
}

/** Query parameters from a zod object of query keys, described one by one. */
function queryParameters<T extends z.ZodRawShape>(
  schema: z.ZodObject<T>,
  descriptions: Record<keyof T, string>,
) {
  return Object.entries(schema.shape).map(([name, field]) => {
    const { $schema: _dialect, ...generated } = z.toJSONSchema(field as z.ZodType, {
      io: 'input',
      target: 'draft-2020-12',
    })
    return { name, in: 'query', required: false, description: descriptions[name], schema: generated }
  })
}

/**
 * An admin operation: every one may answer 401 (when ADMIN_TOKEN is set), 500 (a fault of ours) and 503
 * (an engine of README "Replicas" is lost).
 */
function adminOperation(
  summary: string,
  responses: Record<string, unknown>,
  codes: AdminErrorCode[] = [],
  extra: object = {},
) {
  return {
    tags: ['admin'],
    summary,
    security: adminSecurity,
    ...extra,
    responses: { ...responses, ...refusals(...codes, 'unauthorized', 'internal_error', 'store_unavailable') },
  }
}

function body(name: ComponentName, description: string, mediaType = 'application/json', required = true) {
  return { required, description, content: { [mediaType]: { schema: ref(name) } } }
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'])

/** The methods a path item of the document answers, upper case: its 405's `Allow` (app.ts) and sentence. */
export function methodsOf(item: object): string[] {
  return Object.keys(item)
    .filter((key) => HTTP_METHODS.has(key))
    .map((key) => key.toUpperCase())
}

/** The sentence each path item carries about the methods it does not answer. */
function otherMethods(item: Record<string, unknown>): string {
  const allow = methodsOf(item)
  return `Any other method (HEAD and OPTIONS included): 405 method_not_allowed with Allow: ${allow.join(', ')} (see components.responses.MethodNotAllowed).`
}

/** Adds the 405 sentence to each admin path item. */
function withOtherMethods(paths: Record<string, Record<string, unknown>>) {
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => [path, { ...item, description: otherMethods(item) }]),
  )
}

/** GET /metrics: Prometheus's text format, behind the admin token when one is set. */
const metricsPath = {
  '/metrics': {
    get: {
      tags: ['admin'],
      summary:
        "This replica's metrics in Prometheus text format: endpoint requests by status and scenario, their latency, the override in force, store lookups and failures",
      security: adminSecurity,
      responses: {
        '200': {
          description:
            'Prometheus exposition format 0.0.4; every series carries replica (REPLICA_ID). Not summed across replicas: scrape each',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
        ...refusals('unauthorized', 'internal_error'),
      },
    },
  },
}

export function buildOpenApiDocument(options: {
  endpointPath: string
  tokenField: string
  metrics?: boolean
  /** The endpoint's real port and scheme, so a client of the admin API can find the endpoint (connectMock). */
  endpointPort?: number
  tls?: boolean
}) {
  const { endpointPath, tokenField } = options
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'talki-customer-endpoint',
      version: '0.1.0',
      description:
        "The customer endpoint of Talki's Backend Connect (endpoint port) and the admin API that " +
        'switches its failure simulation, edits its users and shows the request log (admin port). ' +
        'Every admin refusal is {"error":"<code>","issues"?:[{"message","path"?}]}; each operation lists its codes. ' +
        'A body sent with GET or DELETE is never read: it is ignored. An empty body means zero bytes.',
    },
    servers: [{ url: '/', description: 'the admin port (this document is served from it)' }],
    tags: [
      { name: 'endpoint', description: 'What Talki calls, on the endpoint port (default 3000)' },
      { name: 'admin', description: 'The admin API, on the admin port (default 3001)' },
    ],
    paths: {
      [endpointPath]: {
        servers: [
          {
            url: `${options.tls ? 'https' : 'http'}://{host}:{port}`,
            variables: {
              host: { default: '127.0.0.1' },
              port: { default: String(options.endpointPort ?? 3000) },
            },
          },
        ],
        post: {
          tags: ['endpoint'],
          summary: 'Fetch the profile Talki shows beside a ticket',
          description: `Talki POSTs {"${tokenField}": "<id>"} signed over the raw bytes and expects an answer within 5 s.`,
          parameters: [
            {
              name: 'X-Talki-Signature',
              in: 'header',
              required: true,
              description: 'HMAC-SHA256 of the exact body bytes, 64 hex digits',
              schema: ref('Signature'),
            },
          ],
          requestBody: body(
            'CustomerRequest',
            `The user token under "${tokenField}"; other keys are ignored`,
          ),
          responses: {
            '200': answer('The profile: only the keys the user has', 'Profile'),
            '400': error('invalid_body: not JSON, not an object, or no usable token'),
            '401': error('missing_signature, malformed_signature or invalid_signature'),
            '404': error('user_not_found'),
            '413': error('payload_too_large: the body is over BODY_LIMIT'),
            '415': error('unsupported_encoding: a Content-Encoding other than identity'),
            '503': error('The lookup missed its deadline (with Retry-After), or a simulated error'),
            '500': error('simulated_error (error scenario)'),
            '502': error('simulated_error (error scenario)'),
            '504': error('simulated_error (error scenario)'),
          },
        },
      },
      ...withOtherMethods({
        '/healthz': {
          get: {
            tags: ['admin'],
            summary: 'Liveness; answers while the endpoint is down',
            security: [],
            responses: { '200': answer('Alive', 'Health') },
          },
        },
        '/readyz': {
          get: {
            tags: ['admin'],
            summary: 'Readiness: every engine in use (Redis, PostgreSQL) answers',
            security: [],
            responses: {
              '200': answer('Ready: {"ready":true}', 'Ready'),
              '503': answer(
                'Not ready: {"ready":false,"failing":[…]} names the engines that did not answer',
                'Ready',
              ),
            },
          },
        },
        ...(options.metrics === false ? {} : metricsPath),
        '/api/engines': {
          get: adminOperation('Where the users and the simulation state live, and this replica’s id', {
            '200': answer('The engines in use', 'Engines'),
          }),
        },
        '/api/timing': {
          get: adminOperation('Talki’s timeout and retry delay the dashboard plays (TALKI_TIMING)', {
            '200': answer('real: Talki’s own 5 s and 3 s; demo: scaled down for a demo', 'TalkiTiming'),
          }),
        },
        '/api/scenarios': {
          get: adminOperation('Every scenario with its parameters: type, range, default, description', {
            '200': answer(
              'In the order of the README table; read from the server’s own schemas',
              'ScenarioCatalogue',
            ),
          }),
        },
        '/api/simulation': {
          get: adminOperation(
            'The run-time override, its remaining count, the SIMULATE scenario and downUntil',
            {
              '200': answer('Scenarios with every default filled', 'SimulationState'),
            },
          ),
          put: adminOperation(
            'Set the global override: a scenario or sequence, with optional count and probability',
            { '200': answer('The new state', 'SimulationState') },
            [...BODY_REFUSALS, 'tls_not_enabled'],
            {
              requestBody: body(
                'Override',
                'A scenario or sequence; `down` and the TLS faults take no count or probability',
              ),
            },
          ),
          delete: adminOperation('Clear the override; a downtime in progress ends at once', {
            '204': noContent('Cleared'),
          }),
        },
        '/api/reset': {
          post: adminOperation(
            'Clear the override, every sequence state and the request log; end any downtime; with {"users":"seed"} restore the seed’s users',
            { '204': noContent('Reset') },
            [...BODY_REFUSALS, 'seed_unreadable'],
            {
              requestBody: body(
                'ResetRequest',
                'Optional: zero bytes or {} resets the simulation and the log only',
                'application/json',
                false,
              ),
            },
          ),
        },
        '/api/users': {
          get: adminOperation(
            'Users in store order',
            { '200': answer('A page of users', 'UserList') },
            ['invalid_request'],
            {
              parameters: queryParameters(UserListQuerySchema, {
                q: 'Matches token, name, email or plan, case-insensitive',
                offset: 'Users to skip: decimal digits only',
                limit: 'Page size, 1–1000: decimal digits only',
              }),
            },
          ),
        },
        '/api/users/{token}': {
          parameters: [tokenPath],
          get: adminOperation(
            'One stored user, with userToken and simulate',
            { '200': answer('The stored record', 'UserRecord') },
            ['invalid_request', 'user_not_found'],
          ),
          put: adminOperation(
            'Create or replace the whole user; persisted, and served by the next endpoint call',
            {
              '200': answer('Replaced: the stored record', 'UserRecord'),
              '201': answer('Created: the stored record', 'UserRecord'),
            },
            BODY_REFUSALS,
            {
              requestBody: body(
                'UserRecordInput',
                'The whole record (keys left out are gone); a userToken in it must match the path. Zero bytes is a 400',
              ),
            },
          ),
          patch: adminOperation(
            'Change only the keys named (RFC 7396 merge patch: null removes a key, objects such as fields merge)',
            { '200': answer('The stored record after the patch', 'UserRecord') },
            [...BODY_REFUSALS, 'user_not_found'],
            { requestBody: body('UserRecordPatch', 'A merge patch of the record', MERGE_PATCH) },
          ),
          delete: adminOperation('Delete a user', { '204': noContent('Deleted') }, [
            'invalid_request',
            'user_not_found',
          ]),
        },
        '/api/requests': {
          get: adminOperation(
            'The request log, newest first',
            { '200': answer('Recent requests to the endpoint', 'RequestList') },
            ['invalid_request'],
            {
              parameters: queryParameters(RequestListQuerySchema, {
                limit: 'Entries to return: decimal digits only',
              }),
            },
          ),
          delete: adminOperation('Clear the request log', { '204': noContent('Cleared') }),
        },
        '/api/requests/stream': {
          get: adminOperation(
            'Server-sent events: one `data: <RequestLogEntry JSON>` per request as it completes',
            {
              '200': {
                description: `An event stream; a comment line every ${HEARTBEAT_MS / 1000} s keeps it open`,
                content: { 'text/event-stream': { schema: { type: 'string' } } },
              },
            },
            ['too_many_streams'],
            {
              security: [{ adminToken: [] }, { adminTokenQuery: [] }],
              description: 'EventSource cannot send headers, so the admin token may also come as ?token=.',
            },
          ),
        },
        '/api/openapi.json': {
          get: adminOperation('This document', {
            '200': {
              description: 'OpenAPI 3.1 document',
              content: { 'application/json': { schema: { type: 'object' } } },
            },
          }),
        },
      }),
    },
    components: {
      schemas: generateSchemas(componentSchemas(tokenField)),
      responses: {
        MethodNotAllowed: {
          description:
            'Any method a path of this document does not list (HEAD and OPTIONS included): the methods it answers are in Allow',
          headers: {
            Allow: { required: true, schema: { type: 'string' }, description: 'e.g. GET, PUT, DELETE' },
          },
          content: {
            'application/json': {
              schema: { ...ref('AdminError'), properties: { error: { enum: ['method_not_allowed'] } } },
            },
          },
        },
      },
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN, when set' },
        adminTokenQuery: { type: 'apiKey', in: 'query', name: 'token', description: 'The stream only' },
      },
    },
  }
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>
