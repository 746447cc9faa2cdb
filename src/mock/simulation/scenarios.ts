import { z } from 'zod'

// The scenario vocabulary (README: QA guide). A scenario is written the same way everywhere (admin API, SIMULATE, a
// user's `simulate` field): a bare name, an object with its parameters, or a sequence. The written
// form is validated and kept as written; `resolveSpec` fills the defaults when it is used.

const MAX_MS = 600_000
const ms = z.number().int().min(0).max(MAX_MS)
const strict = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape)

const ErrorStatusSchema = z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)])

const ok = strict({ scenario: z.literal('ok') })
const slow = strict({ scenario: z.literal('slow'), delayMs: ms.optional(), jitterMs: ms.optional() })
const notFound = strict({ scenario: z.literal('not_found') })
const unauthorized = strict({ scenario: z.literal('unauthorized') })
const error = strict({ scenario: z.literal('error'), status: ErrorStatusSchema.optional() })
const reset = strict({ scenario: z.literal('reset') })
const hang = strict({ scenario: z.literal('hang'), maxMs: ms.optional() })
const malformed = strict({ scenario: z.literal('malformed') })
const wrongShape = strict({ scenario: z.literal('wrong_shape') })
const down = strict({ scenario: z.literal('down'), durationMs: ms.optional() })

/** Scenarios that act on one request: the items a sequence or `flaky` may hold. */
const PLAIN_SCENARIO_NAMES = [
  'ok',
  'slow',
  'not_found',
  'unauthorized',
  'error',
  'reset',
  'hang',
  'malformed',
  'wrong_shape',
] as const
export const SCENARIO_NAMES = [...PLAIN_SCENARIO_NAMES, 'down', 'flaky'] as const
export type ScenarioName = (typeof SCENARIO_NAMES)[number]
export type PlainScenarioName = (typeof PLAIN_SCENARIO_NAMES)[number]

const plainObjects = [ok, slow, notFound, unauthorized, error, reset, hang, malformed, wrongShape] as const
const plainObject = z.discriminatedUnion('scenario', [...plainObjects])
/** A plain scenario as written: its bare name or its object. */
const PlainScenarioSpecSchema = z.union([z.enum(PLAIN_SCENARIO_NAMES), plainObject])

const flaky = strict({
  scenario: z.literal('flaky'),
  failWith: PlainScenarioSpecSchema.optional(),
  windowMs: ms.optional(),
})

const scenarioObject = z.discriminatedUnion('scenario', [...plainObjects, down, flaky])

const SequenceSpecSchema = strict({
  sequence: z.array(PlainScenarioSpecSchema).min(1).max(100),
  windowMs: ms.optional(),
})

/** Any scenario as written: `"slow"`, `{"scenario":"slow","delayMs":6000}` or `{"sequence":[…]}`. */
export const SimulationSpecSchema = z
  .union([z.enum(SCENARIO_NAMES), scenarioObject, SequenceSpecSchema])
  .meta({ id: 'Simulation' })
export type SimulationSpec = z.infer<typeof SimulationSpecSchema>
export type PlainScenarioSpec = z.infer<typeof PlainScenarioSpecSchema>

const limits = {
  count: z.number().int().min(1).optional(),
  probability: z.number().min(0).max(1).optional(),
}

/**
 * The run-time override (PUT /api/simulation): a scenario or sequence plus `count` (only the next N
 * requests) and `probability` (chaos). `down` takes neither.
 */
export const OverrideSpecSchema = z
  .union([
    z.enum(SCENARIO_NAMES),
    z.discriminatedUnion('scenario', [
      ok.extend(limits),
      slow.extend(limits),
      notFound.extend(limits),
      unauthorized.extend(limits),
      error.extend(limits),
      reset.extend(limits),
      hang.extend(limits),
      malformed.extend(limits),
      wrongShape.extend(limits),
      down,
      flaky.extend(limits),
    ]),
    SequenceSpecSchema.extend(limits),
  ])
  .meta({ id: 'Override' })
export type OverrideSpec = z.infer<typeof OverrideSpecSchema>

// The same scenarios with every default filled in: what the server acts on and what GET shows.
export type Scenario =
  | { scenario: 'ok' }
  | { scenario: 'slow'; delayMs: number; jitterMs: number }
  | { scenario: 'not_found' }
  | { scenario: 'unauthorized' }
  | { scenario: 'error'; status: 500 | 502 | 503 | 504 }
  | { scenario: 'reset' }
  | { scenario: 'hang'; maxMs: number }
  | { scenario: 'malformed' }
  | { scenario: 'wrong_shape' }
  | { scenario: 'down'; durationMs: number }
  | { scenario: 'flaky'; failWith: PlainScenario; windowMs: number }
