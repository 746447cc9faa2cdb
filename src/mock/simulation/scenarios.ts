import { z } from 'zod'

// The scenario vocabulary (README: QA guide). A scenario is written the same way everywhere (admin API, SIMULATE, a
// user's `simulate` field): a bare name, an object with its parameters, or a sequence. The written
// form is validated and kept as written; `fillDefaults` fills the defaults when it is used.
//
// Each parameter is declared once below, with its schema, default and description: the written
// schemas (parameter optional, its default shown as a JSON Schema annotation), the filled schemas
// (parameter required: what GET /api/simulation shows), `fillDefaults` and GET /api/scenarios all
// read it from there.

const MAX_MS = 600_000
const ms = z.number().int().min(0).max(MAX_MS)

interface Parameter<T extends z.ZodType = z.ZodType, F extends z.ZodType = z.ZodType> {
  /** The written form. */
  schema: T
  /** The filled form, when it differs (a scenario parameter may be written as a bare name). */
  filled: F
  default: z.output<F>
  description: string
}

function parameter<T extends z.ZodType>(
  schema: T,
  fallback: z.output<T>,
  description: string,
): Parameter<T, T>
function parameter<T extends z.ZodType, F extends z.ZodType>(
  schema: T,
  fallback: z.output<F>,
  description: string,
  filled: F,
): Parameter<T, F>
function parameter(schema: z.ZodType, fallback: unknown, description: string, filled?: z.ZodType) {
  return { schema, filled: filled ?? schema, default: fallback, description }
}

type Parameters = Record<string, Parameter>
type WrittenShape<P extends Parameters> = { [K in keyof P]: z.ZodOptional<P[K]['schema']> }
type FilledShape<P extends Parameters> = { [K in keyof P]: P[K]['filled'] }

function writtenShape<P extends Parameters>(parameters: P): WrittenShape<P> {
  const shape: Record<string, z.ZodType> = {}
  for (const [key, p] of Object.entries(parameters)) {
    shape[key] = p.schema.optional().meta({ default: p.default, description: p.description })
  }
  return shape as WrittenShape<P>
}

function filledShape<P extends Parameters>(parameters: P): FilledShape<P> {
  const shape: Record<string, z.ZodType> = {}
  for (const [key, p] of Object.entries(parameters)) shape[key] = p.filled.describe(p.description)
  return shape as FilledShape<P>
}

/** One scenario: its name, what the caller sees, its parameters, and its written and filled schemas. */
function scenario<N extends string, P extends Parameters = Record<never, Parameter>>(
  name: N,
  description: string,
  parameters: P = {} as P,
  /** The parameter SIMULATE's short form `NAME:N` fills (`slow:6000`). */
  main?: keyof P & string,
) {
  const literal = z.literal(name)
  return {
    name,
    description,
    parameters,
    main,
    written: z.strictObject({ scenario: literal, ...writtenShape(parameters) }),
    filled: z.strictObject({ scenario: literal, ...filledShape(parameters) }),
  }
}

const ok = scenario('ok', 'The normal answer')
const slow = scenario(
  'slow',
  'The normal answer after delayMs ± jitterMs',
  {
    delayMs: parameter(ms, 6000, 'Delay before the answer, in ms (Talki gives up after 5000)'),
    jitterMs: parameter(ms, 0, 'Random spread around delayMs, in ms'),
  },
  'delayMs',
)
const notFound = scenario('not_found', '404 user_not_found, even for a known user')
const unauthorized = scenario('unauthorized', '401 invalid_signature, even for a good signature')
const error = scenario(
  'error',
  'That status with {"error":"simulated_error"}',
  {
    status: parameter(z.literal([500, 502, 503, 504]), 500, 'HTTP status of the answer'),
  },
  'status',
)
const down = scenario(
  'down',
  'The endpoint port refuses connections for durationMs',
  {
    durationMs: parameter(ms, 10_000, 'How long the port stays closed, in ms'),
  },
  'durationMs',
)
const reset = scenario('reset', 'The connection is destroyed without an answer')
const hang = scenario(
  'hang',
  'No answer; the socket is closed after maxMs',
  {
    maxMs: parameter(ms, 60_000, 'How long the socket is held before it is closed, in ms'),
  },
  'maxMs',
)
const malformed = scenario('malformed', '200 with a truncated JSON body')
const wrongShape = scenario('wrong_shape', '200 JSON that breaks the contract (plan a number, nested fields)')
// The TLS faults act on the handshake of each new connection, not on a request: global only (an
// override or SIMULATE, never a user's own `simulate`), without count or probability, and only with TLS on.
const tlsExpired = scenario(
  'tls_expired',
  'New connections get a certificate from the same CA that has expired',
)
const tlsWrongHost = scenario('tls_wrong_host', 'New connections get a certificate for another host name')
const tlsUntrusted = scenario('tls_untrusted', 'New connections get a certificate from an unknown CA')
const tlsHang = scenario(
  'tls_hang',
  'New connections are accepted and the TLS handshake never answered',
  {
    maxMs: parameter(ms, 60_000, 'How long the connection is held before it is closed, in ms'),
  },
  'maxMs',
)

