import { existsSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import type { LoadResult } from './load.js'
import type { TargetName } from './options.js'
import type { Lateness, SlowResult } from './slow.js'

export interface RunRecord {
  target: TargetName
  users: number
  round: number
  startupMs: number
  load: LoadResult
  /** VmHWM after the run: the largest resident set since start, loading the store included. */
  peakRssKb: number | null
  /** The largest VmRSS seen while the load ran. */
  loadRssKb: number | null
  /** Percent of one core used by other processes during the measured run (see cpu.ts). */
  othersCpu: number
  /** The server's CPU time (user + system) during the measured run, per response, in µs. */
  serverCpuUs: number
  /** The same for the engines the server uses (redis-server, PostgreSQL with its sessions); null without. */
  engineCpuUs: number | null
}

export interface Summary {
  target: TargetName
  users: number
  runs: number
  reqPerSec: number
  p50: number
  p99: number
  peakRssKb: number | null
  loadRssKb: number | null
  non2xx: number
  errors: number
  startupMs: number
  othersCpu: number
  serverCpuUs: number
  engineCpuUs: number | null
}

/** The median of the known values: a run with no answers has NaN percentiles and is left out. */
export function median(values: readonly number[]): number {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const middle = Math.floor(sorted.length / 2)
  const upper = sorted[middle] as number
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] as number) + upper) / 2
}

function medianOrNull(values: readonly (number | null)[]): number | null {
  const known = values.filter((value): value is number => value !== null)
  return known.length === 0 ? null : median(known)
}

/** Medians over the rounds of each target and size; error counts are summed, never averaged away. */
export function summarise(records: readonly RunRecord[]): Summary[] {
  const groups = new Map<string, RunRecord[]>()
  for (const record of records) {
    const key = `${record.users}\u0000${record.target}`
    groups.set(key, [...(groups.get(key) ?? []), record])
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as RunRecord
    return {
      target: first.target,
      users: first.users,
      runs: group.length,
      reqPerSec: median(group.map((r) => r.load.reqPerSec)),
      p50: median(group.map((r) => r.load.p50)),
      p99: median(group.map((r) => r.load.p99)),
      peakRssKb: medianOrNull(group.map((r) => r.peakRssKb)),
      loadRssKb: medianOrNull(group.map((r) => r.loadRssKb)),
      non2xx: group.reduce((sum, r) => sum + r.load.non2xx, 0),
      errors: group.reduce((sum, r) => sum + r.load.errors, 0),
      startupMs: median(group.map((r) => r.startupMs)),
      othersCpu: Math.max(...group.map((r) => r.othersCpu)),
      serverCpuUs: median(group.map((r) => r.serverCpuUs)),
      engineCpuUs: medianOrNull(group.map((r) => r.engineCpuUs)),
    }
  })
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })
const mb = (kb: number | null) => (kb === null ? '—' : integer.format(kb / 1024))
const ms = (value: number) => (Number.isNaN(value) ? '—' : value.toFixed(2))

function ratio(summary: Summary, all: readonly Summary[], baseline: TargetName): string {
  const base = all.find((s) => s.users === summary.users && s.target === baseline)
  if (base === undefined || base.reqPerSec <= 0) return '—'
  return `${(summary.reqPerSec / base.reqPerSec).toFixed(2)}×`
}

const TABLE_HEADER = [
  'target',
  'users',
  'req/s',
  'p50 ms',
  'p99 ms',
  'peak RSS MB',
  'RSS under load MB',
  'non-2xx',
  'errors',
  '× vendor',
  '× bare',
  'server CPU µs/req',
  'engines CPU µs/req',
  'others CPU %',
] as const

