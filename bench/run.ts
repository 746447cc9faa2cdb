// `npm run bench`: this project's server against the vendor page's sample and bare node:http, same users,
// same signed requests, A B A B in one run. Flags: see USAGE in options.ts. Progress goes to stderr; the
// tables go to stdout and, outside smoke mode, into bench/RESULTS.md.

import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import os from 'node:os'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { killAll, runCommand } from './lib/children.js'
import { othersPercent, sampleCpu } from './lib/cpu.js'
import {
  logTail,
  memoryKb,
  type RunningTarget,
  startTarget,
  stopTarget,
  type TargetContext,
} from './lib/harness.js'
import { drive, type LoadResult, preflight, type SignedRequest, signedPool } from './lib/load.js'
import { type Options, parseOptions, type TargetName } from './lib/options.js'
import {
  measureReplicas,
  type RedisServer,
  type ReplicaRun,
  type ReplicaTarget,
  replicasTable,
  startRedis,
} from './lib/replicas.js'
import {
  machineLines,
  type RunRecord,
  slowTable,
  startupTable,
  summarise,
  targetChecks,
  throughputTable,
  writeResults,
} from './lib/report.js'
import {
  measurePair,
  type PairRun,
  pairChecks,
  pairsFor,
  pairTable,
  summarisePairs,
} from './lib/side-by-side.js'
import { lateness, measureSlowApart, type SlowResult } from './lib/slow.js'
import { ensureStore, makeSlowStore, SLOW_TOKEN, sampleTokens } from './lib/stores.js'
import { type PostgresServer, startPostgres, usersDatabase } from './targets/project-engines.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const SECRET = 'bench-secret-0f3a9c'
const READY_TIMEOUT_MS = 120_000
const SLOW_DELAY_MS = 1000
const SLOW_CONCURRENCY = 500

const isProject = (name: TargetName) => name.startsWith('project-')
const say = (line: string) => process.stderr.write(`bench: ${line}\n`)
const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

/** Other processes' CPU (cpu.ts) above this share of a core makes a run's numbers unreliable. */
const BUSY_PERCENT = 10

function busyWarning(records: readonly RunRecord[]): string[] {
  const busy = records.filter((record) => record.othersCpu > BUSY_PERCENT)
  if (busy.length === 0) return []
  const worst = Math.max(...busy.map((record) => record.othersCpu))
  return [
    `**The machine was busy with other work** in ${busy.length} of ${records.length} runs (up to ${fmt.format(worst)}% ` +
      `of a core, column "others CPU %"): those numbers understate every target and their ratios are noisy. ` +
      'Run again on a quiet machine.',
    '',
  ]
}

function commandLine(argv: readonly string[]): string {
  const env = Object.entries(process.env)
    .filter(([key, value]) => key.startsWith('BENCH_') && value)
    .map(([key, value]) => `${key}=${value} `)
    .join('')
  return `${env}npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`
}

/** Starts, warms up, measures and stops one target; memory is read from /proc while it runs. */
async function measure(
  name: TargetName,
  context: TargetContext,
  pool: readonly SignedRequest[],
  options: Options,
): Promise<Omit<RunRecord, 'users' | 'round'>> {
  const target: RunningTarget = await startTarget(name, context, READY_TIMEOUT_MS)
  try {
    await preflight(target.url, pool[0] as SignedRequest)
    await drive(target.url, pool, options.connections, options.warmup)
    let loadRssKb: number | null = null
    const poll = setInterval(() => {
      const rss = memoryKb(target.pid, 'VmRSS')
      if (rss !== null && (loadRssKb === null || rss > loadRssKb)) loadRssKb = rss
    }, 200)
    const engines = enginePids(name)
    const before = sampleCpu(target.pid, engines)
    const load = await drive(target.url, pool, options.connections, options.duration).finally(() =>
      clearInterval(poll),
    )
    const after = sampleCpu(target.pid, engines)
    const othersCpu = othersPercent(before, after)
    const perRequest = (seconds: number) => (seconds * 1e6) / Math.max(1, load.responses)
    const serverCpuUs = perRequest(after.server - before.server)
    const engineCpuUs = engines.length === 0 ? null : perRequest(after.engines - before.engines)
    const peakRssKb = memoryKb(target.pid, 'VmHWM')
    keepLogIfFailed(target, load, options.dataDir)
    return {
      target: name,
      startupMs: target.startupMs,
      load,
      peakRssKb,
      loadRssKb,
      othersCpu,
      serverCpuUs,
      engineCpuUs,
    }
  } finally {
    await stopTarget(target)
  }
}

