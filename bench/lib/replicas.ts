import { createClient } from '@redis/client'
import type { PostgresServer } from '../../support/engines/postgres.js'
import { type RedisServer, startRedis } from '../../support/engines/redis.js'
import { processTreeSeconds, sampleCpu } from './cpu.js'
import { type RunningTarget, startTarget, stopTarget, type TargetContext } from './harness.js'
import { drive, preflight, type SignedRequest } from './load.js'
import type { Options } from './options.js'

// Replicas sharing their state in Redis (README "Replicas"): the same load on one replica, then split over
// two, each replica its own process against one redis-server (and, for project-engines, one PostgreSQL
// holding the users). Reports what a deployment is sized by: the aggregate throughput, p99, each side's
// CPU per request and the Redis commands per request.

export type ReplicaTarget = 'project-redis' | 'project-engines'

export interface ReplicaRun {
  target: ReplicaTarget
  replicas: number
  users: number
  reqPerSec: number
  /** The worst replica's p99 (ms). */
  p99: number
  non2xx: number
  errors: number
  /** Replica processes' user + system CPU over all responses, µs per request. */
  replicaCpuUs: number
  redisCpuUs: number
  /** PostgreSQL's postmaster and sessions, µs per request; null when the users are in the JSON file. */
  postgresCpuUs: number | null
  redisCommandsPerRequest: number
}

export interface Engines {
  redis: RedisServer
  postgres?: PostgresServer
}

export { type RedisServer, startRedis }

async function commandsProcessed(url: string): Promise<number> {
  const client = createClient({ url })
  await client.connect()
  try {
    const info = await client.info('stats')
    return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0)
  } finally {
    client.destroy()
  }
}

export async function measureReplicas(
  name: ReplicaTarget,
  count: number,
  users: number,
  context: TargetContext & { redisUrl: string },
  engines: Engines,
  pool: readonly SignedRequest[],
  options: Pick<Options, 'connections' | 'duration' | 'warmup'>,
  readyTimeoutMs: number,
): Promise<ReplicaRun> {
  const targets: RunningTarget[] = []
  try {
    for (let i = 1; i <= count; i += 1) {
      targets.push(await startTarget(name, { ...context, replica: `bench-${i}` }, readyTimeoutMs))
    }
    const share = Math.max(1, Math.round(options.connections / count))
    for (const target of targets) await preflight(target.url, pool[0] as SignedRequest)
    await Promise.all(targets.map((target) => drive(target.url, pool, share, options.warmup)))
    const redisPid = engines.redis.pid() ?? 0
    const postgresPid = name === 'project-engines' ? engines.postgres?.pid() : undefined
    const postgresSeconds = () => (postgresPid === undefined ? 0 : processTreeSeconds(postgresPid))
    const before = {
      replicas: targets.map((t) => sampleCpu(t.pid)),
      redis: sampleCpu(redisPid),
      postgres: postgresSeconds(),
    }
    const commandsBefore = await commandsProcessed(context.redisUrl)
    const loads = await Promise.all(targets.map((target) => drive(target.url, pool, share, options.duration)))
    const after = {
      replicas: targets.map((t) => sampleCpu(t.pid)),
      redis: sampleCpu(redisPid),
      postgres: postgresSeconds(),
    }
    // The INFO call itself is one command: left out.
    const commands = (await commandsProcessed(context.redisUrl)) - commandsBefore - 1
    const responses = loads.reduce((sum, load) => sum + load.responses, 0)
    const replicaSeconds = after.replicas.reduce(
      (sum, a, i) => sum + a.server - (before.replicas[i]?.server ?? 0),
      0,
    )
    const perRequest = (seconds: number) => (seconds * 1e6) / Math.max(1, responses)
    return {
      target: name,
      replicas: count,
      users,
      reqPerSec: loads.reduce((sum, load) => sum + load.reqPerSec, 0),
      p99: Math.max(...loads.map((load) => load.p99)),
      non2xx: loads.reduce((sum, load) => sum + load.non2xx, 0),
      errors: loads.reduce((sum, load) => sum + load.errors, 0),
      replicaCpuUs: perRequest(replicaSeconds),
      redisCpuUs: perRequest(after.redis.server - before.redis.server),
      postgresCpuUs: postgresPid === undefined ? null : perRequest(after.postgres - before.postgres),
      redisCommandsPerRequest: commands / Math.max(1, responses),
    }
  } finally {
    for (const target of targets) await stopTarget(target)
  }
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

export function replicasTable(runs: readonly ReplicaRun[]): string {
  return [
    '| target | users in | replicas | users | req/s (sum) | p99 ms (worst replica) | replica CPU µs/req | Redis CPU µs/req | PostgreSQL CPU µs/req | Redis commands/req | non-2xx | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...runs.map(
      (run) =>
        `| ${run.target} | ${run.postgresCpuUs === null ? 'JSON file' : 'PostgreSQL'} | ${run.replicas} | ` +
        `${integer.format(run.users)} | ${integer.format(run.reqPerSec)} | ${run.p99.toFixed(2)} | ` +
        `${run.replicaCpuUs.toFixed(1)} | ${run.redisCpuUs.toFixed(2)} | ` +
        `${run.postgresCpuUs === null ? '—' : run.postgresCpuUs.toFixed(2)} | ${run.redisCommandsPerRequest.toFixed(3)} | ` +
        `${run.non2xx} | ${run.errors} |`,
    ),
  ].join('\n')
}
