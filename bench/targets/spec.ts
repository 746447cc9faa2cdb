// What every target file exports: how to start it, given where the run keeps its data and engines.

export interface TargetContext {
  root: string
  dataFile: string
  secret: string
  /** Each start writes the server's stdout and stderr to its own file here (cheaper than a pipe). */
  logDir: string
  /** When set, each server writes a CPU profile here on exit. */
  cpuProfDir?: string | null
  /** The redis-server the project-redis target shares its state in (bench/run.ts starts it). */
  redisUrl?: string
  /** The PostgreSQL database the project-engines target keeps its users in (bench/targets/project-engines.ts fills it). */
  databaseUrl?: string
  /** Names the replica (REPLICA_ID); replicas of one run share a REDIS_PREFIX. */
  replica?: string
}

export interface TargetSpec {
  script: string
  env: Record<string, string>
  /** Whether the target serves its admin API (on a free port of its own): the request log is kept only then. */
  admin: boolean
}

export type TargetStart = (context: TargetContext) => TargetSpec