/** Scenarios that act on one request: the items a sequence or `flaky` may hold. */
const PLAIN = [ok, slow, notFound, unauthorized, error, reset, hang, malformed, wrongShape] as const
/** The TLS faults: global scenarios acted on at each new connection's handshake. */
const TLS = [tlsExpired, tlsWrongHost, tlsUntrusted, tlsHang] as const

type Declared = { name: string; written: z.ZodObject; filled: z.ZodObject }
/** The names of a list of scenarios, as a tuple of literals (what `z.enum` takes). */
function namesOf<const T extends readonly Declared[]>(list: T) {
  return list.map((s) => s.name) as { -readonly [K in keyof T]: T[K]['name'] }
}
/** One form (written or filled) of each scenario in a list, as a tuple (what `z.discriminatedUnion` takes). */
function formsOf<const T extends readonly Declared[], F extends 'written' | 'filled'>(list: T, form: F) {
  return list.map((s) => s[form]) as { -readonly [K in keyof T]: T[K][F] }
}

export const PLAIN_SCENARIO_NAMES = namesOf(PLAIN)
export const TLS_SCENARIO_NAMES = namesOf(TLS)
export type ScenarioName = (typeof SCENARIO_NAMES)[number]
export type TlsScenarioName = (typeof TLS_SCENARIO_NAMES)[number]
export type PlainScenarioName = (typeof PLAIN_SCENARIO_NAMES)[number]

/** The plain scenarios' schemas in one form: the items a sequence or `flaky` may hold. */
const plainOf = <F extends 'written' | 'filled'>(form: F) => formsOf(PLAIN, form)
/** A plain scenario as written: its bare name or its object. */
const PlainScenarioSpecSchema = z.union([
  z.enum(PLAIN_SCENARIO_NAMES),
  z.discriminatedUnion('scenario', plainOf('written')),
])
/** A plain scenario with every parameter filled. */
const PlainScenarioSchema = z.discriminatedUnion('scenario', plainOf('filled'))
export type PlainScenario = z.output<typeof PlainScenarioSchema>

const windowMs = parameter(
  ms,
  10_000,
  'A token with no request for this long starts the sequence again, in ms',
)

const flaky = scenario(
  'flaky',
  'Talki’s first attempt gets failWith, its retry 3 s later gets data',
  {
    failWith: parameter(
      PlainScenarioSpecSchema,
      { scenario: 'error', status: 503 },
      'What the first attempt gets: a plain scenario',
      PlainScenarioSchema,
    ),
    windowMs,
  },
  'windowMs',
)

/** What a user's own `simulate` may name: all but the TLS faults, which act on connections. */
const FOR_USERS = [...PLAIN, down, flaky] as const
/** Every scenario, by kind (SCENARIOS below is the same set in the order of the README's table). */
const EVERY = [...FOR_USERS, ...TLS] as const
export const USER_SCENARIO_NAMES = namesOf(FOR_USERS)
export const SCENARIO_NAMES = namesOf(EVERY)

