import { z } from 'zod'
import {
  OVERRIDE_LIMITS,
  PLAIN_SCENARIO_NAMES,
  SCENARIOS,
  SEQUENCE_PARAMETERS,
  takesLimits,
} from '../simulation/scenarios.js'

// GET /api/scenarios: every scenario's parameters with type, range, default and description, read from
// the zod schemas in simulation/scenarios.ts, so a client (the dashboard) repeats no default.

const ParameterInfoSchema = z.strictObject({
  name: z.string(),
  type: z
    .enum(['integer', 'number', 'enum', 'scenario'])
    .describe('`enum`: one of `values`; `scenario`: a plain scenario, written as a name or an object'),
  minimum: z.number().optional(),
  maximum: z.number().optional(),
  values: z.array(z.union([z.string(), z.number()])).optional(),
  default: z.unknown().optional().describe('What an absent parameter means'),
  description: z.string(),
})
type ParameterInfo = z.infer<typeof ParameterInfoSchema>

export const ScenarioCatalogueSchema = z.strictObject({
  scenarios: z.array(
    z.strictObject({
      name: z.string(),
      description: z.string(),
      parameters: z.array(ParameterInfoSchema),
      limits: z.boolean().describe('Whether PUT /api/simulation takes the override parameters with it'),
    }),
  ),
  override: z
    .strictObject({ parameters: z.array(ParameterInfoSchema) })
    .describe('What PUT /api/simulation takes beside a scenario (not with down or a TLS fault)'),
  sequence: z
    .strictObject({ parameters: z.array(ParameterInfoSchema) })
    .describe('What a {"sequence":[…]} takes beside its items'),
})
type ScenarioCatalogue = z.infer<typeof ScenarioCatalogueSchema>

type JsonSchema = {
  type?: string
  enum?: (string | number)[]
  minimum?: number
  maximum?: number
  anyOf?: unknown
}

/** A parameter as the catalogue shows it, from the JSON Schema zod generates for it. */
function describeParameter(
  name: string,
  schema: z.ZodType,
  description: string,
  fallback?: unknown,
): ParameterInfo {
  const json = z.toJSONSchema(schema, { io: 'input' }) as JsonSchema
  const info: ParameterInfo = { name, type: 'scenario', description }
  if (json.enum) {
    info.type = 'enum'
    info.values = json.enum
  } else if (json.type === 'integer' || json.type === 'number') {
    info.type = json.type
    if (json.minimum !== undefined) info.minimum = json.minimum
    // zod writes the largest safe integer for an unbounded int: no real bound, so none is shown.
    if (json.maximum !== undefined && json.maximum < Number.MAX_SAFE_INTEGER) info.maximum = json.maximum
  } else {
    info.values = [...PLAIN_SCENARIO_NAMES]
  }
  if (fallback !== undefined) info.default = fallback
  // The description last, as the schema lists it: name and type first, then the range.
  const { description: text, ...rest } = info
  return { ...rest, description: text }
}

function describeParameters(
  parameters: Record<string, { schema: z.ZodType; default: unknown; description: string }>,
) {
  return Object.entries(parameters).map(([name, p]) =>
    describeParameter(name, p.schema, p.description, p.default),
  )
}

export function scenarioCatalogue(): ScenarioCatalogue {
  return {
    scenarios: SCENARIOS.map((s) => ({
      name: s.name,
      description: s.description,
      parameters: describeParameters(s.parameters),
      limits: takesLimits(s.name),
    })),
    override: {
      parameters: Object.entries(OVERRIDE_LIMITS).map(([name, schema]) =>
        describeParameter(name, schema.unwrap(), schema.description ?? name),
      ),
    },
    sequence: { parameters: describeParameters(SEQUENCE_PARAMETERS) },
  }
}
