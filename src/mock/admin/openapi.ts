import { z } from 'zod'
import { SIGNATURE_GRAMMAR } from '../../template/protocol.js'
import {
  customerRequestSchema,
  ErrorBodySchema,
  ProfileSchema,
  UserRecordSchema,
  UserTokenSchema,
} from '../contract.js'
import { EnginesSchema, ReadySchema } from '../readiness.js'
import { OverrideSpecSchema, SimulationSpecSchema } from '../simulation/scenarios.js'
import {
  RequestListQuerySchema,
  RequestListSchema,
  SimulationStateSchema,
  UserListQuerySchema,
  UserListSchema,
  UserRecordInputSchema,
  ValidationErrorSchema,
} from './api.js'
import { FindingsSchema, RequestLogEntrySchema } from './request-log.js'

// The OpenAPI 3.1 document of the endpoint and the admin API. Paths, operations and status codes are
// written here as data; every schema is generated from the zod schemas the server validates with, so
// the document cannot drift from the code.

const REF_ROOT = '#/components/schemas/'

/** The schemas named in the document, by component name. */
function componentSchemas(tokenField: string) {
  return {
    Profile: ProfileSchema,
    Error: ErrorBodySchema,
    ValidationError: ValidationErrorSchema,
    CustomerRequest: customerRequestSchema(tokenField),
    Signature: z
      .string()
      .regex(SIGNATURE_GRAMMAR)
      .describe('Lowercase hex HMAC-SHA256 of the raw body, keyed by the signing secret'),
    UserToken: UserTokenSchema,
    UserRecord: UserRecordSchema,
    UserRecordInput: UserRecordInputSchema,
    UserList: UserListSchema,
    Simulation: SimulationSpecSchema,
    Override: OverrideSpecSchema,
    SimulationState: SimulationStateSchema,
    SignatureFindings: FindingsSchema,
    RequestLogEntry: RequestLogEntrySchema,
    RequestList: RequestListSchema,
    Health: z.object({ ok: z.literal(true) }),
    Ready: ReadySchema,
    Engines: EnginesSchema,
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

const invalid = answer('The input was refused; nothing changed', 'ValidationError')
const unauthorized = error('ADMIN_TOKEN is set and the bearer token is missing or wrong')
const adminSecurity = [{ adminToken: [] }]
const tokenPath = {
  name: 'token',
  in: 'path',
  required: true,
  description: 'The user token, URL-encoded; it is only a key, never a file path',
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

function adminOperation(summary: string, responses: Record<string, unknown>, extra: object = {}) {
  return {
    tags: ['admin'],
    summary,
    security: adminSecurity,
    ...extra,
    responses: { ...responses, '401': unauthorized },
  }
}

function body(name: ComponentName, description: string) {
  return { required: true, description, content: json(name) }
}

export function buildOpenApiDocument(options: { endpointPath: string; tokenField: string }) {
  const { endpointPath, tokenField } = options
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'talki-customer-endpoint',
      version: '0.1.0',
      description:
        "The customer endpoint of Talki's Backend Connect (endpoint port) and the admin API that " +
        'switches its failure simulation, edits its users and shows the request log (admin port).',
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
            url: 'http://{host}:{port}',
            variables: { host: { default: '127.0.0.1' }, port: { default: '3000' } },
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
          summary: 'Readiness: every engine in use (Redis, the database) answers',
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
      '/api/engines': {
        get: adminOperation('Where the users and the simulation state live, and this replica’s id', {
          '200': answer('The engines in use', 'Engines'),
        }),
      },
      '/api/simulation': {
        get: adminOperation('The run-time override, its remaining count and the SIMULATE scenario', {
          '200': answer('Scenarios with every default filled', 'SimulationState'),
        }),
        put: adminOperation(
          'Set the global override: a scenario or sequence, with optional count and probability',
          {
            '200': answer('The new state', 'SimulationState'),
            '400': invalid,
            '413': error('payload_too_large'),
            '415': error('unsupported_media_type: the body must be application/json'),
          },
          {
            requestBody: body(
              'Override',
              'A scenario as the README QA guide writes it; `down` takes no count or probability',
            ),
          },
        ),
        delete: adminOperation('Clear the override; a downtime in progress ends at once', {
          '204': noContent('Cleared'),
        }),
      },
      '/api/reset': {
        post: adminOperation(
          'Clear the override, every sequence state and the request log; end any downtime',
          {
            '204': noContent('Reset'),
          },
        ),
      },
      '/api/users': {
        get: adminOperation(
          'Users in store order',
          { '200': answer('A page of users', 'UserList'), '400': invalid },
          {
            parameters: queryParameters(UserListQuerySchema, {
              q: 'Matches token, name, email or plan, case-insensitive',
              offset: 'Users to skip',
              limit: 'Page size; above 1000 is refused',
            }),
          },
        ),
      },
      '/api/users/{token}': {
        parameters: [tokenPath],
        get: adminOperation('One stored user, with userToken and simulate', {
          '200': answer('The stored record', 'UserRecord'),
          '400': invalid,
          '404': error('user_not_found'),
        }),
        put: adminOperation(
          'Create or replace a user; persisted, and served by the next endpoint call',
          {
            '200': answer('Replaced: the stored record', 'UserRecord'),
            '201': answer('Created: the stored record', 'UserRecord'),
            '400': invalid,
            '413': error('payload_too_large'),
            '415': error('unsupported_media_type: the body must be application/json'),
          },
          { requestBody: body('UserRecordInput', 'The record; a userToken in it must match the path') },
        ),
        delete: adminOperation('Delete a user', {
          '204': noContent('Deleted'),
          '400': invalid,
          '404': error('user_not_found'),
        }),
      },
      '/api/requests': {
        get: adminOperation(
          'The request log, newest first',
          { '200': answer('Recent requests to the endpoint', 'RequestList'), '400': invalid },
          { parameters: queryParameters(RequestListQuerySchema, { limit: 'Entries to return' }) },
        ),
        delete: adminOperation('Clear the request log', { '204': noContent('Cleared') }),
      },
      '/api/requests/stream': {
        get: adminOperation(
          'Server-sent events: one `data: <RequestLogEntry JSON>` per request as it completes',
          {
            '200': {
              description: 'An event stream; a comment line every 15 s keeps it open',
              content: { 'text/event-stream': { schema: { type: 'string' } } },
            },
            '429': error('too_many_streams'),
          },
          {
            security: [{ adminToken: [] }, { adminTokenQuery: [] }],
            description: 'EventSource cannot send headers, so the admin token may also come as ?token=.',
          },
        ),
      },
      '/api/openapi.json': {
        get: adminOperation('This document', { '200': { description: 'OpenAPI 3.1 document' } }),
      },
    },
    components: {
      schemas: generateSchemas(componentSchemas(tokenField)),
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN, when set' },
        adminTokenQuery: { type: 'apiKey', in: 'query', name: 'token', description: 'The stream only' },
      },
    },
  }
}