export function markdown(header: readonly string[], rows: readonly string[][]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

export function throughputTable(summaries: readonly Summary[]): string {
  const rows = summaries.map((s) => [
    s.target,
    integer.format(s.users),
    integer.format(s.reqPerSec),
    ms(s.p50),
    ms(s.p99),
    mb(s.peakRssKb),
    mb(s.loadRssKb),
    String(s.non2xx),
    String(s.errors),
    ratio(s, summaries, 'vendor'),
    ratio(s, summaries, 'bare'),
    integer.format(s.serverCpuUs),
    s.engineCpuUs === null ? '—' : integer.format(s.engineCpuUs),
    integer.format(s.othersCpu),
  ])
  return markdown(TABLE_HEADER, rows)
}

export function startupTable(summaries: readonly Summary[]): string {
  const rows = summaries.map((s) => [
    s.target,
    integer.format(s.users),
    integer.format(s.startupMs),
    String(s.runs),
  ])
  return markdown(['target', 'users', 'start-up to ready ms (median)', 'starts'], rows)
}

export function slowTable(results: readonly SlowResult[]): string {
  const server = (slow: SlowResult, pick: (late: Lateness) => number) =>
    slow.serverLate === null ? '—' : ms(pick(slow.serverLate))
  return markdown(
    [
      'sent',
      'in flight at peak',
      'delayMs',
      'late p50 ms',
      'late p99 ms',
      'late max ms',
      'late min ms',
      'server-side late p50 / p99 / max ms',
      'non-200',
    ],
    results.map((slow) => [
      slow.spreadMs > 0 ? `${slow.concurrency} over ${slow.spreadMs} ms` : `${slow.concurrency} at once`,
      String(slow.peakInFlight),
      String(slow.delayMs),
      ms(slow.late.p50),
      ms(slow.late.p99),
      ms(slow.late.max),
      ms(slow.late.min),
      `${server(slow, (late) => late.p50)} / ${server(slow, (late) => late.p99)} / ${server(slow, (late) => late.max)}`,
      String(slow.non200),
    ]),
  )
}

/**
 * The performance targets (docs/benchmarks.md), read off this run: informative only, nothing here fails the
 * command. A comparison that side-by-side.ts measured as a pair at a size is read off the pair there, not
 * here (`sideBySide`), so one run gives one verdict per target.
 */
export function targetChecks(
  summaries: readonly Summary[],
  slow: SlowResult | undefined,
  sideBySide: (a: TargetName, b: TargetName, users: number) => boolean = () => false,
): string[] {
  const find = (target: TargetName, users: number) =>
    summaries.find((s) => s.target === target && s.users === users)
  const sizes = [...new Set(summaries.map((s) => s.users))].sort((a, b) => a - b)
  const mark = (ok: boolean) => (ok ? 'met' : 'NOT met')
  const lines: string[] = []
  for (const users of sizes) {
    const warn = find('project-warn', users)
    const vendor = find('vendor', users)
    const info = find('project-info', users)
    const engines = find('project-engines', users)
    // The same server on PostgreSQL and Redis, read against the vendor sample and the embedded project
    // (project-warn, same log level and admin API; project-info when warn did not run).
    const embedded = warn ?? info
    if (engines !== undefined && (vendor !== undefined || embedded !== undefined)) {
      const parts = [
        vendor &&
          `${(engines.reqPerSec / vendor.reqPerSec).toFixed(2)}× the vendor sample (≥ 1.0×): ${mark(engines.reqPerSec >= vendor.reqPerSec)}`,
        embedded &&
          `${(engines.reqPerSec / embedded.reqPerSec).toFixed(2)}× ${embedded.target} (aim ≥ 0.5×): ${mark(engines.reqPerSec >= 0.5 * embedded.reqPerSec)}`,
      ].filter(Boolean)
      lines.push(
        `${integer.format(users)} users: project-engines (PostgreSQL + Redis) throughput ${parts.join('; ')}`,
      )
    }
    // Against bare node:http doing the same work: throughput and the server's CPU a request.
    const bare = find('bare', users)
    if (bare !== undefined) {
      for (const [target, floor] of [
        [info, 0.85],
        [warn, 0.9],
      ] as const) {
        if (target === undefined || sideBySide(target.target, 'bare', users)) continue
        const r = target.reqPerSec / bare.reqPerSec
        const cpu = target.serverCpuUs / bare.serverCpuUs
        lines.push(
          `${integer.format(users)} users: ${target.target} ${r.toFixed(2)}× bare's throughput (≥ ${floor}×${target === info ? ', aim 0.9×' : ''}): ${mark(r >= floor)}; ` +
            `server CPU a request ${integer.format(target.serverCpuUs)} µs, ${cpu.toFixed(2)}× bare's ${integer.format(bare.serverCpuUs)} µs (≤ 1.2×): ${mark(cpu <= 1.2)}`,
        )
      }
      const headers = find('bare-headers', users)
      if (headers !== undefined) {
        lines.push(
          `${integer.format(users)} users: bare with this project's answer headers (helmet's defaults) ${(headers.reqPerSec / bare.reqPerSec).toFixed(2)}× bare's throughput, ` +
            `server CPU a request +${integer.format(headers.serverCpuUs - bare.serverCpuUs)} µs: what the headers alone cost`,
        )
      }
    }
    const noMetrics = find('project-info-no-metrics', users)
    if (info !== undefined && noMetrics !== undefined && !sideBySide(info.target, noMetrics.target, users)) {
      const cost = 1 - info.reqPerSec / noMetrics.reqPerSec
      lines.push(
        `${integer.format(users)} users: GET /metrics's counting costs ${(cost * 100).toFixed(1)}% of throughput (project-info against project-info-no-metrics; aim ≤ 3%): ${mark(cost <= 0.03)} — ` +
          `the server's CPU per request ${info.serverCpuUs - noMetrics.serverCpuUs >= 0 ? '+' : ''}${(info.serverCpuUs - noMetrics.serverCpuUs).toFixed(1)} µs`,
      )
    }
    if (warn === undefined) continue
    if (vendor !== undefined) {
      const r = warn.reqPerSec / vendor.reqPerSec
      lines.push(
        `${integer.format(users)} users: throughput ${r.toFixed(2)}× the vendor sample (≥ 1.3×, aim 2.5×): ${mark(r >= 1.3)}`,
      )
      if (warn.peakRssKb !== null && vendor.peakRssKb !== null) {
        const ok = warn.peakRssKb <= vendor.peakRssKb
        lines.push(
          `${integer.format(users)} users: peak RSS ${mb(warn.peakRssKb)} MB vs vendor ${mb(vendor.peakRssKb)} MB (≤): ${mark(ok)}`,
        )
      }
    }
    const lean = find('project-lean', users)
    if (info !== undefined) {
      // Against project-lean (no request log, warn) when it ran; else against project-warn: info lines only.
      const base = lean ?? warn
      const what = lean
        ? 'the request log and info logging together cost'
        : 'info logging (the request log on in both) costs'
      const cost = 1 - info.reqPerSec / base.reqPerSec
      const cpu = info.serverCpuUs - base.serverCpuUs
      const cpuShare = base.serverCpuUs > 0 ? ` (${((cpu / base.serverCpuUs) * 100).toFixed(1)}%)` : ''
      const alone = lean
        ? `; info lines alone ${((1 - info.reqPerSec / warn.reqPerSec) * 100).toFixed(1)}% (against project-warn)`
        : ''
      lines.push(
        `${integer.format(users)} users: ${what} ${(cost * 100).toFixed(1)}% of throughput (project-info against ${base.target}; ≤ 15%): ` +
          `${mark(cost <= 0.15)} — the server's CPU per request ${cpu >= 0 ? '+' : ''}${cpu.toFixed(0)} µs${cpuShare}${alone}`,
      )
    }
  }
  const smallest = sizes[0]
  const largest = sizes[sizes.length - 1]
  if (smallest !== undefined && largest !== undefined && largest > smallest) {
    const small = find('project-warn', smallest)
    const large = find('project-warn', largest)
    if (small !== undefined && large !== undefined) {
      const r50 = large.p50 / small.p50
      const r99 = large.p99 / small.p99
      lines.push(
        `p50 at ${integer.format(largest)} users is ${r50.toFixed(2)}× and p99 ${r99.toFixed(2)}× those at ${integer.format(smallest)} (≤ 1.1×): ${mark(r50 <= 1.1 && r99 <= 1.1)}`,
      )
    }
  }
  const million = find('project-warn', 1_000_000)
  if (million !== undefined) {
    lines.push(
      `start-up to ready at 1,000,000 users ${integer.format(million.startupMs)} ms (≤ 3000 ms): ${mark(million.startupMs <= 3000)}`,
    )
  }
  if (slow !== undefined) {
    const server = slow.serverLate === null ? '' : `; the server's own log says ${ms(slow.serverLate.p99)} ms`
    lines.push(
      `slow scenario with ${slow.peakInFlight} requests in flight: p99 ${ms(slow.late.p99)} ms late as the caller saw it${server} (≤ 10 ms): ${mark(slow.late.p99 <= 10 && slow.non200 === 0)}`,
    )
  }
  return lines.map((line) => `- ${line}`)
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    return match?.[1]?.trim() ?? 'unknown'
  } catch {
    return os.cpus()[0]?.model ?? 'unknown'
  }
}