/** Every scenario, in the order of the README's table. */
export const SCENARIOS = [
  ok,
  slow,
  notFound,
  unauthorized,
  error,
  down,
  reset,
  hang,
  malformed,
  wrongShape,
  flaky,
  tlsExpired,
  tlsWrongHost,
  tlsUntrusted,
  tlsHang,
]
const BY_NAME = new Map<string, (typeof SCENARIOS)[number]>(SCENARIOS.map((s) => [s.name, s]))

const sequenceParameters = { windowMs }
const sequence = {
  parameters: sequenceParameters,
  written: z.strictObject({
    sequence: z.array(PlainScenarioSpecSchema).min(1).max(100).describe('Plain scenarios, one per request'),
    ...writtenShape(sequenceParameters),
  }),
  filled: z.strictObject({
    sequence: z.array(PlainScenarioSchema).min(1).max(100).describe('Plain scenarios, one per request'),
    ...filledShape(sequenceParameters),
  }),
}
export const SEQUENCE_PARAMETERS = sequenceParameters

const ScenarioSpecObjectSchema = z.discriminatedUnion('scenario', [...formsOf(EVERY, 'written')])

/** Any scenario as written: `"slow"`, `{"scenario":"slow","delayMs":6000}` or `{"sequence":[…]}`. */
export const SimulationSpecSchema = z
  .union([z.enum(SCENARIO_NAMES), ScenarioSpecObjectSchema, sequence.written])
  .meta({ id: 'Simulation' })
export type SimulationSpec = z.infer<typeof SimulationSpecSchema>

/** A user's own scenario: any scenario or sequence but a TLS fault (global only). */
export const UserSimulationSpecSchema = z
  .union([
    z.enum(USER_SCENARIO_NAMES),
    z.discriminatedUnion('scenario', [...plainOf('written'), down.written, flaky.written]),
    sequence.written,
  ])
  .meta({ id: 'UserSimulation' })
export type UserSimulationSpec = z.infer<typeof UserSimulationSpecSchema>
export type PlainScenarioSpec = z.infer<typeof PlainScenarioSpecSchema>

const ScenarioSchema = z.discriminatedUnion('scenario', formsOf(EVERY, 'filled'))
/** A scenario or sequence with every default filled: what the server acts on and what GET shows. */
export const FilledSimulationSchema = z.union([ScenarioSchema, sequence.filled])
export type Scenario = z.output<typeof ScenarioSchema>
export type Sequence = z.output<typeof sequence.filled>
export type Simulation = Scenario | Sequence

const limits = {
  count: z.number().int().min(1).optional().describe('Only the next N requests the override applies to'),
  probability: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('Chance that a request is affected; a miss goes on as if there were no override'),
}
export const OVERRIDE_LIMITS = limits

/** The scenarios that act on connections rather than requests: they take no `count` or `probability`. */
const WITHOUT_LIMITS = [down, ...TLS] as const
type WithoutLimitsName = (typeof WITHOUT_LIMITS)[number]['name']
const WITHOUT_LIMITS_NAMES: ReadonlySet<string> = new Set(namesOf(WITHOUT_LIMITS))

type WithLimits<O> =
  O extends z.ZodObject<infer S, infer C> ? z.ZodObject<z.core.util.Extend<S, typeof limits>, C> : never

/** One form of each scenario in a list, `count` and `probability` added to those that take them. */
function limitedFormsOf<const T extends readonly Declared[], F extends 'written' | 'filled'>(
  list: T,
  form: F,
) {
  return list.map((s) => (WITHOUT_LIMITS_NAMES.has(s.name) ? s[form] : s[form].extend(limits))) as {
    -readonly [K in keyof T]: T[K]['name'] extends WithoutLimitsName ? T[K][F] : WithLimits<T[K][F]>
  }
}

/** A scenario (but `down` and the TLS faults, which take neither) or a sequence, plus `count` and `probability`. */
function withLimits<F extends 'written' | 'filled'>(form: F) {
  return [
    z.discriminatedUnion('scenario', limitedFormsOf(EVERY, form)),
    sequence[form].extend(limits),
  ] as const
}

/**
 * The run-time override (PUT /api/simulation): a scenario or sequence plus `count` (only the next N
 * requests) and `probability` (chaos). `down` and the TLS faults take neither.
 */
