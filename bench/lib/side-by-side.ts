import { setTimeout as sleep } from 'node:timers/promises'
import type { TargetName } from '../targets/index.js'
import { sampleCpu } from './cpu.js'
import { type RunningTarget, startTarget, stopTarget, type TargetContext } from './harness.js'
import { drive, preflight, type SignedRequest } from './load.js'
import { markdown, median } from './report.js'

// Two targets measured at the same time: both servers started, warmed up and driven together for the same
// seconds, half the connections each, and each one's CPU a request read over that same window. This
// machine's speed moves by 2–3× over minutes (bench/RESULTS.md): runs one after the other compare moments
// as much as servers, while two servers sharing the moment share whatever the machine is doing. The CPU a
// request is what a pair compares: when a server is CPU-bound, its throughput is the inverse.

/**
 * A pair's target, when it has one: a's throughput at least `throughputAtLeast`× b's when both are
 * CPU-bound (a's CPU a request at most its inverse), or a's extra CPU a request at most `costAtMost` of b's.
 */
type PairTarget = { throughputAtLeast: number } | { costAtMost: number }

export interface Pair {
  a: TargetName
  b: TargetName
  /** What a's extra CPU over b's is the cost of. */
  measures: string
  target?: PairTarget
}

export const PAIRS: readonly Pair[] = [
  {
    a: 'project-info',
    b: 'bare',
    measures: 'everything on, at info, against bare node:http doing the same work',
    target: { throughputAtLeast: 0.85 },
  },
  {
    a: 'project-info',
    b: 'bare-headers',
    measures: 'everything on, at info, against bare node:http sending the same answer headers',
  },
  {
    a: 'bare-headers',
    b: 'bare',
    measures: "the answer headers every answer carries (helmet's defaults, no-store)",
  },
  {
    a: 'project-lean',
    b: 'bare-headers',
    measures: "the project's own work (no admin API, warn) against bare node:http with the same headers",
  },
  {
    a: 'project-warn',
    b: 'project-lean',
    measures: "the admin API: the request log and the metrics' counting",
  },
  { a: 'project-info', b: 'project-warn', measures: 'an info line a request' },
  {
    a: 'project-info',
    b: 'project-info-no-metrics',
    measures: "GET /metrics's counting",
    target: { costAtMost: 0.03 },
  },
]

/** What one round of a pair measured, and what the rounds' summary shows of it. */
interface PairFigures {
  aCpuUs: number
  bCpuUs: number
  aReqPerSec: number
  bReqPerSec: number
  non2xx: number
  errors: number
}

export interface PairRun extends PairFigures {
  pair: Pair
  users: number
  round: number
}

/** The pairs whose two targets both run in this benchmark. */
export function pairsFor(targets: readonly TargetName[]): Pair[] {
  return PAIRS.filter((pair) => targets.includes(pair.a) && targets.includes(pair.b))
}

export async function measurePair(
  pair: Pair,
  context: TargetContext,
  pool: readonly SignedRequest[],
  options: { connections: number; warmup: number; duration: number },
  readyTimeoutMs: number,
): Promise<Omit<PairRun, 'users' | 'round'>> {
  const started: RunningTarget[] = []
  try {
    for (const name of [pair.a, pair.b]) started.push(await startTarget(name, context, readyTimeoutMs))
    const [a, b] = started as [RunningTarget, RunningTarget]
    await Promise.all(started.map((target) => preflight(target.url, pool[0] as SignedRequest)))
    const connections = Math.max(1, Math.floor(options.connections / 2))
    // Each half of the connections starts at its own place in the pool, so the two do not ask in step.
    const half = pool.slice(pool.length / 2).concat(pool.slice(0, pool.length / 2))
    const both = (seconds: number) =>
      Promise.all([drive(a.url, pool, connections, seconds), drive(b.url, half, connections, seconds)])
    await both(options.warmup)
    const before = [sampleCpu(a.pid).server, sampleCpu(b.pid).server]
    const [loadA, loadB] = await both(options.duration)
    const after = [sampleCpu(a.pid).server, sampleCpu(b.pid).server]
    const perRequest = (seconds: number, responses: number) => (seconds * 1e6) / Math.max(1, responses)
    return {
      pair,
      aCpuUs: perRequest((after[0] as number) - (before[0] as number), loadA.responses),
      bCpuUs: perRequest((after[1] as number) - (before[1] as number), loadB.responses),
      aReqPerSec: loadA.reqPerSec,
      bReqPerSec: loadB.reqPerSec,
      non2xx: loadA.non2xx + loadB.non2xx,
      errors: loadA.errors + loadB.errors,
    }
  } finally {
    for (const target of started) await stopTarget(target)
    await sleep(300)
  }
}