export type PlainScenario = Exclude<Scenario, { scenario: 'down' | 'flaky' }>
export type Sequence = { sequence: PlainScenario[]; windowMs: number }
export type Simulation = Scenario | Sequence

const DEFAULT_WINDOW_MS = 10_000

export function isDown(
  simulation: Simulation | null | undefined,
): simulation is { scenario: 'down'; durationMs: number } {
  return simulation != null && 'scenario' in simulation && simulation.scenario === 'down'
}

function fillPlain(spec: PlainScenarioSpec): PlainScenario {
  const filled = fillScenario(spec)
  return filled as PlainScenario
}

function fillScenario(spec: PlainScenarioSpec | Exclude<SimulationSpec, { sequence: unknown }>): Scenario {
  const s = typeof spec === 'string' ? ({ scenario: spec } as Exclude<typeof spec, string>) : spec
  switch (s.scenario) {
    case 'slow':
      return { scenario: 'slow', delayMs: s.delayMs ?? 6000, jitterMs: s.jitterMs ?? 0 }
    case 'error':
      return { scenario: 'error', status: s.status ?? 500 }
    case 'hang':
      return { scenario: 'hang', maxMs: s.maxMs ?? 60_000 }
    case 'down':
      return { scenario: 'down', durationMs: s.durationMs ?? 10_000 }
    case 'flaky':
      return {
        scenario: 'flaky',
        failWith: s.failWith === undefined ? { scenario: 'error', status: 503 } : fillPlain(s.failWith),
        windowMs: s.windowMs ?? DEFAULT_WINDOW_MS,
      }
    default:
      return { scenario: s.scenario }
  }
}

/** Fills every default of a written scenario or sequence. */
export function fillDefaults(spec: SimulationSpec): Simulation {
  if (typeof spec === 'object' && 'sequence' in spec) {
    return { sequence: spec.sequence.map(fillPlain), windowMs: spec.windowMs ?? DEFAULT_WINDOW_MS }
  }
  return fillScenario(spec)
}

/** Splits an override into its scenario and its limits. */
export function splitOverride(spec: OverrideSpec): {
  simulation: Simulation
  count?: number
  probability?: number
} {
  if (typeof spec === 'string') return { simulation: fillDefaults(spec) }
  const { count, probability, ...rest } = spec as Exclude<OverrideSpec, string> & {
    count?: number
    probability?: number
  }
  return {
    simulation: fillDefaults(rest as SimulationSpec),
    ...(count === undefined ? {} : { count }),
    ...(probability === undefined ? {} : { probability }),
  }
}

const MAIN_PARAMETER: Partial<Record<ScenarioName, string>> = {
  slow: 'delayMs',
  error: 'status',
  down: 'durationMs',
  hang: 'maxMs',
  flaky: 'windowMs',
}

/**
 * Reads `SIMULATE`: JSON (`{"scenario":"slow","delayMs":6000}`, a sequence) or the short form `NAME`
 * or `NAME:N`, N filling the main parameter. Returns the reason when it is not valid.
 */
export function parseSimulateText(
  text: string,
): { ok: true; spec: SimulationSpec } | { ok: false; reason: string } {
  const trimmed = text.trim()
  let candidate: unknown
  if (trimmed.startsWith('{') || trimmed.startsWith('"')) {
    try {
      candidate = JSON.parse(trimmed)
    } catch {
      return { ok: false, reason: 'is not valid JSON' }
    }
  } else {
    const match = /^([a-z_]+)(?::(\d+))?$/.exec(trimmed)
    if (!match)
      return { ok: false, reason: `must be a scenario (${SCENARIO_NAMES.join(', ')}), NAME:N or JSON` }
    const [, name = '', n] = match
    if (!(SCENARIO_NAMES as readonly string[]).includes(name)) {
      return { ok: false, reason: `unknown scenario "${name}" (allowed: ${SCENARIO_NAMES.join(', ')})` }
    }
    if (n === undefined) candidate = name
    else {
      const parameter = MAIN_PARAMETER[name as ScenarioName]
      if (!parameter) return { ok: false, reason: `scenario "${name}" takes no number` }
      candidate = { scenario: name, [parameter]: Number(n) }
    }
  }
  const parsed = SimulationSpecSchema.safeParse(candidate)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''
    return { ok: false, reason: `${where}${issue?.message ?? 'is not a scenario'}` }
  }
  return { ok: true, spec: parsed.data }
}