export function machineLines(): string[] {
  return [
    `- CPU: ${cpuModel()}, ${os.availableParallelism()} logical cores (nproc)`,
    `- memory: ${integer.format(os.totalmem() / 1024 ** 3)} GiB; kernel ${os.type()} ${os.release()}`,
    `- Node.js ${process.version}`,
  ]
}

const BENCH_MARKS = {
  begin: '<!-- bench:begin (written by npm run bench; edit outside the markers) -->',
  end: '<!-- bench:end -->',
}

/**
 * Replaces only the generated section between `marks`, so notes written around it (profiles, costs) and
 * the other generated sections (`npm run bench:startup` has its own marks) survive a new run.
 */
export async function writeResults(file: string, section: string, marks = BENCH_MARKS): Promise<void> {
  const { begin: BEGIN_MARK, end: END_MARK } = marks
  const generated = `${BEGIN_MARK}\n${section.trim()}\n${END_MARK}`
  const current = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const begin = current.indexOf(BEGIN_MARK)
  const end = current.indexOf(END_MARK)
  const next =
    begin >= 0 && end > begin
      ? `${current.slice(0, begin)}${generated}${current.slice(end + END_MARK.length)}`
      : `# Benchmark results\n\n${generated}\n${current === '' ? '' : `\n${current}`}`
  await writeFile(file, next.endsWith('\n') ? next : `${next}\n`)
}