/** A run with errors or non-2xx answers keeps the server's own output in <data-dir>/logs for a look. */
function keepLogIfFailed(target: RunningTarget, load: LoadResult, dataDir: string): void {
  const exited = target.child.exitCode !== null || target.child.signalCode !== null
  if (!exited && load.errors === 0 && load.non2xx === 0) return
  const kept = join(dataDir, 'logs', basename(target.logFile))
  mkdirSync(dirname(kept), { recursive: true })
  copyFileSync(target.logFile, kept)
  const how = exited
    ? `exited (${target.child.signalCode ?? `code ${target.child.exitCode}`})`
    : 'is still running'
  say(
    `${target.name}: ${load.errors} errors, ${load.non2xx} non-2xx; the server ${how}; its output: ${relative(root, kept)}`,
  )
  say(logTail(target.logFile, 5))
}

/** The request log's latencyMs for `token`, newest 1,000 requests, read from the admin API. */
async function serverLatencies(adminUrl: string, token: string): Promise<number[]> {
  const response = await fetch(`${adminUrl}/api/requests?limit=1000`)
  if (!response.ok) throw new Error(`GET ${adminUrl}/api/requests: ${response.status}`)
  const answer = (await response.json()) as { requests: { token: string | null; latencyMs: number }[] }
  return answer.requests.filter((entry) => entry.token === token).map((entry) => entry.latencyMs)
}

async function clearRequestLog(adminUrl: string): Promise<void> {
  const response = await fetch(`${adminUrl}/api/requests`, { method: 'DELETE' })
  await response.arrayBuffer()
  if (!response.ok) throw new Error(`DELETE ${adminUrl}/api/requests: ${response.status}`)
}

async function slowSection(options: Options, logs: string): Promise<SlowResult[]> {
  const base = await ensureStore(root, options.dataDir, 1000)
  const dataFile = await makeSlowStore(base, join(options.dataDir, 'slow-1000.json'), SLOW_DELAY_MS)
  const target = await startTarget(
    'project-warn',
    { root, dataFile, secret: SECRET, logDir: logs },
    READY_TIMEOUT_MS,
  )
  const adminUrl = target.adminUrl as string
  try {
    // The admin port opens just after the endpoint's, which is what startTarget waits for.
    for (let tries = 1; ; tries += 1) {
      try {
        await clearRequestLog(adminUrl)
        break
      } catch (error) {
        if (tries === 100) throw error
        await sleep(50)
      }
    }
    const [slowUser] = signedPool([SLOW_TOKEN], SECRET)
    // A user of the base store (the slow store is it plus the slow user) answers the requests that open
    // the connections; the base store's one-record-per-line layout is sampled without a whole parse.
    const [plainUser] = signedPool((await sampleTokens(base, 1)).tokens, SECRET)
    const measureWith = async (spreadMs: number): Promise<SlowResult> => {
      await clearRequestLog(adminUrl)
      const plan = {
        url: target.url,
        slowUser: slowUser as SignedRequest,
        plainUser: plainUser as SignedRequest,
        delayMs: SLOW_DELAY_MS,
        concurrency: SLOW_CONCURRENCY,
        spreadMs,
      }
      const client = await measureSlowApart(plan)
      const server = await serverLatencies(adminUrl, SLOW_TOKEN)
      return {
        ...client,
        concurrency: SLOW_CONCURRENCY,
        delayMs: SLOW_DELAY_MS,
        spreadMs,
        serverLate: server.length === SLOW_CONCURRENCY ? lateness(server, SLOW_DELAY_MS) : null,
      }
    }
    // Spread over half the delay: all 500 are in flight together, and the server is not also parsing
    // 500 requests in one instant. Then the same burst all at once, for comparison.
    return [await measureWith(SLOW_DELAY_MS / 2), await measureWith(0)]
  } finally {
    await stopTarget(target)
  }
}

let logDir: string | null = null
let redis: RedisServer | null = null
let postgres: PostgresServer | null = null