interface PairSummary extends PairFigures {
  pair: Pair
  users: number
  rounds: number
  /** a's CPU a request over b's, the median of the rounds' ratios, and their range. */
  ratio: number
  low: number
  high: number
}

export function summarisePairs(runs: readonly PairRun[]): PairSummary[] {
  const groups = new Map<string, PairRun[]>()
  for (const run of runs) {
    const key = `${run.pair.a}|${run.pair.b}|${run.users}`
    groups.set(key, [...(groups.get(key) ?? []), run])
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as PairRun
    const ratios = group.map((run) => run.aCpuUs / run.bCpuUs)
    return {
      pair: first.pair,
      users: first.users,
      rounds: group.length,
      ratio: median(ratios),
      low: Math.min(...ratios),
      high: Math.max(...ratios),
      aCpuUs: median(group.map((run) => run.aCpuUs)),
      bCpuUs: median(group.map((run) => run.bCpuUs)),
      aReqPerSec: median(group.map((run) => run.aReqPerSec)),
      bReqPerSec: median(group.map((run) => run.bReqPerSec)),
      non2xx: group.reduce((sum, run) => sum + run.non2xx, 0),
      errors: group.reduce((sum, run) => sum + run.errors, 0),
    }
  })
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

export function pairTable(summaries: readonly PairSummary[]): string {
  return markdown(
    [
      'a',
      'b',
      'users',
      'a CPU µs/req',
      'b CPU µs/req',
      'a / b CPU (median of rounds)',
      'rounds range',
      'a req/s',
      'b req/s',
      'non-2xx',
      'errors',
      'a over b is',
    ],
    summaries.map((s) => [
      s.pair.a,
      s.pair.b,
      integer.format(s.users),
      s.aCpuUs.toFixed(1),
      s.bCpuUs.toFixed(1),
      `${s.ratio.toFixed(2)}×`,
      `${s.low.toFixed(2)}–${s.high.toFixed(2)}`,
      integer.format(s.aReqPerSec),
      integer.format(s.bReqPerSec),
      String(s.non2xx),
      String(s.errors),
      s.pair.measures,
    ]),
  )
}

/** What each pair reads off its summary, and its target's verdict where it has one; informative only. */
export function pairChecks(summaries: readonly PairSummary[]): string[] {
  const mark = (ok: boolean) => (ok ? 'met' : 'NOT met')
  return summaries.map(({ pair, users, ratio }) => {
    const reading = `${integer.format(users)} users, side by side: ${pair.a} against ${pair.b}, ${pair.measures}: CPU a request ${ratio.toFixed(2)}×`
    const target = pair.target
    if (target === undefined) return `- ${reading}`
    if ('throughputAtLeast' in target) {
      // CPU-bound, throughput is the inverse of the CPU a request.
      const throughput = 1 / ratio
      return `- ${reading}, so ${throughput.toFixed(2)}× ${pair.b}'s throughput when each is CPU-bound (≥ ${target.throughputAtLeast}×): ${mark(throughput >= target.throughputAtLeast)}`
    }
    const cost = ratio - 1
    return `- ${reading}, a cost of ${(cost * 100).toFixed(1)}% (≤ ${target.costAtMost * 100}%): ${mark(cost <= target.costAtMost)}`
  })
}