export const OverrideSpecSchema = z
  .union([z.enum(SCENARIO_NAMES), ...withLimits('written')])
  .meta({ id: 'Override' })
export type OverrideSpec = z.infer<typeof OverrideSpecSchema>

/** The override as GET /api/simulation shows it: filled, with its count and probability if set. */
export const FilledOverrideSchema = z.union(withLimits('filled'))

export function isDown(
  simulation: Simulation | null | undefined,
): simulation is { scenario: 'down'; durationMs: number } {
  return simulation != null && 'scenario' in simulation && simulation.scenario === 'down'
}

export type TlsFault = Extract<Scenario, { scenario: TlsScenarioName }>

/** Whether a scenario or spec is a TLS fault (acted on at each new connection's handshake). */
export function isTlsFault(simulation: Simulation | null | undefined): simulation is TlsFault {
  return simulation != null && 'scenario' in simulation && isTlsScenarioName(simulation.scenario)
}

export function isTlsScenarioName(name: unknown): name is TlsScenarioName {
  return (TLS_SCENARIO_NAMES as readonly unknown[]).includes(name)
}

/** The scenario name of a written spec (a bare name or an object), undefined for a sequence. */
export function specName(spec: SimulationSpec | OverrideSpec): string | undefined {
  if (typeof spec === 'string') return spec
  return 'scenario' in spec ? spec.scenario : undefined
}

/** Whether PUT /api/simulation takes `count` and `probability` with this scenario (all but `down` and the TLS faults). */
export function takesLimits(name: string): boolean {
  return !WITHOUT_LIMITS_NAMES.has(name)
}

/**
 * Acted on at the connection rather than per request: `down` (the port closes) and the TLS faults (the
 * handshake). The chooser treats them as no scenario.
 */
export function actsOnConnections(simulation: Simulation | null | undefined): boolean {
  return isDown(simulation) || isTlsFault(simulation)
}

/** Why a user's own `simulate` may not be a TLS fault; undefined when it is not one. */
export function userTlsProblem(simulate: unknown): string | undefined {
  const name =
    typeof simulate === 'object' && simulate !== null
      ? (simulate as { scenario?: unknown }).scenario
      : simulate
  if (!isTlsScenarioName(name)) return undefined
  return `${name} acts on TLS handshakes, not on one user's requests: set it globally (PUT /api/simulation or SIMULATE)`
}

function fillParameters(parameters: Parameters, written: Record<string, unknown>): Record<string, unknown> {
  const filled: Record<string, unknown> = {}
  for (const [key, p] of Object.entries(parameters)) {
    // Only an object default (flaky's failWith) is copied: a caller may keep what it gets.
    const fallback = typeof p.default === 'object' ? structuredClone(p.default) : p.default
    const value = written[key] ?? fallback
    // A parameter whose filled form differs from its written one is a plain scenario (flaky's failWith).
    filled[key] = p.filled === p.schema ? value : fillScenario(value as PlainScenarioSpec)
  }
  return filled
}

function fillScenario(spec: PlainScenarioSpec | Exclude<SimulationSpec, { sequence: unknown }>): Scenario {
  const written: Record<string, unknown> = typeof spec === 'string' ? { scenario: spec } : spec
  const definition = BY_NAME.get(written.scenario as string)
  if (!definition) throw new Error(`unknown scenario ${String(written.scenario)}`)
  return { scenario: definition.name, ...fillParameters(definition.parameters, written) } as Scenario
}

/** Fills every default of a written scenario or sequence. */
export function fillDefaults(spec: SimulationSpec): Simulation {
  if (typeof spec === 'object' && 'sequence' in spec) {
    return {
      sequence: spec.sequence.map((item) => fillScenario(item) as PlainScenario),
      ...fillParameters(sequence.parameters, spec),
    } as Sequence
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

/** The parameter `NAME:N` fills, by scenario, as each scenario declares it. */
const MAIN_PARAMETER = new Map<string, string | undefined>(SCENARIOS.map((s) => [s.name, s.main]))
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
      const parameter = MAIN_PARAMETER.get(name)
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
