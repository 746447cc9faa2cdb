import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { Simulation } from '../simulation/scenarios.js'

// GET /metrics on the admin port (Prometheus text format, prom-client). One registry per mock, labelled
// with its replica (REPLICA_ID), so each replica reports its own counts and nothing is summed across
// replicas: Prometheus scrapes each and sums itself. The request path only writes a request's status,
// scenario and time into arrays that reach prom-client in batches (see `flush`); everything else is read
// when scraped.

/** `text/plain; version=0.0.4; charset=utf-8`: what the exposition format is served as. */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE

/** Seconds: around the 5 s Talki waits, finer below 10 ms where an in-memory answer lands. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** A lookup that failed: the store threw, or missed LOOKUP_TIMEOUT_MS (the endpoint answered 503 either way). */
export type LookupFailure = 'store_unavailable' | 'lookup_timeout'

/** What the endpoint records, once per request. */
export interface RequestMetrics {
  /** An exchange that ended: `status` null when nothing was answered (cut by a scenario, or the caller left). */
  request(status: number | null, scenario: string | null, seconds: number): void
  /** A user lookup, and why it failed if it did. */
  lookup(failure?: LookupFailure): void
}

/** The simulation in force when scraped: the admin API's override, else SIMULATE's scenario. */
export interface ActiveSimulation {
  override: { simulation: Simulation } | null
  startup: Simulation | null
}

export interface Metrics extends RequestMetrics {
  /** The exposition text, the override gauge read first. */
  render(): Promise<string>
}

const NONE = 'none'
/** Requests counted before their counts go to prom-client (see `flush`). */
const PENDING = 1024

function scenarioName(simulation: Simulation): string {
  return 'scenario' in simulation ? simulation.scenario : 'sequence'
}

/** `active` is read at each scrape for the override gauge; when it fails (Redis lost) the gauge keeps its value. */
export function createMetrics(options: {
  replica: string
  active?: () => ActiveSimulation | Promise<ActiveSimulation>
}): Metrics {
  const { active } = options
  const registry = new Registry()
  registry.setDefaultLabels({ replica: options.replica })
  collectDefaultMetrics({ register: registry })

  const requests = new Counter({
    name: 'talki_endpoint_requests_total',
    help: 'Requests to the endpoint by answer status ("none": no answer, cut by a scenario or the caller left) and scenario applied ("none": answered normally)',
    labelNames: ['status', 'scenario'] as const,
    registers: [registry],
  })
  const latency = new Histogram({
    name: 'talki_endpoint_request_duration_seconds',
    help: 'From the request arriving to its answer written (or the connection ending), scenarios included',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  })
  const lookups = new Counter({
    name: 'talki_store_lookups_total',
    help: 'User lookups in the store (JSON file or PostgreSQL), one per request whose signature and body passed',
    registers: [registry],
  })
  const failures = new Counter({
    name: 'talki_store_lookup_failures_total',
    help: 'Lookups answered 503: the store failed (store_unavailable) or missed LOOKUP_TIMEOUT_MS (lookup_timeout)',
    labelNames: ['reason'] as const,
    registers: [registry],
  })
  const override = new Gauge({
    name: 'talki_override_active',
    help: 'The global scenario in force on this replica: 1 with its name and source (admin: PUT /api/simulation; SIMULATE), or 0 with scenario="none"',
    labelNames: ['scenario', 'source'] as const,
    registers: [registry],
  })
  override.set({ scenario: NONE, source: NONE }, 0)

  // One child per status and scenario seen, its labels made once rather than on every request.
  const children = new Map<string, { inc(): void }>()
  const child = (status: number | null, scenario: string | null) => {
    const key = `${status}\u0000${scenario}`
    let found = children.get(key)
    if (found === undefined) {
      found = requests.labels(status === null ? NONE : String(status), scenario ?? NONE)
      children.set(key, found)
    }
    return found
  }
  const failureChildren = {
    store_unavailable: failures.labels('store_unavailable'),
    lookup_timeout: failures.labels('lookup_timeout'),
  }
  // Both reasons show from the first scrape, at 0, so a rate over them needs no `absent()`.
  failures.inc({ reason: 'store_unavailable' }, 0)
  failures.inc({ reason: 'lookup_timeout' }, 0)

  const showActive = (active: ActiveSimulation) => {
    override.reset()
    const simulation = active.override?.simulation ?? active.startup
    if (simulation === null) override.set({ scenario: NONE, source: NONE }, 0)
    else
      override.set({ scenario: scenarioName(simulation), source: active.override ? 'admin' : 'SIMULATE' }, 1)
  }

  // A request's counts wait in these arrays and go to prom-client in one pass, when the arrays are full or
  // a scrape comes: the request path then only writes to the next slot, and prom-client's own structures
  // are touched once per PENDING requests rather than between every two (bench/RESULTS.md, side by side).
  const pendingStatus = new Float64Array(PENDING) // NaN: no answer
  const pendingSeconds = new Float64Array(PENDING)
  const pendingScenario: (string | null)[] = new Array(PENDING).fill(null)
  let pending = 0
  let pendingLookups = 0
  const flush = () => {
    for (let i = 0; i < pending; i += 1) {
      const status = pendingStatus[i] as number
      child(Number.isNaN(status) ? null : status, pendingScenario[i] ?? null).inc()
      latency.observe(pendingSeconds[i] as number)
      pendingScenario[i] = null
    }
    pending = 0
    if (pendingLookups > 0) lookups.inc(pendingLookups)
    pendingLookups = 0
  }

  return {
    request(status, scenario, seconds) {
      pendingStatus[pending] = status ?? Number.NaN
      pendingScenario[pending] = scenario
      pendingSeconds[pending] = seconds
      pending += 1
      if (pending === PENDING) flush()
    },
    lookup(failure) {
      pendingLookups += 1
      if (failure !== undefined) failureChildren[failure].inc()
    },
    async render() {
      if (active) {
        try {
          showActive(await active())
        } catch {
          // An engine that cannot answer now (Redis lost): the gauge keeps the last value it read.
        }
      }
      flush()
      return registry.metrics()
    },
  }
}