/** The engine processes a target's requests also cost CPU in: redis-server, PostgreSQL. */
function enginePids(name: TargetName): number[] {
  const engines =
    name === 'project-redis'
      ? [redis?.pid()]
      : name === 'project-engines'
        ? [redis?.pid(), postgres?.pid()]
        : []
  return engines.filter((pid) => pid !== undefined)
}

function cleanUp(): void {
  killAll()
  const pid = redis?.pid()
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  // SIGQUIT: PostgreSQL's immediate shutdown; support/engines/postgres.ts removes its folder at exit.
  const postmaster = postgres?.pid()
  if (postmaster !== undefined) {
    try {
      process.kill(postmaster, 'SIGQUIT')
    } catch {
      // already gone
    }
  }
  if (logDir !== null) rmSync(logDir, { recursive: true, force: true })
  logDir = null
}

async function main(argv: string[]): Promise<void> {
  const options = parseOptions(argv, process.env, root)
  const logs = await mkdtemp(join(os.tmpdir(), 'talki-bench-'))
  logDir = logs
  try {
    const wantsProject = options.targets.some(isProject)
    if (wantsProject && options.build) {
      say('building the project (npm run build)')
      await runCommand('npm', ['run', '--silent', 'build'], root, 5 * 60_000)
    }
    if (wantsProject && !existsSync(join(root, 'dist/mock/main.js'))) {
      throw new Error(
        'dist/mock/main.js is missing: run npm run build, or leave the project targets out with --targets',
      )
    }

    // project-redis keeps its state in a redis-server of its own, started here (support/engines/redis.ts);
    // project-engines also its users in a private PostgreSQL (support/engines/postgres.ts, bench/targets/project-engines.ts).
    const wantsEngines = options.targets.includes('project-engines')
    if (wantsEngines || options.targets.includes('project-redis')) {
      say('starting redis-server')
      redis = await startRedis()
    }
    if (wantsEngines) {
      say('starting PostgreSQL')
      postgres = await startPostgres()
    }
    const redisUrl = redis?.url

    const stores: { users: number; dataFile: string; pool: SignedRequest[]; databaseUrl?: string }[] = []
    for (const users of options.sizes) {
      const dataFile = await ensureStore(root, options.dataDir, users)
      const sample = await sampleTokens(dataFile, options.poolSize)
      let databaseUrl: string | undefined
      if (postgres !== null) {
        const began = performance.now()
        databaseUrl = await usersDatabase(postgres, users, dataFile)
        say(
          `${fmt.format(users)} users: PostgreSQL table filled in ${fmt.format(performance.now() - began)} ms`,
        )
      }
      stores.push({
        users,
        dataFile,
        pool: signedPool(sample.tokens, SECRET),
        ...(databaseUrl ? { databaseUrl } : {}),
      })
      say(
        `${fmt.format(users)} users: store ${relative(root, dataFile)} holds ${fmt.format(sample.users)} records`,
      )
    }

    // Each round goes through every size and every target, so a slow spell of the machine touches all
    // of them alike: the comparisons across targets and across sizes are both A B A B.
    const records: RunRecord[] = []
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const { users, dataFile, pool, databaseUrl } of stores) {
        for (const name of options.targets) {
          const run = await measure(
            name,
            {
              root,
              dataFile,
              secret: SECRET,
              logDir: logs,
              cpuProfDir: options.cpuProfDir,
              ...(redisUrl ? { redisUrl } : {}),
              ...(databaseUrl ? { databaseUrl } : {}),
            },
            pool,
            options,
          )
          records.push({ ...run, users, round })
          say(
            `${name} ${fmt.format(users)} users round ${round}/${options.rounds}: ${fmt.format(run.load.reqPerSec)} req/s, ` +
              `p50 ${run.load.p50.toFixed(2)} ms, p99 ${run.load.p99.toFixed(2)} ms, non-2xx ${run.load.non2xx}, ` +
              `errors ${run.load.errors}, start-up ${fmt.format(run.startupMs)} ms, others' CPU ${fmt.format(run.othersCpu)}%`,
          )
          await sleep(300)
        }
      }
    }

    // The pairs measured side by side (side-by-side.ts), in rounds of their own after the table's rounds.
    const pairRuns: PairRun[] = []
    const pairs = pairsFor(options.targets)
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const { users, dataFile, pool } of stores) {
        for (const pair of pairs) {
          const run = await measurePair(
            pair,
            { root, dataFile, secret: SECRET, logDir: logs, cpuProfDir: null },
            pool,
            options,
            READY_TIMEOUT_MS,
          )
          pairRuns.push({ ...run, users, round })
          say(
            `side by side ${pair.a} / ${pair.b} ${fmt.format(users)} users round ${round}/${options.rounds}: ` +
              `CPU ${run.aCpuUs.toFixed(1)} / ${run.bCpuUs.toFixed(1)} µs a request (${(run.aCpuUs / run.bCpuUs).toFixed(2)}×), ` +
              `${fmt.format(run.aReqPerSec)} / ${fmt.format(run.bReqPerSec)} req/s, non-2xx ${run.non2xx}, errors ${run.errors}`,
          )
        }
      }
    }

    let slow: SlowResult[] = []
    if (options.slow && wantsProject) {
      say(`slow scenario: ${SLOW_CONCURRENCY} concurrent requests, delayMs ${SLOW_DELAY_MS}`)
      slow = await slowSection(options, logs)
    }

    // One replica, then two, for each target on engines that ran: users in the JSON file, then in PostgreSQL.
    const replicaRuns: ReplicaRun[] = []
    const replicaTargets = (['project-redis', 'project-engines'] as const).filter((name) =>
      options.targets.includes(name),
    )
    if (redis !== null && redisUrl !== undefined) {
      const store = stores.find((s) => s.users === 100_000) ?? (stores.at(-1) as (typeof stores)[number])
      for (const name of replicaTargets satisfies readonly ReplicaTarget[]) {
        for (const count of [1, 2]) {
          const run = await measureReplicas(
            name,
            count,
            store.users,
            {
              root,
              dataFile: store.dataFile,
              secret: SECRET,
              logDir: logs,
              redisUrl,
              ...(store.databaseUrl ? { databaseUrl: store.databaseUrl } : {}),
            },
            { redis, ...(postgres ? { postgres } : {}) },
            store.pool,
            options,
            READY_TIMEOUT_MS,
          )
          replicaRuns.push(run)
          say(
            `replicas, ${name}: ${count} replica(s), ${fmt.format(run.reqPerSec)} req/s, p99 ${run.p99.toFixed(2)} ms, ` +
              `Redis CPU ${run.redisCpuUs.toFixed(2)} µs/req, ${run.redisCommandsPerRequest.toFixed(3)} commands/req` +
              (run.postgresCpuUs === null ? '' : `, PostgreSQL CPU ${run.postgresCpuUs.toFixed(2)} µs/req`),
          )
        }
      }
    }

    const summaries = summarise(records)
    const pairSummaries = summarisePairs(pairRuns)
    const measuredAsPair = (a: TargetName, b: TargetName, users: number) =>
      pairSummaries.some((s) => s.pair.a === a && s.pair.b === b && s.users === users)
    const checks = [...targetChecks(summaries, slow[0], measuredAsPair), ...pairChecks(pairSummaries)]
    const section = [
      '## Throughput and latency',
      '',
      `${new Date().toISOString()} — \`${commandLine(argv)}\``,
      '',
      ...machineLines(),
      '',
      "Targets: project-warn and project-info are this project with every feature on (helmet's headers, " +
        "simulation checks, the admin API and so the request log and GET /metrics's counting) at LOG_LEVEL=warn and info; " +
        'project-info-no-metrics is project-info with METRICS=off (no counting; the counting is what /metrics costs ' +
        'per request: a scrape comes once per scrape interval, not per request); project-lean is ' +
        'the project without the admin API (ADMIN_PORT=off: no request log is kept) at warn; project-redis keeps ' +
        'its state in Redis (REDIS_URL) and its users in the JSON file; project-engines its state in Redis and ' +
        'its users in PostgreSQL (DATABASE_URL: the lookups of one event-loop turn in one primary-key SELECT), both private servers on ' +
        'this machine started by the benchmark, at warn with the admin API on; vendor is the vendor ' +
        "page's Node sample made runnable (bench/targets/vendor-sample.mjs); bare the same logic on bare node:http; " +
        "bare-headers the same with this project's answer headers (helmet's defaults), to show what they cost.",
      '',
      `Each target is started fresh as its own process (127.0.0.1, a free port), warmed up for ${options.warmup} s, ` +
        `then driven by autocannon from this process for ${options.duration} s: ${options.connections} connections, ` +
        `pipelining 1, ${options.poolSize} pre-signed requests for random users without a \`simulate\` field. ` +
        `${options.rounds} round(s), each through every size and target in turn (A B A B); the table shows medians; non-2xx and errors are summed over the rounds. ` +
        'p50/p99 are exact over every response. Peak RSS is VmHWM (loading the store included), RSS under load the ' +
        "largest VmRSS seen during the measured run. Server CPU µs/req is the server's user + system CPU time " +
        'during the measured run over its responses: what a request costs, which the shared cores move less than ' +
        'req/s. Server output goes to a file. The load generator shares the cores with the server, the same for ' +
        'every target. Engines CPU µs/req is the same for the engines a target uses (redis-server; PostgreSQL ' +
        'with the sessions it forks), on the same cores.',
      '',
      throughputTable(summaries),
      '',
      ...busyWarning(records),
      '## Side by side',
      '',
      pairRuns.length === 0
        ? 'Not measured in this run (needs both targets of a pair).'
        : "Each pair's two targets started fresh and driven at the same time, half the connections each " +
          `(${Math.max(1, Math.floor(options.connections / 2))}), warmed up for ${options.warmup} s and measured for ` +
          `${options.duration} s, ${options.rounds} round(s); each one's CPU a request read over the same seconds. ` +
          "This machine's speed moves by 2–3× over minutes, so runs one after the other (the table above) compare " +
          'moments as much as servers; two servers running at once share the moment. The ratio of their CPU a request is ' +
          "what a pair reads: when a server is CPU-bound its throughput is the inverse (a / b at 1.18× is a's " +
          "throughput at 0.85× b's). Their req/s show only how the load was split.\n\n" +
          pairTable(pairSummaries),
      '',
      '## Start-up to ready',
      '',
      'From spawn to the `endpoint listening` line (store read, validated and indexed).',
      '',
      startupTable(summaries),
      '',
      '## Slow scenario accuracy',
      '',
      slow.length === 0
        ? 'Not measured in this run (needs a project target; off with --skip-slow and in smoke mode).'
        : `${SLOW_CONCURRENCY} requests for a user whose own \`simulate\` is ` +
          `\`{"scenario":"slow","delayMs":${SLOW_DELAY_MS}}\` (project, LOG_LEVEL=warn), on ${SLOW_CONCURRENCY} ` +
          'keep-alive connections opened beforehand, from a client process of its own on raw sockets ' +
          '(bench/lib/slow-client.ts); "late" is latency minus the delay. The server-side column is the request ' +
          "log's latencyMs (arrival to answer written) minus the delay. First sent evenly over half the " +
          'delay, so all are in flight together (the timer under load); then all at once (the timer plus ' +
          `working through a simultaneous burst).\n\n${slowTable(slow)}`,
      '',
      '## Replicas on Redis',
      '',
      replicaRuns.length === 0
        ? 'Not measured in this run (needs the project-redis or project-engines target).'
        : 'project-redis (REDIS_URL, LOG_LEVEL=warn, the admin API on: the request log goes to Redis in batches) ' +
          'and project-engines (the same, its users in PostgreSQL) each as one replica, then two replicas ' +
          'sharing one redis-server (and one PostgreSQL database) with the connections split between ' +
          'them, driven at once from this process. Same users, pool, warm-up and duration as above. Redis CPU ' +
          "is redis-server's user + system time over all responses; Redis commands/req is INFO " +
          'total_commands_processed over the run, per response (the commands inside the Lua scripts count; ' +
          'a request with no counter to move costs no round trip of its own: its log entry shares a batched ' +
          'script call). PostgreSQL CPU is the postmaster and its sessions (each replica keeps a pool of ' +
          "up to 10 connections). Everything shares this machine's cores.\n\n" +
          replicasTable(replicaRuns),
      '',
      '## Targets, read off this run',
      '',
      ...(checks.length > 0 ? checks : ['- (no project target in this run)']),
    ].join('\n')

    process.stdout.write(`\n${section}\n`)
    if (options.resultsFile !== null) {
      await writeResults(options.resultsFile, section)
      say(`wrote ${relative(root, options.resultsFile)}`)
    }
  } finally {
    await redis?.close()
    redis = null
    await postgres?.close()
    postgres = null
    cleanUp()
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    cleanUp()
    process.exit(signal === 'SIGINT' ? 130 : 143)
  })
}
process.once('exit', cleanUp)

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  },
)
